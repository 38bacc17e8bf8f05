"""Sparse linear algebra for problems held sparse: factorisations and solvers that never form
the dense matrix (scipy's SuperLU and LSQR), imported where used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from solver.core.errors import check_cancel

if TYPE_CHECKING:
    import threading

# LSQR's relative tolerances (atol, btol) for a sparse reference solution
LSQR_TOL = 1e-12


def lsqr_solve(a: object, b: np.ndarray, cancel: threading.Event | None = None) -> np.ndarray:
    """The minimum-norm least-squares solution of a sparse system by LSQR from zero, to
    ``LSQR_TOL``; ``cancel`` is checked at every product."""
    import scipy.sparse.linalg as spla

    n = a.shape[1]

    def matvec(v: np.ndarray) -> np.ndarray:
        check_cancel(cancel)  # LSQR calls back for every product
        return a @ v

    op = spla.LinearOperator(a.shape, matvec=matvec, rmatvec=lambda v: a.T @ v, dtype=float)
    return spla.lsqr(op, b, atol=LSQR_TOL, btol=LSQR_TOL, iter_lim=max(10 * n, 1000))[0]


def sparse_lu(a: object) -> object:
    """SuperLU of a square sparse ``a`` (RuntimeError when exactly singular)."""
    import scipy.sparse.linalg as spla

    return spla.splu(a.tocsc())


def sparse_spd_refusal(a: object) -> str | None:
    """``spectra.spd_refusal`` for a sparse ``a``, without forming it dense: symmetry from
    A − Aᵀ, definiteness from the pivots of an LU that pivots on the diagonal only (for a
    symmetric matrix they are those of LDLᵀ: all positive exactly when it is definite)."""
    import scipy.sparse.linalg as spla

    if a.shape[0] != a.shape[1]:
        return f"energy needs a square A, got shape {a.shape}"
    scale = float(abs(a).max()) or 1.0
    diff = a - a.T
    asym = float(abs(diff).max()) if diff.nnz else 0.0
    if asym > 1e-10 * scale:
        return f"energy needs a symmetric A; max |A - Aᵀ| is {asym:.3g}"
    if _irreducibly_dominant(a):
        return None
    try:
        lu = spla.splu(
            a.tocsc(),
            permc_spec="MMD_AT_PLUS_A",
            diag_pivot_thresh=0.0,
            options={"SymmetricMode": True},
        )
    except RuntimeError:
        return "energy needs a positive definite A; it is singular"
    pivots = lu.U.diagonal()
    if not (np.array_equal(lu.perm_r, lu.perm_c) and (pivots > 0).all()):
        return "energy needs a positive definite A; its LDLᵀ has a pivot ≤ 0"
    return None


def _irreducibly_dominant(a: object) -> bool:
    """Whether the symmetric ``a`` is definite by Taussky's theorem, without a factorisation:
    a positive diagonal, every row diagonally dominant, one row strictly, and a connected
    graph. Finite-difference and graph Laplacians with a boundary are (the Poisson preset:
    65 ms against 0.46 s for the LU, on the GUI thread when it loads)."""
    from scipy.sparse.csgraph import connected_components

    d = a.diagonal()
    if not (d > 0).all():
        return False
    off = np.asarray(abs(a).sum(axis=1)).ravel() - d
    slack = d - off
    # Rounding margins both ways: a row whose sum is zero in exact arithmetic may come out
    # a few ulps either side; it counts as dominant, never as strictly dominant.
    tiny = 1e-12 * d
    if (slack < -tiny).any() or not (slack > tiny).any():
        return False
    return connected_components(a, directed=False, return_labels=False) == 1
