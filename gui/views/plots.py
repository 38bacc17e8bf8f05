"""The live plots: loss, error and residual, the components of x, x against the exact
solution, and for inverse problems heat maps of X and of its residual. They show the model's
selected run. Each frame pulls only what the plots can show:
``History.envelope`` (min/max per bucket) for the visible iterations, and a strided slice of
the x trajectory. Plots that are hidden (a background tab) are skipped and catch up when
shown. pyqtgraph's own features do the rest: log axes, auto-range that stops following once
the user zooms (the "A" button resumes it), legends, colour bars and exporters. Imported
after the window is up: pyqtgraph is not on the startup path.
"""

from __future__ import annotations

import html
from collections import Counter

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from solver.problems.kinds import VIEWS, kind_of

from .curves import CurveSet, clip_heights, component_limit, curve, say_clipped
from .insight import TITLES as INSIGHT_TITLES
from .insight import InsightViews
from .plotexport import PlotFiles, heat_levels, show_heat
from .plotkit import (
    ERROR_PEN,
    EXACT_BRUSH,
    LOSS_PEN,
    PALETTE,
    RESIDUAL_PEN,
    X_BRUSH,
    Guard,
    GuardedPlotWidget,
    RangeKeeper,
    Readout,
    StripLegend,
    cache_decorations,
    finite_range,
    is_shown,
    shown_rows,
    warm_fonts,
)
from .prediction import Prediction
from .readouts import ReadoutTexts
from .source import RunSource
from .svdplots import TITLES as SVD_TITLES
from .svdplots import SvdViews
from .timeline import Timeline
from .viewpicker import ViewPicker

# Before any run: x vs exact and the insight views (each empty one saying why in its tooltip)
NO_RUN_VIEWS = frozenset({"bars", "direction", "landscape", "fit", "compare"})


class PlotPanel(ReadoutTexts, PlotFiles, QtWidgets.QWidget):
    """All plots of the window. ``set_source`` picks the run; ``refresh`` draws a frame."""

    inspected = QtCore.Signal(object)  # the iteration under the crosshair (None: none)

    def __init__(self, guard: Guard | None = None, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.guard = guard
        self.src: RunSource | None = None
        self.record: object = None  # the RunRecord on show
        self._x_columns: np.ndarray = np.zeros(0, np.int64)  # the plotted unknowns
        self._x_cols: np.ndarray = np.zeros(0, np.int64)  # their columns in the history
        self._latest_x: np.ndarray | None = None
        self.inspected_k: int | None = None  # the model's inspected iteration
        self._inspect_timer = QtCore.QTimer(self, singleShot=True)
        self._inspect_timer.timeout.connect(
            lambda: self.refresh(everything=True, tight=self._tight)
        )
        self.redraws: Counter[str] = Counter()  # frames drawn, per plot (benchmarks read it)
        self._moved = False
        self._tight = True

        warm_fonts()
        self.loss_plot = self._plot("Loss", "loss", log=True)
        self.loss_curve = curve(self.loss_plot, LOSS_PEN, "loss", live=True)
        self.prediction = Prediction(self.loss_plot)
        self.analysis: object = None  # the model's, for the prediction
        self.err_plot = self._plot("Error and residual", "norm", log=True)
        err_legend = StripLegend(self.err_plot)
        self.err_curve = curve(self.err_plot, ERROR_PEN, "‖x − x*‖ error", live=True)
        self.res_curve = curve(self.err_plot, RESIDUAL_PEN, "‖r‖ residual", live=True)
        err_legend.fit(2)
        self.x_plot = self._plot("Components of x", "value")
        self.x_legend = StripLegend(self.x_plot)
        self.x_curves = CurveSet()  # one curve per plotted unknown
        self.x_plot.getPlotItem().addItem(self.x_curves, ignoreBounds=True)

        self.bar_plot = self._plot("x (blue) vs exact (grey)", "value", bottom="component")
        self.bar_plot.setMouseEnabled(x=True, y=True)
        self.exact_bars = pg.BarGraphItem(
            x=[], height=[], width=0.7, brush=EXACT_BRUSH, pen=pg.mkPen(None)
        )
        self.x_bars = pg.BarGraphItem(x=[], height=[], width=0.4, brush=X_BRUSH, pen=pg.mkPen(None))
        self.bar_plot.addItem(self.exact_bars, ignoreBounds=True)
        self.bar_plot.addItem(self.x_bars, ignoreBounds=True)
        self._bars_note = None  # a diverged x's bars are cut at the edge, and it says so
        self.frames = {
            "loss": RangeKeeper(self.loss_plot, True),
            "error": RangeKeeper(self.err_plot, True),
            "x": RangeKeeper(self.x_plot, False),
            "bars": RangeKeeper(self.bar_plot, False),
        }

        self.heat_x_plot, self.heat_x, self.heat_x_bar = self._heat("X (current)")
        self.heat_r_plot, self.heat_r, self.heat_r_bar = self._heat("Residual of X")

        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        self.svd = SvdViews(self._plot, self._heat)
        self.insight = InsightViews(self._plot)
        widgets = [self.bar_plot, self.heat_x_plot, self.heat_r_plot]
        widgets += self.svd.widgets + self.insight.widgets
        titles = ("x vs exact", "X heat map", "Residual heat map") + SVD_TITLES + INSIGHT_TITLES
        for w, title in zip(widgets, titles, strict=True):
            self.tabs.addTab(w, title)
        self.tabs.currentChanged.connect(self._catch_up)
        # each tab by its view's name (``solver.problems.kinds.VIEWS``), which the kinds offer;
        # a list of the views where the tabs do not fit
        self.views = ViewPicker(self.tabs, VIEWS)
        self.views.offer(NO_RUN_VIEWS, self.insight.why)

        top = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
        top.setObjectName("plotsTop")
        top.addWidget(self.loss_plot)
        top.addWidget(self.err_plot)
        bottom = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
        bottom.setObjectName("plotsBottom")
        bottom.addWidget(self.x_plot)
        bottom.addWidget(self.views)
        outer = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        outer.setObjectName("plotsOuter")
        outer.addWidget(top)
        outer.addWidget(bottom)
        for s in (top, bottom, outer):
            s.setChildrenCollapsible(False)
        self.splitters = [outer, top, bottom]
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

        self.readouts = [  # the crosshair read-out of each plot that has one
            Readout(self.loss_plot, self._loss_text),
            Readout(self.err_plot, self._err_text),
            Readout(self.x_plot, self._x_text),
            Readout(self.bar_plot, self._bar_text),
            Readout(self.heat_x_plot, lambda x, y: self.heat_text(x, y, False), False),
            Readout(self.heat_r_plot, lambda x, y: self.heat_text(x, y, True), False),
        ]
        self.plots = {
            "loss": self.loss_plot,
            "error": self.err_plot,
            "x": self.x_plot,
            "bars": self.bar_plot,
            "heat_x": self.heat_x_plot,
            "heat_residual": self.heat_r_plot,
            "svd_values": self.svd.sv_plot,
            "svd_orthogonality": self.svd.ortho_plot,
            "svd_heat_u": self.svd.heat_u_plot,
            "svd_heat_v": self.svd.heat_v_plot,
            "direction": self.insight.dir_plot,
            "landscape": self.insight.land_plot,
            "fit": self.insight.fit_plot,
            "compare": self.insight.compare.plot,
        }
        self.show_run(None)

    @property
    def bars_note(self) -> object:
        """The note saying a diverged x's bars are cut at the edge (None until one was)."""
        return self._bars_note

    # -- construction -----------------------------------------------------------------------
    def _plot(
        self, title: str, left: str, *, log: bool = False, bottom: str = "iteration"
    ) -> GuardedPlotWidget:
        w = GuardedPlotWidget(self.guard)
        pi = w.getPlotItem()
        pi.setTitle(title, size="10pt")
        pi.setLabel("left", left)
        pi.setLabel("bottom", bottom)
        # No grid: its lines belong to the axes and cost ~20 ms each time a range moves.
        pi.setLogMode(x=False, y=log)
        cache_decorations(pi)
        w.setMinimumSize(180, 150)
        return w

    def _heat(self, title: str) -> tuple[GuardedPlotWidget, pg.ImageItem, pg.ColorBarItem]:
        w = GuardedPlotWidget(self.guard)
        pi = w.getPlotItem()
        pi.setTitle(title, size="10pt")
        pi.setLabel("left", "row")
        pi.setLabel("bottom", "column")
        pi.invertY(True)
        pi.setAspectLocked(True)
        img = pg.ImageItem(axisOrder="row-major")
        pi.addItem(img)
        bar = pi.addColorBar(img, colorMap="CET-D1", values=(-1, 1), interactive=False)
        cache_decorations(pi)
        cache_decorations(bar)
        w.setMinimumSize(180, 150)
        return w, img, bar

    # -- data -------------------------------------------------------------------------------
    def set_source(self, src: RunSource | None) -> None:
        """Show ``src`` (a new run), or clear every plot with None."""
        self.src = src
        self._latest_x = None
        self.x_curves.set_curves([], [])
        self.x_legend.clear()
        for c in (self.loss_curve, self.err_curve, self.res_curve):
            c.setData([], [])
        self.exact_bars.setOpts(x=[], height=[])
        self.x_bars.setOpts(x=[], height=[])
        self.heat_x.clear()
        self.heat_r.clear()
        for r in self.readouts:
            r.hide()
        for p in self.plots.values():
            p.getPlotItem().enableAutoRange()
        for f in self.frames.values():
            f.reset()
        if src is None:
            self.svd.set_source(None, np.zeros(0, np.int64))
            self.insight.set_source(None)
            if self.record is None:  # a starting run keeps the tab in front till it comes
                self.views.offer(NO_RUN_VIEWS, self.insight.why)
            return
        recorded = np.asarray(src.history.tracked, np.int64)
        tracked = recorded if src.plotted is None else src.plotted
        self._x_columns = tracked
        # where each plotted unknown sits among the recorded ones (every one, when few)
        self._x_cols = np.searchsorted(recorded, tracked)
        k = len(tracked)
        # 1 px: Qt strokes wider lines through its path stroker, 3x slower for 12 curves
        pens = [
            pg.mkPen(PALETTE[j] if k <= len(PALETTE) else pg.intColor(j, hues=k, maxValue=210))
            for j in range(k)
        ]
        names = [src.names[idx] for idx in tracked]
        self.x_curves.set_curves(pens, names, self.x_legend)
        self.x_legend.fit(k)
        xs = np.arange(1, k + 1, dtype=float)
        self.exact_bars.setOpts(x=xs, height=src.exact[tracked], width=0.7)
        ax = self.bar_plot.getPlotItem().getAxis("bottom")
        # as many names as fit side by side under the bars (at most 8), every few bars
        longest = max((src.names[t] for t in tracked), key=len)
        label = self.bar_plot.fontMetrics().horizontalAdvance(longest) + 12
        every = max(1, -(-k // max(1, min(8, (self.bar_plot.width() - 60) // label))))
        ax.setTicks(
            [[(float(i + 1), src.names[t]) for i, t in enumerate(tracked) if i % every == 0]]
        )
        inverse = src.matrix_unknowns
        self.svd.set_source(src.problem, recorded)
        self.insight.set_source(src)
        self.views.offer(kind_of(src.problem).views, self.insight.why)
        legend = self.err_plot.getPlotItem().legend
        legend.getLabel(self.err_curve).setText(
            "‖σ − σ*‖ singular values" if self.svd.active else "‖x − x*‖ error"
        )
        if inverse:
            ex = src.exact.reshape(src.unknown_shape)
            heat_levels(self.heat_x_bar, ex)

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
        self.insight.compare.bind(model)
        self.show_run(model.selected)

    def _inspect(self, k: int | None) -> None:
        """Every view shows iteration ``k`` of the run (None: the newest), once the pointer
        or the slider rests (a redraw per mouse move would hold the GUI)."""
        self.inspected_k = self.insight.inspected = k
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
        self.loss_curve.setPen(pg.mkPen(rec.colour, width=2))
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
        self._latest_x = None if x is None else np.asarray(x, float).reshape(-1)
        self.svd.sample(rec.status.iteration, self._latest_x)
        self.update_caption()
        self.refresh(everything=everything or not rec.live, tight=tight or not rec.live)

    def showEvent(self, ev: QtGui.QShowEvent) -> None:
        # Shown again (a window restored; the panel built after a run's last frame): the
        # frames that came meanwhile skipped every plot, and one that is over asks for none.
        super().showEvent(ev)
        QtCore.QTimer.singleShot(0, self._catch_up)

    def _catch_up(self, *_: object) -> None:
        """Draw what hidden plots skipped (a tab brought to the front, the panel shown)."""
        self.refresh(everything=True, tight=self._tight)

    def wants_x(self) -> bool:
        """Whether a visible plot needs the full current x (the heat maps do)."""
        # svd: every frame's x feeds the orthogonality curve, whichever tab is in front.
        front = self.views.names[self.tabs.currentIndex()]
        heat = self.src is not None and front in ("heat_x", "heat_residual")
        return heat or self.svd.active

    def refresh(self, everything: bool = False, tight: bool = False) -> None:
        """Draw the run into every visible plot (hidden tabs catch up when shown).
        ``everything`` (paused, finished) lets every range move this frame; ``tight``
        (finished) fits the ranges to the data instead of growing in steps."""
        src = self.src
        if src is None or len(src.history) == 0:
            return
        self._moved = False
        self._tight = tight
        for name, plot in self._updaters():
            if not is_shown(plot):
                continue
            if name.startswith("svd_"):
                self._draw_svd(name[4:], everything)
            elif name in ("direction", "landscape", "fit", "compare"):
                # at most one range move per frame, as for the panel's own plots (``_fit``)
                self._moved |= bool(
                    getattr(self.insight, f"draw_{name}")(everything or not self._moved)
                )
            else:
                getattr(self, f"_draw_{name}")(everything)
            self.redraws[name] += 1

    def _draw_svd(self, name: str, final: bool) -> None:
        if name in ("heat_u", "heat_v"):
            img = self.svd.heat(name, self._latest_x)
            if img is not None:
                show_heat(getattr(self.svd, name), getattr(self.svd, f"{name}_bar"), img)
            return
        last = len(self.src.history) - 1
        self._moved |= self.svd.draw(
            name, self.src.history, self._latest_x, self._tight, final or not self._moved, last
        )

    def _fit(
        self,
        key: str,
        y: tuple[float, float] | None,
        x_last: float,
        final: bool,
        tight: bool | None = None,
    ) -> None:
        # A range change repaints a whole plot (axes and all, ~10 ms here): at most one per
        # frame while running keeps frames short; the others wait a frame or two.
        tight = self._tight if tight is None else tight
        self._moved |= self.frames[key].update(x_last, y, tight, final or not self._moved)

    def _updaters(self) -> list[tuple[str, QtWidgets.QWidget]]:
        return [
            ("loss", self.loss_plot),
            ("error", self.err_plot),
            ("x", self.x_plot),
            ("bars", self.bar_plot),
            ("heat_x", self.heat_x_plot),
            ("heat_residual", self.heat_r_plot),
            ("svd_sv", self.svd.sv_plot),
            ("svd_ortho", self.svd.ortho_plot),
            ("svd_heat_u", self.svd.heat_u_plot),
            ("svd_heat_v", self.svd.heat_v_plot),
            ("direction", self.insight.dir_plot),
            ("landscape", self.insight.land_plot),
            ("fit", self.insight.fit_plot),
            ("compare", self.insight.compare),
        ]

    def _draw_loss(self, final: bool) -> None:
        h = self.src.history
        n = len(h)
        s, e, pts = shown_rows(self.loss_plot, n)
        x, y = h.envelope("loss", s, e, pts)
        self.loss_curve.setData(x, y)
        self.prediction.draw(h, final)
        self._fit("loss", finite_range(y, positive=True), n - 1, final)

    def _draw_error(self, final: bool) -> None:
        h = self.src.history
        n = len(h)
        s, e, pts = shown_rows(self.err_plot, n)
        x, ye = h.envelope("error", s, e, pts)
        self.err_curve.setData(x, ye)
        x, yr = h.envelope("residual_norm", s, e, pts)
        self.res_curve.setData(x, yr)
        self._fit("error", finite_range(ye, yr, positive=True), n - 1, final)

    def _draw_x(self, final: bool) -> None:
        h = self.src.history
        n = len(h)
        its, vals = h.trajectory()
        if not len(its):
            return
        s, e, pts = shown_rows(self.x_plot, n)
        i0, i1 = np.searchsorted(its, [s, e])
        i1 = max(i1, i0 + 1) if i0 < len(its) else i1
        step = max(1, -(-(i1 - i0) // max(pts // 2, 1)))
        sel = np.arange(i0, i1, step)
        if len(sel) and sel[-1] != i1 - 1:
            sel = np.append(sel, i1 - 1)  # always end on the newest row
        t = its[sel].astype(float)
        v = vals[sel][:, self._x_cols]
        limit = component_limit(vals[0][self._x_cols], self.src.exact[self._x_columns])
        self.x_curves.setData(t, v, limit)
        self._fit("x", finite_range(self.x_curves.yData), n - 1, final)  # as drawn

    def _draw_bars(self, final: bool) -> None:
        its, vals = self.src.history.trajectory()
        if not len(its):
            return
        at = self.inspected_k  # the inspected iteration's x (the newest when None)
        r = -1 if at is None else int(min(np.searchsorted(its, at), len(its) - 1))
        ex = self.src.exact[self._x_columns]
        row, cut = clip_heights(vals[r][self._x_cols], vals[0][self._x_cols], ex)
        self._bars_note = say_clipped(self.bar_plot.getViewBox(), self._bars_note, cut)
        k = len(row)
        self.x_bars.setOpts(x=np.arange(1, k + 1, dtype=float), height=row, width=0.4)
        self._fit("bars", finite_range(row, ex, [0.0]), k + 0.5, final, tight=True)

    def _draw_heat_x(self, final: bool) -> None:
        x = self.shown_x
        if not self.src.matrix_unknowns or x is None:
            return
        show_heat(self.heat_x, self.heat_x_bar, x.reshape(self.src.unknown_shape))

    def _draw_heat_residual(self, final: bool) -> None:
        x = self.shown_x
        if not self.src.matrix_unknowns or x is None:
            return
        r = self.src.residual(x[None, :])[0].reshape(self.src.unknown_shape)
        show_heat(self.heat_r, self.heat_r_bar, r)
