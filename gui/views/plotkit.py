"""Plot building blocks on top of pyqtgraph: fast axes, guarded painting, range keeping,
crosshair read-outs, and the pyqtgraph patches ``gui.process.settle_process`` installs.

Imported after the window is up: pyqtgraph is not on the startup path.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers pg.exporters)
from PySide6 import QtCore, QtGui, QtWidgets

from .curves import BoundsItem
from .fitted import FittedTitle, fit_label

pg.setConfigOptions(background="w", foreground="#3c4043", antialias=False)

LOSS_PEN = pg.mkPen("#1a56db", width=2)
ERROR_PEN = pg.mkPen("#d97706", width=1)
RESIDUAL_PEN = pg.mkPen("#059669", width=1)
EXACT_BRUSH = pg.mkBrush("#cbd5e1")
X_BRUSH = pg.mkBrush("#1a56db")
PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
# Points drawn per pixel of plot width (a min and a max per column).
POINTS_PER_PIXEL = 2

Guard = Callable[[], AbstractContextManager]


class FastAxis(pg.AxisItem):
    """An axis that paints straight onto its painter. pyqtgraph's records a QPicture and
    replays it, which costs twice; here the item is cached as a pixmap anyway (``cache``),
    so it is painted once per range change, straight into that pixmap."""

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        # Within a decade pyqtgraph labels 2 to 9: near the top they overlap ("8·10²9·10²")
        # once a plot spans a decade or two. 1, 2 and 5 stay; the other ticks stay unlabelled.
        out = super().logTickStrings(values, scale, spacing)
        keep = {1, 2, 5}
        for i, v in enumerate(values):
            lead = round(10 ** (float(v) % 1.0), 6)
            if min(abs(lead - k) for k in keep) > 1e-3 and abs(lead - 10) > 1e-3:
                out[i] = ""
        return out

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


class QuietViewBox(pg.ViewBox):
    """A view box whose auto-range follows only the items it ranges on. pyqtgraph's queues
    an auto-range pass (every item's bounds, at each paint) whenever any item moves, even
    one added with ``ignoreBounds``: every curve, every frame, for nothing."""

    def paint(self, p: QtGui.QPainter, opt: object, widget: object) -> None:
        # pyqtgraph's strokes its shape with the border pen even when that pen is NoPen
        # (never ItemHasNoContents: such items are skipped by the scene's mouse hit tests).
        if self.border is not None and self.border.style() != QtCore.Qt.NoPen:
            super().paint(p, opt, widget)

    def itemBoundsChanged(self, item: QtWidgets.QGraphicsItem) -> None:
        if item in self.addedItems:
            super().itemBoundsChanged(item)
        else:
            self._itemBoundsCache.pop(item, None)


class GuardedPlotWidget(pg.PlotWidget):
    """A PlotWidget that paints inside ``guard()`` (the solver thread parked meanwhile).
    Its title fits its width (``FittedTitle``)."""

    def __init__(self, guard: Guard | None = None, **kwargs: object) -> None:
        kwargs.setdefault("viewBox", QuietViewBox())
        super().__init__(axisItems=_axes(), **kwargs)
        self.guard = guard
        self.title = FittedTitle(self)

    def paintEvent(self, ev: QtGui.QPaintEvent) -> None:
        if self.guard is None:
            super().paintEvent(ev)
            return
        with self.guard():
            super().paintEvent(ev)


def cache(item: QtWidgets.QGraphicsItem) -> QtWidgets.QGraphicsItem:
    # Axes, titles and legends lay out text on every paint, and a new curve repaints the
    # area under a legend each frame: as pixmaps they cost a blit instead (several times
    # cheaper here), redrawn only when they change (an axis whose range moved).
    item.setCacheMode(QtWidgets.QGraphicsItem.DeviceCoordinateCache)
    return item


def cache_decorations(pi: pg.PlotItem) -> None:
    for name in ("left", "bottom"):
        cache(pi.getAxis(name))
    cache(pi.titleLabel)


X_STEPS = (1, 2, 5, 10)


def _step_up(v: float) -> float:
    """The next round number >= v (1, 2 or 5 times a power of ten)."""
    if v <= 1:
        return 1.0
    e = 10.0 ** math.floor(math.log10(v))
    return next(m * e for m in X_STEPS if m * e >= v)


FLOAT_DECADES = (-323, 308)  # the whole decades 10**e a float holds, subnormals included


def finite_range(*arrays: np.ndarray, positive: bool = False) -> tuple[float, float] | None:
    lo, hi = math.inf, -math.inf
    for a in arrays:
        a = np.asarray(a)
        ok = np.isfinite(a) & (a > 0) if positive else np.isfinite(a)
        if ok.any():
            f = a[ok]
            lo, hi = min(lo, float(f.min())), max(hi, float(f.max()))
    return (lo, hi) if lo <= hi else None


class RangeKeeper:
    """Auto-range in steps. An invisible two-point item is the only thing the view box
    auto-ranges on (the curves are added with ``ignoreBounds``), and it moves only when the
    data outgrow it: x to the next round number, a log y to whole decades, a linear y to
    round bounds. Axes then change a few times per run instead of every frame, and each
    change costs a full repaint. pyqtgraph's own auto-range behaviour is kept: a user's zoom
    turns it off, the "A" button turns it back on.
    """

    def __init__(self, plot: pg.PlotWidget, log_y: bool) -> None:
        self.log_y = log_y
        self.item = BoundsItem()
        plot.getPlotItem().addItem(self.item)
        self.view = plot.getPlotItem().getViewBox()
        self.bounds: tuple[float, float, float, float] | None = None

    def reset(self) -> None:
        self.bounds = None

    def update(
        self, x_last: float, y: tuple[float, float] | None, tight: bool, may_move: bool = True
    ) -> bool:
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
            # within the decades a float holds: 1e309 overflows, 1e-324 is 0 (no logarithm)
            e1 = min(max(e1, e0 + 1), FLOAT_DECADES[1])
            e0 = max(min(e0, e1 - 1), FLOAT_DECADES[0])
            y0, y1 = 10.0**e0, 10.0**e1
        else:
            y0, y1 = _linear_bounds(y[0], y[1], None if tight or old is None else old[2:])
        new = (0.0, x1, y0, y1)
        if new == old or not may_move:
            return False
        self.bounds = new
        ys = (math.log10(y0), math.log10(y1)) if self.log_y else (y0, y1)
        self.item.set_bounds((0.0, x1), ys)
        # The view box would take the new range at its next paint, inside it: the repaint
        # that asks for is lost, and with no frame after it (a run over before the plots
        # were in) the plot stayed on its old range, empty. Taken now, outside any paint.
        self.view.prepareForPaint()
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


def warm_fonts() -> None:
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


def shown_rows(plot: pg.PlotWidget, n: int) -> tuple[int, int, int]:
    """History rows [start, stop) of ``n`` the plot shows, and how many points it can use."""
    vb = plot.getViewBox()
    pts = max(200, int(vb.width()) * POINTS_PER_PIXEL)
    if vb.autoRangeEnabled()[0]:
        return 0, n, pts
    x0, x1 = vb.viewRange()[0]
    s = max(0, min(n, math.floor(x0) - 1))
    e = max(s, min(n, math.ceil(x1) + 2))
    return s, e, pts


def is_shown(w: QtWidgets.QWidget) -> bool:
    # Background tabs, closed docks and a minimized window are not drawn into.
    return w.isVisible() and not w.window().isMinimized()


def install_patches() -> None:
    """pyqtgraph fixes this app relies on, for the pinned version only (a newer release is
    checked against the tests before its pin moves)."""
    if pg.__version__.startswith("0.14."):
        tolerate_closed_svg_paths()


def tolerate_closed_svg_paths() -> None:
    """pyqtgraph 0.14's SVG exporter reads every token of a path as "x,y", but Qt 6.11 ends
    closed paths with a bare "Z" and the export fails. Take the Z out while the exporter
    maps the coordinates, and put it back after (installed once)."""
    import pyqtgraph.exporters.SVGExporter  # noqa: F401

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


# More entries than this and a legend is hidden until asked for (the plot's context menu).
LEGEND_SHOWN_UP_TO = 6


class StripLegend(QtCore.QObject):
    """A legend in a strip under the plot, never over its curves. ``fit(k)`` arranges it for
    ``k`` entries, in as many columns as the plot's width holds (up to 3), and hides it (a
    context-menu toggle shows it) above ``LEGEND_SHOWN_UP_TO`` entries, where it would take
    more room than the plot."""

    def __init__(self, plot: pg.PlotWidget) -> None:
        super().__init__(plot)
        pi = plot.getPlotItem()
        self.plot = plot
        self.item = pg.LegendItem(colCount=1, horSpacing=10, verSpacing=-6)
        # Its entries must not widen the plot beyond its widget (they would be cut off):
        # the columns follow the width instead (``_fit_width``).
        self.item.setMinimumWidth(0)
        pi.legend = self.item  # plot items named from now on are listed here
        pi.layout.addItem(self.item, pi.layout.rowCount(), 1, 1, 2)  # under the bottom axis
        cache(self.item)
        self.toggle = QtGui.QAction("Show legend", plot)
        self.toggle.setCheckable(True)
        self.toggle.setChecked(True)
        self.toggle.toggled.connect(self.item.setVisible)
        pi.getViewBox().menu.addAction(self.toggle)
        self._k = 0
        # each label's whole name, and the (maybe elided) text it was given to show
        self._full: dict[pg.LabelItem, str] = {}
        self._shown: dict[pg.LabelItem, str] = {}
        plot.installEventFilter(self)

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:
        if ev.type() == QtCore.QEvent.Resize:
            self._fit_width()
        return False

    def fit(self, k: int) -> None:
        self._k = k
        self.toggle.setChecked(k <= LEGEND_SHOWN_UP_TO)
        self._fit_width()

    def _fit_width(self) -> None:
        entries = self.item.items
        if not entries:
            return
        widest = max(s.boundingRect().width() + lab.boundingRect().width() for s, lab in entries)
        room = max(1, self.plot.width() - 60)  # the left axis takes about this much
        cols = max(1, min(3, len(entries), int(room // (widest + 10))))
        if cols != self.item.columnCount:
            self.item.setColumnCount(cols)
        for sample, label in entries:
            # a name set since (``setText``) is the new whole name; ours is an elided one
            full = self._full.get(label) if label.text == self._shown.get(label) else label.text
            self._full[label] = full
            self._shown[label] = fit_label(label, full, room - sample.boundingRect().width() - 10)

    def add(self, item: pg.GraphicsObject, name: str) -> None:
        """List ``item`` (a curve, or a stand-in with its pen) as ``name``."""
        self.item.addItem(item, name)

    def clear(self) -> None:
        self.item.clear()
        self._full.clear()
        self._shown.clear()

    def getLabel(self, item: object) -> object:  # noqa: N802 - pyqtgraph's name
        return self.item.getLabel(item)
