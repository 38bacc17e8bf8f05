"""Session values that used to escape validation as tracebacks (exit 1 headless, an exception
out of File → Open): each is now refused with one short line naming the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import main
from solver import InputError
from solver.sessions import session as sessions

HUGE = 10**400  # JSON allows it; a float cannot hold it
BASE = {"problem": {"A": [[1.0]], "b": [1.0]}}


def with_(**top: object) -> dict:
    return {**BASE, **top}


CASES = [
    (with_(loss=["mse"]), "loss"),
    (with_(loss={"name": "mse"}), "loss"),
    (with_(optimizer={"name": "gd", "lr": HUGE}), "optimizer.lr"),
    ({"problem": {"A": [[HUGE]], "b": [1.0]}}, "problem.A"),
    (with_(stop={"tol": HUGE}), "stop.tol"),
    (with_(optimizer={"name": "sgd", "lr": 0.1, "momentum": HUGE}), "optimizer.momentum"),
    (with_(optimizer={"name": "adam", "lr": 0.1, "betas": [0.9]}), "optimizer.betas"),
    (with_(optimizer={"name": "adam", "lr": 0.1, "betas": [0.9, 0.99, 0.5]}), "optimizer.betas"),
    (with_(optimizer={"name": "lbfgs", "lr": 1, "history_size": 0}), "optimizer.history_size"),
    (with_(optimizer={"name": "lbfgs", "lr": 1, "max_iter": -1}), "optimizer.max_iter"),
    (
        with_(optimizer={"name": "lbfgs", "lr": 1, "line_search_fn": "x"}),
        "optimizer.line_search_fn",
    ),
    (with_(optimizer={"name": "x" * 2_000_000, "lr": 0.1}), "optimizer.name"),
    (with_(optimizer={"name": ["gd"], "lr": 0.1}), "optimizer.name"),
    (with_(dtype=["float64"]), "dtype"),
]


@pytest.mark.parametrize(("data", "field"), CASES, ids=[f for _, f in CASES])
def test_a_bad_value_is_refused_naming_its_key_in_one_short_line(data: dict, field: str) -> None:
    with pytest.raises(InputError) as err:
        sessions.from_dict(data)
    assert err.value.field == field
    assert "\n" not in str(err.value) and len(str(err.value)) < 300


def test_json_nested_200000_deep_is_refused(tmp_path: Path, capsys) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    assert main.main(["--headless", str(path)]) == 2
    assert "nested too deeply" in capsys.readouterr().err


def test_a_refused_session_file_exits_2_with_one_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(CASES[8][0]), encoding="utf-8")  # history_size 0
    assert main.main(["--headless", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "optimizer.history_size" in err[0]


def test_a_polyfit_sample_whose_power_overflows_names_problem_x_quietly(recwarn) -> None:
    data = {"problem": {"kind": "polyfit", "x": [1e200, 2, 3], "y": [1, 2, 3], "degree": 2}}
    with pytest.raises(InputError) as err:
        sessions.from_dict(data)
    assert err.value.field == "problem.x" and "sample 1" in str(err.value)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
