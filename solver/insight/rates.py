"""What a run measured against what theory predicts: the rate a history shows, and how many
conjugate-gradient iterations reach the same tolerance on the same system.

For the quadratic losses (½‖r‖², ‖r‖², mean r², the energy) the loss above its minimum f*
is a quadratic form in the error, so an error that contracts by ``rate`` per iteration makes
the loss contract by rate²: the measured error rate is the square root of the loss's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from solver.problems.linear import LinearSystem
from solver.problems.losses import LOSSES

# losses whose excess over the minimum is a quadratic form in the error (``Loss.quadratic``)
QUADRATIC = frozenset(name for name, loss in LOSSES.items() if loss.quadratic)
# ...or follows it at all, so that a rate is measured (``Loss.rate_power``)
RATED = frozenset(name for name, loss in LOSSES.items() if loss.rate_power is not None)


def has_value(loss: str) -> bool:
    """Whether ``loss_value`` computes ``loss`` (a loss of r alone, or the energy)."""
    return loss == "energy" or LOSSES[loss].of_r


MEASURE_MIN = 20  # iterations a measured rate needs
CG_SECONDS = 2.0  # the most conjugate gradient may take for a summary


def loss_value(
    loss: str, a: np.ndarray, b: np.ndarray, x: np.ndarray, x_star: np.ndarray
) -> float | np.ndarray:
    """The loss at ``x`` in numpy, as ``solver.problems.losses`` defines it (the energy shifted
    so its minimum is 0: ½(x − x*)ᵀA(x − x*)). ``x`` one vector (a float back) or rows of them (an
    array back, one loss per row)."""
    x = np.asarray(x, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged iterate: inf, said so
        if loss == "energy":  # a loss of x: ½(x − x*)ᵀA(x − x*) above its minimum
            d = x - x_star
            out = 0.5 * np.sum(d * (d @ a.T), axis=-1)
        else:
            out = LOSSES[loss].value(x @ a.T - b)
    return float(out) if x.ndim == 1 else out


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


NEAR_ONE = 1e-3  # rates this close to 1 are written by their distance to it: 1 − 3.0e-05
_MOST_DIGITS = 17  # enough for any two float64 rates


def rate_texts(*rates: float) -> tuple[str, ...]:
    """Contractions per iteration written side by side ("converging at …, faster than the
    … predicted"), with the digits that tell each apart from 1 and from the others: a rate
    below 1 never reads as 1, and two different rates never read the same. Where one of them
    is within ``NEAR_ONE`` of 1 all are written as 1 − gap ("1 − 3.0e-05"), else as decimals
    ("0.9828"); the digits grow together until the texts differ as the numbers do."""
    finite = [r for r in rates if math.isfinite(r)]
    near = any(0 < abs(1 - r) < NEAR_ONE for r in finite)
    distinct = len(set(finite))
    for digits in range(1 if near else 4, _MOST_DIGITS + 1):
        out = tuple(_rate(r, digits, near) for r in rates)
        if len({t for t, r in zip(out, rates, strict=True) if math.isfinite(r)}) == distinct:
            return out
    return out


def rate_text(rate: float) -> str:
    """One contraction per iteration, readable however close to 1 it is ("0.9828",
    "1 − 3.1e-06"): ``rate_texts`` of it alone."""
    return rate_texts(rate)[0]


def _rate(rate: float, digits: int, near: bool) -> str:
    if not math.isfinite(rate):
        return str(rate)
    if rate == 1:
        return "1"
    if not near:
        return f"{rate:.{digits}f}"
    gap = 1 - rate
    return f"1 {'−' if gap > 0 else '+'} {abs(gap):.{digits}e}"


@dataclass(frozen=True, eq=False)
class ReferencePath:
    """Conjugate gradient on the run's system, iteration by iteration, from x = 0."""

    method: str  # what was solved, in words
    loss: np.ndarray  # the run's loss at each iterate, x0 = 0 included
    error: np.ndarray  # ‖x_k − x*‖
    reached: int | None  # the first iteration with the loss below the tolerance, if any

    @property
    def iterations(self) -> int:
        return len(self.loss) - 1


def product_matrix(problem: LinearSystem) -> object:
    """A system's matrix for products: sparse as it is held (never formed dense)."""
    return problem.A if problem.sparse else np.asarray(problem.A, float)


def cg_path(
    problem: object,
    loss: str,
    tol: float = 0.0,
    max_iter: int = 100_000,
    seconds: float = CG_SECONDS,
) -> ReferencePath | None:
    """Conjugate gradient beside a run: CG on A for the energy (A symmetric positive
    definite), on the normal equations AᵀA x = Aᵀb (CGNR, the same iterates as CGLS) for the
    least-squares losses, from x = 0. It stops at the first iterate below ``tol`` (when
    ``tol`` > 0), when its own residual has fallen 1e-14, after ``max_iter`` iterations or
    ``seconds`` of work. None for other problems or losses."""
    if not isinstance(problem, LinearSystem) or loss not in RATED:
        return None
    import scipy.sparse.linalg as spla

    a, b = product_matrix(problem), np.asarray(problem.b, float)
    x_star = np.asarray(problem.solve(), float).reshape(-1)
    if loss == "energy":
        op, rhs, method = a, b, "conjugate gradient on A x = b"
    else:
        op = spla.LinearOperator((a.shape[1],) * 2, matvec=lambda v: a.T @ (a @ v), dtype=float)
        rhs, method = a.T @ b, "conjugate gradient on Aᵀ A x = Aᵀ b (CGLS)"
    x0 = np.zeros(a.shape[1])
    losses, errors = [loss_value(loss, a, b, x0, x_star)], [float(np.linalg.norm(x_star))]
    deadline = time.perf_counter() + seconds

    class _Done(Exception):
        pass

    def step(xk: np.ndarray) -> None:
        losses.append(loss_value(loss, a, b, xk, x_star))
        errors.append(float(np.linalg.norm(xk - x_star)))
        if (tol > 0 and losses[-1] < tol) or time.perf_counter() > deadline:
            raise _Done

    if not (tol > 0 and losses[0] < tol):
        try:
            spla.cg(op, rhs, x0=x0, rtol=1e-14, atol=0.0, maxiter=max_iter, callback=step)
        except _Done:
            pass
    below = np.flatnonzero(np.asarray(losses) < tol) if tol > 0 else np.zeros(0, np.int64)
    return ReferencePath(
        method, np.asarray(losses), np.asarray(errors), int(below[0]) if below.size else None
    )


def cg_iterations(
    problem: object, loss: str, tol: float, max_iter: int = 100_000, seconds: float = CG_SECONDS
) -> int | None:
    """Conjugate-gradient iterations until the loss is below ``tol`` (``cg_path``); None
    for other problems or losses, or when it is not reached (a tolerance below the minimum,
    ``max_iter``, or ``seconds`` of work: a summary must not take longer than the run it sums
    up)."""
    if tol <= 0:
        return None
    path = cg_path(problem, loss, tol, max_iter, seconds)
    return None if path is None else path.reached
