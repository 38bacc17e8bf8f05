"""Quit benchmark: how soon does the window go, and the process end, after Ctrl+Q or SIGTERM,
from every state the solver, the analysis and the loader can be in?

    python benchmarks/quit.py [--launches 1]

Each launch is ``tests/gui/quit_driver.py STATE HOW`` (the real app, offscreen, in a fresh
profile), driven into the state and quit from it: ``close`` is what Ctrl+Q does, ``term`` a
SIGTERM from this script. Reported: seconds from the quit to the window hidden, and to the
process's end, with its exit status (the worst of the launches). The states that cannot be
interrupted (a run's creation, an analysis, the solver's import) last for ever there, so the
process's end includes the full wait for the solver thread (``gui.mainwindow.QUIT_WAIT``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "gui"))
from quit_cases import CASES, launch  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--launches", type=int, default=1)
    args = ap.parse_args()
    print(f"{'state':<12} {'how':<6} {'hidden s':>9} {'exited s':>9} status")
    bad = 0
    for state, how in CASES:
        hidden, exited, codes = [], [], set()
        for _ in range(args.launches):
            with tempfile.TemporaryDirectory() as tmp:
                home = Path(tmp) / "home"
                q = launch(state, how, home, Path(tmp))
            t = q.times
            if not q.reached or "quit" not in t:
                codes.add("never reached")
                continue
            hidden.append(t.get("hidden", float("inf")) - t["quit"])
            exited.append(t["exited"] - t["quit"])
            codes.add(q.returncode)
        bad += codes != {0}
        worst_h = f"{max(hidden):9.2f}" if hidden else f"{'-':>9}"
        worst_e = f"{max(exited):9.2f}" if exited else f"{'-':>9}"
        status = ",".join(map(str, sorted(codes, key=str)))
        print(f"{state:<12} {how:<6} {worst_h} {worst_e} {status}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
