"""What the History records: one entry per point, the derived columns, bounded memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from solver import History, Run
from solver.problems.seeds import A_MAT, B_VEC
from solver.run.history import default_tracked
from solver.sessions import session as sessions

SPD = [[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]]


def make(problem: dict, **top: object) -> sessions.Session:
    return sessions.from_dict({"problem": problem, **top})


def seed_run(updates: int, **top: object) -> Run:
    s = make(
        {"A": A_MAT, "b": B_VEC},
        optimizer={"name": "gd", "lr": 0.1},
        stop={"max_iters": updates, **top.pop("stop", {})},
        **top,
    )
    return Run(s)


def test_entry_k_is_the_loss_at_x_k() -> None:
    a, b = np.array(A_MAT, float), np.array(B_VEC, float)
    run = seed_run(40)
    run.advance()
    its, xs = run.history.trajectory()
    np.testing.assert_array_equal(its, np.arange(41))
    np.testing.assert_array_equal(xs[0], [0, 0, 0])  # entry 0: the initial guess
    expected = 0.5 * np.sum((xs @ a.T - b) ** 2, axis=1)
    np.testing.assert_allclose(run.history.loss, expected, rtol=1e-13)
    np.testing.assert_array_equal(xs[-1], run.x())


@pytest.mark.parametrize("updates", [0, 1, 7, 300, 1000])
def test_max_iters_updates_give_max_iters_plus_one_entries(updates: int) -> None:
    run = seed_run(updates)
    run.advance()
    assert run.finished and run.stop_reason == "max_iters"
    assert run.iteration == updates
    assert len(run.history) == updates + 1
    assert run.message == f"reached max iterations ({updates})"
    assert run.advance() == 0  # a finished run applies nothing more


def test_tol_stops_at_the_first_entry_below_it() -> None:
    a, b = np.array(A_MAT, float), np.array(B_VEC, float)
    x, losses = np.zeros(3), []
    for _ in range(2000):
        r = a @ x - b
        losses.append(0.5 * r @ r)
        x -= 0.1 * a.T @ r
    tol = 1e-9
    first = int(np.argmax(np.array(losses) < tol))
    assert 100 < first < 1900

    run = seed_run(5000, stop={"tol": tol})
    run.advance()
    assert run.stop_reason == "converged"
    assert run.iteration == first
    assert len(run.history) == first + 1
    assert run.history.loss[-1] < tol <= run.history.loss[-2]
    assert run.message.startswith("converged: loss ")


def test_a_start_already_below_tol_converges_with_no_update() -> None:
    run = Run(
        make(
            {"A": A_MAT, "b": B_VEC}, init={"kind": "values", "x": [-3, 2, 3]}, stop={"tol": 1e-30}
        )
    )
    assert run.finished and run.stop_reason == "converged"
    assert run.iteration == 0 and len(run.history) == 1


CASES = {
    "half_sum_squares": ({"A": A_MAT, "b": B_VEC}, "half_sum_squares"),
    "mse": ({"A": A_MAT, "b": B_VEC}, "mse"),
    "l2_norm": ({"A": A_MAT, "b": B_VEC}, "l2_norm"),
    "l1_norm": ({"A": A_MAT, "b": B_VEC}, "l1_norm"),
    "energy": ({"A": SPD, "b": [1.0, 2.0, 3.0]}, "energy"),
    "inverse": ({"kind": "inverse", "M": [[2.0, 1.0], [0.5, 3.0]], "side": "both"}, "mse"),
    "tall": ({"A": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.5]], "b": [1.0, 0.0, 1.0]}, "sum_squares"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_residual_norm_and_error_columns_match_numpy(case: str) -> None:
    problem, loss = CASES[case]
    s = make(problem, loss=loss, optimizer={"name": "gd", "lr": 0.01}, stop={"max_iters": 500})
    run = Run(s)
    run.advance()
    its, xs = run.history.trajectory()
    assert len(its) == len(run.history) == 501
    p = s.problem
    if p.kind == "inverse":
        m, eye = p.M, np.eye(2)
        grids = xs.reshape(-1, 2, 2)
        residual = 0.5 * (grids @ m + m @ grids) - eye
        exact = np.linalg.inv(m).reshape(-1)
    else:
        residual = xs @ p.A.T - p.b
        exact = np.linalg.lstsq(p.A, p.b, rcond=None)[0]
    rnorm = np.linalg.norm(residual.reshape(len(xs), -1), axis=1)
    error = np.linalg.norm(xs - exact, axis=1)
    # Stored as float32: about 7 significant digits.
    np.testing.assert_allclose(run.history.residual_norm, rnorm, rtol=2e-6, atol=1e-30)
    np.testing.assert_allclose(run.history.error, error, rtol=2e-6, atol=1e-30)
    assert run.history.error[-1] < 0.5 * run.history.error[0]
    for name in ("loss", "residual_norm", "error"):
        assert run.history.series(name) is not None
    with pytest.raises(KeyError):
        run.history.series("x")


def test_history_csv_has_one_row_per_entry(tmp_path: Path) -> None:
    run = seed_run(25)
    run.advance()
    path = tmp_path / "h.csv"
    run.history.to_csv(path)
    lines = path.read_text().splitlines()
    assert lines[0] == "iteration,loss,residual_norm,error,x1,x2,x3"
    assert len(lines) == 27
    last = lines[-1].split(",")
    assert int(last[0]) == 25
    assert float(last[1]) == run.history.loss[-1]
    np.testing.assert_array_equal([float(v) for v in last[4:]], run.x())


# -- the x trajectory: tracked unknowns, thinned to a budget ------------------------------------
def test_default_tracked_keeps_all_few_unknowns_or_64_spread_ones() -> None:
    np.testing.assert_array_equal(default_tracked(5), np.arange(5))
    many = default_tracked(1000)
    assert len(many) == 64 and many[0] == 0 and many[-1] == 999
    assert np.all(np.diff(many) > 0)


def test_a_run_tracks_the_chosen_unknowns() -> None:
    s = make(
        {"A": np.eye(5).tolist(), "b": [1.0, 2, 3, 4, 5]},
        optimizer={"name": "gd", "lr": 0.5},
        stop={"max_iters": 3},
    )
    run = Run(s, track=[4, 1])
    run.advance()
    its, vals = run.history.trajectory()
    assert vals.shape == (4, 2)
    # x_k = (1 - 0.5^k) b for this system.
    expected = np.outer(1 - 0.5 ** np.arange(4), [5.0, 2.0])
    np.testing.assert_allclose(vals, expected, rtol=1e-15)
    with pytest.raises(ValueError, match="tracked indices"):
        History(["a", "b"], tracked=[2])


def test_thinning_keeps_memory_bounded_and_iteration_indices_right() -> None:
    rng = np.random.default_rng(0)
    h = History(["x1", "x2"], trajectory_budget=1)  # the floor: 64 rows
    n, sizes, counts = 0, [], []
    while n < 5000:
        c = int(rng.integers(1, 300))
        k = np.arange(n, n + c)
        # x1 = iteration, x2 = -2 * iteration: each row says which iteration it is.
        h.append(
            k * 1.0,
            np.ones(c, np.float32),
            np.ones(c, np.float32),
            np.stack([k * 1.0, -2.0 * k], axis=1),
        )
        n += c
        its, vals = h.trajectory()
        sizes.append(h.memory_bytes())
        counts.append(n)
        assert len(its) <= 256  # never above the first allocation
        stride = h.trajectory_stride
        # Every kept row is a multiple of the stride, in order, none missing, none stale.
        np.testing.assert_array_equal(its, np.arange(0, n, stride)[: len(its)])
        assert its[-1] > n - 1 - stride
        np.testing.assert_array_equal(vals[:, 0], its)
        np.testing.assert_array_equal(vals[:, 1], -2.0 * its)
    assert len(h) == n
    np.testing.assert_array_equal(h.loss, np.arange(n))  # losses are never thinned
    assert h.trajectory_stride >= 64
    assert len(h.trajectory()[0]) <= 64
    # Only the per-entry series (16 bytes each, capacity doubling) grew; the trajectory
    # stayed within its first 256 rows of (iteration, x1, x2).
    for size, entries in zip(sizes, counts, strict=True):
        assert size <= 16 * max(1024, 2 * entries) + 256 * 24


def test_a_million_entry_history_stays_under_64_mb() -> None:
    block = 256  # what the engine flushes at n = 3
    loss, norms, xs = np.ones(block), np.ones(block, np.float32), np.ones((block, 3))
    tracemalloc.start()
    try:
        h = History(["x1", "x2", "x3"])
        n = 0
        while n < 1_000_001:
            c = min(block, 1_000_001 - n)
            h.append(loss[:c], norms[:c], norms[:c], xs[:c])
            n += c
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(h) == 1_000_001
    # Peak, not just what is held at the end: growing arrays briefly hold old and new.
    assert peak < 64e6
    assert h.memory_bytes() < 64e6
    assert h.trajectory_stride == 1  # a million rows of 3 unknowns fit the default budget


# -- envelope: what the plots draw ----------------------------------------------------------
def test_envelope_keeps_the_min_and_max_of_every_bucket() -> None:
    rng = np.random.default_rng(1)
    h = History(["x"])
    y = rng.standard_normal(10_000)
    y[777], y[4321] = 1e6, -1e6  # one spike each way
    h.append(y, np.zeros(10_000, np.float32), np.zeros(10_000, np.float32), y[:, None])

    xs, ys = h.envelope("loss", max_points=100)
    assert len(xs) == len(ys) <= 100
    size = int(xs[2] - xs[0])
    starts = np.arange(0, 10_000, size)
    np.testing.assert_array_equal(xs[0::2], starts)
    for i, s in enumerate(starts):
        bucket = y[s : s + size]
        assert ys[2 * i] == bucket.min() and ys[2 * i + 1] == bucket.max()
    assert ys.max() == 1e6 and ys.min() == -1e6


def test_envelope_of_a_window_and_of_a_short_series() -> None:
    h = History(["x"])
    y = np.arange(1000.0)
    h.append(y, np.zeros(1000, np.float32), np.zeros(1000, np.float32), y[:, None])
    xs, ys = h.envelope("loss", start=10, stop=20)
    np.testing.assert_array_equal(xs, np.arange(10, 20))
    np.testing.assert_array_equal(ys, y[10:20])
    xs, ys = h.envelope("loss", start=500, max_points=10)
    assert xs[0] == 500 and ys[0] == 500 and ys[-1] == 999
    xs, ys = h.envelope("loss", start=2000)
    assert len(xs) == len(ys) == 0
