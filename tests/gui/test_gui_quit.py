"""Quitting is always clean: from any state the worker, the analysis and the loader can be in,
Ctrl+Q (the window's close) or SIGTERM ends the real app with status 0, no QThread destroyed
while it runs, and the autosave written.

Each case is ``python tests/gui/quit_driver.py STATE HOW``: ``main.main`` with the window driven
into STATE, offscreen, in a fresh profile. The states that cannot be interrupted (a run being
created inside one LU, an analysis inside one SVD, the solver's import) are made to last for
ever there, so the app can only end by leaving them running.
"""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import test_gui
from quit_cases import CASES, ROOT, autosave_of, launch

import solver.run.engine
from gui.app import threads_left

LONG = test_gui.LONG


@pytest.mark.parametrize(("state", "how"), CASES)
def test_quitting_from_any_state_exits_0_with_the_autosave(state, how, tmp_path):
    home = tmp_path / "home"
    autosave = autosave_of(home)
    if state == "loading":
        # nothing is loaded yet to autosave: the last autosave must come through untouched
        autosave.parent.mkdir(parents=True)
        autosave.write_text((ROOT / "examples" / "seed-3x3.json").read_text(), encoding="utf-8")
        before = autosave.read_text(encoding="utf-8")
    result = launch(state, how, home, tmp_path)
    assert result.reached, f"never reached {state}: {result.stdout[-500:]!r}\n{result.stderr}"
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Destroyed while thread" not in result.stderr
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "hidden" in result.times  # the window went before the threads were waited for
    t = result.times
    hidden, ended = t["hidden"] - t["quit"], t["exited"] - t["quit"]
    print(f"{state} {how}: hidden after {hidden:.2f} s, ended after {ended:.2f} s")
    saved = json.loads(autosave.read_text(encoding="utf-8"))
    if state == "loading":
        assert autosave.read_text(encoding="utf-8") == before
    elif state in ("analysing", "lbfgs"):
        # the autosave's own copy of the user's matrix, beside it
        piece = autosave.parent / saved["problem"]["A"]["file"]
        assert piece.name.startswith("last-session-A-")
        np.testing.assert_array_equal(np.load(piece), np.load(tmp_path / "A.npy"))
    elif state == "asking":
        assert saved["optimizer"]["lr"] == 0.01  # the change the user did not save in a file
    else:
        assert saved["problem"]["A"] == [[1, 2, 0], [0, 1, 0], [0, 0, 1]]


def test_a_run_created_inside_a_native_call_is_left_running_and_said(qtbot, window, monkeypatch):
    """In process: shutdown returns while a run's creation cannot be interrupted, says the
    solver thread is left (the app then ends with os._exit), and never forces it."""
    inside, release = threading.Event(), threading.Event()
    real = solver.run.engine.Run

    def create(*args, **kwargs):
        inside.set()
        release.wait()  # like one LU of a large matrix: no Python, no GIL, no way in
        return real(*args, **kwargs)

    monkeypatch.setattr(solver.run.engine, "Run", create)  # what the worker makes a run with
    assert window.live.start()
    qtbot.waitUntil(inside.is_set, timeout=LONG)
    try:
        window.shutdown()
        assert not window.isVisible()
        assert window.persistence.autosave_path().is_file()
        assert threads_left(window) == ["solver"]
    finally:
        release.set()  # the thread must end before the window (and its QThread) goes
    qtbot.waitUntil(lambda: not window.live.running(), timeout=LONG)
    assert threads_left(window) == []


def test_an_error_while_quitting_is_logged_without_a_dialog(qapp, tmp_path, monkeypatch):
    """A crash dialog is modal: at quit it would hold the process until answered (a SIGTERM
    at logout has no one to answer it). The error is still logged."""
    from PySide6 import QtWidgets

    from gui import crash

    shown = []
    monkeypatch.setattr(crash, "log_dir", lambda: tmp_path / "logs")
    monkeypatch.setattr(QtWidgets.QApplication, "platformName", staticmethod(lambda: "xcb"))
    monkeypatch.setattr(QtWidgets.QMessageBox, "exec", lambda box: shown.append(box.text()))
    # a reach-in on purpose: the module's quitting flag, which an earlier quit may have set
    monkeypatch.setattr(crash, "_quitting", False)
    try:
        raise RuntimeError("before the quit")
    except RuntimeError as exc:
        crash.report(RuntimeError, exc, exc.__traceback__, "the window")
    assert len(shown) == 1  # the dialog, as it always was
    crash.quitting()
    try:
        raise RuntimeError("during the quit")
    except RuntimeError as exc:
        crash.report(RuntimeError, exc, exc.__traceback__, "the window")
    assert len(shown) == 1
    logs = sorted((tmp_path / "logs").glob("crash-*.log"))
    assert len(logs) == 2 and "during the quit" in logs[-1].read_text()


def test_ctrl_q_quits_while_a_message_box_is_up(qtbot, make_window):
    """A message box is window-modal: the window's own shortcuts do not reach it, so Ctrl+Q
    did nothing until the box was closed."""
    from PySide6 import QtCore

    w = make_window(dialogs=True)
    w.model.refuse("A message", "still open when the user quits")
    qtbot.waitUntil(lambda: bool(w.boxes.open_boxes()), timeout=LONG)
    box = w.boxes.open_boxes()[0]
    box.activateWindow()
    qtbot.waitUntil(lambda: box.isActiveWindow(), timeout=LONG)
    qtbot.keyClick(box, QtCore.Qt.Key_Q, QtCore.Qt.ControlModifier)
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=LONG)
    w.persistence.flush()  # the quit's autosave is written in the background
    assert w.persistence.autosave_path().is_file()
    assert not w.boxes.open_boxes()
