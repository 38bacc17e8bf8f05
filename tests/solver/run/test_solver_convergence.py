"""Where each optimizer and loss ends up, and how fast: the answers a user compares against."""

from __future__ import annotations

import numpy as np
import pytest

from solver import InputError, Run, headless
from solver.problems.seeds import PUZZLE_A, PUZZLE_B
from solver.sessions import session as sessions
from solver.sessions.builders import matrix_file


def make(problem: dict, **top: object) -> sessions.Session:
    return sessions.from_dict({"problem": problem, **top})


def well_conditioned() -> tuple[np.ndarray, np.ndarray]:
    """5 x 5 with singular values 1 .. 2 (cond 2, L = 4 for half_sum_squares)."""
    rng = np.random.default_rng(3)
    u, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    v, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    return (u * np.linspace(1, 2, 5)) @ v.T, rng.standard_normal(5)


# (torch arguments, updates, largest allowed distance to the exact solution). RMSprop with a
# constant lr and a small eps circles the minimum chaotically at a distance of about lr: where
# it ends depends on the CPU's rounding (0.02 on one machine, 2e-5 on another). With eps = 1 the
# step tends to lr·g/eps once the gradients are small, a damped heavy-ball that converges.
OPTIMIZERS = {
    "gd": ({"lr": 0.25}, 300, 1e-10),
    "sgd": ({"lr": 0.1, "momentum": 0.9}, 1000, 1e-10),
    "adam": ({"lr": 0.05}, 1000, 1e-8),
    "adamw": ({"lr": 0.05, "weight_decay": 0.0}, 1000, 1e-8),
    "rmsprop": ({"lr": 0.1, "momentum": 0.5, "eps": 1.0}, 1000, 1e-10),
    "adagrad": ({"lr": 0.5}, 300, 1e-10),
    "nadam": ({"lr": 0.01}, 1000, 1e-8),
    "lbfgs": ({"lr": 1.0, "tolerance_grad": 1e-12, "tolerance_change": 1e-20}, 20, 1e-9),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_solves_a_well_conditioned_system(name: str) -> None:
    a, b = well_conditioned()
    args, updates, bound = OPTIMIZERS[name]
    run = Run(
        make(
            {"A": a.tolist(), "b": b.tolist()},
            optimizer={"name": name, **args},
            stop={"max_iters": updates},
        )
    )
    run.advance()

    exact = np.linalg.solve(a, b)
    assert run.stop_reason == "max_iters"
    assert run.iteration == updates
    assert np.linalg.norm(run.x() - exact) < bound
    assert run.error_norm() == pytest.approx(np.linalg.norm(run.x() - exact), abs=1e-15)
    assert run.final_loss < run.history.loss[0] * 1e-6


def test_lbfgs_counts_gradient_evaluations_apart_from_iterations() -> None:
    a, b = well_conditioned()
    run = Run(
        make(
            {"A": a.tolist(), "b": b.tolist()},
            optimizer={"name": "lbfgs", "lr": 1.0, "max_iter": 5},
            stop={"max_iters": 3},
        )
    )
    run.advance()
    assert run.iteration == 3
    assert len(run.history) == 4
    # Each L-BFGS step evaluates the closure up to max_iter (+1) times.
    assert 3 < run.grad_evals <= 3 * 6
    assert headless.result(run)["grad_evals"] == run.grad_evals


def test_gd_counts_one_gradient_per_iteration() -> None:
    a, b = well_conditioned()
    run = Run(make({"A": a.tolist(), "b": b.tolist()}, stop={"max_iters": 17}))
    run.advance()
    assert run.grad_evals == run.iteration == 17


def test_the_puzzle_reaches_the_minimum_norm_solution_from_zeros() -> None:
    # A+B=9, C-D=1, A+C=8, B-D=2: rank 3, so a line of solutions through (6, 3, 2, 1).
    a, b = np.array(PUZZLE_A, float), np.array(PUZZLE_B, float)
    run = Run(
        make(
            {"A": PUZZLE_A, "b": PUZZLE_B},
            optimizer={"name": "gd", "lr": 0.25},
            stop={"max_iters": 300},
        )
    )
    assert run.analysis().rank == 3
    assert run.analysis().cond is None  # singular: no condition number
    run.advance()

    np.testing.assert_allclose(run.x(), np.linalg.pinv(a) @ b, atol=1e-10)
    np.testing.assert_allclose(run.x(), [6, 3, 2, 1], atol=1e-10)
    assert run.error_norm() < 1e-10


def test_the_puzzle_from_a_random_start_keeps_its_null_space_part() -> None:
    # gd never moves x along the null space (1, -1, -1, -1): from a random start it reaches
    # the solution closest to that start, not the minimum-norm one.
    s = make(
        {"A": PUZZLE_A, "b": PUZZLE_B},
        optimizer={"name": "gd", "lr": 0.25},
        init={"kind": "rand", "seed": 314},
        stop={"max_iters": 300},
    )
    run = Run(s)
    x0 = run.x()
    run.advance()
    null = np.array([1.0, -1, -1, -1]) / 2
    expected = np.array([6.0, 3, 2, 1]) + null * (null @ x0)
    np.testing.assert_allclose(run.x(), expected, atol=1e-10)
    assert run.error_norm() == pytest.approx(abs(null @ x0), rel=1e-9)


def test_an_over_determined_system_reaches_least_squares() -> None:
    rng = np.random.default_rng(11)
    a, b = rng.standard_normal((12, 4)), rng.standard_normal(12)
    lr = 1 / np.linalg.norm(a, 2) ** 2
    run = Run(
        make(
            {"A": a.tolist(), "b": b.tolist()},
            optimizer={"name": "gd", "lr": lr},
            stop={"max_iters": 2000},
        )
    )
    run.advance()
    lsq = np.linalg.lstsq(a, b, rcond=None)[0]
    np.testing.assert_allclose(run.x(), lsq, atol=1e-10)
    # Least squares leaves a residual: the loss stops at its minimum, not at zero.
    assert run.final_loss == pytest.approx(0.5 * np.sum((a @ lsq - b) ** 2), rel=1e-10)
    assert run.final_loss > 1.0


def test_lp_afiro_reaches_the_minimum_norm_solution() -> None:
    s = matrix_file("lp_afiro")
    a, b = s.problem.A, s.problem.b
    assert a.shape == (27, 51)
    run = Run(s)
    run.advance()
    assert run.stop_reason == "converged"
    min_norm = np.linalg.pinv(a) @ b
    np.testing.assert_allclose(run.x(), min_norm, atol=1e-8)
    # b = A·1, yet ones is not the answer: gd from zeros finds the shortest x with Ax = b.
    assert np.linalg.norm(run.x() - 1) > 1.0
    assert run.analysis().cond == pytest.approx(11.197, rel=1e-3)


# -- energy loss -------------------------------------------------------------------------------
def spd(eigenvalues: np.ndarray, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((len(eigenvalues), len(eigenvalues))))
    a = (q * eigenvalues) @ q.T
    return 0.5 * (a + a.T)


@pytest.mark.parametrize(
    ("matrix", "words"),
    [
        ([[2.0, 1.0], [0.0, 2.0]], "symmetric"),
        ([[1.0, 0.0], [0.0, -2.0]], "positive definite A; its smallest eigenvalue is -2"),
        ([[1.0, 2.0], [2.0, 1.0]], "positive definite A; its smallest eigenvalue is -1"),
        ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], "square"),
    ],
    ids=["non-symmetric", "negative-diagonal", "indefinite", "rectangular"],
)
def test_energy_rejects_a_matrix_that_is_not_spd(matrix: list, words: str) -> None:
    with pytest.raises(InputError) as err:
        make({"A": matrix, "b": [1.0] * len(matrix)}, loss="energy")
    assert err.value.field == "loss"
    assert words in str(err.value)


def test_energy_rejects_problems_other_than_linear_systems() -> None:
    with pytest.raises(InputError, match="energy applies only to a linear_system"):
        make({"kind": "inverse", "M": [[2.0, 0.0], [0.0, 3.0]]}, loss="energy")


def observed_rate(run: Run, tail: int = 100) -> float:
    """Per-iteration contraction of the error over the last ``tail`` updates (float64)."""
    _, xs = run.history.trajectory()
    err = np.linalg.norm(xs - run.problem.exact, axis=1)
    return float((err[-1] / err[-1 - tail]) ** (1 / tail))


def test_energy_converges_with_kappa_where_squares_take_kappa_squared() -> None:
    # eigenvalues 1 .. 100: kappa = 100. At lr = 1/L the slowest error mode shrinks by
    # 1 - 1/kappa per step with the energy loss and by 1 - 1/kappa^2 with half_sum_squares.
    a = spd(np.linspace(1.0, 100.0, 10))
    b = np.random.default_rng(6).standard_normal(10)
    rates = {}
    for loss, kappa_power in (("energy", 1), ("half_sum_squares", 2)):
        probe = make({"A": a.tolist(), "b": b.tolist()}, loss=loss)
        lr = Run(probe).analysis().recommended_lr
        run = Run(probe.replace(lr=lr, max_iters=1000))
        run.advance()
        predicted = 1 - 1 / 100.0**kappa_power
        assert run.analysis().rate == pytest.approx(predicted, rel=1e-9)
        assert observed_rate(run) == pytest.approx(predicted, rel=1e-4)
        rates[loss] = observed_rate(run)
        if loss == "energy":
            # The loss is reported relative to its minimum, so it ends near zero, not below.
            assert run.history.loss.min() > -1e-12
            assert run.final_loss < 1e-6 * run.history.loss[0]
            assert run.error_norm() < 1e-3
    assert rates["energy"] < 0.991 and rates["half_sum_squares"] > 0.9998


def test_energy_reaches_the_solution_of_an_spd_system() -> None:
    a = spd(np.array([1.0, 2.0, 3.0, 5.0]))
    b = np.array([1.0, -2.0, 0.5, 3.0])
    run = Run(
        make(
            {"A": a.tolist(), "b": b.tolist()},
            loss="energy",
            optimizer={"name": "gd", "lr": 0.2},
            stop={"max_iters": 400},
        )
    )
    run.advance()
    np.testing.assert_allclose(run.x(), np.linalg.solve(a, b), atol=1e-12)


def test_tol_zero_never_stops_early_even_when_rounding_dips_below_zero():
    from solver.sessions import presets

    s = presets.build("random-spd", n=30, seed=3).replace(tol=0.0, max_iters=3000)
    run = Run(s)
    run.advance()
    assert run.history.loss.min() < 0  # rounding did take the shifted energy below zero
    assert run.stop_reason.value == "max_iters"
    assert run.iteration == 3000
