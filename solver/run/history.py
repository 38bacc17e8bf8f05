"""The append-only record of a run, readable from another thread while it grows.

Entry ``k`` describes ``x_k``, the point after ``k`` updates; entry 0 is the initial guess.

Memory, stated: per entry 8 bytes of loss (float64) and 4 + 4 bytes of residual norm and
error (float32), so 16 MB per million iterations, in arrays that double as they fill. A norm
past float32's range (a diverging run) widens its series to float64 rather than saturate: its
error is told as it is (1e150, then inf) to the end, not inf from 3.4e38 on. The x
trajectory keeps every tracked unknown (all of them up to ``MAX_TRACKED``, else an evenly
spaced selection or the caller's) for every iteration until it reaches ``TRAJECTORY_BUDGET``
bytes; from then on it keeps every 2nd, then every 4th ... row, so it never exceeds the budget.

Thread safety: one writer (the thread driving the run) appends; readers first read the length,
then the arrays. Arrays are only ever replaced by larger copies, never shrunk or rewritten, so
a reader always sees valid entries below the length it read.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from solver.core.atomic import replacing

MAX_TRACKED = 64
TRAJECTORY_BUDGET = 32 * 2**20
SERIES = ("loss", "residual_norm", "error")
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _grown(a: np.ndarray, used: int, rows: int) -> np.ndarray:
    """A ``rows``-long copy of ``a``'s first ``used`` rows, allocated once and filled: growing
    with np.concatenate(old, np.empty(tail)) also holds the tail as a temporary, which at a
    million entries pushed the peak past the 64 MB the history may take."""
    out = np.empty((rows, *a.shape[1:]), a.dtype)
    out[:used] = a[:used]
    return out


def _wide_enough(a: np.ndarray, used: int, values: np.ndarray) -> np.ndarray:
    """``a``, or a float64 copy of it once ``values`` hold a finite number past float32's
    range (readers holding the old array still see its first ``used`` entries)."""
    if a.dtype == np.float64:
        return a
    v = np.asarray(values)
    with np.errstate(invalid="ignore"):
        if not (np.isfinite(v) & (np.abs(v) > FLOAT32_MAX)).any():
            return a
    out = np.empty(len(a))
    out[:used] = a[:used]
    return out


def _as_float32(values: np.ndarray, into: np.ndarray) -> np.ndarray:
    """``values`` rounded as a float32 series holds them, those past its range kept: in a
    widened series too, so each entry is the same however the run's blocks fell."""
    if into.dtype == np.float32:
        return values
    v = np.asarray(values, np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # those past it are not taken
        return np.where(np.abs(v) > FLOAT32_MAX, v, v.astype(np.float32))


def default_tracked(n_unknowns: int, limit: int = MAX_TRACKED) -> np.ndarray:
    """All unknowns when there are few, else ``limit`` evenly spaced ones (first and last kept)."""
    if n_unknowns <= limit:
        return np.arange(n_unknowns)
    return np.unique(np.linspace(0, n_unknowns - 1, limit).round().astype(np.int64))


class History:
    def __init__(
        self,
        names: Sequence[str],
        tracked: Sequence[int] | None = None,
        trajectory_budget: int = TRAJECTORY_BUDGET,
    ) -> None:
        self.names = list(names)
        n = len(self.names)
        self.tracked = default_tracked(n) if tracked is None else np.asarray(tracked, np.int64)
        if self.tracked.size and (self.tracked.min() < 0 or self.tracked.max() >= n):
            raise ValueError(f"tracked indices must lie in [0, {n})")
        self._n = 0
        self._cap = 1024
        self._loss = np.empty(self._cap)
        self._rnorm = np.empty(self._cap, np.float32)
        self._err = np.empty(self._cap, np.float32)
        k = max(1, self.tracked.size)
        self._traj_max_rows = max(64, trajectory_budget // (8 * k + 8))
        # (iterations, values, rows used) replaced as one tuple so readers see a consistent set.
        self._traj = (np.empty(256, np.int64), np.empty((256, self.tracked.size)), 0)
        self._stride = 1

    # -- writing (one thread) ---------------------------------------------------------------
    def append(
        self,
        loss: np.ndarray,
        residual_norm: np.ndarray,
        error: np.ndarray,
        x_tracked: np.ndarray,
    ) -> None:
        """Append ``c`` entries; ``x_tracked`` is ``(c, len(tracked))``."""
        c = len(loss)
        if c == 0:
            return
        n = self._n
        if n + c > self._cap:
            cap = self._cap
            while cap < n + c:
                cap *= 2
            self._loss = _grown(self._loss, n, cap)
            self._rnorm = _grown(self._rnorm, n, cap)
            self._err = _grown(self._err, n, cap)
            self._cap = cap
        self._loss[n : n + c] = loss
        self._rnorm = _wide_enough(self._rnorm, n, residual_norm)
        self._err = _wide_enough(self._err, n, error)
        self._rnorm[n : n + c] = _as_float32(residual_norm, self._rnorm)
        self._err[n : n + c] = _as_float32(error, self._err)
        self._append_trajectory(np.arange(n, n + c), x_tracked)
        self._n = n + c  # publish last

    def _append_trajectory(self, iters: np.ndarray, rows: np.ndarray) -> None:
        keep = iters % self._stride == 0
        iters, rows = iters[keep], rows[keep]
        its, vals, used = self._traj
        while used + len(iters) > self._traj_max_rows:
            # Over budget: keep every other row from now on, and thin what is stored alike.
            self._stride *= 2
            old = its[:used] % self._stride == 0
            its, vals = its[:used][old].copy(), vals[:used][old].copy()
            used = len(its)
            keep = iters % self._stride == 0
            iters, rows = iters[keep], rows[keep]
        if used + len(iters) > len(its):
            cap = max(2 * len(its), used + len(iters))
            if cap > self._traj_max_rows // 4:
                # Past a quarter of the budget, grow straight to it: while copying, old and
                # new blocks coexist, and from a quarter that is 1.25x the budget at most,
                # where doubling from a half up to it would hold 1.5x.
                cap = self._traj_max_rows
            its, vals = _grown(its, used, cap), _grown(vals, used, cap)
        its[used : used + len(iters)] = iters
        vals[used : used + len(iters)] = rows
        self._traj = (its, vals, used + len(iters))

    # -- reading (any thread) ---------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    @property
    def loss(self) -> np.ndarray:
        n = self._n
        return self._loss[:n]

    @property
    def residual_norm(self) -> np.ndarray:
        n = self._n
        return self._rnorm[:n]

    @property
    def error(self) -> np.ndarray:
        n = self._n
        return self._err[:n]

    def series(self, name: str) -> np.ndarray:
        if name not in SERIES:
            raise KeyError(name)
        return getattr(self, name)

    def trajectory(self) -> tuple[np.ndarray, np.ndarray]:
        """(iterations, values): rows of the tracked unknowns, thinned as the budget requires."""
        its, vals, used = self._traj
        return its[:used], vals[:used]

    @property
    def trajectory_stride(self) -> int:
        return self._stride

    def envelope(
        self, name: str, start: int = 0, stop: int | None = None, max_points: int = 2000
    ) -> tuple[np.ndarray, np.ndarray]:
        """A series over [start, stop) reduced to about ``max_points`` points for drawing.

        Each bucket contributes its minimum and maximum, so spikes (a divergence, an
        oscillation) stay visible however far the view is zoomed out.
        """
        y = self.series(name)
        n = len(y)
        stop = n if stop is None else max(0, min(stop, n))
        start = max(0, min(start, stop))
        y = y[start:stop]
        if len(y) <= max_points:
            return np.arange(start, stop, dtype=np.float64), y.astype(np.float64)
        buckets = max(1, max_points // 2)
        size = -(-len(y) // buckets)
        edges = np.arange(0, len(y), size)
        lo = np.minimum.reduceat(y, edges)
        hi = np.maximum.reduceat(y, edges)
        xs = np.repeat(start + edges, 2).astype(np.float64)
        xs[1::2] += size / 2
        ys = np.empty(2 * len(edges))
        ys[0::2], ys[1::2] = lo, hi
        return xs, ys

    def memory_bytes(self) -> int:
        its, vals, _ = self._traj
        arrays = (self._loss, self._rnorm, self._err, its, vals)
        return int(sum(a.nbytes for a in arrays))

    def to_csv(
        self,
        path: str | Path,
        derived: tuple[list[str], Callable[[np.ndarray], np.ndarray]] | None = None,
    ) -> None:
        """One row per entry; x columns are filled where the trajectory kept that row.
        ``derived``: (names, function of the tracked rows) for extra columns after them."""
        n = self._n
        its, vals, used = self._traj
        row_of = {int(i): r for r, i in enumerate(its[:used])}
        names = [self.names[i] for i in self.tracked]
        extra_names: list[str] = []
        if derived is not None:
            extra_names = derived[0]
            vals = np.concatenate([vals[:used], derived[1](vals[:used])], axis=1)
        width = len(names) + len(extra_names)
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["iteration", "loss", "residual_norm", "error", *names, *extra_names])
            for k in range(n):
                r = row_of.get(k)
                xs = [repr(float(v)) for v in vals[r]] if r is not None else [""] * width
                w.writerow(
                    [
                        k,
                        repr(float(self._loss[k])),
                        repr(float(self._rnorm[k])),
                        repr(float(self._err[k])),
                        *xs,
                    ]
                )


def save_csv(
    history: History,
    path: str | Path,
    derived: tuple[list[str], Callable[[np.ndarray], np.ndarray]] | None = None,
) -> None:
    """``history.to_csv`` written beside ``path`` and renamed into place
    (``solver.core.atomic``): a file at ``path`` is always complete (a full disk or an interrupt
    leaves the previous one, or none)."""
    with replacing(path) as tmp:
        history.to_csv(tmp, derived)
