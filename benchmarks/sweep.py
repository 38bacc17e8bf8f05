"""Sweep benchmark: the batch's settings × iterations per second against the single-run
engine's iterations per second, on the maps issue 25 names.

    python benchmarks/sweep.py [--busy N]

* the seed 3×3 system, the heavy ball, a 40 × 40 (lr, momentum) map, up to 10,000
  iterations a cell, tol 1e-10: target 100× the single run;
* nos4 (100 × 100), a 20 × 20 map of the heavy ball, up to 2,000 iterations: target 20×;
* gr_30_30 (900 × 900), 64 settings of gd, 300 iterations each: target 3×;
* the 100,000-unknown Poisson preset: one iteration of 16 settings against one of one
  (the engine's): target at most 4×.

A cell-iteration is one update of one cell that had not stopped; the single run is the
engine (``solver.run.engine.Run``) with the map's optimizer at one of its settings.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from busy import add_busy_option, quiet_then_busy, side_by_side  # noqa: E402

from solver.core.threads import apply_env_policy  # noqa: E402

apply_env_policy(headless=True)

from solver.insight.analysis import analyze  # noqa: E402
from solver.run.batch import BatchRun  # noqa: E402
from solver.run.engine import Run  # noqa: E402
from solver.sessions import builders  # noqa: E402


def single_rate(session: object, iterations: int) -> float:
    """The engine's iterations a second on ``session`` (best of three)."""
    best = 0.0
    for _ in range(3):
        run = Run(session.replace(max_iters=iterations, tol=0.0))
        t = time.perf_counter()
        run.advance()
        best = max(best, run.iteration / (time.perf_counter() - t))
    return best


def batch_rate(session: object, settings: dict, cells: int) -> tuple[float, int]:
    """(cell-iterations a second, cell-iterations) of one batch run of the map."""
    t = time.perf_counter()
    result = BatchRun(session, settings, cells).run()
    total = int(result.iterations.sum())
    return total / (time.perf_counter() - t), total


def heavy_ball_map(session: object, count: int, lr_top: float) -> dict[str, np.ndarray]:
    lr, mu = np.meshgrid(np.geomspace(lr_top / 100, lr_top, count), np.linspace(0, 0.99, count))
    return {"lr": lr.reshape(-1), "momentum": mu.reshape(-1)}


def measure() -> dict[str, float]:
    out: dict[str, float] = {}
    seed = builders.seed_3x3().replace(
        optimizer="sgd",
        optimizer_args={"momentum": 0.5},
        tol=1e-10,
        max_iters=10_000,
        stop_on_divergence=False,
    )
    rate, _ = batch_rate(seed, heavy_ball_map(seed, 40, 1.0), 1600)
    one = single_rate(seed.replace(lr=0.1), 20_000)
    out["3x3 heavy ball 40x40: cell-it/s"] = rate
    out["3x3: single run it/s"] = one
    out["3x3: batch / single (target 100)"] = rate / one

    nos4 = builders.matrix_file("nos4")
    big = analyze(nos4.problem, "half_sum_squares").lipschitz
    nos4 = nos4.replace(
        loss="half_sum_squares",
        optimizer="sgd",
        optimizer_args={"momentum": 0.5},
        tol=1e-12,
        max_iters=2_000,
        stop_on_divergence=False,
    )
    rate, _ = batch_rate(nos4, heavy_ball_map(nos4, 20, 2.0 / big), 400)
    one = single_rate(nos4.replace(lr=1.0 / big), 2_000)
    out["nos4 heavy ball 20x20: cell-it/s"] = rate
    out["nos4: single run it/s"] = one
    out["nos4: batch / single (target 20)"] = rate / one

    gr = builders.matrix_file("gr_30_30")
    big = analyze(gr.problem, gr.loss).lipschitz
    gr = gr.replace(optimizer="gd", tol=0.0, max_iters=300, stop_on_divergence=False)
    rate, _ = batch_rate(gr, {"lr": np.geomspace(0.01 / big, 1.9 / big, 64)}, 64)
    one = single_rate(gr.replace(lr=1.0 / big), 300)
    out["gr_30_30 gd x64: cell-it/s"] = rate
    out["gr_30_30: single run it/s"] = one
    out["gr_30_30: batch / single (target 3)"] = rate / one

    poisson = builders.poisson().replace(tol=0.0, max_iters=20, stop_on_divergence=False)
    lrs = poisson.lr * np.linspace(0.5, 1.0, 16)
    sixteen, _ = batch_rate(poisson, {"lr": lrs}, 16)
    one = single_rate(poisson, 20)
    out["Poisson 100k: single run it/s"] = one
    out["Poisson: 16 settings' iteration / one's (target <= 4)"] = one / (sixteen / 16)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_busy_option(ap)
    args = ap.parse_args()
    if args.busy is not None:
        quiet, busy, load = quiet_then_busy(args.busy, measure)
        print(side_by_side("Sweeps", quiet, busy, load))
        return 0
    for name, value in measure().items():
        print(f"{name:<55} {value:,.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
