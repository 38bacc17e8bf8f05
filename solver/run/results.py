"""What a Run reports: its analysis, its point and errors, why its step is unstable.

A mixin of ``solver.run.engine.Run``, whose attributes it reads (``problem``, ``session``,
``history``, ``exact``, the current point): the engine keeps the loop, this the results.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from solver.insight.analysis import Analysis, analyze
from solver.problems.divergence import STEP_RULED, unstable_step


class RunResults:
    def _unstable(self) -> str | None:
        """Why the step is outside the optimizer's stability region
        (``solver.problems.divergence``)."""
        if self.optimizer_name not in STEP_RULED:
            return None  # and no analysis is computed for it
        args = self.session.optimizer_args
        return unstable_step(self.optimizer_name, self._lr, args, self.analysis().lipschitz)

    def analysis(self) -> Analysis:
        if self._analysis is None:
            self._analysis = analyze(self.problem, self.session.loss, self._lr)
        return self._analysis

    def x(self) -> np.ndarray:
        """A copy of the current unknowns, in the problem's shape (call from the run's thread)."""
        return self._xd.detach().to("cpu", torch.float64).numpy().copy()

    @property
    def final_loss(self) -> float:
        return float(self.history.loss[-1])

    def _errors(self, rows: np.ndarray) -> np.ndarray:
        """Each row's error: ‖x − x*‖, or what the problem's kind measures instead."""
        err = self._kind.errors(self.problem, rows, self.exact)
        if err is None:
            with np.errstate(all="ignore"):
                err = np.linalg.norm(rows - self.exact, axis=1)
        return err

    def error_norm(self) -> float:
        """‖x − x*‖ (or the kind's own error), scaled: a huge finite x (1e200) is not inf."""
        own = self._kind.errors(self.problem, self.x().reshape(1, -1), self.exact)
        if own is not None:
            return float(own[0])
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged x: inf, not a warning
            d = self.x().reshape(-1) - self.exact
            m = float(np.max(np.abs(d))) if d.size else 0.0
            if m == 0.0 or not math.isfinite(m):
                return m if not math.isnan(m) else math.inf
            return m * float(np.linalg.norm(d / m))

    def history_columns(self) -> tuple[list[str], object] | None:
        """Columns the problem's kind derives from the recorded unknowns (for ``--out``)."""
        return self._kind.derived_columns(self.problem, self.history.tracked)
