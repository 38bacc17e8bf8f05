"""The sentence that follows a run says what the run is doing, with the numbers behind it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver import headless
from solver.insight.analysis import analyze
from solver.insight.explain import GROWING, STALL, divergence_onset, explain, loss_levels, rate_text
from solver.insight.rates import rate_texts
from solver.problems.floors import rounding_floor
from solver.problems.linear import LinearSystem
from solver.problems.losses import LOSSES
from solver.run.engine import Run
from solver.sessions import presets
from solver.sessions import session as sessions
from solver.settings.precisions import PRECISIONS


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
    assert said.kind == "stalled" and said.text.startswith("stalled at 1e-06: L-BFGS")
    assert "no progress for 510 iterations" in said.text
    assert said.alarming


def test_the_energy_loss_at_rounding_while_the_error_still_falls():
    spd = np.diag([1.0, 2.0, 3.0])
    s = sessions.make(LinearSystem(spd, np.ones(3)), loss="energy", lr=0.3)
    floor = rounding_floor(s.problem, s.problem.exact, "float64").loss("energy")
    # a flat loss at 3e-15 with terms ½bᵀx* ≈ 0.9: inside rounding; the error still falls
    loss = np.concatenate([np.geomspace(1.0, 3e-15, 100), np.full(40, 3e-15)])
    error = np.geomspace(1.0, 1e-9, 140)
    said = explain(s, None, loss, error, 0.0, floor)
    assert said.kind == "rounding"
    assert said.text.startswith("at rounding (float64): the energy loss")
    assert "error still falls" in said.text
    said = explain(s, None, loss, np.full(140, 1e-9), 0.0, floor)
    assert said.kind == "converged" and said.text.startswith("at rounding (float64)")


def test_rates_close_to_one_stay_readable():
    assert rate_text(0.98284) == "0.9828"
    assert rate_text(1 - 5.4e-6) == "1 − 5.4e-06"
    # the Poisson preset's gd rate read "1"
    assert rate_text(0.99997) == "1 − 3.0e-05"
    # "converging at 0.9999, faster than the 1 − 0.0001 predicted": one style, told apart
    assert rate_texts(0.99990001, 0.9999) == ("1 − 9.999e-05", "1 − 1.000e-04")
    assert rate_texts(0.98281, 0.98284) == ("0.98281", "0.98284")


@settings(max_examples=200, deadline=None)
@given(
    st.floats(0.0, 1.0, exclude_max=True),
    st.floats(0.0, 1.0, exclude_max=True),
    st.integers(0, 14),
)
def test_a_rate_below_one_never_reads_as_one_nor_as_another(a, b, nines):
    near = 1 - (1 - a) * 10.0**-nines  # rates crowding towards 1 as well
    ta, tb, tn = rate_texts(a, b, near)
    for text, rate in ((ta, a), (tb, b), (tn, near)):
        if rate < 1:
            assert text not in ("1", "1.0000") and not text.startswith("1.0")
    # two rates a unit in the last place apart (1 − (1 − a) need not give a back) may share one
    for (x, tx), (y, ty) in ((a, ta), (b, tb)), ((a, ta), (near, tn)), ((b, tb), (near, tn)):
        assert (tx == ty) == (x == y) or abs(x - y) < 1e-15


def test_measured_and_predicted_rates_print_apart():
    class Analysis:
        cond = 100.0

        def rate_for(self, *_: object) -> float:
            return 1 - 1e-4

    s = presets.build("seed-3x3").replace(lr=0.1)
    loss = 7.0 * (1 - 1.2e-4) ** (2 * np.arange(3000.0))  # the error's rate is 1 − 1.2e-4
    said = explain(s, Analysis(), loss, np.sqrt(loss), 0.0, 1e-30)
    assert said.kind == "converging"
    assert said.text.startswith("converging at 1 − 1.2e-04 per iteration, faster than the")
    assert "the 1 − 1.0e-04 predicted" in said.text


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
    # L-BFGS stops short of rounding (its tolerance_change), and says so first
    assert kind == ("stalled" if optimizer == "lbfgs" else "minimum_norm")
    assert "rank 3 < 4 unknowns" in text
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


# -- rounding: every loss, both precisions ------------------------------------------------------


def test_every_loss_knows_its_rounding_floor_in_both_precisions():
    with_floor = {name for name, loss in LOSSES.items() if loss.floor is not None}
    assert with_floor | {"energy"} == set(LOSSES)  # the energy's is measured from its terms
    s = presets.build("seed-3x3")
    floors = {dt: rounding_floor(s.problem, s.problem.exact, dt) for dt in ("float32", "float64")}
    ratio = PRECISIONS["float32"].eps / PRECISIONS["float64"].eps
    for name in with_floor:
        f32, f64 = floors["float32"].loss(name), floors["float64"].loss(name)
        assert 0 < f64 < f32
        # the squared losses' floors grow as eps², the norms' as eps (a consistent system)
        power = 1 if name in ("l1_norm", "l2_norm") else 2
        assert f32 / f64 == pytest.approx(ratio**power, rel=1e-3)
    # ½‖r‖² is half of ‖r‖², the mean square the sum over the m = 3 entries
    f = floors["float32"]
    assert f.loss("half_sum_squares") == pytest.approx(f.loss("sum_squares") / 2)
    assert f.loss("mse") == pytest.approx(f.loss("sum_squares") / 3)
    assert f.loss("l1_norm") == pytest.approx(np.sqrt(3) * f.loss("l2_norm"), rel=1e-6)


def test_the_floor_sits_above_where_rounding_stops_gd():
    """The 3×3 by gd in float64 flattens at 1.3e-29: at its floor, and not far below it (a
    floor from the residual's terms, not from the loss's start)."""
    s = presets.build("seed-3x3").replace(tol=0.0)
    run, kind, text = run_and_explain(s, 2600)
    floor = loss_levels(s, run.exact)[1]
    assert float(run.history.loss[-1]) <= floor < 100 * float(run.history.loss[-1])
    assert kind == "converged" and text.startswith("at rounding (float64): the loss has stayed")


def test_a_float32_svd_plateau_is_at_rounding_not_converging():
    """It was "converging at 1 − 3.7e-05" while flat at 3e-14 for thousands of iterations."""
    s = presets.build("seed-svd-momentum")
    run, kind, text = run_and_explain(s, 8000)
    assert kind in ("rounding", "converged") and "converging" not in text
    assert text.startswith("at rounding (float32): the loss ")
    # flat, and within the floor, for its last 3,000 iterations
    tail = run.history.loss[-3000:]
    assert np.all(tail <= loss_levels(s, run.exact)[1]) and np.max(tail) < 2e-13


@pytest.mark.parametrize("preset", ["seed-inverse-random", "seed-inverse-diagonal"])
def test_a_flat_float32_inverse_run_is_said_to_be_at_rounding(preset):
    """Flat for thousands of iterations, it had no sentence at all."""
    _, kind, text = run_and_explain(presets.build(preset), 3000)
    assert kind == "converged" and text.startswith("at rounding (float32)")


def test_lbfgs_stuck_above_the_floor_is_stalled_and_says_why():
    """Stuck at 3.9e-12 from its first step (its tolerance_change ends every step), far above
    float64 rounding: it had no sentence."""
    s = presets.build("seed-3x3").replace(optimizer="lbfgs", lr=1.0, optimizer_args={})
    run, kind, text = run_and_explain(s, 600)
    assert kind == "stalled"
    assert text.startswith("stalled at 3.9e-12, above float64 rounding (~")
    assert "L-BFGS has made no progress for 599 iterations" in text
    assert "tolerance_change = 1e-09" in text
    # a shorter run, flat over its last tenth, is stalled as well
    _, kind, text = run_and_explain(s, 100)
    assert kind == "stalled" and "no progress for 99 iterations" in text


def test_a_short_run_gets_a_sentence():
    _, kind, text = run_and_explain(presets.build("seed-3x3"), 10)
    assert kind == "unsteady"
    assert text == "10 iterations, too few to measure a rate: the loss went from 7 to 1.31"
    # an exact 0 with no floor to call it rounding
    said = explain(presets.build("seed-3x3"), None, np.array([7.0, 1.0, 0.0]), np.ones(3))
    assert said.text == "the loss is at its minimum (0) after 2 iterations"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.floats(1e-30, 1e3), min_size=2, max_size=700),
    st.sampled_from(["gd", "adam", "lbfgs"]),
    st.sampled_from([None, 1e-20]),
)
def test_no_history_goes_without_a_sentence(loss, optimizer, floor):
    s = presets.build("seed-3x3").replace(optimizer=optimizer, optimizer_args={})
    arr = np.asarray(loss)
    said = explain(s, None, arr, np.sqrt(arr), 0.0, floor)
    assert said is not None and said.text
