"""The process's thread policy (``solver.core.threads``): the cores it really has (affinity and
the cgroup CPU quota), the OpenMP/BLAS environment set before torch loads without touching
what the user set, and the load meter the window's frame scheduler reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from solver.core import threads

ROOT = Path(__file__).resolve().parents[3]
POLICY_VARS = (*threads.WAIT_POLICY, *threads.OPENBLAS_TIMEOUT, *threads.THREAD_COUNT_VARS)


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201 - a setter
    """A fake machine: ``set(affinity, files)`` gives this process that many cores and
    these cgroup files (paths under the cgroup root), and /proc/self/cgroup ``groups``."""
    root = tmp_path / "cgroup"
    root.mkdir()
    proc = tmp_path / "self-cgroup"
    proc.write_text("0::/\n")
    monkeypatch.setattr(threads, "CGROUP_ROOT", root)
    monkeypatch.setattr(threads, "PROC_SELF_CGROUP", proc)

    def set_(affinity: int, files: dict[str, str], groups: str = "0::/\n") -> None:
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(affinity)))
        monkeypatch.setattr(os, "cpu_count", lambda: 64)  # the machine's: never the answer
        proc.write_text(groups)
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n")

    return set_


def test_cores_follow_the_affinity_not_the_machine(machine) -> None:
    machine(3, {})
    assert threads.cores_available() == 3


def test_cgroup_v2_quota_limits_the_cores(machine) -> None:
    machine(8, {"cpu.max": "200000 100000"})
    assert threads.cores_available() == 2


def test_cgroup_v2_quota_of_a_fraction_rounds_up(machine) -> None:
    machine(8, {"cpu.max": "150000 100000"})
    assert threads.cgroup_cpu_limit() == 1.5
    assert threads.cores_available() == 2


def test_cgroup_v2_without_a_quota(machine) -> None:
    machine(4, {"cpu.max": "max 100000"})
    assert threads.cgroup_cpu_limit() is None
    assert threads.cores_available() == 4


def test_cgroup_v2_the_process_own_group_first(machine) -> None:
    machine(8, {"app/cpu.max": "100000 100000", "cpu.max": "max 100000"}, groups="0::/app\n")
    assert threads.cores_available() == 1


def test_cgroup_v1_quota(machine) -> None:
    machine(
        6,
        {"cpu,cpuacct/cpu.cfs_quota_us": "300000", "cpu,cpuacct/cpu.cfs_period_us": "100000"},
        groups="4:cpu,cpuacct:/\n",
    )
    assert threads.cores_available() == 3


def test_cgroup_v1_no_quota(machine) -> None:
    machine(
        2,
        {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"},
        groups="2:cpu:/\n",
    )
    assert threads.cgroup_cpu_limit() is None
    assert threads.cores_available() == 2


def test_affinity_below_the_quota_wins(machine) -> None:
    machine(1, {"cpu.max": "400000 100000"})
    assert threads.cores_available() == 1


def test_unreadable_cgroup_files_mean_no_quota(machine) -> None:
    machine(2, {"cpu.max": "garbage"})
    assert threads.cores_available() == 2


def test_policy_on_a_clean_environment() -> None:
    env: dict[str, str] = {}
    added = threads.apply_env_policy(env)
    assert env == added
    assert env["OMP_WAIT_POLICY"] == "PASSIVE"
    assert env["GOMP_SPINCOUNT"] == "0" and env["KMP_BLOCKTIME"] == "0"
    assert env["OPENBLAS_THREAD_TIMEOUT"] == "4"
    assert env["OMP_NUM_THREADS"] == str(threads.cores_available())
    assert threads.apply_env_policy(env) == {}  # idempotent
    headless: dict[str, str] = {}
    threads.apply_env_policy(headless, headless=True)
    assert "OMP_WAIT_POLICY" not in headless  # GOMP_SPINCOUNT then says how long they spin
    assert headless["GOMP_SPINCOUNT"] == "30000" and headless["KMP_BLOCKTIME"] == "0"


@pytest.mark.parametrize("name", list(threads.WAIT_POLICY))
def test_policy_leaves_a_users_wait_choice_alone(name: str) -> None:
    """Any one of the wait variables is the user's choice; the others would override it."""
    env = {name: "ACTIVE" if name == "OMP_WAIT_POLICY" else "30000"}
    threads.apply_env_policy(env)
    assert env[name] in ("ACTIVE", "30000")
    assert not any(k in env for k in threads.WAIT_POLICY if k != name)


@pytest.mark.parametrize("name", threads.THREAD_COUNT_VARS)
def test_policy_leaves_a_users_thread_count_alone(name: str) -> None:
    env = {name: "1"}
    threads.apply_env_policy(env)
    assert env[name] == "1"
    assert not any(k in env for k in threads.THREAD_COUNT_VARS if k != name)


def test_policy_leaves_a_users_openblas_timeout_alone() -> None:
    env = {"OPENBLAS_THREAD_TIMEOUT": "28"}
    threads.apply_env_policy(env)
    assert env["OPENBLAS_THREAD_TIMEOUT"] == "28"


def test_the_tests_run_under_the_policy() -> None:
    """conftest applied it before any test module brought torch or numpy in."""
    assert threads.applied is not None and not threads.came_late
    for name in threads.applied:
        assert name in os.environ


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in POLICY_VARS}
    env.update(extra)
    return env


_ENTRY = """
import json, os, sys
import main
from solver.core import threads
print(json.dumps({
    "torch_in": "torch" in sys.modules, "numpy_in": "numpy" in sys.modules,
    "late": threads.came_late, "env": {k: os.environ.get(k) for k in sys.argv[1:]},
}))
"""


def test_the_entry_module_sets_the_policy_before_torch() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _ENTRY, *POLICY_VARS, "MKL_NUM_THREADS"],
        cwd=ROOT,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not out["torch_in"] and not out["numpy_in"] and not out["late"]
    assert out["env"]["OMP_WAIT_POLICY"] == "PASSIVE"
    assert out["env"]["OMP_NUM_THREADS"] == str(threads.cores_available())
    assert out["env"]["MKL_NUM_THREADS"] is None


def _omp_settings(*argv: str, **user: str) -> dict[str, str]:
    """The OpenMP runtime's own account of its settings (GNU OpenMP prints them at load
    when OMP_DISPLAY_ENV=VERBOSE) in a process that imports main, then torch, with
    ``argv`` on its command line."""
    code = (
        f"import sys; sys.argv += {list(argv)!r}; import main, torch; torch.ones(4) @ torch.ones(4)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_clean_env(OMP_DISPLAY_ENV="VERBOSE", **user),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = {}
    for line in proc.stderr.splitlines():
        name, eq, value = line.strip().partition(" = ")
        if eq:
            out[name.removeprefix("[host] ")] = value.strip("'")
    if "GOMP_SPINCOUNT" not in out:
        pytest.skip("torch here does not use GNU OpenMP (no settings printed)")
    return out


def test_torchs_openmp_threads_sleep_instead_of_spinning() -> None:
    got = _omp_settings()
    assert got["OMP_WAIT_POLICY"] == "PASSIVE" and got["GOMP_SPINCOUNT"] == "0"


def test_the_headless_runners_threads_spin_briefly_before_they_sleep() -> None:
    """Nothing else in its process wants a core: a short spin keeps the quiet speed of
    mid-sized runs, where a wake-up for each parallel step cost 43% of it."""
    for argv in (["--headless", "s.json"], ["--headless=s.json", "--json"]):
        got = _omp_settings(*argv)
        # (its OMP_WAIT_POLICY line says PASSIVE for "not ACTIVE": the spin count rules)
        assert got["GOMP_SPINCOUNT"] == threads.HEADLESS_WAIT_POLICY["GOMP_SPINCOUNT"]
    # the window's (a session to open is no headless run)
    assert _omp_settings("headless.json")["GOMP_SPINCOUNT"] == "0"


def test_torchs_openmp_keeps_a_users_active_wait() -> None:
    got = _omp_settings(OMP_WAIT_POLICY="ACTIVE")
    assert got["OMP_WAIT_POLICY"] == "ACTIVE" and int(got["GOMP_SPINCOUNT"]) > 0


def test_load_meter_counts_the_other_processes(tmp_path: Path, monkeypatch) -> None:
    """Cores the others used = the machine's busy CPU time less this process's, per second."""
    stat = tmp_path / "stat"
    monkeypatch.setattr(threads, "PROC_STAT", stat)
    clock = {"wall": 100.0, "own": 5.0}
    monkeypatch.setattr(threads.time, "monotonic", lambda: clock["wall"])
    monkeypatch.setattr(threads.time, "process_time", lambda: clock["own"])
    tick = os.sysconf("SC_CLK_TCK")

    def machine_busy(seconds: float) -> None:  # user nice system idle iowait irq softirq steal
        stat.write_text(f"cpu {seconds * tick:.0f} 0 0 {10**6} 500 0 0 0 0 0\ncpu0 1 2 3\n")

    machine_busy(1000.0)
    meter = threads.LoadMeter(interval=1.0, cores=2)
    # 2 s later: the machine was busy 3 core-seconds, this process for 1 of them
    clock["wall"], clock["own"] = 102.0, 6.0
    machine_busy(1003.0)
    assert meter.others() == pytest.approx(1.0)
    assert meter.spare() == pytest.approx(1.0)
    clock["wall"] = 102.5  # within the interval: not re-read
    machine_busy(2000.0)
    assert meter.others() == pytest.approx(1.0)
    clock["wall"], clock["own"] = 103.5, 6.0
    machine_busy(1006.0)  # the others took both cores for the last 1.5 s
    assert meter.spare() == pytest.approx(0.0)
