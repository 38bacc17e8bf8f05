"""The benchmarks' busy machine (``benchmarks/busy.py``): its processes work while the block
runs and are gone after it, however it ends, even when the benchmark itself is killed."""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import busy

ROOT = Path(__file__).resolve().parent.parent


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _wait_until(done, timeout: float = 30.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def test_busy_processes_run_in_the_block_and_stop_on_an_exception() -> None:
    with pytest.raises(RuntimeError, match="the benchmark failed"):
        with busy.busy_machine(2) as load:
            assert len(load.pids) == 2 and load.blas == 1
            assert all(_alive(pid) for pid in load.pids)
            raise RuntimeError("the benchmark failed")
    assert not any(_alive(pid) for pid in load.pids)
    assert load.cpu_seconds is not None and load.cpu_seconds >= 0
    assert "2 busy processes (1 pure Python, 1 BLAS" in load.describe()


def test_zero_busy_processes_is_the_quiet_machine() -> None:
    with busy.busy_machine(0) as load:
        assert load.pids == []


def _children() -> list[int]:
    """This process's live child processes (Linux lists them per thread)."""
    out = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(OSError):
            out += [int(p) for p in (task / "children").read_text().split()]
    return [p for p in out if _alive(p)]


def test_quiet_then_busy_measures_twice_and_prints_both() -> None:
    before = set(_children())
    seen: list[int] = []

    def measure() -> dict[str, float]:
        seen.append(len(set(_children()) - before))
        return {"updates per second": 100.0 if len(seen) == 1 else 50.0}

    quiet, loaded, load = busy.quiet_then_busy(1, measure)
    assert seen == [0, 1]  # quiet first, then beside the busy process
    assert not set(_children()) - before
    text = busy.side_by_side("test", quiet, loaded, load)
    row = next(line for line in text.splitlines() if line.startswith("updates per second"))
    assert row.split()[-3:] == ["100", "50", "0.50"]


def test_bad_counts_are_refused_with_a_message() -> None:
    p = argparse.ArgumentParser()
    busy.add_busy_option(p)
    assert p.parse_args(["--busy", "2"]).busy == 2
    assert p.parse_args([]).busy is None
    with pytest.raises(argparse.ArgumentTypeError, match="not a number of processes"):
        busy.processes("-1")
    with pytest.raises(argparse.ArgumentTypeError, match="not a number of processes"):
        busy.processes("two")


_ORPHAN = """
import os, sys
sys.path.insert(0, sys.argv[1])
from benchmarks import busy
with busy.busy_machine(1) as load:
    print(load.pids[0], flush=True)
    os._exit(0)  # as if killed: no clean-up runs
"""


def test_busy_processes_end_when_the_benchmark_is_killed() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _ORPHAN, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    pid = int(proc.stdout.split()[0])
    assert _wait_until(lambda: not _alive(pid)), "the busy process outlived its benchmark"
