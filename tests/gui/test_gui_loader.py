"""The start-up loader's order: the solver, then, once the window has started with it and
made Qt's types on the GUI thread, pyqtgraph; a window that goes first skips pyqtgraph, and
a quit during its import waits for it (it creates Qt objects on the loader's thread).

The imports are stand-ins that meet the test at events; nothing waits on time.
"""

from __future__ import annotations

import json
import threading

import pytest
import test_gui_window
from PySide6 import QtCore

from gui import loader as loader_mod
from gui.loader import StartupLoader
from gui.mainwindow import MainWindow

WAIT = 30.0
LONG = test_gui_window.LONG


@pytest.fixture
def imports(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Stand-ins for the start-up steps: each records what the loader knew then."""
    seen: dict = {"order": [], "plots_go": threading.Event(), "plots_begun": threading.Event()}

    def plots() -> None:
        seen["go_at_plots"] = seen["loader"]._plots_go.is_set()
        seen["order"].append("plots")
        seen["plots_begun"].set()
        assert seen["plots_go"].wait(WAIT)

    monkeypatch.setattr(loader_mod, "preload_solver", lambda: seen["order"].append("solver"))
    monkeypatch.setattr(loader_mod, "preload_plots", plots)
    monkeypatch.setattr(loader_mod, "warm_optimizers", lambda: seen["order"].append("warm"))
    return seen


def started(imports: dict) -> StartupLoader:
    ld = imports["loader"] = StartupLoader()
    solver_in = threading.Event()
    ld.when("solver", lambda _r: solver_in.set())
    ld.start()
    assert solver_in.wait(WAIT)
    return ld


def test_the_plots_are_imported_once_the_window_says_they_may(imports):
    ld = started(imports)
    plots_in = threading.Event()
    ld.when("plots", lambda _r: plots_in.set())
    assert "plots" not in imports["order"]  # the loader waits for the window, however long
    ld.plots_may_load()
    assert imports["plots_begun"].wait(WAIT)
    imports["plots_go"].set()
    assert plots_in.wait(WAIT)
    # The warm-up would follow at once on the loader's thread; it waits for the window.
    assert not ld.join(0.2)  # waiting for the window
    assert imports["order"] == ["solver", "plots"]
    ld.warm_may_start()
    assert ld.join(WAIT)
    assert imports["go_at_plots"], "pyqtgraph was imported before the window said so"
    assert imports["order"] == ["solver", "plots", "warm"]


def test_a_window_that_goes_first_skips_the_plots(imports):
    ld = started(imports)
    ld.skip_plots()
    assert ld.wait_plots(WAIT)
    assert ld.join(WAIT)
    assert not ld.busy()
    assert imports["order"] == ["solver"]  # no pyqtgraph, no warm-up: the window is going


def test_a_quit_during_the_plots_import_waits_for_it(imports):
    ld = started(imports)
    ld.plots_may_load()
    assert imports["plots_begun"].wait(WAIT)
    assert not ld.wait_plots(0.0)  # under way: the quit waits...
    imports["plots_go"].set()
    assert ld.wait_plots(WAIT)  # ...until it is over


def test_the_imports_run_without_the_collector_or_pysides_hook_and_give_them_back(monkeypatch):
    """torch's import is 0.2 s slower with the collector walking its objects and 0.1 s
    slower through PySide's import hook: the solver's import and the warm-up run without
    either, pyqtgraph's (it uses Qt) without the collector only; both are back after."""
    import builtins
    import gc

    hook = builtins.__import__

    def python_import(*args, **kwargs):  # stands in for Python's own, whatever came first
        return hook(*args, **kwargs)

    monkeypatch.setattr(loader_mod, "PYTHON_IMPORT", python_import)
    seen = []

    def step(name):
        return lambda: seen.append((name, gc.isenabled(), builtins.__import__ is python_import))

    monkeypatch.setattr(loader_mod, "preload_solver", step("solver"))
    monkeypatch.setattr(loader_mod, "preload_plots", step("plots"))
    monkeypatch.setattr(loader_mod, "warm_optimizers", step("warm"))
    assert gc.isenabled()
    ld = StartupLoader().start()
    ld.plots_may_load()
    ld.warm_may_start()
    assert ld.join(WAIT)
    assert seen == [("solver", False, True), ("plots", False, False), ("warm", False, True)]
    assert gc.isenabled() and builtins.__import__ is hook


def test_a_collector_the_process_had_turned_off_stays_off() -> None:
    import gc

    gc.disable()
    try:
        with loader_mod.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


BYPASS = """
import builtins, linecache
import gui
from PySide6 import QtCore
from gui.loader import pyside_hook_bypassed

read = []
getlines = linecache.getlines
linecache.getlines = lambda f, *a: (read.append(f), getlines(f, *a))[1]
hook = builtins.__import__
with pyside_hook_bypassed():
    inside = builtins.__import__ is gui.PYTHON_IMPORT
    import json.tool
bypassed = not any(f.endswith("tool.py") for f in read)
import wave
hooked = any(f.endswith("wave.py") for f in read)
print(hook is not gui.PYTHON_IMPORT, inside, bypassed, builtins.__import__ is hook, hooked)
"""


def test_pysides_import_hook_is_bypassed_and_put_back() -> None:
    """In a fresh interpreter, as the app starts: PySide's hook reads the source of each
    module imported after it (``wave`` here); inside the bypass none is read."""
    out = run_fresh(BYPASS)
    assert out.split() == ["True"] * 5


def test_a_loader_never_started_has_nothing_to_wait_for() -> None:
    assert StartupLoader().wait_plots(0.0)


def test_the_window_makes_qts_types_before_it_lets_the_plots_load(qtbot, tmp_path, monkeypatch):
    order = []
    real_go = StartupLoader.plots_may_load
    monkeypatch.setattr(loader_mod, "incarnate_qt_types", lambda: order.append("types"))
    monkeypatch.setattr(
        StartupLoader, "plots_may_load", lambda self: (order.append("go"), real_go(self))
    )
    w = test_gui_window.deferred_window(qtbot, tmp_path)
    try:
        w.finish_startup()
        qtbot.waitUntil(lambda: w.plots is not None, timeout=LONG)
        assert w.model.ready
        assert order == ["types", "go"]
    finally:
        test_gui_window.close_deferred(qtbot, w)


def test_a_run_pressed_for_while_loading_goes_alone_before_the_plots_are_made(
    qtbot, tmp_path, monkeypatch
):
    """F5 at first sight: the default run is made and goes first; pyqtgraph's import and
    the plots' making, which took turns with it for the GIL and the GUI thread and ended it
    0.4 s later, begin once it is over."""
    states = []
    real_go = StartupLoader.plots_may_load
    w = test_gui_window.deferred_window(qtbot, tmp_path)
    # however slow the machine: the run must not be cut short by the "long run" timer
    monkeypatch.setattr(loader_mod, "FIRST_RUN_ALONE_S", 600.0)
    monkeypatch.setattr(
        StartupLoader,
        "plots_may_load",
        lambda self: (states.append((w.model.state, len(w.model.runs))), real_go(self)),
    )
    try:
        assert not w.model.ready
        w.live.run_or_resume()
        assert w.live.queued  # said, and kept until the solver is in
        w.finish_startup()
        qtbot.waitUntil(lambda: w.plots is not None, timeout=LONG)
        state, runs = states[0]
        assert state not in ("starting", "running") and runs == 1, states
        assert not w.model.runs[0].live
        n = len(w.model.runs[0].history)
        assert n > 1000  # the default problem converges in about 1,067; the plots show it all
        items = w.plots.plot("loss").widget.getPlotItem().listDataItems()
        ends = [item.getData()[0] for item in items]
        assert max(x.max() for x in ends if x is not None and len(x)) >= n - 1
    finally:
        test_gui_window.close_deferred(qtbot, w)


def test_a_long_first_run_gets_its_plots_while_it_goes(qtbot, tmp_path, monkeypatch):
    from solver.sessions import presets
    from solver.sessions import session as session_mod

    default = presets.build(presets.DEFAULT_PRESET)
    slow = session_mod.to_dict(default.replace(max_iters=10_000_000, tol=0.0))
    path = tmp_path / "long.json"
    path.write_text(json.dumps(slow))
    monkeypatch.setattr(loader_mod, "FIRST_RUN_ALONE_S", 0.05)
    states = []
    real_go = StartupLoader.plots_may_load
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.IniFormat)
    w = MainWindow(settings, tmp_path / "data", defer=True, dialogs=False, session_path=str(path))
    qtbot.addWidget(w)
    w.show()
    monkeypatch.setattr(
        StartupLoader, "plots_may_load", lambda self: (states.append(w.model.state), real_go(self))
    )
    try:
        w.live.run_or_resume()
        w.finish_startup()
        qtbot.waitUntil(lambda: w.plots is not None, timeout=LONG)
        assert states == ["running"]
        assert w.model.runs[0].live
    finally:
        w.live.stop()
        test_gui_window.close_deferred(qtbot, w)


def test_the_optimizers_warm_up_waits_for_the_first_run_to_end(qtbot, tmp_path, monkeypatch):
    """torch's compiler hooks (2 s of imports holding the GIL) beside the first run made it
    a second longer, and beside the plots' making put the plots 0.3 s later: the warm-up
    begins once no run is going and the plots are in."""
    states = []
    w = test_gui_window.deferred_window(qtbot, tmp_path)
    monkeypatch.setattr(
        StartupLoader,
        "warm_may_start",
        lambda self: states.append((w.model.state, w.plots is not None)),
    )
    try:
        w.live.run_or_resume()
        w.finish_startup()
        qtbot.waitUntil(lambda: len(w.model.runs) == 1 and bool(states), timeout=LONG)
        state, plots_in = states[0]
        assert state not in ("starting", "running") and plots_in, states
        assert not w.model.runs[0].live  # the queued run had ended
    finally:
        test_gui_window.close_deferred(qtbot, w)


CHECK = """
from PySide6 import QtCore, QtGui, QtWidgets
from gui.loader import incarnate_qt_types

def unmade():
    return sum(
        n not in m.__dict__ for m in (QtCore, QtGui, QtWidgets) for n in dir(m)
        if not n.startswith("__")
    )

before = unmade()
incarnate_qt_types()
print(before, unmade())
"""


def run_fresh(code: str) -> str:
    """``code``'s standard output, run in a fresh interpreter at the repository's root."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_incarnating_qts_types_leaves_none_to_make() -> None:
    """In a fresh interpreter PySide has made few of its classes' types; afterwards every
    class pyqtgraph's import copies is one already, so none is made on the loader's thread."""
    before, after = map(int, run_fresh(CHECK).split())
    assert before > 100 and after == 0
