"""A standard busy machine for the benchmarks: N busy processes beside the measurement.

    python benchmarks/busy.py N [--seconds S]     keep N busy processes up for S seconds

A user's desktop is never quiet (every benchmark is run quiet and busy: docs/BENCHMARKS.md), so each
benchmark's ``--busy N`` measures twice in one run: quiet first, then inside ``busy_machine(N)``,
and prints the two side by side with the ratio busy / quiet (``quiet_then_busy``,
``side_by_side``).

The busy processes: pure-Python spinners (the interpreter's loop, no library) and, where there
are two or more, one doing BLAS work (numpy's 300 x 300 matrix product in a loop), so the
shared caches and memory bus are busy too, as a desktop's are. Each is single-threaded (its
BLAS on one thread): N processes ask for N cores. They are separate interpreters started
with ``subprocess`` (not ``multiprocessing``, whose children would import the benchmark's own
module, torch included), they ignore Ctrl+C (the parent stops them), and each exits by itself
when its parent is gone, so none outlives the benchmark, however it ended.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from solver.core.threads import LoadMeter, cores_available  # noqa: E402

# How often a busy process looks whether its parent is still there.
PARENT_CHECK_SECONDS = 0.5
STOP_WAIT_SECONDS = 5.0
BLAS_SIZE = 300

_WORKER = """
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
parent, kind, size, every = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
if kind == "blas":
    import numpy as np
    a = np.random.default_rng(0).standard_normal((size, size))
    work = lambda: a @ a
else:
    def work():
        k = 0
        for i in range(20000):
            k += i * i
sys.stdout.write("up\\n")
sys.stdout.flush()
check = time.monotonic() + every
while True:
    work()
    if time.monotonic() > check:
        if os.getppid() != parent:
            break
        check = time.monotonic() + every
"""


@dataclass
class BusyLoad:
    """What the busy processes made: how many of each kind, and the cores' worth of CPU they
    used (their CPU seconds over the wall seconds they ran; None where unknown)."""

    processes: int
    blas: int
    pids: list[int] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float | None = None
    others_seen: list[float] = field(default_factory=list)  # LoadMeter readings meanwhile

    @property
    def cores(self) -> float | None:
        if self.cpu_seconds is None or self.seconds <= 0:
            return None
        return self.cpu_seconds / self.seconds

    def describe(self) -> str:
        made = f"{self.cores:.2f} cores' worth" if self.cores is not None else "unmeasured"
        seen = ""
        if self.others_seen:
            seen = (
                f"; all processes but the benchmark's (these included) used "
                f"{max(self.others_seen):.2f} cores"
            )
        return (
            f"{self.processes} busy processes ({self.processes - self.blas} pure Python, "
            f"{self.blas} BLAS {BLAS_SIZE}x{BLAS_SIZE} products) for {self.seconds:.1f} s: "
            f"{made} of CPU on {cores_available()} cores available{seen}"
        )


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    # one thread each, spinning nowhere: N processes ask for N cores, no more
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def _cpu_seconds(pid: int) -> float | None:
    """A live child's CPU seconds so far (Linux: /proc/<pid>/stat), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass  # killed; the system reaps it once this process ends
        if p.stdout is not None:
            p.stdout.close()


@contextmanager
def busy_machine(n: int, blas: int | None = None) -> Iterator[BusyLoad]:
    """Run ``n`` busy processes (``blas`` of them doing numpy products; default one where
    ``n`` >= 2) for the duration of the block; they are killed when it ends, by an
    exception or Ctrl+C too. The yielded ``BusyLoad`` is filled in once they have stopped."""
    if n < 0:
        raise ValueError(f"--busy: {n} is not a number of processes (0 or more)")
    blas = min(1, n // 2) if blas is None else max(0, min(blas, n))
    load = BusyLoad(n, blas)
    procs: list[subprocess.Popen] = []
    try:
        for i in range(n):
            kind = "blas" if i >= n - blas else "python"
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        _WORKER,
                        str(os.getpid()),
                        kind,
                        str(BLAS_SIZE),
                        str(PARENT_CHECK_SECONDS),
                    ],  # fmt: skip
                    stdout=subprocess.PIPE,
                    stdin=subprocess.DEVNULL,
                    env=_worker_env(),
                    text=True,
                )
            )
            load.pids.append(procs[-1].pid)
        for p in procs:  # each is working before the measurement starts
            if p.stdout.readline().strip() != "up":
                raise RuntimeError(f"a busy process did not start (exit {p.poll()})")
        meter = LoadMeter(interval=0.0)
        started = time.monotonic()
        cpu0 = [_cpu_seconds(p.pid) for p in procs]
        try:
            yield load
        finally:
            cpu1 = [_cpu_seconds(p.pid) for p in procs]
            load.seconds = time.monotonic() - started
            load.others_seen.append(meter.others())
            if all(c is not None for c in cpu0 + cpu1):
                load.cpu_seconds = sum(b - a for a, b in zip(cpu0, cpu1, strict=True))
    finally:
        _stop(procs)


def quiet_then_busy(n: int, measure: Callable[[], dict[str, float]]) -> tuple[dict, dict, BusyLoad]:
    """``measure()`` on the machine as it is, then again beside ``n`` busy processes."""
    quiet = measure()
    with busy_machine(n) as load:
        busy = measure()
    return quiet, busy, load


def side_by_side(
    title: str, quiet: dict[str, float], busy: dict[str, float], load: BusyLoad
) -> str:
    """One row per measure: quiet, busy, busy / quiet (a speed's fraction kept, or a
    time's factor: each measure's name says which it is)."""
    width = max([len(k) for k in quiet] + [len("measure")])
    lines = [
        f"{title}, quiet and busy: {load.describe()}",
        f"{'measure':<{width}}  {'quiet':>12}  {'busy':>12}  {'busy/quiet':>10}",
    ]
    for name, q in quiet.items():
        b = busy.get(name, float("nan"))
        ratio = b / q if q else float("nan")
        lines.append(f"{name:<{width}}  {_number(q):>12}  {_number(b):>12}  {ratio:>10.2f}")
    return "\n".join(lines)


def _number(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def processes(text: str) -> int:
    """``--busy``'s value: a count of processes, 0 or more."""
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes (0 or more)")
    return n


def add_busy_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--busy",
        type=processes,
        metavar="N",
        help="measure quiet, then beside N busy processes (benchmarks/busy.py), and print "
        "both side by side with the ratio busy/quiet (no doc section is written)",
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=processes, help="busy processes")
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    with busy_machine(args.n) as load:
        try:
            time.sleep(args.seconds)
        except KeyboardInterrupt:
            pass
    print(load.describe())
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: the children go too
    sys.exit(main())
