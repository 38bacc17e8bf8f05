"""The plot panel: the plots of the registry (``gui.views.plotlist.PLOTS``) in their panes
and tabs, showing the model's selected run. Each frame asks every visible plot to draw; plots
that are hidden (a background tab) are skipped and catch up when shown. pyqtgraph's own
features do the rest: log axes, auto-range that stops following once the user zooms (the "A"
button resumes it), legends, colour bars and exporters. Imported after the window is up:
pyqtgraph is not on the startup path.
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from solver.problems.kinds import kind_of

from .insight import InsightViews
from .plotbase import BOTTOM, TAB, TOP, PanelPlot
from .plotexport import export_plot
from .plotkit import Guard, is_shown, warm_fonts
from .plotlist import PLOTS
from .readouts import Readout
from .source import RunSource
from .svdplots import SvdViews
from .timeline import Timeline
from .viewpicker import ViewPicker


class PlotPanel(QtWidgets.QWidget):
    """All plots of the window. ``set_source`` picks the run; ``refresh`` draws a frame."""

    inspected = QtCore.Signal(object)  # the iteration under the crosshair (None: none)

    def __init__(
        self,
        guard: Guard | None = None,
        parent: QtWidgets.QWidget | None = None,
        plots: Sequence[type[PanelPlot]] = PLOTS,
    ):
        super().__init__(parent)
        self.guard = guard
        self.src: RunSource | None = None
        self.record: object = None  # the RunRecord on show
        self.x_columns: np.ndarray = np.zeros(0, np.int64)  # the plotted unknowns
        self.x_cols: np.ndarray = np.zeros(0, np.int64)  # their columns in the history
        self.latest_x: np.ndarray | None = None  # the newest x the solver sent
        self.inspected_k: int | None = None  # the model's inspected iteration
        self._inspect_timer = QtCore.QTimer(self, singleShot=True)
        self._inspect_timer.timeout.connect(lambda: self.refresh(everything=True, tight=self.tight))
        self.redraws: Counter[str] = Counter()  # frames drawn, per plot (benchmarks read it)
        self.tight = True  # this frame fits the ranges to the data (finished, paused)
        self.analysis: object = None  # the model's, for the prediction
        self._shared: dict[type, object] = {}

        warm_fonts()
        self.views_in_order = [cls(self) for cls in plots]
        self._by_key = {v.key: v for v in self.views_in_order}
        self.plots = {v.key: v.plot for v in self.views_in_order}  # what File → Export writes
        self.titles = {v.key: v.title for v in self.views_in_order}
        self.readouts = [
            Readout(v.widget, v.reads, v.crosshair == "vertical")
            for v in self.views_in_order
            if v.crosshair
        ]

        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        self._tabbed = [v for v in self.views_in_order if v.place == TAB]
        for v in self._tabbed:
            self.tabs.addTab(v.widget, v.tab_text or v.title)
        self.tabs.currentChanged.connect(self._catch_up)
        # a list of the views where the tabs do not fit
        self.views = ViewPicker(self.tabs, [v.key for v in self._tabbed])
        self._offer(None)

        rows = []
        for place in (TOP, BOTTOM):
            row = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
            row.setObjectName(f"plots{place.title()}")
            for v in self.views_in_order:
                if v.place == place:
                    row.addWidget(v.widget)
            rows.append(row)
        rows[-1].addWidget(self.views)
        outer = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        outer.setObjectName("plotsOuter")
        for row in rows:
            outer.addWidget(row)
        for s in (*rows, outer):
            s.setChildrenCollapsible(False)
        self.splitters = [outer, *rows]
        # wraps (must not widen the plots); rich text for the run's colour: its text is escaped
        self.caption = QtWidgets.QLabel(wordWrap=True, textFormat=QtCore.Qt.RichText)
        self.caption.setObjectName("plotCaption")
        self.caption.setStyleSheet("background: white; padding: 3px 8px; color: #374151;")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.caption)
        lay.addWidget(outer, 1)
        self.timeline = Timeline()
        lay.addWidget(self.timeline)
        self.show_run(None)

    # -- the plots ---------------------------------------------------------------------------
    def plot(self, key: str) -> PanelPlot:
        """The plot named ``key`` (``PanelPlot.key``)."""
        return self._by_key[key]

    def shared(self, cls: type) -> object:
        """The one ``cls`` the plots of this panel share (built by the first that asks)."""
        if cls not in self._shared:
            self._shared[cls] = cls(self)
        return self._shared[cls]

    @property
    def insight(self) -> InsightViews:
        """What the insight tabs share; the window listens to its landscape clicks."""
        return self.shared(InsightViews)

    @property
    def svd(self) -> SvdViews:
        return self.shared(SvdViews)

    @property
    def prediction(self) -> object:
        """The predicted loss drawn on the loss plot (the caption says it in words)."""
        return self.plot("loss").prediction

    @property
    def front(self) -> PanelPlot:
        """The view whose tab is in front."""
        return self._tabbed[self.tabs.currentIndex()]

    def _offer(self, src: RunSource | None) -> None:
        """Enable the views of ``src``'s kind (before any run: those that say why empty)."""
        if src is None:
            offered = {v.key for v in self._tabbed if v.before_run}
        else:
            kind = kind_of(src.problem)
            offered = {v.key for v in self._tabbed if v.applies(kind)}
        self.views.offer(frozenset(offered), {v.key: v.why() for v in self._tabbed})

    # -- data -------------------------------------------------------------------------------
    def set_source(self, src: RunSource | None) -> None:
        """Show ``src`` (a new run), or clear every plot with None."""
        self.src = src
        self.latest_x = None
        if src is not None:
            recorded = np.asarray(src.history.tracked, np.int64)
            tracked = recorded if src.plotted is None else src.plotted
            self.x_columns = tracked
            # where each plotted unknown sits among the recorded ones (every one, when few)
            self.x_cols = np.searchsorted(recorded, tracked)
        for r in self.readouts:
            r.hide()
        for p in self.plots.values():
            p.getPlotItem().enableAutoRange()
        for shared in self._shared.values():
            shared.set_source(src)
        for v in self.views_in_order:
            v.set_source(src)
        if src is not None or self.record is None:  # a starting run keeps its tab in front
            self._offer(src)

    @property
    def shown_x(self) -> np.ndarray | None:
        """The x the views show: the inspected iterate where it is kept whole, else the
        newest one the solver sent."""
        k, h = self.inspected_k, None if self.src is None else self.src.history
        if k is not None and hasattr(h, "iterate"):
            x = h.iterate(k)
            if x is not None:
                return np.asarray(x, float)
        return self.latest_x

    def iteration_at(self, x: float) -> int | None:
        """The iteration at ``x`` on an iteration axis (None: no run, or off it); the
        crosshair there inspects it."""
        if self.src is None or len(self.src.history) == 0 or not math.isfinite(x):
            return None
        n = len(self.src.history)
        k = int(min(max(round(x), 0), n - 1))
        self.inspected.emit(k)
        return k

    def bind(self, model: object) -> None:
        """Plot the model's selected run, from now on; the crosshair on an iteration plot
        sets the model's inspected iteration."""
        model.selection_changed.connect(self.show_run)
        model.runs_changed.connect(self._predict)
        model.analysis_changed.connect(lambda a: (setattr(self, "analysis", a), self._predict()))
        self.analysis = model.analysis
        self.inspected.connect(model.inspect)
        model.inspected_changed.connect(self._inspect)
        self.timeline.bind(model)
        for v in self.views_in_order:
            v.bind(model)
        self.show_run(model.selected)

    def _inspect(self, k: int | None) -> None:
        """Every view shows iteration ``k`` of the run (None: the newest), once the pointer
        or the slider rests (a redraw per mouse move would hold the GUI)."""
        self.inspected_k = k
        self._inspect_timer.start(30)

    def show_run(self, rec: object) -> None:
        """Plot the run record ``rec`` (None: clear). A run of another problem than the
        current one is captioned so, never shown as if it were current."""
        self.record = rec
        if rec is None or rec.history is None:
            self.set_source(None)
            self.caption.setText(
                "No run selected: press Run (F5) or Step (F10)"
                if rec is None
                else f"{html.escape(rec.name)}: starting…"
            )
            return
        self.set_source(RunSource.from_record(rec))
        self._predict()

    def _predict(self) -> None:
        """The predicted loss for the shown run (its problem's analysis may come later)."""
        self.prediction.set_run(self.record, self.src, self.analysis)
        if self.src is not None and len(self.src.history):
            self.prediction.draw(self.src.history)
        self.update_caption()

    def update_caption(self) -> None:
        rec = self.record
        if rec is None:
            return
        text = f"<b style='color:{rec.colour}'>■</b> {html.escape(rec.name)}"
        if self.prediction.text:
            text += f"  <span style='color:#4b5563'>· {self.prediction.text}</span>"  # escaped
        if rec.stale:
            text += (
                "  <span style='color:#b45309'>· a run of an earlier problem, not the one"
                " in the Problem panel</span>"
            )
        if text != self.caption.text():
            self.caption.setText(text)

    def frame(self, everything: bool, tight: bool) -> None:
        """Draw the selected run's newest data (called by the live-run driver per frame)."""
        rec = self.record
        if rec is None:
            return
        if self.src is None and rec.history is not None:
            self.show_run(rec)
        x = rec.status.x
        self.latest_x = None if x is None else np.asarray(x, float).reshape(-1)
        for v in self.views_in_order:
            v.receive(rec.status.iteration, self.latest_x)
        self.update_caption()
        self.refresh(everything=everything or not rec.live, tight=tight or not rec.live)

    def showEvent(self, ev: QtGui.QShowEvent) -> None:
        # Shown again (a window restored; the panel built after a run's last frame): the
        # frames that came meanwhile skipped every plot, and one that is over asks for none.
        super().showEvent(ev)
        QtCore.QTimer.singleShot(0, self._catch_up)

    def _catch_up(self, *_: object) -> None:
        """Draw what hidden plots skipped (a tab brought to the front, the panel shown)."""
        self.refresh(everything=True, tight=self.tight)

    def wants_x(self) -> bool:
        """Whether a plot needs the full current x this frame (the heat maps in front do)."""
        front = self.front
        return any(v.wants_x(v is front) for v in self.views_in_order)

    def refresh(self, everything: bool = False, tight: bool = False) -> None:
        """Draw the run into every visible plot (hidden tabs catch up when shown).
        ``everything`` (paused, finished) lets every range move this frame; ``tight``
        (finished) fits the ranges to the data instead of growing in steps."""
        src = self.src
        if src is None or len(src.history) == 0:
            return
        self.tight = tight
        # A range change repaints a whole plot (axes and all, ~10 ms here): at most one per
        # frame while running keeps frames short; the others wait a frame or two.
        moved = False
        for v in self.views_in_order:
            if not is_shown(v.widget):
                continue
            moved |= bool(v.draw(everything, not moved))
            self.redraws[v.key] += 1

    # -- files ------------------------------------------------------------------------------
    def exportable(self, which: str) -> bool:
        """Whether plot ``which`` shows something of the selected run (its tab is enabled)."""
        v = self._by_key.get(which)
        if v is None or self.src is None or len(self.src.history) == 0:
            return False
        i = self.tabs.indexOf(v.widget)
        return i < 0 or self.tabs.isTabEnabled(i)

    def export(self, which: str, path: str | Path) -> None:
        export_plot(self.plots[which], path)

    def save_state(self, settings: QtCore.QSettings) -> None:
        """The panes' sizes and what the user set on each plot (``PanelPlot.state``)."""
        settings.setValue("window/plots", [s.saveState() for s in self.splitters])
        for v in self.views_in_order:
            state = v.state()
            if state:
                settings.setValue(f"plots/{v.key}", json.dumps(state))

    def restore_state(self, settings: QtCore.QSettings) -> None:
        for s, st in zip(self.splitters, settings.value("window/plots", []) or [], strict=False):
            if st:
                s.restoreState(st)
        for v in self.views_in_order:
            saved = settings.value(f"plots/{v.key}")
            try:
                state = json.loads(saved) if isinstance(saved, str) else None
            except ValueError:  # a settings file edited by hand: the plot keeps its defaults
                state = None
            if isinstance(state, dict):
                v.restore(state)
