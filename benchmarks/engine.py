"""Engine benchmark: the solver's Run against the seeds' hand-written loops and raw mat-vecs.

PYTHONPATH=. .venv/bin/python benchmarks/engine.py            measure, print, write the doc
PYTHONPATH=. .venv/bin/python benchmarks/engine.py --quick    fewer repeats, no doc update
PYTHONPATH=. .venv/bin/python benchmarks/engine.py --full     also trace a real 1,000,000-update Run
PYTHONPATH=. .venv/bin/python benchmarks/engine.py --busy 2   iterations/s quiet, then beside 2
                                                              busy processes (benchmarks/busy.py)

Measures, each as a ratio within this one process (the machines are shared and noisy, so the
two sides of every ratio run interleaved, rotating which goes first, and a ratio is the median
of the per-round ratios):

1. engine iterations/s over the seed article's hand loop for the same optimizer, n = 3, 100,
   1000, 4000 (float64): `gd` against the autograd loop (`bmm`, `0.5 * norm(b - y) ** 2`,
   `backward`, `x -= lr * x.grad`, `x.grad = None`) and `sgd` with momentum 0.9 against the
   same loop driven by `torch.optim.SGD`. Both hand loops keep every loss as a float, as the
   engine does (the seeds append each loss to a list or compare it with `stop_loss`).
2. n = 4000 float64: engine time per iteration over two numpy mat-vecs (`A @ x`, `A.T @ r`)
   on the same matrix, and over two torch mat-vecs (the engine's own BLAS) to separate the
   engine's overhead from the BLAS libraries' speed.
3. memory: tracemalloc peak while a History takes 1,000,000 updates at n = 3, appended in the
   engine's own blocks; cross-checked against a real traced Run of 100,000 updates (--full:
   1,000,000).

Writes the `## Engine` section of docs/BENCHMARKS.md (nothing else in that file).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from solver.core.threads import apply_env_policy, cores_available  # noqa: E402

# the headless runner's thread policy (the engine alone), before torch and numpy load, as
# main.py --headless applies it
apply_env_policy(headless=True)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from busy import add_busy_option, quiet_then_busy, side_by_side  # noqa: E402
from report import cpu_model, write_section  # noqa: E402

from solver import History, LinearSystem, Run, Session  # noqa: E402
from solver.matrices import kernels  # noqa: E402

SIZES = (3, 100, 1000, 4000)
LR = 0.3  # the test matrices have singular values in about [0.5, 1.5]: L <= 2.3, so lr*L < 2
MOMENTUM = 0.9
# Updates per timed round: about 0.1 s each, short enough that many paired rounds fit.
UPDATES = {3: 1000, 100: 1000, 1000: 150, 4000: 8}
# Rounds at large n, as a multiple of --repeats: there both sides spend most of their time in
# the same BLAS calls, the difference is a few per cent and one round's noise is more.
LARGE_N, LARGE_N_ROUNDS = 1000, 3
TARGET_RATIO = 1.0
TARGET_MATVEC = 1.25
TARGET_MB = 64.0
MEMORY_ITERS = 1_000_000


def system(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A well-conditioned n x n system: I plus a Gaussian perturbation of norm about 1/2."""
    rng = np.random.default_rng(seed)
    a = np.eye(n) + 0.25 * rng.standard_normal((n, n)) / np.sqrt(n)
    return a, rng.standard_normal(n)


def engine_run(problem: LinearSystem, optimizer: str) -> Run:
    args = {"momentum": MOMENTUM} if optimizer == "sgd" else {}
    s = Session(
        problem=problem,
        loss="half_sum_squares",
        optimizer=optimizer,
        lr=LR,
        optimizer_args=args,
        init="zeros",
        max_iters=10**12,
        tol=0.0,
        dtype="float64",
    )
    return Run(s)


def hand_loop(a: np.ndarray, b: np.ndarray, optimizer: str) -> Callable[[int], None]:
    """The seed article's loop (torch_impl_1 for gd, the torch.optim.SGD one for sgd),
    on the same matrix memory as the engine; returns a function doing k more updates."""
    n = len(b)
    at = torch.from_numpy(a)[None]  # (1, n, n) as the article's bmm wants
    bt = torch.from_numpy(b).reshape(1, n, 1)
    x = torch.zeros((1, n, 1), dtype=torch.float64, requires_grad=True)
    losses: list[float] = []
    if optimizer == "gd":

        def steps(k: int) -> None:
            for _ in range(k):
                y = torch.bmm(at, x)
                err_norm = 0.5 * torch.norm(bt - y) ** 2
                err_norm.backward()
                losses.append(err_norm.item())
                with torch.no_grad():
                    x.sub_(LR * x.grad)
                x.grad = None

        return steps

    metric = torch.nn.MSELoss(reduction="sum")
    optim = torch.optim.SGD([x], lr=LR, momentum=MOMENTUM)

    def steps(k: int) -> None:
        for _ in range(k):
            y = torch.bmm(at, x)
            err_norm = 0.5 * metric(y, bt)
            optim.zero_grad()
            err_norm.backward()
            optim.step()
            losses.append(err_norm.item())

    return steps


def interleaved(sides: dict[str, Callable[[], None]], repeats: int) -> dict[str, list[float]]:
    """Seconds of each side in each of ``repeats`` rounds; the order rotates every round so
    neither side always runs on a cache (or a neighbour's load) the other left behind."""
    for f in sides.values():  # warm-up: first-call allocations, page faults, thread pools
        f()
    names = list(sides)
    times: dict[str, list[float]] = {k: [] for k in names}
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            t0 = time.perf_counter()
            sides[name]()
            times[name].append(time.perf_counter() - t0)
    return times


def paired_ratio(num: list[float], den: list[float]) -> float:
    """Median of the per-round ratios: each round's two sides saw the same load, so this
    holds up when a neighbour's job comes and goes better than a ratio of medians does."""
    return statistics.median(n / d for n, d in zip(num, den, strict=True))


def ratio_spread(num: list[float], den: list[float]) -> tuple[float, float]:
    """The middle half (quartiles) of the per-round ratios: how far noise moves one round."""
    q = statistics.quantiles([n / d for n, d in zip(num, den, strict=True)], n=4)
    return q[0], q[2]


def bench_ratios(repeats: int, sizes: tuple[int, ...] = SIZES) -> tuple[list[dict], dict]:
    rows = []
    matvec: dict = {}
    for n in sizes:
        a, b = system(n)
        problem = LinearSystem(a, b)  # shared: the reference solution is computed once
        k = UPDATES[n]
        rounds = repeats * (LARGE_N_ROUNDS if n >= LARGE_N else 1)
        for opt in ("gd", "sgd"):
            run = engine_run(problem, opt)
            hand = hand_loop(a, b, opt)
            t = interleaved(
                {
                    "engine": lambda run=run, k=k: run.advance(k),
                    "hand": lambda hand=hand, k=k: hand(k),
                },
                rounds,
            )
            assert run.stop_reason is None, run.message
            med = {side: statistics.median(v) for side, v in t.items()}
            rows.append(
                {
                    "n": n,
                    "optimizer": "gd" if opt == "gd" else "sgd momentum",
                    "engine_us": 1e6 * med["engine"] / k,
                    "hand_us": 1e6 * med["hand"] / k,
                    "ratio": paired_ratio(t["hand"], t["engine"]),
                    "spread": ratio_spread(t["hand"], t["engine"]),
                }
            )
            print(
                f"n={n:5d} {opt:4s} engine {rows[-1]['engine_us']:9.1f} us/it  "
                f"hand {rows[-1]['hand_us']:9.1f} us/it  ratio {rows[-1]['ratio']:.3f} "
                f"(middle half {rows[-1]['spread'][0]:.3f}-{rows[-1]['spread'][1]:.3f})",
                flush=True,
            )
            if n == max(sizes) and opt == "gd":
                matvec = bench_matvec(run, a, b, k, rounds)
    return rows, matvec


def bench_matvec(run: Run, a: np.ndarray, b: np.ndarray, k: int, repeats: int) -> dict:
    """Engine per-iteration time at the largest n against two mat-vecs per iteration."""
    x = np.zeros(len(b))
    at, bt = torch.from_numpy(a), torch.from_numpy(b)
    xt = torch.zeros(len(b), dtype=torch.float64)

    def numpy_two(k: int = k) -> None:
        for _ in range(k):
            r = a @ x - b
            a.T @ r

    def torch_two(k: int = k) -> None:
        for _ in range(k):
            r = torch.mv(at, xt) - bt
            torch.mv(at.t(), r)

    t = interleaved(
        {"engine": lambda: run.advance(k), "numpy": numpy_two, "torch": torch_two}, repeats
    )
    out: dict = {side: 1e6 * statistics.median(v) / k for side, v in t.items()}
    out["n"] = len(b)
    out["share"] = matvec_share(run, k)
    chosen = kernels.matvec_for(at)
    out["kernel"] = "torch.mv" if getattr(chosen, "func", None) is torch.mv else "numpy"
    out["vs_numpy"] = paired_ratio(t["engine"], t["numpy"])
    out["vs_torch"] = paired_ratio(t["engine"], t["torch"])
    out["torch_vs_numpy"] = paired_ratio(t["torch"], t["numpy"])
    # Fastest rounds too: a neighbour's job on one of two cores stalls a 2-thread BLAS call
    # far more than it stalls Python, so the least disturbed rounds are worth showing.
    fastest = {side: min(v) for side, v in t.items()}
    out["vs_numpy_min"] = fastest["engine"] / fastest["numpy"]
    out["vs_torch_min"] = fastest["engine"] / fastest["torch"]
    out["torch_vs_numpy_min"] = fastest["torch"] / fastest["numpy"]
    print(
        f"n={len(b)} per iteration: engine {out['engine']:.0f} us, two numpy mat-vecs "
        f"{out['numpy']:.0f} us ({out['vs_numpy']:.3f}x), two torch mat-vecs "
        f"{out['torch']:.0f} us ({out['vs_torch']:.3f}x); fastest rounds: "
        f"{out['vs_numpy_min']:.3f}x numpy, {out['vs_torch_min']:.3f}x torch",
        flush=True,
    )
    return out


def matvec_share(run: Run, k: int) -> float:
    """Fraction of the engine's time (cProfile) inside torch's forward mat-vec and
    autograd's backward pass, which at large n is the transposed mat-vec."""
    prof = cProfile.Profile()
    prof.enable()
    run.advance(k)
    prof.disable()
    stats = pstats.Stats(prof).stats  # {(file, line, name): (calls, ..., own time, ...)}
    total = sum(v[2] for v in stats.values())
    inside = sum(
        v[2]
        for key, v in stats.items()
        if "torch.mv" in key[2] or "run_backward" in key[2] or key[0].endswith("kernels.py")
    )
    return inside / total


def history_peak(updates: int, block: int) -> tuple[float, float]:
    """(peak MB, held MB) while a History at n = 3 takes ``updates`` updates in ``block``-row
    appends, exactly the arrays and dtypes the engine flushes."""
    loss = np.linspace(1.0, 0.0, block)
    norms = np.ones(block, np.float32)
    xs = np.ones((block, 3))
    tracemalloc.start()
    tracemalloc.reset_peak()
    h = History(["x1", "x2", "x3"])
    total = updates + 1  # entry 0 is the initial guess
    done = 0
    while done < total:
        c = min(block, total - done)
        h.append(loss[:c], norms[:c], norms[:c], xs[:c])
        done += c
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(h) == total
    return peak / 1e6, held / 1e6


def run_peak(updates: int) -> tuple[float, float, float]:
    """(peak MB, history MB, seconds) of a traced real Run of ``updates`` gd updates at n = 3."""
    a, b = system(3)
    problem = LinearSystem(a, b)
    problem.exact  # noqa: B018 - the reference solution's SVD is set-up, not history
    tracemalloc.start()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    s = Session(problem=problem, optimizer="gd", lr=LR, max_iters=updates, tol=0.0)
    run = Run(s)
    run.advance()
    secs = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(run.history) == updates + 1, run.message
    return peak / 1e6, run.history.memory_bytes() / 1e6, secs


def blas_info() -> tuple[str, str]:
    """(numpy's BLAS, torch's BLAS) in words."""
    try:
        from threadpoolctl import threadpool_info  # optional: sees the BLAS numpy loaded

        libs = [
            f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
        np_blas = ", ".join(libs) or "unknown"
    except ImportError:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        np_blas = f"{cfg.get('name')} {cfg.get('version')}"
    show = torch.__config__.show()
    torch_blas = "unknown"
    for part in show.replace("\n", ",").split(","):
        if part.strip().startswith("BLAS_INFO="):
            torch_blas = part.strip().split("=", 1)[1]
    for line in show.splitlines():
        if "Math Kernel Library Version" in line:
            torch_blas = "MKL " + line.split("Version", 1)[1].split("-")[0].strip()
    return np_blas, torch_blas


def load_average() -> str:
    """The 1-minute load average: how much else wanted these cores while we measured."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def report(
    rows: list[dict],
    mv: dict,
    mem: dict,
    started: datetime,
    secs: float,
    loads: tuple[str, str],
    repeats: int,
) -> str:
    np_blas, torch_blas = blas_info()
    env = (
        ", ".join(
            f"{k}={os.environ[k]}"
            for k in (
                "OPENBLAS_CORETYPE",
                "OPENBLAS_L2_SIZE",
                "OMP_NUM_THREADS",
                "MKL_NUM_THREADS",
                "OPENBLAS_NUM_THREADS",
                "OMP_WAIT_POLICY",
                "GOMP_SPINCOUNT",
                "KMP_BLOCKTIME",
                "OPENBLAS_THREAD_TIMEOUT",
            )
            if k in os.environ
        )
        or "none"
    )
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    command = " ".join(["PYTHONPATH=. .venv/bin/python benchmarks/engine.py", *sys.argv[1:]])
    lines = [
        f"Measured {started:%Y-%m-%d %H:%M} on {cores_available()} cores "
        f"({cpu_model()}), {gpu} (all runs on the CPU); "
        f"Python {platform.python_version()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads, BLAS: {torch_blas}), numpy {np.__version__} "
        f"(BLAS: {np_blas}); BLAS environment variables: {env}. "
        f"Command: `{command}` ({secs:.0f} s; "
        f"1-minute load average {loads[0]} at the start, {loads[1]} at the end).",
        "",
        "### Engine against the seed article's hand loop (float64, same process, interleaved;"
        " times are medians, ratios medians of per-round ratios)",
        "",
        f"{repeats} rounds per row ({repeats * LARGE_N_ROUNDS} at n ≥ {LARGE_N}); each round "
        "runs both sides for the same number of updates, rotating which goes first.",
        "",
        "| n | optimizer | engine µs/it | hand loop µs/it | engine it/s ÷ hand it/s | "
        "middle half of rounds | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lo, hi = r["spread"]
        if r["ratio"] >= TARGET_RATIO:
            ok = "ok"
        elif hi >= TARGET_RATIO:
            ok = "parity: the target lies within the rounds' noise"
        else:
            ok = "**missed**"
        lines.append(
            f"| {r['n']} | {r['optimizer']} | {r['engine_us']:.1f} | "
            f"{r['hand_us']:.1f} | {r['ratio']:.3f}× | {lo:.3f}–{hi:.3f} | "
            f"≥ {TARGET_RATIO:.1f}× {ok} |"
        )
    lines += [
        "",
        "Both sides do one forward and one autograd backward per update and keep every loss; "
        "the engine also records x and checks its stop rules. At small n the difference is "
        "per-iteration Python and autograd overhead; from 250k matrix entries the engine "
        "runs its two mat-vecs on whichever BLAS was faster when the problem was bound "
        "(`solver/matrices/kernels.py`), while the hand loop stays on torch's.",
    ]
    worst = max(mv["vs_numpy"], mv["vs_numpy_min"])
    verdict = "met" if worst <= TARGET_MATVEC else "**missed**"
    lines += [
        "",
        f"### n = {mv['n']} float64: time per iteration against two mat-vecs on the same matrix",
        "",
        "| what | µs per iteration (median) | engine ÷ this (median of rounds) | "
        "engine ÷ this (fastest rounds) |",
        "|---|---|---|---|",
        f"| engine (`gd`: one forward, one autograd backward) | {mv['engine']:.0f} | 1.00× | "
        "1.00× |",
        f"| two numpy mat-vecs `A @ x`, `A.T @ r` ({np_blas.split(' (')[0]}) | "
        f"{mv['numpy']:.0f} | **{mv['vs_numpy']:.2f}×** | **{mv['vs_numpy_min']:.2f}×** |",
        f"| two torch mat-vecs `mv(A, x)`, `mv(A.T, r)` ({torch_blas}) | {mv['torch']:.0f} | "
        f"{mv['vs_torch']:.2f}× | {mv['vs_torch_min']:.2f}× |",
        "",
        f"Target engine ÷ two numpy mat-vecs ≤ {TARGET_MATVEC}×: {verdict} (worse of the two "
        f"estimates: {worst:.2f}×). torch's two mat-vecs take {mv['torch_vs_numpy']:.2f}× "
        f"numpy's (fastest rounds {mv['torch_vs_numpy_min']:.2f}×). For matrices this big "
        "the engine times both libraries' mat-vec pair once when the problem is bound and "
        "runs on the faster (`solver/matrices/kernels.py`; "
        f"here: **{mv['kernel']}**, as an autograd "
        "Function whose backward is Aᵀg), so the overhead left is autograd's bookkeeping, "
        "recording the loss and x, and the stop checks.",
    ]
    if worst > TARGET_MATVEC:
        lines += [
            "",
            f"Target missed: cProfile puts {100 * mv['share']:.0f}% of an engine iteration "
            "at this n in the forward mat-vec and autograd's backward (the transposed "
            "mat-vec), on the kernel named above.",
        ]
    lines += [
        "",
        "### History memory, 1,000,000 iterations at n = 3",
        "",
        "| what | MB (10⁶ bytes) | target |",
        "|---|---|---|",
        f"| tracemalloc peak: History taking {MEMORY_ITERS:,} updates in the engine's "
        f"{mem['block']}-row blocks | {mem['hist_peak']:.1f} | ≤ {TARGET_MB:.0f} "
        f"{'ok' if mem['hist_peak'] <= TARGET_MB else '**missed**'} |",
        f"| held at the end (loss, residual norm, error, x trajectory) | {mem['hist_held']:.1f}"
        " | |",
        f"| tracemalloc peak: a real `Run` of {mem['run_iters']:,} updates "
        f"({mem['run_secs']:.0f} s traced); History-only peak at that size: "
        f"{mem['hist_peak_small']:.1f} | {mem['run_peak']:.1f} | |",
        "",
        "tracemalloc sees numpy's arrays (the History) and Python objects; torch's own "
        "allocations at n = 3 are a few tensors of 3 numbers.",
    ]
    return "\n".join(lines)


def speeds(repeats: int, sizes: tuple[int, ...]) -> dict[str, float]:
    """``bench_ratios``' timings as updates (or mat-vec pairs) per second, for ``--busy``."""
    rows, mv = bench_ratios(repeats, sizes)
    out: dict[str, float] = {}
    for r in rows:
        out[f"engine it/s, n = {r['n']}, {r['optimizer']}"] = 1e6 / r["engine_us"]
        out[f"hand loop it/s, n = {r['n']}, {r['optimizer']}"] = 1e6 / r["hand_us"]
    if mv:
        out[f"numpy mat-vec pairs/s, n = {mv['n']}"] = 1e6 / mv["numpy"]
        out[f"torch mat-vec pairs/s, n = {mv['n']}"] = 1e6 / mv["torch"]
    return out


def sizes_arg(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or any(n not in SIZES for n in sizes):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give sizes from {', '.join(map(str, SIZES))}, separated by commas"
        )
    return sizes


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="3 repeats, no doc update")
    p.add_argument("--full", action="store_true", help="trace a real 1,000,000-update Run")
    p.add_argument("--repeats", type=int, default=21)
    p.add_argument("--sizes", type=sizes_arg, default=SIZES, help="with --busy: these n only")
    add_busy_option(p)
    args = p.parse_args()
    repeats = 3 if args.quick else args.repeats
    if args.busy is not None:
        quiet, busy, load = quiet_then_busy(args.busy, lambda: speeds(repeats, args.sizes))
        print(side_by_side("Engine", quiet, busy, load))
        return 0
    started = datetime.now()
    t0 = time.perf_counter()
    load_start = load_average()

    rows, mv = bench_ratios(repeats)

    block = engine_run(LinearSystem(*system(3)), "gd")._block.size
    hist_peak, hist_held = history_peak(MEMORY_ITERS, block)
    run_iters = MEMORY_ITERS if args.full else 100_000
    run_pk, run_hist, run_secs = run_peak(run_iters)
    small_peak, _ = history_peak(run_iters, block)
    mem = {
        "block": block,
        "hist_peak": hist_peak,
        "hist_held": hist_held,
        "run_iters": run_iters,
        "run_peak": run_pk,
        "run_secs": run_secs,
        "hist_peak_small": small_peak,
    }
    print(
        f"history of {MEMORY_ITERS:,} updates: peak {hist_peak:.1f} MB, held {hist_held:.1f} MB;"
        f" real Run of {run_iters:,}: peak {run_pk:.1f} MB (History alone {small_peak:.1f} MB,"
        f" {run_secs:.0f} s)"
    )

    text = report(
        rows, mv, mem, started, time.perf_counter() - t0, (load_start, load_average()), repeats
    )
    if not args.quick:
        write_section("Engine", text)
        print("wrote the Engine section of docs/BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
