"""The error split by direction, and the loss landscape on a plane through the solution.

Gradient descent on a linear least-squares loss moves the error e = x − x* along each right
singular vector vᵢ of A independently: its coefficient vᵢᵀe shrinks by |1 − lr·σᵢ²| per
iteration (|1 − lr·λᵢ| along the eigenvectors for the energy loss). So the coefficients show
"fast along the large singular values, slow along the small ones", and the directions with
σ = 0 are never touched: gd's steps Aᵀ(…) lie in A's row space, so from x0 = 0 it ends at
the minimum-norm solution.

The landscape is the loss on a plane: for two unknowns the (x1, x2) plane itself, for more
the plane through x* spanned by the two extreme singular directions (or two unknowns the
user picks), with the run's iterates projected onto it.

Dense SVDs only, for at most ``LIMIT`` unknowns (the views need every iterate anyway).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.problems.linear import LinearSystem, Problem
from solver.problems.losses import LOSSES

from .rates import loss_value

LIMIT = 600  # unknowns: an SVD of A takes ~0.1 s here
BANDS = 10  # more directions than TOO_MANY are shown as this many bands of σ
TOO_MANY = 20
# Beyond this many grid points x residuals the landscape comes from a quadratic form (exact
# for the quadratic losses) rather than from one residual vector per grid point.
GRID_ROWS_LIMIT = 4_000_000
L1_GRID_RESIDUALS = 20_000  # the L1 loss has no such form; its grid is drawn up to this many


@dataclass(frozen=True, eq=False)
class Directions:
    """Orthonormal directions of the unknowns' space, by decreasing σ."""

    basis: np.ndarray  # n × k: the directions A sees (right singular vectors / eigenvectors)
    sigma: np.ndarray  # k values, descending: singular values (eigenvalues for the energy)
    null: np.ndarray  # n × z: directions A does not see (σ = 0)
    what: str  # "singular value σ" | "eigenvalue λ"
    symbol: str  # "σ" | "λ"

    def coefficients(self, rows: np.ndarray, exact: np.ndarray) -> np.ndarray:
        """|vᵢᵀ(x − x*)| for each row of ``rows`` (iterates) and each direction."""
        return np.abs((np.asarray(rows, np.float64) - exact) @ self.basis)

    def null_part(self, rows: np.ndarray, exact: np.ndarray) -> np.ndarray:
        """‖the error's part in A's null space‖ for each row (what gd never changes)."""
        if not self.null.shape[1]:
            return np.zeros(len(rows))
        return np.linalg.norm((np.asarray(rows, np.float64) - exact) @ self.null, axis=1)

    def groups(self) -> list[tuple[str, np.ndarray]]:
        """(label, direction indices) to draw: each direction when few, else ``BANDS``
        bands of σ spaced evenly on a log scale."""
        k = len(self.sigma)
        s = self.symbol
        if k <= TOO_MANY:
            return [(f"{s}{i + 1} = {self.sigma[i]:.3g}", np.array([i])) for i in range(k)]
        lo, hi = float(self.sigma[-1]), float(self.sigma[0])
        edges = np.geomspace(lo, hi, BANDS + 1)
        which = np.clip(np.searchsorted(edges, self.sigma, side="right") - 1, 0, BANDS - 1)
        out = []
        for b in range(BANDS - 1, -1, -1):
            idx = np.flatnonzero(which == b)
            if idx.size:
                out.append((f"{s} in [{edges[b]:.3g}, {edges[b + 1]:.3g}] ({idx.size})", idx))
        return out


def directions(problem: Problem, loss: str) -> Directions | str:
    """The directions for ``problem`` under ``loss``, or why there are none."""
    if not isinstance(problem, LinearSystem):
        return "the error by direction is drawn for linear systems and polynomial fits"
    if problem.sparse:
        return "a sparse matrix is never decomposed whole: the error by direction needs its SVD"
    a = np.asarray(problem.A, np.float64)
    n = a.shape[1]
    if n > LIMIT:
        return f"{n:,} unknowns: more than the {LIMIT} a dense SVD here is quick for"
    if loss == "energy":
        lam, vecs = np.linalg.eigh(0.5 * (a + a.T))
        order = np.argsort(lam)[::-1]
        return Directions(vecs[:, order], lam[order], np.zeros((n, 0)), "eigenvalue λ", "λ")
    _, s, vt = np.linalg.svd(a, full_matrices=True)
    tol = (s[0] if s.size else 0.0) * max(a.shape) * np.finfo(np.float64).eps
    rank = int(np.count_nonzero(s > tol))
    return Directions(vt[:rank].T, s[:rank], vt[rank:].T, "singular value σ", "σ")


@dataclass(frozen=True, eq=False)
class Plane:
    """x = origin + s·d1 + t·d2: where the landscape is drawn."""

    origin: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    labels: tuple[str, str]

    def coordinates(self, rows: np.ndarray) -> np.ndarray:
        """(s, t) of each iterate, projected onto the plane (rows × 2)."""
        d = np.asarray(rows, np.float64) - self.origin
        return np.column_stack([d @ self.d1, d @ self.d2])

    def point(self, s: float, t: float) -> np.ndarray:
        return self.origin + s * self.d1 + t * self.d2


def plane(
    problem: Problem, loss: str, exact: np.ndarray, pick: tuple[int, int] | None = None
) -> Plane | str:
    """The landscape's plane: (x1, x2) for two unknowns; else through x* along the two
    unknowns ``pick`` (0-based) or the extreme singular directions. Or why there is none."""
    if not isinstance(problem, LinearSystem):
        return "the landscape is drawn for linear systems and polynomial fits"
    n = problem.A.shape[1]
    exact = np.asarray(exact, np.float64).reshape(-1)
    if _no_closed_form(loss) and problem.n_residuals > L1_GRID_RESIDUALS:
        return (
            f"the {LOSSES[loss].title or LOSSES[loss].label} landscape of more than "
            f"{L1_GRID_RESIDUALS:,} residuals is not drawn: "
            "it has no closed form, and its grid would hold the window for seconds"
        )
    if n == 2:
        return Plane(np.zeros(2), _unit(n, 0), _unit(n, 1), ("x1", "x2"))
    if pick is None and problem.sparse:
        pick = (0, 1)  # no singular directions without an SVD: the first two unknowns
    if pick is not None:
        i, j = pick
        if not (0 <= i < n and 0 <= j < n and i != j):
            return f"pick two different unknowns between 1 and {n}"
        names = problem.unknown_names()
        return Plane(exact, _unit(n, i), _unit(n, j), (f"{names[i]} − x*", f"{names[j]} − x*"))
    dirs = directions(problem, loss)
    if isinstance(dirs, str):
        return dirs
    s = dirs.symbol
    last = len(dirs.sigma)
    return Plane(
        exact,
        dirs.basis[:, 0],
        dirs.basis[:, -1],
        (f"along v1 ({s}max)", f"along v{last} ({s}min)"),
    )


def loss_grid(
    loss: str, problem: LinearSystem, exact: np.ndarray, pl: Plane, s: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """The loss at origin + s·d1 + t·d2 for every s (columns) and t (rows): len(t) × len(s)."""
    ss, tt = np.meshgrid(np.asarray(s, float), np.asarray(t, float))
    exact = np.asarray(exact, np.float64).reshape(-1)
    a = problem.A if problem.sparse else np.asarray(problem.A, float)
    b = np.asarray(problem.b, float)
    if ss.size * problem.n_residuals > GRID_ROWS_LIMIT and not _no_closed_form(loss):
        return _quadratic_grid(loss, a, b, exact, pl, ss, tt)
    rows = pl.origin + ss.reshape(-1, 1) * pl.d1 + tt.reshape(-1, 1) * pl.d2
    return np.asarray(loss_value(loss, a, b, rows, exact), float).reshape(ss.shape)


def _quadratic_grid(
    loss: str,
    a: object,
    b: np.ndarray,
    exact: np.ndarray,
    pl: Plane,
    ss: np.ndarray,
    tt: np.ndarray,
) -> np.ndarray:
    """``loss_grid`` for a big system from three vectors: on a plane the residual is
    r0 + s·A d1 + t·A d2 (the energy's error alike), so a quadratic loss is a quadratic form
    in (s, t) whose 3 x 3 Gram matrix costs three products, not one per grid point."""
    if loss == "energy":
        vecs = [pl.origin - exact, pl.d1, pl.d2]
        images = [a @ v for v in vecs]
        gram = np.array([[u @ w for w in images] for u in vecs])
        gram = 0.5 * (gram + gram.T)
    else:
        images = [a @ pl.origin - b, a @ pl.d1, a @ pl.d2]
        gram = np.array([[u @ w for w in images] for u in images])
    c = np.stack([np.ones_like(ss), ss, tt])
    sq = np.maximum(np.einsum("i...,ij,j...->...", c, gram, c), 0.0)
    if loss == "energy":
        return 0.5 * sq
    return LOSSES[loss].of_squares(sq, len(b))


def _no_closed_form(loss: str) -> bool:
    """A loss whose grid is computed point by point: not a function of ‖r‖² (the L1 loss)."""
    return loss != "energy" and LOSSES[loss].of_squares is None


def _unit(n: int, i: int) -> np.ndarray:
    e = np.zeros(n)
    e[i] = 1.0
    return e
