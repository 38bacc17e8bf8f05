"""How many cores this process really has, how busy the machine is, and how the numeric
libraries' threads wait: the one home of the process's thread policy.

Standard library only, and nothing here imports torch or numpy: ``apply_env_policy`` must run
before either is imported (``main.py`` first thing, the tests' conftest at its top), since
their thread runtimes read the environment once, when they load.

Why the waiting matters (measured on a 2-core machine with two busy processes beside the
run): torch's OpenMP threads (here GNU OpenMP, ``libgomp``, shipped with torch) spin for a
while at the end of each parallel region before they sleep. When another process holds one of
the two cores, every region then waits for a thread that is not running while its partner
burns the other core spinning: 300 gd iterations of the 100,000-unknown Poisson system took
10.8-17 s instead of 0.5 s; with ``OMP_WAIT_POLICY=PASSIVE`` 0.63 s. numpy's OpenBLAS threads
spin likewise (about 0.1 s after each product: ``solver/matrices/kernels.py``) until
``OPENBLAS_THREAD_TIMEOUT`` says otherwise.

Two policies, by what else the process does (measured, ``docs/BENCHMARKS.md``, "Busy
machine"). The window's threads sleep at once: its own GUI thread needs a core between the
run's parallel steps, and a spinning partner holds it (with a short spin the window's run
went at 0.75-0.78x of headless beside busy processes, sleeping at 0.82-0.97x, in two runs
each). The headless runner has nothing else to run: its threads spin briefly (30,000 turns,
about 0.3 ms, a tenth of GNU OpenMP's own) and then sleep. Sleeping at once cost a gd run at
n = 1000 43% of its quiet speed (a wake-up for each small parallel step); the library's own
spin lost 74% of it beside busy processes; the short spin keeps the quiet speed (2,337-2,364
it/s against 1,911 before any policy) but on two threads beside busy processes kept only
0.15-0.41 of it in four runs, where sleeping at once kept 703-1,093 it/s: no fixed policy
holds both. So the headless runner also follows the load (``solver/headless.py``): on one
thread while other processes hold the cores, where that changes no number (at n = 1000,
through a copy of Aᵀ: ``kernels.dense_operator``), which kept 0.36-0.42 of the quiet speed.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path

# The variables that say how idle OpenMP threads wait: the standard one, GNU OpenMP's spin
# count (0 is what PASSIVE means to it), and Intel's/LLVM's block time (macOS and Windows
# builds of torch use those runtimes). They override one another (GOMP_SPINCOUNT wins over
# OMP_WAIT_POLICY in libgomp, KMP_BLOCKTIME in libomp), so a user who set any one of them
# chose how threads wait, and none of the others is added.
WAIT_POLICY = {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "0", "KMP_BLOCKTIME": "0"}
# The headless runner's: a short spin, measured with GNU OpenMP only (the other runtimes'
# block time counts whole milliseconds and was not measured: they sleep at once, as above).
HEADLESS_WAIT_POLICY = {"GOMP_SPINCOUNT": "30000", "KMP_BLOCKTIME": "0"}
# OpenBLAS (numpy's): its pool's threads go to sleep after 2**n cycles idle; 4 is its least.
OPENBLAS_TIMEOUT = {"OPENBLAS_THREAD_TIMEOUT": "4"}
# With fewer cores than this left free by the other processes, a run's second thread would
# mostly wait (for a core, then at each parallel step for the other): it runs on one.
ONE_THREAD_BELOW = 1.5
# Thread counts: where the user set any, the libraries' own fallbacks between them stand.
THREAD_COUNT_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

# Where Linux keeps the CPU controller (one file for cgroup v2, two for v1); tests point
# these elsewhere.
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")
PROC_STAT = Path("/proc/stat")

# Set by apply_env_policy: what it added, and whether torch or numpy was already in by then
# (their thread pools had read the environment: the policy came too late for them).
applied: dict[str, str] | None = None
came_late = False


def _affinity() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _cgroup_paths() -> dict[str, str]:
    """Controller ("" for cgroup v2) -> this process's group path, from /proc/self/cgroup."""
    out: dict[str, str] = {}
    for line in (_read(PROC_SELF_CGROUP) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for name in parts[1].split(",") if parts[1] else [""]:
                out[name] = parts[2]
    return out


def _quota(quota: str, period: str) -> float | None:
    try:
        q, p = float(quota), float(period)
    except ValueError:
        return None  # "max" (v2), or an unreadable file
    return q / p if q > 0 and p > 0 else None  # -1 (v1): no limit


def cgroup_cpu_limit() -> float | None:
    """Cores' worth of CPU time this process's control group may use (its CPU quota), None
    where there is no quota or no cgroup file says. The process's own group is looked at
    first, then the root of the mounted hierarchy (what a container sees as its own)."""
    groups = _cgroup_paths()
    for rel in dict.fromkeys((groups.get("", ""), "")):
        text = _read(CGROUP_ROOT / rel.lstrip("/") / "cpu.max")
        if text:
            fields = text.split()
            if len(fields) == 2:
                return _quota(*fields)
    for folder in ("cpu,cpuacct", "cpu", "cpuacct,cpu"):
        for rel in dict.fromkeys((groups.get("cpu", ""), "")):
            base = CGROUP_ROOT / folder / rel.lstrip("/")
            quota, period = _read(base / "cpu.cfs_quota_us"), _read(base / "cpu.cfs_period_us")
            if quota is not None and period is not None:
                return _quota(quota, period)
    return None


def cores_available() -> int:
    """The cores this process can run on at once: those its affinity allows, fewer where a
    control group's CPU quota allows less (rounded up: a quota of 1.5 cores still runs two
    threads at a time, part of the time). Not ``os.cpu_count()``, which counts the machine's."""
    cores = _affinity()
    limit = cgroup_cpu_limit()
    if limit is not None:
        cores = min(cores, math.ceil(limit))
    return max(1, cores)


def env_policy(
    environ: MutableMapping[str, str], cores: int, headless: bool = False
) -> dict[str, str]:
    """The variables ``apply_env_policy`` adds to ``environ``: idle threads sleep instead of
    spinning (``headless``: after a short spin), and as many threads as ``cores``. None that
    the user set is touched."""
    out: dict[str, str] = {}
    if not any(k in environ for k in WAIT_POLICY):
        out.update(HEADLESS_WAIT_POLICY if headless else WAIT_POLICY)
    if not any(k in environ for k in OPENBLAS_TIMEOUT):
        out.update(OPENBLAS_TIMEOUT)
    if not any(k in environ for k in THREAD_COUNT_VARS):
        # OpenMP counts the affinity's cores, never a cgroup quota: told the count, torch's
        # and both BLAS libraries' pools start no more threads than can run.
        out["OMP_NUM_THREADS"] = str(cores)
    return out


def apply_env_policy(
    environ: MutableMapping[str, str] | None = None, *, headless: bool = False
) -> dict[str, str]:
    """Set the thread policy in this process's environment (``environ``: another mapping,
    for tests), before torch or numpy is imported; returns what it added. Idempotent: a
    second call finds the first one's values and adds nothing."""
    global applied, came_late
    env = os.environ if environ is None else environ
    added = env_policy(env, cores_available(), headless)
    env.update(added)
    if environ is None:
        if applied is None:
            came_late = "torch" in sys.modules or "numpy" in sys.modules
            applied = dict(added)
        else:
            applied.update(added)
    return added


def use_threads(k: int) -> None:
    """The calling thread's torch threads (OpenMP and MKL; new threads start with as many)."""
    import torch

    if torch.get_num_threads() != k:
        torch.set_num_threads(k)


class LoadMeter:
    """How many cores' worth of CPU the other processes on this machine take, measured over
    the last ``interval`` seconds or so, and so how many of ``cores_available()`` are left to
    this process. Cheap: one read of /proc/stat a second (Linux); elsewhere the 1-minute load
    average stands in for the other processes' demand."""

    def __init__(self, interval: float = 1.0, cores: int | None = None) -> None:
        self.interval = interval
        self.cores = cores_available() if cores is None else cores
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._last = self._sample()
        self._others = 0.0
        self._read_at = time.monotonic()

    def _sample(self) -> tuple[float, float | None, float]:
        """(monotonic time, the machine's busy CPU seconds or None where unknown, this
        process's CPU seconds)."""
        now, own = time.monotonic(), time.process_time()
        first = (_read(PROC_STAT) or "").split("\n", 1)[0].split()
        if len(first) < 8 or first[0] != "cpu":
            return now, None, own
        try:
            ticks = [float(v) for v in first[1:9]]
        except ValueError:
            return now, None, own
        # user nice system idle iowait irq softirq steal: all but idle and iowait are busy
        return now, (sum(ticks) - ticks[3] - ticks[4]) / self._tick, own

    def others(self) -> float:
        """Cores' worth of CPU the other processes used lately (re-read at most once per
        ``interval``)."""
        now = time.monotonic()
        if now - self._read_at < self.interval:
            return self._others
        self._read_at = now
        (t0, busy0, own0), (t1, busy1, own1) = self._last, self._sample()
        self._last = (t1, busy1, own1)
        wall = t1 - t0
        if wall <= 0:
            return self._others
        own = (own1 - own0) / wall
        if busy0 is not None and busy1 is not None:
            self._others = max(0.0, (busy1 - busy0) / wall - own)
        elif hasattr(os, "getloadavg"):
            # runnable threads, averaged over a minute: slower to follow, and ours among them
            self._others = max(0.0, os.getloadavg()[0] - own)
        return self._others

    def spare(self) -> float:
        """Cores this process can count on now: those available less the others' use."""
        return max(0.0, self.cores - self.others())
