"""The real application under a real X server: ``python main.py`` on Xvfb, keys pressed
through the window system (xdotool), a screenshot taken by the X server (xwd).

Needs the Debian packages xvfb, xdotool and x11-apps (xwd); ``.ci/run`` installs them.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks.startup import PrivateX

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("Xvfb", "xdotool", "xwd")
MISSING = [t for t in TOOLS if shutil.which(t) is None]
HANG = 120  # s: a hang detector on a loaded machine, never a measure
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"needs {', '.join(MISSING)} on PATH (Debian packages xvfb, xdotool, x11-apps)",
)


@pytest.fixture
def display():
    """A fresh Xvfb on a free display number (the benchmarks' own, ``PrivateX``)."""
    with PrivateX() as x:
        if x.display is None:
            pytest.fail("Xvfb did not report a display within 30 s")
        yield x.display


def app_env(display: str, tmp_path, **extra: str) -> dict:
    """The environment of an app launched on ``display`` in a fresh profile under tmp_path."""
    home = tmp_path / "home"
    (tmp_path / "runtime").mkdir(mode=0o700)
    return dict(
        os.environ,
        DISPLAY=display,
        QT_QPA_PLATFORM="xcb",
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_RUNTIME_DIR=str(tmp_path / "runtime"),
        **extra,
    )


def xdotool(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=60)


class App:
    """``python main.py ARGS`` on the display of ``env``. Its stderr goes to a file, so that a
    failure can quote it while the app still runs (a dialog on screen, a hang); a fatal
    signal's traceback is in it too (faulthandler)."""

    def __init__(self, env: dict, tmp_path: Path, *args: str) -> None:
        self.stderr_path = tmp_path / "app-stderr.txt"
        with open(self.stderr_path, "w", encoding="utf-8") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "main.py", *args],
                cwd=ROOT,
                env=dict(env, PYTHONFAULTHANDLER="1"),
                stdout=subprocess.DEVNULL,
                stderr=err,
                text=True,
            )

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")[-3000:]

    def wait_for(self, what, timeout: float, why: str, step: float = 0.2):
        """``what()`` once it is truthy; fails the test with ``why`` after ``timeout`` s, or
        at once when the app has ended, quoting its status and stderr either way."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            value = what()
            if value:
                return value
            if self.proc.poll() is not None:
                pytest.fail(f"{why}: the app ended, status {self.proc.returncode}\n{self.stderr()}")
            time.sleep(step)
        pytest.fail(f"{why} within {timeout} s; the app's stderr:\n{self.stderr()}")

    def quit_status(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def wait_for(what, timeout: float, step: float = 0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = what()
        if value:
            return value
        time.sleep(step)
    return None


def xwd_to_png(xwd: Path, png: Path) -> np.ndarray:
    """Convert an xwd dump (ZPixmap, true colour) to PNG; returns the RGB pixels."""
    from PySide6 import QtGui

    data = xwd.read_bytes()
    fields = struct.unpack(">25I", data[:100])
    header_size, version, fmt, _depth, width, height = fields[:6]
    byte_order, bits_per_pixel, bytes_per_line, ncolors = (
        fields[7],
        fields[11],
        fields[12],
        fields[19],
    )
    step = bits_per_pixel // 8  # xwd packs 24-bit pixels in 3 bytes; rows keep their stride
    assert version == 7 and fmt == 2 and step in (3, 4), fields
    start = header_size + 12 * ncolors
    raw = np.frombuffer(data, np.uint8, count=height * bytes_per_line, offset=start)
    px = raw.reshape(height, bytes_per_line)[:, : width * step].reshape(height, width, step)
    if byte_order == 1:  # MSBFirst: the colour bytes come in reverse
        px = px[:, :, ::-1]
    bgrx = np.zeros((height, width, 4), np.uint8)
    bgrx[:, :, :3] = px[:, :, :3]
    img = QtGui.QImage(bgrx.data, width, height, width * 4, QtGui.QImage.Format_RGB32)
    assert img.save(str(png)), f"cannot write {png}"
    return bgrx[:, :, 2::-1]


def logged(log: Path, event: str) -> list[dict]:
    """The run log's entries of one kind (``DESCENT_LAB_RUN_LOG``)."""
    if not log.is_file():
        return []
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [e for e in entries if e["event"] == event]


def test_real_app_runs_on_f5_and_quits_on_ctrl_q(display, tmp_path):
    home = tmp_path / "home"
    log = tmp_path / "runs.jsonl"
    env = app_env(display, tmp_path, DESCENT_LAB_RUN_LOG=str(log))
    app = App(env, tmp_path)
    try:
        # The title names the loaded session once the solver is in: "3×3 ... — Descent Lab".
        found = app.wait_for(
            lambda: xdotool(env, "search", "--name", ".+Descent Lab$").stdout.split(),
            90,
            "no loaded window appeared",
        )
        wid = found[0]
        xdotool(env, "windowfocus", "--sync", wid)
        xdotool(env, "key", "--clearmodifiers", "F5")
        runs = app.wait_for(lambda: logged(log, "run"), 90, "pressing F5 did not finish a run")
        result = runs[0]
        assert result["stop_reason"] == "converged", result
        assert result["final_loss"] < 1e-16 and result["iterations"] > 100
        # The plots may come after the run (a run pressed while they load goes first): wait
        # until the loss curve's blue is on the screen.
        shot, screens = tmp_path / "window.xwd", []

        def curve_on_screen() -> bool:
            subprocess.run(
                ["xwd", "-root", "-silent", "-out", str(shot)], env=env, check=True, timeout=60
            )
            rgb = xwd_to_png(shot, tmp_path / "window.png")
            blue = (rgb[:, :, 2] > 180) & (rgb[:, :, 0] < 60) & (rgb[:, :, 1] < 120)
            screens.append((float(rgb.std()), int(blue.sum())))
            return screens[-1][0] > 10 and screens[-1][1] > 200  # not blank; the curve

        assert wait_for(curve_on_screen, 30), f"no loss curve on the screen: {screens}"
        assert (tmp_path / "window.png").stat().st_size > 10_000

        # The smallest laptop window: the window takes that size (its minimum is below it),
        # and what is drawn is still the plots, not a blank or a cut-off frame.
        xdotool(env, "windowsize", wid, "1024", "700")
        small = wait_for(lambda: window_size(env, wid) == (1024, 700), 30)
        assert small, f"the window would not shrink to 1024x700: {window_size(env, wid)}"
        shot = tmp_path / "window-1024.xwd"
        blues = []

        def blue_on_screen() -> bool:
            subprocess.run(
                ["xwd", "-id", wid, "-silent", "-out", str(shot)], env=env, check=True, timeout=60
            )
            rgb = xwd_to_png(shot, tmp_path / "window-1024.png")
            blues.append(int(((rgb[:, :, 2] > 180) & (rgb[:, :, 0] < 60)).sum()))
            return rgb.shape[:2] == (700, 1024) and blues[-1] > 200

        assert wait_for(blue_on_screen, 30), f"no plots on the 1024x700 screenshot: {blues}"

        xdotool(env, "windowfocus", "--sync", wid)
        xdotool(env, "key", "--clearmodifiers", "ctrl+q")
        rc = app.quit_status()
        assert rc == 0, app.stderr()
    finally:
        app.kill()
    autosave = home / "data" / "DescentLab" / "Descent Lab" / "last-session.json"
    assert autosave.is_file()
    assert json.loads(autosave.read_text())["problem"]["A"] == [[1, 2, 0], [0, 1, 0], [0, 0, 1]]


def window_size(env: dict, wid: str) -> tuple[int, int] | None:
    out = xdotool(env, "getwindowgeometry", "--shell", wid).stdout
    values = dict(line.split("=", 1) for line in out.split() if "=" in line)
    try:
        return int(values["WIDTH"]), int(values["HEIGHT"])
    except (KeyError, ValueError):
        return None


def test_quitting_while_a_big_matrix_is_analysed_exits_at_once(display, tmp_path):
    """A 5000×5000 system takes seconds to analyse (power iterations, then one LU that
    cannot be interrupted), and a run of it starts with one more (its exact reference):
    F5, Shift+F5 and Ctrl+Q meanwhile must end the process with status 0, no QThread
    destroyed while it runs, and the session autosaved. (How soon: docs/RELIABILITY.md.)"""
    env = app_env(display, tmp_path)
    rng = np.random.default_rng(0)
    np.save(tmp_path / "big.npy", rng.standard_normal((5000, 5000)))
    np.save(tmp_path / "b.npy", np.ones(5000))
    session = tmp_path / "big-session.json"
    session.write_text(
        json.dumps(
            {
                "version": 1,
                "problem": {
                    "kind": "linear_system",
                    "A": {"file": "big.npy"},
                    "b": {"file": "b.npy"},
                },
            }
        )
    )
    app = App(env, tmp_path, str(session))
    try:
        # The title names the session once it is loaded, and its analysis has begun.
        found = app.wait_for(
            lambda: xdotool(env, "search", "--name", "big-session.json").stdout.split(),
            120,
            "the big session was never loaded",
        )
        xdotool(env, "windowfocus", "--sync", found[0])
        t0 = time.monotonic()
        for key in ("F5", "shift+F5", "ctrl+q"):
            xdotool(env, "key", "--clearmodifiers", key)
        rc = app.quit_status(HANG)
        elapsed = time.monotonic() - t0
    finally:
        app.kill()
    assert rc == 0, app.stderr()
    assert "Destroyed while thread" not in app.stderr()
    # The autosave keeps its own copy of the matrix the user opened, whole.
    data = tmp_path / "home" / "data" / "DescentLab" / "Descent Lab"
    piece = Path(json.loads((data / "last-session.json").read_text())["problem"]["A"]["file"])
    piece = piece if piece.is_absolute() else data / piece
    assert piece.parent.resolve() == data.resolve() and piece.name.startswith("last-session-A-")
    assert piece.stat().st_size == (tmp_path / "big.npy").stat().st_size
    print(f"quit during the analysis: exited {elapsed:.2f} s after Ctrl+Q")
