"""The quit cases of ``tests/gui/test_gui_quit.py`` and ``benchmarks/quit.py``: the app launched
through ``tests/gui/quit_driver.py`` in a fresh profile, driven into a state, and quit from it."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.startup import profile_env  # noqa: E402

DRIVER = ROOT / "tests" / "gui" / "quit_driver.py"
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


def session_args(state: str, folder: Path) -> list[str]:
    """The session file the app opens for ``state`` (none: its default)."""
    if state == "analysing":
        return [str(big_session(folder))]
    if state in ("running", "paused", "stepping"):
        return [str(endless_session(folder))]
    if state == "lbfgs":
        # each step: up to 100,000 evaluations with nothing to end them early
        inner = {"max_iter": 100_000, "tolerance_grad": 0.0, "tolerance_change": 0.0}
        optimizer = {"name": "lbfgs", "lr": 1e-4, "history_size": 2, **inner}
        stop = {"max_iters": 10**6, "tol": 0.0}
        return [str(big_session(folder, optimizer=optimizer, stop=stop))]
    return []


@dataclass
class Quit:
    """How one launch ended: its status, its stderr, and when (``time.time()``) the quit
    was asked, the window was hidden and the process had ended."""

    returncode: int | None = None
    stderr: str = ""
    stdout: bytes = b""
    reached: bool = False
    times: dict[str, float] = field(default_factory=dict)


def _read_until(proc: subprocess.Popen, want: bytes, out: Quit) -> bool:
    end = time.monotonic() + HANG
    fd = proc.stdout.fileno()
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                return False
            out.stdout += chunk
            if want in out.stdout.splitlines():
                return True
        elif proc.poll() is not None:
            return False
    return False


def launch(state: str, how: str, home: Path, folder: Path) -> Quit:
    """Run the app into ``state`` and quit it ``how`` ("close" or "term")."""
    out = Quit()
    err = folder / "stderr.txt"
    args = session_args(state, folder)
    with open(err, "w", encoding="utf-8") as err_file:
        proc = subprocess.Popen(
            [sys.executable, str(DRIVER), state, how, *args],
            cwd=ROOT,
            env=profile_env(str(home)),
            stdout=subprocess.PIPE,
            stderr=err_file,
        )
    try:
        out.reached = _read_until(proc, f"reached {state}".encode(), out)
        if out.reached:
            if how == "term":
                out.times["quit"] = time.time()
                proc.send_signal(signal.SIGTERM)
            rest = threading.Thread(target=lambda: _drain(proc, out), daemon=True)
            rest.start()
            out.returncode = proc.wait(HANG)
            out.times["exited"] = time.time()
            rest.join(HANG)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out.stderr = err.read_text(encoding="utf-8", errors="replace")
    for line in out.stdout.decode(errors="replace").splitlines():
        word, _, stamp = line.partition(" ")
        if word in ("quit", "hidden"):
            out.times[word] = float(stamp)
    return out


def _drain(proc: subprocess.Popen, out: Quit) -> None:
    # read to the end, so a chatty app never blocks on a full pipe
    out.stdout += proc.stdout.read()
