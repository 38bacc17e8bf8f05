"""The live-run driver: the run controls, the worker's thread, and the frame scheduler.

It turns Run / Pause / Step / Stop into worker commands and model records, feeds the worker's
status snapshots into the model, and paces redraws: each frame holds the worker (see
``gui.worker``: a run that releases the GIL is not parked by it), emits ``frame`` for the
views to pull what they show, and releases the worker once the event loop has painted.
While a run goes, frames follow one another at their own pace, taking at most
``FRAME_SHARE`` of wall time with the solver parked (``FRAME_SHARE_BESIDE`` of the GUI's
core beside a solver that is not, ``FRAME_SHARE_SHARED`` beside one that leaves it a core
for the frame), so the solver keeps the rest. How a run lives with the frames follows what the
machine gives (``gui.machine.frame_mode``: the cores this process may use and, re-read about
once a second, how many the other processes leave free). A Run pressed before the
solver has loaded is kept and started once it has.

It never calls the window: refusals and messages go through the model.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from PySide6 import QtCore

from .editing import recorded_indices, track_indices
from .machine import ONE_THREAD_BELOW, Machine
from .model import FINISHED, IDLE, PAUSED, RUNNING, STARTING_MESSAGE, AppModel, RunStatus
from .worker import SolverWorker

if TYPE_CHECKING:
    from solver.sessions.session import Session

# Share of wall time the GUI may spend drawing with the solver parked, while a run is live;
# a solver that runs outside the GIL is not parked, and then the GUI may use this much of
# its own core.
FRAME_SHARE = 0.12
FRAME_SHARE_BESIDE = 0.6
# ...and this much beside a solver that shares a core with each frame (``SolverWorker.shares``):
# it goes on at about half speed meanwhile. Where a frame of all plots costs 5.5 ms, 0.25
# measured 0.93x at 40 frames a second at n = 2000, 0.35 0.90x at 49; where it costs 6.5 ms,
# 0.25 gave 28-34 frames a second (0.87-0.92x), 0.28 36-42 (0.87-0.91x), 0.3 42-43 (0.85-0.89x).
FRAME_SHARE_SHARED = 0.28
# A shared chunk is asked to last this many times the expected frame: one that ended first
# would want the GIL back while the frame holds it.
SHARE_MARGIN = 1.3
MAX_FPS = 60
# With fewer cores than ONE_THREAD_BELOW left free by other processes a frame has no core of
# its own: whatever it draws beside the solver, it takes from the solver (and holds the GIL
# the solver's thread wants between its chunks). Frames then come at most this often, counted
# from one frame's start to the next. The process gets about a fair share of the cores, and
# the frames' CPU time comes out of it: at n = 3 the window's thread took 0.13 of a core at
# 25 frames a second and the solver's 0.56 against 0.73 alone (0.77x); 22 keeps 20 a second
# with room and leaves the solver 0.8x or more.
BUSY_FPS = 22
MAX_GAP = 0.25  # the plots redraw at least 4 times a second while a run goes
COST_FRAMES = 5  # a frame's cost, for the pace of the next, is the median of this many
# How long quitting waits for the worker thread. Every step is interruptible, so it is short;
# a run being created may be inside one native call that is not (an LU of a large matrix):
# the app then ends without waiting for it (``gui.app.threads_left``).
SHUTDOWN_WAIT_MS = 1000


class LiveRun(QtCore.QObject):
    """Owns the worker thread; the window's run controls call its methods."""

    # Draw now: (everything: every range may move this frame; tight: fit ranges to the data).
    frame = QtCore.Signal(bool, bool)
    # A frame has ended: painted, the worker released, the next one's time set
    frame_ended = QtCore.Signal()

    def __init__(self, model: AppModel, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.speed: float | None = None
        self.wants_x: Callable[[], bool] = lambda: False
        self.worker: SolverWorker | None = None
        self._thread: QtCore.QThread | None = None
        self._closing = False
        self._busy = 0.0  # seconds of GUI work (frames, paints) since the last frame
        self._frames = 0
        self._busy_total = 0.0
        self._cost = 0.0
        self._costs: deque[float] = deque(maxlen=COST_FRAMES)
        self._in_frame = False
        self._frame_t0 = 0.0
        self._next_frame = 0.0
        self._dirty = False
        self._pending: RunStatus | None = None  # progress to show at the next frame
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._frame)
        self.machine = Machine()  # the cores other processes leave free, read once a second
        # Run or Step pressed while the solver loads: (steps,) to start once it is ready
        self._queued: tuple[int | None] | None = None
        model.ready_changed.connect(self._start_queued)
        model.live_discarded.connect(self._discarded)
        model.selection_changed.connect(lambda _r: self.redraw())

    # -- the worker thread -------------------------------------------------------------------
    def start_worker(self) -> None:
        if self.worker is not None or self._closing:
            return
        self.worker = SolverWorker()
        self._thread = QtCore.QThread(self)
        self._thread.setObjectName("solver")
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
            self._timer.stop()
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
        self._next_frame = 0.0
        self.worker.start(rec.id, s, recorded_indices(s, track), steps)
        m.message.emit(STARTING_MESSAGE)
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
        self.redraw()

    def _status(self, status: RunStatus) -> None:
        m = self.model
        rec = m.run(status.run_id)
        if (
            status.state == RUNNING
            and status.run_id == m.live_id
            and rec is not None
            and rec.status.state == RUNNING
            and not self._in_frame
        ):
            # Progress of a run that goes on: shown by the next frame, with the solver
            # parked. Applied now, its views (the status bar, the Runs table, the timeline)
            # would relayout and repaint between frames, against the solver for the GIL:
            # at n = 2000 that was more GUI time than the frames themselves.
            self._pending = status
            self.redraw()
            return
        self._pending = None
        m.update_status(status)
        if status.run_id != m.live_id:
            return
        if status.state == PAUSED:
            m.message.emit(f"Paused at iteration {status.iteration:,}")
            self.draw_now()
        elif status.state == FINISHED:
            self.draw_now()
            m.message.emit(status.message[:1].upper() + status.message[1:])
            if status.stop_reason == "error":
                m.refuse("The run failed", status.message)
        elif status.state == RUNNING and m.selected is not None:
            self.redraw()

    def _failed(self, run_id: int, message: str) -> None:
        self.model.run_failed(run_id, message)

    # -- frames ------------------------------------------------------------------------------
    @contextmanager
    def guard(self) -> Iterator[None]:
        """Run GUI Python with the solver parked, and count its cost. Inside a frame the
        solver is parked already; its paints are part of its cost."""
        w = self.worker
        if self._in_frame or w is None:
            yield
            return
        t0 = time.perf_counter()
        w.hold()
        try:
            yield
        finally:
            w.release()
            self._busy += time.perf_counter() - t0

    def redraw(self) -> None:
        """Ask for a frame (at the pace the frame budget allows)."""
        self._dirty = True
        if self._timer.isActive() or self._closing:
            return
        delay = max(0.0, self._next_frame - time.perf_counter())
        self._timer.start(int(delay * 1000))

    def draw_now(self) -> None:
        """One frame at once, even inside a frame still being painted: what a pause or the
        end of a run shows, and what a test reads the plots after."""
        self._frame(force=True)

    def _frame(self, force: bool = False) -> None:
        """One redraw. The solver stays parked until the event loop has also painted what
        changed: the paints are posted ahead of the zero-timer that ends the frame. ``force``
        (a pause, a finish) draws even inside a frame that is still being painted."""
        if self._closing:
            return
        if self._in_frame:
            if force:
                self._draw()
            return
        self._in_frame = True
        if self.worker is not None:
            self.worker.hold(SHARE_MARGIN * max(self._cost, 1.0 / MAX_FPS / 4))
        # from here the solver is parked, runs beside, or has begun a chunk on one thread:
        # the wait for that is not time it loses, so the frame budget counts from now
        self._frame_t0 = time.perf_counter()
        try:
            self._draw()
        finally:
            QtCore.QTimer.singleShot(0, self._scenes_done)

    def _scenes_done(self) -> None:
        # The plots' scenes turn changed items into repaints in a queued call posted during
        # the draw, and only then post the window's paint: ending the frame one more hop on
        # keeps those paints inside it, with the solver still parked.
        QtCore.QTimer.singleShot(0, self._end_frame)

    def _draw(self) -> None:
        self._dirty = False
        if self._pending is not None:
            status, self._pending = self._pending, None
            self.model.update_status(status)
        if self.worker is not None:
            self.worker.want_x(self.wants_x())
        state = self.model.state
        self.frame.emit(state != RUNNING, state == IDLE)
        # A widget whose size hint changed (the timeline's spin box, as the run grows) relays
        # its parent out first and only then the window, one posted request after another:
        # done now, they stay inside the frame instead of running between frames.
        QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.LayoutRequest)

    def _end_frame(self) -> None:
        spare = self.machine.spare()
        if self.worker is not None:
            self.worker.release()
            # between frames, held by none: the run's mode may follow the machine's load
            self.worker.fit(spare)
        self._in_frame = False
        cost = self._busy + time.perf_counter() - self._frame_t0
        self._busy = 0.0
        self._frames += 1
        self._busy_total += cost
        # The median of the last few, so one slow frame (an axis that moved, or the GUI
        # thread busy elsewhere before the frame could end: a dialog, a long load) does not
        # slow the plots for seconds, as an average did: after gui_stream's 1.5 s blocks the
        # n = 3 plots drew 4-6 frames a second for the next 1.5 s (now 38-47).
        self._costs.append(cost)
        self._cost = statistics.median(self._costs)
        w = self.worker
        if w is None or w.park:
            share = FRAME_SHARE
        else:
            share = FRAME_SHARE_SHARED if w.shares else FRAME_SHARE_BESIDE
        now = time.perf_counter()
        if spare < ONE_THREAD_BELOW:
            # BUSY_FPS from one frame's start to the next, however long the frame took
            least = self._frame_t0 + 1.0 / BUSY_FPS - now
        else:
            least = 1.0 / MAX_FPS
        gap = min(MAX_GAP, max(least, self._cost / share))
        self._next_frame = now + (gap if self.model.state == RUNNING else 0.0)
        if self.worker is not None:
            self.worker.request_progress()
        # While a run goes the plots pull its growing history at the frame pace, not at the
        # pace of its status reports (one per solver slice, which would halve the frames).
        if self._dirty or self.model.state == RUNNING:
            self.redraw()
        self.frame_ended.emit()

    @property
    def in_frame(self) -> bool:
        """A frame is being drawn and painted (the worker is held meanwhile)."""
        return self._in_frame

    @property
    def thread(self) -> QtCore.QThread | None:
        """The worker's thread (None before ``start_worker``)."""
        return self._thread

    @property
    def frame_cost(self) -> float:
        """Seconds a frame costs, the median of the last few: what paces the next."""
        return self._cost

    @property
    def next_frame_in(self) -> float:
        """Seconds until the next frame is due (negative: overdue)."""
        return self._next_frame - time.perf_counter()

    def frame_stats(self) -> tuple[int, float]:
        """(frames drawn, seconds of GUI work with the solver parked) since start-up."""
        return self._frames, self._busy_total + self._busy
