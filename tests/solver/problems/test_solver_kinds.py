"""The registry of problem kinds: each kind's arrays, parameters, building rules, switching,
matrix files, losses, reference and analysis, as the window and session files use them."""

from __future__ import annotations

import numpy as np
import pytest

from solver import InputError, Run
from solver.insight.analysis import Analysis, analyze
from solver.problems.kind_spec import ArraySpec, ParamSpec, ProblemKind
from solver.problems.kinds import KINDS, kind_of
from solver.problems.linear import Inverse, LinearSystem, Polyfit
from solver.problems.losses import LOSSES
from solver.problems.seeds import A_MAT, B_VEC
from solver.sessions import problem_json
from solver.sessions import session as sessions
from solver.sessions.builders import seed_3x3, seed_inverse_random, seed_polyfit


def test_the_kinds_in_display_order() -> None:
    assert list(KINDS) == ["linear_system", "inverse", "polyfit", "svd"]
    assert problem_json.PROBLEM_KINDS == tuple(KINDS)
    for name, kind in KINDS.items():
        assert isinstance(kind, ProblemKind) and kind.name == name and kind.label
        keys = [a.key for a in kind.arrays]
        assert kind.matrix_key in keys
        assert all(isinstance(a, ArraySpec) and a.ndim in (1, 2) for a in kind.arrays)
        assert all(a.rows_like in (None, *keys) for a in kind.arrays)
        assert all(isinstance(p, ParamSpec) for p in kind.params)
    assert KINDS["inverse"].arrays[0].square
    assert KINDS["inverse"].params[0].choices == ("left", "right", "both")
    assert KINDS["linear_system"].arrays[1].rows_like == "A"
    assert KINDS["polyfit"].arrays[1].rows_like == "x"


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_round_trips_its_default_problem(name: str) -> None:
    kind = KINDS[name]
    p = kind.default_problem()
    assert kind_of(p) is kind and p.kind == name
    arrays, params = kind.arrays_of(p), kind.params_of(p)
    assert list(arrays) == [a.key for a in kind.arrays]
    assert set(params) == {q.key for q in kind.params}
    again = kind.build(arrays, params)
    assert again is not p
    for key, arr in kind.arrays_of(again).items():
        np.testing.assert_array_equal(arr, arrays[key])
        assert arr.ndim == next(a.ndim for a in kind.arrays if a.key == key)
    assert kind.params_of(again) == params
    # and through a session file
    s = sessions.make(p)
    loaded = sessions.from_dict(sessions.to_dict(s))
    assert kind_of(loaded.problem) is kind
    np.testing.assert_array_equal(loaded.problem.matrix(), p.matrix())


@pytest.mark.parametrize("name", [k for k in KINDS if k != "svd"])  # svd: test_solver_svd.py
def test_exact_losses_and_analysis_per_kind(name: str) -> None:
    kind = KINDS[name]
    p = kind.default_problem()
    exact = kind.exact(p)
    assert exact.shape == p.unknown_shape and not exact.flags.writeable
    losses = kind.losses(p)
    assert losses == tuple(n for n in LOSSES if n in losses)  # LOSSES order
    assert "energy" not in losses and "half_sum_squares" in losses
    a = analyze(p, "half_sum_squares", 0.01)
    assert isinstance(a, Analysis) and a.lipschitz > 0
    np.testing.assert_array_equal(a.exact.reshape(p.unknown_shape), exact)


def test_the_defaults_are_the_seed_examples() -> None:
    np.testing.assert_array_equal(KINDS["linear_system"].default_problem().A, seed_3x3().problem.A)
    np.testing.assert_array_equal(
        KINDS["inverse"].default_problem().M, seed_inverse_random().problem.M
    )
    fit, seed = KINDS["polyfit"].default_problem(), seed_polyfit().problem
    np.testing.assert_array_equal(fit.samples_x, seed.samples_x)
    np.testing.assert_array_equal(fit.samples_y, seed.samples_y)
    assert fit.degree == seed.degree == 2


def test_energy_applies_only_to_a_symmetric_positive_definite_system() -> None:
    kind = KINDS["linear_system"]
    spd = kind.build({"A": [[2.0, 1.0], [1.0, 3.0]], "b": [1.0, 1.0]})
    assert kind.losses(spd) == tuple(n for n in LOSSES if n != "svd_mse")
    assert kind.loss_refusal(spd, "energy") is None
    for a, words in [
        ([[1.0, 2.0], [0.0, 1.0]], "symmetric"),
        ([[1.0, 0.0], [0.0, -1.0]], "positive definite"),
        ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], "square"),
    ]:
        p = kind.build({"A": a, "b": [1.0] * len(a)})
        assert "energy" not in kind.losses(p)
        assert words in kind.loss_refusal(p, "energy")
    fit = KINDS["polyfit"].default_problem()
    assert "linear_system" in KINDS["polyfit"].loss_refusal(fit, "energy")
    assert "unknown loss" in kind.loss_refusal(spd, "log_cosh")


# -- building: the session file's rules, with the key named ----------------------------------
@pytest.mark.parametrize(
    ("name", "arrays", "params", "field", "words"),
    [
        ("linear_system", {"A": [[1.0]]}, None, "problem.b", "missing"),
        (
            "linear_system",
            {"A": [[1.0]], "b": [1.0], "M": [[1.0]]},
            None,
            "problem.M",
            "unknown key",
        ),
        (
            "linear_system",
            {"A": [[1.0, 2.0]], "b": [1.0, 2.0]},
            None,
            "problem.b",
            "2 entries but A has 1 rows",
        ),
        (
            "linear_system",
            {"A": [[1.0]], "b": [1.0]},
            {"side": "left"},
            "problem.side",
            "unknown key",
        ),
        ("inverse", {"M": [[1.0, 2.0], [2.0, 4.0]]}, None, "problem.M", "singular"),
        (
            "inverse",
            {"M": [[1.0]]},
            {"side": "top"},
            "problem.side",
            "unknown side 'top'; expected one of ('left', 'right', 'both')",
        ),
        (
            "polyfit",
            {"x": [0.0, 1.0, 2.0], "y": [1.0, 2.0, 3.0]},
            {"degree": 3},
            "problem.degree",
            "from 0 to 2",
        ),
        (
            "polyfit",
            {"x": [0.0, 1.0, 2.0], "y": [1.0, 2.0, 3.0]},
            {"degree": 1.5},
            "problem.degree",
            "integer",
        ),
        (
            "polyfit",
            {"x": [0.0, 1.0, 2.0], "y": [1.0, 2.0]},
            {"degree": 1},
            "problem.y",
            "2 samples but x has 3",
        ),
        (
            "polyfit",
            {"x": [0.0, float("nan")], "y": [1.0, 2.0]},
            {"degree": 1},
            "problem.x",
            "entry [1] is nan",
        ),
    ],
)
def test_build_refuses_what_a_session_file_would(
    name: str, arrays: dict, params: dict | None, field: str, words: str
) -> None:
    with pytest.raises(InputError) as err:
        KINDS[name].build(arrays, params)
    assert err.value.field == field
    assert words in str(err.value)


def test_build_fills_in_default_parameters() -> None:
    inv = KINDS["inverse"].build({"M": [[2.0, 0.0], [0.0, 4.0]]})
    assert inv.side == "left"
    fit = KINDS["polyfit"].build({"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 2.0, 5.0, 10.0]})
    assert fit.degree == KINDS["polyfit"].params[0].default == 2


# -- switching kinds -------------------------------------------------------------------------
def test_a_square_nonsingular_system_converts_to_its_inverse() -> None:
    system = KINDS["linear_system"].default_problem()
    inv = KINDS["inverse"].convert(system)
    assert isinstance(inv, Inverse) and inv.side == "left"
    np.testing.assert_array_equal(inv.M, system.A)
    back = KINDS["linear_system"].convert(inv)
    np.testing.assert_array_equal(back.A, inv.M)
    np.testing.assert_allclose(KINDS["linear_system"].exact(back), 1.0)  # b = M·1


@pytest.mark.parametrize(
    "problem",
    [
        LinearSystem([[1.0, 2.0], [2.0, 4.0]], [1.0, 1.0]),  # singular
        LinearSystem([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [1.0, 1.0]),  # not square
        Polyfit([0.0, 1.0, 2.0], [1.0, 2.0, 5.0], 1),
    ],  # a fit's matrix is not the user's
)
def test_what_has_no_inverse_does_not_convert(problem: LinearSystem) -> None:
    assert KINDS["inverse"].convert(problem) is None


def test_converting_to_the_same_kind_is_the_problem_itself() -> None:
    for kind in KINDS.values():
        p = kind.default_problem()
        assert kind.convert(p) is p
    assert KINDS["polyfit"].convert(KINDS["linear_system"].default_problem()) is None


# -- matrix files ----------------------------------------------------------------------------
def test_a_matrix_file_into_a_linear_system() -> None:
    kind = KINDS["linear_system"]
    p = kind.default_problem()
    a = np.array([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 4.0]])
    new, keys, note = kind.import_matrix(p, a)
    assert keys == ["A"] and note == ""
    np.testing.assert_array_equal(new.A, a)
    np.testing.assert_array_equal(new.b, B_VEC)  # b still fits: kept

    wide = np.arange(8.0).reshape(2, 4) + np.eye(2, 4)
    new, keys, note = kind.import_matrix(p, wide, "A")
    assert keys == ["A"] and note == "b set to A·1 so the exact solution is all ones"
    np.testing.assert_array_equal(new.b, wide @ np.ones(4))

    for column in (np.array([[5.0], [6.0], [7.0]]), np.array([[5.0, 6.0, 7.0]])):
        new, keys, note = kind.import_matrix(p, column, "b")
        assert keys == ["b"] and note == ""
        np.testing.assert_array_equal(new.b, [5.0, 6.0, 7.0])
        np.testing.assert_array_equal(new.A, A_MAT)


@pytest.mark.parametrize(
    ("name", "arr", "key", "field", "words"),
    [
        ("linear_system", np.ones(3), None, "problem.A", "A must be a 2-D matrix, got shape (3,)"),
        ("linear_system", np.ones((2, 1)), "b", "problem.b", "2 entries but A has 3 rows"),
        ("linear_system", np.ones((3, 3)), "M", "problem.M", "into A or b"),
        ("inverse", np.ones((2, 3)), None, "problem.M", "must be square"),
        (
            "polyfit",
            np.ones((5, 3)),
            None,
            "problem.x",
            "samples need two columns (x, y), got shape (5, 3)",
        ),
    ],
)
def test_a_matrix_file_that_does_not_fit_is_refused(
    name: str, arr: np.ndarray, key: str | None, field: str, words: str
) -> None:
    kind = KINDS[name]
    with pytest.raises(InputError) as err:
        kind.import_matrix(kind.default_problem(), arr, key)
    assert err.value.field == field and words in str(err.value)


def test_a_matrix_file_into_an_inverse_keeps_the_side() -> None:
    kind = KINDS["inverse"]
    p = kind.build({"M": [[2.0, 1.0], [0.0, 1.0]]}, {"side": "both"})
    new, keys, note = kind.import_matrix(p, np.diag([1.0, 2.0, 3.0]))
    assert (keys, note, new.side) == (["M"], "", "both")
    np.testing.assert_array_equal(new.M, np.diag([1.0, 2.0, 3.0]))


def test_a_two_column_file_gives_the_samples_copied() -> None:
    kind = KINDS["polyfit"]
    samples = np.column_stack([np.arange(6.0), np.arange(6.0) ** 2])
    new, keys, note = kind.import_matrix(kind.default_problem(), samples)
    assert keys == [] and note == "" and new.degree == 2
    np.testing.assert_array_equal(new.samples_x, samples[:, 0])
    np.testing.assert_array_equal(new.samples_y, samples[:, 1])
    np.testing.assert_allclose(kind.exact(new), [1.0, 0.0, 0.0], atol=1e-12)


def test_kind_of_refuses_what_is_not_a_problem() -> None:
    with pytest.raises(TypeError):
        kind_of(object())


def test_a_run_starts_from_every_default_problem() -> None:
    for kind in KINDS.values():
        run = Run(sessions.make(kind.default_problem(), max_iters=3, lr=0.001))
        run.advance()
        assert run.iteration == 3
        assert run.exact.shape == (int(np.prod(run.problem.unknown_shape)),)


def test_each_kind_names_the_views_that_apply_and_a_tooltip_can_say_which_kinds() -> None:
    from solver.problems.kinds import VIEWS, view_offered_for

    for kind in KINDS.values():
        assert kind.views and kind.views <= set(VIEWS) and kind.plural, kind.name
        assert "compare" in kind.views  # every run can be raced and compared
    assert "bars" not in KINDS["svd"].views  # its factors are unique only up to signs
    assert view_offered_for("fit") == "for polynomial fits"
    assert view_offered_for("direction") == "for linear systems and polynomial fits"
    assert view_offered_for("heat_x") == "for matrix-inverse problems"
    assert all(view_offered_for(v) for v in VIEWS)  # every view belongs to some kind
