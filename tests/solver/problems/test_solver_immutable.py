"""Sessions and problems never change once built: edits make new ones, and nobody (the
window, a run, the caller who handed in an array) can change one in place."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import warnings

import numpy as np
import pytest

from solver import Run
from solver.problems.kinds import KINDS, kind_of
from solver.problems.linear import Inverse, LinearSystem, Polyfit
from solver.sessions import problem_json
from solver.sessions import session as sessions

ROUND = {
    "problem": {"kind": "linear_system", "A": [[2.0, 1.0], [1.0, 3.0]], "b": [1.0, 2.0]},
    "optimizer": {"name": "adam", "lr": 0.01, "betas": [0.8, 0.99]},
    "init": {"kind": "values", "x": [0.5, -1.0]},
}


def session() -> sessions.Session:
    return sessions.from_dict(copy.deepcopy(ROUND))


def test_a_session_cannot_be_assigned_to() -> None:
    s = session()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.lr = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.problem = None  # type: ignore[misc]
    assert s.lr == 0.01


@pytest.mark.parametrize("name", list(KINDS))
def test_the_problem_arrays_of_a_session_are_read_only(name: str) -> None:
    s = sessions.make(KINDS[name].default_problem())
    for key, arr in kind_of(s.problem).arrays_of(s.problem).items():
        assert not arr.flags.writeable, key
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 1.0
    assert not s.problem.matrix().flags.writeable
    assert not kind_of(s.problem).exact(s.problem).flags.writeable
    for key in [*kind_of(s.problem).arrays_of(s.problem), "kind", "extra"]:
        with pytest.raises(AttributeError):
            setattr(s.problem, key, np.zeros(3))


def test_init_values_and_the_mappings_are_read_only() -> None:
    s = session()
    with pytest.raises(ValueError, match="read-only"):
        s.init_values[0] = 7.0
    with pytest.raises(TypeError):
        s.optimizer_args["lr"] = 1.0
    with pytest.raises(TypeError):
        s.files.update({"A": "/tmp/a.npy"})
    editable = dict(s.optimizer_args)  # a copy is an ordinary dict
    editable["amsgrad"] = True
    assert "amsgrad" not in s.optimizer_args
    assert isinstance(s.optimizer_args, dict)  # still a mapping json and callers accept


def test_replace_and_with_problem_make_new_validated_sessions() -> None:
    s = session()
    t = s.replace(lr=0.5, optimizer_args={"betas": [0.9, 0.9]})
    assert t is not s and (t.lr, s.lr) == (0.5, 0.01)
    assert t.optimizer_args == {"betas": (0.9, 0.9)} and s.optimizer_args["betas"] == (0.8, 0.99)
    assert t.problem is s.problem  # problems are immutable: shared, not copied
    other = LinearSystem([[4.0, 0.0], [0.0, 5.0]], [1.0, 1.0])
    u = s.with_problem(other)
    assert u.problem is other and u.lr == s.lr and s.problem is not other
    with pytest.raises(AttributeError):
        s.replace(colour="blue")


def test_sessions_compare_by_identity() -> None:
    s = session()
    assert s == s and s != s.replace() and s != session()
    assert len({s, s, s.replace()}) == 2  # hashable, by identity


def test_building_neither_freezes_nor_aliases_the_callers_arrays() -> None:
    a, b, x0 = np.eye(2) * 2.0, np.ones(2), np.array([0.5, 0.5])
    s = sessions.make(LinearSystem(a, b), init="values", init_values=x0)
    a[0, 0] = 9.0  # the caller (a table being edited) keeps a working array
    b[1] = 9.0
    x0[0] = 9.0
    np.testing.assert_array_equal(s.problem.A, np.eye(2) * 2.0)
    np.testing.assert_array_equal(s.problem.b, [1.0, 1.0])
    np.testing.assert_array_equal(s.init_values, [0.5, 0.5])
    xs, ys = np.arange(4.0), np.arange(4.0) ** 2
    fit = Polyfit(xs, ys, 2)
    xs[0] = 100.0
    assert fit.samples_x[0] == 0.0
    m = np.diag([1.0, 2.0])
    inv = Inverse(m)
    m[0, 0] = 0.0
    assert inv.M[0, 0] == 1.0


@pytest.mark.parametrize("how", ["copy", "deepcopy", "pickle", "dataclasses.replace"])
def test_copies_of_a_session_are_frozen_too(how: str) -> None:
    s = session()
    t = {
        "copy": copy.copy,
        "deepcopy": copy.deepcopy,
        "pickle": lambda v: pickle.loads(pickle.dumps(v)),
        "dataclasses.replace": lambda v: dataclasses.replace(v, files={"A": "/x/a.npy"}),
    }[how](s)
    assert isinstance(t, sessions.Session) and t is not s
    assert not t.init_values.flags.writeable and not t.problem.A.flags.writeable
    with pytest.raises(TypeError):
        t.optimizer_args["lr"] = 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.lr = 3.0  # type: ignore[misc]
    expected = sessions.to_dict(s)
    if how == "dataclasses.replace":
        assert t.files == {"A": "/x/a.npy"}
        expected["problem"]["A"] = {"file": "/x/a.npy"}
    assert sessions.to_dict(t) == expected


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_runs_work_on_read_only_arrays_without_warnings_or_writes(dtype: str) -> None:
    s = session().replace(dtype=dtype, max_iters=50)
    before = {k: v.copy() for k, v in problem_json.problem_arrays(s.problem).items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns when handed a read-only array
        run = Run(s)
        run.advance()
    assert run.iteration == 50
    for key, arr in problem_json.problem_arrays(s.problem).items():
        np.testing.assert_array_equal(arr, before[key])
    np.testing.assert_array_equal(s.init_values, [0.5, -1.0])


def test_problem_arrays_is_the_kinds_mapping() -> None:
    for kind in KINDS.values():
        p = kind.default_problem()
        assert problem_json.problem_arrays(p).keys() == kind.arrays_of(p).keys()


def test_a_problem_built_from_anothers_arrays_shares_them() -> None:
    """A parameter change or a kind switch copies no matrix, and identity says what stayed."""
    inv = KINDS["inverse"]
    p = inv.build({"M": np.diag([1.0, 2.0, 3.0])})
    q = inv.build(inv.arrays_of(p), {"side": "both"})
    assert q.M is p.M and q.side == "both"
    system = KINDS["linear_system"]
    a = system.default_problem()
    assert KINDS["inverse"].convert(a).M is a.A
    kept, _, _ = system.import_matrix(a, np.diag([2.0, 3.0, 4.0]))
    replaced, _, _ = system.import_matrix(a, np.ones((2, 2)))
    assert kept.b is a.b and replaced.b is not a.b
    fit = KINDS["polyfit"].default_problem()
    lower = KINDS["polyfit"].build(KINDS["polyfit"].arrays_of(fit), {"degree": 1})
    assert lower.samples_x is fit.samples_x and lower.samples_y is fit.samples_y
