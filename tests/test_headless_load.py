"""The headless runner follows the machine's load: while other processes hold the cores a
run's second thread would use, its chunks go on one thread (``GdChunks.follow``), and only
where that changes no number."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from solver import fastpath, presets
from solver.engine import Run
from solver.headless import follow_load
from solver.threads import ONE_THREAD_BELOW


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
    s = presets.poisson(20, 30).replace(max_iters=iterations, tol=0.0)
    run = Run(s)
    assert isinstance(run.chunks, fastpath.SparseGdChunks)
    return run


def test_a_busy_machine_puts_the_run_on_one_thread_and_a_quiet_one_back(two_threads):
    chunks = _sparse_run(10).chunks
    assert chunks.rounds_alike()
    assert chunks.follow(ONE_THREAD_BELOW - 0.5) and chunks.one_thread
    assert not chunks.follow(ONE_THREAD_BELOW + 0.5) and not chunks.one_thread


def test_a_run_whose_products_round_differently_keeps_its_threads(two_threads, monkeypatch):
    monkeypatch.setattr(fastpath, "_same_on_one_thread", lambda *_a: False)
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
