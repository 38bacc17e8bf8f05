"""The headless runner: execute a session file without a window.

python main.py --headless SESSION.json [--out history.csv] [--json] [--no-analysis]

Interrupted work keeps what it has: Ctrl+C asks the run to stop at its next iteration, and
the history so far and the summary are still written (``stop_reason: "interrupted"``, exit
130; a second Ctrl+C ends at once). SIGTERM does the same (``stop_reason: "terminated"``,
exit 143; a second one ends at once). Either, while the run is still being created (the
exact reference of a large problem), stops it before its first update. The CSV is written
beside its destination and renamed into place, so a file at ``--out`` is always complete.
What can be checked before the run (a missing folder, ``--out`` naming the session file
itself) is, so that a long run is not wasted on it.

The costly part of the analysis of a large problem (its spectrum and exact reference) is kept
in the window's analysis cache (``solver.insight.analysis_cache``, in the app's data folder), so a
second run of the same problem does not repeat it. ``--no-analysis`` skips the analysis when
only the run is wanted: the summary's ``analysis``, ``cg_iterations`` and ``explanation`` are
then null and ``analysis_skipped`` says so. (The run itself still needs the exact reference
for its error column; that comes from the cache when it can.)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from .core.errors import InputError
from .core.fileguard import SESSION_MAX_BYTES, read_text
from .core.threads import ONE_THREAD_BELOW, LoadMeter, use_threads
from .insight import analysis_cache, explain
from .matrices import kernels
from .problems.kinds import kind_of
from .run import scripted
from .run.engine import Run
from .run.history import save_csv
from .sessions import presets
from .sessions import session as sessions
from .settings import optimizers

# How often the headless run reads the machine's load again (``follow_load``).
FOLLOW_SECONDS = 0.25
EXIT_INTERRUPTED = 130  # the shell's convention for a run ended by SIGINT
EXIT_TERMINATED = 143  # ...and by SIGTERM


def _out_problem(out: Path, session_path: Path) -> str | None:
    """Why ``--out`` cannot be written, found before the run; None when it looks fine."""
    if out.exists() and out.resolve() == session_path.resolve():
        return "is the session file itself; it would be overwritten"
    if out.is_dir():
        return "is a folder; give a file name"
    if not out.parent.is_dir():
        return f"its folder {out.parent} does not exist"
    if not os.access(out.parent, os.W_OK):
        return f"its folder {out.parent} is not writable"
    return None


# The signals that stop a run and keep its history: (name, stop_reason, what the message
# says, exit status: 128 + the signal's number, the shell's convention).
STOP_SIGNALS = {
    "SIGINT": ("interrupted", "Ctrl+C", EXIT_INTERRUPTED),
    "SIGTERM": ("terminated", "SIGTERM", EXIT_TERMINATED),
}


@contextlib.contextmanager
def _stop_on_signals(runs: list[Run], caught: list[str]) -> Iterator[None]:
    """The first SIGINT or SIGTERM asks the run in ``runs`` (none yet while it is created:
    it is asked once it is) to stop, and appends its name to ``caught``; the next one of the
    same kind ends the process as it would have."""
    previous = {}

    def handler(sig: int, _frame: object) -> None:
        name = signal.Signals(sig).name
        caught.append(name)
        for run in runs:
            run.request_stop()
        again = signal.default_int_handler if name == "SIGINT" else signal.SIG_DFL
        signal.signal(sig, again)

    try:
        for name in STOP_SIGNALS:
            sig = getattr(signal, name, None)
            if sig is None or signal.getsignal(sig) is None:
                continue  # not on this platform, or set outside Python: left alone
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: no handlers of our own
        pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


SKIPPED = "--no-analysis: no spectrum, step-size limits, conjugate-gradient count or explanation"


def result(run: Run, analysis: bool = True) -> dict:
    """The runner's JSON summary of ``run`` (non-finite numbers as null: valid JSON).
    ``analysis=False``: without the analysis (``SKIPPED`` says what is null)."""

    def num(v: float) -> float | None:
        return float(v) if math.isfinite(v) else None

    x = run.x().reshape(-1)
    insight = explain.insight(run, analysis)
    return {
        "stop_reason": run.stop_reason.value if run.stop_reason else None,
        "message": run.message,
        "iterations": run.iteration,
        "grad_evals": run.grad_evals,
        "final_loss": num(run.final_loss),
        "x": [num(v) for v in x],
        "error_norm": num(run.error_norm()),
        "elapsed_s": run.elapsed,
        "analysis": run.analysis().to_json() if analysis else None,
        "analysis_skipped": None if analysis else SKIPPED,
        **insight,
        **kind_of(run.problem).summary(run.problem, x),
    }


# torch splits an element-wise operation or a reduction among its threads from this many
# elements on (``at::internal::GRAIN_SIZE``); below it they run on one thread, whatever the
# count, and a reduction rounds alike on any.
ONE_THREAD_ELEMENTS = 32_768


def loop_rounds_alike(run: Run) -> bool:
    """Whether ``run``'s Python loop gives the same numbers on one thread and on all of
    torch's: a linear system on the CPU whose unknowns and residuals are below
    ``ONE_THREAD_ELEMENTS``, and whose products round alike (``kernels.same_on_one_thread``,
    with the copy of Aᵀ the backward uses where there is one)."""
    t = run.tensors
    if (
        run.device.type != "cpu"
        or "A" not in t
        or torch.get_num_threads() < 2
        or max(run.n_unknowns, t["b"].numel()) >= ONE_THREAD_ELEMENTS
    ):
        return False
    return kernels.same_on_one_thread(t["A"], t.get("At", t["A"].T))


# A's stored entries up to which a busy machine puts the run on one thread. Above, each
# parallel step is long (2 x 3 ms a gd update at n = 4000): a partner thread that waits for a
# core costs it a small share, and two threads beside busy processes get more of the machine
# than one. Beside two busy processes, n = 4000 went at 0.30 of its quiet speed on one
# thread, 0.47-0.60 on two; n = 1000 (1,000,000 entries) at 0.36-0.42 on one, 0.15-0.34 on
# two; the Poisson system (500,000) at 0.41 on one, 0.06 on two.
FOLLOW_MAX_ENTRIES = 4_000_000


def follow_load(run: Run, meter: LoadMeter) -> None:
    """``run`` to its end, its threads following the load: on one thread while other
    processes hold the cores its second would use, re-read every ``FOLLOW_SECONDS``; only
    where that changes no number and A has at most ``FOLLOW_MAX_ENTRIES``. The fast path's
    chunks say so themselves (``GdChunks.follow``); the loop where ``loop_rounds_alike``.

    Beside two busy processes on 2 cores, 300 updates of the 100,000-unknown Poisson system
    took 0.9 s on one thread, 1.2-4.9 s on two spinning briefly (quiet: 0.65 s and
    0.35-0.47 s); at n = 1000, sgd with momentum went at 0.22 of its quiet speed on two."""
    threads = torch.get_num_threads()
    small = run.problem.entries <= FOLLOW_MAX_ENTRIES
    loop = small and run.chunks is None and loop_rounds_alike(run)
    try:
        while not run.finished:
            chunks = run.chunks
            if chunks is not None:
                chunks.follow(meter.spare() if small else math.inf)
            elif loop:
                use_threads(1 if meter.spare() < ONE_THREAD_BELOW else threads)
            run.advance(max_seconds=FOLLOW_SECONDS)
    finally:
        use_threads(threads)


def _out_refused(out: Path | None, src: Path) -> bool:
    """Whether ``--out`` cannot be written (said in one line), checked before any run."""
    why = None if out is None else _out_problem(out, src)
    if why:
        print(f"error: --out {out}: {why}", file=sys.stderr)
    return bool(why)


def run_headless(args: argparse.Namespace) -> int:
    src = Path(args.headless)
    out = Path(args.out) if args.out else None
    if _out_refused(out, src):
        return 2
    analysis = not getattr(args, "no_analysis", False)
    try:
        s = sessions.load(src)
    except InputError as exc:
        print(f"error: {args.headless}: {exc}", file=sys.stderr)
        return 2
    # measuring from now: by the time the run starts (the session read, a large problem's
    # reference solved) the first reading of the other processes' load is there
    meter = LoadMeter(FOLLOW_SECONDS)
    folder = analysis_cache.cache_dir()
    analysis_cache.load(s.problem, folder)
    caught: list[str] = []
    runs: list[Run] = []
    with _stop_on_signals(runs, caught):
        try:
            run = Run(s)  # a large problem's exact reference: one long LU
        except InputError as exc:
            print(f"error: {args.headless}: {exc}", file=sys.stderr)
            return 2
        runs.append(run)
        if caught:
            run.request_stop()
        follow_load(run, meter)
    summary = result(run, analysis)
    analysis_cache.store(s.problem, folder)
    if caught:
        reason, what, status = STOP_SIGNALS[caught[0]]
        summary["stop_reason"] = reason
        summary["message"] = f"{reason} ({what}) at iteration {run.iteration}"
    if out is not None:
        try:
            save_csv(run.history, out, run.history_columns())
        except OSError as exc:
            print(f"error: --out {out}: cannot write: {exc}", file=sys.stderr)
            return 2
    try:
        if args.json:
            print(json.dumps(summary), flush=True)
        else:
            print(
                f"{summary['message']}; {summary['iterations']} iterations, "
                f"final loss {run.final_loss:.6g}, error {run.error_norm():.3g}",
                flush=True,
            )
    except OSError as exc:  # a closed or full pipe
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - nothing more goes out
        print(f"error: cannot write the summary to standard output: {exc}", file=sys.stderr)
        return 2
    if caught:
        return status
    return 1 if run.stop_reason is not None and run.stop_reason.value == "error" else 0


def run_sweep_headless(args: argparse.Namespace) -> int:
    """``--sweep SPEC.json [--out map.csv] [--json]``: every cell of the spec's grid; one
    line naming the problem and exit 2 for a bad spec or ``--out``."""
    from .run import sweep  # the batch and the map: not on the single run's path

    src = Path(args.sweep)
    out = Path(args.out) if args.out else None
    if _out_refused(out, src):
        return 2
    try:
        text = read_text(src, "sweep", SESSION_MAX_BYTES, "sweep spec")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InputError("", f"not valid JSON: {exc}") from None
        spec = sweep.read_spec(data, src.resolve().parent)
    except InputError as exc:
        print(f"error: {args.sweep}: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    cells = sweep.run_sweep(spec)
    line = sweep.summary(spec, cells, time.perf_counter() - t0)
    if out is not None:
        try:
            sweep.write_csv(spec, cells, out)
        except OSError as exc:
            print(f"error: --out {out}: cannot write: {exc}", file=sys.stderr)
            return 2
    best = line["best"]
    print(
        json.dumps(line)
        if args.json
        else f"{line['cells']} cells in {line['elapsed_s']:.2f} s; "
        + ("none converged" if best is None else f"fastest: {best}"),
        flush=True,
    )
    return 0


def check_engine() -> int:
    """A few updates with every optimizer and loss (the self-test, ``main.py --self-test``):
    each loads torch code a trimmed bundle might have left out. Returns how many pairs
    advanced; raises RuntimeError saying which did not."""
    # An SPD system takes every loss but svd_mse; an svd problem takes that one.
    bases = [presets.build("random-spd", n=4), presets.build("svd-tall")]
    pairs = [(b, loss) for b in bases for loss in kind_of(b.problem).losses(b.problem)]
    count = 0
    for name in optimizers.OPTIMIZER_NAMES:
        for base, loss in pairs:
            run = Run(base.replace(optimizer=name, loss=loss, lr=0.01, optimizer_args={}))
            run.advance(3)
            if len(run.history) != 4 or run.stop_reason is not None:
                raise RuntimeError(f"{name}/{loss}: 3 updates gave {len(run.history)} entries")
            count += 1
    inverse = Run(presets.build("seed-inverse-diagonal"))
    inverse.advance(5)
    if len(inverse.history) != 6:
        raise RuntimeError("the inverse problem did not advance")
    # TorchScript compiles from source: a bundle without solver/run/scripted.py beside it would
    # run every gd update in the slower Python loop, silently
    for made in scripted.ALL:
        if made() is None:
            raise RuntimeError(f"the gd fast path is off: {scripted.unavailable_reason}")
    return count
