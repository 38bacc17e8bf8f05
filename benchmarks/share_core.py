"""Parked or sharing a core: the n = 2000 window run both ways, in one process.

    python benchmarks/share_core.py [--n 2000] [--rounds 3] [--pairs 3] [--seconds 1.5]

A mid-sized plain-gd run on the GIL-free chunks shares a core with each frame (``gui.worker``:
one thread while the frame draws) instead of being parked for it. This alternates the two
(parking forced by making ``GdChunks.shares`` say no, the run restarted each time), each as
``gui_stream``'s headless/window pairs, and prints per mode the median solver ratio, the
frames a second and the GUI's busy share, so the two compare within one run on a machine
whose speed drifts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from gui_stream import close_window, make_session, open_window, paired_ratios, wait  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3, help="parked-then-shared rounds")
    ap.add_argument("--pairs", type=int, default=3, help="headless/window pairs per mode a round")
    ap.add_argument("--seconds", type=float, default=1.5)
    args = ap.parse_args()

    import torch

    from gui.editing import PLOT_TRACK_LIMIT
    from solver.matrices import kernels
    from solver.run import fastpath
    from solver.run.history import default_tracked

    app, win = open_window("share-core-")
    wait(app, 30, lambda: win.model.ready)
    session = make_session(args.n)
    track = default_tracked(args.n, PLOT_TRACK_LIMIT).tolist()
    shares = fastpath.GdChunks.shares
    out: dict[str, dict[str, list[float]]] = {}
    for _ in range(args.rounds):
        for mode in ("parked", "shared"):
            fastpath.GdChunks.shares = shares if mode == "shared" else (lambda self: False)
            r = paired_ratios(app, win, session, track, args.seconds, args.pairs)
            w = win.live.worker
            got = w.policy.mode  # also "one thread", where other processes held a core meanwhile
            if got != mode:
                print(f"asked for {mode}, the run was {got}: A's products or the library differ")
            m = out.setdefault(got, {"ratio": [], "fps": [], "busy": []})
            for k in m:
                m[k] += r[k]
    fastpath.GdChunks.shares = shares
    lib = "numpy's" if kernels.NUMPY_FASTER.get(torch.float64) else "torch's"
    print(f"n = {args.n}, {lib} mat-vecs, {args.rounds} rounds of {args.pairs} pairs per mode:")
    for mode, m in out.items():
        ratio, fps, busy = (statistics.median(m[k]) for k in ("ratio", "fps", "busy"))
        print(
            f"  {mode}: solver {ratio:.2f}x headless (pairs {min(m['ratio']):.2f}-"
            f"{max(m['ratio']):.2f}), {fps:.0f} frames/s, GUI busy {100 * busy:.0f}%, "
            f"{busy / max(fps, 1e-9) * 1e3:.1f} ms a frame"
        )
    close_window(app, win)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
