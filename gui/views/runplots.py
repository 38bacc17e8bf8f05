"""The panes every run has: its loss (with the predicted loss), its error and residual, and
the components of x, each against the iteration. Each frame pulls only what the plot can
show: ``History.envelope`` (min/max per bucket) for the visible iterations, and a strided
slice of the x trajectory."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from solver.problems.kinds import kind_of

from .clipping import component_limit
from .curves import CurveSet, curve
from .plotbase import BOTTOM, TOP, PanelPlot
from .plotkit import (
    ERROR_PEN,
    LOSS_PEN,
    PALETTE,
    RESIDUAL_PEN,
    RangeKeeper,
    StripLegend,
    finite_range,
    shown_rows,
)
from .prediction import Prediction
from .readouts import fmt, reading
from .source import spread


class LossPlot(PanelPlot):
    key, title, place, crosshair = "loss", "Loss", TOP, "vertical"

    def build(self) -> pg.PlotWidget:
        w = self.line("Loss", "loss", log=True)
        self.curve = curve(w, LOSS_PEN, "loss", live=True)
        self.prediction = Prediction(w)
        self.range = RangeKeeper(w, True)
        return w

    def set_source(self, src: object) -> None:
        self.curve.setData([], [])
        self.range.reset()
        rec = self.panel.record
        if src is not None and rec is not None:
            self.curve.setPen(pg.mkPen(rec.colour, width=2))

    def draw(self, final: bool, may_move: bool) -> bool:
        h = self.panel.src.history
        n = len(h)
        s, e, pts = shown_rows(self.widget, n)
        x, y = h.envelope("loss", s, e, pts)
        self.curve.setData(x, y)
        self.prediction.draw(h, final)
        return self.range.update(
            n - 1, finite_range(y, positive=True), self.panel.tight, final or may_move
        )

    def reads(self, x: float, y: float) -> str | None:
        k, src = self.panel.iteration_at(x), self.panel.src
        if k is None:
            return None
        return f"iteration {k:,}   loss {reading(src, float(src.history.loss[k]), 'loss')}"


class ErrorPlot(PanelPlot):
    key, title, place, crosshair = "error", "Error and residual", TOP, "vertical"

    def build(self) -> pg.PlotWidget:
        w = self.line("Error and residual", "norm", log=True)
        legend = StripLegend(w)
        self.err_curve = curve(w, ERROR_PEN, "‖x − x*‖ error", live=True)
        self.res_curve = curve(w, RESIDUAL_PEN, "‖r‖ residual", live=True)
        legend.fit(2)
        self.range = RangeKeeper(w, True)
        return w

    def set_source(self, src: object) -> None:
        for c in (self.err_curve, self.res_curve):
            c.setData([], [])
        self.range.reset()
        if src is None:
            return
        # an svd run's "error" is its singular values' distance to the reference
        svd = "svd_values" in kind_of(src.problem).views
        self.widget.getPlotItem().legend.getLabel(self.err_curve).setText(
            "‖σ − σ*‖ singular values" if svd else "‖x − x*‖ error"
        )

    def draw(self, final: bool, may_move: bool) -> bool:
        h = self.panel.src.history
        n = len(h)
        s, e, pts = shown_rows(self.widget, n)
        x, ye = h.envelope("error", s, e, pts)
        self.err_curve.setData(x, ye)
        x, yr = h.envelope("residual_norm", s, e, pts)
        self.res_curve.setData(x, yr)
        y = finite_range(ye, yr, positive=True)
        return self.range.update(n - 1, y, self.panel.tight, final or may_move)

    def reads(self, x: float, y: float) -> str | None:
        k, src = self.panel.iteration_at(x), self.panel.src
        if k is None:
            return None
        h = src.history
        return (
            f"iteration {k:,}   error {reading(src, float(h.error[k]), 'error')}   "
            f"residual {reading(src, float(h.residual_norm[k]), 'residual')}"
        )


class XPlot(PanelPlot):
    key, title, place, crosshair = "x", "Components of x", BOTTOM, "vertical"

    def build(self) -> pg.PlotWidget:
        w = self.line("Components of x", "value")
        self.legend = StripLegend(w)
        self.curves = CurveSet()  # one curve per plotted unknown
        w.getPlotItem().addItem(self.curves, ignoreBounds=True)
        self.range = RangeKeeper(w, False)
        return w

    def set_source(self, src: object) -> None:
        self.curves.set_curves([], [])
        self.legend.clear()
        self.range.reset()
        if src is None:
            return
        tracked = self.panel.x_columns
        k = len(tracked)
        # 1 px: Qt strokes wider lines through its path stroker, 3x slower for 12 curves
        pens = [
            pg.mkPen(PALETTE[j] if k <= len(PALETTE) else pg.intColor(j, hues=k, maxValue=210))
            for j in range(k)
        ]
        self.curves.set_curves(pens, [src.names[i] for i in tracked], self.legend)
        self.legend.fit(k)

    def draw(self, final: bool, may_move: bool) -> bool:
        p = self.panel
        h = p.src.history
        n = len(h)
        its, vals = h.trajectory()
        if not len(its):
            return False
        s, e, pts = shown_rows(self.widget, n)
        i0, i1 = np.searchsorted(its, [s, e])
        i1 = max(i1, i0 + 1) if i0 < len(its) else i1
        sel = spread(i0, i1, pts // 2)
        t = its[sel].astype(float)
        v = vals[sel][:, p.x_cols]
        limit = component_limit(vals[0][p.x_cols], p.src.exact[p.x_columns])
        self.curves.setData(t, v, limit)
        y = finite_range(self.curves.yData)  # as drawn
        return self.range.update(n - 1, y, p.tight, final or may_move)

    def reads(self, x: float, y: float) -> str | None:
        p = self.panel
        k = p.iteration_at(x)
        if k is None:
            return None
        its, vals = p.src.history.trajectory()
        if not len(its):
            return None
        r = int(min(np.searchsorted(its, k), len(its) - 1))
        names = [p.src.names[i] for i in p.x_columns]
        row = vals[r][p.x_cols]
        parts = [f"{nm} = {fmt(float(v))}" for nm, v in zip(names[:6], row[:6], strict=False)]
        more = "  …" if len(names) > 6 else ""
        return f"iteration {int(its[r]):,}\n" + "\n".join(parts) + more
