"""Singular values of a matrix: all of them by one SVD, or the extreme ones estimated.

The estimates (Lanczos, ARPACK's: on AᵀA for the largest, on its inverse through an LU for
the smallest; power and inverse iteration as fallbacks) take ``cancel`` and check it before
every product; one LAPACK call (the SVD, the LU) cannot be interrupted. scipy is imported only
by the estimates.

Each estimate comes with an a-posteriori bound on its error: for a unit vector v and the
symmetric map KᵀK, the Rayleigh quotient λ = ‖Kv‖² lies within ‖KᵀKv − λv‖ of an eigenvalue
of KᵀK, so √λ lies within that residual / √λ of a singular value of K. (Which one is the
iteration's business: Lanczos separates the extreme ones from their neighbours.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from solver.core.errors import check_cancel

from .sparseio import is_sparse

if TYPE_CHECKING:
    import threading

# Up to this many columns/rows the spectrum comes from a full SVD (about a second at 1200);
# beyond it the extreme singular values are estimated iteratively.
FULL_SVD_LIMIT = 1200


# Lanczos's tolerance for a sparse matrix's σmax (dense: 1e-10).
SPARSE_LANCZOS_TOL = 1e-8
# ARPACK restarts for a sparse matrix (dense: n and more). Extreme singular values that cluster
# within 1e-7 (a 10,000 tridiagonal) took minutes to separate; past this many the estimate
# falls back to power iteration, whose value is as good within such a cluster, and its
# Rayleigh bound says how good.
SPARSE_RESTARTS = 300


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
    # estimates only: bounds on |estimate − singular value| (None: exact, or not bounded)
    sigma_max_error: float | None = None
    sigma_min_error: float | None = None

    @property
    def cond(self) -> float | None:
        if self.sigma_min <= 0 or not np.isfinite(self.sigma_min):
            return None
        return self.sigma_max / self.sigma_min


def _rank_tol(s: np.ndarray, shape: tuple[int, int]) -> float:
    return float(s[0]) * max(shape) * np.finfo(np.float64).eps if s.size else 0.0


def power_vector(
    apply: Callable[[np.ndarray], np.ndarray],
    v: np.ndarray,
    iters: int,
    rtol: float,
    cancel: threading.Event | None = None,
) -> tuple[float, np.ndarray]:
    """Power iteration on the positive semi-definite map ``apply`` (KᵀK for an operator K)
    from ``v``: sqrt of its largest eigenvalue (K's largest singular value), and the unit
    vector the iteration ended on."""
    est = 0.0
    v = v / (np.linalg.norm(v) or 1.0)
    for _ in range(iters):
        check_cancel(cancel)
        w = apply(v)
        nrm = np.linalg.norm(w)
        if nrm == 0 or not np.isfinite(nrm):
            break
        new = float(np.sqrt(nrm))
        v = w / nrm
        if abs(new - est) <= rtol * new:
            return new, v
        est = new
    return est, v


def power_sqrt(
    apply: Callable[[np.ndarray], np.ndarray],
    v: np.ndarray,
    iters: int,
    rtol: float,
    cancel: threading.Event | None = None,
) -> float:
    """sqrt of the largest eigenvalue of the positive semi-definite map ``apply`` (KᵀK for
    an operator K: its largest singular value), by power iteration from ``v``."""
    return power_vector(apply, v, iters, rtol, cancel)[0]


def rayleigh_sqrt(normal: Callable[[np.ndarray], np.ndarray], v: np.ndarray) -> tuple[float, float]:
    """(σ, bound) for the unit vector ``v`` and ``normal`` = KᵀK: σ = √(vᵀKᵀKv), and a bound
    on the distance from σ to the nearest singular value of K (see the module's note)."""
    w = normal(v)
    lam = float(v @ w)
    if not lam > 0 or not np.isfinite(lam):
        return max(lam, 0.0) ** 0.5, float("inf")
    sigma = lam**0.5
    return sigma, float(np.linalg.norm(w - lam * v)) / sigma


def _start_vectors(n: int) -> tuple[np.ndarray, np.ndarray]:
    # Both estimates start from the same two fixed vectors whichever runs first, so a
    # cancelled and repeated analysis gives the same numbers as an uninterrupted one.
    rng = np.random.default_rng(0)
    return rng.standard_normal(n), rng.standard_normal(n)


def estimate_sigma_max(a: np.ndarray, cancel: threading.Event | None) -> tuple[float, float]:
    """σmax of ``a`` and the bound on its error, by Lanczos on AᵀA (ARPACK, to rtol 1e-10).

    Power iteration alone stalls where the top singular values cluster (0.2 % off on a
    random 1300 x 1300 with its successive estimates agreeing to 1e-10); Lanczos gets them
    to rounding. Power iteration remains the fallback if ARPACK does not converge."""
    import scipy.sparse.linalg as spla

    n = a.shape[1]

    def normal(v: np.ndarray) -> np.ndarray:
        check_cancel(cancel)  # every product: ARPACK calls back into Python for each
        return a.T @ (a @ np.ravel(v))

    start = _start_vectors(n)[0]
    op = spla.LinearOperator((n, n), matvec=normal, dtype=np.float64)
    # A sparse matrix's top singular values can cluster tightly (the 100,000-unknown Poisson
    # preset: 5.3 s to 1e-10, 3.7 s to 1e-8); the bound below says how close it got.
    tol = SPARSE_LANCZOS_TOL if is_sparse(a) else 1e-10
    try:
        restarts = SPARSE_RESTARTS if is_sparse(a) else max(300, n)
        _, vecs = spla.eigsh(op, k=1, which="LA", v0=start, tol=tol, maxiter=restarts)
        v = vecs[:, 0]
    except (spla.ArpackNoConvergence, spla.ArpackError, ValueError):
        _, v = power_vector(normal, start, 200, 1e-10, cancel)
    return rayleigh_sqrt(normal, v / np.linalg.norm(v))


def estimate_sigma_min(a: np.ndarray, cancel: threading.Event | None) -> tuple[float, float]:
    """σmin of a square ``a`` and the bound on its error: Lanczos (ARPACK) on (AᵀA)⁻¹,
    applied through one LU, for its three largest eigenvalues; (0, 0) when ``a`` is singular.

    Plain inverse iteration crawls where the smallest singular values cluster (a random
    2000 x 2000: σ₂/σ₁ = 1.007, still 0.7 % off after 100 passes, nearer σ₂ than σ₁);
    Lanczos separates them to rounding in a few dozen products. Inverse iteration remains the
    fallback if ARPACK does not converge."""
    import scipy.linalg
    import scipy.sparse.linalg as spla

    check_cancel(cancel)
    n = a.shape[1]
    try:
        if is_sparse(a):
            slu = spla.splu(a.tocsc())  # RuntimeError when exactly singular

            def inverse_normal(v: np.ndarray) -> np.ndarray:
                check_cancel(cancel)
                return slu.solve(slu.solve(np.ravel(v), trans="T"))
        else:
            lu = scipy.linalg.lu_factor(a, check_finite=False)

            def inverse_normal(v: np.ndarray) -> np.ndarray:
                check_cancel(cancel)
                return scipy.linalg.lu_solve(lu, scipy.linalg.lu_solve(lu, np.ravel(v), trans=1))

        start = _start_vectors(n)[1]
        if n > 3:
            op = spla.LinearOperator((n, n), matvec=inverse_normal, dtype=np.float64)
            try:
                restarts = SPARSE_RESTARTS if is_sparse(a) else 20 * n
                vals, vecs = spla.eigsh(op, k=3, which="LA", v0=start, tol=1e-12, maxiter=restarts)
                v = vecs[:, int(np.argmax(vals))]
            except (spla.ArpackNoConvergence, spla.ArpackError):
                v = power_vector(inverse_normal, start, 100, 1e-8, cancel)[1]
        else:
            v = power_vector(inverse_normal, start, 100, 1e-8, cancel)[1]
    except (np.linalg.LinAlgError, ValueError, RuntimeError):
        return 0.0, 0.0
    if not np.isfinite(v).all() or not np.any(v):
        return 0.0, 0.0
    return rayleigh_sqrt(lambda v: a.T @ (a @ v), v / np.linalg.norm(v))


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
