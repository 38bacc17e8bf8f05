"""Curve items for the live plots, leaner than pyqtgraph's where a frame redraws them: bounds
known once per update, several curves in one item, log axes without a dataset pipeline, and an
invisible item to auto-range on. At n = 2000 a live frame's curves were over half its cost.

Imported after the window is up: pyqtgraph is not on the startup path.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .clipping import say_clipped, within_limit


def _finite_bounds(a: np.ndarray) -> tuple[float | None, float | None]:
    if a.size == 0:
        return None, None
    lo, hi = float(a.min()), float(a.max())
    if math.isfinite(lo) and math.isfinite(hi):
        return lo, hi
    f = a[np.isfinite(a)]
    return (float(f.min()), float(f.max())) if f.size else (None, None)


class LeanCurve(pg.PlotCurveItem):
    """A PlotCurveItem that knows its bounds once per ``setData`` and its pixel padding once
    per view change. pyqtgraph's recomputes both whenever Qt asks for the bounding rect,
    through nanmin/nanmax and a pixel-vector mapping: over half the cost of a live frame of
    the twelve x curves (2.8 of 5.5 ms here). Plain solid lines are painted without the
    checks for fills, shadows and OpenGL, which these curves never use."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._bounds: tuple[tuple, tuple] | None = None
        self._pad: tuple[float, float] | None = None
        super().__init__(*args, **kwargs)

    def updateData(self, *args: object, **kargs: object) -> None:  # noqa: N802 - pyqtgraph's
        if len(args) == 2:
            kargs["x"], kargs["y"] = args
        elif len(args) == 1:
            kargs["y"] = args[0]
        y = kargs.get("y")
        y = np.zeros(0) if y is None else np.asarray(y)
        x = kargs.get("x")
        x = np.arange(len(y)) if x is None else np.asarray(x)
        kargs["x"], kargs["y"] = x, y
        # before pyqtgraph's update: it asks for the new bounding rect on the way
        self._bounds = (_finite_bounds(x), _finite_bounds(y)) if x.ndim == y.ndim == 1 else None
        super().updateData(**kargs)

    def dataBounds(  # noqa: N802 - pyqtgraph's name
        self,
        ax: int,
        frac: float = 1.0,
        orthoRange: object = None,  # noqa: N803
    ) -> tuple[float | None, float | None]:
        if self._bounds is not None and frac >= 1.0 and orthoRange is None:
            return self._bounds[ax]
        return super().dataBounds(ax, frac, orthoRange)

    def viewTransformChanged(self) -> None:  # noqa: N802 - pyqtgraph's name
        self._pad = None
        super().viewTransformChanged()

    def setPen(self, *args: object, **kwargs: object) -> None:  # noqa: N802 - pyqtgraph's
        self._pad = None  # a wider pen pads more
        super().setPen(*args, **kwargs)

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 - Qt's name
        if self._boundingRect is None:
            (x0, x1), (y0, y1) = self.dataBounds(0), self.dataBounds(1)
            if x0 is None or y0 is None:
                return QtCore.QRectF()
            if self._pad is None:
                px = py = 0.0
                if (pad := self.pixelPadding()) > 0:
                    vx, vy = self.pixelVectors()
                    px = 0.0 if vx is None else vx.length() * pad
                    py = 0.0 if vy is None else vy.length() * pad
                self._pad = (px, py)
            px, py = self._pad
            self._boundingRect = QtCore.QRectF(x0 - px, y0 - py, x1 - x0 + 2 * px, y1 - y0 + 2 * py)
        return self._boundingRect

    def paint(self, p: QtGui.QPainter, opt: object, widget: object) -> None:
        o = self.opts
        pen = o["pen"]
        if (
            self._exportOpts is not False
            or o["fillLevel"] is not None
            or o["shadowPen"] is not None
            or o["compositionMode"] is not None
            or o["stepMode"]
            or pen is None
        ):
            super().paint(p, opt, widget)
            return
        if self.xData is None or len(self.xData) == 0 or pen.style() == QtCore.Qt.NoPen:
            return
        p.setRenderHint(QtGui.QPainter.Antialiasing, o["antialias"])
        if self._is_square_2px(pen):
            # A 2 px line as four 1 px ones a device pixel apart: Qt draws 1 px lines with
            # its line rasterizer, wider ones through the stroker or as segments, 8 times
            # slower here (0.43 against 0.05 ms for the loss curve).
            thin = QtGui.QPen(pen)
            thin.setWidth(1)
            thin.setCosmetic(True)
            p.setPen(thin)
            path, world = self.getPath(), p.worldTransform()
            for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
                p.setWorldTransform(world * QtGui.QTransform.fromTranslate(dx, dy))
                p.drawPath(path)
            p.setWorldTransform(world)
            return
        p.setPen(pen)
        if self._shouldUseDrawLineSegments(pen):
            p.drawLines(*self._getLineSegments())
        else:
            p.drawPath(self.getPath())

    def _is_square_2px(self, pen: QtGui.QPen) -> bool:
        return (
            pen.widthF() == 2.0
            and pen.isCosmetic()
            and pen.style() == QtCore.Qt.SolidLine
            and pen.isSolid()
            and pen.color().alphaF() == 1.0
            and not self.opts["antialias"]
        )


class _KnownBounds:
    """An item that keeps the bounds its view box auto-ranges on (``_bounds``: the x and
    the y range), instead of computing them whenever asked."""

    _bounds: tuple[tuple, tuple]

    def dataBounds(  # noqa: N802 - pyqtgraph's name
        self,
        ax: int,
        frac: float = 1.0,
        orthoRange: object = None,  # noqa: N803
    ) -> tuple[float | None, float | None]:
        return self._bounds[ax]


class CurveSet(_KnownBounds, pg.GraphicsObject):
    """Several curves over one x axis (the components of x), drawn by a single item as
    polylines. Twelve curve items cost twelve data updates, bounds, geometry changes and
    paints per frame, in Python: 3.2 of a 15 ms live frame at n = 2000 here. Each curve has
    a pen and a name; ``legend_items`` stand for them in a legend."""

    def __init__(self) -> None:
        super().__init__()
        self.clipped = False  # values past the limit ``setData`` was given were left out
        self._note: pg.LabelItem | None = None
        self.pens: list[QtGui.QPen] = []
        self.legend_items: list[pg.PlotDataItem] = []
        self.xData = np.zeros(0)
        self.yData = np.zeros((0, 0))
        self._shapes: list[QtGui.QPolygonF | QtGui.QPainterPath] = []
        self._bounds: tuple[tuple, tuple] = ((None, None), (None, None))
        self._rect: QtCore.QRectF | None = None
        self._pad: tuple[float, float] | None = None

    @property
    def note(self) -> pg.LabelItem | None:
        """The note that says values past the limit are not drawn (None until one was)."""
        return self._note

    def set_curves(
        self, pens: list[QtGui.QPen], names: list[str], legend: object | None = None
    ) -> None:
        """One curve per pen, named in ``legend`` (a StripLegend); their data are cleared."""
        self.pens = list(pens)
        self.legend_items = [
            pg.PlotDataItem(pen=pen, name=n) for pen, n in zip(pens, names, strict=True)
        ]
        if legend is not None:
            for item, name in zip(self.legend_items, names, strict=True):
                legend.add(item, name)
        self._pad = None
        self.setData(np.zeros(0), np.zeros((0, len(self.pens))))

    def __len__(self) -> int:
        return len(self.pens)

    def data(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Curve ``j``'s points as drawn."""
        return self.xData, self.yData[:, j]

    def setData(  # noqa: N802 - pyqtgraph's
        self, x: np.ndarray, ys: np.ndarray, limit: float | None = None
    ) -> None:
        """``x`` (m,) and one column of ``ys`` (m, curves) per curve; values beyond
        ±``limit`` are not drawn (``component_limit``), and a note on the plot says so."""
        x = np.asarray(x, float)
        ys = np.asarray(ys, float).reshape(len(x), len(self.pens))
        clipped = False
        if limit is not None and ys.size:
            ys, clipped = within_limit(ys, limit)
        self._say_clipped(limit if clipped else None)
        self.xData, self.yData = x, ys
        self._bounds = (_finite_bounds(x), _finite_bounds(ys))
        if len(x) and np.isfinite(ys).all() and np.isfinite(x).all():
            self._shapes = []
            for j in range(ys.shape[1]):
                poly = pg.functions.create_qpolygonf(len(x))
                pts = pg.functions.ndarray_from_qpolygonf(poly)
                pts[:, 0], pts[:, 1] = x, ys[:, j]
                self._shapes.append(poly)
        else:  # a diverged run: paths leave out the points that are not finite
            self._shapes = [
                pg.functions.arrayToQPath(x, ys[:, j], connect="finite") for j in range(ys.shape[1])
            ]
        self._rect = None
        self.prepareGeometryChange()
        self.informViewBoundsChanged()
        self.update()

    def _say_clipped(self, limit: float | None) -> None:
        self.clipped = limit is not None
        self._note = say_clipped(self.getViewBox(), self._note, limit)

    def pixelPadding(self) -> float:  # noqa: N802 - pyqtgraph's name
        return max((pen.widthF() for pen in self.pens), default=0.0) * 0.7072

    def viewTransformChanged(self) -> None:  # noqa: N802 - pyqtgraph's name
        self._pad, self._rect = None, None
        self.prepareGeometryChange()

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 - Qt's name
        if self._rect is None:
            (x0, x1), (y0, y1) = self._bounds
            if x0 is None or y0 is None:
                return QtCore.QRectF()
            if self._pad is None:
                vx, vy = self.pixelVectors()
                pad = max(self.pixelPadding(), 1.0)
                self._pad = (
                    0.0 if vx is None else vx.length() * pad,
                    0.0 if vy is None else vy.length() * pad,
                )
            px, py = self._pad
            self._rect = QtCore.QRectF(x0 - px, y0 - py, x1 - x0 + 2 * px, y1 - y0 + 2 * py)
        return self._rect

    def paint(self, p: QtGui.QPainter, opt: object, widget: object) -> None:
        aa = self._exportOpts.get("antialias", True) if self._exportOpts is not False else False
        p.setRenderHint(QtGui.QPainter.Antialiasing, aa)
        for pen, shape in zip(self.pens, self._shapes, strict=True):
            p.setPen(pen)
            if isinstance(shape, QtGui.QPolygonF):
                p.drawPolyline(shape)
            else:
                p.drawPath(shape)


class LogCurve(LeanCurve):
    """A LeanCurve on a plot whose y axis may be logarithmic: it keeps the data as given
    (``getOriginalDataset``) and draws log10 of y while the axis is logarithmic (the plot
    tells it through ``setLogMode``). A PlotDataItem does the same through its dataset
    pipeline, ~0.5 ms per update here, four curves a frame."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._orig: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))
        self._log_y = False
        super().__init__(*args, **kwargs)

    def setData(self, *args: object, **kargs: object) -> None:  # noqa: N802 - pyqtgraph's
        if len(args) == 2:
            x, y = args
        elif len(args) == 1:
            x, y = None, args[0]
        else:
            x, y = kargs.pop("x", None), kargs.pop("y", None)
        y = np.zeros(0) if y is None else np.asarray(y, float)
        x = np.arange(len(y), dtype=float) if x is None else np.asarray(x, float)
        self._orig = (x, y)
        super().setData(x, self._mapped(y), **kargs)

    def _mapped(self, y: np.ndarray) -> np.ndarray:
        if not self._log_y:
            return y
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log10(y)
        out[~(y > 0)] = np.nan  # not drawn, as pyqtgraph leaves out what a log axis cannot show
        return out

    def setLogMode(self, xMode: bool, yMode: bool) -> None:  # noqa: N802, N803 - pyqtgraph's
        if bool(yMode) != self._log_y:
            self._log_y = bool(yMode)
            x, y = self._orig
            super().setData(x, self._mapped(y))

    def getOriginalDataset(self) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802 - pyqtgraph's
        return self._orig


class LeanDataItem(pg.PlotDataItem):
    """A PlotDataItem (log axes, legends, exports) drawing through a LeanCurve."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        old = self.curve
        old.sigClicked.disconnect(self.sigClicked)
        old.setParentItem(None)
        if (scene := old.scene()) is not None:
            scene.removeItem(old)
        self.curve = LeanCurve()
        self.curve.setParentItem(self)
        self.curve.sigClicked.connect(self.sigClicked)
        self.updateItems(styleUpdate=True)


def curve(
    plot: pg.PlotWidget, pen: QtGui.QPen, name: str | None, *, live: bool = False
) -> LeanDataItem | LogCurve:
    """A curve on ``plot``, named in its legend (None: not listed), outside its auto-range
    (the plot's RangeKeeper sets it). ``live``: a LogCurve, for the curves a live run
    updates at every frame; otherwise a data item (any of pyqtgraph's options)."""
    c = LogCurve(pen=pen, name=name) if live else LeanDataItem(pen=pen, name=name)
    plot.getPlotItem().addItem(c, ignoreBounds=True)  # which sets its log mode
    return c


class BoundsItem(_KnownBounds, pg.GraphicsObject):
    """The bounds a view box auto-ranges on, in view coordinates (log10 on a log axis), and
    nothing else: no data, no paint. A transparent two-point curve did the same but was
    painted, and its bounds recomputed, at every frame."""

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(QtWidgets.QGraphicsItem.ItemHasNoContents)
        self._bounds: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 1.0), (0.0, 1.0))

    def set_bounds(self, x: tuple[float, float], y: tuple[float, float]) -> None:
        self._bounds = (x, y)
        self.informViewBoundsChanged()

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 - Qt's name
        return QtCore.QRectF()

    def paint(self, p: QtGui.QPainter, opt: object, widget: object) -> None:
        pass
