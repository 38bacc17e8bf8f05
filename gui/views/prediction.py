"""Predicted beside measured: the loss the spectrum predicts for a run's settings, dashed on the
loss plot, the rate the run actually shows, and a divergence said as soon as it is clear.

For the quadratic losses (½‖r‖², ‖r‖², mean r², the energy) the loss above its minimum f*
is a quadratic form in the error, so when the error contracts by ``rate`` per iteration the
loss does by rate²: predicted loss_k = f* + (loss₀ − f*)·rate^(2k). The rate comes from the
analysis (``Analysis.rate_for``: gd, or SGD with momentum as the heavy ball); the measured
one from the last tenth of the history. Only for a run of the problem the analysis is of.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from solver.rates import QUADRATIC, loss_value, measured_rate

POINTS = 64
GROWING = 5  # iterations of growth above the start that make a divergence clear


class Prediction:
    """The dashed predicted curve on ``plot`` and the words for the caption."""

    def __init__(self, plot: pg.PlotWidget) -> None:
        self.curve = pg.PlotDataItem(pen=pg.mkPen("#6b7280", width=1.5, style=QtCore.Qt.DashLine))
        plot.getPlotItem().addItem(self.curve, ignoreBounds=True)
        self.rate: float | None = None
        self.f_star = 0.0
        self.tol = 0.0
        self.text = ""
        self.onset: int | None = None  # where a divergence began, once it is clear
        self.why = ""

    def set_run(self, rec: object, src: object, analysis: object) -> None:
        """Predict for run record ``rec`` (its RunSource ``src``) from ``analysis``; nothing
        for a stale run, a loss that is not quadratic, or settings the spectrum cannot rate."""
        self.rate, self.text, self.onset = None, "", None
        self.why = ""  # the analysis's reason for a divergence, with the numbers
        self.curve.setData([], [])
        if rec is None or src is None or rec.stale or analysis is None:
            return
        lip = None if isinstance(analysis, BaseException) else analysis.lipschitz
        if rec.session.optimizer == "gd" and lip and rec.session.lr * lip > 2:
            # short, for the caption; the Solver panel gives the whole reason
            self.why = f"lr × L = {rec.session.lr * lip:.3g} > 2"
        if isinstance(analysis, BaseException) or rec.session.loss not in QUADRATIC:
            return
        s = rec.session
        rate = analysis.rate_for(s.optimizer, s.lr, s.optimizer_args)
        if rate is None or not math.isfinite(rate):
            return
        p = rec.session.problem
        f_star = loss_value(s.loss, p.A, p.b, src.exact, src.exact) if hasattr(p, "A") else 0.0
        self.rate, self.f_star, self.tol = rate, f_star, s.tol

    def draw(self, history: object) -> None:
        n = len(history)
        self._watch_growth(history.loss, n)
        if self.rate is None or n == 0:
            self.text = self._warning()
            return
        loss = history.loss
        excess0 = float(loss[0]) - self.f_star
        if not math.isfinite(excess0) or excess0 <= 0:
            self.curve.setData([], [])
            return
        k = np.unique(np.linspace(0, n - 1, min(n, POINTS)).astype(np.int64)).astype(float)
        with np.errstate(over="ignore", under="ignore"):
            y = self.f_star + excess0 * self.rate ** (2 * k)
        keep = np.isfinite(y) & (y > 1e-300)
        self.curve.setData(k[keep], y[keep])
        self.text = self._warning() or self._words(loss, n)

    def _watch_growth(self, loss: np.ndarray, n: int) -> None:
        """Divergence is clear once the loss is above where it started and has grown for
        ``GROWING`` iterations in a row: said then, long before it overflows."""
        if self.onset is not None or n <= GROWING:
            return
        tail = loss[n - GROWING - 1 : n]
        if not (np.all(np.diff(tail) > 0) and tail[-1] > loss[0]):
            return
        above = np.flatnonzero(loss[:n] > loss[0])
        self.onset = int(above[0]) if above.size else n - 1

    def _warning(self) -> str:
        if self.onset is None:
            return ""
        why = f": {self.why}" if self.why else ""
        return f"<span style='color:#b91c1c'>diverging since iteration {self.onset:,}{why}</span>"

    def _words(self, loss: np.ndarray, n: int) -> str:
        pred = f"predicted error rate {self.rate:.4f}/it (dashed)"
        measured = measured_rate(loss[:n], self.f_star)
        if measured is None:
            return pred
        words = f"measured {measured:.4f}/it · {pred}"
        now, target = float(loss[n - 1]) - self.f_star, self.tol - self.f_star
        if 0 < target < now and measured < 1:
            left = math.log(target / now) / (2 * math.log(measured))
            words += f" · ~{left:,.0f} iterations to the tolerance at the measured rate"
        return words
