"""The application model: the current session, the runs, the selection, the inspected
iteration. A ``QObject`` with signals and no widgets; every view subscribes to it and none
calls another view.

Runs are ``RunRecord``s: the session they ran, a read-only view of their history, their
latest status snapshot from the worker, a colour, and what the user made of them (name, pin).
The model keeps the user's last ``KEEP_RUNS`` unpinned runs plus every pinned one, and the
runs of the latest race as a group of their own (a race must not push the user's runs out;
the next race replaces them). A run whose
problem is not the current session's is ``stale``: it stays listed (greyed) but no view shows
it as if it were current.

Edits and the live-run driver change the model or speak through it (``refused``,
``message``); they never call the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore

from .records import (
    FINISHED,
    RUN_COLOURS,
    STARTING,
    HistoryView,
    RunRecord,
    RunStatus,
    with_x,
)

if TYPE_CHECKING:  # the solver (and torch) loads after the window has painted
    from solver.run.history import History
    from solver.sessions.session import Session

KEEP_RUNS = 8
# What the run controls show: the live run's state, or idle when none is live.
# A table error that is work on its way (a large problem built, or a large file read, off the
# GUI thread), not a mistake to fix: Run and Save wait for it instead of asking for a fix.
PENDING = " is still being "


def pending(text: str | None) -> bool:
    """Whether the table error ``text`` says work is on its way (see ``PENDING``)."""
    return bool(text) and PENDING in text


IDLE = "idle"
# The status bar's message while a run is being created; it goes once the run is not.
STARTING_MESSAGE = "Starting…"


class AppModel(QtCore.QObject):
    """See the module docstring. All methods run on the GUI thread."""

    # session, note, whether the tables must be refilled with its problem
    session_changed = QtCore.Signal(object, str, bool)
    analysis_changed = QtCore.Signal(object)  # solver Analysis, an exception, or None (busy)
    table_error_changed = QtCore.Signal(object)  # str | None
    notice_changed = QtCore.Signal(object)  # str | None: what an edit did beyond what was asked
    runs_changed = QtCore.Signal()  # membership, order, names, pins or staleness
    run_updated = QtCore.Signal(int)  # run id: a new status or history
    selection_changed = QtCore.Signal(object)  # RunRecord | None
    inspected_changed = QtCore.Signal(object)  # iteration (int) | None
    state_changed = QtCore.Signal(str)  # idle | starting | running | paused
    run_finished = QtCore.Signal(int, str, str)  # run id, stop reason, message
    refused = QtCore.Signal(str, str)  # title, text: a refusal or failure to show the user
    session_reverted = QtCore.Signal(object)  # a refused edit: panels show the session again
    live_discarded = QtCore.Signal()  # the live run was deleted: the driver stops it
    message = QtCore.Signal(str)  # a status line
    ready_changed = QtCore.Signal(bool)
    queued_changed = QtCore.Signal(bool)  # a run was asked for before the solver had loaded
    label_changed = QtCore.Signal(str)  # the session's name (file name, preset title)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self.session_label = ""
        self.analysis: Any = None
        self.table_error: str | None = None
        self.notice: str | None = None
        self.runs: list[RunRecord] = []
        self.selected: RunRecord | None = None
        self.inspected: int | None = None
        self.live_id: int | None = None  # the run the worker drives
        self.track_text = ""  # the user's "Plot x" choice (validated by editing)
        self.ready = False
        self.last_error = ""
        self._next_id = 1

    # -- session -----------------------------------------------------------------------------

    @property
    def runs_started(self) -> int:
        """Runs started since the window opened (deleted ones too)."""
        return self._next_id - 1

    def set_session(
        self, s: Session, note: str = "", *, label: str | None = None, refill: bool = True
    ) -> None:
        """Make ``s`` (already valid) the session. A new problem clears the tables' error and
        turns the runs of other problems stale; ``refill``: the tables must show ``s``'s
        problem (False when they already hold it: an edit typed into them)."""
        old = self.session
        self.session = s
        if label is not None:
            self.set_label(label)
        if old is None or s.problem is not old.problem:
            from solver.problems.kinds import same_problem

            self.set_table_error(None)
            if refill:  # another problem, not the tables' own edit: an old notice is moot
                self.set_notice(None)
            changed = False
            for r in self.runs:
                stale = not same_problem(r.session.problem, s.problem)
                changed |= stale != r.stale
                r.stale = stale
            if changed:
                self.runs_changed.emit()
        self.session_changed.emit(s, note, refill)
        if note:
            self.message.emit(note)

    def set_label(self, label: str) -> None:
        """The session's name, cut to ``solver.core.limits.SESSION_NAME`` (ending in "…")."""
        from solver.core.limits import SESSION_NAME, cut

        label = cut(label, SESSION_NAME)
        self.session_label = label
        self.label_changed.emit(label)

    def set_analysis(self, analysis: object) -> None:
        self.analysis = analysis
        self.analysis_changed.emit(analysis)

    def set_table_error(self, text: str | None) -> None:
        if text != self.table_error:
            self.table_error = text
            self.table_error_changed.emit(text)

    def set_notice(self, text: str | None) -> None:
        """A note beside the problem's tables that stays until dismissed or until another
        problem is loaded: an import that also replaced b said so only in the status line,
        where the next message wiped it."""
        if text != self.notice:
            self.notice = text
            self.notice_changed.emit(text)

    def set_ready(self) -> None:
        self.ready = True
        self.ready_changed.emit(True)

    def refuse(self, title: str, text: str, *, revert: bool = False) -> None:
        """Bad news for the user (the window shows it); nothing else changes. ``revert``:
        the panels put their widgets back to the session."""
        self.last_error = text
        if revert and self.session is not None:
            self.session_reverted.emit(self.session)
        self.refused.emit(title, text)

    def can_run(self) -> bool:
        return self.ready and self.session is not None and self.table_error is None

    # -- runs --------------------------------------------------------------------------------
    def add_run(self, session: Session, track: Sequence[int] | None, group: str = "") -> RunRecord:
        """A new run record (state starting) that becomes the live and selected run;
        ``group`` names the batch it belongs to (a race), "" for the user's own run."""
        rid = self._next_id
        self._next_id += 1
        rec = RunRecord(
            id=rid,
            session=session,
            colour=RUN_COLOURS[(rid - 1) % len(RUN_COLOURS)],
            name=f"Run {rid}",
            status=RunStatus(rid),
            track=track,
            group=group,
        )
        self.runs.append(rec)
        self.live_id = rid
        self._evict()
        self.runs_changed.emit()
        self.select(rec)
        self.state_changed.emit(STARTING)
        return rec

    def _evict(self) -> None:
        """Room for one more run: the user's oldest unpinned runs beyond ``KEEP_RUNS``, and
        every unpinned run of a batch older than the newest one, go."""
        unpinned = [r for r in self.runs if not r.pinned and r.id != self.live_id]
        own = [r for r in unpinned if not r.group]
        live = self.live
        keep = KEEP_RUNS - (1 if live is not None and not live.group else 0)
        newest = next((r.group for r in reversed(self.runs) if r.group), "")
        gone = own[: max(0, len(own) - keep)]
        gone += [r for r in unpinned if r.group and r.group != newest]
        for r in gone:
            self.runs.remove(r)
            if self.selected is r:
                self.selected = None
                self.selection_changed.emit(None)

    def run(self, run_id: int | None) -> RunRecord | None:
        return next((r for r in self.runs if r.id == run_id), None)

    @property
    def live(self) -> RunRecord | None:
        return self.run(self.live_id)

    @property
    def state(self) -> str:
        """What the run controls reflect: the live run's state, or idle."""
        rec = self.live
        if rec is None or not rec.live:
            return IDLE
        return rec.status.state

    def run_created(self, run_id: int, history: History) -> None:
        rec = self.run(run_id)
        if rec is not None:
            rec.history = HistoryView(history)
            self.run_updated.emit(run_id)

    def update_status(self, status: RunStatus) -> None:
        rec = self.run(status.run_id)
        if rec is None:
            return
        before = rec.status
        if status.x is None and before.x is not None:
            # Snapshots without x keep the last one the plots were given.
            status = with_x(status, before.x)
        rec.status = status
        self.run_updated.emit(rec.id)
        if status.state != before.state and rec.id == self.live_id:
            self.state_changed.emit(self.state)
            if status.state == FINISHED:
                self.run_finished.emit(rec.id, status.stop_reason or "stopped", status.message)

    def run_failed(self, run_id: int, message: str) -> None:
        """The worker could not create or continue the run: it ends with reason error."""
        rec = self.run(run_id)
        if rec is not None and rec.live:
            self.update_status(
                replace(rec.status, state=FINISHED, stop_reason="error", message=message)
            )
        self.refuse("The run could not continue", message)

    def select(self, rec: RunRecord | None) -> None:
        if rec is not None and rec not in self.runs:
            return
        if rec is not self.selected:
            self.selected = rec
            self.inspected = None
            self.selection_changed.emit(rec)

    def pin(self, rec: RunRecord, on: bool = True) -> None:
        rec.pinned = on
        if not on:
            self._evict()
        self.runs_changed.emit()

    def rename(self, rec: RunRecord, name: str) -> bool:
        from solver.core.limits import RUN_NAME

        name = name.strip()
        if not name:
            self.refuse("Run not renamed", "a run's name cannot be empty")
            return False
        if not RUN_NAME.holds(name):
            # Qt lays a name out whole to paint and size its column: 600,000 characters
            # crashed the table.
            self.refuse(
                "Run not renamed",
                f"a run's name is at most {int(RUN_NAME.hi)} characters; this one has "
                f"{len(name):,}",
            )
            return False
        rec.name = name
        self.runs_changed.emit()
        return True

    def delete(self, rec: RunRecord) -> None:
        """Forget a run (the live one must be stopped first: the driver does that)."""
        if rec not in self.runs:
            return
        self.runs.remove(rec)
        if rec.id == self.live_id:
            self.live_id = None
            if rec.live:
                self.live_discarded.emit()
            self.state_changed.emit(IDLE)
        if self.selected is rec:
            self.selected = None
            self.inspected = None
            self.selection_changed.emit(None)
        self.runs_changed.emit()

    def inspect_step(self, delta: int) -> None:
        """Move the inspected iteration by ``delta`` (from the newest when none is); the
        newest iteration of a live run means following it again."""
        rec = self.selected
        if rec is None or rec.history is None or len(rec.history) == 0:
            return
        newest = len(rec.history) - 1
        k = min(max((newest if self.inspected is None else self.inspected) + delta, 0), newest)
        self.inspect(None if k == newest and rec.live else k)

    def inspect(self, iteration: int | None) -> None:
        """The iteration under inspection in the selected run (None: the newest)."""
        if iteration is not None and (self.selected is None or self.selected.history is None):
            return
        if iteration is not None:
            iteration = int(min(max(iteration, 0), max(len(self.selected.history) - 1, 0)))
        if iteration != self.inspected:
            self.inspected = iteration
            self.inspected_changed.emit(iteration)
