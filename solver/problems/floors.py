"""Rounding floors: how close to its minimum a run in each precision can be told apart from
rounding. The explanation says "at rounding" below it, and the displays show 0 there. Each
loss says how its own floor follows from the residual's rounding (``Loss.floor``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from solver.settings.precisions import PRECISIONS, precision

from .losses import LOSSES, SLACK

if TYPE_CHECKING:
    from .linear import Problem

# The energy is ½xᵀ(r − b) + ½bᵀx*: a difference of terms of size ½bᵀx*, whose dot product
# over n terms and the offset round by up to a few dozen units in the last place.
ENERGY_SLACK = 64.0
_PROBES = 4  # random-sign probes that measure the size of the residual's terms


@dataclass(frozen=True)
class RoundingFloor:
    """What rounding alone leaves of a run's residual, error and loss near the solution, in
    the run's precision: the residual's terms (the target and K(x*)) and x* each rounded to
    ``SLACK`` units in their last place."""

    dtype: str
    entry: float  # one residual entry's rounding (rms over the entries)
    entries: int  # how many residual entries the losses sum
    residual_star: float  # ‖r(x*)‖: 0 for a consistent system
    error: float  # ‖x − x*‖ below this is x*'s own rounding
    energy_terms: float  # ½|bᵀx*|, the energy's terms (0 where it has none)

    @property
    def eps(self) -> float:
        return precision(self.dtype).eps

    @property
    def residual(self) -> float:
        """‖r‖ below this is rounding (above ‖r*‖ by no more than rounding)."""
        return (
            self.residual_star
            + math.sqrt(self.entries) * self.entry
            + SLACK * self.eps * self.residual_star
        )

    def loss(self, name: str) -> float | None:
        """How far above its minimum loss ``name`` is rounding; None for an unknown loss."""
        if name == "energy":
            return ENERGY_SLACK * self.eps * self.energy_terms if self.energy_terms else None
        loss = LOSSES.get(name)
        if loss is None or loss.floor is None:
            return None
        return loss.floor(self.entry, self.entries, self.residual_star, self.eps)


def rounding_floor(problem: Problem, exact: np.ndarray, dtype: str) -> RoundingFloor | None:
    """The ``RoundingFloor`` of ``problem`` (solved by ``exact``, its flat reference solution)
    in ``dtype`` ("float32" | "float64"); None where the residual cannot be measured there.

    The residual's terms are measured, not derived per kind: r(0) is minus the target (b, I,
    M), and r(x* + h·x*∘ξ) − r(x*) over h is K(x*∘ξ), whose square averaged over random signs ξ
    is the sum of its terms' squares."""
    known = PRECISIONS.get(dtype)
    eps = None if known is None else known.eps
    x = np.asarray(exact, np.float64).reshape(1, -1)
    if eps is None or not np.all(np.isfinite(x)):
        return None
    h = 2.0**-10  # small against x*, large against float64 rounding of the difference
    xi = np.random.default_rng(0).choice([-1.0, 1.0], size=(_PROBES, x.shape[1]))
    with np.errstate(all="ignore"):
        r = np.asarray(problem.residual_np(np.vstack([np.zeros_like(x), x, x + h * x * xi])))
        terms = np.mean(((r[2:] - r[1]) / h) ** 2, axis=0) + r[0] ** 2
    if not (np.all(np.isfinite(terms)) and np.all(np.isfinite(r[1]))):
        return None
    m = int(r.shape[1])
    scale = math.sqrt(float(np.mean(terms)))
    r_star = float(np.linalg.norm(r[1]))
    if r_star <= SLACK * precision("float64").eps * scale * math.sqrt(m):
        r_star = 0.0  # a consistent system: r(x*) here is float64's own rounding
    b = np.asarray(getattr(problem, "b", np.zeros(0)), np.float64).reshape(-1)
    # the energy's terms, where it has some (a square A: b and x* of one size)
    energy = 0.5 * abs(float(b @ x[0])) if b.shape == x[0].shape else 0.0
    return RoundingFloor(
        dtype=dtype,
        entry=SLACK * eps * scale,
        entries=m,
        residual_star=r_star,
        error=SLACK * eps * float(np.linalg.norm(x)),
        energy_terms=energy,
    )
