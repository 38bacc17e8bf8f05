"""Why a run behaves as it does, in one sentence: the status line that follows the run.

``explain`` reads a run's loss and error histories beside the analysis of its problem and
says the first of these that holds, most urgent first:

* diverging since iteration k (the loss above its start and growing for ``GROWING``
  iterations: said long before it overflows), and why when it is certain
  (``solver.problems.divergence``: the rule the engine stops on, e.g. lr · L > 2 for plain gd);
* at rounding: the loss within its precision's rounding floor of its minimum
  (``solver.problems.floors.rounding_floor``, for every loss, float32 and float64), the error still
  falling or not;
* stalled above that floor (no new best loss for ``STALL`` iterations, or flat to ``FLAT``
  over the last tenth of a shorter run);
* the L1 loss oscillating (fixed-size steps: its gradient does not shrink near the minimum);
* converging at the measured rate, against the rate the spectrum predicts for κ;
* else how the loss moved (too few iterations for a rate, or not falling steadily);
* an under-determined or rank-deficient least-squares problem heading for the
  minimum-norm solution (gd's steps Aᵀ(…) never leave A's row space), before any of the
  calm ones.

Pure numpy on arrays the caller hands in: the window calls it per frame, ``--json`` once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from solver.problems.divergence import GROWING as GROWING  # the caption's and the engine's rule
from solver.problems.divergence import growing_since, judge, unstable_step
from solver.problems.linear import LinearSystem
from solver.problems.losses import LOSSES

from . import rates
from .anatomy import gradient_formula
from .rates import MEASURE_MIN, QUADRATIC, measured_rate, rate_text, rate_texts

STALL = 500  # iterations without a new best loss that make a run stalled
FLAT = 1e-6  # a shorter run's last tenth this flat (relative), with no new best, has stalled
LBFGS_TOLERANCE_CHANGE = 1e-9  # torch's default
# Their steps are combinations of gradients Aᵀ(…) (and of earlier steps): they never leave
# A's row space. Adam and its kin rescale each coordinate, and so leave it.
ROW_SPACE = frozenset({"gd", "sgd", "lbfgs"})


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
    The rule, and when it is certain, is ``solver.problems.divergence``'s, as the engine's stop."""
    return growing_since(loss)


def _divergence(session: object, analysis: object, loss: np.ndarray) -> Explanation | None:
    """The overflow, or the divergence ``solver.problems.divergence`` finds, in the engine's
    words."""
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
    floor: float | None = None,
) -> Explanation | None:
    """The sentence for a run of ``session`` whose history holds ``loss`` and ``error``
    (one entry per iteration, the start included). ``analysis``: its problem's Analysis (or
    None); ``f_star``: the loss at the exact solution; ``floor``: how far above f* the loss
    is rounding in the run's precision (``loss_levels``), None where it is not known."""
    n = len(loss)
    if n < 2:
        return None
    said = _divergence(session, analysis, loss)
    if said is not None:
        return said
    said = _progress(session, analysis, loss, error, f_star, floor)
    shape = getattr(analysis, "shape", None)
    rank = getattr(analysis, "rank", None)
    if not (shape and rank is not None and rank < shape[1] and LOSSES[session.loss].least_squares):
        return said
    what = "under-determined" if shape[0] < shape[1] else f"rank {rank} < {shape[1]} unknowns"
    head = f"{what}: infinitely many solutions; " + _which_solution(session, loss, error, f_star)
    if said.alarming:  # the alarm first, then which solution the run was heading for
        return Explanation(said.kind, f"{said.text}; {head}")
    return Explanation("minimum_norm", f"{head}; {said.text}")


def _progress(
    session: object,
    analysis: object,
    loss: np.ndarray,
    error: np.ndarray,
    f_star: float,
    floor: float | None,
) -> Explanation:
    """What a run that neither diverged nor overflowed is doing: at rounding, stalled,
    oscillating, converging at a rate, or (short or bumpy histories) how its loss moved. Every
    history of two or more losses gets a sentence."""
    n = len(loss)
    excess = float(loss[n - 1]) - f_star
    dtype = session.dtype
    if floor is not None and excess <= floor:
        name = _loss_name(session.loss)
        if _still_falling(error):
            return Explanation(
                "rounding",
                f"at rounding ({dtype}): the {name} is within its rounding floor "
                f"(~{floor:.0e}) of its minimum while the error still falls",
            )
        above = np.flatnonzero(loss[:n] - f_star > floor)
        stayed = n - 1 - (int(above[-1]) if above.size else 0)
        at = f", at {excess:.2g}" if excess > 0 else ""
        return Explanation(
            "converged",
            f"at rounding ({dtype}): the {name} has stayed within {dtype}'s rounding floor "
            f"(~{floor:.0e}) of its minimum for {stayed:,} iteration{'s' * (stayed > 1)}{at}",
        )
    # without a floor, a loss down at 1e-12 of its start makes no new best either: that is
    # converged, not stalled
    above_floor = (
        excess > floor if floor is not None else excess > 1e-12 * max(float(loss[0]) - f_star, 0.0)
    )
    stalled = _stalled_for(loss) if above_floor else None
    if stalled is not None:
        return _stalled(session, analysis, loss, f_star, floor, stalled)
    kind = LOSSES[session.loss]
    if kind.fixed_steps and _oscillating(loss):
        w = loss[max(0, n - 50) :]
        grad = gradient_formula(session.loss, session.problem) or "its gradient"
        return Explanation(
            "oscillating",
            f"{kind.title or kind.label} loss: fixed-size steps (its gradient {grad} does not "
            f"shrink), the loss oscillates around {float(np.median(w)):.3g}",
        )
    words = _rate_words(session, analysis, loss, f_star)
    if words:
        return Explanation("converging", words)
    return Explanation("unsteady", _how_it_moved(loss, f_star))


def _stalled_for(loss: np.ndarray) -> int | None:
    """Iterations since the last new best loss when the run has stalled, else None: no new
    best for ``STALL`` iterations, or (a shorter run) a loss flat to ``FLAT`` over the last
    tenth (``MEASURE_MIN`` iterations at least) with no new best in it."""
    n = len(loss)
    with np.errstate(invalid="ignore"):
        since = n - 1 - int(np.nanargmin(loss[:n])) if n else 0
        if n > STALL + 1 and since >= STALL:
            return since
        w = max(MEASURE_MIN, n // 10)
        if n <= w + 1 or since < w:
            return None
        tail = loss[n - w : n]
        spread = float(np.max(tail) - np.min(tail))
    return since if spread <= FLAT * abs(float(np.min(tail))) else None


def _stalled(
    session: object,
    analysis: object,
    loss: np.ndarray,
    f_star: float,
    floor: float | None,
    since: int,
) -> Explanation:
    n = len(loss)
    excess = float(loss[n - 1]) - f_star
    name = {"lbfgs": "L-BFGS", "gd": "gd"}.get(session.optimizer, session.optimizer)
    # f* of a consistent system is rounding itself (1e-31): "at" the loss, not above f*
    least = floor if floor is not None else 1e-12 * abs(float(loss[0]))
    where = f"at {excess:.2g}" if abs(f_star) <= least else f"{excess:.2g} above the minimum"
    if floor is not None:
        where += f", above {session.dtype} rounding (~{floor:.0e})"
    text = f"stalled {where}: {name} has made no progress for {since:,} iterations"
    change = (session.optimizer_args or {}).get("tolerance_change", LBFGS_TOLERANCE_CHANGE)
    if session.optimizer == "lbfgs" and isinstance(change, int | float) and excess < change:
        # torch's L-BFGS ends a step when the slope along its direction (about twice the
        # excess, for a quadratic) is below tolerance_change: from here on no step moves
        text += f" (its steps end once the loss changes less than tolerance_change = {change:g})"
    limit = getattr(analysis, "max_stable_lr", None)
    if session.optimizer == "gd" and limit and session.lr > limit:
        # a loss whose pull is bounded far from the answer (Huber) does not blow up there:
        # near it each step overshoots, away from it each is bounded, and it goes round
        text += (
            f": lr = {session.lr:.3g} is above 2/L = {limit:.3g}, so near the answer each "
            "step overshoots it"
        )
    return Explanation("stalled", text)


def _how_it_moved(loss: np.ndarray, f_star: float) -> str:
    """A history with no rate to tell: too short, or not falling over its last tenth."""
    n = len(loss)
    w = max(MEASURE_MIN, n // 10)
    first, last = float(loss[0]), float(loss[n - 1])
    if last <= f_star:  # no floor was given to call it rounding
        return f"the loss is at its minimum ({last:.3g}) after {n - 1:,} iterations"
    if n <= w:
        return (
            f"{n - 1:,} iteration{'s' if n > 2 else ''}, too few to measure a rate: the loss "
            f"went from {first:.3g} to {last:.3g}"
        )
    before = float(loss[n - 1 - w])
    best = int(np.nanargmin(loss[:n]))
    return (
        f"the loss is not falling steadily: {before:.3g} {w:,} iterations ago, {last:.3g} now "
        f"(best {float(loss[best]):.3g} at iteration {best:,})"
    )


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
    return LOSSES[loss].called


def _still_falling(error: np.ndarray, window: int = 20) -> bool:
    """Whether the error's median over the last ``window`` iterations (a twentieth of the run
    when longer) is below the one before: a float32 error that jitters between a few rounded
    levels (the svd's 1.3e-07, 2.4e-07, 6.0e-07) is not falling, whichever level it ends on."""
    n = len(error)
    w = max(window, n // 20)
    if n < 2 * w:
        return False
    with np.errstate(invalid="ignore"):
        a, b = float(np.median(error[n - 2 * w : n - w])), float(np.median(error[n - w : n]))
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
    if predicted is None or not math.isfinite(predicted) or kappa is None:
        return f"converging at {rate_text(measured)} per iteration"
    said, then = pair_texts(measured, predicted)
    text = f"converging at {said} per iteration"
    if as_predicted(measured, predicted):
        return f"{text}, as predicted for κ = {kappa:.3g}"
    if measured < predicted:
        return f"{text}, faster than the {then} predicted for κ = {kappa:.3g}"
    return f"{text}, slower than the {then} predicted for κ = {kappa:.3g}"


def as_predicted(measured: float, predicted: float) -> bool:
    """Whether a measured rate is the predicted one: within a tenth of the predicted speed
    (1 − rate), for the rate is a worst case over the spectrum and b may not weigh the
    slowest direction at all."""
    return abs(measured - predicted) <= 0.1 * abs(1 - predicted)


def pair_texts(measured: float, predicted: float) -> tuple[str, str]:
    """The measured and the predicted rate as the caption writes them: each alone where they
    agree (``as_predicted``: telling them apart would print rounding), else together with the
    digits that tell them apart (0.9999 beside 1 − 0.0001 read as one number)."""
    if as_predicted(measured, predicted):
        return rate_text(measured), rate_text(predicted)
    return rate_texts(measured, predicted)


def loss_levels(session: object, exact: np.ndarray) -> tuple[float, float | None]:
    """(f*, floor) for ``explain``: the loss at the exact solution (quadratic losses of a
    linear system; else 0) and how far above it the loss is rounding in the session's
    precision (``solver.problems.floors.rounding_floor``; None where it cannot be measured)."""
    from solver.problems.floors import rounding_floor

    p = session.problem
    found = rounding_floor(p, exact, session.dtype)
    floor = None if found is None else found.loss(session.loss)
    if not isinstance(p, LinearSystem) or not rates.has_value(session.loss):
        return 0.0, floor
    x = np.asarray(exact, np.float64).reshape(-1)
    return rates.loss_value(session.loss, p.A, p.b, x, x), floor


def insight(run: object, analysis: bool = True) -> dict:
    """The headless summary's measured rate, conjugate gradient's count and the sentence
    that explains the run, for ``run``; ``analysis=False``: the measured rate alone (the
    others need the run's analysis)."""
    s = run.session
    problem = run.problem
    rate = cg = said = None
    if isinstance(problem, LinearSystem) and s.loss in rates.RATED:
        a, b = rates.product_matrix(problem), np.asarray(problem.b, float)
        f_star = rates.loss_value(s.loss, a, b, run.exact, run.exact)
        rate = measured_rate(run.history.loss, f_star, s.loss in QUADRATIC)
        if analysis:
            cg = rates.cg_iterations(problem, s.loss, s.tol)
    if analysis:
        f_star, scale = loss_levels(s, run.exact)
        said = explain(s, run.analysis(), run.history.loss, run.history.error, f_star, scale)
    return {
        "measured_rate": rate,
        "cg_iterations": cg,
        "explanation": None if said is None else said.text,
    }
