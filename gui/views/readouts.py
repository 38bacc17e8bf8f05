"""What the crosshair read-outs say: the numbers of the run under the pointer."""

from __future__ import annotations

import math

import numpy as np

from .texts import fmt as _fmt


def fmt(v: float) -> str:
    """A read-out's number: six digits, and inf or nan said as such."""
    return _fmt(v, 6, nonfinite=None)


def reading(src: object, value: float, what: str) -> str:
    """``value`` as a read-out shows it: 0 where it is below the run's rounding floor
    (``RunSource.below_floor``: an exact 0 read 9.71445e-17), else its 6 digits."""
    return "0" if src.below_floor(value, what) else fmt(value)


class ReadoutTexts:
    """Read-out texts for ``PlotPanel`` (uses its ``src``, ``_x_columns``, ``_x_cols``,
    ``_latest_x``, ``inspected_k`` and ``inspected``); each returns None where there is
    nothing to read."""

    @property
    def shown_x(self) -> np.ndarray | None:
        """The x the views show: the inspected iterate where it is kept whole, else the
        newest one the solver sent."""
        k, h = self.inspected_k, None if self.src is None else self.src.history
        if k is not None and hasattr(h, "iterate"):
            x = h.iterate(k)
            if x is not None:
                return np.asarray(x, float)
        return self._latest_x

    def _iteration_at(self, x: float) -> int | None:
        if self.src is None or len(self.src.history) == 0 or not math.isfinite(x):
            return None
        n = len(self.src.history)
        k = int(min(max(round(x), 0), n - 1))
        self.inspected.emit(k)
        return k

    def _loss_text(self, x: float, _y: float) -> str | None:
        k = self._iteration_at(x)
        if k is None:
            return None
        return (
            f"iteration {k:,}   loss {reading(self.src, float(self.src.history.loss[k]), 'loss')}"
        )

    def _err_text(self, x: float, _y: float) -> str | None:
        k = self._iteration_at(x)
        if k is None:
            return None
        h = self.src.history
        return (
            f"iteration {k:,}   error {reading(self.src, float(h.error[k]), 'error')}   "
            f"residual {reading(self.src, float(h.residual_norm[k]), 'residual')}"
        )

    def _x_text(self, x: float, _y: float) -> str | None:
        k = self._iteration_at(x)
        if k is None:
            return None
        its, vals = self.src.history.trajectory()
        if not len(its):
            return None
        r = int(min(np.searchsorted(its, k), len(its) - 1))
        names = [self.src.names[i] for i in self._x_columns]
        row = vals[r][self._x_cols]
        parts = [f"{nm} = {fmt(float(v))}" for nm, v in zip(names[:6], row[:6], strict=False)]
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
        return (
            f"{self.src.names[idx]} = {fmt(float(vals[-1][self._x_cols[j]]))}   "
            f"exact {fmt(float(self.src.exact[idx]))}"
        )

    def heat_text(self, x: float, y: float, residual: bool) -> str | None:
        """What the crosshair reads at (``x``, ``y``) of the X (or residual) heat map, None
        off the matrix or with no matrix run shown."""
        shown = self.shown_x
        if self.src is None or not self.src.matrix_unknowns or shown is None:
            return None
        n = self.src.unknown_shape[0]
        c, r = math.floor(x - 0.5), math.floor(y - 0.5)  # pixel (r, c) is centred on (c+1, r+1)
        if not (0 <= r < n and 0 <= c < n):
            return None
        if residual:
            v = self.src.residual(shown[None, :])[0].reshape(n, n)[r, c]
            return f"residual[{r + 1},{c + 1}] = {reading(self.src, float(v), 'entry')}"
        v = shown.reshape(n, n)[r, c]
        ex = self.src.exact.reshape(n, n)[r, c]
        return f"X[{r + 1},{c + 1}] = {fmt(float(v))}   exact {fmt(float(ex))}"
