"""Predicted beside measured: the loss the spectrum predicts for a run's settings, dashed on the
loss plot, and the caption's sentence on why the run behaves as it does (``solver.insight.explain``:
a divergence as soon as it is clear, the measured rate against the predicted one, a stall,
rounding, the minimum-norm solution...), with the iterations left at the measured rate.

For the quadratic losses (½‖r‖², ‖r‖², mean r², the energy) the loss above its minimum f*
is a quadratic form in the error, so when the error contracts by ``rate`` per iteration the
loss does by rate²: predicted loss_k = f* + (loss₀ − f*)·rate^(2k). The rate comes from the
analysis (``Analysis.rate_for``: gd, or SGD with momentum as the heavy ball); the measured
one from the last tenth of the history. Only for a run of the problem the analysis is of.
"""

from __future__ import annotations

import html
import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from solver.insight.explain import divergence_onset, explain, loss_levels, pair_texts
from solver.insight.rates import QUADRATIC, measured_rate

from .curves import curve

POINTS = 64
WORDS_EVERY = 0.25  # seconds between two rewrites of the sentence while a run goes


class Prediction:
    """The dashed predicted curve on ``plot`` and the words for the caption."""

    def __init__(self, plot: pg.PlotWidget) -> None:
        # 1 px: a wider dashed line goes through Qt's stroker, the costliest curve of a frame
        pen = pg.mkPen("#6b7280", width=1, style=QtCore.Qt.DashLine)
        self.curve = curve(plot, pen, None, live=True)
        self.rate: float | None = None
        self.f_star, self.floor = 0.0, None  # the loss at x*, and its rounding above it
        self.tol = 0.0
        self.text = ""
        self.onset: int | None = None  # where a divergence began, once it is clear
        self.session = self.analysis = None
        self._said_at = 0.0

    def set_run(self, rec: object, src: object, analysis: object) -> None:
        """Predict for run record ``rec`` (its RunSource ``src``) from ``analysis``; nothing
        for a stale run, a loss that is not quadratic, or settings the spectrum cannot rate."""
        self.rate, self.text, self.onset = None, "", None
        self.session = None if rec is None or src is None or rec.stale else rec.session
        self.analysis = None if isinstance(analysis, BaseException) else analysis
        self._said_at = 0.0
        self.curve.setData([], [])
        if self.session is None:
            return
        s = self.session
        self.f_star, self.floor = loss_levels(s, src.exact)
        self.tol = s.tol
        if self.analysis is None or s.loss not in QUADRATIC:
            return
        rate = self.analysis.rate_for(s.optimizer, s.lr, s.optimizer_args)
        if rate is not None and math.isfinite(rate):
            self.rate = rate

    def draw(self, history: object, final: bool = True) -> None:
        """The predicted curve for ``history``, and the sentence (at most every
        ``WORDS_EVERY`` seconds unless ``final``: the run paused or ended)."""
        n = len(history)
        if self.onset is None and n:
            self.onset = divergence_onset(history.loss)
        if self.rate is not None and n:
            loss = history.loss
            excess0 = float(loss[0]) - self.f_star
            if math.isfinite(excess0) and excess0 > 0:
                k = np.unique(np.linspace(0, n - 1, min(n, POINTS)).astype(np.int64))
                k = k.astype(float)
                with np.errstate(over="ignore", under="ignore"):
                    y = self.f_star + excess0 * self.rate ** (2 * k)
                keep = np.isfinite(y) & (y > 1e-300)
                self.curve.setData(k[keep], y[keep])
            else:
                self.curve.setData([], [])
        now = time.perf_counter()
        if final or now - self._said_at >= WORDS_EVERY:
            self._said_at = now
            self.text = self._words(history, n)

    def _words(self, history: object, n: int) -> str:
        if self.session is None or n < 2:
            return ""
        loss = history.loss
        said = explain(self.session, self.analysis, loss, history.error, self.f_star, self.floor)
        parts = []
        if said is not None:
            colour = "#b91c1c" if said.alarming else "#374151"
            # rich text: the explanation's "<" ("rank 3 < 4 unknowns") is text, not a tag
            parts.append(f"<span style='color:{colour}'>{html.escape(said.text)}</span>")
            if said.alarming:
                return parts[0]
        measured = measured_rate(loss[:n], self.f_star, self.session.loss in QUADRATIC)
        if self.rate is not None:
            # with the digits the sentence gave it beside the measured rate
            shown = pair_texts(measured if measured is not None else self.rate, self.rate)[1]
            parts.append(f"predicted error rate {shown}/it (dashed)")
        now, target = float(loss[n - 1]) - self.f_star, self.tol - self.f_star
        if measured is not None and 0 < target < now and measured < 1:
            left = math.log(target / now) / (2 * math.log(measured))
            parts.append(f"~{left:,.0f} iterations to the tolerance at the measured rate")
        return " · ".join(parts)
