"""The longest the window's own thread is held by one action on a large problem.

    python benchmarks/gui_thread.py [--n 3000] [--busy 2]

Each action is done in a real window (offscreen) while a 2 ms timer ticks on the GUI thread;
the longest gap between two ticks, from the action to the moment its result is shown, is
how long the window could neither paint nor take a key. Beside each large action the same
action on a small problem is measured in the same run: what is left of a large one beyond
that is work that should not be on the GUI thread (the rule: over ~50 ms moves off it).

Actions: the size boxes set to n × n, an n × n session file opened (its arrays in ``.npy``
files beside it), an n × n ``.npy`` imported as A, the random-cond preset at n / 2, and the
start-up restore of an n × n autosave. ``--busy N`` measures quiet, then beside N busy
processes (``benchmarks/busy.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from solver.core.threads import apply_env_policy  # noqa: E402

apply_env_policy()

import numpy as np  # noqa: E402
from bigfiles import dense_session  # noqa: E402
from busy import add_busy_option, quiet_then_busy, side_by_side  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402

TICK_MS = 2
WAIT_S = 600.0


class Ticks:
    """Gaps between a timer's ticks on the GUI thread."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self.last = time.monotonic()
        self.timer = QtCore.QTimer(interval=TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.monotonic()
        self.gaps.append(now - self.last)
        self.last = now

    def longest(self) -> float:
        return max([*self.gaps, time.monotonic() - self.last])


def until(cond: Callable[[], bool]) -> None:
    app = QtWidgets.QApplication.instance()
    end = time.monotonic() + WAIT_S
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("the action did not finish")
        app.processEvents(QtCore.QEventLoop.WaitForMoreEvents)


def settle() -> None:
    """Let what an action left (repaints, the analysis) pass before the next one."""
    app = QtWidgets.QApplication.instance()
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        app.processEvents(QtCore.QEventLoop.AllEvents, 50)


def stall_ms(act: Callable[[], object], done: Callable[[], bool], repaint: bool = True) -> float:
    settle()
    ticks = Ticks()
    try:
        act()
        until(done)
        if repaint:
            settle()  # the repaint of what was shown counts
        return ticks.longest() * 1e3
    finally:
        ticks.timer.stop()


def window(folder: Path, defer: bool = False):
    from gui.mainwindow import MainWindow

    settings = QtCore.QSettings(str(folder / "settings.ini"), QtCore.QSettings.IniFormat)
    w = MainWindow(settings, folder / "data", defer=defer, dialogs=False)
    w.resize(1280, 800)
    w.show()
    if not defer:
        until(lambda: w.model.ready)
    return w


def close(w) -> None:
    w.shutdown()
    w.persistence.flush()
    if w.loader is not None:
        until(lambda: not w.loader.busy())


def measure(n: int) -> dict[str, float]:
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        w = window(folder)
        shape = lambda: w.model.session.problem.A.shape  # noqa: E731
        big = dense_session(folder, n)
        small = ROOT / "examples" / "seed-3x3.json"
        for size, label in ((4, "small"), (n, "large")):
            assert w.files.open_path(small)
            rows, cols = w.matrix.page.sizes["A"]
            out[f"size boxes, {label}, ms"] = stall_ms(
                lambda s=size, r=rows, c=cols: (r.setValue(s), c.setValue(s)),
                lambda s=size: shape() == (s, s),
            )
        for path, size, label in ((small, 3, "small"), (big, n, "large")):
            w.editor.load_preset("seed-puzzle")
            out[f"open session, {label}, ms"] = stall_ms(
                lambda p=path: w.files.open_path(p), lambda s=size: shape() == (s, s)
            )
        np.save(folder / "small.npy", np.eye(5) * 2)
        for name, size, label in (("small.npy", 5, "small"), ("A.npy", n, "large")):
            w.editor.load_preset("seed-3x3")
            out[f"import A, {label}, ms"] = stall_ms(
                lambda p=folder / name: w.files.open_path(p), lambda s=size: shape() == (s, s)
            )
        for size, label in ((10, "small"), (n // 2, "large")):
            w.editor.load_preset("seed-3x3")
            out[f"random-cond preset, {label}, ms"] = stall_ms(
                lambda s=size: w.editor.load_preset("random-cond", n=s),
                lambda s=size: shape() == (s, s),
            )
        for path, label in ((small, "small"), (big, "large")):
            w.files.open_path(path)
            until(lambda w=w: not w.editor.loading)
            close(w)
            w = window(folder, defer=True)
            # up to the session shown and Run usable: building the plots, which follows, is
            # the same whatever the problem
            out[f"start-up restore, {label}, ms"] = stall_ms(
                w.finish_startup, lambda w=w: w.model.ready, repaint=False
            )
            until(lambda w=w: w.plots is not None)
        close(w)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=3000, help="the large problem's size (n × n)")
    add_busy_option(ap)
    args = ap.parse_args()
    QtWidgets.QApplication([])
    title = f"GUI thread, longest stall per action (n = {args.n})"
    if args.busy is not None:
        quiet, busy, load = quiet_then_busy(args.busy, lambda: measure(args.n))
        print(side_by_side(title, quiet, busy, load))
    else:
        print(title)
        for name, v in measure(args.n).items():
            print(f"  {name:<36} {v:8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
