"""What the plots read from one run: its history and the facts of its problem."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np


def spread(start: int, stop: int, most: int, step: int | None = None) -> np.ndarray:
    """Rows ``start`` to ``stop`` (exclusive), at most about ``most`` of them evenly spread
    (or every ``step``-th), always ending on the newest: what a curve of a long run draws."""
    if step is None:
        step = -(-(stop - start) // max(most, 1))
    step = max(1, step)
    sel = np.arange(start, stop, step)
    if len(sel) and sel[-1] != stop - 1:
        sel = np.append(sel, stop - 1)
    return sel


def spread_rows(
    history: object, most: int, step: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(iterations, iterates) of the recorded trajectory, ``spread`` to at most ``most`` (or
    every ``step``-th)."""
    its, vals = history.trajectory()
    sel = spread(0, len(its), most, step)
    return its[sel], vals[sel]


@dataclass
class RunSource:
    """What the plots read from one run: its history and the facts of its problem."""

    history: object  # solver.run.history.History
    exact: np.ndarray  # flattened reference solution
    names: list[str]  # every unknown's name
    unknown_shape: tuple[int, ...]
    residual: Callable[[np.ndarray], np.ndarray]  # rows of flat x -> rows of flat residuals
    problem: object = None  # the solver problem (the svd views read its reference)
    plotted: np.ndarray | None = None  # unknowns the x plots show (None: every recorded one)
    session: object = None  # the run's session (its loss, lr: the insight views read them)

    @cached_property
    def floor(self) -> object:
        """The run's ``solver.problems.floors.RoundingFloor`` (its residual, error and loss
        below which rounding alone is left), or None where it is not known: values below it
        read 0."""
        from solver.problems.floors import rounding_floor

        if self.problem is None or self.session is None:
            return None
        return rounding_floor(self.problem, self.exact, self.session.dtype)

    def below_floor(self, value: float, what: str) -> bool:
        """Whether ``value`` of ``what`` ("loss", "error", "residual", "entry": one residual
        entry) is within rounding of 0 for this run."""
        f = self.floor
        if f is None:
            return False
        limit = f.loss(self.session.loss) if what == "loss" else getattr(f, what)
        return limit is not None and abs(value) <= limit

    @property
    def matrix_unknowns(self) -> bool:
        """The unknowns form one matrix (an inverse): heat maps show it and its residual."""
        return len(self.unknown_shape) == 2

    @classmethod
    def from_record(cls, rec: object) -> RunSource:
        """The plots' view of a run record (its history must exist)."""
        from solver.problems.kinds import kind_of

        p = rec.session.problem
        exact = np.asarray(kind_of(p).exact(p), float).reshape(-1)
        plotted = None if rec.track is None else np.asarray(rec.track, np.int64)
        return cls(
            rec.history,
            exact,
            p.unknown_names(),
            tuple(p.unknown_shape),
            p.residual_np,
            p,
            plotted,
            rec.session,
        )
