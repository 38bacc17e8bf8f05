"""The sessions the presets build: every worked example of the seed articles, built exactly
as the articles build them from their numbers in ``solver.problems.seeds``
(``torch.manual_seed(314)`` then ``torch.rand``; the 3×3 system; the four-unknown puzzle;
the quadratic fit), and classic test matrices. torch is imported only by the builders that
draw from its generator. The menu of presets is ``solver.sessions.presets``.
"""

from __future__ import annotations

import numpy as np

from solver.core import limits
from solver.core.errors import InputError
from solver.core.resources import resource_path
from solver.matrices.matrixio import load_operator
from solver.matrices.sparseio import poisson_2d
from solver.problems.linear import Inverse, LinearSystem, Polyfit, Problem
from solver.problems.seeds import (
    PUZZLE_A,
    PUZZLE_B,
    seed_3x3_problem,
    seed_inverse_random_matrix,
    seed_polyfit_samples,
    seed_svd_matrix,
    torch_rand,
)
from solver.problems.svd import Svd

from . import session as sessions


def _session(problem: Problem, **kw: object) -> sessions.Session:
    return sessions.make(problem, **kw)


def seed_3x3() -> sessions.Session:
    return _session(
        seed_3x3_problem(),
        loss="half_sum_squares",
        optimizer="gd",
        lr=0.1,
        init="zeros",
        max_iters=2000,
        tol=1e-16,
        dtype="float64",
    )


def seed_random_2x2(seed: int = 314) -> sessions.Session:
    a = torch_rand((2, 2), seed) + np.eye(2)  # + I keeps the random matrix well away from singular
    b = torch_rand((2,), seed + 1)
    return _session(
        LinearSystem(a, b),
        loss="l2_norm",
        optimizer="gd",
        lr=0.001,
        init="rand",
        seed=seed,
        max_iters=20000,
        tol=0.01,
        dtype="float32",
    )


def _seed_inverse(m: np.ndarray) -> sessions.Session:
    return _session(
        Inverse(m, "left"),
        loss="mse",
        optimizer="sgd",
        lr=0.9,
        optimizer_args={"momentum": 0.9},
        init="rand",
        seed=314,
        max_iters=10000,
        tol=0.0,
        dtype="float32",
    )


def seed_inverse_random() -> sessions.Session:
    return _seed_inverse(seed_inverse_random_matrix())


def seed_inverse_diagonal() -> sessions.Session:
    return _seed_inverse(np.diag([1.0, 2.0, 3.0, 4.0]))


def seed_puzzle() -> sessions.Session:
    return _session(
        LinearSystem(np.array(PUZZLE_A, float), np.array(PUZZLE_B, float)),
        loss="sum_squares",
        optimizer="adam",
        lr=0.01,
        init="randn",
        seed=314,
        max_iters=2000,
        tol=1e-12,
        dtype="float32",
    )


def seed_polyfit(seed: int = 314, samples: int = 20) -> sessions.Session:
    xs, ys = seed_polyfit_samples(seed, samples)
    return _session(
        Polyfit(xs, ys, 2),
        loss="mse",
        optimizer="nadam",
        lr=0.01,
        init="randn",
        seed=seed,
        max_iters=1000,
        tol=0.0,
        dtype="float32",
    )


def _seed_svd(m: np.ndarray, optimizer: str, lr: float, **args: object) -> sessions.Session:
    return _session(
        Svd(m),
        loss="svd_mse",
        optimizer=optimizer,
        lr=lr,
        optimizer_args=args,
        init="rand",
        seed=314,
        max_iters=20000,
        tol=0.0,
        dtype="float32",
    )


def seed_svd_momentum(seed: int = 314) -> sessions.Session:
    return _seed_svd(seed_svd_matrix(seed), "sgd", 0.9, momentum=0.9)


def seed_svd_adam(seed: int = 314) -> sessions.Session:
    # torch's default Adam lr (0.001), with the series' weight decay.
    return _seed_svd(seed_svd_matrix(seed), "adam", 0.001, weight_decay=1e-5)


def svd_random(shape: str = "square", seed: int | None = None) -> sessions.Session:
    """Random square (seed 315), tall (316) or wide (317) matrices, SGD with momentum."""
    shapes = {"square": ((5, 5), 315), "tall": ((7, 3), 316), "wide": ((3, 7), 317)}
    if shape not in shapes:
        raise InputError("preset", f"shape must be one of {sorted(shapes)}, not {shape!r}")
    dims, default_seed = shapes[shape]
    return _seed_svd(
        seed_svd_matrix(default_seed if seed is None else seed, dims), "sgd", 0.9, momentum=0.9
    )


def _recommended_gd(problem: LinearSystem, loss: str = "half_sum_squares", **kw: object):
    if problem.sparse:
        # Lanczos would take seconds here (the window runs it on a thread afterwards);
        # Gershgorin's bound on L is one pass over the entries, and 1/bound is as safe.
        lr = 1.0 / _lipschitz_bound(problem, loss)
    else:
        from solver.insight.analysis import analyze

        lr = analyze(problem, loss).recommended_lr or 0.01
    return _session(problem, loss=loss, optimizer="gd", lr=float(lr), **kw)


def _lipschitz_bound(problem: LinearSystem, loss: str) -> float:
    """An upper bound on L from the absolute row and column sums: λmax(A) ≤ ‖A‖∞ for a
    symmetric A (the energy), σmax(A)² ≤ ‖A‖₁‖A‖∞ for the half sum of squares."""
    a = abs(problem.A)
    rows, cols = float(a.sum(axis=1).max()), float(a.sum(axis=0).max())
    if loss == "energy":
        return rows
    if loss != "half_sum_squares":
        raise InputError("preset", f"no step-size bound for the {loss} loss of a sparse matrix")
    return rows * cols


# Beyond this n a generated dense preset is heavy (``Preset.heavy``): its factorisations
# grow as n³; on this project's 2-core machine with two other busy processes n = 200 took
# 0.11 s and n = 100 0.011 s (quiet, n = 1000 took 0.5 s).
HEAVY_DENSE_N = 100


def dense_heavy(n: object = 10, **_: object) -> bool:
    return not isinstance(n, int | np.integer) or n > HEAVY_DENSE_N


def always_heavy(**_: object) -> bool:
    return True


# The largest n a generated dense preset takes, as the Problem panel's size boxes (one entry
# of the limits table): checked before an n x n matrix is drawn (n = 100000 asked for 80 GB).
MAX_DENSE_N = int(limits.SIZE_EDIT.hi)


def _check_n(n: object) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= MAX_DENSE_N:
        raise InputError("preset", f"n = {n!r}: n must be a whole number from 1 to {MAX_DENSE_N:,}")


def random_conditioned(n: int = 10, cond: float = 100.0, seed: int = 0) -> sessions.Session:
    _check_n(n)
    if not 1 <= cond < float("inf"):
        raise InputError("preset", "random with condition number needs a finite cond >= 1")
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = np.logspace(0, -np.log10(cond), n)
    a = (u * s) @ v.T
    return _recommended_gd(LinearSystem(a, a @ np.ones(n)), max_iters=5000, tol=1e-20)


def hilbert(n: int = 5) -> sessions.Session:
    import scipy.linalg

    _check_n(n)
    a = scipy.linalg.hilbert(n)
    return _recommended_gd(LinearSystem(a, a @ np.ones(n)), max_iters=10000, tol=1e-20)


def random_spd(n: int = 10, seed: int = 0, cond: float = 50.0) -> sessions.Session:
    _check_n(n)
    if not 1 <= cond < float("inf"):
        raise InputError("preset", "a random SPD matrix needs a finite cond >= 1")
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = (q * np.linspace(1.0, cond, n)) @ q.T
    a = 0.5 * (a + a.T)
    return _recommended_gd(
        LinearSystem(a, rng.standard_normal(n)), loss="energy", max_iters=5000, tol=1e-24
    )


def poisson(rows: int = 250, cols: int = 400) -> sessions.Session:
    """The 5-point 2-D Poisson matrix on a rows × cols grid (n = rows·cols; 100,000 by
    default), held sparse, with b = A·1 and the energy loss: gd converges with κ ≈ 0.4 n."""
    if not (isinstance(rows, int) and isinstance(cols, int) and rows >= 2 and cols >= 2):
        raise InputError("preset", "the Poisson grid needs whole rows and cols >= 2")
    if rows * cols > 4_000_000:
        raise InputError("preset", f"a {rows} × {cols} grid is beyond the 4,000,000 unknowns here")
    a = poisson_2d(rows, cols)
    problem = LinearSystem(a, a @ np.ones(a.shape[1]))
    return _recommended_gd(problem, "energy", max_iters=20_000, tol=1e-20)


def matrix_file(name: str = "gr_30_30") -> sessions.Session:
    """A shipped real matrix with b = A·1, so the exact solution is all ones (least squares
    and minimum norm for rectangular ones)."""
    path = resource_path("matrices", f"{name}.mtx")
    a = load_operator(path, "preset")  # sparse when large and nearly empty (1138_bus)
    problem = LinearSystem(a, a @ np.ones(a.shape[1]))
    # SPD matrices get the energy loss: gd then converges with κ instead of κ²
    loss = "energy" if problem.spd_refusal() is None else "half_sum_squares"
    return _recommended_gd(problem, loss, max_iters=5000, tol=1e-20, files={"A": str(path)})
