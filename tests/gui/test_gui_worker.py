"""The worker's command queue on a real QThread: commands act in order on the run they
follow, even while that run is still being created, and every step can be interrupted."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6 import QtCore

from gui.records import FINISHED, PAUSED, RUNNING
from gui.worker import SolverWorker
from solver.sessions import presets

LONG = 30_000


@pytest.fixture
def worker(qtbot):
    w = SolverWorker()
    thread = QtCore.QThread()
    w.moveToThread(thread)
    thread.started.connect(w.loop)
    statuses: list = []
    w.status.connect(statuses.append, QtCore.Qt.DirectConnection)
    w.statuses = statuses
    thread.start()
    yield w
    w.shutdown()
    thread.quit()
    assert thread.wait(5000), "the worker thread did not end"


@pytest.fixture
def gated_creation(monkeypatch):
    """Run construction waits for the test to open the gate, as for a big matrix."""
    import solver.run.engine

    gate = threading.Event()
    real = solver.run.engine.Run

    class GatedRun(real):
        def __init__(self, *a, **kw):
            assert gate.wait(30)
            super().__init__(*a, **kw)

    monkeypatch.setattr(solver.run.engine, "Run", GatedRun)
    return gate


def endless():
    return presets.build(presets.DEFAULT_PRESET).replace(max_iters=10**9, tol=0.0)


def last(w, run_id=1):
    """The newest status of ``run_id``; asks for the next one, as each GUI frame does."""
    w.request_progress()
    mine = [s for s in list(w.statuses) if s.run_id == run_id]
    return mine[-1] if mine else None


def test_stop_before_the_run_exists_stops_that_run(qtbot, worker, gated_creation):
    worker.start(1, endless())
    worker.stop()  # queued behind the start: it is for the new run
    gated_creation.set()
    qtbot.waitUntil(
        lambda: last(worker) is not None and last(worker).state == FINISHED, timeout=LONG
    )
    s = last(worker)
    assert s.stop_reason == "stopped" and s.iteration == 0


def test_pause_before_the_run_exists_creates_it_paused(qtbot, worker, gated_creation):
    worker.start(1, endless())
    worker.pause()
    gated_creation.set()
    qtbot.waitUntil(lambda: last(worker) is not None and last(worker).state == PAUSED, timeout=LONG)
    qtbot.waitUntil(worker.idle_event.is_set, timeout=LONG)
    assert last(worker).iteration == 0 and last(worker).entries == 1
    worker.step(3)
    qtbot.waitUntil(
        lambda: last(worker).state == PAUSED and last(worker).iteration == 3, timeout=LONG
    )
    qtbot.waitUntil(worker.idle_event.is_set, timeout=LONG)
    assert last(worker).iteration == 3


def test_step_before_the_run_exists_steps_that_run(qtbot, worker, gated_creation):
    worker.start(1, endless())
    worker.step(5)
    gated_creation.set()
    qtbot.waitUntil(
        lambda: (
            last(worker) is not None
            and last(worker).state == PAUSED
            and last(worker).iteration == 5
        ),
        timeout=LONG,
    )


def test_a_new_start_finishes_the_live_run_which_keeps_its_history(qtbot, worker):
    worker.start(1, endless())
    qtbot.waitUntil(lambda: last(worker) is not None and last(worker).iteration > 100, timeout=LONG)
    worker.start(2, presets.build(presets.DEFAULT_PRESET))
    qtbot.waitUntil(
        lambda: last(worker, 2) is not None and last(worker, 2).state == FINISHED, timeout=LONG
    )
    first = last(worker, 1)
    assert first.state == FINISHED and first.stop_reason == "stopped"
    assert first.entries == first.iteration + 1 > 100
    assert last(worker, 2).stop_reason == "converged"


def test_stop_interrupts_a_long_lbfgs_step(qtbot, worker):
    s = presets.build("random-cond", n=400, cond=1e6).replace(
        optimizer="lbfgs",
        lr=1.0,
        max_iters=5,
        tol=0.0,
        optimizer_args={"max_iter": 10**8, "tolerance_grad": 0.0, "tolerance_change": 0.0},
    )
    worker.start(1, s)
    qtbot.waitUntil(lambda: worker.advancing, timeout=LONG)  # inside the step
    t0 = time.perf_counter()
    worker.stop()
    qtbot.waitUntil(lambda: last(worker).state == FINISHED, timeout=LONG)
    elapsed = time.perf_counter() - t0
    st = last(worker)
    assert st.stop_reason == "stopped"
    # The step that was cut short is not applied: x is the history's last point.
    assert st.iteration == 0 and np.array_equal(st.x.reshape(-1), np.zeros(400))
    assert elapsed < 5, f"Stop took {elapsed:.2f} s inside an L-BFGS step"


def test_shutdown_during_a_run_ends_the_loop(qtbot):
    w = SolverWorker()
    thread = QtCore.QThread()
    w.moveToThread(thread)
    thread.started.connect(w.loop)
    thread.start()
    w.start(1, endless())
    qtbot.waitUntil(lambda: w.advancing, timeout=LONG)
    w.shutdown()
    thread.quit()
    assert thread.wait(5000)


def test_a_run_that_cannot_be_created_is_reported(qtbot, worker, monkeypatch):
    import solver.run.engine

    def broken(*a, **kw):
        raise RuntimeError("no memory for this run")

    monkeypatch.setattr(solver.run.engine, "Run", broken)
    # Collected on the worker's thread and waited for as a condition: qtbot.waitSignal on a
    # signal emitted from another thread can miss it (emitted before its loop starts) and
    # then blocks for good.
    failures: list = []
    worker.failed.connect(lambda *args: failures.append(list(args)), QtCore.Qt.DirectConnection)
    worker.start(7, endless())
    qtbot.waitUntil(lambda: bool(failures), timeout=LONG)
    assert failures == [[7, "no memory for this run"]]
    assert RUNNING not in [s.state for s in worker.statuses]


def test_a_run_stopped_during_a_frame_leaves_the_worker_idle(qtbot, worker):
    """A Stop that lands while a GUI frame holds the worker: once the run has finished there
    is nothing to resume, so the worker is idle without waiting for the frame to end."""
    worker.start(1, endless())
    qtbot.waitUntil(lambda: last(worker) is not None and last(worker).iteration > 0, timeout=LONG)
    with worker.frame_window():
        worker.stop()
        qtbot.waitUntil(worker.idle_event.is_set, timeout=LONG)
        assert last(worker).state == FINISHED and last(worker).stop_reason == "stopped"


def big_endless(n: int = 2000):
    """A dense system on the GIL-free chunks, large enough to share a core with frames."""
    from solver import LinearSystem, Session

    rng = np.random.default_rng(n)
    a = rng.standard_normal((n, n)) / np.sqrt(n) + 3 * np.eye(n)
    return Session(
        problem=LinearSystem(a, a @ np.ones(n)), optimizer="gd", lr=0.05, max_iters=10**9, tol=0
    )


@pytest.fixture
def on_torch(monkeypatch):
    import torch

    from solver.matrices import kernels

    monkeypatch.setitem(kernels.NUMPY_FASTER, torch.float64, False)


def test_a_run_that_shares_a_core_goes_on_through_a_frame(qtbot, worker, on_torch):
    """A mid-sized run on the chunks is not parked by a frame's hold: it goes on, on one
    thread, until the frame releases it, and then on all threads again."""
    import torch

    if torch.get_num_threads() < 2:
        pytest.skip("torch has one thread here: there is no core to share")
    worker.start(1, big_endless())
    qtbot.waitUntil(lambda: last(worker) is not None and last(worker).iteration > 0, timeout=LONG)
    if not worker.policy.shares:
        pytest.skip("A's products round differently on one thread here: parked instead")
    assert not worker.policy.park
    chunks = worker.policy.sharing_chunks
    with worker.frame_window(60.0):  # a frame that would take a minute
        qtbot.waitUntil(lambda: chunks.shared_updates > 2, timeout=LONG)  # a parked run: 0
        assert last(worker).state == RUNNING
    assert chunks.share_until == 0.0  # the next chunk is on all threads
    worker.stop()
    qtbot.waitUntil(lambda: last(worker).state == FINISHED, timeout=LONG)
    # a finished run shares nothing
    assert worker.policy.sharing_chunks is None and not worker.policy.shares


def test_a_run_whose_products_round_differently_on_one_thread_is_parked(
    qtbot, worker, on_torch, monkeypatch
):
    """Where one thread would change the run's numbers it never shares: frames park it, so
    a window's run is the headless one, bit for bit, whenever the frames came."""
    from solver.run import fastpath

    monkeypatch.setattr(fastpath.GdChunks, "shares", lambda self: False)
    worker.start(1, big_endless())
    qtbot.waitUntil(lambda: last(worker) is not None and last(worker).iteration > 0, timeout=LONG)
    assert worker.policy.park and not worker.policy.shares and worker.policy.sharing_chunks is None
    with worker.frame_window():
        qtbot.waitUntil(worker.policy.parked_now, timeout=LONG)
        # parked: the worker sits on its condition, in no slice, until the window closes
        assert not worker.advancing and worker.policy.holds == 1
    worker.stop()
