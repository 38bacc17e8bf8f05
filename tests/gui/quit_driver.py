"""``python main.py`` driven into one state, then quit from it (``tests/gui/test_gui_quit.py``).

    python tests/gui/quit_driver.py STATE HOW [SESSION.json]

STATE: loading, creating, analysing, running, lbfgs, paused, stepping, race, dialog, asking,
file_dialog. HOW: ``close`` (what Ctrl+Q does: the window's close) or ``term`` (the test sends
SIGTERM). Prints ``reached STATE`` once the window is in it, ``quit <time>`` as it closes
the window itself and ``hidden <time>`` once the window is hidden. The app is the real one
(``main.main``, ``gui.app.run_app``); the slow states that cannot be interrupted are made to
last for ever: the solver's import (loading), a run's creation (one LU of a large matrix)
and an analysis each block, without the GIL, on an event that is never set.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6 import QtCore, QtWidgets  # noqa: E402

import gui.loader  # noqa: E402
import gui.worker  # noqa: E402
import main  # noqa: E402
from gui.mainwindow import MainWindow  # noqa: E402

STATE, HOW = sys.argv[1], sys.argv[2]
inside = threading.Event()  # a blocked call has begun
never = threading.Event()


def blocked(*_args: object, **_kwargs: object) -> None:
    inside.set()
    never.wait()


if STATE == "loading":
    gui.loader.preload_solver = blocked
elif STATE == "creating":
    import solver.run.engine

    solver.run.engine.Run = lambda *args, **kwargs: blocked()  # the worker makes it so
elif STATE == "analysing":
    import solver.insight.analysis_cache

    solver.insight.analysis_cache.analyze_cached = blocked


def modal(kind: type) -> bool:
    return isinstance(QtWidgets.QApplication.activeModalWidget(), kind)


def setup(w: MainWindow) -> tuple[callable, callable]:
    """What to do once the solver is in, and when the state is reached."""
    m = w.model
    if STATE == "loading":
        return (lambda: None), inside.is_set
    if STATE in ("creating", "analysing"):
        return (lambda: w.live.start() if STATE == "creating" else None), inside.is_set
    # running, paused, stepping: the session given runs until stopped
    if STATE in ("running", "lbfgs"):  # lbfgs: inside one long step (100,000 evaluations)
        return w.live.start, lambda: m.state == "running"
    if STATE == "paused":
        return (lambda: w.live.start(steps=0)), lambda: m.state == "paused"
    if STATE == "stepping":

        def go() -> None:
            w.live.set_speed(2)
            w.live.step(10**6)

        return go, lambda: m.state == "running"
    if STATE == "race":
        started = []

        def race() -> bool:
            if not started and m.analysis is not None:
                w.live.set_speed(2)  # slow entrants: the race is still on when it is seen
                started.append(w.race.start())
            return bool(started) and w.race.running and m.state == "running"

        return (lambda: None), race
    if STATE == "dialog":
        return (lambda: m.refuse("A message", "left open at quit")), (
            lambda: bool(w.boxes.open_boxes())
        )
    if STATE == "asking":

        def ask() -> None:
            w.editor.change({"lr": 0.01})  # unsaved changes: closing asks about them
            QtCore.QTimer.singleShot(0, w.close)

        return ask, lambda: modal(QtWidgets.QMessageBox)
    if STATE == "file_dialog":
        return (lambda: QtCore.QTimer.singleShot(0, w.files.save_session)), (
            lambda: modal(QtWidgets.QFileDialog)
        )
    raise SystemExit(f"unknown state {STATE}")


def drive(w: MainWindow) -> None:
    timer = QtCore.QTimer(w)
    step = {"begun": False}
    go, there = setup(w) if STATE == "loading" else (None, None)  # no session yet

    def poll() -> None:
        nonlocal go, there
        if not step["begun"]:
            # the start-up imports over (the plots and the warm-up too): quitting then has
            # only the state's own thread to deal with
            loaded = w.model.ready and w.model.can_run() and not w.loader.busy()
            if STATE != "loading" and not loaded:
                return
            if go is None:
                go, there = setup(w)
            step["begun"] = True
            go()
        if there():
            timer.stop()
            print(f"reached {STATE}", flush=True)
            if HOW == "close":
                print(f"quit {time.time():.6f}", flush=True)
                w.close()

    class Hidden(QtCore.QObject):
        def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:
            if obj is w and ev.type() == QtCore.QEvent.Type.Hide:
                print(f"hidden {time.time():.6f}", flush=True)
            return False

    w.installEventFilter(Hidden(w))

    timer.timeout.connect(poll)
    timer.start(10)


real_finish = MainWindow.finish_startup


def finish_startup(self: MainWindow, *args: object, **kwargs: object) -> None:
    real_finish(self, *args, **kwargs)
    drive(self)


MainWindow.finish_startup = finish_startup

if __name__ == "__main__":
    sys.exit(main.main(sys.argv[3:]))
