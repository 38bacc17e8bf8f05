"""What one step did: autograd's gradient against the loss's formula, written out here in
numpy independently of the solver, and the step each optimizer took against its own update
rule."""

from __future__ import annotations

import numpy as np
import pytest

from solver.insight.anatomy import closed_form_gradient, gradient_formula, step_anatomy
from solver.problems.linear import Inverse, LinearSystem, Polyfit
from solver.run.engine import Run
from solver.sessions import session as sessions

RNG = np.random.default_rng(7)
A = RNG.standard_normal((6, 4))
B = RNG.standard_normal(6)
X = RNG.standard_normal(4)


def by_hand(loss: str, a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    r = a @ x - b
    return {
        "half_sum_squares": a.T @ r,
        "sum_squares": 2 * a.T @ r,
        "l2_norm": a.T @ r / np.sqrt(r @ r),
        "l1_norm": a.T @ np.sign(r),
        "mse": 2 * a.T @ r / len(r),
    }[loss]


@pytest.mark.parametrize(
    ("loss", "formula"),
    [
        ("half_sum_squares", "Aᵀr"),
        ("sum_squares", "2Aᵀr"),
        ("l2_norm", "Aᵀr/‖r‖"),
        ("l1_norm", "Aᵀsign(r)"),
        ("mse", "2Aᵀr/m"),
    ],
)
def test_the_closed_form_and_autograd_agree_for_every_loss(loss: str, formula: str) -> None:
    s = sessions.make(LinearSystem(A, B), loss=loss, lr=0.1)
    an = step_anatomy(s, 0, X, None)
    assert an.formula == formula
    np.testing.assert_allclose(an.closed_form, by_hand(loss, A, B, X), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(an.autograd, by_hand(loss, A, B, X), rtol=1e-12, atol=1e-14)
    assert an.difference < 1e-13
    np.testing.assert_allclose(an.plain_step, -0.1 * an.autograd)
    assert an.step is None and an.step_ratio is None


def test_the_energy_gradient_is_ax_minus_b() -> None:
    spd = A.T @ A + np.eye(4)
    s = sessions.make(LinearSystem(spd, np.ones(4)), loss="energy", lr=0.1)
    an = step_anatomy(s, 0, X, None)
    assert an.formula == "Ax − b"
    np.testing.assert_allclose(an.autograd, spd @ X - 1, rtol=1e-12)
    # ½xᵀAx − bᵀx, shifted so its minimum is 0
    x_star = np.linalg.solve(spd, np.ones(4))
    assert an.loss == pytest.approx(0.5 * (X - x_star) @ spd @ (X - x_star), rel=1e-12)


@pytest.mark.parametrize("side", ["left", "right", "both"])
def test_inverse_gradients_match_the_adjoint_written_by_hand(side: str) -> None:
    m = RNG.standard_normal((3, 3)) + 3 * np.eye(3)
    x = RNG.standard_normal((3, 3))
    r = {"left": x @ m, "right": m @ x, "both": 0.5 * (x @ m + m @ x)}[side] - np.eye(3)
    g = 2 * r / 9  # mse: mean over the 9 residual entries
    want = {"left": g @ m.T, "right": m.T @ g, "both": 0.5 * (g @ m.T + m.T @ g)}[side]
    s = sessions.make(Inverse(m, side), loss="mse", lr=0.1)
    an = step_anatomy(s, 0, x.reshape(-1), None)
    np.testing.assert_allclose(an.closed_form, want.reshape(-1), rtol=1e-12)
    np.testing.assert_allclose(an.autograd, want.reshape(-1), rtol=1e-12)
    assert (
        gradient_formula("mse", Inverse(m, side))
        == {
            "left": "2RMᵀ/N",
            "right": "2MᵀR/N",
            "both": "(RMᵀ + MᵀR)/N",
        }[side]
    )


def test_a_polynomial_fit_is_a_linear_system_for_its_gradient() -> None:
    t = np.linspace(-1, 1, 9)
    p = Polyfit(t, np.cos(t), 3)
    c = np.array([0.5, -1.0, 0.25, 2.0])
    want = by_hand("half_sum_squares", p.A, p.b, c)
    np.testing.assert_allclose(closed_form_gradient("half_sum_squares", p, c), want, rtol=1e-12)


def _rows(s: sessions.Session, iters: int) -> np.ndarray:
    run = Run(s.replace(max_iters=iters, tol=0.0))
    run.advance()
    its, vals = run.history.trajectory()
    assert list(its) == list(range(iters + 1))
    return vals


def test_plain_gd_steps_exactly_minus_lr_times_the_gradient() -> None:
    s = sessions.make(LinearSystem(A, B), loss="half_sum_squares", lr=0.02)
    rows = _rows(s, 5)
    an = step_anatomy(s, 3, rows[3], rows[4])
    np.testing.assert_allclose(an.step, an.plain_step, rtol=1e-12, atol=1e-15)
    assert an.step_ratio == pytest.approx(1.0) and an.alignment == pytest.approx(1.0)


def test_the_heavy_ball_step_adds_momentum_to_minus_lr_grad() -> None:
    lr, beta = 0.02, 0.9
    s = sessions.make(
        LinearSystem(A, B),
        loss="half_sum_squares",
        optimizer="sgd",
        lr=lr,
        optimizer_args={"momentum": beta},
    )
    rows = _rows(s, 6)
    an = step_anatomy(s, 4, rows[4], rows[5])
    # torch's SGD: v_k = β v_{k−1} + g_k, x_{k+1} = x_k − lr v_k, i.e. the step is
    # β (x_k − x_{k−1}) − lr g_k
    want = beta * (rows[4] - rows[3]) - lr * by_hand("half_sum_squares", A, B, rows[4])
    np.testing.assert_allclose(an.step, want, rtol=1e-10, atol=1e-14)
    assert an.step_ratio != pytest.approx(1.0)


def test_adam_steps_about_lr_per_component_at_its_first_step() -> None:
    s = sessions.make(LinearSystem(A, B), loss="half_sum_squares", optimizer="adam", lr=0.01)
    rows = _rows(s, 1)
    an = step_anatomy(s, 0, rows[0], rows[1])
    # the first Adam step is −lr·sign(g) (up to eps): not parallel to −lr·∇f
    np.testing.assert_allclose(an.step, -0.01 * np.sign(an.autograd), rtol=1e-6)
    assert an.alignment < 0.999


def test_float32_runs_are_taken_apart_in_float32() -> None:
    s = sessions.make(LinearSystem(A, B), loss="half_sum_squares", lr=0.1, dtype="float32")
    an = step_anatomy(s, 0, X, None)
    assert 1e-9 < an.difference < 1e-5  # float32 rounding, visible against the float64 formula
    assert an.rounding and an.dtype == "float32"


def test_the_svd_series_loss_has_no_formula_but_still_a_gradient() -> None:
    from solver.sessions import presets

    s = next(presets.build(k) for k in presets.PRESETS if presets.build(k).loss == "svd_mse")
    x0 = Run(s).x().reshape(-1)
    an = step_anatomy(s, 0, x0, None)
    assert an.formula is None and an.closed_form is None and an.difference is None
    assert an.autograd.shape == x0.shape and np.isfinite(an.autograd).all()
