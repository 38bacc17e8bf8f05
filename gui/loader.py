"""Start-up imports on one thread, in the order the user needs them: the solver, then the plots.

``python main.py`` paints a window of plain Qt widgets first. Run needs the solver (torch:
most of the start-up), the plots need pyqtgraph; importing both at once on two threads only
makes them take turns with the GIL, so Run would wait for the plots too. One thread imports
the solver first — the window can run as soon as that is done — and pyqtgraph next, while
the user may already be running. The GUI thread stays free meanwhile: it only reacts.

``on_solver`` / ``on_plots`` callbacks run on the loading thread; the window hands them a
signal's ``emit``, which Qt delivers on the GUI thread.

pyqtgraph's import waits for the window (``plots_may_load``), which first creates every Qt
class's Python type on the GUI thread (``incarnate_qt_types``). PySide makes them lazily, on
first use, and its lazy creation is not safe from two threads: pyqtgraph's import copies all
of QtCore, QtGui and QtWidgets, and while it did so here the GUI thread, creating a type of
its own, crashed the process (a segfault with nothing on stderr, 4 in 150 launches).
"""

from __future__ import annotations

import builtins
import contextlib
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from PySide6 import QtCore

from . import PYTHON_IMPORT
from .records import RUNNING, STARTING
from .relay import Relay

Callback = Callable[[object], None]
# Where Run was pressed while loading, the plots wait for that run this long at most
# (``StartupOrder._plots_after_first_run``).
FIRST_RUN_ALONE_S = 1.0


def preload_solver() -> BaseException | None:
    """Import the solver (torch included) ahead of the first run, on any thread; returns
    the exception instead of raising, for the window to report."""
    try:
        import solver.insight.analysis  # noqa: F401
        import solver.problems.kinds  # noqa: F401
        import solver.run.engine  # noqa: F401
        import solver.sessions.presets  # noqa: F401
        import solver.sessions.session  # noqa: F401
        import solver.settings.devices  # noqa: F401
    except Exception as exc:  # reported in the window, not on a dead thread
        return exc
    return None


def incarnate_qt_types() -> None:
    """Create the Python type of every class in QtCore, QtGui and QtWidgets now (GUI thread,
    ~80 ms here): what pyqtgraph's import touches, so it then creates none of them."""
    from PySide6 import QtCore, QtGui, QtWidgets

    for module in (QtCore, QtGui, QtWidgets):
        for name in dir(module):
            getattr(module, name)


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection for a while, then as it was.

    torch's import makes ~250k objects that live as long as the process; each collection it
    trips walks all those made so far: the import took 1.11 s inside the window, 0.89 s with
    the collector off. An import makes next to no garbage; what little there is waits for the
    next collection. The collector is the process's, but the GUI thread makes no cycles worth
    collecting in the seconds this lasts.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@contextmanager
def pyside_hook_bypassed() -> Iterator[None]:
    """Python's own import statement for a while, instead of PySide6's hook: for imports of
    modules that do not use Qt.

    For its opt-in ``__feature__`` switches, PySide6 replaces ``__import__`` with a hook that
    reads the source of each module imported after it, looking for "PySide6": every one of
    torch's, another 0.1 s of its import. Qt's classes used from a module the hook has not
    seen take the last module's selection: none, in an app that selects none. The GUI
    thread's imports meanwhile bypass the hook too; it is put back only if still ours.
    """
    hook = builtins.__import__
    if PYTHON_IMPORT is hook:  # ``gui`` was imported after PySide6: nothing to bypass
        yield
        return
    builtins.__import__ = PYTHON_IMPORT
    try:
        yield
    finally:
        if builtins.__import__ is PYTHON_IMPORT:
            builtins.__import__ = hook


def preload_plots() -> BaseException | None:
    """Import pyqtgraph (what the plot panel is built with); the exception, not a raise."""
    try:
        import pyqtgraph  # noqa: F401
        import pyqtgraph.exporters  # noqa: F401
    except Exception as exc:
        return exc
    return None


def warm_optimizers() -> None:
    """torch's optimizers import their compiler hooks (torch._dynamo, ~2 s here) the first
    time one is made, and the gd fast path is scripted on first use (~45 ms holding the GIL):
    done here, in the background, neither stalls the first run or the first look at the
    Examples panel."""
    try:
        import torch._dynamo  # noqa: F401

        from solver.run import scripted

        # and the gd chunks are scripted before a Run needs them (the one on a copy of Aᵀ,
        # for matrices of 500 unknowns and more, on first use: its ~45 ms then are noise)
        scripted.chunk_function()
        scripted.sparse_chunk_function()
    except Exception:  # noqa: S110 - only a warm-up: the first use would do it anyway
        pass


class StartupLoader:
    """Imports the solver, then pyqtgraph, on a daemon thread (``start``)."""

    def __init__(self, first: Callable[[], object] | None = None) -> None:
        # What the window shows first, read on this thread once the solver is in (a large
        # session held the GUI thread for as long as it took to read): ``first_result``.
        self._first = first
        self.first_result: object = None
        self._plots_go = threading.Event()  # the window is ready for pyqtgraph's import
        self._skip_plots = False  # ...or going: none then
        self._plots_begun = False
        self._plots_lock = threading.Lock()  # the two above change together
        self._plots_done = threading.Event()
        self._warm_go = threading.Event()  # no run is going: the warm-up may begin
        self._skip_warm = False  # ...or the window is going: none then
        self._lock = threading.Lock()
        self._results: dict[str, object] = {}
        self._callbacks: dict[str, list[Callback]] = {"solver": [], "plots": []}
        self._thread: threading.Thread | None = None

    def start(self) -> StartupLoader:
        if self._thread is None:
            self._thread = threading.Thread(target=self._load, name="import-solver", daemon=True)
            self._thread.start()
        return self

    def _load(self) -> None:
        with collector_paused(), pyside_hook_bypassed():
            solver = preload_solver()
        if self._first is not None and solver is None:
            try:
                self.first_result = self._first()
            except Exception:  # noqa: S110 - read again on the GUI thread, which says why
                pass
        self._done("solver", solver)
        # Not beside the window's own start with the solver (its choices, the first
        # session): pyqtgraph's import (0.2 s of Python) took turns with it for the GIL, and
        # Run came later. Nor before Qt's types are all in (the module docstring).
        self._plots_go.wait()
        try:
            with self._plots_lock:
                if self._skip_plots:
                    return
                self._plots_begun = True
            with collector_paused():  # pyqtgraph uses Qt: the hook sees its modules
                plots = preload_plots()
            self._done("plots", plots)
        finally:
            self._plots_done.set()
        # torch._dynamo: 2 s of imports, holding the GIL for most of it; not beside a run
        # (F5 pressed at first sight: the first run took a second longer in 3 launches of 7)
        self._warm_go.wait()
        if self._skip_warm:
            return
        with collector_paused(), pyside_hook_bypassed():
            warm_optimizers()

    def plots_may_load(self) -> None:
        """The window has started with the solver (Run works) and made Qt's types
        (``incarnate_qt_types``): import pyqtgraph now."""
        self._plots_go.set()

    def warm_may_start(self) -> None:
        """The plots are made and no run is going: the optimizers' warm-up may begin."""
        self._warm_go.set()

    def skip_plots(self) -> None:
        """The window is going: pyqtgraph's import, if not begun, never begins, nor the
        warm-up."""
        with self._plots_lock:
            self._skip_plots = True
        self._skip_warm = True
        self._plots_go.set()
        self._warm_go.set()

    def wait_plots(self, timeout: float) -> bool:
        """Wait (at quit) until pyqtgraph's import, if under way, is over, at most
        ``timeout`` s: it creates Qt objects on the loading thread. True when it is over or
        never begins."""
        if self._thread is None:
            return True
        self.skip_plots()
        with self._plots_lock:
            if not self._plots_begun:
                return True  # and never will: the solver's import is not waited for
        return self._plots_done.wait(timeout)

    def _done(self, what: str, result: object) -> None:
        with self._lock:
            self._results[what] = result
            callbacks = list(self._callbacks[what])
        for cb in callbacks:
            try:
                cb(result)
            except RuntimeError:  # the window that asked is gone (closed during start-up)
                pass

    def join(self, timeout: float) -> bool:
        """Wait at most ``timeout`` s for the loading thread to end; True once it has (or
        never began)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.busy()

    def busy(self) -> bool:
        """Still importing (the warm-up included): an interpreter exit now would tear torch
        down under the thread's feet."""
        return self._thread is not None and self._thread.is_alive()

    def when(self, what: str, callback: Callback) -> None:
        """Call ``callback(result)`` once ``what`` ("solver" or "plots") is imported: at
        once (on this thread) when it is already, else on the loading thread. The result is
        None, or the exception the import raised."""
        with self._lock:
            if what not in self._results:
                self._callbacks[what].append(callback)
                return
            result = self._results[what]
        callback(result)


class StartupOrder(QtCore.QObject):
    """The GUI thread's half of the start-up: what the window does as each of ``loader``'s
    imports lands, in the order the user needs. The solver first (``solver_in(result)``:
    the panels filled and the first session shown, Run usable; False where it could not
    load); then pyqtgraph's import and the plots (``plots_in(result)``), at once, or where
    Run was pressed while loading once that run is over or has gone ``FIRST_RUN_ALONE_S``;
    then the optimizers' warm-up, once no run is going. ``stop()`` as the window goes."""

    def __init__(
        self,
        model: object,
        loader: StartupLoader,
        solver_in: Callable[[object], bool],
        plots_in: Callable[[object], None],
        parent: QtCore.QObject,
    ) -> None:
        super().__init__(parent)
        self.model, self.loader = model, loader
        self._solver_in, self._plots_in = solver_in, plots_in
        self._stopped = False
        # the loading thread's results, delivered on the GUI thread
        self._relays = Relay(self._solver), Relay(self._plots)
        loader.when("solver", self._relays[0].post)
        loader.when("plots", self._relays[1].post)

    def stop(self) -> None:
        """The window is going: nothing more begins (pyqtgraph's import, the warm-up)."""
        self._stopped = True
        self.loader.skip_plots()

    def _solver(self, result: object) -> None:
        if self._stopped:
            return
        if not self._solver_in(result):
            QtCore.QTimer.singleShot(0, self._plots_may_load)  # the plots may still load
        elif self.model.state == STARTING:
            # Run was pressed while loading, and its run is being made now: that goes first
            self._plots_after_first_run()
        else:
            # after the ready state has been shown (a queued call): then the plots
            QtCore.QTimer.singleShot(0, self._plots_may_load)

    def _plots(self, result: object) -> None:
        if self._stopped:
            return
        self._plots_in(result)
        # not before: its imports held the GIL while the GUI thread made the plots
        self._warm_once_idle()

    def _plots_after_first_run(self) -> None:
        """pyqtgraph's import and the plots' making once the first run is over, or once it
        has gone for FIRST_RUN_ALONE_S. Beside the run, the import (0.2 s of Python) took
        turns with it for the GIL, and the making (0.35 s on the GUI thread) came just
        before the run's end in a third of the launches: F5 at first sight had the default
        run's end 0.4 s later. A longer run gets its plots while it goes."""
        timer = QtCore.QTimer(self, singleShot=True, interval=int(FIRST_RUN_ALONE_S * 1000))

        def go(*_: object) -> None:
            if self.model.state in (STARTING, RUNNING) and timer.isActive():
                return
            timer.stop()
            with contextlib.suppress(RuntimeError):  # disconnected already
                self.model.state_changed.disconnect(go)
                timer.timeout.disconnect(go)
            QtCore.QTimer.singleShot(0, self._plots_may_load)

        self.model.state_changed.connect(go)
        timer.timeout.connect(go)
        timer.start()

    def _plots_may_load(self) -> None:
        if self._stopped:
            return
        incarnate_qt_types()
        self.loader.plots_may_load()

    def _warm_once_idle(self) -> None:
        """The optimizers' warm-up (``warm_optimizers``) once no run is going (the plots
        are in by now)."""

        def check(state: str) -> None:
            if state in (STARTING, RUNNING):
                return
            with contextlib.suppress(RuntimeError):  # disconnected already
                self.model.state_changed.disconnect(check)
            self.loader.warm_may_start()

        self.model.state_changed.connect(check)
        check(self.model.state)
