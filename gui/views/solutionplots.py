"""Views of the solution itself: x beside the exact solution as bars, and for matrix-inverse
problems heat maps of X and of its residual (pixel (i, j) centred on (j + 1, i + 1): rows and
columns count from 1, like the tables and the read-outs)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from .clipping import clip_heights, say_clipped
from .plotbase import PanelPlot, heat_plot
from .plotexport import heat_levels, show_heat
from .plotkit import EXACT_BRUSH, X_BRUSH, RangeKeeper, finite_range
from .readouts import fmt, reading


class BarsPlot(PanelPlot):
    key, title, before_run, crosshair = "bars", "x vs exact", True, "vertical"

    def build(self) -> pg.PlotWidget:
        w = self.line("x (blue) vs exact (grey)", "value", bottom="component")
        w.setMouseEnabled(x=True, y=True)
        self.exact_bars = pg.BarGraphItem(
            x=[], height=[], width=0.7, brush=EXACT_BRUSH, pen=pg.mkPen(None)
        )
        self.x_bars = pg.BarGraphItem(x=[], height=[], width=0.4, brush=X_BRUSH, pen=pg.mkPen(None))
        w.addItem(self.exact_bars, ignoreBounds=True)
        w.addItem(self.x_bars, ignoreBounds=True)
        self.note = None  # a diverged x's bars are cut at the edge, and it says so
        self.range = RangeKeeper(w, False)
        return w

    def set_source(self, src: object) -> None:
        self.exact_bars.setOpts(x=[], height=[])
        self.x_bars.setOpts(x=[], height=[])
        self.range.reset()
        if src is None:
            return
        tracked = self.panel.x_columns
        k = len(tracked)
        xs = np.arange(1, k + 1, dtype=float)
        self.exact_bars.setOpts(x=xs, height=src.exact[tracked], width=0.7)
        ax = self.widget.getPlotItem().getAxis("bottom")
        # as many names as fit side by side under the bars (at most 8), every few bars
        longest = max((src.names[t] for t in tracked), key=len)
        label = self.widget.fontMetrics().horizontalAdvance(longest) + 12
        every = max(1, -(-k // max(1, min(8, (self.widget.width() - 60) // label))))
        ax.setTicks(
            [[(float(i + 1), src.names[t]) for i, t in enumerate(tracked) if i % every == 0]]
        )

    def draw(self, final: bool, may_move: bool) -> bool:
        p = self.panel
        its, vals = p.src.history.trajectory()
        if not len(its):
            return False
        at = p.inspected_k  # the inspected iteration's x (the newest when None)
        r = -1 if at is None else int(min(np.searchsorted(its, at), len(its) - 1))
        ex = p.src.exact[p.x_columns]
        row, cut = clip_heights(vals[r][p.x_cols], vals[0][p.x_cols], ex)
        self.note = say_clipped(self.widget.getViewBox(), self.note, cut)
        k = len(row)
        self.x_bars.setOpts(x=np.arange(1, k + 1, dtype=float), height=row, width=0.4)
        return self.range.update(k + 0.5, finite_range(row, ex, [0.0]), True, final or may_move)

    def reads(self, x: float, y: float) -> str | None:
        p = self.panel
        if p.src is None:
            return None
        j = round(x) - 1
        its, vals = p.src.history.trajectory()
        if not 0 <= j < len(p.x_columns) or not len(its):
            return None
        idx = int(p.x_columns[j])
        return (
            f"{p.src.names[idx]} = {fmt(float(vals[-1][p.x_cols[j]]))}   "
            f"exact {fmt(float(p.src.exact[idx]))}"
        )


class _HeatPlot(PanelPlot):
    """A heat map of the shown x (the inspected iterate where it is kept) as a matrix."""

    crosshair = "cross"
    heading: str

    def build(self) -> pg.PlotWidget:
        w, self.image, self.bar = heat_plot(self.panel.guard, self.heading)
        return w

    def set_source(self, src: object) -> None:
        self.image.clear()

    def wants_x(self, in_front: bool) -> bool:
        return in_front and self.panel.src is not None

    def values(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def draw(self, final: bool, may_move: bool) -> bool:
        src, x = self.panel.src, self.panel.shown_x
        if src.matrix_unknowns and x is not None:
            show_heat(self.image, self.bar, self.values(x).reshape(src.unknown_shape))
        return False

    def reads(self, x: float, y: float) -> str | None:
        src, shown = self.panel.src, self.panel.shown_x
        if src is None or not src.matrix_unknowns or shown is None:
            return None
        n = src.unknown_shape[0]
        c, r = math.floor(x - 0.5), math.floor(y - 0.5)  # pixel (r, c) is centred on (c+1, r+1)
        if not (0 <= r < n and 0 <= c < n):
            return None
        return self.says(r, c, float(self.values(shown).reshape(src.unknown_shape)[r, c]))

    def says(self, r: int, c: int, value: float) -> str:
        """The read-out of cell (``r``, ``c``), 0-based, whose value is ``value``."""
        raise NotImplementedError


class HeatXPlot(_HeatPlot):
    key, title, heading = "heat_x", "X heat map", "X (current)"

    def set_source(self, src: object) -> None:
        super().set_source(src)
        if src is not None and src.matrix_unknowns:
            heat_levels(self.bar, src.exact.reshape(src.unknown_shape))

    def values(self, x: np.ndarray) -> np.ndarray:
        return x

    def says(self, r: int, c: int, value: float) -> str:
        src = self.panel.src
        ex = float(src.exact.reshape(src.unknown_shape)[r, c])
        return f"X[{r + 1},{c + 1}] = {fmt(value)}   exact {fmt(ex)}"


class HeatResidualPlot(_HeatPlot):
    key, title, heading = "heat_residual", "Residual heat map", "Residual of X"

    def values(self, x: np.ndarray) -> np.ndarray:
        return self.panel.src.residual(x[None, :])[0]

    def says(self, r: int, c: int, value: float) -> str:
        return f"residual[{r + 1},{c + 1}] = {reading(self.panel.src, value, 'entry')}"
