"""The headless runner, quiet and busy: ``main.py --headless`` as a user runs it.

    python benchmarks/headless.py [--busy N] [--launches 3]

Each problem is written once as a session file, then run ``--launches`` times by
``main.py --headless SESSION --json --no-analysis`` in a fresh process (its thread policy and
its load-following as shipped: ``solver/core/threads.py``, ``solver/headless.py``); the figure is
the median of the runs' own ``elapsed_s`` (the updates alone, not the start-up), in updates a
second. ``--busy N`` measures quiet, then beside N busy processes (``benchmarks/busy.py``),
and prints both side by side.

Problems: the seed article's 3 x 3 system (20,000 updates), dense n = 100 (20,000),
n = 1000 (3,000) and n = 4000 (300), and the 100,000-unknown Poisson preset (300), all plain
gd (the fast path); and n = 1000 with sgd and momentum (the Python loop, autograd).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
# No thread policy here: this process only writes the files, and each run applies its own; a
# policy set here would reach the runs as their user's choice, which they keep.
from busy import add_busy_option, quiet_then_busy, side_by_side  # noqa: E402

from solver.core.threads import cores_available  # noqa: E402


def _dense(n: int, iterations: int, **optimizer: object) -> object:
    import numpy as np

    from solver.problems.linear import LinearSystem
    from solver.sessions import session

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)) / np.sqrt(n) + 3 * np.eye(n)
    s = session.make(LinearSystem(a, a @ np.ones(n)), lr=0.05, max_iters=iterations, tol=0.0)
    return s.replace(**optimizer) if optimizer else s


def write_sessions(folder: Path) -> dict[str, Path]:
    """name -> a session file in ``folder``, for each problem of the module docstring."""
    from solver.sessions import presets, session

    problems = {
        "n = 3, 20,000 updates": presets.build("seed-3x3").replace(max_iters=20_000, tol=0.0),
        "n = 100, 20,000 updates": _dense(100, 20_000),
        "n = 1000, 3,000 updates": _dense(1000, 3_000),
        "n = 1000, sgd momentum, 3,000 updates": _dense(
            1000, 3_000, optimizer="sgd", lr=0.02, optimizer_args={"momentum": 0.9}
        ),
        "n = 4000, 300 updates": _dense(4000, 300),
        "Poisson n = 100,000, 300 updates": presets.build("poisson-2d").replace(
            max_iters=300, tol=0.0
        ),
    }
    out = {}
    for i, (name, s) in enumerate(problems.items()):
        path = folder / f"problem{i}.json"
        session.save(s, path)
        out[name] = path
    return out


def updates_per_second(path: Path, launches: int) -> float:
    """Median updates a second of ``launches`` headless runs of the session at ``path``."""
    rates = []
    for _ in range(launches):
        proc = subprocess.run(
            [sys.executable, str(ROOT / "main.py"), "--headless", str(path), "--json"]
            + ["--no-analysis"],
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        summary = json.loads(proc.stdout)
        rates.append(summary["iterations"] / summary["elapsed_s"])
    return statistics.median(rates)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--launches", type=int, default=3, help="runs per problem (median)")
    add_busy_option(ap)
    args = ap.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {cores_available()} cores available, "
        f"Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="headless-bench-") as tmp:
        files = write_sessions(Path(tmp))

        def measure() -> dict[str, float]:
            return {
                f"{name}, it/s": updates_per_second(path, args.launches)
                for name, path in files.items()
            }

        if args.busy:
            quiet, busy, load = quiet_then_busy(args.busy, measure)
            print(side_by_side("Headless runner", quiet, busy, load))
        else:
            for name, value in measure().items():
                print(f"{name:<45} {value:>12,.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
