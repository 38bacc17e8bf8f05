"""A run as the window keeps it: the worker's status snapshots (``RunStatus``), a read-only
view of its history (``HistoryView``), and the record the model keeps of it (``RunRecord``:
its session, colour, name and pin). Immutable snapshots and read-only views: nothing here
changes a run, and none of it touches the worker's tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the solver (and torch) loads after the window has painted
    from solver.run.history import History
    from solver.sessions.session import Session

RUN_COLOURS = [
    "#1a56db",
    "#d97706",
    "#059669",
    "#7c3aed",
    "#db2777",
    "#0891b2",
    "#65a30d",
    "#b91c1c",
    "#4b5563",
    "#ca8a04",
]

# Live states of a run, as the worker reports them.
STARTING, RUNNING, PAUSED, FINISHED = "starting", "running", "paused", "finished"


@dataclass(frozen=True)
class RunStatus:
    """One immutable snapshot of a run, published by the worker."""

    run_id: int
    state: str = STARTING  # starting | running | paused | finished
    iteration: int = 0
    entries: int = 0
    stop_reason: str | None = None  # the engine's StopReason value once finished
    message: str = ""
    elapsed: float = 0.0  # seconds the solver spent on this run
    wall: float = 0.0  # wall-clock seconds the run has been going (its pauses left out)
    grad_evals: int = 0
    final_loss: float | None = None
    x: np.ndarray | None = None  # a read-only copy of the unknowns, when it was asked for

    @property
    def live(self) -> bool:
        return self.state in (STARTING, RUNNING, PAUSED)


class HistoryView:
    """Read-only access to a run's History: its arrays only grow, and what is handed out
    cannot be written to."""

    __slots__ = ("_h",)

    def __init__(self, history: History) -> None:
        self._h = history

    def __len__(self) -> int:
        return len(self._h)

    @staticmethod
    def _ro(a: np.ndarray) -> np.ndarray:
        v = a.view()
        v.flags.writeable = False
        return v

    @property
    def loss(self) -> np.ndarray:
        return self._ro(self._h.loss)

    @property
    def residual_norm(self) -> np.ndarray:
        return self._ro(self._h.residual_norm)

    @property
    def error(self) -> np.ndarray:
        return self._ro(self._h.error)

    @property
    def tracked(self) -> np.ndarray:
        return self._ro(self._h.tracked)

    @property
    def names(self) -> list[str]:
        return list(self._h.names)

    @property
    def trajectory_stride(self) -> int:
        return self._h.trajectory_stride

    def trajectory(self) -> tuple[np.ndarray, np.ndarray]:
        its, vals = self._h.trajectory()
        return self._ro(its), self._ro(vals)

    def envelope(
        self, name: str, start: int = 0, stop: int | None = None, max_points: int = 2000
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._h.envelope(name, start, stop, max_points)

    def complete(self) -> bool:
        """Whether every unknown is recorded (else only an even spread of them)."""
        return len(np.unique(self._h.tracked)) == len(self._h.names)

    def iterate(self, k: int) -> np.ndarray | None:
        """All of x after ``k`` updates, or None when it is not kept: not every unknown is
        recorded, or a long run kept only every ``trajectory_stride``-th iterate."""
        if not self.complete():
            return None
        its, vals = self._h.trajectory()
        i = int(np.searchsorted(its, k))
        if i >= len(its) or its[i] != k:
            return None
        x = np.empty(len(self._h.names))
        x[self._h.tracked] = vals[i]
        x.flags.writeable = False
        return x

    def why_no_iterate(self, k: int) -> str:
        """Why ``iterate(k)`` is None, in words for the user."""
        n, kept = len(self._h.names), len(self._h.tracked)
        if kept < n:
            from solver.run.history import MAX_TRACKED as MAX_WHOLE

            return (
                f"this run records {kept:,} of its {n:,} unknowns, the ones the Solver "
                f"panel's Plot x names; whole iterates are kept for up to {MAX_WHOLE:,} unknowns"
            )
        return (
            f"iteration {k:,} is not kept (this long run keeps every "
            f"{self._h.trajectory_stride:,}th iterate)"
        )

    def memory_bytes(self) -> int:
        """Bytes the history's arrays hold (their capacity, not only what is filled)."""
        return self._h.memory_bytes()

    def to_csv(self, path: str) -> None:
        """Write the history as CSV; the file appears only once it is complete."""
        from solver.run.history import save_csv

        save_csv(self._h, path)


@dataclass(eq=False)
class RunRecord:
    """A run the user started. Views read it; only the model changes it."""

    id: int
    session: Session
    colour: str
    name: str
    status: RunStatus
    history: HistoryView | None = None  # set once the worker has created the run
    pinned: bool = False
    stale: bool = False  # its problem is not the current session's
    track: Sequence[int] | None = field(default=None, repr=False)  # the plotted unknowns
    group: str = ""  # "": the user's own run; else the race (or other batch) it belongs to

    @property
    def live(self) -> bool:
        return self.status.live

    def final_loss(self) -> float | None:
        if self.history is None or len(self.history) == 0:
            return None
        return float(self.history.loss[len(self.history) - 1])


def with_x(s: RunStatus, x: np.ndarray) -> RunStatus:

    return replace(s, x=x)
