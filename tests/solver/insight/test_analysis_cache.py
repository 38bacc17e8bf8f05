"""The analysis cache (``solver.insight.analysis_cache``): a second analysis of the same matrix
reads what the first derived, another matrix does not, and a damaged entry is derived again. The
expensive steps are counted through the names ``solver.problems`` calls them by, never
timed."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest

from solver.core import atomic
from solver.insight import analysis_cache as cache
from solver.insight.analysis import analyze
from solver.matrices.sparseio import poisson_2d
from solver.problems.linear import Inverse, LinearSystem


class _Counts(Mapping):
    """How often each expensive step has run so far, by a short name."""

    NAMES = {"sigma_max": "estimate_sigma_max", "sigma_min": "estimate_sigma_min"}

    def __init__(self, ran: list[str]) -> None:
        self.ran = ran

    def __getitem__(self, key: str) -> int:
        return self.ran.count(self.NAMES.get(key, key))

    def __iter__(self) -> Iterator[str]:
        return iter(("sigma_max", "sigma_min", "sparse_lu"))

    def __len__(self) -> int:
        return 3


@pytest.fixture
def calls(expensive: list[str]) -> Mapping[str, int]:
    """How often each expensive step ran: Lanczos for σmax and σmin, the sparse LU
    (counted by ``tests/conftest.py``'s ``expensive``)."""
    return _Counts(expensive)


def poisson(rows: int = 12, cols: int = 15, bump: float = 0.0) -> LinearSystem:
    a = poisson_2d(rows, cols)
    if bump:
        a = a.tolil()
        a[0, 0] += bump
        a = a.tocsr()
    return LinearSystem(a, a @ np.ones(a.shape[1]))


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.npz"))


def test_a_second_analysis_of_the_same_matrix_reads_the_cache(tmp_path, calls) -> None:
    first = cache.analyze_cached(poisson(), "energy", 0.1, tmp_path)
    assert calls == {"sigma_max": 1, "sigma_min": 1, "sparse_lu": 1}
    (entry,) = entries(tmp_path)
    assert not [p for p in tmp_path.iterdir() if atomic.is_temporary(p)]  # renamed into place
    # a new problem object with the same arrays, as a relaunch or a rerun builds it
    again = poisson()
    second = cache.analyze_cached(again, "energy", 0.1, tmp_path)
    assert calls == {"sigma_max": 1, "sigma_min": 1, "sparse_lu": 1}
    assert second.to_json() == first.to_json()
    assert np.array_equal(second.exact, first.exact) and not second.exact.flags.writeable
    # another loss and step size are applied to the cached spectrum, not looked up
    other = cache.analyze_cached(poisson(), "half_sum_squares", 0.01, tmp_path)
    assert calls["sigma_max"] == 1
    assert other.lipschitz == pytest.approx(first.lipschitz**2)
    assert other.to_json() == analyze(poisson(), "half_sum_squares", 0.01).to_json()
    assert entries(tmp_path) == [entry]


def test_a_changed_matrix_misses_and_gets_its_own_entry(tmp_path, calls) -> None:
    cache.analyze_cached(poisson(), "energy", 0.1, tmp_path)
    changed = cache.analyze_cached(poisson(bump=1.0), "energy", 0.1, tmp_path)
    assert calls == {"sigma_max": 2, "sigma_min": 2, "sparse_lu": 2}
    a = poisson_2d(12, 15)
    other_b = LinearSystem(a, np.ones(a.shape[0]))
    cache.analyze_cached(other_b, "energy", 0.1, tmp_path)
    assert calls["sparse_lu"] == 3  # another right-hand side: another exact solution
    assert len(entries(tmp_path)) == 3
    assert changed.lipschitz == pytest.approx(analyze(poisson(bump=1.0), "energy").lipschitz)


def test_a_parameter_is_part_of_the_key() -> None:
    m = np.random.default_rng(1).standard_normal((4, 4)) + 4 * np.eye(4)
    assert cache.problem_key(Inverse(m, "left")) != cache.problem_key(Inverse(m, "both"))
    assert cache.problem_key(Inverse(m, "left")) == cache.problem_key(Inverse(m.copy(), "left"))


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncated", "pickled", "another key", "tampered value"],
)
def test_a_damaged_entry_is_derived_again_without_a_crash(tmp_path, calls, damage) -> None:
    cache.analyze_cached(poisson(), "energy", 0.1, tmp_path)
    (entry,) = entries(tmp_path)
    good = entry.read_bytes()
    if damage == "garbage":
        entry.write_bytes(b"not a zip file at all")
    elif damage == "truncated":
        entry.write_bytes(good[: len(good) // 2])
    elif damage == "pickled":  # an object array: read with allow_pickle=False, never run
        np.savez(entry, meta=np.array([{"key": "x"}], dtype=object))
    else:
        with np.load(entry) as data:
            arrays = {k: data[k] for k in data.files}
        head = json.loads(str(arrays["meta"]))
        if damage == "another key":
            head["key"] = "0" * 64
        else:
            arrays["a0"] = arrays["a0"] * 2  # the exact solution, no longer its checksum's
        arrays["meta"] = np.array(json.dumps(head))
        with entry.open("wb") as fh:
            np.savez(fh, **arrays)
    rejected = cache.stats.rejected
    result = cache.analyze_cached(poisson(), "energy", 0.1, tmp_path)
    assert cache.stats.rejected == rejected + 1
    assert calls == {"sigma_max": 2, "sigma_min": 2, "sparse_lu": 2}
    assert np.allclose(result.exact, 1.0)
    assert entry.read_bytes() != b"not a zip file at all"  # rewritten whole
    cache.analyze_cached(poisson(), "energy", 0.1, tmp_path)
    assert calls["sigma_max"] == 2  # and read again


def test_a_folder_that_cannot_be_written_is_a_cache_that_misses(tmp_path, calls) -> None:
    blocked = tmp_path / "a file"
    blocked.write_text("")
    for _ in range(2):
        result = cache.analyze_cached(poisson(), "energy", 0.1, blocked)
    assert calls["sigma_max"] == 2 and np.allclose(result.exact, 1.0)


def test_the_least_recently_used_entries_go_beyond_the_limits(tmp_path) -> None:
    paths = []
    for i in range(4):
        p = poisson(bump=float(i + 1))
        p.solve()
        assert cache.store(p, tmp_path)
        paths.append(tmp_path / f"{cache.problem_key(p)}.npz")
        os.utime(paths[-1], (1000 + i, 1000 + i))  # written in this order
    # reading the first one makes it the most recently used
    assert cache.load(poisson(bump=1.0), tmp_path)
    cache.evict(tmp_path, max_entries=2)
    assert entries(tmp_path) == sorted([paths[0], paths[3]])
    cache.evict(tmp_path, max_bytes=paths[0].stat().st_size)
    assert entries(tmp_path) == [paths[0]]


def test_small_dense_problems_are_not_cached(tmp_path, calls) -> None:
    a = np.random.default_rng(0).standard_normal((20, 20))
    cache.analyze_cached(LinearSystem(a, np.ones(20)), "half_sum_squares", 0.01, tmp_path)
    assert entries(tmp_path) == []


def test_the_default_folder_follows_xdg_data_home(monkeypatch, tmp_path) -> None:
    if os.name == "nt" or os.uname().sysname == "Darwin":
        pytest.skip("XDG_DATA_HOME is the freedesktop platforms' variable")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / "DescentLab" / "Descent Lab" / "analysis-cache"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    assert cache.default_data_dir() == Path.home() / ".local/share/DescentLab/Descent Lab"


def test_without_a_home_folder_nothing_is_cached(monkeypatch, calls) -> None:
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("APPDATA", raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert cache.cache_dir() is None
    for _ in range(2):
        result = cache.analyze_cached(poisson(), "energy", 0.1, cache.cache_dir())
    assert calls["sigma_max"] == 2 and np.allclose(result.exact, 1.0)


def test_a_temporary_is_never_an_entry_and_goes_once_stale(tmp_path, calls) -> None:
    """A process that ended mid-write leaves its temporary: removed once it is older than
    any write takes; a fresh one (another writer's, under way) is left alone, and neither
    counts as an entry."""
    cache.analyze_cached(poisson(), "energy", 0.1, tmp_path)
    (entry,) = entries(tmp_path)
    stale, fresh = (atomic.temporary_beside(entry) for _ in range(2))
    for p in (stale, fresh):
        p.write_bytes(b"half an entry")
    old = os.stat(entry).st_mtime - cache.STALE_TMP_S - 1
    os.utime(stale, (old, old))
    cache.evict(tmp_path, max_entries=1)
    assert sorted(tmp_path.iterdir()) == sorted([entry, fresh])
