"""Step-size limits: the analysis's L against autograd's Hessian, the 2/L boundary as gd
actually experiences it, and divergence caught where it happens and explained: as soon as it
is certain (the default), or, with that stop off, at the first non-finite iteration."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from solver import Run, analyze
from solver.problems.losses import loss_function
from solver.problems.seeds import A_MAT, B_VEC
from solver.sessions import session as sessions

SPD = [[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]]
M3 = [[2.0, 1.0, 0.0], [0.0, 1.5, 0.3], [0.2, 0.0, 1.0]]

# (problem, loss): every smooth loss on a linear system, and the inverse problem's sides.
SMOOTH = {
    "half_sum_squares": ({"A": A_MAT, "b": B_VEC}, "half_sum_squares"),
    "sum_squares": ({"A": A_MAT, "b": B_VEC}, "sum_squares"),
    "mse": ({"A": A_MAT, "b": B_VEC}, "mse"),
    "mse-rectangular": ({"A": [[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]], "b": [1.0, 0.0, 2.0]}, "mse"),
    "energy": ({"A": SPD, "b": [1.0, 2.0, 3.0]}, "energy"),
    "inverse-left": ({"kind": "inverse", "M": M3, "side": "left"}, "mse"),
    "inverse-right": ({"kind": "inverse", "M": M3, "side": "right"}, "half_sum_squares"),
    "inverse-both": ({"kind": "inverse", "M": M3, "side": "both"}, "mse"),
    "polyfit": (
        {
            "kind": "polyfit",
            "x": [-1.0, 0.0, 0.5, 1.0, 2.0],
            "y": [1.0, 0.0, 0.2, 1.1, 4.2],
            "degree": 2,
        },
        "sum_squares",
    ),
}


def make(problem: dict, **top: object) -> sessions.Session:
    return sessions.from_dict({"problem": problem, **top})


def autograd_lipschitz(s: sessions.Session) -> float:
    """Largest eigenvalue of the loss's Hessian, straight from autograd."""
    bound = s.problem.bind(torch.device("cpu"), torch.float64)
    f = loss_function(s.loss, s.problem, bound.tensors)
    x0 = torch.zeros(s.problem.unknown_shape, dtype=torch.float64)
    hess = torch.autograd.functional.hessian(lambda x: f(bound.residual(x), x), x0)
    k = x0.numel()
    return float(torch.linalg.eigvalsh(hess.reshape(k, k)).max())


@pytest.mark.parametrize("case", list(SMOOTH))
def test_lipschitz_is_the_largest_hessian_eigenvalue(case: str) -> None:
    problem, loss = SMOOTH[case]
    s = make(problem, loss=loss)
    an = analyze(s.problem, s.loss)
    assert an.lipschitz == pytest.approx(autograd_lipschitz(s), rel=1e-10)
    assert an.max_stable_lr == pytest.approx(2 / an.lipschitz, rel=1e-15)
    assert an.recommended_lr == pytest.approx(1 / an.lipschitz, rel=1e-15)


def test_the_seed_systems_limits_are_the_textbook_numbers() -> None:
    # A_MAT's singular values are sqrt(2) +- 1, so L = (1 + sqrt 2)^2 = 3 + 2 sqrt 2.
    an = analyze(make({"A": A_MAT, "b": B_VEC}).problem, "half_sum_squares")
    assert an.lipschitz == pytest.approx(3 + 2 * np.sqrt(2), rel=1e-14)
    assert an.cond == pytest.approx(3 + 2 * np.sqrt(2), rel=1e-14)
    assert an.max_stable_lr == pytest.approx(0.3431457505076198, rel=1e-14)
    assert an.recommended_lr == pytest.approx(0.1715728752538099, rel=1e-14)


@pytest.mark.parametrize("loss", ["l2_norm", "l1_norm"])
def test_non_smooth_losses_have_no_step_size_limit(loss: str) -> None:
    an = analyze(make({"A": A_MAT, "b": B_VEC}).problem, loss)
    assert an.lipschitz is None and an.max_stable_lr is None and an.recommended_lr is None
    assert an.to_json()["max_stable_lr"] is None
    assert an.cond == pytest.approx(3 + 2 * np.sqrt(2))


@pytest.mark.parametrize("case", list(SMOOTH))
def test_max_stable_lr_is_where_gd_stops_converging(case: str) -> None:
    problem, loss = SMOOTH[case]
    probe = make(problem, loss=loss)
    limit = analyze(probe.problem, loss).max_stable_lr
    updates = 3000

    below = Run(probe.replace(lr=0.99 * limit, max_iters=updates))
    below.advance()
    loss_below = below.history.loss
    # Converges: the loss falls to its minimum (zero here, or the least-squares floor).
    floor = 0.5 * np.sum(probe.problem.residual_np(probe.problem.exact[None]) ** 2)
    floor *= {"half_sum_squares": 1, "sum_squares": 2, "energy": 0}.get(
        loss, 2 / probe.problem.n_residuals
    )
    assert loss_below[-1] - floor < 1e-12 * loss_below[0]
    # tol = 0 is no tolerance: even the energy loss, whose rounding can dip below zero,
    # runs all its updates.
    assert below.stop_reason == "max_iters"

    above = Run(probe.replace(lr=1.01 * limit, max_iters=updates, stop_on_divergence=False))
    above.advance()
    loss_above = above.history.loss
    # Grows: the top mode is multiplied by |1 - 1.01 * 2| = 1.02 per step.
    assert loss_above[-1] > 1e6 * loss_above[0]
    assert np.all(np.diff(loss_above[-100:]) > 0)
    # ...which is certain long before: the default stops there, saying lr · L > 2
    stopped = Run(probe.replace(lr=1.01 * limit, max_iters=updates))
    stopped.advance()
    assert stopped.stop_reason == "diverged" and stopped.iteration < 0.1 * updates
    assert stopped.message.startswith("diverging: lr · L = ") and "= 2.02 > 2" in stopped.message
    np.testing.assert_array_equal(stopped.history.loss, loss_above[: stopped.iteration + 1])


def numpy_divergence(a: np.ndarray, b: np.ndarray, lr: float) -> tuple[int, np.ndarray]:
    """First k where the loss at x_k or x_k is not finite, and the losses up to it."""
    x, losses = np.zeros(a.shape[1]), []
    with np.errstate(all="ignore"):
        for k in range(100_000):
            r = a @ x - b
            losses.append(0.5 * (r @ r))
            if not (np.isfinite(losses[-1]) and np.isfinite(x).all()):
                return k, np.array(losses)
            x = x - lr * (a.T @ r)
    raise AssertionError("the numpy loop did not diverge")


@pytest.mark.parametrize("lr", [10.0, 0.5])
def test_divergence_stops_at_the_first_non_finite_iteration(lr: float) -> None:
    a, b = np.array(A_MAT, float), np.array(B_VEC, float)
    k, losses = numpy_divergence(a, b, lr)
    run = Run(
        make(
            {"A": A_MAT, "b": B_VEC},
            optimizer={"name": "gd", "lr": lr},
            stop={"max_iters": 100_000, "divergence": False},
        )
    )
    with np.errstate(over="raise"):  # the history must not warn while storing huge norms
        run.advance()

    assert run.stop_reason == "diverged"
    assert run.iteration == k
    assert len(run.history) == k + 1  # everything up to and including the blow-up is kept
    np.testing.assert_allclose(run.history.loss[:k], losses[:k], rtol=1e-12)
    assert np.all(np.isfinite(run.history.loss[:k]))
    assert not np.isfinite(run.history.loss[k])
    lipschitz = 3 + 2 * np.sqrt(2)
    assert run.message.startswith(f"diverged at iteration {k}: loss became inf")
    assert run.message.endswith(f"; lr · L = {lr:.4g} × {lipschitz:.4g} = {lr * lipschitz:.3g} > 2")
    # the error and residual are told as they are up to the overflow, not cut at float32's
    # 3.4e38 (where they once became inf, ~400 iterations before the loss)
    assert np.isfinite(run.history.error[:k]).all() and run.history.error[k - 1] > 1e100
    assert np.isfinite(run.history.residual_norm[:k]).all()


def test_divergence_of_a_torch_optimizer_is_caught_with_its_own_explanation() -> None:
    run = Run(
        make(
            {"A": A_MAT, "b": B_VEC},
            optimizer={"name": "sgd", "lr": 10.0},
            stop={"max_iters": 100_000, "divergence": False},
        )
    )
    run.advance()
    assert run.stop_reason == "diverged"
    # torch's SGD without momentum is gd: it blows up exactly where gd does.
    assert (
        run.iteration == numpy_divergence(np.array(A_MAT, float), np.array(B_VEC, float), 10.0)[0]
    )
    assert run.message.endswith("lr · L = 10 × 5.828 = 58.3 > 2")
    adam = Run(
        make(
            {"A": A_MAT, "b": B_VEC},
            optimizer={"name": "adam", "lr": 1e30},
            stop={"max_iters": 100, "divergence": False},
            dtype="float32",  # steps of 1e30 overflow its loss at once
        )
    )
    adam.advance()
    # no stability region is known for adam: the message says only what happened
    assert adam.stop_reason == "diverged" and "lr · L" not in adam.message


def test_a_float32_run_diverges_far_earlier_than_float64() -> None:
    s = make(
        {"A": A_MAT, "b": B_VEC},
        optimizer={"name": "gd", "lr": 10.0},
        stop={"max_iters": 1000, "divergence": False},
        dtype="float32",
    )
    run = Run(s)
    run.advance()
    assert run.stop_reason == "diverged"
    # float32 overflows above 3.4e38, so the loss (x 3.4e3 per step from 7) blows up at 11.
    assert run.iteration == 11
    assert run.history.loss[10] > 1e35 and np.isinf(run.history.loss[11])
