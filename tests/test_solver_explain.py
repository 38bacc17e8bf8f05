"""The sentence that follows a run says what the run is doing, with the numbers behind it."""

from __future__ import annotations

import numpy as np
import pytest

from solver import headless, presets
from solver import session as sessions
from solver.analysis import analyze
from solver.engine import Run
from solver.explain import GROWING, STALL, divergence_onset, explain, loss_levels, rate_text
from solver.problems import LinearSystem


def run_and_explain(s: sessions.Session, iters: int) -> tuple[Run, str | None, str | None]:
    run = Run(s.replace(max_iters=iters, tol=0.0))
    run.advance()
    f_star, scale = loss_levels(s, run.exact)
    said = explain(
        s, analyze(s.problem, s.loss, s.lr), run.history.loss, run.history.error, f_star, scale
    )
    return run, None if said is None else said.kind, None if said is None else said.text


def test_a_divergence_is_said_within_a_few_iterations_not_at_overflow():
    s = presets.build("seed-3x3").replace(lr=0.5)  # lr · L = 2.9
    run, kind, text = run_and_explain(s, 12)
    assert kind == "diverging" and np.isfinite(run.history.loss).all()
    assert "lr · L = 0.5 × 5.828 = 2.91 > 2" in text
    # the engine stopped where the caption's rule became certain, for the same reason
    assert run.stop_reason == "diverged" and run.iteration == GROWING
    assert run.message.startswith("diverging: lr · L = 0.5 × 5.828 = 2.91 > 2; stopped at")
    onset = int(text.split("since iteration ")[1].split(":")[0])
    loss = run.history.loss
    assert loss[onset] > loss[0] >= loss[onset - 1]


def test_the_onset_waits_for_growth_that_is_clear():
    bump = np.array([5.0, 6.0, 4.0, 3.0, 2.0, 1.0, 0.5, 0.2])  # up once, then down
    assert divergence_onset(bump) is None
    grow = np.concatenate([[1.0, 0.9], 0.9 * 1.5 ** np.arange(1, GROWING + 2)])
    assert divergence_onset(grow) == 2  # the first loss above the start (1.35 > 1)
    assert divergence_onset(grow[:GROWING]) is None


def test_converging_as_predicted_names_the_rate_and_kappa():
    s = presets.build("seed-3x3").replace(lr=0.1)
    run, kind, text = run_and_explain(s, 300)
    a = analyze(s.problem, s.loss, 0.1)
    assert kind == "converging"
    assert f"as predicted for κ = {a.cond:.3g}" in text  # 5.83, the Problem panel's cond
    measured = float(text.split("converging at ")[1].split(" per")[0])
    assert measured == pytest.approx(a.rate, abs=1e-4)  # 0.9828 = 1 − lr·σmin²


def test_an_underdetermined_system_heads_for_the_minimum_norm_solution():
    a = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]])
    s = sessions.make(LinearSystem(a, np.ones(3)), lr=0.02)
    run, kind, text = run_and_explain(s, 3000)
    assert kind == "minimum_norm" and "under-determined" in text
    assert "minimum-norm solution" in text
    # and that is where it is going: the pseudo-inverse's answer, not another solution
    np.testing.assert_allclose(run.x().reshape(-1), np.linalg.pinv(a) @ np.ones(3), atol=1e-6)
    started = s.replace(init="randn", seed=3)
    _, kind, text = run_and_explain(started, 50)
    assert kind == "minimum_norm" and "nearest its start" in text


def test_the_l1_loss_oscillates_with_fixed_size_steps():
    s = presets.build("seed-3x3").replace(loss="l1_norm", lr=0.01)
    _, kind, text = run_and_explain(s, 600)
    assert kind == "oscillating" and "fixed-size steps" in text


def test_a_run_with_no_new_best_for_500_iterations_is_stalled():
    s = presets.build("seed-3x3").replace(optimizer="lbfgs", lr=1.0)
    loss = np.concatenate([np.geomspace(10, 1e-6, 50), np.full(STALL + 10, 1e-6)])
    said = explain(s, None, loss, np.ones_like(loss), 0.0)
    assert said.kind == "stalled" and said.text.startswith("stalled: L-BFGS")
    assert said.alarming


def test_the_energy_loss_at_rounding_while_the_error_still_falls():
    spd = np.diag([1.0, 2.0, 3.0])
    s = sessions.make(LinearSystem(spd, np.ones(3)), loss="energy", lr=0.3)
    # a flat loss at 3e-15 with scale ½bᵀx* ≈ 0.9: inside rounding; the error still falls
    loss = np.concatenate([np.geomspace(1.0, 3e-15, 100), np.full(40, 3e-15)])
    error = np.geomspace(1.0, 1e-9, 140)
    said = explain(s, None, loss, error, 0.0, 0.92)
    assert said.kind == "rounding"
    assert "energy loss has reached float64 rounding" in said.text
    assert "error still falls" in said.text
    said = explain(s, None, loss, np.full(140, 1e-9), 0.0, 0.92)
    assert said.kind == "converged"


def test_rates_close_to_one_stay_readable():
    assert rate_text(0.98284) == "0.9828"
    assert rate_text(1 - 5.4e-6) == "1 − 5.4e-06"


def test_the_json_summary_carries_the_sentence():
    s = presets.build("seed-3x3").replace(lr=0.1, max_iters=300, tol=0.0)
    run = Run(s)
    run.advance()
    assert headless.result(run)["explanation"].startswith("converging at 0.9828")


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "lbfgs"])
def test_the_puzzle_says_which_solution_row_space_methods_reach(optimizer):
    s = presets.build("seed-puzzle").replace(
        optimizer=optimizer,
        optimizer_args={},
        lr=1.0 if optimizer == "lbfgs" else 0.1,
        init="zeros",
        dtype="float64",
    )
    run, kind, text = run_and_explain(s, 2000)
    assert kind == "minimum_norm" and "rank 3 < 4 unknowns" in text
    assert "infinitely many solutions" in text and "heads for the minimum-norm solution" in text
    a, b = s.problem.A, s.problem.b
    np.testing.assert_allclose(run.x().reshape(-1), np.linalg.pinv(a) @ b, atol=1e-6)


def test_the_puzzle_says_adam_reaches_another_solution():
    s = presets.build("seed-puzzle").replace(
        optimizer="adam", optimizer_args={}, lr=0.05, dtype="float64"
    )
    run, kind, text = run_and_explain(s, 3000)
    assert kind == "minimum_norm" and "leaves A's row space" in text
    a, b = s.problem.A, s.problem.b
    x = run.x().reshape(-1)
    assert np.linalg.norm(a @ x - b) < 1e-6  # a solution...
    away = np.linalg.norm(x - np.linalg.pinv(a) @ b)  # ...but not the minimum-norm one
    assert away > 0.1 and f"reached a solution {away:.3g} away" in text
