"""The solver worker: a QObject on its own QThread that owns every ``solver.Run``.

Nothing outside this module holds a Run. Commands (start, pause, resume, step, stop, speed,
shutdown) go into one queue and are applied in order on the worker thread, so a Stop or Pause
pressed right after Run acts on the run that Run started, however long its creation takes.
The GUI receives immutable ``RunStatus`` snapshots and, once per run, its History (read only
to the GUI through ``gui.records.HistoryView``; its arrays only grow).

Between slices the worker reads its queue; a new command asks the run to pause at its next
iteration (a Stop also interrupts a long L-BFGS step within one function evaluation). Each
frame opens a window on the worker (``frame_window``), behind which ``gui.gil.GilPolicy``
parks the run, shares a core with it, or lets it go on beside the frame, by the run's mode.
Status is published only when the GUI asked for the next frame (``request_progress``), at most
``PROGRESS_HZ`` a second, and on every change of state.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6 import QtCore

from .gil import FrameWindow, GilPolicy
from .records import FINISHED, PAUSED, RUNNING, RunStatus

if TYPE_CHECKING:  # the solver (and torch) is imported only once the window is up
    from solver.run.engine import Run
    from solver.sessions.session import Session

PROGRESS_HZ = 60
# Target length of one engine slice: the longest the worker goes without reading commands.
SLICE_SECONDS = 1 / 60
# Speeds at or below this many iterations per second advance one update at a time, so each
# iteration is drawn on its own.
SINGLE_STEP_SPEED = 60

STEPPING = "stepping"  # running a counted number of updates; shown as running


@dataclass(frozen=True)
class _Command:
    name: str  # start | pause | resume | step | stop | speed | shutdown
    run_id: int = 0
    session: Session | None = None
    track: Sequence[int] | None = None
    n: int | None = None  # start: updates before pausing (None: run); step: how many
    speed: float | None = None


class SolverWorker(QtCore.QObject):
    """Drives the runs on the thread it lives on. See the module docstring."""

    created = QtCore.Signal(int, object)  # run id, its History (read only for the GUI)
    status = QtCore.Signal(object)  # RunStatus
    failed = QtCore.Signal(int, str)  # run id, message: not created, or an unexpected error

    def __init__(self) -> None:
        super().__init__()
        self._cond = threading.Condition()
        self._queue: deque[_Command] = deque()
        self._quit = False
        self._advancing: Run | None = None  # the run inside advance(), for interrupts
        # how the live run and the frames share the GIL and the cores
        self.policy = GilPolicy(self._cond, lambda: self._advancing)
        # Worker-thread state.
        self._run: Run | None = None
        self._run_id = 0
        self._mode = PAUSED
        self._steps_left = 0
        self._speed: float | None = None
        self._anchor: tuple[float, int] | None = None  # (time, iteration) of the schedule
        self._iter_seconds = 1e-4  # running estimate of one update's cost
        self._last_emit = 0.0
        self._published = ""
        self._wall = 0.0  # the run's wall-clock seconds while it went, up to _wall_since
        self._wall_since: float | None = None  # when it last began going (None: it is not)
        self._progress_wanted = True
        self._want_x = False
        self.idle_event = threading.Event()  # set whenever no update is under way
        self.idle_event.set()

    # -- commands (any thread) ---------------------------------------------------------------
    def _send(self, cmd: _Command) -> None:
        with self._cond:
            if cmd.name == "shutdown":
                self._quit = True
            self._queue.append(cmd)
            self.idle_event.clear()
            run = self._advancing
            if run is not None:
                run.request_pause()  # back to the queue at the next iteration
                # A Stop or quit must not wait for a long step; a Stop queued behind a Start
                # is for the new run, and the Start ends this one anyway.
                if cmd.name == "shutdown" or (
                    cmd.name == "stop" and not any(c.name == "start" for c in self._queue)
                ):
                    run.request_stop()
            self._cond.notify_all()

    def start(
        self,
        run_id: int,
        session: Session,
        track: Sequence[int] | None = None,
        steps: int | None = None,
    ) -> None:
        """Create a run of ``session`` and run it (``steps``: that many updates, then pause).
        A run still live is stopped first and keeps its history."""
        self._send(_Command("start", run_id, session, track, steps))

    def pause(self) -> None:
        self._send(_Command("pause"))

    def resume(self) -> None:
        self._send(_Command("resume"))

    def step(self, n: int = 1) -> None:
        """Apply exactly ``n`` updates from where the run is, then pause."""
        self._send(_Command("step", n=max(1, int(n))))

    def stop(self) -> None:
        """Finish the live run now (reason 'stopped'), keeping its history."""
        self._send(_Command("stop"))

    def set_speed(self, iterations_per_second: float | None) -> None:
        self._send(_Command("speed", speed=iterations_per_second))

    def shutdown(self) -> None:
        """Stop whatever runs and make ``loop`` return (the thread can then quit)."""
        self._send(_Command("shutdown"))

    def request_progress(self) -> None:
        """The GUI is ready for another frame: the next slice publishes its status."""
        self._progress_wanted = True

    def want_x(self, on: bool) -> None:
        """Ask for x in each status (costs one copy of x per frame)."""
        self._want_x = on

    # -- frames (GUI thread) ----------------------------------------------------------------
    def frame_window(self, seconds: float | None = None) -> FrameWindow:
        """Hold the run for a frame of about ``seconds`` until the window is closed: parked,
        sharing a core, or going on beside it, by its mode (``gui.gil``). Nestable; also a
        context manager."""
        return FrameWindow(self.policy, seconds)

    # -- the loop (worker thread) ------------------------------------------------------------
    @QtCore.Slot()
    def loop(self) -> None:
        """Runs until ``shutdown``: applies commands, advances the run in slices."""
        while True:
            try:
                if not self._once():
                    return
            except Exception as exc:  # never die silently: report, drop the run, go on
                text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                rid, self._run, self._mode = self._run_id, None, PAUSED
                with self._cond:
                    self._advancing = None
                    quitting = self._quit
                self.idle_event.set()
                if quitting:
                    return
                try:
                    self.failed.emit(rid, f"unexpected error in the solver thread: {text}")
                except RuntimeError:  # the window (and this QObject's C++ side) is gone
                    return

    def _busy(self) -> bool:
        return (
            self._run is not None and not self._run.finished and self._mode in (RUNNING, STEPPING)
        )

    def _once(self) -> bool:
        with self._cond:
            while not self._queue:
                # a frame holds back only a parked run: one outside the GIL goes on beside it
                if not self.policy.holds_back() and self._busy():
                    wait = self._throttle_wait()
                    if wait <= 0:
                        break
                    self.policy.parked.set()
                    self._cond.wait(wait)
                    continue
                if not self._busy():  # idle even while a frame holds it: nothing to resume
                    self.idle_event.set()
                self.policy.parked.set()
                self._cond.wait(0.5)
            commands = list(self._queue)
            self._queue.clear()
        for cmd in commands:
            if cmd.name == "shutdown":
                self._finish_run(stopped=True)
                self._run = None
                self.idle_event.set()
                return False
            self._apply(cmd)
        if commands:
            return True
        self._slice()
        return True

    def _apply(self, cmd: _Command) -> None:
        run = self._run
        if cmd.name == "start":
            self._finish_run(stopped=True)
            self._create(cmd)
        elif cmd.name == "speed":
            self._speed, self._anchor = cmd.speed, None
        elif run is None or run.finished:
            return  # nothing live: pause, resume, step and stop have nothing to act on
        elif cmd.name == "pause":
            if self._mode != PAUSED:
                self._mode, self._steps_left = PAUSED, 0
                self._publish(force=True)
        elif cmd.name == "resume":
            self._mode, self._anchor = RUNNING, None
            self._publish(force=True)
        elif cmd.name == "step":
            self._mode, self._steps_left = STEPPING, cmd.n or 1
            self._publish(force=True)
        elif cmd.name == "stop":
            self._finish_run(stopped=True)

    def _create(self, cmd: _Command) -> None:
        from solver.core.errors import InputError
        from solver.run.engine import Run

        self._run_id, self._published = cmd.run_id, ""
        self._wall, self._wall_since = 0.0, None
        try:
            run = Run(cmd.session, track=cmd.track)
        except (InputError, ValueError, RuntimeError) as exc:
            self._run = None
            self.failed.emit(cmd.run_id, str(exc).splitlines()[0])
            return
        self.policy.fit_run(run)
        self._run, self._anchor = run, None
        if cmd.n is None:
            self._mode = RUNNING
        elif cmd.n > 0:
            self._mode, self._steps_left = STEPPING, cmd.n
        else:
            self._mode = PAUSED
        self.created.emit(cmd.run_id, run.history)
        if run.finished:  # max_iters 0, or a start that already meets tol or diverged
            self._finish_run(stopped=False)
        else:
            self._publish(force=True)

    def _finish_run(self, stopped: bool) -> None:
        run = self._run
        if run is None:
            return
        if stopped and not run.finished:
            run.stop()
        if self._published != FINISHED:
            self._publish(force=True)
        self.policy.clear()
        self._run = None

    @property
    def advancing(self) -> bool:
        """The worker is inside a slice of the run (``Run.advance``)."""
        return self._advancing is not None

    def _slice(self) -> None:
        run, mode = self._run, self._mode
        if run is None or not self._busy():
            return
        if mode == STEPPING:
            budget = self._steps_left
        elif self._speed is not None:
            budget = self._due(run, self._speed)
            if self._speed <= SINGLE_STEP_SPEED:
                budget = min(budget, 1)
        else:
            budget = None
        cap = max(1, int(SLICE_SECONDS / max(self._iter_seconds, 1e-7)))
        budget = cap if budget is None else min(budget, cap)
        if budget <= 0:
            return
        with self._cond:
            if self.policy.holds_back() or self._queue:
                return
            self._advancing = run
        if self._published != RUNNING:
            self._publish(force=True)
        t0 = time.perf_counter()
        try:
            done = run.advance(max_updates=budget, max_seconds=SLICE_SECONDS)
        finally:
            with self._cond:
                self._advancing = None
        dt = time.perf_counter() - t0
        if done:
            self._iter_seconds = 0.7 * self._iter_seconds + 0.3 * (dt / done)
        if mode == STEPPING:
            self._steps_left -= done
            if self._steps_left <= 0:
                self._mode = PAUSED
        if run.finished:
            self._finish_run(stopped=False)
        else:
            self._publish(force=self._mode == PAUSED)

    def _state(self) -> str:
        run = self._run
        if run is None or run.finished:
            return FINISHED
        return RUNNING if self._mode in (RUNNING, STEPPING) else PAUSED

    def _publish(self, force: bool = False) -> None:
        """Emit the run's status: always when forced (a change of state), otherwise only
        when the GUI asked for a frame and at most PROGRESS_HZ a second."""
        now = time.perf_counter()
        if not force and (not self._progress_wanted or now - self._last_emit < 1 / PROGRESS_HZ):
            return
        run = self._run
        if run is None:
            return
        state = self._state()
        x = None
        if self._want_x or state != RUNNING:
            x = run.x()
            x.flags.writeable = False
        n = len(run.history)
        going = state == RUNNING and self._mode in (RUNNING, STEPPING)
        if self._wall_since is not None:
            self._wall += now - self._wall_since
        self._wall_since = now if going else None
        self._last_emit = now
        self._progress_wanted = False
        self._published = state
        self.status.emit(
            RunStatus(
                run_id=self._run_id,
                state=state,
                iteration=run.iteration,
                entries=n,
                stop_reason=run.stop_reason.value if run.stop_reason is not None else None,
                message=run.message,
                elapsed=run.elapsed,
                wall=self._wall,
                grad_evals=run.grad_evals,
                final_loss=float(run.history.loss[n - 1]) if n else None,
                x=x,
            )
        )

    def _throttle_wait(self) -> float:
        """Seconds until the speed schedule allows the next update (0: go now)."""
        if self._speed is None or self._mode != RUNNING or self._anchor is None:
            return 0.0
        t0, it0 = self._anchor
        due_at = t0 + (self._run.iteration - it0 + 1) / self._speed
        return max(0.0, due_at - time.perf_counter())

    def _due(self, run: Run, speed: float) -> int:
        """Updates the speed schedule allows now; anchors the schedule on first use."""
        now = time.perf_counter()
        if self._anchor is None:
            self._anchor = (now - 1 / speed, run.iteration)
        t0, it0 = self._anchor
        return max(0, int((now - t0) * speed) - (run.iteration - it0))
