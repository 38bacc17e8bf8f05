"""The run controls: Run / Pause / Step / Stop become worker commands and model records,
and the worker's status snapshots reach the model (a going run's progress through the next
frame, ``gui.frames``). Owns the worker's thread. A Run pressed before the solver has loaded
is kept and started once it has.

It never calls the window: refusals and messages go through the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6 import QtCore

from solver.core.errors import InputError

from .editing import recorded_indices, track_indices
from .frames import Frames
from .model import IDLE, STARTING_MESSAGE, AppModel
from .records import FINISHED, PAUSED, RUNNING, RunStatus
from .worker import SolverWorker

if TYPE_CHECKING:
    from solver.sessions.session import Session

# How long quitting waits for the worker thread. Every step is interruptible, so it is short;
# a run being created may be inside one native call that is not (an LU of a large matrix):
# the app then ends without waiting for it (``gui.app.threads_left``).
SHUTDOWN_WAIT_MS = 1000


class LiveRun(QtCore.QObject):
    """Owns the worker thread; the window's run controls call its methods."""

    def __init__(self, model: AppModel, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.speed: float | None = None
        self.worker: SolverWorker | None = None
        self._thread: QtCore.QThread | None = None
        self._closing = False
        self.frames = Frames(model, self)  # the redraws, and their hold on the worker
        # Run or Step pressed while the solver loads: (steps,) to start once it is ready
        self._queued: tuple[int | None] | None = None
        model.ready_changed.connect(self._start_queued)
        model.live_discarded.connect(self._discarded)
        model.selection_changed.connect(lambda _r: self.frames.redraw())

    # -- the worker thread -------------------------------------------------------------------
    def start_worker(self) -> None:
        if self.worker is not None or self._closing:
            return
        self.worker = SolverWorker()
        self._thread = QtCore.QThread(self)
        self._thread.setObjectName("solver")
        self.frames.worker = self.worker
        self.worker.moveToThread(self._thread)
        self._thread.started.connect(self.worker.loop)
        self.worker.created.connect(self._created)
        self.worker.status.connect(self._status)
        self.worker.failed.connect(self._failed)
        self._thread.start()
        self.worker.set_speed(self.speed)

    def shutdown(self, wait_ms: int = SHUTDOWN_WAIT_MS) -> bool:
        """Stop the run and the worker thread, waiting at most ``wait_ms`` for it. True when
        the thread has ended; False while it is inside a call that cannot be interrupted
        (``running``): it is never forced, and the thread must not be destroyed meanwhile."""
        if not self._closing:
            self._closing = True
            self.frames.close()
            if self.worker is not None:
                self.worker.shutdown()
                self._thread.quit()
        if self._thread is None:
            return True
        return self._thread.wait(max(0, int(wait_ms)))

    def running(self) -> bool:
        """Whether the worker thread still runs (after ``shutdown``: it could not stop)."""
        return self._thread is not None and self._thread.isRunning()

    # -- controls ----------------------------------------------------------------------------
    def start(
        self,
        steps: int | None = None,
        session: Session | None = None,
        name: str = "",
        group: str = "",
    ) -> bool:
        """A new run of the current session, or of ``session`` (a race's entrant, named
        ``name``, kept with the runs of its ``group``), for ``steps`` updates then a pause
        (None: to a stop rule). The previous live run is stopped and stays listed. False
        (said why) if it cannot."""
        m = self.model
        if not m.ready and m.table_error is None and not self._closing:
            # Said, not ignored: the press is kept and acted on as soon as it can be.
            self._queued = (steps,)
            m.message.emit("The run will start as soon as the solver has loaded…")
            m.queued_changed.emit(True)
            return False
        if not m.can_run() or self.worker is None:
            m.refuse("Cannot run", m.table_error or "the solver is still loading")
            return False
        s = m.session if session is None else session
        try:
            track = track_indices(s, m.track_text)
        except ValueError as exc:
            m.refuse("Cannot run", str(exc))
            return False
        rec = m.add_run(s, track, group)
        if name:
            m.rename(rec, name)
        self.frames.restart_pace()
        self.worker.start(rec.id, s, recorded_indices(s, track), steps)
        m.message.emit(STARTING_MESSAGE)
        return True

    def start_from(self, x: object, where: str = "") -> bool:
        """A new run from ``x`` with the current settings ("Continue from here", a click on
        the landscape; ``where`` names the point). The run's own session starts there, so it
        can be reproduced; the session's Initial x stays: later runs and races start from it."""
        s = self.model.session
        if s is None:
            return False
        try:
            s = s.replace(init="values", init_values=np.asarray(x, float).reshape(-1))
        except InputError as exc:
            self.model.refuse("Cannot run from there", str(exc))
            return False
        if not self.start(session=s):
            return False
        where = where or "the chosen point"
        self.model.message.emit(
            f"Running from {where} (this run only: the session's Initial x is unchanged)…"
        )
        rid, m = self.model.live_id, self.model

        def finished(run_id: int, _reason: str, message: str) -> None:
            if run_id == rid:
                m.run_finished.disconnect(finished)
                # after the driver's own word on the run, which would replace this one
                QtCore.QTimer.singleShot(
                    0,
                    lambda: m.message.emit(
                        f"{message[:1].upper()}{message[1:]} · ran from {where}"
                    ),
                )

        m.run_finished.connect(finished)
        return True

    @property
    def queued(self) -> bool:
        return self._queued is not None

    def _start_queued(self, ready: bool) -> None:
        if ready and self._queued is not None and not self._closing:
            (steps,), self._queued = self._queued, None
            self.model.queued_changed.emit(False)
            if self.model.state == IDLE:
                self.start(steps)

    def run_or_resume(self) -> None:
        """F5: resume a paused run, else start a new one."""
        state = self.model.state
        if state == PAUSED:
            self.worker.resume()
        elif state == IDLE:
            self.start()

    def toggle_pause(self) -> None:
        state = self.model.state
        if state == PAUSED:
            self.worker.resume()
        elif state != IDLE:
            self.worker.pause()

    def pause(self) -> None:
        if self.model.state not in (IDLE, PAUSED):
            self.worker.pause()

    def resume(self) -> None:
        if self.model.state == PAUSED:
            self.worker.resume()

    def step(self, n: int = 1) -> None:
        """Apply ``n`` updates and pause; from idle, start a new run that does so."""
        if self.model.state == IDLE:
            self.start(steps=n)
        elif self.worker is None:
            return
        else:
            self.worker.step(n)

    def stop(self) -> None:
        if self._queued is not None:
            self._queued = None
            self.model.queued_changed.emit(False)
            self.model.message.emit("The queued run was cancelled")
            return
        if self.worker is not None and self.model.state != IDLE:
            self.worker.stop()

    def reset(self) -> None:
        """Discard the selected run and its history (stopping it if it is live)."""
        rec = self.model.selected
        if rec is None:
            return
        self.model.delete(rec)
        self.model.message.emit(f"Discarded {rec.name} and its history")

    def set_speed(self, iterations_per_second: float | None) -> None:
        self.speed = iterations_per_second
        if self.worker is not None:
            self.worker.set_speed(iterations_per_second)

    def _discarded(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    # -- worker signals ----------------------------------------------------------------------
    def _created(self, run_id: int, history: object) -> None:
        self.model.run_created(run_id, history)
        self.frames.redraw()

    def _status(self, status: RunStatus) -> None:
        m = self.model
        rec = m.run(status.run_id)
        if (
            status.state == RUNNING
            and status.run_id == m.live_id
            and rec is not None
            and rec.status.state == RUNNING
            and self.frames.show_later(status)
        ):
            return
        self.frames.drop_pending()
        m.update_status(status)
        if status.run_id != m.live_id:
            return
        if status.state == PAUSED:
            m.message.emit(f"Paused at iteration {status.iteration:,}")
            self.frames.draw_now()
        elif status.state == FINISHED:
            self.frames.draw_now()
            m.message.emit(status.message[:1].upper() + status.message[1:])
            if status.stop_reason == "error":
                m.refuse("The run failed", status.message)
        elif status.state == RUNNING and m.selected is not None:
            self.frames.redraw()

    def _failed(self, run_id: int, message: str) -> None:
        self.model.run_failed(run_id, message)

    @property
    def thread(self) -> QtCore.QThread | None:
        """The worker's thread (None before ``start_worker``)."""
        return self._thread
