"""When a run diverges, and when that is certain: the one rule behind the caption's warning
and the engine's stop (``Session.stop_on_divergence``).

Growing: the loss is above its start and has grown for ``GROWING`` iterations in a row. The
caption says "diverging" from then on, for any optimizer.

Certain: growing, and one of
* the step the optimizer will take is outside its stability region on a quadratic loss whose
  curvature L the analysis knows: plain gd multiplies the error along the top eigenvector of
  the Hessian by |1 − lr·L| at every update, which exceeds 1 exactly when lr·L > 2; torch's
  SGD with momentum β (the heavy ball) by the larger root of z² − (1 + β − lr·L) z + β, which
  leaves the unit circle when lr·L > 2 + 2β (or β > 1). The growth above the start shows that
  the unstable mode is present in the run (a start with no component along it never grows).
* the loss has grown ``HUGE``-fold over its start;
* at its latest growth per iteration, the loss would overflow its dtype within ``GROWING``
  more iterations.

The rule is a function of the step the optimizer will take (``unstable_step``'s ``lr``): a
step-size schedule that will bring the step below 2/L passes that step, and gd is then not
certain to diverge.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from solver.settings.precisions import precision

GROWING = 5  # iterations of growth above the start that make a divergence clear
HUGE = 1e30  # growth over the start that no converging run shows, whatever its optimizer


@dataclass(frozen=True)
class Verdict:
    """A divergence found in a run's losses."""

    onset: int  # the first iteration whose loss is above the start
    at: int  # the iteration where the rule held (the last one looked at, for ``judge``)
    certain: bool
    reason: str  # why, with the numbers ("lr · L = 0.5 × 5.828 = 2.91 > 2")


def unstable_step(
    optimizer: str, lr: float, args: Mapping[str, object], lipschitz: float | None
) -> str | None:
    """Why the step ``optimizer`` takes at ``lr`` (with its ``args``) is outside its stability
    region on a quadratic loss of curvature ``lipschitz``, with the numbers; None when it is
    inside, or when that region is not known (other optimizers, Nesterov or dampened momentum,
    weight decay, a loss that is not quadratic)."""
    if lipschitz is None or not math.isfinite(lipschitz) or lipschitz <= 0 or not lr > 0:
        return None
    beta = 0.0  # gd, and torch's SGD without momentum
    if optimizer == "sgd":
        if any(args.get(k) for k in ("nesterov", "dampening", "weight_decay")):
            return None
        beta = float(args.get("momentum", 0.0) or 0.0)
        if beta > 1:
            return f"momentum β = {beta:.4g} > 1"
    elif optimizer != "gd":
        return None
    bound = 2 + 2 * beta
    if lr * lipschitz <= bound:
        return None
    product = f"lr · L = {lr:.4g} × {lipschitz:.4g} = {_above(lr * lipschitz, bound)}"
    if beta == 0:
        return f"{product} > 2"
    return f"{product} > 2 + 2β = {bound:.4g} (momentum β = {beta:.4g})"


def _above(value: float, bound: float) -> str:
    """``value`` with the digits that show it above ``bound`` (2.0004, not 2)."""
    for digits in range(3, 17):
        text = f"{value:.{digits}g}"
        if float(text) > bound:
            return text
    return repr(value)


def _growth_reason(loss: float, start: float, growth: float, dtype: str) -> str | None:
    """Why a growing loss is certain to diverge whatever the optimizer; None if it is not."""
    if start > 0 and loss >= HUGE * start:
        return f"the loss has grown {loss / start:.3g}-fold since its start"
    top = precision(dtype).max
    room = math.log(top) - math.log(max(loss, 1e-300))  # growth the dtype has left
    if growth > 1 and math.isfinite(growth) and room < GROWING * math.log(growth):
        return (
            f"growing ×{growth:.3g} per iteration, the loss ({loss:.3g}) would overflow "
            f"{dtype} within {GROWING} iterations"
        )
    return None


def growing_since(loss: np.ndarray) -> int | None:
    """Where a divergence began (the first loss above the start), once the loss is above its
    start and has grown for ``GROWING`` iterations in a row; None otherwise."""
    n = len(loss)
    if n <= GROWING:
        return None
    tail = loss[n - GROWING - 1 : n]
    with np.errstate(invalid="ignore"):
        if not (np.all(np.diff(tail) > 0) and tail[-1] > loss[0]):
            return None
        above = np.flatnonzero(loss[:n] > loss[0])
    return int(above[0]) if above.size else n - 1


def judge(
    loss: np.ndarray, dtype: str, step_reason: Callable[[], str | None] = lambda: None
) -> Verdict | None:
    """The verdict on a history whose newest loss is ``loss[-1]``; None when it is not
    growing. ``step_reason``: ``unstable_step`` for the run, asked only when growing."""
    onset = growing_since(loss)
    n = len(loss)
    if onset is None or not math.isfinite(float(loss[n - 1])):
        return None
    why = step_reason()
    if why is None:
        last, prev = float(loss[n - 1]), float(loss[n - 2])
        growth = last / prev if prev > 0 else math.nan
        why = _growth_reason(last, float(loss[0]), growth, dtype)
    if why is None:
        growing = f"the loss has grown for {GROWING} iterations in a row, above its start"
        return Verdict(onset, n - 1, False, growing)
    return Verdict(onset, n - 1, True, why)


class Watch:
    """The rule applied as a run records its losses, block by block: ``feed`` says where in a
    block divergence became certain. Gives what ``judge`` gives on the history so far."""

    def __init__(self, dtype: str, step_reason: Callable[[], str | None]) -> None:
        self.dtype = dtype
        self._step_reason = step_reason
        self._step: str | None | bool = False  # False: not asked yet
        self.start: float | None = None
        self.prev = math.nan
        self.streak = 0  # increases in a row up to the newest loss
        self.onset: int | None = None  # first index above the start
        self.seen = 0  # losses fed so far
        self.verdict: Verdict | None = None

    def feed_one(self, v: float) -> bool:
        """``feed`` for one loss, without numpy (the loop's per-update check): True when
        divergence became certain at it."""
        if self.verdict is not None:
            return False
        i = self.seen
        self.seen += 1
        if self.start is None:
            self.start, self.prev = v, v
            return False
        self.streak = self.streak + 1 if v > self.prev else 0
        growth = v / self.prev if self.prev > 0 else math.nan
        self.prev = v
        if not v > self.start:
            return False
        if self.onset is None:
            self.onset = i
        if self.streak < GROWING or not math.isfinite(v):
            return False
        return self._decide(v, growth, i)

    def feed(self, losses: np.ndarray) -> int | None:
        """Take the next losses in order; the index within ``losses`` where divergence became
        certain (``verdict`` then says why), else None. Losses after it are not taken."""
        v = np.asarray(losses, np.float64)
        m = len(v)
        if m == 0 or self.verdict is not None:
            return None
        first = self.seen
        if self.start is None:
            self.start = self.prev = float(v[0])
        prev = np.empty(m)
        prev[0] = self.prev
        prev[1:] = v[:-1]
        with np.errstate(invalid="ignore"):
            up = v > prev
            above = v > self.start
        if first == 0:
            up[0] = False  # the start itself
        idx = np.arange(m)
        # increases in a row ending at each index: the distance to the last non-increase
        reset = np.maximum.accumulate(np.where(up, -1, idx))
        streak = np.where(reset < 0, self.streak + idx + 1, idx - reset)
        found = None
        for j in np.flatnonzero((streak >= GROWING) & above & np.isfinite(v)):
            if self.onset is None:
                self.onset = first + int(np.argmax(above))
            with np.errstate(divide="ignore"):
                growth = float(v[j] / prev[j]) if prev[j] > 0 else math.nan
            if self._decide(float(v[j]), growth, first + int(j)):
                found = int(j)
                break
        end = m if found is None else found + 1
        if self.onset is None and above[:end].any():
            self.onset = first + int(np.argmax(above[:end]))
        self.prev = float(v[end - 1])
        self.streak = int(streak[end - 1])
        self.seen = first + end
        return found

    def _decide(self, v: float, growth: float, i: int) -> bool:
        why = self._step_reason_once()
        if why is None:
            why = _growth_reason(v, self.start, growth, self.dtype)
        if why is None:
            return False
        self.verdict = Verdict(self.onset, i, True, why)
        return True

    def _step_reason_once(self) -> str | None:
        if self._step is False:
            self._step = self._step_reason()
        return self._step


# The optimizers whose stability region ``unstable_step`` knows: only they need L.
STEP_RULED = frozenset({"gd", "sgd"})


def stop_message(verdict: Verdict | None, iteration: int, last_loss: float, why: str | None) -> str:
    """The engine's message for a run ended as diverged at ``iteration``: by the rule
    (``verdict``), or by a loss or point that is not finite (``why``: the unstable step, if
    known)."""
    if verdict is not None:
        return (
            f"diverging: {verdict.reason}; stopped at iteration {iteration:,} "
            f"(growing since iteration {verdict.onset:,}, loss {last_loss:.3g})"
        )
    text = f"diverged at iteration {iteration}: loss became {last_loss:.3g}"
    return f"{text}; {why}" if why else text
