"""A run that shares a core (``GdChunks.share_core``): while another thread (a window's
frame) asks, its chunks run on one thread and last until the time asked, with the numbers of
a run that never shared; afterwards the run's thread is back on all of torch's threads.

Nothing here waits on time: the sharing deadlines are far in the future or in the past.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest
import torch

from solver import LinearSystem, Run, Session
from solver.matrices import kernels, sparseio
from solver.run import fastpath, scripted

FAR = math.inf  # a share that lasts for the whole test


@pytest.fixture
def on_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch's mat-vecs, as kernels chooses where the two libraries tie (the chunks use
    torch's; on numpy's BLAS a run keeps the loop and has no chunks to share)."""
    monkeypatch.setitem(kernels.NUMPY_FASTER, torch.float64, False)


def dense(n: int, updates: int) -> Session:
    rng = np.random.default_rng(n)
    a = rng.standard_normal((n, n)) / np.sqrt(n) + 3 * np.eye(n)
    return Session(
        problem=LinearSystem(a, a @ np.ones(n)), optimizer="gd", lr=0.05, max_iters=updates
    )


def shared_chunks(run: Run) -> fastpath.GdChunks:
    chunks = run.chunks
    assert chunks is not None, scripted.unavailable_reason
    if torch.get_num_threads() < 2:
        pytest.skip("torch has one thread here: there is no core to share")
    if not chunks.shares():
        pytest.skip("A's products round differently on one thread here: never shared")
    return chunks


def assert_same(a: Run, b: Run) -> None:
    assert (a.stop_reason, a.iteration, a.grad_evals) == (b.stop_reason, b.iteration, b.grad_evals)
    for name in ("loss", "residual_norm", "error"):
        np.testing.assert_array_equal(getattr(a.history, name), getattr(b.history, name))
    for x, y in zip(a.history.trajectory(), b.history.trajectory(), strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.x(), b.x())


@pytest.mark.parametrize("n", [2000, 1000])
def test_a_run_sharing_a_core_gives_the_same_numbers_as_one_that_never_did(on_torch, n) -> None:
    """n = 2000 multiplies by A's transposed view, n = 1000 by a copy of Aᵀ where the view
    rounds by thread count (``kernels.dense_operator``); both share a core."""
    s = dense(n, 60)
    threads = torch.get_num_threads()
    wide, shared = Run(s), Run(s)
    chunks = shared_chunks(shared)
    started = threading.Event()
    chunks.share_core(FAR, started)
    shared.advance(30)
    assert started.is_set()
    assert chunks.shared_updates == 30
    # the run's thread is on all of torch's threads again once advance returns
    assert torch.get_num_threads() == threads
    chunks.share_core(0.0)
    shared.advance()
    assert chunks.shared_updates == 30  # ended when asked: the rest went on all threads
    wide.advance()
    assert wide.chunks.shared_updates == 0
    assert_same(shared, wide)


def test_a_run_on_one_thread_throughout_gives_the_same_numbers(on_torch) -> None:
    """``one_thread`` (a busy machine: ``gui.machine.frame_mode``) puts every chunk on one
    thread, no frame asking, with the numbers of a run on all threads; cleared, the next
    chunk is on all of them again."""
    s = dense(2000, 50)
    threads = torch.get_num_threads()
    wide, narrow = Run(s), Run(s)
    chunks = shared_chunks(narrow)
    chunks.one_thread = True
    narrow.advance(30)
    assert chunks.shared_updates == 30
    assert torch.get_num_threads() == threads  # given back when advance returns
    chunks.one_thread = False
    narrow.advance()
    assert chunks.shared_updates == 30
    wide.advance()
    assert_same(narrow, wide)


def test_a_share_that_has_ended_is_not_started(on_torch) -> None:
    run = Run(dense(2000, 5))
    chunks = shared_chunks(run)
    started = threading.Event()
    chunks.share_core(time.perf_counter() - 1.0, started)  # already over
    run.advance()
    assert not started.is_set() and chunks.shared_updates == 0


def test_a_shared_chunk_runs_to_the_share_not_to_the_slice(on_torch) -> None:
    """A shared chunk ends when the share does, past ``advance``'s own deadline: cut short,
    it would want the GIL back in the middle of the frame that asked."""
    run = Run(dense(2000, 10**6))
    chunks = shared_chunks(run)
    run.advance(3)  # the cost of an update is known from here on
    chunks.share_core(FAR)
    k = chunks.size(limit=40, deadline=time.perf_counter())  # a slice already over
    assert k == 40  # as many as the share allows, within the limit
    chunks.share_core(0.0)
    assert chunks.size(limit=40, deadline=time.perf_counter()) == 1
    fastpath.widen()


def test_sparse_chunks_never_share_a_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(kernels.SCIPY_FASTER, torch.float64, False)
    a = sparseio.poisson_2d(30, 40)
    s = Session(problem=LinearSystem(a, np.ones(a.shape[0])), optimizer="gd", max_iters=3)
    run = Run(s)
    assert isinstance(run.chunks, fastpath.SparseGdChunks)
    assert not run.chunks.shares()


def test_no_chunks_to_share_off_the_fast_path(on_torch) -> None:
    s = dense(600, 3)
    assert Run(s, fast_path=False).chunks is None
    assert Run(s.replace(optimizer="adam")).chunks is None


def test_a_thread_count_the_caller_set_is_left_alone(on_torch) -> None:
    """Only a chunk that shared a core changes the thread's count, and it gives it back; a
    run that never shared leaves whatever the caller chose (a headless user's one thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        Run(dense(2000, 3)).advance()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
