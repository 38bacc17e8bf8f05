"""Quitting is always clean: from any state the worker, the analysis and the loader can be in,
Ctrl+Q (the window's close) or SIGTERM ends the real app with status 0, no QThread destroyed
while it runs, and the autosave written.

Each case is ``python tests/quit_driver.py STATE HOW``: ``main.main`` with the window driven
into STATE, offscreen, in a fresh profile. The states that cannot be interrupted (a run being
created inside one LU, an analysis inside one SVD, the solver's import) are made to last for
ever there, so the app can only end by leaving them running.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import test_gui

import gui.worker
from benchmarks.startup import profile_env
from gui.app import threads_left

make_window, window, LONG = test_gui.make_window, test_gui.window, test_gui.LONG

ROOT = Path(__file__).resolve().parent.parent
DRIVER = ROOT / "tests" / "quit_driver.py"
HANG = 180  # s: only a hang detector on a loaded machine, never a measure

CASES = [
    ("loading", "close"),
    ("loading", "term"),
    ("creating", "close"),
    ("creating", "term"),
    ("analysing", "close"),
    ("running", "close"),
    ("running", "term"),
    ("lbfgs", "close"),
    ("paused", "close"),
    ("stepping", "term"),
    ("race", "close"),
    ("dialog", "term"),
    ("asking", "term"),
    ("file_dialog", "term"),
]


def autosave_of(home: Path) -> Path:
    return home / "data" / "DescentLab" / "Descent Lab" / "last-session.json"


def big_session(folder: Path, **settings: object) -> Path:
    """A dense system large enough to be analysed off the GUI thread."""
    rng = np.random.default_rng(0)
    np.save(folder / "A.npy", rng.standard_normal((250, 250)) + 20 * np.eye(250))
    np.save(folder / "b.npy", np.ones(250))
    path = folder / "big.json"
    problem = {"kind": "linear_system", "A": {"file": "A.npy"}, "b": {"file": "b.npy"}}
    data = {"version": 1, "problem": problem, **settings}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def endless_session(folder: Path) -> Path:
    """The 3×3 example, run until stopped (a session file: opening it changes nothing that
    closing would ask about)."""
    data = json.loads((ROOT / "examples" / "seed-3x3.json").read_text(encoding="utf-8"))
    data["stop"] = {"max_iters": 10**9, "tol": 0.0}
    path = folder / "endless.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def wait_for_line(proc: subprocess.Popen, want: str, err: Path) -> None:
    """Read the app's stdout until the line ``want``; fail (quoting stderr) if it ends."""
    buf = b""
    end = time.monotonic() + HANG
    fd = proc.stdout.fileno()
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
            if want.encode() in buf.splitlines():
                return
        elif proc.poll() is not None:
            break
    proc.kill()
    pytest.fail(f"never printed {want!r} (stdout {buf[-500:]!r}):\n{err.read_text()[-3000:]}")


@pytest.mark.parametrize(("state", "how"), CASES)
def test_quitting_from_any_state_exits_0_with_the_autosave(state, how, tmp_path):
    home = tmp_path / "home"
    autosave = autosave_of(home)
    args: list[str] = []
    if state == "loading":
        # nothing is loaded yet to autosave: the last autosave must come through untouched
        autosave.parent.mkdir(parents=True)
        autosave.write_text((ROOT / "examples" / "seed-3x3.json").read_text(), encoding="utf-8")
        before = autosave.read_text(encoding="utf-8")
    if state == "analysing":
        args.append(str(big_session(tmp_path)))
    if state in ("running", "paused", "stepping"):
        args.append(str(endless_session(tmp_path)))
    if state == "lbfgs":
        # each step: up to 100,000 evaluations with nothing to end them early
        inner = {"max_iter": 100_000, "tolerance_grad": 0.0, "tolerance_change": 0.0}
        optimizer = {"name": "lbfgs", "lr": 1e-4, "history_size": 2, **inner}
        stop = {"max_iters": 10**6, "tol": 0.0}
        args.append(str(big_session(tmp_path, optimizer=optimizer, stop=stop)))
    err = tmp_path / "stderr.txt"
    with open(err, "w", encoding="utf-8") as err_file:
        proc = subprocess.Popen(
            [sys.executable, str(DRIVER), state, how, *args],
            cwd=ROOT,
            env=profile_env(str(home)),
            stdout=subprocess.PIPE,
            stderr=err_file,
        )
    try:
        wait_for_line(proc, f"reached {state}", err)
        if how == "term":
            proc.send_signal(signal.SIGTERM)
        # drained, so a chatty app never blocks on a full pipe
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        rc = proc.wait(HANG)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = err.read_text(encoding="utf-8", errors="replace")
    assert rc == 0, stderr[-3000:]
    assert "Destroyed while thread" not in stderr
    assert "Traceback" not in stderr, stderr[-3000:]
    saved = json.loads(autosave.read_text(encoding="utf-8"))
    if state == "loading":
        assert autosave.read_text(encoding="utf-8") == before
    elif state in ("analysing", "lbfgs"):
        assert Path(saved["problem"]["A"]["file"]).name == "A.npy"
    elif state == "asking":
        assert saved["optimizer"]["lr"] == 0.01  # the change the user did not save in a file
    else:
        assert saved["problem"]["A"] == [[1, 2, 0], [0, 1, 0], [0, 0, 1]]


def test_a_run_created_inside_a_native_call_is_left_running_and_said(qtbot, window, monkeypatch):
    """In process: shutdown returns while a run's creation cannot be interrupted, says the
    solver thread is left (the app then ends with os._exit), and never forces it."""
    inside, release = threading.Event(), threading.Event()
    real = gui.worker.SolverWorker._create

    def create(self, cmd):
        inside.set()
        release.wait()  # like one LU of a large matrix: no Python, no GIL, no way in
        real(self, cmd)

    monkeypatch.setattr(gui.worker.SolverWorker, "_create", create)
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
    monkeypatch.setattr(crash, "_quitting", False)
    try:
        raise RuntimeError("before the quit")
    except RuntimeError as exc:
        crash._report(RuntimeError, exc, exc.__traceback__, "the window")
    assert len(shown) == 1  # the dialog, as it always was
    crash.quitting()
    try:
        raise RuntimeError("during the quit")
    except RuntimeError as exc:
        crash._report(RuntimeError, exc, exc.__traceback__, "the window")
    assert len(shown) == 1
    logs = sorted((tmp_path / "logs").glob("crash-*.log"))
    assert len(logs) == 2 and "during the quit" in logs[-1].read_text()
