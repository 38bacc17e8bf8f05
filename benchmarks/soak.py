"""Soak the live window: many repaints while a run goes, and a 1,000,000-iteration live run
with the process's memory sampled.

    QT_QPA_PLATFORM=offscreen python benchmarks/soak.py [--frames 10000] [--iterations 1000000]

1. Repaint soak: the seed 3×3 system runs flat out while the window draws ``--frames`` frames
   (every plot, as a paused or finished run is drawn), the load that crashed PySide6 6.12.0
   within 3,000 repaints. Passes when the process is alive and the run still advancing.
2. Memory: one live run of ``--iterations`` updates at n = 3; the resident set is sampled
   every 10% of the way. Passes when its growth after the first sample stays within what the
   history's arrays hold (their capacity: loss, norms and the x trajectory) plus 32 MB.

Prints one line per part and exits 1 when either fails. Results go in docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6 import QtCore, QtWidgets  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def wait(app: QtWidgets.QApplication, seconds: float, until=None) -> bool:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        if until is not None and until():
            return True
        time.sleep(0.005)
    return until is None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--iterations", type=int, default=1_000_000)
    args = ap.parse_args()

    app = QtWidgets.QApplication(sys.argv)
    from gui.app import configure_application

    configure_application(app)
    QtCore.QStandardPaths.setTestModeEnabled(True)
    from gui.mainwindow import MainWindow
    from solver.sessions import presets

    tmp = tempfile.mkdtemp(prefix="soak-")
    settings = QtCore.QSettings(str(Path(tmp) / "s.ini"), QtCore.QSettings.IniFormat)
    win = MainWindow(settings, Path(tmp) / "data", dialogs=False)
    win.resize(1440, 900)
    win.show()
    ok = True

    # 1. Repaints while the run goes.
    endless = presets.build("seed-3x3").replace(max_iters=10**9, tol=0.0)
    win.editor.load_session(endless)
    assert win.live.start(), win.model.last_error
    wait(app, 30, lambda: win.model.state == "running")
    t0 = time.perf_counter()
    for _ in range(args.frames):
        win.plots.refresh(everything=True, tight=False)
        win.plots.repaint()
        app.processEvents()
    dt = time.perf_counter() - t0
    it0 = win.model.selected.status.iteration
    wait(app, 5, lambda: win.model.selected.status.iteration > it0)
    alive = win.model.selected.status.iteration > it0 and win.model.state == "running"
    ok &= alive
    print(
        f"repaint soak: {args.frames:,} full redraws in {dt:.0f} s ({args.frames / dt:.0f}/s) "
        f"while the run went on; still running: {alive}"
    )
    win.live.stop()
    wait(app, 10, lambda: win.model.state == "idle")

    # 2. Memory over a long live run.
    win.editor.load_session(presets.build("seed-3x3").replace(max_iters=args.iterations, tol=0.0))
    assert win.live.start(), win.model.last_error
    samples: list[tuple[int, float]] = []
    step = max(1, args.iterations // 10)
    t0 = time.perf_counter()
    while win.model.state != "idle":
        wait(app, 0.2)
        it = win.model.selected.status.iteration
        if not samples or it >= samples[-1][0] + step:
            samples.append((it, rss_mb()))
    samples.append((win.model.selected.status.iteration, rss_mb()))
    dt = time.perf_counter() - t0
    rec = win.model.selected
    history_mb = rec.history.memory_bytes() / 2**20
    growth = samples[-1][1] - samples[0][1]
    flat = growth <= history_mb + 32
    ok &= flat and rec.status.iteration == args.iterations
    print(
        f"memory: {rec.status.iteration:,} live iterations in {dt:.0f} s; RSS "
        + ", ".join(f"{m:.0f}" for _, m in samples)
        + f" MB; growth {growth:.1f} MB against {history_mb:.1f} MB of history: "
        + ("flat" if flat else "GROWING")
    )
    win.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
