"""The headless runner follows the machine's load: while other processes hold the cores a
run's second thread would use, its chunks go on one thread (``GdChunks.follow``), and only
where that changes no number."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from solver import LinearSystem, Session
from solver.core.threads import ONE_THREAD_BELOW
from solver.headless import follow_load, loop_rounds_alike
from solver.matrices import kernels
from solver.run import fastpath
from solver.run.engine import Run
from solver.sessions import builders


class _Load:
    """Spare cores as a script says: one value per reading, the last one kept."""

    def __init__(self, *values: float) -> None:
        self.values = list(values)
        self.read = 0

    def spare(self) -> float:
        self.read += 1
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


@pytest.fixture
def two_threads():
    if torch.get_num_threads() < 2:
        pytest.skip("torch has one thread here: there is no second one to give up")


def _sparse_run(iterations: int) -> Run:
    s = builders.poisson(20, 30).replace(max_iters=iterations, tol=0.0)
    run = Run(s)
    assert isinstance(run.chunks, fastpath.SparseGdChunks)
    return run


def test_a_busy_machine_puts_the_run_on_one_thread_and_a_quiet_one_back(two_threads):
    chunks = _sparse_run(10).chunks
    assert chunks.rounds_alike()
    assert chunks.follow(ONE_THREAD_BELOW - 0.5) and chunks.one_thread
    assert not chunks.follow(ONE_THREAD_BELOW + 0.5) and not chunks.one_thread


def test_a_run_whose_products_round_differently_keeps_its_threads(two_threads, monkeypatch):
    monkeypatch.setattr(kernels, "same_on_one_thread", lambda *_a: False)
    chunks = _sparse_run(10).chunks
    assert not chunks.follow(0.0) and not chunks.one_thread


def test_following_the_load_changes_no_number(two_threads, monkeypatch):
    """The same run, quiet throughout and with the load coming and going: the same history
    bit for bit, and the busy readings did put chunks on one thread."""
    monkeypatch.setattr("solver.headless.FOLLOW_SECONDS", 0.0005)  # a reading per chunk or so
    quiet, busy = _sparse_run(400), _sparse_run(400)
    follow_load(quiet, _Load(2.0))
    load = _Load(*([0.2, 2.0, 0.5, 1.9] * 50))
    follow_load(busy, load)
    assert load.read > 4
    assert quiet.chunks.shared_updates == 0 and 0 < busy.chunks.shared_updates < 400
    assert quiet.finished and busy.finished and busy.iteration == quiet.iteration == 400
    np.testing.assert_array_equal(busy.history.loss, quiet.history.loss)
    np.testing.assert_array_equal(busy.x(), quiet.x())


def _dense_run(n: int, iterations: int) -> Run:
    rng = np.random.default_rng(n)
    a = rng.standard_normal((n, n)) / np.sqrt(n) + 3 * np.eye(n)
    s = Session(problem=LinearSystem(a, a @ np.ones(n)), lr=0.05, max_iters=iterations, tol=0.0)
    return Run(s)


@pytest.mark.parametrize("n", [700, 1000])
def test_a_dense_run_whose_transposed_product_rounds_by_thread_count_follows_the_load(
    two_threads, monkeypatch, n
):
    """At these sizes torch's Aᵀ r through A's transposed view rounded differently on one
    thread and on two here; the run multiplies by a row-major copy of Aᵀ instead, so it may
    drop to one thread, with the history of a run that never did, bit for bit."""
    monkeypatch.setitem(kernels.NUMPY_FASTER, torch.float64, False)  # torch's products
    monkeypatch.setattr("solver.headless.FOLLOW_SECONDS", 0.0005)
    quiet, busy = _dense_run(n, 120), _dense_run(n, 120)
    assert busy.chunks is not None and busy.chunks.rounds_alike()
    follow_load(quiet, _Load(2.0))
    load = _Load(*([0.2, 2.0, 0.5, 1.9] * 50))
    follow_load(busy, load)
    assert quiet.chunks.shared_updates == 0 and 0 < busy.chunks.shared_updates < 120
    np.testing.assert_array_equal(busy.history.loss, quiet.history.loss)
    np.testing.assert_array_equal(busy.x(), quiet.x())


def test_a_run_that_follows_the_load_goes_in_whole_chunks_however_long_an_update(
    two_threads, monkeypatch
):
    """A window parks its run for each frame, so there an update longer than
    ``long_update`` goes alone; nothing parks a run that follows the load (the headless
    runner), whose chunks stay whole on one thread or on all."""
    monkeypatch.setattr(fastpath.GdChunks, "long_update", 0.0)  # every update counts as long
    monkeypatch.setattr("solver.headless.FOLLOW_SECONDS", 60.0)  # one reading: the first
    sizes: list[int] = []

    def counted(real):
        def apply(fn, x, xd, loss, lr, tol, k, row):
            sizes.append(k)
            return real(fn, x, xd, loss, lr, tol, k, row)

        return apply

    for spare in (2.0, 0.0):
        run = _dense_run(300, 200)
        run.chunks.apply = counted(run.chunks.apply)
        assert run.advance(20) == 20 and set(sizes) == {1}  # not following: one at a time
        sizes.clear()
        follow_load(run, _Load(spare))
        assert run.iteration == 200 and max(sizes) > 1
        sizes.clear()


def _momentum_run(n: int, iterations: int) -> Run:
    rng = np.random.default_rng(n)
    a = rng.standard_normal((n, n)) / np.sqrt(n) + 3 * np.eye(n)
    s = Session(
        problem=LinearSystem(a, a @ np.ones(n)), optimizer="sgd", lr=0.02,
        optimizer_args={"momentum": 0.9}, max_iters=iterations, tol=0.0,
    )  # fmt: skip
    run = Run(s)
    assert run.chunks is None  # the loop
    return run


def _threads_per_advance(run: Run) -> list[int]:
    seen: list[int] = []
    real = run.advance

    def advance(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    run.advance = advance
    return seen


@pytest.mark.parametrize("n", [300, 1000])
def test_the_loop_follows_the_load_too_with_the_same_numbers(two_threads, monkeypatch, n):
    """sgd with momentum (the Python loop, autograd): on one thread while the machine is
    busy, on all of them while quiet, the history bit for bit a quiet run's; the thread count
    the process had is back afterwards."""
    monkeypatch.setitem(kernels.NUMPY_FASTER, torch.float64, False)
    monkeypatch.setattr(kernels, "TRANSPOSED_COPY", True)  # as measured at n = 1000 here
    monkeypatch.setattr("solver.headless.FOLLOW_SECONDS", 0.0005)
    threads = torch.get_num_threads()
    quiet, busy = _momentum_run(n, 150), _momentum_run(n, 150)
    if not loop_rounds_alike(busy):
        pytest.skip("A's products round differently on one thread here: no following")
    seen = _threads_per_advance(busy)
    follow_load(quiet, _Load(2.0))
    follow_load(busy, _Load(*([0.2, 2.0, 0.5, 1.9] * 200)))
    assert set(seen) == {1, threads}
    assert torch.get_num_threads() == threads
    assert quiet.iteration == busy.iteration == 150
    np.testing.assert_array_equal(busy.history.loss, quiet.history.loss)
    np.testing.assert_array_equal(busy.x(), quiet.x())


def test_a_loop_over_more_unknowns_than_one_thread_reduces_keeps_its_threads(
    two_threads, monkeypatch
):
    """From ``ONE_THREAD_ELEMENTS`` on torch splits a sum among its threads: the loop's
    numbers would depend on the load, so it does not follow it."""
    monkeypatch.setattr("solver.headless.ONE_THREAD_ELEMENTS", 300)
    run = _momentum_run(300, 40)
    assert not loop_rounds_alike(run)
    seen = _threads_per_advance(run)
    follow_load(run, _Load(0.0))
    assert set(seen) == {torch.get_num_threads()} != {1}


def test_a_large_matrix_keeps_its_threads_on_a_busy_machine(two_threads, monkeypatch):
    """Past ``FOLLOW_MAX_ENTRIES`` each parallel step is long enough that two threads beside
    busy processes go faster than one: neither the chunks nor the loop drop one."""
    monkeypatch.setattr("solver.headless.FOLLOW_MAX_ENTRIES", 300 * 300 - 1)
    monkeypatch.setattr(kernels, "TRANSPOSED_COPY", True)
    for run in (_dense_run(300, 40), _momentum_run(300, 40)):
        seen = _threads_per_advance(run)
        follow_load(run, _Load(0.0))
        assert set(seen) == {torch.get_num_threads()} != {1}
        assert run.chunks is None or run.chunks.shared_updates == 0
