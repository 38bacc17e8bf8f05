"""The views of an svd run: each singular value's distance to the reference (log), the
orthogonality errors ‖UᵀU − I‖ and ‖VVᵀ − I‖, and heat maps of U and V.

The factorisation is unique only up to the order of the singular values and the signs of
the singular-vector pairs, so the heat maps sort the columns by d² (largest first) and flip
each pair (column k of U with column k of V, which leaves U diag(d²) Vᵀ unchanged) to agree
with the reference factorisation; a converged run then looks like the reference, column for
column.

Each is a tab of the plot panel (``gui.views.plots``), which draws them like its other plots.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pyqtgraph as pg

from solver.problems.kinds import kind_of

from .curves import curve
from .plotbase import PanelPlot, heat_plot, line_plot
from .plotexport import show_heat
from .plotkit import PALETTE, RangeKeeper, StripLegend, finite_range
from .source import spread_rows


def signed_like(
    u: np.ndarray, d: np.ndarray, v: np.ndarray, u_ref: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U, d², V) with the columns sorted by d² descending and each (U, V) column pair's sign
    chosen so that U's column points the way the reference's does."""
    order = np.argsort(-(d * d), kind="stable")
    u, s, v = u[:, order], (d * d)[order], v[:, order]
    signs = np.where(np.sum(u * u_ref, axis=0) < 0, -1.0, 1.0)
    return u * signs, s, v * signs


class SvdViews:
    """What the four svd tabs share: the reference factorisation and the errors of each x
    received (``panel.shared(SvdViews)``); their widgets."""

    def __init__(self, panel: object) -> None:
        make_plot = partial(line_plot, panel.guard)
        self.sv_plot = make_plot("|σₖ − σₖ*|, σ = d² sorted", "error", log=True)
        self.sv_legend = StripLegend(self.sv_plot)
        self.ortho_plot = make_plot("Orthogonality", "‖·‖ (Frobenius)", log=True)
        ortho_legend = StripLegend(self.ortho_plot)
        self.ortho_u = curve(self.ortho_plot, pg.mkPen(PALETTE[0], width=1.5), "‖UᵀU − I‖")
        self.ortho_v = curve(self.ortho_plot, pg.mkPen(PALETTE[1], width=1.5), "‖VVᵀ − I‖")
        ortho_legend.fit(2)
        for c in (self.ortho_u, self.ortho_v):
            c.setSymbol("o")
            c.setSymbolSize(4)
        self.heat_u_plot, self.heat_u, self.heat_u_bar = heat_plot(
            panel.guard, "U (signed as the reference)"
        )
        self.heat_v_plot, self.heat_v, self.heat_v_bar = heat_plot(
            panel.guard, "V (signed as the reference)"
        )
        self.frames = {
            "sv": RangeKeeper(self.sv_plot, True),
            "ortho": RangeKeeper(self.ortho_plot, True),
        }
        self.problem: object = None
        self._sv_curves: list[pg.PlotDataItem] = []
        self._d_cols: list[int] | None = None
        self._samples: list[tuple[int, float, float, np.ndarray]] = []
        self._ref: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def sv_curves(self) -> list[pg.PlotDataItem]:
        """The singular values' curves, one per σ, largest first."""
        return list(self._sv_curves)

    @property
    def active(self) -> bool:
        return self.problem is not None

    def set_source(self, src: object) -> None:
        """Show ``src``'s run (None, or not an svd run: the tabs empty)."""
        problem = None if src is None else src.problem
        for c in self._sv_curves:
            self.sv_plot.removeItem(c)
        self._sv_curves = []
        self.sv_legend.clear()
        for c in (self.ortho_u, self.ortho_v):
            c.setData([], [])
        self.heat_u.clear()
        self.heat_v.clear()
        self._samples = []
        for f in self.frames.values():
            f.reset()
        offered = problem is not None and "svd_values" in kind_of(problem).views
        self.problem = problem if offered else None
        if self.problem is None:
            self._ref = None
            return
        p = self.problem
        q = p.pq[1]
        d_idx = p.d_indices()
        pos = {int(t): j for j, t in enumerate(np.asarray(src.history.tracked, np.int64))}
        # The singular values come from the recorded trajectory when every d is recorded,
        # else from the x the window receives each frame.
        self._d_cols = [pos[i] for i in d_idx] if all(i in pos for i in d_idx) else None
        for k in range(q):
            color = PALETTE[k % len(PALETTE)]
            self._sv_curves.append(curve(self.sv_plot, pg.mkPen(color, width=1.5), f"σ{k + 1}"))
        self.sv_legend.fit(q)
        u_ref, d_ref, v_ref = p.split(p.exact())
        self._ref = (u_ref[0], d_ref[0] ** 2, v_ref[0])

    def sample(self, iteration: int, x: np.ndarray | None) -> None:
        """Keep the errors of the x received at ``iteration`` (once per iteration)."""
        if self.problem is None or x is None:
            return
        if self._samples and self._samples[-1][0] == iteration:
            return
        ortho_u, ortho_v = self.problem.orthogonality_errors(x)
        sv = self.problem.singular_values(x)[0]
        self._samples.append((iteration, ortho_u, ortho_v, sv))

    def _sv_rows(self, history: object) -> tuple[np.ndarray, np.ndarray]:
        """(iterations, |σ − σ*| per value) for the rows to draw."""
        ref = self.problem.reference_singular_values()
        if self._d_cols is not None:
            # every len // 2000-th row: 2,000 to 4,000 of them, as drawn before (``spread``'s
            # own rounding would halve a run of 2,001 rows)
            n = len(history.trajectory()[0])
            its, vals = spread_rows(history, 2000, step=n // 2000)
            d = vals[:, self._d_cols]
            sv = -np.sort(-(d * d), axis=1)
            return its.astype(float), np.abs(sv - ref)
        if not self._samples:
            return np.zeros(0), np.zeros((0, len(ref)))
        its = np.array([s[0] for s in self._samples], float)
        return its, np.abs(np.array([s[3] for s in self._samples]) - ref)

    def draw(
        self,
        name: str,
        history: object,
        latest_x: np.ndarray | None,
        tight: bool,
        final: bool,
        last: int,
    ) -> bool:
        """Draw curve tab ``name`` ("sv" or "ortho"); True if its range moved."""
        if self.problem is None:
            return False
        if name == "sv":
            its, err = self._sv_rows(history)
            for k, c in enumerate(self._sv_curves):
                c.setData(its, np.maximum(err[:, k], 1e-300) if len(its) else err[:, k])
            return self.frames["sv"].update(last, finite_range(err, positive=True), tight, final)
        if name == "ortho":
            its = np.array([s[0] for s in self._samples], float)
            ou = np.array([s[1] for s in self._samples])
            ov = np.array([s[2] for s in self._samples])
            self.ortho_u.setData(its, ou)
            self.ortho_v.setData(its, ov)
            return self.frames["ortho"].update(
                last, finite_range(ou, ov, positive=True), tight, final
            )
        return False

    def heat(self, name: str, latest_x: np.ndarray | None) -> np.ndarray | None:
        """The image for heat map ``name`` ("heat_u" or "heat_v") of the newest x."""
        if self.problem is None or latest_x is None or self._ref is None:
            return None
        u, d, v = self.problem.split(latest_x)
        u, _s, v = signed_like(u[0], d[0], v[0], self._ref[0])
        return u if name == "heat_u" else v


class _SvdPlot(PanelPlot):
    """One of the four svd tabs: a view of the shared ``SvdViews``."""

    def build(self) -> pg.PlotWidget:
        self.views = self.panel.shared(SvdViews)
        return getattr(self.views, self.widget_name)

    def draw(self, final: bool, may_move: bool) -> bool:
        p = self.panel
        last = len(p.src.history) - 1
        return self.views.draw(
            self.part, p.src.history, p.latest_x, p.tight, final or may_move, last
        )


class SvdValuesPlot(_SvdPlot):
    key, title, widget_name, part = "svd_values", "Singular values", "sv_plot", "sv"

    def receive(self, iteration: int, x: np.ndarray | None) -> None:
        self.views.sample(iteration, x)  # once for the four tabs


class SvdOrthogonalityPlot(_SvdPlot):
    key, title, widget_name, part = "svd_orthogonality", "Orthogonality", "ortho_plot", "ortho"

    def wants_x(self, in_front: bool) -> bool:
        # every frame's x feeds the orthogonality curve, whichever tab is in front
        return self.views.active


class _SvdHeatPlot(_SvdPlot):
    def draw(self, final: bool, may_move: bool) -> bool:
        img = self.views.heat(self.part, self.panel.latest_x)
        if img is not None:
            v = self.views
            show_heat(getattr(v, self.part), getattr(v, f"{self.part}_bar"), img)
        return False


class SvdHeatUPlot(_SvdHeatPlot):
    key, title, widget_name, part = "svd_heat_u", "U heat map", "heat_u_plot", "heat_u"


class SvdHeatVPlot(_SvdHeatPlot):
    key, title, widget_name, part = "svd_heat_v", "V heat map", "heat_v_plot", "heat_v"
