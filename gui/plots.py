"""The live plots: loss, error and residual, the components of x, x against the exact
solution, and for inverse problems heat maps of X and of its residual.

Each frame pulls only what the plots can show: ``History.envelope`` (min/max per bucket) for
the visible iterations, and a strided slice of the x trajectory. Plots that are hidden (a
background tab) are skipped and catch up when shown. pyqtgraph's own features do the rest:
log axes, auto-range that stops following once the user zooms (the "A" button resumes it),
legends, colour bars and exporters.

Imported after the window is up: pyqtgraph is not on the startup path.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers pg.exporters)
from PySide6 import QtCore, QtGui, QtWidgets

pg.setConfigOptions(background="w", foreground="#3c4043", antialias=False)

LOSS_PEN = pg.mkPen("#1a56db", width=2)
ERROR_PEN = pg.mkPen("#d97706", width=2)
RESIDUAL_PEN = pg.mkPen("#059669", width=2)
CROSS_PEN = pg.mkPen("#9ca3af", width=1, style=QtCore.Qt.DashLine)
EXACT_BRUSH = pg.mkBrush("#cbd5e1")
LEGEND_BRUSH = pg.mkBrush(255, 255, 255, 210)
X_BRUSH = pg.mkBrush("#1a56db")
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]
# Points drawn per pixel of plot width (a min and a max per column).
POINTS_PER_PIXEL = 2

Guard = Callable[[], AbstractContextManager]


@dataclass
class RunSource:
    """What the plots read from one run: its history and the facts of its problem."""

    history: object  # solver.history.History
    exact: np.ndarray  # flattened reference solution
    names: list[str]  # every unknown's name
    unknown_shape: tuple[int, ...]
    kind: str
    residual: Callable[[np.ndarray], np.ndarray]  # rows of flat x -> rows of flat residuals

    @classmethod
    def from_run(cls, run: object) -> RunSource:
        p = run.problem
        return cls(run.history, np.asarray(run.exact, float).reshape(-1), p.unknown_names(),
                   tuple(p.unknown_shape), p.kind, p.residual_np)


class FastAxis(pg.AxisItem):
    """An axis that paints straight onto its painter. pyqtgraph's records a QPicture and
    replays it, which costs twice; here the item is cached as a pixmap anyway (``_cache``),
    so it is painted once per range change, straight into that pixmap."""

    def paint(self, p: QtGui.QPainter, opt: object, widget: object) -> None:
        if self.style["tickFont"]:
            p.setFont(self.style["tickFont"])
        specs = self.generateDrawSpecs(p)
        if specs is not None:
            self.drawPicture(p, *specs)


def _axes() -> dict[str, FastAxis]:
    axes = {k: FastAxis(k) for k in ("left", "bottom")}
    for a in axes.values():
        # SI prefixes rescale the tick values and label ("loss (x1e+27)"): wrong on a log
        # axis and confusing on a diverging one; plain numbers it is.
        a.enableAutoSIPrefix(False)
    return axes


class GuardedPlotWidget(pg.PlotWidget):
    """A PlotWidget that paints inside ``guard()`` (the solver thread parked meanwhile)."""

    def __init__(self, guard: Guard | None = None, **kwargs: object) -> None:
        super().__init__(axisItems=_axes(), **kwargs)
        self.guard = guard

    def paintEvent(self, ev: QtGui.QPaintEvent) -> None:
        if self.guard is None:
            super().paintEvent(ev)
            return
        with self.guard():
            super().paintEvent(ev)


def _curve(plot: pg.PlotWidget, pen: QtGui.QPen, name: str) -> pg.PlotDataItem:
    c = pg.PlotDataItem(pen=pen, name=name)
    plot.getPlotItem().addItem(c, ignoreBounds=True)  # the plot's _Frame sets its range
    return c


def _cache(item: QtWidgets.QGraphicsItem) -> QtWidgets.QGraphicsItem:
    # Axes, titles and legends lay out text on every paint, and a new curve repaints the
    # area under a legend each frame: as pixmaps they cost a blit instead (several times
    # cheaper here), redrawn only when they change (an axis whose range moved).
    item.setCacheMode(QtWidgets.QGraphicsItem.DeviceCoordinateCache)
    return item


def _cache_decorations(pi: pg.PlotItem) -> None:
    for name in ("left", "bottom"):
        _cache(pi.getAxis(name))
    _cache(pi.titleLabel)


X_STEPS = (1, 2, 5, 10)


def _step_up(v: float) -> float:
    """The next round number >= v (1, 2 or 5 times a power of ten)."""
    if v <= 1:
        return 1.0
    e = 10.0 ** math.floor(math.log10(v))
    return next(m * e for m in X_STEPS if m * e >= v)


def _finite_range(*arrays: np.ndarray, positive: bool = False) -> tuple[float, float] | None:
    lo, hi = math.inf, -math.inf
    for a in arrays:
        a = np.asarray(a)
        ok = np.isfinite(a) & (a > 0) if positive else np.isfinite(a)
        if ok.any():
            f = a[ok]
            lo, hi = min(lo, float(f.min())), max(hi, float(f.max()))
    return (lo, hi) if lo <= hi else None


class _Frame:
    """Auto-range in steps. An invisible two-point item is the only thing the view box
    auto-ranges on (the curves are added with ``ignoreBounds``), and it moves only when the
    data outgrow it: x to the next round number, a log y to whole decades, a linear y to
    round bounds. Axes then change a few times per run instead of every frame, and each
    change costs a full repaint. pyqtgraph's own auto-range behaviour is kept: a user's zoom
    turns it off, the "A" button turns it back on.
    """

    def __init__(self, plot: pg.PlotWidget, log_y: bool) -> None:
        self.log_y = log_y
        self.item = pg.PlotDataItem([0.0, 1.0], [1.0, 10.0] if log_y else [0.0, 1.0],
                                    pen=pg.mkPen(0, 0, 0, 0))
        plot.getPlotItem().addItem(self.item)
        self.bounds: tuple[float, float, float, float] | None = None

    def reset(self) -> None:
        self.bounds = None

    def update(self, x_last: float, y: tuple[float, float] | None, tight: bool,
               may_move: bool = True) -> bool:
        """Fit the bounds to the data; True if they moved (a full repaint follows).
        With ``may_move`` False a needed move waits (the curve may overrun briefly)."""
        x1 = max(float(x_last), 1.0) if tight else _step_up(x_last)
        old = self.bounds
        if y is None:
            y0, y1 = (old[2], old[3]) if old else ((0.1, 10.0) if self.log_y else (-1.0, 1.0))
        elif self.log_y:
            # Whole decades; the lower bound in steps that grow with the span, so a loss
            # falling through hundreds of decades moves the axis a few times, not each frame.
            lo, hi = math.log10(y[0]), math.log10(y[1])
            e1 = math.ceil(hi)
            e0 = math.floor(lo)
            if not tight:
                step = max(1.0, round(_nice(max(e1 - lo, 1.0) / 4)))
                e0 = math.floor(lo / step) * step
                if old is not None and e1 == math.log10(old[3]):
                    o0 = math.log10(old[2])
                    if o0 <= lo and e1 - o0 <= 4 * max(e1 - lo, 1.0):
                        e0 = o0
            y0, y1 = 10.0 ** e0, 10.0 ** max(e1, e0 + 1)
        else:
            y0, y1 = _linear_bounds(y[0], y[1], None if tight or old is None else old[2:])
        new = (0.0, x1, y0, y1)
        if new == old or not may_move:
            return False
        self.bounds = new
        self.item.setData([0.0, x1], [y0, y1])
        return True


def _nice(step: float) -> float:
    e = 10.0 ** math.floor(math.log10(step))
    return next(m * e for m in (1, 2, 2.5, 5, 10) if m * e >= step)


def _linear_bounds(lo: float, hi: float, cur: tuple[float, float] | None) -> tuple[float, float]:
    """Round bounds around [lo, hi]; the current ones are kept while they still fit well."""
    if cur is not None and cur[0] <= lo and hi <= cur[1] and cur[1] - cur[0] <= 4 * (hi - lo):
        return cur
    span = hi - lo
    if not math.isfinite(span):
        return lo, hi
    if span <= 0:
        pad = abs(lo) * 0.1 or 0.5
        lo, hi, span = lo - pad, hi + pad, 2 * pad
    step = _nice(span / 4)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step


def _warm_fonts() -> None:
    """Lay out and draw every glyph a tick label uses once, now: the first superscript
    digit measured inside a paint costs up to ~200 ms here (font fallback), a visible stall.
    Both the picture and the raster engine keep their own glyph caches."""
    text = "0123456789 ⁰¹²³⁴⁵⁶⁷⁸⁹⁻ −.e+×‖"
    for device in (QtGui.QPicture(), QtGui.QImage(400, 40, QtGui.QImage.Format_ARGB32)):
        p = QtGui.QPainter(device)
        for size in (8, 9, 10):
            f = p.font()
            f.setPointSize(size)
            p.setFont(f)
            p.boundingRect(QtCore.QRectF(0, 0, 400, 40), QtCore.Qt.AlignCenter, text)
            p.drawText(QtCore.QRectF(0, 0, 400, 40), QtCore.Qt.AlignCenter, text)
        p.end()


def _shown(w: QtWidgets.QWidget) -> bool:
    # Background tabs, closed docks and a minimized window are not drawn into.
    return w.isVisible() and not w.window().isMinimized()


def _fmt(v: float) -> str:
    return f"{v:.6g}" if math.isfinite(v) else str(v)


class _Readout:
    """Crosshair and a text read-out in the plot's corner, rate-limited mouse tracking."""

    def __init__(self, plot: pg.PlotWidget, text_of: Callable[[float, float], str | None],
                 vertical_only: bool = True) -> None:
        self.plot = plot
        self.text_of = text_of
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=CROSS_PEN)
        self.hline = None if vertical_only else pg.InfiniteLine(angle=0, movable=False,
                                                                 pen=CROSS_PEN)
        self.label = pg.TextItem("", color="#111827", anchor=(0, 0),
                                 fill=pg.mkBrush(255, 255, 255, 215))
        vb = plot.getViewBox()
        self.label.setParentItem(vb)  # pixel position inside the view box, not data coords
        self.label.setPos(6, 4)
        self.label.setZValue(100)
        for item in (self.vline, self.hline):
            if item is not None:
                plot.addItem(item, ignoreBounds=True)
                item.hide()
        self.label.hide()
        self.proxy = pg.SignalProxy(plot.scene().sigMouseMoved, rateLimit=30, slot=self._moved)

    def _moved(self, args: tuple) -> None:
        pos = args[0]
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(pos):
            self.hide()
            return
        p = vb.mapSceneToView(pos)
        text = self.text_of(p.x(), p.y())
        if not text:
            self.hide()
            return
        self.vline.setPos(p.x())
        self.vline.show()
        if self.hline is not None:
            self.hline.setPos(p.y())
            self.hline.show()
        self.label.setText(text)
        self.label.show()

    def hide(self) -> None:
        self.vline.hide()
        if self.hline is not None:
            self.hline.hide()
        self.label.hide()


class PlotPanel(QtWidgets.QWidget):
    """All plots of the window. ``set_source`` picks the run; ``refresh`` draws a frame."""

    def __init__(self, guard: Guard | None = None, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.guard = guard
        self.src: RunSource | None = None
        self._x_curves: list[pg.PlotDataItem] = []
        self._x_columns: np.ndarray = np.zeros(0, np.int64)
        self._latest_x: np.ndarray | None = None
        self._turn = 0
        self._moved = False
        self._tight = True

        _warm_fonts()
        self.loss_plot = self._plot("Loss", "loss", log=True)
        self.loss_curve = _curve(self.loss_plot, LOSS_PEN, "loss")
        self.err_plot = self._plot("Error and residual", "norm", log=True)
        _cache(self.err_plot.addLegend(offset=(-8, 8), brush=LEGEND_BRUSH))
        self.err_curve = _curve(self.err_plot, ERROR_PEN, "‖x − x*‖ error")
        self.res_curve = _curve(self.err_plot, RESIDUAL_PEN, "‖r‖ residual")
        self.x_plot = self._plot("Components of x", "value")
        self.x_legend = _cache(self.x_plot.addLegend(offset=(-8, 8), brush=LEGEND_BRUSH))

        self.bar_plot = self._plot("x (blue) against the exact solution (grey)", "value",
                                   bottom="component")
        self.bar_plot.setMouseEnabled(x=True, y=True)
        self.exact_bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=EXACT_BRUSH,
                                          pen=pg.mkPen(None))
        self.x_bars = pg.BarGraphItem(x=[], height=[], width=0.4, brush=X_BRUSH,
                                      pen=pg.mkPen(None))
        self.bar_plot.addItem(self.exact_bars, ignoreBounds=True)
        self.bar_plot.addItem(self.x_bars, ignoreBounds=True)
        self.frames = {
            "loss": _Frame(self.loss_plot, True),
            "error": _Frame(self.err_plot, True),
            "x": _Frame(self.x_plot, False),
            "bars": _Frame(self.bar_plot, False),
        }

        self.heat_x_plot, self.heat_x, self.heat_x_bar = self._heat("X (current)")
        self.heat_r_plot, self.heat_r, self.heat_r_bar = self._heat("Residual of X")

        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.bar_plot, "x vs exact")
        self.tabs.addTab(self.heat_x_plot, "X heat map")
        self.tabs.addTab(self.heat_r_plot, "Residual heat map")
        self.tabs.currentChanged.connect(lambda _i: self.refresh(everything=True,
                                                                 tight=self._tight))
        self._set_heat_tabs(False)

        top = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
        top.setObjectName("plotsTop")
        top.addWidget(self.loss_plot)
        top.addWidget(self.err_plot)
        bottom = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
        bottom.setObjectName("plotsBottom")
        bottom.addWidget(self.x_plot)
        bottom.addWidget(self.tabs)
        outer = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        outer.setObjectName("plotsOuter")
        outer.addWidget(top)
        outer.addWidget(bottom)
        for s in (top, bottom, outer):
            s.setChildrenCollapsible(False)
        self.splitters = [outer, top, bottom]
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(outer)

        self._readouts = [
            _Readout(self.loss_plot, self._loss_text),
            _Readout(self.err_plot, self._err_text),
            _Readout(self.x_plot, self._x_text),
            _Readout(self.bar_plot, self._bar_text),
            _Readout(self.heat_x_plot, lambda x, y: self._heat_text(x, y, False), False),
            _Readout(self.heat_r_plot, lambda x, y: self._heat_text(x, y, True), False),
        ]
        self.plots = {
            "loss": self.loss_plot,
            "error": self.err_plot,
            "x": self.x_plot,
            "bars": self.bar_plot,
            "heat_x": self.heat_x_plot,
            "heat_residual": self.heat_r_plot,
        }

    # -- construction -----------------------------------------------------------------------
    def _plot(self, title: str, left: str, *, log: bool = False,
              bottom: str = "iteration") -> GuardedPlotWidget:
        w = GuardedPlotWidget(self.guard)
        pi = w.getPlotItem()
        pi.setTitle(title, size="10pt")
        pi.setLabel("left", left)
        pi.setLabel("bottom", bottom)
        # No grid: its lines belong to the axes and cost ~20 ms each time a range moves.
        pi.setLogMode(x=False, y=log)
        _cache_decorations(pi)
        w.setMinimumSize(220, 160)
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
        _cache_decorations(pi)
        _cache_decorations(bar)
        w.setMinimumSize(220, 160)
        return w, img, bar

    def _set_heat_tabs(self, on: bool) -> None:
        for i in (1, 2):
            self.tabs.setTabEnabled(i, on)
            self.tabs.setTabToolTip(i, "" if on else "for matrix-inverse problems")
        if not on and self.tabs.currentIndex() != 0:
            self.tabs.setCurrentIndex(0)

    # -- data -------------------------------------------------------------------------------
    def set_source(self, src: RunSource | None) -> None:
        """Show ``src`` (a new run), or clear every plot with None."""
        self.src = src
        self._latest_x = None
        for c in self._x_curves:
            self.x_plot.removeItem(c)
        self._x_curves = []
        self.x_legend.clear()
        for c in (self.loss_curve, self.err_curve, self.res_curve):
            c.setData([], [])
        self.exact_bars.setOpts(x=[], height=[])
        self.x_bars.setOpts(x=[], height=[])
        self.heat_x.clear()
        self.heat_r.clear()
        for r in self._readouts:
            r.hide()
        for p in self.plots.values():
            p.getPlotItem().enableAutoRange()
        for f in self.frames.values():
            f.reset()
        if src is None:
            self._set_heat_tabs(False)
            return
        tracked = np.asarray(src.history.tracked, np.int64)
        self._x_columns = tracked
        k = len(tracked)
        self.x_legend.setColumnCount(1 if k <= 8 else 2 if k <= 16 else 3)
        for j, idx in enumerate(tracked):
            color = PALETTE[j] if k <= len(PALETTE) else pg.intColor(j, hues=k, maxValue=210)
            pen = pg.mkPen(color, width=1.5)
            self._x_curves.append(_curve(self.x_plot, pen, src.names[idx]))
        xs = np.arange(1, k + 1, dtype=float)
        self.exact_bars.setOpts(x=xs, height=src.exact[tracked], width=0.7)
        ax = self.bar_plot.getPlotItem().getAxis("bottom")
        every = max(1, -(-k // 8))  # at most 8 names fit under the bars
        ax.setTicks([[(float(i + 1), src.names[t]) for i, t in enumerate(tracked)
                      if i % every == 0]])
        inverse = src.kind == "inverse"
        self._set_heat_tabs(inverse)
        if inverse:
            ex = src.exact.reshape(src.unknown_shape)
            self._heat_levels(self.heat_x_bar, ex)

    def set_latest_x(self, x: np.ndarray | None) -> None:
        self._latest_x = None if x is None else np.asarray(x, float).reshape(-1)

    def wants_x(self) -> bool:
        """Whether a visible plot needs the full current x (the heat maps do)."""
        return self.src is not None and self.src.kind == "inverse" and self.tabs.currentIndex() > 0

    def refresh(self, everything: bool = False, tight: bool = False) -> None:
        """Draw the run into the visible plots. While it runs the loss plot is drawn every
        frame and the others take turns, one per frame: each plot costs a few ms of GUI
        time, which the solver thread loses. ``everything`` (paused, finished) draws them
        all; ``tight`` (finished) fits the ranges to the data instead of growing in steps.
        """
        src = self.src
        if src is None or len(src.history) == 0:
            return
        self._moved = False
        self._tight = tight
        final = everything
        shown = [name for name, plot in self._updaters() if _shown(plot)]
        if everything:
            todo = shown
        else:
            rest = [name for name in shown if name != "loss"]
            todo = [name for name in shown if name == "loss"]
            if rest:
                self._turn = (self._turn + 1) % len(rest)
                todo.append(rest[self._turn])
        for name in todo:
            getattr(self, f"_draw_{name}")(final)

    def _fit(self, key: str, y: tuple[float, float] | None, x_last: float, final: bool,
             tight: bool | None = None) -> None:
        # A range change repaints a whole plot (axes and all, ~10 ms here): at most one per
        # frame while running keeps frames short; the others wait a frame or two.
        tight = self._tight if tight is None else tight
        self._moved |= self.frames[key].update(x_last, y, tight, final or not self._moved)

    def _updaters(self) -> list[tuple[str, QtWidgets.QWidget]]:
        return [("loss", self.loss_plot), ("error", self.err_plot), ("x", self.x_plot),
                ("bars", self.bar_plot), ("heat_x", self.heat_x_plot),
                ("heat_residual", self.heat_r_plot)]

    def _draw_loss(self, final: bool) -> None:
        h = self.src.history
        n = len(h)
        s, e, pts = self._window(self.loss_plot, n)
        x, y = h.envelope("loss", s, e, pts)
        self.loss_curve.setData(x, y)
        self._fit("loss", _finite_range(y, positive=True), n - 1, final)

    def _draw_error(self, final: bool) -> None:
        h = self.src.history
        n = len(h)
        s, e, pts = self._window(self.err_plot, n)
        x, ye = h.envelope("error", s, e, pts)
        self.err_curve.setData(x, ye)
        x, yr = h.envelope("residual_norm", s, e, pts)
        self.res_curve.setData(x, yr)
        self._fit("error", _finite_range(ye, yr, positive=True), n - 1, final)

    def _draw_x(self, final: bool) -> None:
        h = self.src.history
        n = len(h)
        its, vals = h.trajectory()
        if not len(its):
            return
        s, e, pts = self._window(self.x_plot, n)
        i0, i1 = np.searchsorted(its, [s, e])
        i1 = max(i1, i0 + 1) if i0 < len(its) else i1
        step = max(1, -(-(i1 - i0) // max(pts // 2, 1)))
        sel = np.arange(i0, i1, step)
        if len(sel) and sel[-1] != i1 - 1:
            sel = np.append(sel, i1 - 1)  # always end on the newest row
        t = its[sel].astype(float)
        v = vals[sel]
        for j, c in enumerate(self._x_curves):
            c.setData(t, v[:, j])
        self._fit("x", _finite_range(v), n - 1, final)

    def _draw_bars(self, final: bool) -> None:
        its, vals = self.src.history.trajectory()
        if not len(its):
            return
        k = vals.shape[1]
        self.x_bars.setOpts(x=np.arange(1, k + 1, dtype=float), height=vals[-1], width=0.4)
        ex = self.src.exact[self._x_columns]
        self._fit("bars", _finite_range(vals[-1], ex, [0.0]), k + 0.5, final, tight=True)

    def _draw_heat_x(self, final: bool) -> None:
        if self.src.kind != "inverse" or self._latest_x is None:
            return
        x = self._latest_x.reshape(self.src.unknown_shape)
        self.heat_x.setImage(x, autoLevels=False)
        self._heat_levels(self.heat_x_bar, x)

    def _draw_heat_residual(self, final: bool) -> None:
        if self.src.kind != "inverse" or self._latest_x is None:
            return
        r = self.src.residual(self._latest_x[None, :])[0].reshape(self.src.unknown_shape)
        self.heat_r.setImage(r, autoLevels=False)
        self._heat_levels(self.heat_r_bar, r)

    @staticmethod
    def _heat_levels(bar: pg.ColorBarItem, values: np.ndarray) -> None:
        finite = values[np.isfinite(values)]
        m = float(np.max(np.abs(finite))) if finite.size else 1.0
        m = m if m > 0 else 1.0
        bar.setLevels((-m, m))

    @staticmethod
    def _window(plot: pg.PlotWidget, n: int) -> tuple[int, int, int]:
        """History rows [start, stop) the plot shows, and how many points it can use."""
        vb = plot.getViewBox()
        pts = max(200, int(vb.width()) * POINTS_PER_PIXEL)
        if vb.autoRangeEnabled()[0]:
            return 0, n, pts
        x0, x1 = vb.viewRange()[0]
        s = max(0, min(n, math.floor(x0) - 1))
        e = max(s, min(n, math.ceil(x1) + 2))
        return s, e, pts

    # -- read-outs --------------------------------------------------------------------------
    def _iteration_at(self, x: float) -> int | None:
        if self.src is None or len(self.src.history) == 0 or not math.isfinite(x):
            return None
        n = len(self.src.history)
        return int(min(max(round(x), 0), n - 1))

    def _loss_text(self, x: float, _y: float) -> str | None:
        k = self._iteration_at(x)
        if k is None:
            return None
        return f"iteration {k:,}   loss {_fmt(float(self.src.history.loss[k]))}"

    def _err_text(self, x: float, _y: float) -> str | None:
        k = self._iteration_at(x)
        if k is None:
            return None
        h = self.src.history
        return (f"iteration {k:,}   error {_fmt(float(h.error[k]))}   "
                f"residual {_fmt(float(h.residual_norm[k]))}")

    def _x_text(self, x: float, _y: float) -> str | None:
        k = self._iteration_at(x)
        if k is None:
            return None
        its, vals = self.src.history.trajectory()
        if not len(its):
            return None
        r = int(min(np.searchsorted(its, k), len(its) - 1))
        names = [self.src.names[i] for i in self._x_columns]
        parts = [f"{nm} = {_fmt(float(v))}" for nm, v in zip(names[:6], vals[r][:6], strict=False)]
        more = "  …" if len(names) > 6 else ""
        return f"iteration {int(its[r]):,}\n" + "\n".join(parts) + more

    def _bar_text(self, x: float, _y: float) -> str | None:
        if self.src is None:
            return None
        j = round(x) - 1
        its, vals = self.src.history.trajectory()
        if not 0 <= j < len(self._x_columns) or not len(its):
            return None
        idx = int(self._x_columns[j])
        return (f"{self.src.names[idx]} = {_fmt(float(vals[-1][j]))}   "
                f"exact {_fmt(float(self.src.exact[idx]))}")

    def _heat_text(self, x: float, y: float, residual: bool) -> str | None:
        if self.src is None or self.src.kind != "inverse" or self._latest_x is None:
            return None
        n = self.src.unknown_shape[0]
        c, r = math.floor(x), math.floor(y)
        if not (0 <= r < n and 0 <= c < n):
            return None
        if residual:
            v = self.src.residual(self._latest_x[None, :])[0].reshape(n, n)[r, c]
            return f"residual[{r + 1},{c + 1}] = {_fmt(float(v))}"
        v = self._latest_x.reshape(n, n)[r, c]
        ex = self.src.exact.reshape(n, n)[r, c]
        return f"X[{r + 1},{c + 1}] = {_fmt(float(v))}   exact {_fmt(float(ex))}"

    # -- export -----------------------------------------------------------------------------
    def export(self, which: str, path: str | Path) -> None:
        """Write plot ``which`` with pyqtgraph's exporters: SVG for a ``.svg`` path, else a
        PNG at twice its size on screen."""
        item = self.plots[which].getPlotItem()
        if str(path).lower().endswith(".svg"):
            _tolerate_closed_svg_paths()
            pg.exporters.SVGExporter(item).export(str(path))
            return
        exp = pg.exporters.ImageExporter(item)
        exp.parameters()["width"] = max(800, int(item.width()) * 2)
        if not exp.export(str(path)):
            raise OSError("cannot write the image there")

    def save_state(self) -> list[QtCore.QByteArray]:
        return [s.saveState() for s in self.splitters]

    def restore_state(self, states: list) -> None:
        for s, st in zip(self.splitters, states or [], strict=False):
            if st:
                s.restoreState(st)


def _tolerate_closed_svg_paths() -> None:
    """pyqtgraph 0.14's SVG exporter reads every token of a path as "x,y", but Qt 6.11 ends
    closed paths with a bare "Z" and the export fails. Take the Z out while the exporter
    maps the coordinates, and put it back after (installed once)."""
    mod = sys.modules["pyqtgraph.exporters.SVGExporter"]
    original = mod.correctCoordinates
    if getattr(original, "tolerates_close", False):
        return

    def correct(node, defs, item, options):  # noqa: ANN001, ANN202 - pyqtgraph's signature
        closed = []
        for path in node.getElementsByTagName("path"):
            tokens = path.getAttribute("d").split()
            kept = [t for t in tokens if t not in ("Z", "z")]
            if len(kept) != len(tokens):
                path.setAttribute("d", " ".join(kept))
                closed.append(path)
        original(node, defs, item, options)
        for path in closed:
            path.setAttribute("d", path.getAttribute("d").rstrip() + " Z")

    correct.tolerates_close = True
    mod.correctCoordinates = correct
