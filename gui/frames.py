"""The frames of the live window: when the plots redraw, and what each frame holds.

While a run goes, frames follow one another at their own pace, taking at most ``FRAME_SHARE``
of wall time with the solver parked (``FRAME_SHARE_BESIDE`` of the GUI's core beside a solver
that is not, ``FRAME_SHARE_SHARED`` beside one that leaves it a core for the frame), so the
solver keeps the rest. Each frame opens a window on the worker (``SolverWorker.frame_window``,
the GIL policy of ``gui.gil``), applies the run's pending progress to the model, emits
``frame`` for the views to pull what they show, and closes the window once the event loop
has painted. Every paint outside a frame goes through ``guard``. Between frames the run's
mode follows the cores the other processes leave free (``gui.machine.Machine``).
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from PySide6 import QtCore

from .machine import ONE_THREAD_BELOW, PARKED, SHARED, Machine
from .model import IDLE, AppModel
from .records import RUNNING, RunStatus

if TYPE_CHECKING:
    from .gil import FrameWindow
    from .worker import SolverWorker

# Share of wall time the GUI may spend drawing with the solver parked, while a run is live;
# a solver that runs outside the GIL is not parked, and then the GUI may use this much of
# its own core.
FRAME_SHARE = 0.12
FRAME_SHARE_BESIDE = 0.6
# ...and this much beside a solver that shares a core with each frame (``GilPolicy.shares``):
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


class Frames(QtCore.QObject):
    """Paces the live window's redraws and holds the worker for each."""

    # Draw now: (everything: every range may move this frame; tight: fit ranges to the data).
    frame = QtCore.Signal(bool, bool)
    # A frame has ended: painted, the worker released, the next one's time set
    frame_ended = QtCore.Signal()

    def __init__(self, model: AppModel, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.worker: SolverWorker | None = None  # set once the worker thread starts
        self.wants_x: Callable[[], bool] = lambda: False
        self._closing = False
        self._busy = 0.0  # seconds of GUI work (frames, paints) since the last frame
        self._frames = 0
        self._busy_total = 0.0
        self._cost = 0.0
        self._costs: deque[float] = deque(maxlen=COST_FRAMES)
        self._window: FrameWindow | None = None  # the open frame's hold on the worker
        self._in_frame = False
        self._frame_t0 = 0.0
        self._next_frame = 0.0
        self._dirty = False
        self._pending: RunStatus | None = None  # progress to show at the next frame
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._frame)
        self.machine = Machine()  # the cores other processes leave free, read once a second

    def close(self) -> None:
        """No frame from now on (the window is quitting)."""
        self._closing = True
        self._timer.stop()

    def restart_pace(self) -> None:
        """A new run: its first frame comes at once."""
        self._next_frame = 0.0

    def show_later(self, status: RunStatus) -> bool:
        """Keep a going run's progress for the next frame, drawn with the solver held;
        applied now, its views (the status bar, the Runs table, the timeline) would relayout
        and repaint between frames, against the solver for the GIL: at n = 2000 that was more
        GUI time than the frames themselves. False inside a frame: apply it now."""
        if self._in_frame:
            return False
        self._pending = status
        self.redraw()
        return True

    def drop_pending(self) -> None:
        """A change of state supersedes the progress kept for the next frame."""
        self._pending = None

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Run GUI Python with the solver parked, and count its cost. Inside a frame the
        solver is parked already; its paints are part of its cost."""
        w = self.worker
        if self._in_frame or w is None:
            yield
            return
        t0 = time.perf_counter()
        try:
            with w.frame_window():
                yield
        finally:
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
            self._window = self.worker.frame_window(
                SHARE_MARGIN * max(self._cost, 1.0 / MAX_FPS / 4)
            )
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
        if self._window is not None:
            self._window.close()
            self._window = None
        if self.worker is not None:
            # between frames, held by none: the run's mode may follow the machine's load
            self.worker.policy.fit(spare)
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
        mode = PARKED if self.worker is None else self.worker.policy.mode
        share = {PARKED: FRAME_SHARE, SHARED: FRAME_SHARE_SHARED}.get(mode, FRAME_SHARE_BESIDE)
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
