"""Two tabs of the plot panel that show why a run converges as it does.

* **Error by direction**: |vᵢᵀ(x − x*)| per iteration on a log axis, one curve per right
  singular vector of A (eigenvector for the energy loss), in bands of σ beyond 20; the
  directions A does not see are named in the title: gd never moves along them.
* **Landscape**: contour lines of the loss on a plane (x1, x2 for two unknowns, else through
  x* along the extreme singular directions), the run's iterates projected onto it, the exact
  minimum, and at the inspected iterate the step plain gd takes there (−lr·∇f). A click on
  the plane emits ``start_from`` with the point: the window runs from it once (the session's
  own start stays). The contour lines are traced on the grid the image shows, row-major.

The numbers come from ``solver.insight.directions``; both views need every unknown of an iterate,
which the window records for up to 64 unknowns. Drawn like the panel's other plots: per frame
while their tab is in front, the contour grid only when the plane or its extent changes.
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .compare import CompareView
from .contours import contains, extent_around, log_contours
from .curves import curve
from .plotbase import line_plot
from .plotkit import PALETTE, RangeKeeper, StripLegend, finite_range
from .source import spread_rows

FIT_POINTS = 200  # where the fitted polynomial is evaluated
GRID = 61  # contour grid points per side
LEVELS = 12  # contour lines
REGRID_S = 0.5
DRAWN_ROWS = 300  # iterates drawn per curve (evenly spread, the newest always)


def _reason(src: object) -> str | None:
    """Why the insight tabs have nothing to show for ``src``, or None when they do."""
    if src is None or src.session is None:
        return "no run selected"
    complete = getattr(src.history, "complete", None)
    if complete is not None and not complete():
        return "needs every unknown of each iterate: recorded for up to 64 unknowns"
    return None


class InsightViews(QtCore.QObject):
    """What the insight tabs share (``panel.shared(InsightViews)``, drawn as the plots of
    ``gui.views.insightplots``): the run's directions and plane, and their widgets."""

    # a flat x0 to rerun from (a click on the landscape) and, in words, where it is
    start_from = QtCore.Signal(object, str)

    def __init__(self, panel: object) -> None:
        super().__init__()
        self.panel = panel
        make_plot = partial(line_plot, panel.guard)
        self.dir_plot = make_plot("Error by direction", "|vᵢᵀ(x − x*)|", log=True)
        self.dir_legend = StripLegend(self.dir_plot)
        self.dir_range = RangeKeeper(self.dir_plot, True)
        self.land_plot = make_plot("Landscape", "", bottom="")
        self.fit_plot = make_plot("Data and the fitted polynomial", "y", bottom="x")
        self.samples = pg.ScatterPlotItem(size=7, brush="#374151", pen=None, name="samples")
        self.fit_curve = pg.PlotDataItem(pen=pg.mkPen(PALETTE[0], width=2), name="this run")
        self.best_fit = pg.PlotDataItem(
            pen=pg.mkPen("#6b7280", width=1.5, style=QtCore.Qt.DashLine), name="least squares"
        )
        fit_legend = StripLegend(self.fit_plot)
        for item in (self.samples, self.fit_curve, self.best_fit):
            self.fit_plot.getPlotItem().addItem(item)
        fit_legend.fit(3)
        self.compare = CompareView(make_plot)
        self.src: object = None
        self.dirs: object = None
        self.plane: object = None
        self.why: dict[str, str | None] = {
            "direction": "no run selected",
            "landscape": None,
            "fit": "for polynomial fits",
            "compare": None,
        }
        self._dir_curves: list[tuple[pg.PlotDataItem, np.ndarray]] = []
        self.dir_marker = pg.InfiniteLine(
            angle=90, pen=pg.mkPen("#9ca3af", style=QtCore.Qt.DashLine)
        )
        self.dir_plot.addItem(self.dir_marker, ignoreBounds=True)
        self._build_landscape()

    def _build_landscape(self) -> None:
        pi = self.land_plot.getPlotItem()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("CET-L17"))
        self.image.setOpacity(0.55)
        pi.addItem(self.image)
        self.isos: list[pg.IsocurveItem] = []
        for _ in range(LEVELS):
            # the grid is row-major (rows are t, columns s), like the image it sits on
            iso = pg.IsocurveItem(pen=pg.mkPen("#374151", width=1), axisOrder="row-major")
            iso.setParentItem(self.image)
            self.isos.append(iso)
        self.path = pg.PlotDataItem(
            pen=pg.mkPen(PALETTE[0], width=1.5),
            symbol="o",
            symbolSize=3,
            symbolPen=None,
            symbolBrush=PALETTE[0],
        )
        self.minimum = pg.ScatterPlotItem(size=14, symbol="star", brush="#dc2626", pen="w")
        self.here = pg.ScatterPlotItem(size=10, symbol="o", brush="#f59e0b", pen="k")
        self.arrow_line = pg.PlotDataItem(pen=pg.mkPen("#b91c1c", width=2))
        self.arrow = pg.ArrowItem(angle=0, headLen=12, brush="#b91c1c", pen=None)
        self.arrow.setVisible(False)
        for item in (self.path, self.minimum, self.here, self.arrow_line, self.arrow):
            pi.addItem(item)
        self._extent: tuple[float, float, float, float] | None = None
        self._gridded_at = 0.0
        self.contour_losses: list[float] = []  # the loss each contour line is drawn at
        self.land_plot.scene().sigMouseClicked.connect(self._clicked)
        self.pick: tuple[int, int] | None = None  # two unknowns (0-based) span the plane
        menu = pi.getViewBox().menu.addMenu("Plane through x* along")
        menu.addAction("the extreme singular directions", lambda: self.set_pick(""))
        menu.addAction("two unknowns…", self._ask_pick)

    @property
    def inspected(self) -> int | None:
        """The model's inspected iteration (None: the newest)."""
        return self.panel.inspected_k

    # -- source ------------------------------------------------------------------------------
    @property
    def dir_curves(self) -> list[tuple[pg.PlotDataItem, np.ndarray]]:
        """The error-by-direction curves, each with the directions' indices it draws."""
        return list(self._dir_curves)

    @property
    def extent(self) -> tuple[float, float, float, float] | None:
        """The landscape's drawn extent (s0, s1, t0, t1) on its plane, None before it is."""
        return self._extent

    def set_source(self, src: object) -> None:
        from solver.insight.directions import directions

        self.src, self.dirs, self.plane, self._extent = src, None, None, None
        for c, _ in self._dir_curves:
            self.dir_plot.removeItem(c)
        self._dir_curves = []
        self.dir_legend.clear()
        self.dir_range.reset()
        for item in (self.path, self.arrow_line):
            item.setData([], [])
        self.minimum.setData([])
        self.here.setData([])
        self.arrow.setVisible(False)
        self._clear_grid()
        self._set_fit(src)
        why = _reason(src)
        self.why.update(direction=why, landscape=why)
        if why is not None:
            return
        loss = src.session.loss
        got = directions(src.problem, loss)
        self.why["direction"] = got if isinstance(got, str) else None
        if not isinstance(got, str):
            self._set_directions(got)
        n = len(src.exact)
        if self.pick is not None and max(self.pick) >= n:
            self.pick = None  # another problem, with fewer unknowns
        self._set_plane()

    def _set_plane(self) -> str | None:
        """The plane for the source and ``pick``; the reason when there is none."""
        from solver.insight.directions import plane

        src = self.src
        pl = plane(src.problem, src.session.loss, src.exact, self.pick)
        self.why["landscape"] = pl if isinstance(pl, str) else None
        self.plane, self._extent = (None if isinstance(pl, str) else pl), None
        if self.plane is None:
            return pl
        pi = self.land_plot.getPlotItem()
        pi.setLabel("bottom", pl.labels[0])
        pi.setLabel("left", pl.labels[1])
        star = pl.coordinates(src.exact[None, :])[0]
        self.minimum.setData([star[0]], [star[1]])
        self.draw_landscape()
        return None

    def set_pick(self, text: str) -> str | None:
        """The plane along two unknowns ("2, 5", 1-based), or the extreme singular directions
        (empty text). Returns what is wrong with ``text`` (and changes nothing) or None."""
        pick = None
        if text.strip():
            try:
                i, j = (int(p) for p in text.replace(";", ",").split(","))
            except ValueError:
                return f"{text!r}: give two unknowns by number, like 1, 3"
            pick = (i - 1, j - 1)
        old = self.pick
        self.pick = pick
        if self.src is None or _reason(self.src) is not None:
            return None  # kept for the next run that has a landscape
        why = self._set_plane()
        if why is not None and pick is not None:
            self.pick = old
            self._set_plane()
            return why
        return None

    def _ask_pick(self) -> None:
        text, ok = QtWidgets.QInputDialog.getText(
            self.land_plot, "Landscape plane", "Two unknowns the plane runs along (e.g. 1, 3):"
        )
        if ok:
            why = self.set_pick(text)
            if why:
                QtWidgets.QMessageBox.warning(self.land_plot, "Plane not changed", why)

    def _set_fit(self, src: object) -> None:
        from solver.problems.kinds import kind_of, view_offered_for

        p = None if src is None else src.problem
        fit = p is not None and "fit" in kind_of(p).views
        self.why["fit"] = None if fit else view_offered_for("fit")
        self.fit_curve.setData([], [])
        if not fit:
            self.samples.setData([])
            self.best_fit.setData([], [])
            return
        xs, ys = p.samples_x, p.samples_y
        lo, hi = float(xs.min()), float(xs.max())
        pad = 0.05 * (hi - lo or 1.0)
        self._fit_t = np.linspace(lo - pad, hi + pad, FIT_POINTS)
        self.samples.setData(xs, ys)
        self.best_fit.setData(self._fit_t, np.polyval(src.exact, self._fit_t))

    def draw_fit(self, final: bool = True) -> None:
        """The polynomial of the inspected (else the newest) coefficients over the data."""
        if self.why["fit"] is not None or self.src is None:
            return
        h = self.src.history
        k = self.inspected
        c = h.iterate(len(h) - 1 if k is None else k) if hasattr(h, "iterate") else None
        if c is None:
            its, vals = h.trajectory()
            if not len(its):
                return
            c = vals[-1]
        with np.errstate(over="ignore", invalid="ignore"):
            self.fit_curve.setData(self._fit_t, np.polyval(np.asarray(c, float), self._fit_t))

    def _set_directions(self, dirs: object) -> None:
        self.dirs = dirs
        groups = dirs.groups()
        for j, (label, idx) in enumerate(groups):
            colour = pg.intColor(j, hues=max(len(groups), 1), maxValue=210)
            self._dir_curves.append((curve(self.dir_plot, pg.mkPen(colour, width=1.5), label), idx))
        self.dir_legend.fit(len(groups))
        z = dirs.null.shape[1]
        note = ""
        if z:
            note = (
                f"<br><span style='font-size:8pt'>{z} direction{'s' if z > 1 else ''} with "
                "σ = 0 never touched: gd stays at the start's part there (from zeros: the "
                "minimum-norm solution)</span>"
            )
        self.dir_plot.getPlotItem().setTitle(
            f"Error by direction ({dirs.what.split()[0]} vectors){note}", size="10pt"
        )

    # -- frames ------------------------------------------------------------------------------
    def draw_direction(self, may_move: bool = True) -> bool:
        """Draw the coefficients; True when the axes' range moved (a full repaint follows,
        so the panel lets only one plot move per frame: ``may_move``)."""
        if self.dirs is None:
            return False
        its, rows = spread_rows(self.src.history, DRAWN_ROWS)
        if not len(its):
            return False
        coef = self.dirs.coefficients(rows, self.src.exact)
        t = its.astype(float)
        drawn = []
        for c, idx in self._dir_curves:
            y = coef[:, idx[0]] if len(idx) == 1 else np.sqrt(np.sum(coef[:, idx] ** 2, axis=1))
            drawn.append(np.where(y > 0, y, np.nan))
            c.setData(t, drawn[-1])
        y_range = finite_range(*drawn, positive=True) if drawn else None
        moved = self.dir_range.update(float(its[-1]), y_range, False, may_move)
        self.dir_marker.setVisible(self.inspected is not None)
        if self.inspected is not None:
            self.dir_marker.setValue(self.inspected)
        return moved

    def draw_landscape(self, final: bool = True) -> None:
        if self.plane is None:
            return
        its, rows = spread_rows(self.src.history, DRAWN_ROWS)
        if not len(its):
            return
        st = self.plane.coordinates(rows)
        finite = np.isfinite(st).all(axis=1)
        self.path.setData(st[finite, 0], st[finite, 1])
        self._fit_grid(st[finite], final)
        k = self.inspected
        x = None
        if k is not None:
            x = self.src.history.iterate(k) if hasattr(self.src.history, "iterate") else None
        if x is None:
            x = rows[-1]
        self._mark(np.asarray(x, float))

    def _mark(self, x: np.ndarray) -> None:
        from solver.insight.anatomy import autograd_gradient, closed_form_gradient

        here = self.plane.coordinates(x[None, :])[0]
        self.here.setData([here[0]], [here[1]])
        if not np.isfinite(x).all():
            self.arrow.setVisible(False)
            return
        s = self.src.session
        # the formula in numpy (what autograd computes, to rounding: One step shows both)
        g = closed_form_gradient(s.loss, s.problem, x)
        if g is None:
            _, g = autograd_gradient(s, x)
        with np.errstate(over="ignore", invalid="ignore"):
            step = -s.lr * np.array([g @ self.plane.d1, g @ self.plane.d2])
            tip = here + step
        if not np.isfinite(tip).all():
            # a step beyond floats (lr near 1.8e308): an end at inf made the view's range nan
            self.arrow_line.setData([], [])
            self.arrow.setVisible(False)
            return
        self.arrow_line.setData([here[0], tip[0]], [here[1], tip[1]])
        if np.hypot(*step) > 0:
            # the head points along the step; pyqtgraph's angle 0 points left
            self.arrow.setStyle(angle=180 - float(np.degrees(np.arctan2(step[1], step[0]))))
            self.arrow.setPos(tip[0], tip[1])
            self.arrow.setVisible(True)
        else:
            self.arrow.setVisible(False)

    def _fit_grid(self, st: np.ndarray, final: bool = True) -> None:
        """Recompute the contours when the iterates leave the drawn extent (or at first);
        while a run goes, at most every ``REGRID_S`` seconds (a diverging run leaves it at
        every frame, and a grid with its contours costs tens of milliseconds)."""
        star = self.plane.coordinates(self.src.exact[None, :])[0]
        pts = np.vstack([st, star[None, :]]) if len(st) else star[None, :]
        if self._extent is not None:
            if contains(self._extent, pts):
                return
            if not final and time.perf_counter() - self._gridded_at < REGRID_S:
                return
        self._extent = extent_around(pts)
        self._gridded_at = time.perf_counter()
        self._draw_grid()

    def _draw_grid(self) -> None:
        from solver.insight.directions import loss_grid

        x0, x1, y0, y1 = self._extent
        s, t = np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID)
        z = loss_grid(self.src.session.loss, self.src.problem, self.src.exact, self.plane, s, t)
        drawn = log_contours(z, LEVELS)
        if drawn is None:  # a diverged run's extent: beyond floats everywhere
            self._clear_grid()
            return
        lz, levels, self.contour_losses = drawn
        self.image.setImage(lz, autoLevels=True)
        # a pixel's centre on its grid point (the contours are traced through the centres)
        hs, ht = (x1 - x0) / (GRID - 1), (y1 - y0) / (GRID - 1)
        self.image.setRect(QtCore.QRectF(x0 - hs / 2, y0 - ht / 2, x1 - x0 + hs, y1 - y0 + ht))
        for iso, level in zip(self.isos, levels, strict=True):
            iso.setData(lz, level)

    def _clear_grid(self) -> None:
        """No colours and no contour lines (the lines would outlive the image they sit on)."""
        self.image.clear()
        for iso in self.isos:
            iso.setData(None)
        self.contour_losses = []

    def _clicked(self, ev: object) -> None:
        if self.plane is None or ev.button() != QtCore.Qt.LeftButton or ev.double():
            return
        vb = self.land_plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        p = vb.mapSceneToView(ev.scenePos())
        (u, v), names = (p.x(), p.y()), self.plane.labels
        where = f"the clicked point {names[0]} = {u:.3g}, {names[1]} = {v:.3g}"
        self.start_from.emit(self.plane.point(u, v), where)
        ev.accept()
