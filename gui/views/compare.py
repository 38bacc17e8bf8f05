"""The Compare tab: the kept runs of the current problem on one log plot, each in its run's
colour, with conjugate gradient beside them, and the Race.

The y axis shows the loss or the error ‖x − x*‖; the x axis iterations, gradient
evaluations or wall time. A run's evaluations and seconds per iteration are its own averages
(its total over its iterations): L-BFGS spends several evaluations on one iteration, and on
the evaluations axis it is placed accordingly. Conjugate gradient (``solver.insight.rates.cg_path``,
CGLS for the least-squares losses) counts one evaluation per iteration: one product with A
and one with Aᵀ, like one gradient. A click on a legend entry hides or shows that run.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .plotkit import StripLegend

AXES = ("iterations", "gradient evaluations", "wall time (s)")
SHOWN = ("loss", "error")
POINTS = 400  # per run
CG_SECONDS = 2.0  # at most, for the reference beside a run (on a thread of its own)
EMPTY_HINT = "No runs of this problem yet: press Run (F5) or Race"


class CompareView(QtWidgets.QWidget):
    race_requested = QtCore.Signal()
    _reference_done = QtCore.Signal(object, object)  # key, ReferencePath | None

    def __init__(self, make_plot: Callable) -> None:
        super().__init__()
        self.model: object = None
        self.show_what = QtWidgets.QComboBox()
        self.show_what.addItems(["loss", "error ‖x − x*‖"])
        self.show_what.setToolTip("What the runs are compared on")
        self.axis = QtWidgets.QComboBox()
        self.axis.addItems([f"against {a}" for a in AXES])
        self.axis.setToolTip(
            "The x axis: iterations, gradient evaluations or wall time (a run's evaluations "
            "and seconds per iteration are its own averages)"
        )
        for combo in (self.show_what, self.axis):
            # narrow docks: the combos shrink (their whole text is in the list and tooltip)
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(4)
        self.race = QtWidgets.QPushButton("Race")
        self.race.setToolTip(
            "Run every optimizer from the same start with its recommended settings and rank "
            "them by gradient evaluations to the tolerance"
        )
        # A few lines high and scrolled when the ranking is longer: the plot keeps its room.
        self.ranking = QtWidgets.QPlainTextEdit(readOnly=True)
        self.ranking.setFrameShape(QtWidgets.QFrame.NoFrame)
        self.ranking.setMaximumHeight(4 * self.ranking.fontMetrics().lineSpacing() + 10)
        self.ranking.setVisible(False)
        self.plot = make_plot("Runs compared", "loss", log=True)
        self.legend = StripLegend(self.plot)
        # Said over the empty plot, where the eye looks (a bare axis box says nothing).
        self.hint = QtWidgets.QLabel(EMPTY_HINT, self.plot)
        self.hint.setAlignment(QtCore.Qt.AlignCenter)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #4b5563; background: transparent")
        self.hint.setAttribute(QtCore.Qt.WA_TransparentForMouseEvents)
        self.plot.getPlotItem().getViewBox().sigResized.connect(self._place_hint)
        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        bar.addWidget(self.show_what, 1)
        bar.addWidget(self.axis, 1)
        foot = QtWidgets.QHBoxLayout()
        foot.setContentsMargins(4, 0, 4, 2)
        foot.addWidget(self.ranking, 1)
        foot.addWidget(self.race, 0, QtCore.Qt.AlignTop)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(bar)
        lay.addWidget(self.plot, 1)
        lay.addLayout(foot)
        self._curves: dict[int, pg.PlotDataItem] = {}
        self._cg: pg.PlotDataItem | None = None
        self._cg_cache: dict[tuple, object] = {}
        self._ranked: object = None  # the problem the ranking is of
        self.show_what.currentIndexChanged.connect(lambda _i: self.draw(rebuild=True))
        self.axis.currentIndexChanged.connect(lambda _i: self.draw(rebuild=True))
        self.race.clicked.connect(self.race_requested)
        self._reference_done.connect(self._got_reference)

    @property
    def curves(self) -> Mapping[int, pg.PlotDataItem]:
        """The curve of each run drawn, by run id."""
        return MappingProxyType(self._curves)

    @property
    def reference_curve(self) -> pg.PlotDataItem | None:
        """The reference method's curve (CGLS), once made."""
        return self._cg

    def bind(self, model: object) -> None:
        self.model = model
        model.runs_changed.connect(lambda: self.draw(rebuild=True))
        model.selection_changed.connect(lambda _r: self.draw(rebuild=True))
        model.session_changed.connect(lambda s, *_: self._problem_shown(s.problem))

    def _problem_shown(self, problem: object) -> None:
        """The ranking is shown only beside the problem it ranks (and again if it comes
        back, by undo say): a race on another problem says nothing about this one."""
        from solver.problems.kinds import same_problem

        if self._ranked is None:
            return
        self.ranking.setVisible(problem is self._ranked or same_problem(problem, self._ranked))

    # -- what --------------------------------------------------------------------------------
    def runs(self) -> list:
        """The kept runs to compare: those of the current problem that have a history."""
        if self.model is None:
            return []
        return [r for r in self.model.runs if not r.stale and r.history is not None]

    @staticmethod
    def per_iteration(rec: object, axis: str) -> float:
        st = rec.status
        its = max(st.iteration, 1)
        if axis == AXES[1]:
            return max(st.grad_evals, 1) / its
        if axis == AXES[2]:
            return (st.wall or st.elapsed) / its
        return 1.0

    def reference(self, rec: object) -> object:
        """Conjugate gradient on the run's problem and loss, to its tolerance: None until a
        thread has computed it (a 2000 x 2000 system takes a second; the window must not
        wait), then cached for that problem."""
        s = rec.session
        key = (id(s.problem), s.loss, s.tol)
        if key in self._cg_cache:
            return self._cg_cache[key]
        self._cg_cache = {key: None}  # asked for: once

        def work() -> None:
            from solver.insight.rates import cg_path

            try:
                path = cg_path(s.problem, s.loss, s.tol, seconds=CG_SECONDS)
            except Exception:  # noqa: BLE001 - a reference is extra: none is drawn
                path = None
            try:
                self._reference_done.emit(key, path)
            except RuntimeError:  # the window is gone
                pass

        threading.Thread(target=work, name="cg-reference", daemon=True).start()
        return None

    def _got_reference(self, key: tuple, path: object) -> None:
        if key in self._cg_cache:
            self._cg_cache[key] = path
            self.draw(rebuild=True)

    # -- drawing -----------------------------------------------------------------------------
    def _place_hint(self, *_: object) -> None:
        """The hint centred on the plot's axis box, wrapped to its width."""
        vb = self.plot.getPlotItem().getViewBox()
        box = self.plot.mapFromScene(vb.sceneBoundingRect()).boundingRect()
        box = box.intersected(self.plot.rect()).adjusted(8, 8, -8, -8)
        if box.width() < 20 or box.height() < 10:
            box = self.plot.rect()
        height = min(box.height(), self.hint.heightForWidth(box.width()))
        self.hint.setGeometry(
            box.left(), box.center().y() - height // 2, box.width(), max(height, 1)
        )

    def draw(self, final: bool = True, rebuild: bool = False) -> None:
        runs = self.runs()
        if self.hint.isHidden() == (not runs):
            self.hint.setVisible(not runs)
            self._place_hint()
        if not self.isVisible() and not rebuild:
            return
        what = SHOWN[self.show_what.currentIndex()]
        axis = AXES[self.axis.currentIndex()]
        pi = self.plot.getPlotItem()
        if rebuild or set(self._curves) != {r.id for r in runs}:
            self._rebuild(runs)
            pi.setLabel("left", "loss" if what == "loss" else "‖x − x*‖")
            pi.setLabel("bottom", axis)
        for rec in runs:
            h = rec.history
            n = len(h)
            if n == 0:
                continue
            x, y = h.envelope(what, 0, n, POINTS)
            self._curves[rec.id].setData(x * self.per_iteration(rec, axis), y)
        self._draw_reference(runs, what, axis)

    def _rebuild(self, runs: list) -> None:
        for c in self._curves.values():
            self.plot.removeItem(c)
        if self._cg is not None:
            self.plot.removeItem(self._cg)
            self._cg = None
        self._curves = {}
        self.legend.clear()
        for rec in runs:
            s = rec.session
            width = 2.5 if rec is getattr(self.model, "selected", None) else 1.5
            # the legend renders markup: a run's name is text
            label = f"{html.escape(rec.name)} · {s.optimizer} lr {s.lr:.3g}"
            c = pg.PlotDataItem(pen=pg.mkPen(rec.colour, width=width), name=label)
            self.plot.addItem(c)
            self._curves[rec.id] = c
        self.legend.fit(len(runs) + 1)

    def _draw_reference(self, runs: list, what: str, axis: str) -> None:
        sel = getattr(self.model, "selected", None)
        rec = sel if sel in runs else (runs[-1] if runs else None)
        path = None if rec is None or axis == AXES[2] else self.reference(rec)
        if path is None:
            if self._cg is not None:
                self._cg.setData([], [])
            return
        if self._cg is None:
            name = "conjugate gradient" + (" (CGLS)" if "CGLS" in path.method else "")
            self._cg = pg.PlotDataItem(
                pen=pg.mkPen("#111827", width=1.5, style=QtCore.Qt.DashLine), name=name
            )
            self.plot.addItem(self._cg)
        y = path.loss if what == "loss" else path.error
        self._cg.setData(np.arange(len(y), dtype=float), np.where(y > 0, y, np.nan))

    def set_ranking(self, ranking: list, problem: object = None) -> None:
        """Show a race's ranking of ``problem`` (None: the current one); [] clears it."""
        from solver.run.race import summary

        self.ranking.setVisible(bool(ranking))
        if not ranking:
            self._ranked = None
            self.ranking.setPlainText("")
            return
        session = None if self.model is None else self.model.session
        self._ranked = problem if problem is not None or session is None else session.problem
        text = summary(ranking)
        rec = self.model.selected if self.model is not None else None
        path = None if rec is None else self.reference(rec)
        if path is not None and path.reached is not None:
            text += (
                f"\nFor reference: conjugate gradient {path.reached:,} iterations, a direct "
                "solve one."
            )
        self.ranking.setPlainText(text)
        if session is not None:  # the problem may have changed while the race ran
            self._problem_shown(session.problem)
