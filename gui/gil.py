"""How the live run and the window's frames share the interpreter and the cores: the GIL
policy behind ``SolverWorker.frame_window``.

The GIL is what makes or breaks the live window. At small n a Run is pure Python and holds the
GIL almost all the time; every Python call the GUI thread makes then waits for the
interpreter's switch interval. So each frame opens a window on the worker
(``SolverWorker.frame_window``), and what the window does follows the run's mode
(``gui.machine.frame_mode``):

* ``PARKED``: the window asks the run to pause at its next iteration and waits, without the
  GIL, until the worker sits on its condition; closing it wakes the worker. Runs are parked
  unless one update is long (``PARK_LIMIT`` multiply-adds, ~10 ms here): small ones are
  GIL-bound, mid-sized ones run a 2-thread BLAS that a frame on one of the two cores stalls as
  a whole (measured at n = 2000: 0.49x headless drawing beside it, 0.93x parked);
* ``BESIDE``: a small run that releases the GIL (plain gd's TorchScript chunks) is
  single-threaded and GIL-free: it is never parked, and the GUI draws beside it on the other
  core (``UNPARKED_LIMIT``); a run whose updates are long is not parked either;
* ``SHARED``: a mid-sized run on those chunks shares a core instead of parking: the window
  asks for a chunk on one thread lasting about the frame (``GdChunks.share_core``) and waits
  until it has begun, so the solver goes on at about half speed while the frame draws on the
  other core, and needs the GIL only after it (n = 2000 here: 0.93x at 40 frames a second,
  against 0.84x at 21 parked);
* ``ONE_THREAD``: with no core free for a frame (other processes hold them), the run stays on
  one thread throughout and the frames draw beside it.

Between frames the mode follows the cores the other processes leave free (``fit``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from solver.core.threads import cores_available

from .machine import ONE_THREAD, PARK_LIMIT, PARKED, SHARED, UNPARKED_LIMIT, frame_mode

# Longest a frame waits for the worker to park (about one update of a large problem).
PARK_TIMEOUT = 0.03
# How long a window that does not say (a paint outside the frames) shares a core for.
SHARE_SECONDS = 0.01


class Pausable(Protocol):
    """What a frame asks of the run inside a slice (the worker's ``Run``, which nothing
    outside the worker names)."""

    def request_pause(self) -> None: ...


class GilPolicy:
    """The live run's mode and the frames that hold it; shares the worker's condition, so a
    frame and the worker's loop always see one state."""

    def __init__(self, cond: threading.Condition, advancing: Callable[[], Pausable | None]) -> None:
        self._cond = cond
        self._advancing = advancing  # the run inside a slice now, read under the condition
        self._hold = 0
        self.parked = threading.Event()  # set while the worker waits (runs no Python)
        self.mode = PARKED  # frame_mode's word for the live run
        self.cores = cores_available()
        self._chunks = None  # the fast path's chunks whose share_core a frame calls
        self._fit: tuple | None = None  # (work, releases_gil, can share, chunks)

    # -- the worker thread -------------------------------------------------------------------
    def fit_run(self, run: object) -> None:
        """Choose how a new live run (the worker's ``Run``) lives with the frames, as if every
        core were free."""
        p = run.problem
        cols = p.unknown_shape[1] if len(p.unknown_shape) == 2 else 1
        work = p.entries * cols
        releases = getattr(run, "releases_gil", False)
        chunks = getattr(run, "chunks", None)
        # shares() times a few mat-vecs: here, on the run's thread, not in a frame
        can_share = (
            not (releases and work < UNPARKED_LIMIT)
            and work < PARK_LIMIT
            and chunks is not None
            and chunks.shares()
        )
        with self._cond:
            self._fit = (work, releases, can_share, chunks)
            self._apply(frame_mode(work, releases, can_share, self.cores, self.cores))

    def clear(self) -> None:
        """No live run any more."""
        with self._cond:
            self._chunks, self._fit, self.mode = None, None, PARKED

    def holds_back(self) -> bool:
        """Under the condition: a frame holds the worker and the run is parked for it (a run
        outside the GIL goes on beside the frames)."""
        return self._hold > 0 and self.mode == PARKED

    # -- the GUI thread ----------------------------------------------------------------------
    def hold(self, seconds: float | None = None) -> None:
        """Open a frame's window (nestable): park the run at its next iteration boundary, or
        have a run that shares a core go on on one thread for about ``seconds`` (None:
        ``SHARE_SECONDS``). Waits, without the GIL, until it is parked or its shared chunk has
        begun, so the frame's Python then runs uncontended instead of trading the GIL back
        and forth every switch interval."""
        with self._cond:
            self._hold += 1
            run = self._advancing() if self._hold == 1 else None
            if self._hold == 1 and self._chunks is not None:
                # set even between slices: the next one's first chunk then shares
                self.parked.clear()
                until = time.perf_counter() + (SHARE_SECONDS if seconds is None else seconds)
                self._chunks.share_core(until, self.parked)
            elif run is not None and self.mode == PARKED:
                self.parked.clear()
                run.request_pause()
            else:
                run = None
        if run is not None:
            self.parked.wait(PARK_TIMEOUT)

    def release(self) -> None:
        """Close a frame's window; the last one lets the run go on as before."""
        with self._cond:
            self._hold = max(0, self._hold - 1)
            if self._hold == 0:
                if self._chunks is not None:
                    self._chunks.share_core(0.0)  # all threads again from the next chunk
                self._cond.notify_all()

    def fit(self, spare: float) -> str:
        """Choose the live run's mode again for ``spare`` free cores (those this process can
        count on now, ``solver.core.threads.LoadMeter``); not while a frame holds the worker,
        whose opening and closing must see one mode. Returns the mode."""
        with self._cond:
            if self._fit is not None and self._hold == 0:
                work, releases, can_share, _chunks = self._fit
                mode = frame_mode(work, releases, can_share, self.cores, spare)
                if mode != self.mode:
                    self._apply(mode)
            return self.mode

    def _apply(self, mode: str) -> None:
        """Under the condition: live with the frames in ``mode``."""
        _work, _releases, can_share, chunks = self._fit
        self.mode = mode
        self._chunks = chunks if mode == SHARED else None
        if chunks is not None and can_share:
            chunks.one_thread = mode == ONE_THREAD

    # -- what tests and benchmarks read --------------------------------------------------------
    @property
    def park(self) -> bool:
        """The run is parked for each frame."""
        return self.mode == PARKED

    @property
    def shares(self) -> bool:
        """The run shares a core with each frame instead."""
        return self.mode == SHARED

    @property
    def holds(self) -> int:
        """How many frames hold the worker now (windows nest)."""
        return self._hold

    def parked_now(self) -> bool:
        """The run is parked for a frame, or its shared chunk has begun."""
        return self.parked.is_set()

    @property
    def fitted(self) -> tuple | None:
        """How the live run was fitted to the frames: (matrix work per update, releases the
        GIL, can share a core, its fast path's chunks); None with no run."""
        return self._fit

    @property
    def sharing_chunks(self) -> object | None:
        """The fast path's chunks that share a core with each frame (``shares``), else None."""
        return self._chunks


class FrameWindow:
    """One frame's hold on the worker, open until ``close`` (or the end of a ``with``)."""

    def __init__(self, policy: GilPolicy, seconds: float | None = None) -> None:
        self._policy: GilPolicy | None = policy
        policy.hold(seconds)

    def close(self) -> None:
        """Let the run go on; a second close does nothing."""
        policy, self._policy = self._policy, None
        if policy is not None:
            policy.release()

    def __enter__(self) -> FrameWindow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
