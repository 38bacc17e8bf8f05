"""The Huber loss, tested as the other losses are: its value against torch's and numpy's,
its closed-form gradient against autograd, its curvature's step-size limit, the runs it
gives (and what they are said to do), its rounding floor, the kinds it applies to, and the
one thing it is for: outliers pull with a bounded force."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from solver.core.errors import InputError
from solver.insight.analysis import analyze
from solver.insight.anatomy import step_anatomy
from solver.insight.directions import loss_grid, plane
from solver.insight.explain import explain, loss_levels
from solver.problems.floors import rounding_floor
from solver.problems.kinds import kind_of
from solver.problems.linear import Inverse, LinearSystem, Polyfit
from solver.problems.losses import LOSSES
from solver.problems.svd import Svd
from solver.run.engine import Run, StopReason
from solver.sessions import presets
from solver.sessions import session as sessions

RNG = np.random.default_rng(11)


def huber_by_hand(r: np.ndarray) -> float:
    return float(sum(0.5 * v * v if abs(v) <= 1 else abs(v) - 0.5 for v in r))


def test_its_value_is_torchs_huber_and_the_same_in_numpy() -> None:
    r = np.array([0.3, -2.0, 5.0, -0.9, 1.0])
    want = huber_by_hand(r)
    assert LOSSES["huber"].value(r[None])[0] == pytest.approx(want, rel=1e-15)
    t = torch.tensor(r, requires_grad=True)
    got = LOSSES["huber"].torch_form(t, t)
    assert float(got.detach()) == pytest.approx(want, rel=1e-15)
    got.backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.clip(r, -1, 1))


def test_the_closed_form_gradient_is_a_transposed_clipped_residual() -> None:
    a, x = RNG.standard_normal((6, 4)), RNG.standard_normal(4)
    r = np.array([0.3, -2.0, 5.0, -0.5, 1.5, 0.1])  # both of its pieces
    b = a @ x - r
    s = sessions.make(LinearSystem(a, b), loss="huber", lr=0.1)
    an = step_anatomy(s, 0, x, None)
    assert an.formula == "Aᵀclip(r, ±1)"
    np.testing.assert_allclose(an.closed_form, a.T @ np.clip(r, -1, 1), rtol=1e-13)
    np.testing.assert_allclose(an.autograd, an.closed_form, rtol=1e-12, atol=1e-14)
    assert an.loss == pytest.approx(huber_by_hand(r), rel=1e-13)


def test_its_step_size_limit_is_that_of_half_the_squares() -> None:
    """Its Hessian is AᵀA where |rᵢ| ≤ 1 and 0 beyond: σmax² bounds it everywhere."""
    s = presets.build("seed-3x3")
    huber, squares = analyze(s.problem, "huber", 0.1), analyze(s.problem, "half_sum_squares", 0.1)
    assert huber.lipschitz == pytest.approx(squares.lipschitz, rel=1e-12)
    assert huber.max_stable_lr == pytest.approx(2 / huber.lipschitz, rel=1e-12)


def test_gd_on_the_seed_system_converges_to_its_solution_and_is_said_to() -> None:
    s = presets.build("seed-3x3").replace(loss="huber", max_iters=20_000, tol=1e-20)
    run = Run(s)
    assert run.chunks is None  # no fast path of its own: the loop, with autograd
    run.advance()
    assert run.stop_reason is StopReason.CONVERGED
    np.testing.assert_allclose(run.x(), s.problem.exact, rtol=1e-8)
    rows = run.problem.residual_np(run.x()[None])
    assert run.history.loss[-1] == pytest.approx(LOSSES["huber"].value(rows)[0], rel=1e-6)
    f_star, floor = loss_levels(s, run.exact)
    assert f_star == pytest.approx(0.0, abs=1e-25) and floor is not None and floor > 0
    said = explain(s, run.analysis(), run.history.loss, run.history.error, f_star, floor)
    assert said is not None and said.text


def test_a_step_above_two_over_l_never_settles_but_its_bounded_pull_never_blows_up() -> None:
    """Above 2/L half the squares diverge; near the answer the Huber loss is those squares
    and is pushed away too, but beyond |r| = 1 its pull is bounded (|clip| ≤ 1): the steps
    stay finite and it goes round the answer for good."""
    s = presets.build("seed-3x3").replace(max_iters=5000, tol=0.0)
    lr = 1.5 * analyze(s.problem, "huber").max_stable_lr
    squares = Run(s.replace(loss="half_sum_squares", lr=lr))
    squares.advance()
    assert squares.stop_reason is StopReason.DIVERGED
    huber = Run(s.replace(loss="huber", lr=lr))
    huber.advance()
    assert huber.stop_reason is StopReason.MAX_ITERS
    tail = huber.history.loss[-500:]
    assert np.isfinite(tail).all() and tail.min() > 1e-3
    f_star, floor = loss_levels(huber.session, huber.exact)
    said = explain(
        huber.session, huber.analysis(), huber.history.loss, huber.history.error, f_star, floor
    )
    assert said.kind == "stalled" and f"is above 2/L = {lr / 1.5:.3g}" in said.text, said


def test_an_outlier_pulls_its_fit_less_than_it_pulls_least_squares() -> None:
    x = np.linspace(-1, 1, 21)
    y = 2 * x + 1
    y[5] += 40.0  # one reading far off the line
    p = Polyfit(x, y, 1)
    fits = {}
    for loss in ("huber", "half_sum_squares"):
        run = Run(sessions.make(p, loss=loss, lr=0.02, max_iters=40_000, tol=0.0))
        run.advance()
        fits[loss] = run.x()
    line = np.array([2.0, 1.0])  # the unknowns are the coefficients, highest power first
    off = {k: float(np.linalg.norm(v - line)) for k, v in fits.items()}
    assert off["huber"] < 0.25 * off["half_sum_squares"], (off, fits)


def test_it_applies_to_systems_inverses_and_fits_and_an_svd_refuses_it() -> None:
    for problem in (
        LinearSystem(np.eye(2), np.ones(2)),
        Inverse(np.eye(2) * 2, "left"),
        Polyfit(np.arange(4.0), np.arange(4.0), 1),
    ):
        assert "huber" in kind_of(problem).losses(problem)
    svd = Svd(RNG.standard_normal((3, 3)))
    assert "huber" not in kind_of(svd).losses(svd)
    with pytest.raises(InputError, match="an svd problem takes the loss svd_mse, not huber"):
        sessions.make(svd, loss="huber")


def test_a_session_keeps_it() -> None:
    s = presets.build("seed-3x3").replace(loss="huber")
    again = sessions.from_dict(json.loads(json.dumps(sessions.to_dict(s))))
    assert again.loss == "huber"


def test_its_rounding_floor_grows_as_the_squares_do() -> None:
    s = presets.build("seed-3x3")
    f32 = rounding_floor(s.problem, s.problem.exact, "float32")
    f64 = rounding_floor(s.problem, s.problem.exact, "float64")
    assert 0 < f64.loss("huber") < f32.loss("huber")
    assert f32.loss("huber") == pytest.approx(f32.loss("half_sum_squares"), rel=1e-12)


def test_its_landscape_is_its_value_point_by_point() -> None:
    s = presets.build("seed-3x3")
    pl = plane(s.problem, "huber", s.problem.exact)
    grid = loss_grid("huber", s.problem, s.problem.exact, pl, np.array([0.0, 2.0]), np.zeros(1))
    rows = np.array([pl.point(0.0, 0.0), pl.point(2.0, 0.0)])
    want = LOSSES["huber"].value(rows @ s.problem.A.T - s.problem.b)
    np.testing.assert_allclose(grid[0], want, rtol=1e-12)
