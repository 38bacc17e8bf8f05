"""``main.py --sweep SPEC.json --out map.csv --json``: a session run at every cell of a grid
of one or two of its settings, one CSV row per cell, the measured rate beside the rate the
spectrum predicts; a bad spec is one line naming its key, exit 2, and nothing written."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import main
from solver.insight.analysis import analyze
from solver.run.batch import BatchRun
from solver.sessions import session as sessions

ROOT = Path(__file__).resolve().parents[3]
SEED = str(ROOT / "examples" / "seed-3x3.json")


def sweep(tmp_path: Path, spec: dict, capsys: pytest.CaptureFixture) -> tuple[int, list, dict]:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    out = tmp_path / "map.csv"
    status = main.main(["--sweep", str(path), "--out", str(out), "--json"])
    text = capsys.readouterr()
    if status != 0:
        return status, [], {"stderr": text.err}
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return status, rows, json.loads(text.out)


def test_a_map_of_step_size_and_momentum_on_the_seed_system(tmp_path, capsys):
    session = sessions.load(SEED).replace(
        optimizer="sgd", optimizer_args={"momentum": 0.5}, tol=1e-10, max_iters=3000
    )
    spec = {
        "version": 1,
        "session": sessions.to_dict(session),
        "axes": [
            {"key": "optimizer.lr", "from": 0.02, "to": 0.5, "count": 5, "scale": "log"},
            {"key": "optimizer.momentum", "values": [0.0, 0.5, 0.9]},
        ],
    }
    status, rows, line = sweep(tmp_path, spec, capsys)
    assert status == 0 and len(rows) == 15 and line["cells"] == 15 and line["theory"] is True
    assert list(rows[0]) == [
        "optimizer.lr", "optimizer.momentum",
        "iterations", "stop_reason", "final_loss", "measured_rate", "predicted_rate",
    ]  # fmt: skip
    lrs = np.geomspace(0.02, 0.5, 5)
    assert [float(r["optimizer.lr"]) for r in rows[::3]] == pytest.approx(lrs, rel=1e-15)
    assert [float(r["optimizer.momentum"]) for r in rows[:3]] == [0.0, 0.5, 0.9]
    # each cell is the batch's run of those settings
    lr, mu = np.repeat(lrs, 3), np.tile([0.0, 0.5, 0.9], 5)
    batch = BatchRun(session, {"lr": lr, "momentum": mu}, 15).run()
    assert [int(r["iterations"]) for r in rows] == list(batch.iterations)
    assert [r["stop_reason"] for r in rows] == [str(s) for s in batch.stop_reason]
    assert line["total_iterations"] == int(batch.iterations.sum())
    converged = [r for r in rows if r["stop_reason"] == "converged"]
    fastest = min(converged, key=lambda r: int(r["iterations"]))
    assert line["best"]["iterations"] == int(fastest["iterations"])
    # the heavy ball's spectral radius beside each cell, as the analysis predicts it
    a = analyze(session.problem, session.loss, session.lr)
    for r in rows:
        args = {"momentum": float(r["optimizer.momentum"])}
        expected = a.rate_for("sgd", float(r["optimizer.lr"]), args)
        assert float(r["predicted_rate"]) == pytest.approx(expected, rel=1e-12)
    # and a gd cell that ran long enough measures the rate it predicts (a heavy ball's loss
    # rings under its envelope: a window of it does not measure its rate to 1e-3)
    slow = [
        r
        for r in rows
        if r["measured_rate"] and int(r["iterations"]) > 200 and r["optimizer.momentum"] == "0.0"
    ]
    assert slow
    for r in slow:
        measured, predicted = float(r["measured_rate"]), float(r["predicted_rate"])
        assert measured == pytest.approx(predicted, rel=1e-3), r


def test_the_seeds_step_size_against_stop_loss_question_as_a_tolerance_axis(tmp_path, capsys):
    spec = {
        "session": SEED,
        "axes": [
            {"key": "optimizer.lr", "values": [0.05, 0.2]},
            {"key": "stop.tol", "from": 1e-12, "to": 1e-2, "count": 3, "scale": "log"},
        ],
    }
    status, rows, _line = sweep(tmp_path, spec, capsys)
    assert status == 0 and len(rows) == 6
    for lr in ("0.05", "0.2"):
        its = [int(r["iterations"]) for r in rows if r["optimizer.lr"] == lr]
        assert its == sorted(its, reverse=True)  # a looser tolerance stops sooner


def test_no_theory_for_the_l1_loss_the_map_is_measured_alone(tmp_path, capsys):
    session = sessions.load(SEED).replace(loss="l1_norm", max_iters=500)
    spec = {
        "session": sessions.to_dict(session),
        "axes": [{"key": "optimizer.lr", "values": [0.001, 0.01]}],
    }
    status, rows, line = sweep(tmp_path, spec, capsys)
    assert status == 0 and line["theory"] is False
    assert all(r["predicted_rate"] == "" for r in rows)


@pytest.mark.parametrize(
    ("axes", "says"),
    [
        ([{"key": "optimizer.speed", "values": [1]}], "axes[0].key: 'optimizer.speed' is not"),
        ([{"key": "optimizer.betas.0", "values": [0.9]}], "gd has no such setting"),
        ([{"key": "optimizer.lr", "from": 0.1, "to": 0.1, "count": 5}], "is empty"),
        ([{"key": "optimizer.lr", "from": 0.5, "to": 0.1, "count": 5}], "runs backwards"),
        (
            [{"key": "optimizer.lr", "from": 0.0, "to": 0.1, "count": 5, "scale": "log"}],
            "a log axis cannot reach 0",
        ),
        ([{"key": "optimizer.lr", "values": []}], "non-empty list"),
        (
            [
                {"key": "optimizer.lr", "from": 0.01, "to": 1, "count": 2000},
                {"key": "stop.tol", "from": 1e-9, "to": 1e-3, "count": 2000},
            ],
            "4,000,000 cells; a sweep takes at most 1,000,000",
        ),
        ([], "one or two axes"),
    ],
)
def test_a_bad_spec_is_one_line_naming_the_key_and_writes_nothing(tmp_path, capsys, axes, says):
    out = tmp_path / "map.csv"
    out.write_text("an earlier map\n", encoding="utf-8")
    status, _rows, err = sweep(tmp_path, {"session": SEED, "axes": axes}, capsys)
    assert status == 2
    lines = err["stderr"].strip().splitlines()
    assert len(lines) == 1 and says in lines[0], lines
    assert out.read_text(encoding="utf-8") == "an earlier map\n"


def test_a_spec_that_is_not_json_or_names_no_session(tmp_path, capsys):
    path = tmp_path / "spec.json"
    path.write_text("{not json", encoding="utf-8")
    assert main.main(["--sweep", str(path)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    status, _rows, err = sweep(tmp_path, {"axes": [{"key": "optimizer.lr", "values": [1]}]}, capsys)
    assert status == 2 and "session: expected a session" in err["stderr"]
