"""Launch soak: start the app to ready and quit, many times, and count the launches that died.

    python benchmarks/launch_soak.py [--launches 150]

Each launch is ``python main.py`` offscreen in a fresh profile (as ``startup.py``'s) with
``DESCENT_LAB_EXIT_WHEN_READY=1`` and ``PYTHONFAULTHANDLER=1``: it paints, loads the solver,
says ``ready`` and exits. A launch that exits non-zero is reported with its status and the
first threads of the stacks faulthandler printed, so a rare native crash (one in tens of
launches) can be found and its cause read.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from startup import profile_env  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--launches", type=int, default=150)
    args = ap.parse_args()
    died = 0
    for i in range(1, args.launches + 1):
        with tempfile.TemporaryDirectory() as home:
            env = profile_env(home, {"DESCENT_LAB_EXIT_WHEN_READY": "1", "PYTHONFAULTHANDLER": "1"})
            p = subprocess.run(
                [sys.executable, str(ROOT / "main.py")],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
        if p.returncode != 0 or "ready" not in p.stdout:
            died += 1
            print(f"launch {i}: exit {p.returncode}; stdout {p.stdout.strip()!r}")
            print("\n".join(p.stderr.splitlines()[:40]))
    print(f"{died} of {args.launches} launches died")
    return 1 if died else 0


if __name__ == "__main__":
    raise SystemExit(main())
