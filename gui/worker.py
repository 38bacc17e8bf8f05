"""The solver worker: a QObject on its own QThread that drives one ``solver.Run`` at a time.

It never touches widgets; the GUI never touches the Run's tensors. The GUI reads the Run's
History (safe for one writer and many readers) and is told, at most ``PROGRESS_HZ`` times a
second, how far it has grown.

The GIL is what makes or breaks this design. At small n a Run is pure Python and holds the GIL
almost all the time; every Python call the GUI thread makes (a paint callback, a timer slot)
then waits for the interpreter's switch interval. A frame of plots is dozens of such calls, so
a naive design stalls the event loop for hundreds of milliseconds. Instead:

* the worker runs the engine in short slices (``Run.advance(max_updates, max_seconds)``), and
  between slices takes commands and publishes progress;
* the GUI ``hold()``s the worker for each frame (pulling decimated data, then painting):
  ``hold`` asks the Run to pause at the next iteration and waits, without the GIL, until the
  worker sits on its condition; ``release()`` wakes it. The frame runs at full speed and the
  solver loses exactly its duration, which the window keeps to a small share of wall time;
* runs are parked unless one update is long (``park``: below ``PARK_LIMIT`` multiply-adds,
  up to about n = 4000, ~10 ms an update). Small ones are GIL-bound; mid-sized ones run a
  2-thread BLAS that a GUI frame on one of the two cores stalls as a whole (measured at
  n = 2000: 0.49x headless drawing beside it, 0.93x parked). Only updates too long to wait
  for within ``PARK_TIMEOUT`` run on while the GUI draws;
* progress is emitted only when the GUI asked for the next frame (``request_progress``), at
  most ``PROGRESS_HZ`` a second: each signal is a GIL round trip the solver pays for.

Commands (``start``, ``resume``, ``pause``, ``step``, ``stop``, ``reset``, ``set_speed``,
``shutdown``) may be called from any thread; they set state under a lock and wake the worker.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from PySide6 import QtCore

if TYPE_CHECKING:  # the solver (and torch) is imported only once the window is up
    import numpy as np

    from solver.engine import Run
    from solver.session import Session

PROGRESS_HZ = 60
# Target length of one engine slice: the longest the worker goes without reading commands.
SLICE_SECONDS = 1 / 60
# Speeds at or below this many iterations per second advance one update at a time, so each
# iteration is drawn on its own.
SINGLE_STEP_SPEED = 60
# Longest the GUI waits for the worker to park (about one update of a large problem).
PARK_TIMEOUT = 0.03
# Problems whose matrix work per update is below this many multiply-adds are parked for each
# frame: an update then ends well within PARK_TIMEOUT (4000 x 4000 ≈ 10 ms here).
PARK_LIMIT = 20_000_000

IDLE, RUNNING, PAUSED, STEPPING = "idle", "running", "paused", "stepping"


class SolverWorker(QtCore.QObject):
    """Drives a Run on the thread it lives on. See the module docstring for the protocol."""

    # generation, the Run (read-only for the GUI: history, iteration, message).
    run_created = QtCore.Signal(int, object)
    # generation, iteration, history entries; at most PROGRESS_HZ a second while running, and
    # only after the GUI asked (``request_progress``), so it is never told more than it draws.
    progressed = QtCore.Signal(int, int, int)
    # generation, state: "running" | "paused" | "idle".
    state_changed = QtCore.Signal(int, str)
    # generation, stop reason value, message (the engine's words).
    run_finished = QtCore.Signal(int, str, str)
    # generation, message: the run could not be created or the worker hit an unexpected error.
    failed = QtCore.Signal(int, str)

    def __init__(self) -> None:
        super().__init__()
        self._cond = threading.Condition()
        self._quit = False
        self._run: Run | None = None
        self._gen = 0
        self._pending: tuple[int, Session, Sequence[int] | None, int] | None = None
        self._mode = IDLE
        self._steps_left = 0
        self._stop_wanted = False
        self._speed: float | None = None  # iterations per second; None: as fast as possible
        self._hold = 0
        self._in_advance = False
        self._parked = threading.Event()  # set while the loop waits (runs no Python)
        # Park for the GUI unless an update is too long to wait for (see PARK_LIMIT).
        self.park = True
        self._iter_seconds = 1e-4  # running estimate of one update's cost
        self._anchor: tuple[float, int] | None = None  # (time, iteration) of the speed schedule
        self._last_emit = 0.0
        self._progress_wanted = True
        self._want_x = False
        self._drop_run = False
        self._announced = IDLE  # the last state told to the GUI
        self.latest_x: np.ndarray | None = None  # snapshot of x (problem shape), when asked
        self.idle_event = threading.Event()  # set whenever no update is under way
        self.idle_event.set()

    # -- commands (any thread) ---------------------------------------------------------------
    def start(
        self, session: Session, track: Sequence[int] | None = None, steps: int | None = None
    ) -> int:
        """Create a new Run for ``session`` and run it (or, with ``steps``, apply that many
        updates and pause). Any current run is abandoned. Returns the run's generation."""
        with self._cond:
            self._gen += 1
            gen = self._gen
            if self._run is not None:
                self._run.request_pause()
            self._pending = (gen, session, track, -1 if steps is None else steps)
            self._stop_wanted = False  # a Stop pressed before this start was for the old run
            self.idle_event.clear()
            self._cond.notify_all()
        return gen

    def has_pending(self) -> bool:
        """True between ``start`` and the Run's creation on the worker thread."""
        with self._cond:
            return self._pending is not None

    def resume(self) -> None:
        with self._cond:
            if self._run is not None and not self._run.finished:
                self._mode = RUNNING
                self._anchor = None
                self.idle_event.clear()
                self._cond.notify_all()

    def pause(self) -> None:
        with self._cond:
            if self._pending is not None:  # the run is not created yet: create it paused
                self._pending = (*self._pending[:3], 0)
            elif self._mode in (RUNNING, STEPPING):
                self._mode = PAUSED
                self._steps_left = 0
                if self._run is not None:
                    self._run.request_pause()
                self._cond.notify_all()

    def step(self, n: int = 1) -> None:
        """Apply exactly ``n`` updates from where the run is, then pause."""
        with self._cond:
            if self._pending is not None and n >= 1:  # not created yet: create it stepping
                self._pending = (*self._pending[:3], n)
                return
            if self._run is None or self._run.finished or n < 1:
                return
            if self._mode == RUNNING and self._run is not None:
                self._run.request_pause()
            self._mode = STEPPING
            self._steps_left = n
            self.idle_event.clear()
            self._cond.notify_all()

    def stop(self) -> None:
        """Finish the run now (reason 'stopped'), keeping its history."""
        with self._cond:
            if self._pending is not None:  # stop the run as soon as it is created
                self._stop_wanted = True
                self._cond.notify_all()
                return
            if self._run is None or self._run.finished:
                return
            self._stop_wanted = True
            self._run.request_stop()
            self.idle_event.clear()
            self._cond.notify_all()

    def reset(self) -> None:
        """Drop the current run; its late signals carry an old generation and are ignored."""
        with self._cond:
            self._gen += 1
            self._pending = None
            if self._run is not None:
                self._run.request_stop()
            self._drop_run = True
            self.idle_event.clear()
            self._cond.notify_all()

    def set_speed(self, iterations_per_second: float | None) -> None:
        with self._cond:
            self._speed = iterations_per_second
            self._anchor = None
            if self._run is not None and self._in_advance:
                self._run.request_pause()  # re-plan the slice at the new speed
            self._cond.notify_all()

    def request_progress(self) -> None:
        """The GUI is ready for another frame: the next slice that adds history says so.
        (One signal per frame the GUI can draw, never more than PROGRESS_HZ.)"""
        self._progress_wanted = True

    def want_x(self, on: bool) -> None:
        """Ask for ``latest_x`` snapshots after each slice (costs one copy of x per frame)."""
        self._want_x = on

    def shutdown(self) -> None:
        """Stop whatever runs and make ``loop`` return (the thread can then quit)."""
        with self._cond:
            self._quit = True
            if self._run is not None:
                self._run.request_stop()
            self._hold = 0
            self._cond.notify_all()

    # -- frame guard (GUI thread) ------------------------------------------------------------
    def hold(self) -> None:
        """Park the worker at its next iteration boundary until ``release``. Nestable.

        Waits (without the GIL) until the worker is parked, so the GUI's Python then runs
        uncontended instead of trading the GIL back and forth every switch interval."""
        with self._cond:
            self._hold += 1
            run = self._run if self._in_advance and self.park and self._hold == 1 else None
            if run is not None:
                self._parked.clear()
        if run is not None:
            run.request_pause()
            self._parked.wait(PARK_TIMEOUT)

    def release(self) -> None:
        with self._cond:
            self._hold = max(0, self._hold - 1)
            if self._hold == 0:
                self._cond.notify_all()

    @contextmanager
    def held(self):
        self.hold()
        try:
            yield
        finally:
            self.release()

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def generation(self) -> int:
        return self._gen

    # -- the loop (worker thread) ------------------------------------------------------------
    @QtCore.Slot()
    def loop(self) -> None:
        """Runs until ``shutdown``: waits for work, creates runs, advances them in slices."""
        while True:
            try:
                if not self._once():
                    return
            except Exception as exc:  # never die silently: report, drop the run, go on
                text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                with self._cond:
                    gen, self._run, self._mode = self._gen, None, IDLE
                    self._in_advance = False
                    quitting = self._quit
                self.idle_event.set()
                if quitting:
                    return
                try:
                    self.failed.emit(gen, f"unexpected error in the solver thread: {text}")
                    self._announce(gen, IDLE)
                except RuntimeError:  # the window (and this QObject's C++ side) is gone
                    return

    def _once(self) -> bool:
        with self._cond:
            while True:
                if self._quit:
                    self._run = None
                    self.idle_event.set()
                    return False
                if self._pending is not None or self._drop_run or self._stop_wanted:
                    break
                if self._announced != self._visible_mode():
                    break
                if self._hold == 0 and self._run is not None and self._mode in (
                    RUNNING,
                    STEPPING,
                ):
                    wait = self._throttle_wait()
                    if wait <= 0:
                        break
                    self._parked.set()
                    self._cond.wait(wait)
                    continue
                if self._hold == 0 and self._mode in (IDLE, PAUSED):
                    self.idle_event.set()
                self._parked.set()
                self._cond.wait(0.5)
            pending, self._pending = self._pending, None
            drop, self._drop_run = self._drop_run, False
            stop = self._stop_wanted and pending is None
            if pending is None:  # a Stop for a run still to be created waits for it
                self._stop_wanted = False
            run, gen, mode = self._run, self._gen, self._mode

        if drop and pending is None:
            with self._cond:
                if self._gen == gen:
                    self._run, self._mode = None, IDLE
            self.idle_event.set()
            self._announce(gen, IDLE)
            return True
        if pending is not None:
            self._create(*pending)
            return True
        if stop and run is not None and not run.finished:
            run.stop()  # the driving thread finishes it, even while paused
            self._finished(gen, run)
            return True
        if run is None or run.finished or mode not in (RUNNING, STEPPING) or self._hold:
            if run is not None and self._announced != self._visible_mode():
                self._emit_progress(gen, run, force=True)
                self._announce(gen, self._visible_mode())
            return True

        if self._announced != RUNNING:
            self._announce(gen, RUNNING)
        with self._cond:  # set_speed/resume rewrite _speed and _anchor from the GUI thread
            speed = self._speed
            if mode == STEPPING:
                budget = self._steps_left
            elif speed is not None:
                budget = self._due(run, speed)
                if speed <= SINGLE_STEP_SPEED:
                    budget = min(budget, 1)
            else:
                budget = None
        cap = max(1, int(SLICE_SECONDS / max(self._iter_seconds, 1e-7)))
        budget = cap if budget is None else min(budget, cap)
        if budget <= 0:
            return True

        with self._cond:
            if self._hold or self._quit or self._pending is not None or self._mode != mode:
                return True
            self._in_advance = True
        t0 = time.perf_counter()
        try:
            done = run.advance(max_updates=budget, max_seconds=SLICE_SECONDS)
        finally:
            with self._cond:
                self._in_advance = False
        dt = time.perf_counter() - t0
        if done:
            self._iter_seconds = 0.7 * self._iter_seconds + 0.3 * (dt / done)

        with self._cond:
            if mode == STEPPING and self._mode == STEPPING:
                self._steps_left -= done
                if self._steps_left <= 0:
                    self._mode = PAUSED
        if self._want_x:
            self.latest_x = run.x()
        if run.finished:
            self._finished(gen, run)
            return True
        paused = self._visible_mode() == PAUSED
        self._emit_progress(gen, run, force=paused)
        if paused:
            self._announce(gen, PAUSED)
        return True

    def _visible_mode(self) -> str:
        """What the GUI should show: stepping counts as running."""
        return RUNNING if self._mode == STEPPING else self._mode

    def _announce(self, gen: int, state: str) -> None:
        self._announced = state
        self.state_changed.emit(gen, state)

    def _create(self, gen: int, session: Session, track: Sequence[int] | None, steps: int) -> None:
        from solver.engine import Run
        from solver.errors import InputError

        try:
            run = Run(session, track=track)
        except (InputError, ValueError, RuntimeError) as exc:
            with self._cond:
                if self._gen == gen:
                    self._run, self._mode = None, IDLE
            self.idle_event.set()
            self.failed.emit(gen, str(exc).splitlines()[0])
            self._announce(gen, IDLE)
            return
        p = run.problem
        cols = p.unknown_shape[1] if len(p.unknown_shape) == 2 else 1
        with self._cond:
            if self._gen != gen:  # reset or restarted meanwhile
                return
            self.park = p.matrix().size * cols < PARK_LIMIT
            self._run = run
            self._anchor = None
            if steps > 0:
                self._mode, self._steps_left = STEPPING, steps
            elif steps == 0:
                self._mode = PAUSED
            else:
                self._mode = RUNNING
        self.latest_x = run.x()
        self.run_created.emit(gen, run)
        self._emit_progress(gen, run, force=True)
        if run.finished:  # max_iters 0, or a start that already meets tol or diverged
            self._finished(gen, run)
        else:
            self._announce(gen, PAUSED if steps == 0 else RUNNING)

    def _finished(self, gen: int, run: Run) -> None:
        self.latest_x = run.x()
        with self._cond:
            if self._run is run:
                self._mode = IDLE
        self._emit_progress(gen, run, force=True)
        reason = run.stop_reason.value if run.stop_reason is not None else "stopped"
        self.idle_event.set()
        self.run_finished.emit(gen, reason, run.message)
        self._announce(gen, IDLE)

    def _emit_progress(self, gen: int, run: Run, force: bool = False) -> None:
        now = time.perf_counter()
        if force or (self._progress_wanted and now - self._last_emit >= 1 / PROGRESS_HZ):
            self._last_emit = now
            self._progress_wanted = False
            self.progressed.emit(gen, run.iteration, len(run.history))

    def _throttle_wait(self) -> float:
        """Seconds until the speed schedule allows the next update (0: go now)."""
        if self._speed is None or self._mode != RUNNING or self._run is None:
            return 0.0
        if self._anchor is None:
            return 0.0
        t0, it0 = self._anchor
        due_at = t0 + (self._run.iteration - it0 + 1) / self._speed
        return max(0.0, due_at - time.perf_counter())

    def _due(self, run: Run, speed: float) -> int:
        """Updates the speed schedule allows now; anchors the schedule on first use.
        Called with ``_cond`` held."""
        now = time.perf_counter()
        if self._anchor is None:
            self._anchor = (now - 1 / speed, run.iteration)
        t0, it0 = self._anchor
        return max(0, int((now - t0) * speed) - (run.iteration - it0))
