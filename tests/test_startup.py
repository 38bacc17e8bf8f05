"""Start-up failures a user can meet: no display, a missing Qt plugin, an unwritable log
folder, an uncaught exception; and the --self-test that CI also runs on the frozen app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from gui import crash  # noqa: E402
from gui.platform_check import platform_problem  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _env(**changes: str | None) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def test_missing_platform_plugin_is_named_with_alternatives(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "nosuchplatform")
    msg = platform_problem()
    assert "'nosuchplatform' is missing" in msg
    assert "offscreen" in msg  # the alternatives are listed


def test_no_display_says_how_to_run_without_one(monkeypatch):
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    msg = platform_problem()
    assert "no display found" in msg and "QT_QPA_PLATFORM=offscreen" in msg


def test_offscreen_is_fine(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert platform_problem() is None


def _free_display() -> str:
    """A display number no X server here answers on (a fixed one may be taken, by a
    screenshot's Xvfb or a desktop)."""
    for n in range(97, 1000):
        if not any(Path(p).exists() for p in (f"/tmp/.X11-unix/X{n}", f"/tmp/.X{n}-lock")):
            return f":{n}"
    pytest.skip("no free X display number")


def test_app_exits_with_one_clear_line_when_the_display_is_unreachable(tmp_path):
    display = _free_display()
    env = _env(QT_QPA_PLATFORM=None, WAYLAND_DISPLAY=None, DISPLAY=display, HOME=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 3
    assert f"cannot connect to the X display '{display}'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_crash_log_falls_back_to_temp_when_app_data_is_unwritable(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log folder should be")
    path = crash.write_log("boom", folder=blocker / "logs")
    assert path.read_text() == "boom"
    assert not str(path).startswith(str(blocker))


def test_uncaught_exception_is_logged_under_app_data(qapp, tmp_path, monkeypatch):
    monkeypatch.setattr(crash, "log_dir", lambda: tmp_path / "logs")
    saved = sys.excepthook
    try:
        crash.install()
        try:
            raise RuntimeError("worker fell over")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())
    finally:
        sys.excepthook = saved
    logs = list((tmp_path / "logs").glob("crash-*.log"))
    assert len(logs) == 1
    text = logs[0].read_text()
    assert "RuntimeError: worker fell over" in text and "Traceback" in text


def test_self_test_passes_from_source(tmp_path):
    env = _env(
        QT_QPA_PLATFORM="offscreen",
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path),
        XDG_DATA_HOME=str(tmp_path),
    )
    proc = subprocess.run(
        [sys.executable, "main.py", "--self-test"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "SELFTEST PASS"
    from solver.problems.losses import LOSSES
    from solver.settings.optimizers import OPTIMIZER_NAMES

    # every optimizer with every loss: an SPD system takes all but svd_mse, an svd problem that
    combos = len(OPTIMIZER_NAMES) * len(LOSSES)
    assert f"{combos} optimizer/loss combinations advance" in proc.stdout


_CRASH = """
import sys
from pathlib import Path

import pytest
from gui import crash
print(crash.open_fatal_log(Path(sys.argv[1])))
if sys.argv[2] == "crash":
    import ctypes
    ctypes.string_at(0)  # a segfault, as a native library's bug would be
"""


def test_a_native_crash_leaves_every_threads_stack_in_a_fatal_log(tmp_path):
    """A segfault cannot be caught; the frozen app has no terminal. The log is what is left."""
    logs = tmp_path / "logs"
    env = _env(PYTHONFAULTHANDLER=None)
    crashed = subprocess.run(
        [sys.executable, "-c", _CRASH, str(logs), "crash"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert crashed.returncode != 0
    (log,) = logs.glob("fatal-*.log")
    text = log.read_text()
    assert "Fatal Python error: Segmentation fault" in text and 'File "<string>"' in text
    clean = subprocess.run(
        [sys.executable, "-c", _CRASH, str(logs), "exit"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert clean.returncode == 0, clean.stderr
    # the clean launch's empty log is gone; the crash's is kept
    assert list(logs.glob("fatal-*.log")) == [log]
    # where faulthandler is on already (a developer's stderr), it is left alone
    on = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", _CRASH, str(logs), "exit"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert on.stdout.strip() == "None"
