"""The seed articles' worked examples, iterate for iterate.

The engine promises that `gd` is the seeds' hand loop and `sgd` with momentum is the inverse
article's "grad *= momentum" loop, so these compare every history entry, not just the end.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from solver import Run
from solver.problems.seeds import A_MAT, B_VEC
from solver.sessions import session as sessions
from solver.sessions.builders import seed_inverse_diagonal, seed_inverse_random

# What the tensors article prints for manual_seed(314); rand(size=[2, 3]).
SEED_314_RAND_2x3 = [[0.7196, 0.6295, 0.6667], [0.3385, 0.8522, 0.3126]]


def make(problem: dict, **top: object) -> sessions.Session:
    return sessions.from_dict({"problem": problem, **top})


def numpy_gd(a: np.ndarray, b: np.ndarray, lr: float, updates: int) -> tuple[np.ndarray, ...]:
    """The numpy baseline of the linear-systems article: losses and iterates x_0..x_updates."""
    x = np.zeros(a.shape[1])
    losses, xs = [], []
    for k in range(updates + 1):
        ax = a.dot(x)
        losses.append(0.5 * np.linalg.norm(ax - b) ** 2)
        xs.append(x.copy())
        if k < updates:
            x -= lr * a.T.dot(ax - b)
    return np.array(losses), np.array(xs)


def gd_session(a: np.ndarray, b: np.ndarray, lr: float, updates: int) -> sessions.Session:
    return make(
        {"A": a.tolist(), "b": b.tolist()},
        loss="half_sum_squares",
        optimizer={"name": "gd", "lr": lr},
        stop={"max_iters": updates, "tol": 0.0},
        dtype="float64",
    )


def test_gd_equals_the_numpy_loop_on_the_articles_system() -> None:
    a, b = np.array(A_MAT, float), np.array(B_VEC, float)
    losses, xs = numpy_gd(a, b, lr=0.1, updates=1000)
    run = Run(gd_session(a, b, 0.1, 1000))
    run.advance()

    assert run.stop_reason == "max_iters"
    assert len(run.history) == 1001
    np.testing.assert_allclose(run.history.loss, losses, rtol=1e-12, atol=1e-12)
    its, rows = run.history.trajectory()
    np.testing.assert_array_equal(its, np.arange(1001))
    np.testing.assert_allclose(rows, xs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(run.x(), xs[-1], rtol=0, atol=1e-12)
    # The article's system has the solution (-3, 2, 3); 1000 steps of 0.1 reach it.
    np.testing.assert_allclose(run.x(), [-3, 2, 3], atol=1e-6)


@pytest.mark.parametrize("shape", [(9, 4), (4, 9)], ids=["tall", "wide"])
def test_gd_equals_the_numpy_loop_on_a_random_rectangular_system(shape: tuple) -> None:
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal(shape), rng.standard_normal(shape[0])
    lr = 0.9 / np.linalg.norm(a, 2) ** 2
    losses, xs = numpy_gd(a, b, lr=lr, updates=300)
    run = Run(gd_session(a, b, lr, 300))
    run.advance()

    np.testing.assert_allclose(run.history.loss, losses, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(run.history.trajectory()[1], xs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(run.x(), xs[-1], rtol=0, atol=1e-12)


def seed_inverse_loop(
    m: torch.Tensor, lr: float, momentum: float, updates: int
) -> tuple[np.ndarray, np.ndarray]:
    """The inverse article's loop: a random guess after manual_seed(314), mse of X @ M
    against I, and momentum by scaling the gradient instead of zeroing it."""
    torch.manual_seed(314)
    approximate_inverse = torch.rand(m.shape, dtype=m.dtype, requires_grad=True)
    y_true = torch.eye(len(m), dtype=m.dtype)
    losses = []
    for _ in range(updates):
        loss = ((approximate_inverse @ m - y_true) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            approximate_inverse -= lr * approximate_inverse.grad
        approximate_inverse.grad *= momentum
    return approximate_inverse.detach().numpy(), np.array(losses)


@pytest.mark.parametrize("preset", [seed_inverse_random, seed_inverse_diagonal])
def test_sgd_momentum_equals_the_inverse_articles_loop_in_float64(
    preset: Callable[[], sessions.Session],
) -> None:
    updates = 1500
    s = preset().replace(dtype="float64", max_iters=updates)
    m = torch.tensor(s.problem.M, dtype=torch.float64)
    x_hand, losses = seed_inverse_loop(m, lr=0.9, momentum=0.9, updates=updates)
    run = Run(s)
    run.advance()

    assert len(run.history) == updates + 1
    # The hand loop records the loss before each of its updates: entries 0..updates-1.
    np.testing.assert_allclose(run.history.loss[:updates], losses, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(run.x(), x_hand, rtol=0, atol=1e-12)
    # And both have found the inverse.
    np.testing.assert_allclose(run.x() @ s.problem.M, np.eye(4), atol=1e-9)


def test_sgd_momentum_follows_the_inverse_articles_loop_in_float32() -> None:
    updates = 1500
    s = seed_inverse_random().replace(max_iters=updates)
    assert s.dtype == "float32"
    m = torch.tensor(s.problem.M, dtype=torch.float32)
    x_hand, losses = seed_inverse_loop(m, lr=0.9, momentum=0.9, updates=updates)
    run = Run(s)
    run.advance()

    # Same arithmetic up to float32 rounding in a different order.
    np.testing.assert_allclose(run.history.loss[:100], losses[:100], rtol=1e-4)
    np.testing.assert_allclose(run.history.loss[:updates], losses, rtol=1e-3, atol=1e-7)
    np.testing.assert_allclose(run.x(), x_hand, atol=1e-5)
    np.testing.assert_allclose(run.x() @ s.problem.M, np.eye(4), atol=1e-4)


def test_the_inverse_presets_are_the_articles_settings() -> None:
    torch.manual_seed(314)
    m1 = torch.rand(size=(4, 4)).double().numpy()
    random, diagonal = seed_inverse_random(), seed_inverse_diagonal()
    np.testing.assert_array_equal(random.problem.M, m1)
    np.testing.assert_array_equal(diagonal.problem.M, np.diag([1.0, 2.0, 3.0, 4.0]))
    for s in (random, diagonal):
        assert (s.loss, s.optimizer, s.lr, s.optimizer_args) == (
            "mse",
            "sgd",
            0.9,
            {"momentum": 0.9},
        )
        assert (s.problem.side, s.init, s.seed, s.max_iters) == ("left", "rand", 314, 10000)


def test_manual_seed_314_rand_matches_the_tensors_article() -> None:
    torch.manual_seed(314)
    printed = torch.rand(size=[2, 3])
    np.testing.assert_allclose(printed.numpy(), SEED_314_RAND_2x3, atol=5e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_init_rand_seed_314_is_manual_seed_then_rand(dtype: str) -> None:
    tdtype = getattr(torch, dtype)
    torch.manual_seed(314)
    expected = torch.rand((2, 3), dtype=tdtype).reshape(-1).double().numpy()
    rng_before = torch.get_rng_state()

    s = make(
        {"A": np.eye(6).tolist(), "b": [1] * 6},
        init={"kind": "rand", "seed": 314},
        stop={"max_iters": 0},
        dtype=dtype,
    )
    run = Run(s)

    np.testing.assert_array_equal(run.x(), expected)
    np.testing.assert_array_equal(run.history.trajectory()[1][0], expected)
    if dtype == "float32":
        np.testing.assert_allclose(run.x().reshape(2, 3), SEED_314_RAND_2x3, atol=5e-5)
    # The start comes from its own generator: the caller's random stream is left alone.
    assert torch.equal(torch.get_rng_state(), rng_before)


def test_init_rand_seed_314_gives_the_inverse_articles_first_guess() -> None:
    torch.manual_seed(314)
    guess = torch.rand((4, 4))
    run = Run(seed_inverse_random().replace(max_iters=0))
    np.testing.assert_array_equal(run.x(), guess.double().numpy())
    # The article seeds M and the guess alike, so its first guess is M itself.
    np.testing.assert_array_equal(run.x(), run.problem.M)
