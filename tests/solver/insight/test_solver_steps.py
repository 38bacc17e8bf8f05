"""The step sizes the analysis derives (1/L, 2/(μ+L), the optimal heavy ball) against an
independent eigen-decomposition, and that they do what they promise when run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from solver import Run
from solver.core.resources import resource_path
from solver.insight.analysis import analyze
from solver.matrices.matrixio import load_matrix
from solver.problems.linear import LinearSystem
from solver.sessions import session as sessions

MATRICES = resource_path("matrices")  # shipped copies: a clean checkout has them


def hessian_extremes(a: np.ndarray, loss: str) -> tuple[float, float]:
    """(μ, L) of the loss's Hessian, from numpy's eigenvalues (independent of the app)."""
    if loss == "energy":
        w = np.linalg.eigvalsh(a)
    else:
        w = np.linalg.eigvalsh(a.T @ a) * {"half_sum_squares": 1, "sum_squares": 2}[loss]
        w = w * (2 / a.shape[0] if loss == "mse" else 1)
    return float(w[0]), float(w[-1])


@pytest.mark.parametrize("loss", ["half_sum_squares", "sum_squares"])
def test_marks_and_optimal_steps_match_the_eigenvalues(loss):
    rng = np.random.default_rng(4)
    a = rng.standard_normal((6, 6)) + 4 * np.eye(6)
    mu, lip = hessian_extremes(a, loss)
    an = analyze(LinearSystem(a, np.ones(6)), loss, lr=0.01)
    kappa = lip / mu
    assert an.recommended_lr == pytest.approx(1 / lip, rel=1e-9)
    assert an.max_stable_lr == pytest.approx(2 / lip, rel=1e-9)
    assert an.optimal_lr == pytest.approx(2 / (mu + lip), rel=1e-9)
    hb_lr, hb_m = an.heavy_ball
    assert hb_lr == pytest.approx(4 / (math.sqrt(lip) + math.sqrt(mu)) ** 2, rel=1e-9)
    assert hb_m == pytest.approx(((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2, rel=1e-9)
    assert an.heavy_ball_rate == pytest.approx(math.sqrt(hb_m), rel=1e-9)
    # gd's rate at the optimal step is (κ−1)/(κ+1): the smallest over all fixed steps
    at_opt = analyze(LinearSystem(a, np.ones(6)), loss, lr=an.optimal_lr).rate
    assert at_opt == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-9)
    for lr in (0.5 * an.optimal_lr, 0.9 * an.optimal_lr, 1.1 * an.optimal_lr):
        assert analyze(LinearSystem(a, np.ones(6)), loss, lr=lr).rate > at_opt


def test_no_optimal_step_without_strong_convexity():
    # rank 1 in 2 unknowns: μ over the whole space is 0, but gd moves only in the row space,
    # where the smallest nonzero curvature decides (the analysis's μ is that one)
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    an = analyze(LinearSystem(a, np.array([1.0, 2.0])), "half_sum_squares")
    assert an.mu == pytest.approx(25.0) and an.kappa == pytest.approx(1.0)
    an = analyze(LinearSystem(a, np.array([1.0, 2.0])), "l1_norm")
    assert an.optimal_lr is None and an.heavy_ball is None and an.heavy_ball_rate is None


def test_json_names_the_new_values_and_the_spectrum_method():
    a = np.diag([1.0, 4.0])
    out = json.loads(
        json.dumps(analyze(LinearSystem(a, np.ones(2)), "half_sum_squares", 0.1).to_json())
    )
    assert out["optimal_lr"] == pytest.approx(2 / 17)
    # the Hessian of ½‖Ax − b‖² is AᵀA = diag(1, 16): μ = 1, L = 16, √κ = 4
    assert out["heavy_ball"]["lr"] == pytest.approx(4 / 25)
    assert out["heavy_ball"]["momentum"] == pytest.approx(9 / 25)
    assert out["predicted_rate"]["gd"] == pytest.approx(0.9)
    assert out["predicted_rate"]["heavy_ball"] == pytest.approx(3 / 5)
    assert out["spectrum_method"].startswith("exact")


def test_a_large_matrix_says_its_spectrum_is_estimated():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1300, 1300)) / 36 + np.eye(1300)
    an = analyze(LinearSystem(a, np.ones(1300)), "half_sum_squares")
    assert not an.spectrum_exact and "Lanczos" in an.spectrum_method
    s = np.linalg.svd(a, compute_uv=False)
    # each estimate is within the bound it states (a residual bound: rigorous), and the
    # bounds are tight enough to be worth stating
    assert abs(an.lipschitz - s[0] ** 2) <= an.lipschitz_error <= 1e-8 * an.lipschitz
    assert abs(an.mu - s[-1] ** 2) <= an.mu_error <= 1e-4 * an.mu
    assert "relative" in an.spectrum_accuracy and "L to ±" in an.spectrum_method
    out = an.to_json()
    assert out["spectrum_error"]["lipschitz"] == pytest.approx(an.lipschitz_error)


def test_the_error_bound_holds_where_power_iteration_alone_stalls():
    """Clustered extreme singular values: power and inverse iteration's successive estimates
    agree long before they have converged; the estimates must be within their stated bounds,
    and the bounds tight."""
    from solver.matrices.spectra import estimate_sigma_max, estimate_sigma_min

    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.standard_normal((300, 300)))
    # clustered at both ends: 10, 9.999, 9.998 ... 0.5035, 0.5
    s = np.concatenate([[10.0, 9.999, 9.998], np.linspace(5.0, 0.5035, 296), [0.5]])
    a = (q * s) @ np.linalg.qr(rng.standard_normal((300, 300)))[0]
    est, err = estimate_sigma_max(a, None)
    assert abs(est - 10.0) <= err and err < 1e-6
    est, err = estimate_sigma_min(a, None)
    assert abs(est - 0.5) <= max(err, 1e-12) and err < 1e-8  # σmin, not its neighbour


def _error_after(a: np.ndarray, optimizer: str, lr: float, args: dict, iters: int) -> float:
    s = sessions.make(
        LinearSystem(a, np.ones(a.shape[0])),
        loss="energy",
        optimizer=optimizer,
        optimizer_args=args,
        lr=lr,
        tol=0.0,
        max_iters=iters,
    )
    run = Run(s)
    run.advance()
    assert run.stop_reason.value == "max_iters", run.message
    return run.error_norm()


def test_optimal_heavy_ball_beats_the_best_fixed_gd_step_on_nos4():
    a = load_matrix(MATRICES / "nos4.mtx")
    an = analyze(LinearSystem(a, np.ones(a.shape[0])), "energy")
    hb_lr, hb_m = an.heavy_ball
    heavy = _error_after(a, "sgd", hb_lr, {"momentum": hb_m}, 300)
    fixed = _error_after(a, "gd", an.optimal_lr, {}, 300)
    start = float(np.linalg.norm(np.linalg.solve(a, np.ones(a.shape[0]))))
    # predicted: 0.951^300 ≈ 3e-7 against 0.9987^300 ≈ 0.7 (κ ≈ 1.6e3: √κ against κ)
    assert heavy < 1e-4 * start and fixed > 0.3 * start, (heavy, fixed, start)


def test_predicted_rates_for_gd_and_the_heavy_ball():
    a = np.diag([1.0, 2.0, 4.0])
    an = analyze(LinearSystem(a, np.ones(3)), "half_sum_squares", lr=0.05)
    assert an.rate_for("gd", 0.05) == pytest.approx(an.rate, rel=1e-12)
    lr, m = an.heavy_ball
    assert an.rate_for("sgd", lr, {"momentum": m}) == pytest.approx(an.heavy_ball_rate, rel=1e-6)
    # a momentum of 0 is plain gd
    assert an.rate_for("sgd", 0.05, {}) == pytest.approx(an.rate, rel=1e-12)
    assert an.rate_for("sgd", lr, {"momentum": m, "nesterov": True}) is None
    assert an.rate_for("adam", 0.01) is None
    # and the rate is what a run shows: the error after k heavy-ball steps
    s = sessions.make(
        LinearSystem(a, np.ones(3)),
        optimizer="sgd",
        optimizer_args={"momentum": m},
        lr=lr,
        tol=0.0,
        max_iters=60,
    )
    run = Run(s)
    run.advance()
    e0 = np.linalg.norm(np.linalg.solve(a, np.ones(3)))
    assert run.error_norm() / e0 < 60 * an.heavy_ball_rate**60


# -- measured rates and conjugate gradient ---------------------------------------------------
def test_measured_rate_reads_a_geometric_history():
    from solver.insight.rates import measured_rate

    k = np.arange(120)
    loss = 0.3 + 5.0 * 0.9 ** (2 * k)  # error rate 0.9, minimum 0.3
    assert measured_rate(loss, 0.3) == pytest.approx(0.9, rel=1e-6)
    assert measured_rate(loss[:15], 0.3) is None  # too short to tell
    assert measured_rate(np.full(100, 2.0), 2.0) is None  # at the minimum: no rate


def _cg_by_hand(a: np.ndarray, b: np.ndarray, done) -> int:
    """Textbook conjugate gradient from 0 (independent of scipy's), iterations until done(x)."""
    x = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    for k in range(1, 10 * len(b) + 1):
        ap = a @ p
        alpha = (r @ r) / (p @ ap)
        x = x + alpha * p
        r_new = r - alpha * ap
        if done(x):
            return k
        p = r_new + ((r_new @ r_new) / (r @ r)) * p
        r = r_new
    return -1


def test_cg_iterations_match_a_textbook_cg_on_nos4():
    from solver.insight.rates import cg_iterations

    a = load_matrix(MATRICES / "nos4.mtx")
    b = np.ones(a.shape[0])
    x_star = np.linalg.solve(a, b)
    tol = 1e-8
    want = _cg_by_hand(a, b, lambda x: 0.5 * (x - x_star) @ a @ (x - x_star) < tol)
    got = cg_iterations(LinearSystem(a, b), "energy", tol)
    assert got == pytest.approx(want, abs=2)  # rounding may move the crossing by a step


def test_cg_needs_at_most_as_many_iterations_as_distinct_eigenvalues():
    from solver.insight.rates import cg_iterations

    a = np.diag([1.0, 1.0, 2.0, 2.0, 5.0, 5.0])  # three distinct eigenvalues
    assert cg_iterations(LinearSystem(a, np.ones(6)), "energy", 1e-20) <= 3
    assert cg_iterations(LinearSystem(a, np.ones(6)), "l1_norm", 1e-3) is None


def test_headless_summary_has_the_measured_rate_and_cg_count(tmp_path):
    import subprocess
    import sys

    from solver.sessions import presets

    s = presets.build("seed-3x3")
    path = tmp_path / "s.json"
    sessions.save(s, path)
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(
        [sys.executable, str(root / "main.py"), "--headless", str(path), "--json"],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
    )
    summary = json.loads(out.stdout)
    predicted = summary["analysis"]["predicted_rate"]["gd"]
    assert summary["measured_rate"] == pytest.approx(predicted, rel=1e-3)
    assert 1 <= summary["cg_iterations"] <= 6  # CG on the 3x3 normal equations
    assert summary["analysis"]["optimal_lr"] == pytest.approx(1 / 3)


def test_cg_gives_up_rather_than_hold_up_a_summary():
    from solver.insight.rates import cg_iterations

    a = load_matrix(MATRICES / "nos4.mtx")
    assert cg_iterations(LinearSystem(a, np.ones(a.shape[0])), "energy", 1e-12, seconds=0.0) is None
