"""Why a run behaves as it does, in one sentence: the status line that follows the run.

``explain`` reads a run's loss and error histories beside the analysis of its problem and
says the first of these that holds, most urgent first:

* diverging since iteration k (the loss above its start and growing for ``GROWING``
  iterations: said long before it overflows), and why when it is certain (``solver.divergence``:
  the rule the engine stops on, e.g. lr · L > 2 for plain gd);
* stalled (no new best loss for ``STALL`` iterations);
* the energy loss at its floating-point floor while the error still falls;
* the L1 loss oscillating (fixed-size steps: its gradient does not shrink near the minimum);
* converging at the measured rate, against the rate the spectrum predicts for κ;
* an under-determined or rank-deficient least-squares problem heading for the
  minimum-norm solution (gd's steps Aᵀ(…) never leave A's row space).

Pure numpy on arrays the caller hands in: the window calls it per frame, ``--json`` once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .divergence import GROWING as GROWING  # the caption's and the engine's rule
from .divergence import growing_since, judge, unstable_step
from .rates import QUADRATIC, measured_rate

STALL = 500  # iterations without a new best loss that make a run stalled
LEAST_SQUARES = frozenset({"half_sum_squares", "sum_squares", "mse", "l2_norm"})
# Their steps are combinations of gradients Aᵀ(…) (and of earlier steps): they never leave
# A's row space. Adam and its kin rescale each coordinate, and so leave it.
ROW_SPACE = frozenset({"gd", "sgd", "lbfgs"})
EPS = {"float64": float(np.finfo(np.float64).eps), "float32": float(np.finfo(np.float32).eps)}


@dataclass(frozen=True)
class Explanation:
    kind: str  # diverging | overflow | stalled | rounding | oscillating | converging | ...
    text: str

    @property
    def alarming(self) -> bool:
        return self.kind in ("diverging", "overflow", "stalled")


def divergence_onset(loss: np.ndarray) -> int | None:
    """Where a divergence began (the first loss above the start), once it is clear: the loss
    above where it started and grown for ``GROWING`` iterations in a row. None otherwise.
    The rule, and when it is certain, is ``solver.divergence``'s, as the engine's stop."""
    return growing_since(loss)


def _divergence(session: object, analysis: object, loss: np.ndarray) -> Explanation | None:
    """The overflow, or the divergence ``solver.divergence`` finds, in the engine's words."""
    n = len(loss)

    def step() -> str | None:
        lip = getattr(analysis, "lipschitz", None)
        return unstable_step(session.optimizer, session.lr, session.optimizer_args, lip)

    if not math.isfinite(float(loss[n - 1])):  # once overflowed it stays so: one look
        bad = np.flatnonzero(~np.isfinite(loss[:n]))
        why = step()
        text = f"the loss overflowed at iteration {int(bad[0]):,}" + (f": {why}" if why else "")
        return Explanation("overflow", text)
    verdict = judge(loss, session.dtype, step)
    if verdict is None:
        return None
    text = f"diverging since iteration {verdict.onset:,}: {verdict.reason}"
    return Explanation("diverging", text)


def explain(
    session: object,
    analysis: object,
    loss: np.ndarray,
    error: np.ndarray,
    f_star: float = 0.0,
    loss_scale: float | None = None,
) -> Explanation | None:
    """The sentence for a run of ``session`` whose history holds ``loss`` and ``error``
    (one entry per iteration, the start included). ``analysis``: its problem's Analysis (or
    None); ``f_star``: the loss at the exact solution; ``loss_scale``: the size of the terms
    the loss is computed from (the energy's ½bᵀx*), which sets its rounding floor."""
    n = len(loss)
    if n < 2:
        return None
    said = _divergence(session, analysis, loss)
    if said is not None:
        return said
    excess0 = float(loss[0]) - f_star
    # a loss down at rounding noise makes no new best either: that is converged, not stalled
    far = float(loss[n - 1]) - f_star > 1e-12 * max(excess0, 0.0)
    if n > STALL + 1 and far:
        best_before = float(np.min(loss[: n - STALL]))
        if float(np.min(loss[n - STALL :])) >= best_before:
            name = {"lbfgs": "L-BFGS", "gd": "gd"}.get(session.optimizer, session.optimizer)
            return Explanation(
                "stalled", f"stalled: {name} has made no progress for {STALL} iterations"
            )
    floor = _rounding_floor(session, loss, f_star, loss_scale)
    if floor is not None and float(loss[n - 1]) - f_star <= floor and _still_falling(error):
        return Explanation(
            "rounding",
            f"the {_loss_name(session.loss)} has reached {session.dtype} rounding "
            f"({floor:.0e}) while the error still falls",
        )
    if floor is not None and float(loss[n - 1]) - f_star <= floor:
        return Explanation(
            "converged",
            f"converged: the {_loss_name(session.loss)} is at {session.dtype} rounding "
            f"({floor:.0e}) and the error no longer falls",
        )
    if session.loss == "l1_norm" and _oscillating(loss):
        w = loss[max(0, n - 50) :]
        return Explanation(
            "oscillating",
            f"L1 loss: fixed-size steps (its gradient Aᵀsign(r) does not shrink), the loss "
            f"oscillates around {float(np.median(w)):.3g}",
        )
    words = _rate_words(session, analysis, loss, f_star)
    shape = getattr(analysis, "shape", None)
    rank = getattr(analysis, "rank", None)
    if shape and rank is not None and rank < shape[1] and session.loss in LEAST_SQUARES:
        what = "under-determined" if shape[0] < shape[1] else f"rank {rank} < {shape[1]} unknowns"
        head = f"{what}: infinitely many solutions; " + _which_solution(
            session, loss, error, f_star
        )
        return Explanation("minimum_norm", f"{head}; {words}" if words else head)
    if words:
        return Explanation("converging", words)
    return None


def _which_solution(session: object, loss: np.ndarray, error: np.ndarray, f_star: float) -> str:
    """Which of the solutions the run heads for (the error is measured from the minimum-norm
    one, the reference)."""
    name = session.optimizer
    if name in ROW_SPACE:
        if session.init == "zeros":
            return f"{name} moves only in A's row space, so it heads for the minimum-norm solution"
        return (
            f"{name} moves only in A's row space, so it heads for the solution nearest its "
            "start (the minimum-norm one plus the start's part that A does not see)"
        )
    n = len(loss)
    solved = float(loss[n - 1]) - f_star <= 1e-8 * max(float(loss[0]) - f_star, 1e-300)
    away = float(error[n - 1])
    if solved and math.isfinite(away) and away > 1e-6:
        return (
            f"{name} rescales each coordinate, so it leaves A's row space: it reached a "
            f"solution {away:.3g} away from the minimum-norm one"
        )
    return (
        f"{name} rescales each coordinate, so it leaves A's row space: it heads for a "
        "solution other than the minimum-norm one"
    )


def _loss_name(loss: str) -> str:
    return "energy loss" if loss == "energy" else "loss"


def _rounding_floor(
    session: object, loss: np.ndarray, f_star: float, scale: float | None
) -> float | None:
    """How far above its minimum the energy loss can be told apart from rounding: it is
    ½xᵀ(r − b) + ½bᵀx*, a difference of terms of size ``scale``, so a few units in the last
    place of that. (The squared residuals have no such floor worth saying: r is rounded to
    eps·‖A‖‖x‖, so ‖r‖² only to its square.)"""
    if session.loss != "energy":
        return None
    ref = max(abs(scale or 0.0), abs(float(loss[0])), abs(f_star))
    return 64 * EPS.get(session.dtype, EPS["float64"]) * ref if ref > 0 else None


def _still_falling(error: np.ndarray, window: int = 20) -> bool:
    n = len(error)
    if n <= window:
        return False
    a, b = float(error[n - 1 - window]), float(error[n - 1])
    return math.isfinite(a) and math.isfinite(b) and b < 0.999 * a


def _oscillating(loss: np.ndarray, window: int = 50) -> bool:
    tail = np.diff(loss[max(0, len(loss) - window) :])
    if tail.size < 10:
        return False
    ups = np.count_nonzero(tail > 0)
    return ups >= 0.25 * tail.size


def _rate_words(session: object, analysis: object, loss: np.ndarray, f_star: float) -> str:
    measured = measured_rate(loss, f_star, session.loss in QUADRATIC)
    if measured is None or not measured < 1:
        return ""
    rate_for = getattr(analysis, "rate_for", None)
    predicted = (
        rate_for(session.optimizer, session.lr, session.optimizer_args) if rate_for else None
    )
    # κ of A, as the Problem panel shows it (the Hessian's is κ² for the squared losses)
    kappa = getattr(analysis, "cond", None)
    text = f"converging at {rate_text(measured)} per iteration"
    if predicted is None or not math.isfinite(predicted) or kappa is None:
        return text
    # "as predicted" within a tenth of the predicted speed (1 − rate): the rate is a worst
    # case over the spectrum, and b may not weigh the slowest direction at all
    if abs(measured - predicted) <= 0.1 * (1 - predicted):
        return f"{text}, as predicted for κ = {kappa:.3g}"
    if measured < predicted:
        return f"{text}, faster than the {rate_text(predicted)} predicted for κ = {kappa:.3g}"
    return f"{text}, slower than the {rate_text(predicted)} predicted for κ = {kappa:.3g}"


def rate_text(rate: float) -> str:
    """A contraction per iteration, readable however close to 1 it is ("0.9828",
    "1 − 3.1e-06")."""
    return f"{rate:.4f}" if rate < 0.9999 else f"1 − {1 - rate:.2g}"


def loss_levels(session: object, exact: np.ndarray) -> tuple[float, float | None]:
    """(f*, scale) for ``explain``: the loss at the exact solution (quadratic losses of a
    linear system; else 0) and the energy's ½bᵀx*, the size of the terms it adds."""
    from .problems import LinearSystem

    p = session.problem
    if not isinstance(p, LinearSystem) or session.loss not in QUADRATIC | {"l1_norm", "l2_norm"}:
        return 0.0, None
    from .rates import loss_value

    x = np.asarray(exact, np.float64).reshape(-1)
    f_star = loss_value(session.loss, p.A, p.b, x, x)
    scale = 0.5 * abs(float(p.b @ x)) if session.loss == "energy" else None
    return f_star, scale
