"""The GIL-free fast path for plain gd: the same run as the Python loop, stops and requests
honoured, the loop kept where the fast path does not apply or cannot be scripted, and a chunk
that really lets other Python threads run.

Threads meet at events and at data the chunk itself writes, so nothing here depends on timing.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch

from solver import LinearSystem, Run, Session
from solver.matrices import kernels
from solver.problems.seeds import A_MAT, B_VEC
from solver.run import engine, fastpath, scripted
from solver.run.block import BLOCK_ROWS
from solver.run.history import History
from solver.sessions import presets
from solver.sessions import session as sessions

WAIT = 30.0  # generous: only reached if the engine ignores a request
LOSSES = ["half_sum_squares", "sum_squares", "mse", "l2_norm"]
RTOL = {"float64": 1e-12, "float32": 1e-5}


def make(problem: dict | None = None, **top: object) -> sessions.Session:
    problem = problem or {"A": A_MAT, "b": B_VEC}
    top.setdefault("optimizer", {"name": "gd", "lr": 0.1})
    return sessions.from_dict({"problem": problem, **top})


def both(s: sessions.Session) -> tuple[Run, Run]:
    """The same session on the fast path and on the Python loop."""
    fast, slow = Run(s), Run(s, fast_path=False)
    assert fast.releases_gil, scripted.unavailable_reason
    assert not slow.releases_gil
    return fast, slow


def assert_same_run(fast: Run, slow: Run, rtol: float = 1e-12) -> None:
    assert (fast.stop_reason, fast.iteration, fast.message) == (
        slow.stop_reason,
        slow.iteration,
        slow.message,
    )
    assert len(fast.history) == len(slow.history) == fast.iteration + 1
    assert fast.grad_evals == slow.grad_evals
    for name in ("loss", "residual_norm", "error"):
        np.testing.assert_allclose(getattr(fast.history, name), getattr(slow.history, name), rtol)
    for a, b in zip(fast.history.trajectory(), slow.history.trajectory(), strict=True):
        np.testing.assert_allclose(a, b, rtol)
    np.testing.assert_allclose(fast.x(), slow.x(), rtol)


class Chunks:
    """Stands in for the scripted chunk: counts the calls, records each one's size, and can
    act (on the run's thread) after a given call returns."""

    def __init__(self, real: scripted.ChunkFn) -> None:
        self.real = real
        self.steps: list[int] = []
        self.after: dict[int, Callable[[], None]] = {}

    def __call__(self, *args: object) -> tuple[list[float], torch.Tensor]:
        out = self.real(*args)
        self.steps.append(args[8])
        if len(self.steps) in self.after:
            self.after[len(self.steps)]()
        return out


@pytest.fixture
def chunks(monkeypatch: pytest.MonkeyPatch) -> Chunks:
    real = scripted.chunk_function()
    assert real is not None, scripted.unavailable_reason
    spy = Chunks(real)
    monkeypatch.setattr(scripted.chunk_function, "scripted", spy)
    return spy


@pytest.fixture
def unscripted(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as if it had not tried to script the fast path yet."""
    monkeypatch.setattr(scripted.chunk_function, "tried", False)
    monkeypatch.setattr(scripted.chunk_function, "scripted", None)
    monkeypatch.setattr(scripted, "unavailable_reason", None)


# -- the same run both ways ----------------------------------------------------------------
CASES = {
    # lr * L > 2: the loss blows up and the run stops on the first non-finite one
    "diverges": ({"lr": 10.0}, {"max_iters": 5000}, "diverged"),
    # reaches tol in the middle of a block
    "converges": ({"lr": 0.1}, {"max_iters": 5000, "tol": 1e-9}, "converged"),
    # several blocks, no early stop
    "max_iters": ({"lr": 0.05}, {"max_iters": 700}, "max_iters"),
}


@pytest.fixture(params=["view", "copy"])
def backward(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Aᵀ r through A's transposed view (torch.mv's own backward) or a row-major copy of Aᵀ
    (``kernels.dense_operator``, chosen by measurement at some sizes): both chunks."""
    monkeypatch.setattr(kernels, "TRANSPOSED_COPY", request.param == "copy")
    return request.param


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("case", list(CASES))
def test_the_fast_path_gives_the_loops_run(case: str, loss: str, dtype: str, backward) -> None:
    opt, stop, reason = CASES[case]
    if loss == "l2_norm" and reason != "max_iters":
        # ‖r‖ has a gradient of norm ‖A‖ wherever r != 0: gd neither settles below tol nor
        # blows up, it circles the solution at a distance of about lr.
        reason = "max_iters"
    fast, slow = both(make(loss=loss, dtype=dtype, optimizer={"name": "gd", **opt}, stop=stop))
    assert isinstance(fast.chunks, fastpath.CopiedGdChunks) == (backward == "copy")
    fast.advance()
    slow.advance()
    assert fast.stop_reason == reason
    assert_same_run(fast, slow, 0 if backward == "copy" else RTOL[dtype])


def test_divergence_keeps_the_row_where_the_loss_stopped_being_finite() -> None:
    stop = {"max_iters": 5000, "divergence": False}
    fast, slow = both(make(optimizer={"name": "gd", "lr": 10.0}, stop=stop))
    fast.advance()
    slow.advance()
    assert fast.stop_reason == "diverged" and fast.iteration == 88
    assert not np.isfinite(fast.history.loss[-1]) and np.isfinite(fast.history.loss[:-1]).all()
    assert_same_run(fast, slow)


def test_a_certain_divergence_stops_on_the_loops_row_inside_a_chunk() -> None:
    # lr · L = 2.003: certain at update 301, inside a chunk that runs on past it; the run
    # goes back to that row, x included
    fast, slow = both(make(optimizer={"name": "gd", "lr": 0.3436}, stop={"max_iters": 5000}))
    # a reach-in on purpose: nothing public shows the engine going back inside a chunk
    rewound, real = [], fast._rewind_chunk
    fast._rewind_chunk = lambda *a: rewound.append(a[3]) or real(*a)
    fast.advance()
    slow.advance()
    assert rewound and rewound[0] > 0  # the chunk had gone on past the row
    assert fast.stop_reason == "diverged" and fast.iteration == 301
    assert fast.message.startswith("diverging: lr · L = 0.3436 × 5.828 = 2.003 > 2")
    assert_same_run(fast, slow, rtol=0)


def test_a_polynomial_fit_takes_the_fast_path_too() -> None:
    seed = presets.build("seed-polyfit")  # mse, float32, a seeded randn start; 1/L = 0.00092
    fast, slow = both(seed.replace(optimizer="gd", lr=0.0009, max_iters=600, tol=0.0))
    fast.advance()
    slow.advance()
    assert fast.stop_reason == "max_iters"
    assert_same_run(fast, slow, RTOL[seed.dtype])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_larger_system_gives_the_loops_run(dtype: str) -> None:
    """300 unknowns: torch's mat-vec below the size where kernels would consider numpy."""
    rng = np.random.default_rng(2)
    n = 300
    a = np.eye(n) + 0.25 * rng.standard_normal((n, n)) / np.sqrt(n)
    s = Session(problem=LinearSystem(a, rng.standard_normal(n)), max_iters=600, dtype=dtype)
    fast, slow = both(s)
    fast.advance()
    slow.advance()
    assert fast.stop_reason == "max_iters"
    assert_same_run(fast, slow, RTOL[dtype])


@pytest.mark.parametrize("steps", [[1], [7, 5], [1, 1, 1, 300, 2], [256, 256, 3]])
def test_advance_k_applies_exactly_k_updates(steps: list[int], backward: str) -> None:
    fast, slow = both(make(stop={"max_iters": 10_000}))
    for k in steps:
        assert fast.advance(k) == slow.advance(k) == k
        assert fast.iteration == slow.iteration and len(fast.history) == fast.iteration + 1
        assert not fast.finished
    assert_same_run(fast, slow)


def test_max_iters_is_met_exactly_across_advances() -> None:
    fast, slow = both(make(stop={"max_iters": 300}))
    assert fast.advance(250) == slow.advance(250) == 250
    assert fast.advance(100) == slow.advance(100) == 50
    assert fast.stop_reason == "max_iters" and fast.message == "reached max iterations (300)"
    assert fast.advance() == 0
    assert_same_run(fast, slow)


def test_history_blocks_are_the_loops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "BLOCK_SECONDS", 1e9)  # blocks by count only, as a fast machine
    blocks: list[int] = []
    real = History.append

    def counted(self: History, losses: np.ndarray, *rest: object) -> None:
        blocks.append(len(losses))
        real(self, losses, *rest)

    monkeypatch.setattr(History, "append", counted)
    s = make(stop={"max_iters": 1000})
    for run in both(s):
        blocks.clear()
        run.advance(600)
        run.advance()
        assert blocks == [256, 256, 88, 256, 144]  # 600 = 2 blocks + 88; then 400 more
        assert run.elapsed > 0


def test_a_chunk_never_runs_past_the_rows_left_in_its_block(monkeypatch, chunks) -> None:
    monkeypatch.setattr(engine, "BLOCK_SECONDS", 1e9)  # blocks end by count (and advance) only
    run = Run(make(stop={"max_iters": 3000}))
    per_advance = []
    for k in (100, None):
        chunks.steps.clear()
        run.advance(k)
        per_advance.append(list(chunks.steps))
    assert sum(per_advance[0]) == 100 and sum(per_advance[1]) == 2900 == run.iteration - 100
    for steps in per_advance:  # each advance starts on an empty block and flushes at its end
        filled = 0
        for k in steps:
            filled += k
            assert filled <= BLOCK_ROWS
            filled %= BLOCK_ROWS


# -- requests from another thread ----------------------------------------------------------
def run_in_thread(run: Run) -> tuple[threading.Thread, list[int]]:
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(run.advance()))
    worker.start()
    return worker, result


def meeting(chunks: Chunks, at: int) -> tuple[threading.Event, threading.Event]:
    """Events for a request made while the run is between chunk ``at`` and the next."""
    reached, requested = threading.Event(), threading.Event()

    def meet() -> None:
        reached.set()
        assert requested.wait(WAIT)

    chunks.after[at] = meet
    return reached, requested


def test_stop_from_another_thread_ends_the_run_after_the_chunk_in_flight(chunks) -> None:
    run = Run(make(stop={"max_iters": 10**9}))
    reached, requested = meeting(chunks, 5)
    worker, _ = run_in_thread(run)
    assert reached.wait(WAIT)
    done = sum(chunks.steps)
    run.request_stop()
    requested.set()
    worker.join(WAIT)
    assert not worker.is_alive()
    assert run.stop_reason == "stopped" and len(chunks.steps) == 5
    assert run.iteration == done and len(run.history) == done + 1
    assert run.message == f"stopped by you at iteration {done}"
    np.testing.assert_array_equal(run.x(), run.history.trajectory()[1][-1])


def test_pause_from_another_thread_then_resume_equals_an_uninterrupted_run(chunks) -> None:
    s = make(optimizer={"name": "gd", "lr": 0.05}, stop={"max_iters": 2000})
    run = Run(s)
    reached, requested = meeting(chunks, 3)
    worker, result = run_in_thread(run)
    assert reached.wait(WAIT)
    run.request_pause()
    requested.set()
    worker.join(WAIT)
    assert not worker.is_alive()
    assert result == [sum(chunks.steps[:3])] == [run.iteration] and not run.finished
    assert len(run.history) == run.iteration + 1  # everything so far is in the history
    assert run.advance() == 2000 - result[0]  # the pause request was used up
    straight = Run(s, fast_path=False)
    straight.advance()
    assert_same_run(run, straight)


def test_stop_while_running_flat_out_ends_the_run(chunks) -> None:
    run = Run(make(stop={"max_iters": 10**9}))
    reached, requested = meeting(chunks, 20)
    worker, _ = run_in_thread(run)
    assert reached.wait(WAIT)
    requested.set()  # the run goes on: the stop arrives at some chunk after the 20th
    run.request_stop()
    worker.join(WAIT)
    assert not worker.is_alive() and run.stop_reason == "stopped"
    assert run.iteration == sum(chunks.steps) and len(run.history) == run.iteration + 1


def test_max_seconds_returns_unfinished() -> None:
    run = Run(make(stop={"max_iters": 10**9}))
    assert run.releases_gil
    done = run.advance(max_seconds=0.0)
    assert done >= 1 and run.iteration == done and not run.finished
    assert len(run.history) == done + 1


# -- where the fast path does not apply ----------------------------------------------------
SLOW_SESSIONS = {
    "momentum": make(optimizer={"name": "sgd", "lr": 0.05, "momentum": 0.9}),
    "adam": make(optimizer={"name": "adam", "lr": 0.05}),
    "l1_norm": make(loss="l1_norm"),
    "energy": make({"A": [[4.0, 1.0], [1.0, 3.0]], "b": [1.0, 2.0]}, loss="energy"),
    "inverse": make({"kind": "inverse", "M": [[2.0, 1.0], [0.5, 3.0]]}, loss="mse"),
}


@pytest.mark.parametrize("name", list(SLOW_SESSIONS))
def test_other_runs_keep_the_python_loop(name: str, chunks: Chunks) -> None:
    run = Run(SLOW_SESSIONS[name].replace(max_iters=50))
    assert not run.releases_gil
    run.advance()
    assert run.iteration == 50 and chunks.steps == []


def test_a_lazy_run_keeps_its_own_loop(chunks: Chunks) -> None:
    lazy = Run(make(stop={"max_iters": 300}), lazy=True)
    assert not lazy.releases_gil
    lazy.advance()
    assert chunks.steps == []
    eager = Run(make(stop={"max_iters": 300}))
    eager.advance()
    assert_same_run(lazy, eager)


def test_a_matrix_on_numpys_blas_keeps_the_loop(monkeypatch, chunks) -> None:
    """The chunk multiplies with torch; where kernels chose numpy the loop stays, so the
    numbers stay numpy's."""
    rng = np.random.default_rng(3)
    n = 500  # kernels.MEASURE_MIN_ENTRIES: the first size where numpy may be chosen
    a = np.eye(n) + 0.2 * rng.standard_normal((n, n)) / np.sqrt(n)
    s = Session(problem=LinearSystem(a, rng.standard_normal(n)), max_iters=20)
    monkeypatch.setattr(kernels, "TRANSPOSED_COPY", False)  # the chunk ``chunks`` watches
    monkeypatch.setitem(kernels.NUMPY_FASTER, torch.float64, True)
    on_numpy = Run(s)
    assert not on_numpy.releases_gil  # 250,000 multiply-adds: Python is still a third
    on_numpy.advance()
    assert chunks.steps == []
    monkeypatch.setitem(kernels.NUMPY_FASTER, torch.float64, False)
    on_torch = Run(s)
    assert on_torch.releases_gil
    on_torch.advance()
    assert sum(chunks.steps) == 20


def test_large_matrix_work_releases_the_gil_on_the_loop_too() -> None:
    rng = np.random.default_rng(4)
    a = rng.standard_normal((10, 100_000))  # 1e6 multiply-adds per mat-vec
    s = Session(problem=LinearSystem(a, rng.standard_normal(10)), max_iters=3)
    assert Run(s, fast_path=False).releases_gil
    assert Run(s.replace(optimizer="adam")).releases_gil


def test_an_observed_run_is_seen_at_every_update_and_evaluation(chunks: Chunks) -> None:
    run = Run(make(stop={"max_iters": 40}))
    updates, evaluations = [], []
    run.observe(
        before_update=lambda r: updates.append(r.iteration),
        before_evaluation=lambda r: evaluations.append(r.iteration),
    )
    assert run.chunks is None  # the chunks apply many updates in one call
    run.advance()
    assert updates == list(range(40)) and evaluations == list(range(40))
    assert chunks.steps == []
    unobserved = Run(make(stop={"max_iters": 40}))
    unobserved.advance()
    np.testing.assert_array_equal(run.history.loss, unobserved.history.loss)


# -- when scripting is not possible (a frozen app without sources) ---------------------------
def test_without_sources_the_run_is_the_loops(unscripted, monkeypatch) -> None:
    def no_source(fn: object) -> object:
        raise OSError(f"Can't get source for {fn}. TorchScript requires source access")

    monkeypatch.setattr(torch.jit, "script", no_source)
    s = make(stop={"max_iters": 700})
    run = Run(s)
    assert not run.releases_gil
    run.advance()
    assert scripted.chunk_function() is None
    assert scripted.unavailable_reason.startswith("OSError: Can't get source")
    slow = Run(s, fast_path=False)
    slow.advance()
    assert_same_run(run, slow)


def test_scripting_happens_once_for_all_threads_and_keeps_warnings_local(
    unscripted, monkeypatch
) -> None:
    real, calls = torch.jit.script, []

    def counted(fn: object) -> object:
        calls.append(fn)
        return real(fn)

    monkeypatch.setattr(torch.jit, "script", counted)
    got: list[object] = []
    go = threading.Barrier(4)

    def first_use() -> None:
        go.wait(WAIT)
        got.append(scripted.chunk_function())

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")  # a deprecation notice that got out would be seen
        filters = list(warnings.filters)
        threads = [threading.Thread(target=first_use) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT)
        assert list(warnings.filters) == filters  # no filter left behind
    assert len(calls) == 1 and len(got) == 4 and got[0] is not None
    assert all(g is got[0] for g in got) and scripted.unavailable_reason is None
    assert not [w for w in seen if "torch.jit.script" in str(w.message)]


# -- a chunk runs without the GIL ----------------------------------------------------------
def test_a_python_thread_runs_while_one_chunk_does() -> None:
    """The chunk below would run for about a minute; it ends early only when its b turns NaN,
    which the thread does once it has seen the chunk's first row and then counted to 10,000
    in pure Python. Had the chunk held the GIL, the thread could not have counted during it:
    the chunk would have run all its steps, with finite losses."""
    chunk = scripted.chunk_function()
    assert chunk is not None, scripted.unavailable_reason
    a = torch.tensor(A_MAT, dtype=torch.float64)
    b = torch.tensor(B_VEC, dtype=torch.float64)
    x = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    steps = 1_000_000
    rows = torch.full((steps, 3), math.nan, dtype=torch.float64)
    rows_np, b_np = rows.numpy(), b.numpy()  # the same memory as the chunk's tensors
    counted = threading.Event()

    def count() -> None:
        while math.isnan(rows_np[0, 0]):  # until the chunk has written its first row
            pass
        n = 0
        while n < 10_000:
            n += 1
        counted.set()
        b_np[0] = math.nan  # the chunk's next loss is NaN: it stops there

    loss = 0.5 * torch.dot(torch.mv(a, x) - b, torch.mv(a, x) - b)
    thread = threading.Thread(target=count)
    thread.start()
    losses, _ = chunk(a, b, x, x.detach(), loss, 1e-6, 0, 0.0, steps, rows)
    assert len(losses) < steps and math.isnan(losses[-1])  # ended by the thread's NaN...
    assert counted.is_set()  # ...which came after its counting
    thread.join(WAIT)
    assert all(math.isfinite(v) for v in losses[:-1])
