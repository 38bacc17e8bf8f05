"""The race's entrants, finish line and ranking, against the analysis they come from."""

from __future__ import annotations

import math

import numpy as np
import pytest

from solver.insight.analysis import analyze
from solver.insight.rates import cg_path
from solver.run.race import entrants, race_sessions, race_tolerance, ranking, summary
from solver.sessions import presets
from solver.settings.optimizers import OPTIMIZER_NAMES


def test_every_optimizer_enters_with_its_recommended_settings():
    s = presets.build("seed-3x3")
    a = analyze(s.problem, s.loss)
    got = {e.optimizer: e for e in entrants(a)}
    assert list(got) == list(OPTIMIZER_NAMES)
    s_min, s_max = np.linalg.svd(s.problem.A, compute_uv=False)[[-1, 0]]
    mu, lip = s_min**2, s_max**2  # ½‖Ax − b‖²: the Hessian is AᵀA
    assert got["gd"].lr == pytest.approx(2 / (mu + lip))
    root = math.sqrt(lip / mu)
    assert got["sgd"].lr == pytest.approx(4 / (math.sqrt(lip) + math.sqrt(mu)) ** 2)
    assert got["sgd"].args["momentum"] == pytest.approx(((root - 1) / (root + 1)) ** 2)
    assert got["adam"].lr == 1e-3 and got["lbfgs"].lr == 1.0


def test_the_entrants_share_the_start_and_the_finish_line():
    s = presets.build("seed-3x3").replace(init="randn", seed=7)
    a = analyze(s.problem, s.loss)
    runs = race_sessions(s, a, 1e-8)
    assert {r.init for _, r in runs} == {"randn"} and {r.seed for _, r in runs} == {7}
    assert {r.tol for _, r in runs} == {1e-8}
    assert all(2_000 <= r.max_iters <= 20_000 for _, r in runs)
    assert race_tolerance(s.replace(tol=1e-5), 10.0) == 1e-5
    assert race_tolerance(s.replace(tol=0.0), 10.0, 0.0) == pytest.approx(1e-9)


def test_ranking_puts_those_that_finished_first_by_evaluations():
    ranked = ranking([("a", 500, True), ("b", 90, True), ("c", 20_000, False)])
    assert ranked == [(1, "b", 90, True), (2, "a", 500, True), (None, "c", 20_000, False)]
    text = summary(ranked)
    assert text.splitlines()[0] == "1. b: 90 gradient evaluations"
    assert "Not at the tolerance within their budget: c: not at the tolerance after 20,000" in text


def test_conjugate_gradient_beside_a_run_matches_scipy_and_the_theory():
    s = presets.build("seed-3x3")
    path = cg_path(s.problem, s.loss, tol=1e-20)
    # CGLS on a 3 x 3 of full rank: the exact solution in at most 3 steps (up to rounding)
    assert path.iterations <= 4 and path.error[-1] < 1e-12
    assert path.loss[0] == pytest.approx(0.5 * float(s.problem.b @ s.problem.b))
    assert "CGLS" in path.method
