"""Where a live frame's time goes: the GUI thread profiled during a flat-out run.

    python benchmarks/frame_profile.py [--n 2000] [--seconds 3] [--top 30] [--only loss,x]

Prints the frames drawn per second, the share of wall time they took (the solver parked
meanwhile, as ``gui.frames`` counts it), the cost of one frame, and cProfile's cumulative
times of the window's own functions (``gui/``) over the run. Only the GUI thread is
profiled; time inside Qt's C++ shows up in the Python call that entered it. The session is
``gui_stream.make_session(n)``, the one the redraw-rate targets are measured on.

``--only`` hides the other live plots (of loss, error, x and the tabs), so one plot's cost
per frame can be read beside the fixed cost of a frame (``--only none``); ``--no-profile``
measures without cProfile's overhead on the Python in the paints.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from gui_stream import close_window, live_run, make_session, open_window, wait  # noqa: E402

# --only's names: the live plots (PlotPanel.plot's keys) and the views' tabs
LIVE_PLOTS = ("loss", "error", "x", "tabs")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="unknowns (3 or a random n x n)")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--top", type=int, default=30, help="functions listed")
    ap.add_argument("--only", help="comma-separated live plots to keep shown, or 'none'")
    ap.add_argument("--no-profile", action="store_true", help="frame cost only")
    args = ap.parse_args()
    keep = None if args.only is None else set(args.only.split(",")) - {"none"}
    if keep and keep - set(LIVE_PLOTS):
        ap.error(f"--only takes {', '.join(LIVE_PLOTS)} or none")
    app, win = open_window("frame-profile-")
    wait(app, 30, lambda: win.model.ready)
    live_run(app, win, make_session(args.n))
    if keep is not None:
        for name in LIVE_PLOTS:
            w = win.plots.tabs if name == "tabs" else win.plots.plot(name).widget
            w.setVisible(name in keep)
    wait(app, 1.0)
    f0, b0 = win.live.frames.frame_stats()
    profile = cProfile.Profile()
    t0 = time.perf_counter()
    if not args.no_profile:
        profile.enable()
    wait(app, args.seconds)
    profile.disable()
    dt = time.perf_counter() - t0
    f1, b1 = win.live.frames.frame_stats()
    frames = max(f1 - f0, 1)
    print(
        f"n={args.n}: {frames / dt:.1f} frames/s, {(b1 - b0) / dt:.3f} of wall time, "
        f"{(b1 - b0) / frames * 1e3:.1f} ms a frame"
    )
    if not args.no_profile:
        stats = pstats.Stats(profile)
        stats.sort_stats("cumtime").print_stats(str(ROOT / "gui") + "/", args.top)
    close_window(app, win)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
