"""Analysis of the current problem (condition, step-size limits, exact solution), kept off
the GUI thread for large matrices and cancelled as soon as it is out of date.

Small problems are analysed at once (well under a frame). Larger ones go to a plain thread
with a cancel flag that the solver's iterative parts check (``solver.core.errors.Cancelled``). One
LAPACK call (a full SVD, an LU) cannot be interrupted; ``busy()`` tells the app at quit that
one may still be running, so it can end the process without waiting for it.

The thread runs at a lower priority than the run (``lower_priority``): a run started
meanwhile keeps its cores, and the analysis takes most of what the run leaves. At normal
priority it preempts the run's OpenMP threads, and each parallel step of the run waits for
the one preempted (measured on a busy 2-core machine, a 40,000-unknown Poisson run on one
torch thread: 239-460 it/s alone, 20-28 beside an analysis at normal priority, 61-144 beside
one at the lowest). But not at the lowest: the analysis runs Python (ARPACK's loop, the
cache), and a thread the system seldom runs may be stopped holding the GIL, which the window
and the run then wait for until it runs again. Beside two busy processes the lowest (nice
19) left the 100,000-unknown Poisson analysis unfinished after 120 s, and the window's run
beside it at 19 it/s with event-loop stalls of 0.9 s; at nice 5 the analysis took 49 s, the
run beside it 35 it/s with stalls of 0.17 s (nice 0: 30 it/s, 0.23 s). Quiet, a run beside
the analysis went at 111 it/s at nice 19, 86 at nice 5 and 75 at nice 0.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from PySide6 import QtCore

from .model import AppModel
from .relay import Relay

# Problems up to this many matrix entries are analysed on the GUI thread (well under a frame).
SYNC_ANALYSIS_LIMIT = 40_000


class Analyzer(QtCore.QObject):
    """Analyses the model's session whenever its problem or settings change."""

    def __init__(
        self,
        model: AppModel,
        parent: QtCore.QObject | None = None,
        data_dir: str | Path | None = None,
    ) -> None:
        """``data_dir``: the app's data folder, where the analysis cache lives (None: nothing
        is cached)."""
        super().__init__(parent)
        self.model = model
        self.data_dir = None if data_dir is None else Path(data_dir)
        self._gen = 0
        self._cancel = threading.Event()
        self._threads: list[threading.Thread] = []
        self._closing = False
        # Unparented and held here: a thread emitting on it can never outlive it.
        self._relay = Relay(self._done)
        model.session_changed.connect(lambda s, _note, _changed: self.analyze(s))

    def cancel(self) -> bool:
        """Stop the running analysis (the user's Cancel): the problem then goes without
        step-size guidance until it changes or ``analyze`` runs again. False if none ran."""
        from solver.core.errors import Cancelled

        if self.model.analysis is not None or self._closing:
            return False
        self._cancel.set()
        self._gen += 1  # whatever it still delivers is dropped
        self.model.set_analysis(Cancelled("the analysis was cancelled"))
        return True

    def analyze(self, s: object) -> None:
        from solver.insight.analysis import analyze

        self._cancel.set()  # whatever runs is out of date
        self._cancel = threading.Event()
        self._gen += 1
        gen, cancel = self._gen, self._cancel
        # a sparse matrix is analysed by iterations whatever its few entries: a thread
        if s.problem.entries <= SYNC_ANALYSIS_LIMIT and not s.problem.sparse:
            self._done((gen, _safe(analyze, s.problem, s.loss, s.lr, cancel)))
            return
        # Until it is done, the old problem's step sizes must not be offered for this one.
        self.model.set_analysis(None)
        relay = self._relay
        data_dir = self.data_dir

        def work() -> None:
            from solver.insight.analysis_cache import analyze_cached, cache_dir

            lower_priority()
            folder = None if data_dir is None else cache_dir(data_dir)
            result = _safe(analyze_cached, s.problem, s.loss, s.lr, folder, cancel)
            if not cancel.is_set():
                relay.post((gen, result))

        t = threading.Thread(target=work, name="analysis", daemon=True)
        self._threads = [x for x in self._threads if x.is_alive()] + [t]
        t.start()

    def _done(self, result: tuple) -> None:
        from solver.core.errors import Cancelled

        gen, a = result
        if gen != self._gen or self._closing or isinstance(a, Cancelled):
            return
        self.model.set_analysis(a)

    def shutdown(self, wait_s: float = 0.5) -> None:
        """Cancel the analysis and give it ``wait_s`` to end."""
        self._closing = True
        self._cancel.set()
        for t in self._threads:
            t.join(wait_s)

    def busy(self) -> bool:
        """Whether an analysis thread is still inside a call that cannot be interrupted."""
        return any(t.is_alive() for t in self._threads)


# How much nicer than the window the analysis thread is (Linux: per thread; see the module
# docstring for why not the most, 19), and Windows' THREAD_PRIORITY_BELOW_NORMAL, its
# counterpart there.
ANALYSIS_NICE = 5
MAX_NICE = 19
_THREAD_PRIORITY_BELOW_NORMAL = -1


def lower_priority() -> bool:
    """Put the calling thread below the others' scheduling priority (``ANALYSIS_NICE``),
    where the system allows it for one thread (Linux, Windows); False where it does not (the
    thread runs as it was)."""
    try:
        if sys.platform.startswith("linux"):
            # Linux keeps a nice value per thread, addressed by its native id; relative to
            # the window's own, which a user may have set already
            tid = threading.get_native_id()
            nice = min(MAX_NICE, os.getpriority(os.PRIO_PROCESS, tid) + ANALYSIS_NICE)
            os.setpriority(os.PRIO_PROCESS, tid, nice)
            return True
        if sys.platform == "win32":
            import ctypes

            kernel = ctypes.windll.kernel32
            return bool(
                kernel.SetThreadPriority(kernel.GetCurrentThread(), _THREAD_PRIORITY_BELOW_NORMAL)
            )
    except (OSError, AttributeError):
        pass
    return False


def _safe(fn, *args: object) -> object:  # noqa: ANN001
    try:
        return fn(*args)
    except Exception as exc:  # shown in the panel; the analysis is advice, not a gate
        return exc
