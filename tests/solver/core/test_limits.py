"""One table of limits (``solver.core.limits``) for the session loader, the headless runner and the
document: every setting's edges load, one step past them is refused with a message naming
the key and the range, and docs/SESSIONS.md shows the table as the code has it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import main
from solver import InputError
from solver.core import limits
from solver.run.engine import Run
from solver.sessions import session as sessions

ROOT = Path(__file__).resolve().parents[3]
SYSTEM = {"A": [[4.0, 1.0], [1.0, 3.0]], "b": [1.0, 2.0]}


def with_value(key: str, value: object, **extra: object) -> dict:
    """A session with ``value`` at the session key ``key`` (dotted)."""
    data: dict = {
        "problem": dict(SYSTEM),
        "optimizer": {"name": "sgd", "lr": 0.1},
        "init": {"kind": "randn"},
        "stop": {},
        **extra,
    }
    section, name = key.split(".", 1)
    data[section][name] = value
    return data


def below(limit: limits.Limit) -> object:
    return (
        limit.lo
        if limit.lo_open
        else (limit.lo - 1 if limit.integer else -limits.SMALLEST_POSITIVE)
    )


def above(limit: limits.Limit) -> object:
    return limit.hi + 1 if limit.integer else math.inf


SESSION_LIMITS = [limits.LR, limits.MAX_ITERS, limits.TOL, limits.SEED, limits.MOMENTUM]


@pytest.mark.parametrize("limit", SESSION_LIMITS, ids=lambda lim: lim.key)
def test_a_session_takes_every_setting_up_to_its_limits(limit: limits.Limit) -> None:
    smallest = limits.SMALLEST_POSITIVE if limit.lo_open else limit.lo
    for value in (smallest, limit.hi):
        s = sessions.from_dict(with_value(limit.key, value))
        again = sessions.from_dict(json.loads(json.dumps(sessions.to_dict(s))))
        assert sessions.to_dict(again) == sessions.to_dict(s)


@pytest.mark.parametrize("limit", SESSION_LIMITS, ids=lambda lim: lim.key)
def test_one_step_past_a_limit_is_refused_naming_the_key_and_range(limit: limits.Limit) -> None:
    for value in (below(limit), above(limit)):
        with pytest.raises(InputError) as err:
            sessions.from_dict(with_value(limit.key, value))
        assert err.value.field == limit.key
        assert limit.range_text() in str(err.value)


def test_the_largest_learning_rate_is_taken_by_torch_optimizers_too() -> None:
    # torch's own check ran on a float32 probe, which cannot hold an lr beyond 3.4e38
    for name in ("sgd", "adam", "rmsprop", "lbfgs"):
        s = sessions.from_dict({"problem": SYSTEM, "optimizer": {"name": name, "lr": limits.LR.hi}})
        assert s.lr == limits.LR.hi


def test_a_float32_session_refuses_a_learning_rate_float32_cannot_hold() -> None:
    top = limits.LR_FLOAT32.hi
    s = sessions.from_dict(
        {"problem": SYSTEM, "optimizer": {"name": "sgd", "lr": top}, "dtype": "float32"}
    )
    run = Run(s.replace(max_iters=3))
    run.advance()
    assert run.stop_reason.value != "error", run.message
    with pytest.raises(InputError, match="beyond float32") as err:
        sessions.from_dict(
            {"problem": SYSTEM, "optimizer": {"name": "gd", "lr": 1e39}, "dtype": "float32"}
        )
    assert err.value.field == "optimizer.lr"


def test_a_sparse_shape_past_its_limit_is_refused_before_anything_is_built() -> None:
    a = {"shape": [limits.SPARSE_SIZE.hi + 1, 1], "rows": [1], "cols": [1], "values": [1.0]}
    with pytest.raises(InputError) as err:
        sessions.from_dict({"problem": {"kind": "linear_system", "A": a, "b": [1.0]}})
    assert err.value.field == "problem.A.shape"


# -- the headless runner: the same limits, the same words ----------------------------------------
@pytest.fixture(autouse=True)
def _own_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def test_the_headless_runner_runs_a_session_at_the_limits(tmp_path: Path, capsys) -> None:
    path = tmp_path / "edges.json"
    data = {
        "problem": SYSTEM,
        "optimizer": {"name": "gd", "lr": limits.SMALLEST_POSITIVE},
        "init": {"kind": "randn", "seed": limits.SEED.hi},
        "stop": {"max_iters": limits.MAX_ITERS.hi, "tol": limits.TOL.hi},
    }
    path.write_text(json.dumps(data))
    assert main.main(["--headless", str(path), "--json", "--no-analysis"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["stop_reason"] == "converged"  # every loss is below the largest tolerance


def test_the_headless_runner_refuses_an_iteration_limit_past_the_table(
    tmp_path: Path, capsys
) -> None:
    path = tmp_path / "past.json"
    data = {"problem": SYSTEM, "stop": {"max_iters": limits.MAX_ITERS.hi + 1, "tol": 1e300}}
    path.write_text(json.dumps(data))
    assert main.main(["--headless", str(path), "--json"]) == 2
    err = capsys.readouterr().err
    assert "stop.max_iters" in err and limits.MAX_ITERS.range_text() in err


# -- the document ----------------------------------------------------------------------------------
def test_the_sessions_doc_shows_the_limits_table_as_the_code_has_it() -> None:
    text = (ROOT / "docs" / "SESSIONS.md").read_text(encoding="utf-8")
    assert limits.markdown_table() in text, (
        "regenerate: python -c 'from solver.core.limits import *; print(markdown_table())'"
    )


def test_every_limit_holds_its_own_ends_and_nothing_past_them() -> None:
    for lim in limits.LIMITS:
        if lim.text:
            assert lim.holds("x" * int(lim.hi)) and not lim.holds("x" * (int(lim.hi) + 1))
            assert not lim.holds("")
            continue
        assert lim.holds(limits.SMALLEST_POSITIVE if lim.lo_open else lim.lo)
        assert lim.holds(lim.hi) and not lim.holds(True) and not lim.holds(math.nan)
        assert not lim.holds(above(lim)) and not lim.holds(below(lim))


def test_the_predicted_rate_is_a_number_at_every_step_size_and_momentum() -> None:
    import numpy as np

    from solver.insight.analysis import analyze
    from solver.problems.linear import LinearSystem

    an = analyze(LinearSystem(np.diag([1.0, 2.0, 4.0]), np.ones(3)), "half_sum_squares")
    for lr in (limits.SMALLEST_POSITIVE, 1.0, limits.LR.hi):
        for momentum in (0.0, 0.9, 1e300, limits.MOMENTUM.hi):
            rate = an.rate_for("sgd", lr, {"momentum": momentum})
            assert rate is not None and not math.isnan(rate), (lr, momentum, rate)
        assert an.rate_for("gd", lr) >= 0
    assert an.rate_for("sgd", limits.LR.hi, {"momentum": 0.9}) == math.inf
