"""Why a run stopped, where in a block a stop rule acts, and how the run says so."""

from __future__ import annotations

import math
from enum import StrEnum

import numpy as np

from solver.problems.divergence import Watch, stop_message


class StopReason(StrEnum):
    CONVERGED = "converged"
    MAX_ITERS = "max_iters"
    DIVERGED = "diverged"
    STOPPED = "stopped"
    ERROR = "error"


def eager_stop(value: float, tol: float, watch: Watch | None, watched: bool) -> StopReason | None:
    """Whether a stop rule acts on the newest loss ``value`` (a run on the CPU reads each
    one at once), and why. ``watched``: the divergence watch has seen it already."""
    if not math.isfinite(value) or (
        watch is not None and (watch.verdict is not None if watched else watch.feed_one(value))
    ):
        return StopReason.DIVERGED
    if tol > 0 and value < tol:
        return StopReason.CONVERGED
    return None


def block_stop(
    losses: np.ndarray, finite_x: np.ndarray, tol: float, watch: Watch | None, lazy: bool
) -> tuple[int | None, StopReason | None]:
    """The first row of a block where a stop rule acts, and why (None, None: none does).
    A loss or a point that is not finite diverged; a lazy block, whose losses the loop has
    not seen one by one, also meets the divergence watch and the tolerance here."""
    bad = ~np.isfinite(losses) | ~finite_x
    stop_at, reason = None, None
    if bad.any():
        stop_at, reason = int(np.argmax(bad)), StopReason.DIVERGED
    if lazy and watch is not None:
        j = watch.feed(losses[: len(losses) if stop_at is None else stop_at])
        if j is not None:
            stop_at, reason = j, StopReason.DIVERGED
    if lazy:
        below = losses < tol if tol > 0 else np.zeros(len(losses), bool)
        if below.any() and (stop_at is None or int(np.argmax(below)) < stop_at):
            stop_at, reason = int(np.argmax(below)), StopReason.CONVERGED
    return stop_at, reason


def finish_message(
    reason: StopReason,
    iteration: int,
    last: float,
    tol: float,
    max_iters: int,
    verdict: object,
    unstable: str | None,
) -> str:
    """What a run says when it stops for ``reason`` at ``iteration`` with loss ``last``
    (``verdict``: the divergence watch's, ``unstable``: the step-size rule's reason)."""
    if reason is StopReason.CONVERGED:
        return f"converged: loss {last:.3g} < tol {tol:.3g}"
    if reason is StopReason.MAX_ITERS:
        return f"reached max iterations ({max_iters})"
    if reason is StopReason.STOPPED:
        return f"stopped by you at iteration {iteration}"
    if reason is StopReason.DIVERGED:
        return stop_message(verdict, iteration, last, unstable)
    return ""
