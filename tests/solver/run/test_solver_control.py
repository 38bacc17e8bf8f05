"""Driving a Run: stop and pause from another thread, stepping, the lazy (CUDA) path, devices.

Threads meet at events set from inside an update, so nothing here depends on timing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from solver import InputError, Run, list_devices, resolve_device
from solver.problems.seeds import A_MAT, B_VEC
from solver.run import engine
from solver.run.block import BLOCK_ROWS
from solver.sessions import session as sessions
from solver.settings import devices

WAIT = 30.0  # generous: only reached if the engine ignores a request


def make(problem: dict | None = None, **top: object) -> sessions.Session:
    problem = problem or {"A": A_MAT, "b": B_VEC}
    top.setdefault("optimizer", {"name": "gd", "lr": 0.1})
    return sessions.from_dict({"problem": problem, **top})


def hook_update(run: Run, at: int, action: Callable[[], None]) -> None:
    """Call ``action`` as the update that takes the run from ``at`` to ``at + 1`` begins."""

    def hooked(r: Run) -> None:
        if r.iteration == at:
            action()

    run.observe(before_update=hooked)


def assert_same_history(a: Run, b: Run) -> None:
    assert len(a.history) == len(b.history)
    np.testing.assert_array_equal(a.history.loss, b.history.loss)
    np.testing.assert_array_equal(a.history.residual_norm, b.history.residual_norm)
    np.testing.assert_array_equal(a.history.error, b.history.error)
    for x, y in zip(a.history.trajectory(), b.history.trajectory(), strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.x(), b.x())
    assert (a.iteration, a.stop_reason, a.message) == (b.iteration, b.stop_reason, b.message)


# -- stop and pause ------------------------------------------------------------------------
def test_stop_from_another_thread_is_honoured_within_one_iteration() -> None:
    run = Run(make(stop={"max_iters": 10**9}))
    reached, requested = threading.Event(), threading.Event()

    def meet() -> None:  # runs inside update 100 -> 101, on the worker thread
        reached.set()
        assert requested.wait(WAIT)

    hook_update(run, 100, meet)
    worker = threading.Thread(target=run.advance)
    worker.start()
    assert reached.wait(WAIT)
    run.request_stop()  # from this (the main) thread, while advance() runs
    requested.set()
    worker.join(WAIT)

    assert not worker.is_alive()
    assert run.stop_reason == "stopped"
    assert run.iteration == 101  # the update in flight finished; no further one started
    assert len(run.history) == 102
    assert run.message == "stopped by you at iteration 101"


def test_stop_while_running_flat_out_ends_the_run() -> None:
    run = Run(make(stop={"max_iters": 10**9}))
    grown = threading.Event()
    hook_update(run, 2000, grown.set)  # only tells us the run is well under way
    worker = threading.Thread(target=run.advance)
    worker.start()
    assert grown.wait(WAIT)
    run.request_stop()
    worker.join(WAIT)
    assert not worker.is_alive()
    assert run.stop_reason == "stopped"
    assert run.iteration >= 2001 and len(run.history) == run.iteration + 1


def test_stop_called_between_advances_finishes_the_run() -> None:
    run = Run(make(stop={"max_iters": 100}))
    run.advance(10)
    run.stop()
    assert run.stop_reason == "stopped" and run.iteration == 10 and len(run.history) == 11
    assert run.advance() == 0


def test_pause_returns_unfinished_and_resuming_equals_an_uninterrupted_run() -> None:
    s = make(optimizer={"name": "sgd", "lr": 0.05, "momentum": 0.9}, stop={"max_iters": 700})
    straight = Run(s)
    straight.advance()

    paused = Run(s)
    hook_update(paused, 300, paused.request_pause)
    done = paused.advance()
    assert done == 301 and paused.iteration == 301
    assert not paused.finished and paused.stop_reason is None
    assert len(paused.history) == 302  # everything so far is already in the history
    assert paused.advance() == 399
    assert_same_history(paused, straight)


def test_pause_from_another_thread() -> None:
    run = Run(make(stop={"max_iters": 10**9}))
    reached, requested = threading.Event(), threading.Event()

    def meet() -> None:
        reached.set()
        assert requested.wait(WAIT)

    hook_update(run, 50, meet)
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(run.advance()))
    worker.start()
    assert reached.wait(WAIT)
    run.request_pause()
    requested.set()
    worker.join(WAIT)
    assert result == [51] and not run.finished
    assert run.advance(9) == 9 and run.iteration == 60  # the pause request was used up


# -- stop inside one L-BFGS update ---------------------------------------------------------
def lbfgs_run(max_iter: int) -> Run:
    """200 unknowns, L-BFGS with no tolerance: one update at max_iter 1e8 runs for hours."""
    rng = np.random.default_rng(5)
    a = np.eye(200) + 0.3 * rng.standard_normal((200, 200)) / np.sqrt(200)
    s = make(
        {"A": a.tolist(), "b": rng.standard_normal(200).tolist()},
        optimizer={
            "name": "lbfgs",
            "lr": 1,
            "max_iter": max_iter,
            "tolerance_grad": 0,
            "tolerance_change": 0,
        },
        init={"kind": "randn", "seed": 1},
        stop={"max_iters": 10**6},
    )
    return Run(s, track=range(200))


def hook_evaluations(run: Run, at: int, action: Callable[[], None]) -> None:
    """Call ``action`` before the loss evaluation number ``at`` (counted from this call)."""
    count = [0]

    def counted(_run: Run) -> None:
        count[0] += 1
        if count[0] == at:
            action()

    run.observe(before_evaluation=counted)


def assert_x_is_the_last_entry(run: Run) -> None:
    its, rows = run.history.trajectory()
    assert its[-1] == run.iteration
    np.testing.assert_array_equal(run.x(), rows[-1])
    assert run.history.loss[-1] == pytest.approx(
        0.5 * np.sum(run.problem.residual_np(run.x()[None]) ** 2), rel=1e-12
    )


def test_stop_inside_a_huge_lbfgs_update_ends_the_run_within_one_evaluation() -> None:
    run = lbfgs_run(max_iter=10**8)
    start = run.x()
    inside = threading.Event()
    hook_evaluations(run, 50, inside.set)  # well inside the first update, which never ends
    worker = threading.Thread(target=run.advance)
    worker.start()
    assert inside.wait(WAIT)
    requested = time.perf_counter()
    run.request_stop()
    worker.join(5.0)  # a hang detector: the evaluation in flight takes microseconds
    assert not worker.is_alive(), "the L-BFGS update ignored the stop request"
    assert time.perf_counter() - requested < 5.0
    assert run.stop_reason == "stopped" and run.iteration == 0 and len(run.history) == 1
    np.testing.assert_array_equal(run.x(), start)  # the abandoned update's moves are undone
    assert_x_is_the_last_entry(run)
    assert run.message == "stopped by you at iteration 0"
    assert run.advance() == 0


def test_stop_inside_a_later_lbfgs_update_keeps_the_updates_before_it() -> None:
    run = lbfgs_run(max_iter=20)
    # Each update evaluates the loss 20 times (plus the engine's one): evaluation 50 falls
    # inside the third update.
    hook_evaluations(run, 50, run.request_stop)
    run.advance()
    assert run.stop_reason == "stopped"
    assert run.iteration == 2 and len(run.history) == 3
    assert_x_is_the_last_entry(run)


@pytest.mark.parametrize("steps", [[1], [7, 5], [1, 1, 1, 300, 2]])
def test_advance_k_applies_exactly_k_updates(steps: list[int]) -> None:
    s = make(stop={"max_iters": 10_000})
    run = Run(s)
    total = 0
    for k in steps:
        assert run.advance(k) == k
        total += k
        assert run.iteration == total and len(run.history) == total + 1
        assert not run.finished
    straight = Run(s.replace(max_iters=total))
    straight.advance()
    np.testing.assert_array_equal(run.history.loss, straight.history.loss)
    np.testing.assert_array_equal(run.x(), straight.x())


def test_advance_past_max_iters_stops_there() -> None:
    run = Run(make(stop={"max_iters": 5}))
    assert run.advance(3) == 3 and not run.finished
    assert run.advance(10) == 2
    assert run.stop_reason == "max_iters" and len(run.history) == 6


# -- the lazy path: losses kept on the device, copied in blocks ------------------------------
LAZY_CASES = {
    # several blocks, no early stop
    "max_iters": (
        make(optimizer={"name": "sgd", "lr": 0.05, "momentum": 0.9}, stop={"max_iters": 700}),
        "max_iters",
        700,
    ),
    # tol reached in the middle of a block: x must be that row's, not the block end's
    "tol": (make(stop={"max_iters": 5000, "tol": 1e-9}), "converged", None),
    # overflow in the middle of the first block (the early stop off)
    "diverged": (
        make(optimizer={"name": "gd", "lr": 10.0}, stop={"max_iters": 5000, "divergence": False}),
        "diverged",
        88,
    ),
    # divergence certain in the middle of the second block: the loss dips for ~300 updates
    # (lr · L = 2.003), then grows; x must be that row's
    "diverging": (
        make(optimizer={"name": "gd", "lr": 0.3436}, stop={"max_iters": 5000}),
        "diverged",
        301,
    ),
    "inverse-float32": (
        make(
            {"kind": "inverse", "M": [[2.0, 1.0], [0.5, 3.0]]},
            loss="mse",
            optimizer={"name": "adam", "lr": 0.01},
            stop={"max_iters": 600},
            init={"kind": "rand", "seed": 314},
            dtype="float32",
        ),
        "max_iters",
        600,
    ),
}


@pytest.fixture
def count_only_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of exactly BLOCK_ROWS: no flush because a slow machine took 1/60 s."""
    monkeypatch.setattr(engine, "BLOCK_SECONDS", 1e9)


@pytest.mark.parametrize("case", list(LAZY_CASES))
def test_lazy_runs_give_the_eager_history_and_x(case: str, count_only_blocks: None) -> None:
    s, reason, iteration = LAZY_CASES[case]
    eager, lazy = Run(s, lazy=False), Run(s, lazy=True)
    assert lazy.lazy and not eager.lazy
    eager.advance()
    lazy.advance()
    assert eager.stop_reason == reason
    if iteration is not None:
        assert eager.iteration == iteration
    if case == "tol":
        # Inside the third block: the lazy run went on to the block's end, then rewound.
        assert 2 * BLOCK_ROWS < eager.iteration < 3 * BLOCK_ROWS - 1
    assert_same_history(lazy, eager)


def test_lazy_stepping_matches_eager(count_only_blocks: None) -> None:
    s = make(stop={"max_iters": 1000, "tol": 1e-9})
    eager, lazy = Run(s, lazy=False), Run(s, lazy=True)
    for k in (3, 100, 250, 1000):
        eager.advance(k)
        lazy.advance(k)
        assert lazy.iteration == eager.iteration
        assert len(lazy.history) == len(eager.history)
    assert_same_history(lazy, eager)


# -- devices -------------------------------------------------------------------------------
def test_this_machine_lists_cpu_available_and_cuda_unavailable_with_a_reason() -> None:
    listed = {d.id: d for d in list_devices()}
    assert listed["cpu"].available and listed["cpu"].reason == ""
    assert "cpu" in listed["cpu"].label
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    cuda = listed["cuda"]
    assert not cuda.available and cuda.reason
    assert cuda.reason in cuda.label and "unavailable" in cuda.label
    assert not listed["mps"].available and listed["mps"].reason


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("spec", ["cuda", "cuda:0", "cuda:1"])
def test_resolving_an_absent_cuda_device_names_the_device_key(spec: str) -> None:
    with pytest.raises(InputError) as err:
        resolve_device(spec)
    assert err.value.field == "device"
    assert str(err.value).startswith(f"device: {spec} is unavailable: ")


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("tpu", "unknown device 'tpu'"),
        ("cpu:1", "only one CPU"),
        ("cuda:x", "unknown device"),
        (3, "expected a device name"),
    ],
)
def test_malformed_devices_are_rejected(spec: object, words: str) -> None:
    with pytest.raises(InputError, match=words) as err:
        resolve_device(spec)
    assert err.value.field == "device"


def test_cpu_resolves() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" cpu:0 ") == torch.device("cpu")


@pytest.fixture
def two_fake_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    props = [
        SimpleNamespace(name="Fake GPU A", total_memory=8 * 2**30),
        SimpleNamespace(name="Fake GPU B", total_memory=24 * 2**30),
    ]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: props[i])


def test_every_cuda_device_is_listed_with_name_and_memory(two_fake_gpus: None) -> None:
    listed = {d.id: d for d in list_devices()}
    assert "cuda" not in listed
    assert listed["cuda:0"].available and listed["cuda:1"].available
    assert listed["cuda:1"].label == "cuda:1: Fake GPU B, 24.0 GiB"
    assert listed["cuda:0"].memory_bytes == 8 * 2**30


def test_cuda_indices_resolve_up_to_the_device_count(two_fake_gpus: None) -> None:
    assert resolve_device("cuda") == torch.device("cuda", 0)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(InputError, match=r"cuda:2 is unavailable: only 2 CUDA device\(s\)"):
        resolve_device("cuda:2")


@pytest.mark.parametrize(
    ("cuda_version", "reason"),
    [(None, "torch built without CUDA"), ("12.4", "no CUDA device found")],
)
def test_the_reason_cuda_is_missing(
    monkeypatch: pytest.MonkeyPatch, cuda_version: str | None, reason: str
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", cuda_version)
    cuda = next(d for d in devices.list_devices() if d.id == "cuda")
    assert reason in cuda.reason
    with pytest.raises(InputError, match=reason):
        resolve_device("cuda:0")
