"""Singular values of a matrix: all of them by one SVD, or the extreme ones estimated.

The estimates (power iteration for the largest, inverse iteration through an LU for the
smallest) take ``cancel`` and check it before every pass; one LAPACK call (the SVD, the LU)
cannot be interrupted. scipy is imported only by the inverse iteration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .errors import check_cancel

if TYPE_CHECKING:
    import threading

# Up to this many columns/rows the spectrum comes from a full SVD (about a second at 1200);
# beyond it the extreme singular values are estimated iteratively.
FULL_SVD_LIMIT = 1200


def readonly(arr: np.ndarray) -> np.ndarray:
    """``arr``, marked read-only: derived values are shared with whoever asks for them."""
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True)
class Spectrum:
    """Singular values of the problem's linear operator K (those that were computed)."""

    sigma_max: float
    sigma_min: float  # smallest singular value overall (0 when rank-deficient)
    sigma_min_nonzero: float | None
    rank: int | None
    values: np.ndarray | None  # all singular values, descending, when affordable
    exact: bool  # True when from a full SVD, False when estimated

    @property
    def cond(self) -> float | None:
        if self.sigma_min <= 0 or not np.isfinite(self.sigma_min):
            return None
        return self.sigma_max / self.sigma_min


def _rank_tol(s: np.ndarray, shape: tuple[int, int]) -> float:
    return float(s[0]) * max(shape) * np.finfo(np.float64).eps if s.size else 0.0


def power_sqrt(
    apply: Callable[[np.ndarray], np.ndarray],
    v: np.ndarray,
    iters: int,
    rtol: float,
    cancel: threading.Event | None = None,
) -> float:
    """sqrt of the largest eigenvalue of the positive semi-definite map ``apply`` (KᵀK for
    an operator K: its largest singular value), by power iteration from ``v``."""
    est = 0.0
    for _ in range(iters):
        check_cancel(cancel)
        w = apply(v)
        nrm = np.linalg.norm(w)
        if nrm == 0 or not np.isfinite(nrm):
            break
        new = float(np.sqrt(nrm / np.linalg.norm(v)))
        v = w / nrm
        if abs(new - est) <= rtol * new:
            return new
        est = new
    return est


def _start_vectors(n: int) -> tuple[np.ndarray, np.ndarray]:
    # Both estimates start from the same two fixed vectors whichever runs first, so a
    # cancelled and repeated analysis gives the same numbers as an uninterrupted one.
    rng = np.random.default_rng(0)
    return rng.standard_normal(n), rng.standard_normal(n)


def estimate_sigma_max(a: np.ndarray, cancel: threading.Event | None) -> float:
    """Power iteration on AᵀA; stops within rtol 1e-10 or after 200 passes."""
    v = _start_vectors(a.shape[1])[0]
    return float(power_sqrt(lambda v: a.T @ (a @ v), v, 200, 1e-10, cancel))


def estimate_sigma_min(a: np.ndarray, cancel: threading.Event | None) -> float:
    """Inverse iteration through an LU for a square ``a``; 0 when it is singular."""
    import scipy.linalg

    check_cancel(cancel)
    try:
        lu = scipy.linalg.lu_factor(a, check_finite=False)
        inv_norm = power_sqrt(
            lambda v: scipy.linalg.lu_solve(lu, scipy.linalg.lu_solve(lu, v, trans=1)),
            _start_vectors(a.shape[1])[1],
            100,
            1e-8,
            cancel,
        )
    except (np.linalg.LinAlgError, ValueError):
        return 0.0
    return 1.0 / inv_norm if np.isfinite(inv_norm) and inv_norm > 0 else 0.0


def svd_spectrum(a: np.ndarray) -> tuple[Spectrum, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    rank = int((s > _rank_tol(s, a.shape)).sum())
    smin = float(s[-1]) if rank == s.size else 0.0
    nonzero = float(s[rank - 1]) if rank else None
    return Spectrum(float(s[0]), smin, nonzero, rank, readonly(s), exact=True), (u, s, vt)


def spd_refusal(a: np.ndarray) -> str | None:
    """Why ``a`` is not symmetric positive definite (the energy loss's need), or None."""
    if a.shape[0] != a.shape[1]:
        return f"energy needs a square A, got shape {a.shape}"
    scale = float(np.max(np.abs(a))) or 1.0
    asym = float(np.max(np.abs(a - a.T)))
    if asym > 1e-10 * scale:
        return f"energy needs a symmetric A; max |A - Aᵀ| is {asym:.3g}"
    try:
        np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        w = float(np.linalg.eigvalsh(a)[0]) if a.shape[0] <= 2000 else float("nan")
        return f"energy needs a positive definite A; its smallest eigenvalue is {w:.3g}"
    return None
