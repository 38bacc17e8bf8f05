"""The crosshair read-outs: a crosshair and a text in the plot's corner that follow the
pointer, and how they write the numbers of the run under it."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6 import QtCore

from .texts import fmt as _fmt

CROSS_PEN = pg.mkPen("#9ca3af", width=1, style=QtCore.Qt.DashLine)


def fmt(v: float) -> str:
    """A read-out's number: six digits, and inf or nan said as such."""
    return _fmt(v, 6, nonfinite=None)


def reading(src: object, value: float, what: str) -> str:
    """``value`` as a read-out shows it: 0 where it is below the run's rounding floor
    (``RunSource.below_floor``: an exact 0 read 9.71445e-17), else its 6 digits."""
    return "0" if src.below_floor(value, what) else fmt(value)


class Readout:
    """Crosshair and a text read-out in the plot's corner, rate-limited mouse tracking."""

    def __init__(
        self,
        plot: pg.PlotWidget,
        text_of: Callable[[float, float], str | None],
        vertical_only: bool = True,
    ) -> None:
        self.plot = plot
        self.text_of = text_of
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=CROSS_PEN)
        self.hline = (
            None if vertical_only else pg.InfiniteLine(angle=0, movable=False, pen=CROSS_PEN)
        )
        self.label = pg.TextItem(
            "", color="#111827", anchor=(0, 0), fill=pg.mkBrush(255, 255, 255, 215)
        )
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
