"""What the machine gives the window, and how the live run fits it: the cores this process
may use (``solver.core.threads.cores_available``), how many of them the other processes leave
free now (``solver.core.threads.LoadMeter``, re-read about once a second), and from those the way
a run lives with the frames (``frame_mode``), which ``gui.gil.GilPolicy.fit`` applies.

``DESCENT_LAB_SPARE_CORES=x`` (an environment hook for tests and benchmarks) fixes the free
cores at ``x`` instead of measuring them, so a mode can be chosen on purpose.
"""

from __future__ import annotations

import os

from solver.core.threads import ONE_THREAD_BELOW, LoadMeter

SPARE_ENV = "DESCENT_LAB_SPARE_CORES"

# Problems whose matrix work per update is below this many multiply-adds are parked for each
# frame: an update then ends well within PARK_TIMEOUT (4000 x 4000 ≈ 10 ms here).
PARK_LIMIT = 20_000_000
# ...but a run that releases the GIL runs beside the frames up to this many multiply-adds per
# update: its mat-vec is then on one thread (torch splits larger ones over both cores).
UNPARKED_LIMIT = 250_000
# How a run lives with the window's frames (``frame_mode``).
PARKED = "parked"  # paused for each frame
BESIDE = "beside"  # goes on beside the frames, never held
SHARED = "shared"  # on one thread while a frame draws, all of them otherwise
ONE_THREAD = "one thread"  # on one thread throughout, beside the frames
# Sharing a core, or running beside the frames, needs a core for the frame and one for the
# solver at once.
FRAME_CORES = 2


def frame_mode(work: int, releases_gil: bool, can_share: bool, cores: int, spare: float) -> str:
    """How a run of ``work`` multiply-adds an update lives with the frames, on a machine that
    gives this process ``cores`` (affinity and CPU quota: ``solver.core.threads.cores_available``)
    of which the other processes leave ``spare`` free now. ``can_share``: the run is on the
    GIL-free chunks and its products round alike on one thread and on all
    (``GdChunks.shares``)."""
    if work >= PARK_LIMIT:
        return BESIDE  # a frame would wait for a long update; BLAS holds no GIL meanwhile
    if cores < FRAME_CORES:
        # One core: a frame beside the solver gets half of it, and the solver's second
        # thread is none: the frame takes the run's turn instead.
        return PARKED
    if releases_gil and work < UNPARKED_LIMIT:
        return BESIDE  # one thread, outside the GIL: the frame draws on the other core
    if not can_share:
        return PARKED
    # Where other processes hold the cores the run's second thread would use, each parallel
    # step waits for a thread that is not running: one thread does more, frames or not.
    return ONE_THREAD if spare < ONE_THREAD_BELOW else SHARED


class Machine:
    """The cores the other processes leave this one now: measured (``LoadMeter``) or, with
    ``DESCENT_LAB_SPARE_CORES`` set, that number."""

    def __init__(self, interval: float = 1.0) -> None:
        self.fixed: float | None = None
        text = os.environ.get(SPARE_ENV)
        if text is not None:
            try:
                self.fixed = max(0.0, float(text))
            except ValueError:
                print(f"warning: {SPARE_ENV}={text!r} is not a number; measuring instead")
        self._meter = LoadMeter(interval) if self.fixed is None else None

    @property
    def cores(self) -> int | None:
        """The cores this process may use, as measured (None with the cores fixed)."""
        return None if self._meter is None else self._meter.cores

    def spare(self) -> float:
        return self.fixed if self._meter is None else self._meter.spare()
