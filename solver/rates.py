"""What a run measured against what theory predicts: the rate a history shows, and how many
conjugate-gradient iterations reach the same tolerance on the same system.

For the quadratic losses (½‖r‖², ‖r‖², mean r², the energy) the loss above its minimum f*
is a quadratic form in the error, so an error that contracts by ``rate`` per iteration makes
the loss contract by rate²: the measured error rate is the square root of the loss's.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .problems import LinearSystem

# losses whose excess over the minimum is a quadratic form in the error
QUADRATIC = frozenset({"half_sum_squares", "sum_squares", "mse", "energy"})
MEASURE_MIN = 20  # iterations a measured rate needs
CG_SECONDS = 2.0  # the most conjugate gradient may take for a summary


def loss_value(loss: str, a: np.ndarray, b: np.ndarray, x: np.ndarray, x_star: np.ndarray) -> float:
    """The loss at ``x`` in numpy, as ``solver.losses`` defines it (the energy shifted so its
    minimum is 0: ½(x − x*)ᵀA(x − x*))."""
    if loss == "energy":
        d = x - x_star
        return 0.5 * float(d @ (a @ d))
    r = a @ x - b
    if loss == "half_sum_squares":
        return 0.5 * float(r @ r)
    if loss == "sum_squares":
        return float(r @ r)
    if loss == "mse":
        return float(r @ r) / max(r.size, 1)
    if loss == "l2_norm":
        return float(np.linalg.norm(r))
    if loss == "l1_norm":
        return float(np.sum(np.abs(r)))
    raise ValueError(f"no numpy form for the loss {loss!r}")


def measured_rate(loss: np.ndarray, f_star: float, quadratic: bool = True) -> float | None:
    """The error's contraction per iteration over the last tenth of ``loss`` (at least
    ``MEASURE_MIN`` iterations), or None when the history is too short or not decreasing
    towards ``f_star`` in a way a rate describes."""
    n = len(loss)
    w = max(MEASURE_MIN, n // 10)
    if n <= w:
        return None
    a, b = float(loss[n - 1 - w]) - f_star, float(loss[n - 1]) - f_star
    if not (a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)):
        return None
    return (b / a) ** (1 / ((2 if quadratic else 1) * w))


def cg_iterations(
    problem: object, loss: str, tol: float, max_iter: int = 100_000, seconds: float = CG_SECONDS
) -> int | None:
    """Conjugate-gradient iterations until the loss is below ``tol``, from x = 0: CG on A for
    the energy (A symmetric positive definite), on the normal equations AᵀA x = Aᵀb (CGNR)
    for the least-squares losses. None for other problems or losses, or when it is not
    reached (a tolerance below the minimum, ``max_iter``, or ``seconds`` of work: a summary
    must not take longer than the run it sums up)."""
    if not isinstance(problem, LinearSystem) or tol <= 0 or loss not in QUADRATIC | {"l2_norm"}:
        return None
    import scipy.sparse.linalg as spla

    a, b = np.asarray(problem.A, float), np.asarray(problem.b, float)
    x_star = np.asarray(problem.solve(), float).reshape(-1)
    if loss == "energy":
        op, rhs = a, b
    else:
        op = spla.LinearOperator((a.shape[1],) * 2, matvec=lambda v: a.T @ (a @ v), dtype=float)
        rhs = a.T @ b
    count = [0]
    deadline = time.perf_counter() + seconds

    class _Reached(Exception):
        pass

    class _OutOfTime(Exception):
        pass

    def step(xk: np.ndarray) -> None:
        count[0] += 1
        if loss_value(loss, a, b, xk, x_star) < tol:
            raise _Reached
        if time.perf_counter() > deadline:
            raise _OutOfTime

    x0 = np.zeros(a.shape[1])
    if loss_value(loss, a, b, x0, x_star) < tol:
        return 0
    try:
        spla.cg(op, rhs, x0=x0, rtol=0.0, atol=0.0, maxiter=max_iter, callback=step)
    except _Reached:
        return count[0]
    except _OutOfTime:
        return None
    return None


def insight(run: object) -> dict:
    """The headless summary's measured rate, conjugate gradient's count and the sentence
    that explains the run (``solver.explain``) for ``run``."""
    from .explain import explain, loss_levels

    s = run.session
    problem = run.problem
    rate = cg = None
    if isinstance(problem, LinearSystem) and s.loss in QUADRATIC | {"l2_norm"}:
        a, b = np.asarray(problem.A, float), np.asarray(problem.b, float)
        f_star = loss_value(s.loss, a, b, run.exact, run.exact)
        rate = measured_rate(run.history.loss, f_star, s.loss in QUADRATIC)
        cg = cg_iterations(problem, s.loss, s.tol)
    f_star, scale = loss_levels(s, run.exact)
    said = explain(s, run.analysis(), run.history.loss, run.history.error, f_star, scale)
    return {
        "measured_rate": rate,
        "cg_iterations": cg,
        "explanation": None if said is None else said.text,
    }
