"""The headless runner as a user calls it, and the presets (the solver's imports:
test_solver_imports.py)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import main
from solver import Run
from solver.headless import result as run_summary
from solver.sessions.presets import PRESETS, build

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
RESULT_KEYS = {"stop_reason", "iterations", "final_loss", "x", "error_norm", "analysis"}
ANALYSIS_KEYS = {"cond", "lipschitz", "max_stable_lr", "recommended_lr"}


@pytest.fixture(autouse=True)
def _own_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The runner keeps its analysis cache in the app's data folder: a test's own, never the
    # user's (a subprocess inherits it too).
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def headless(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python main.py --headless ...` in a fresh interpreter, from the repository root."""
    return subprocess.run(
        [sys.executable, "main.py", "--headless", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_there_is_an_example_for_every_seed_article_and_a_matrix_file() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {
        "seed-3x3",
        "seed-random-2x2",
        "seed-inverse-random",
        "seed-inverse-diagonal",
        "seed-puzzle",
        "seed-polyfit",
    } <= names
    assert any(n.startswith("matrix-") for n in names)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_runs_headless_with_the_documented_json(
    path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main.main(["--headless", str(path), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])

    assert RESULT_KEYS <= set(result)
    assert ANALYSIS_KEYS <= set(result["analysis"])
    assert result["stop_reason"] in {"converged", "max_iters"}
    assert isinstance(result["iterations"], int) and result["iterations"] > 0
    assert np.isfinite(result["final_loss"])
    assert all(np.isfinite(result["x"]))
    assert result["error_norm"] is None or result["error_norm"] >= 0
    an = result["analysis"]
    if an["lipschitz"] is not None:
        assert an["max_stable_lr"] == pytest.approx(2 / an["lipschitz"])
        assert an["recommended_lr"] == pytest.approx(1 / an["lipschitz"])

    session = json.loads(path.read_text())
    problem = session["problem"]
    if problem.get("kind") == "inverse":
        assert len(result["x"]) == len(problem["M"]) ** 2
        x = np.reshape(result["x"], (len(problem["M"]),) * 2)
        np.testing.assert_allclose(x @ np.array(problem["M"]), np.eye(len(x)), atol=1e-4)
    if path.stem == "seed-3x3":
        assert result["stop_reason"] == "converged"
        np.testing.assert_allclose(result["x"], [-3, 2, 3], atol=1e-7)
        assert an["cond"] == pytest.approx(3 + 2 * np.sqrt(2))
        assert an["lipschitz"] == pytest.approx(3 + 2 * np.sqrt(2))
    if path.stem == "seed-inverse-diagonal":
        np.testing.assert_allclose(
            result["x"], np.diag([1, 1 / 2, 1 / 3, 1 / 4]).ravel(), atol=1e-6
        )
        assert an["cond"] == pytest.approx(4.0)
    if path.stem.startswith("matrix-"):
        # b = A·1 there: the answer is all ones.
        np.testing.assert_allclose(result["x"], 1.0, atol=1e-5)
        assert result["error_norm"] < 1e-5
    if path.stem == "seed-puzzle":
        assert an["cond"] is None  # rank 3 of 4


def test_headless_in_a_fresh_process_writes_json_and_the_history(tmp_path: Path) -> None:
    out = tmp_path / "history.csv"
    proc = headless("examples/seed-3x3.json", "--json", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    result = json.loads(proc.stdout.strip())
    assert RESULT_KEYS <= set(result) and ANALYSIS_KEYS <= set(result["analysis"])

    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == result["iterations"] + 1  # one row per history entry
    assert [int(r["iteration"]) for r in rows] == list(range(len(rows)))
    assert float(rows[0]["loss"]) == pytest.approx(7.0)  # ½‖b‖² at x = 0
    assert float(rows[-1]["loss"]) == result["final_loss"]
    losses = np.array([float(r["loss"]) for r in rows])
    assert np.all(np.diff(losses) < 0)  # lr 0.1 < 1/L: gd descends monotonically here


def test_headless_without_json_prints_a_human_line(capsys: pytest.CaptureFixture) -> None:
    assert main.main(["--headless", str(ROOT / "examples" / "seed-3x3.json")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("converged: loss ") and "iterations" in out
    assert len(out.splitlines()) == 1


def test_a_bad_session_exits_non_zero_with_one_line_naming_the_key(tmp_path: Path) -> None:
    bad = json.loads((ROOT / "examples" / "seed-3x3.json").read_text())
    bad["optimizer"]["lr"] = -1
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    proc = headless(str(tmp_path / "bad.json"), "--json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "optimizer.lr" in lines[0] and "Traceback" not in proc.stderr
    assert lines[0].startswith("error: ")


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ('{"problem": {"A": [[1]], "b": [1]}, "optimiser": {}}', "optimiser"),
        ('{"problem": {"A": {"file": "nowhere.mtx"}, "b": [1]}}', "problem.A.file"),
        ('{"problem": {"A": [[1, 2]], "b": [1]}, "device": "cuda:3"}', "device"),
        ("{not json", "session"),
    ],
)
def test_bad_sessions_in_process_report_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture, content: str, key: str
) -> None:
    path = tmp_path / "s.json"
    path.write_text(content)
    assert main.main(["--headless", str(path), "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert f": {key}: " in err


def test_a_missing_session_file_is_reported(capsys: pytest.CaptureFixture) -> None:
    assert main.main(["--headless", "no/such/session.json"]) == 2
    assert "session: " in capsys.readouterr().err


def test_an_unwritable_out_path_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main.main(
        [
            "--headless",
            str(ROOT / "examples" / "seed-3x3.json"),
            "--out",
            str(tmp_path / "missing-dir" / "h.csv"),
        ]
    )
    assert code == 2
    assert "--out" in capsys.readouterr().err


def test_a_diverging_session_still_exits_zero_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    s = json.loads((ROOT / "examples" / "seed-3x3.json").read_text())
    s["optimizer"]["lr"] = 10.0
    s["stop"]["divergence"] = False  # to the overflow
    (tmp_path / "s.json").write_text(json.dumps(s))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy overflow warnings would land on stderr
        assert main.main(["--headless", str(tmp_path / "s.json"), "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    result = json.loads(out)
    assert result["stop_reason"] == "diverged" and result["iterations"] == 88
    assert result["final_loss"] is None  # inf is not JSON
    assert "lr · L = 10 × 5.828" in result["message"]


@pytest.mark.parametrize("key", list(PRESETS))
def test_every_preset_builds_and_runs(key: str) -> None:
    s = build(key)
    run = Run(s)
    assert run.advance(5) == 5
    assert run.iteration == 5 and len(run.history) == 6
    assert np.all(np.isfinite(run.history.loss))
    assert run.history.loss[-1] <= run.history.loss[0] * 1.5
    assert set(run_summary(run)) >= RESULT_KEYS


def test_preset_parameters_are_checked() -> None:
    s = build("random-cond", n=6, cond=1e3, seed=2)
    assert s.problem.A.shape == (6, 6)
    assert Run(s).analysis().cond == pytest.approx(1e3, rel=1e-9)
    with pytest.raises(ValueError, match="preset"):
        build("random-cond", size=6)
    with pytest.raises(ValueError, match="unknown preset"):
        build("no-such-preset")


def test_diverged_run_prints_strict_json_and_a_finite_far_error(tmp_path):
    """A blown-up run: x holds inf or huge values; the summary stays valid JSON."""
    from solver.sessions.builders import seed_3x3

    run = Run(seed_3x3().replace(lr=0.36, max_iters=100_000))  # just above 2/L = 0.343
    run.advance()
    assert run.stop_reason.value == "diverged"
    text = json.dumps(run_summary(run), allow_nan=False)  # raises on NaN/Infinity
    assert json.loads(text)["stop_reason"] == "diverged"
    huge = Run(seed_3x3().replace(init="values", init_values=[1e200, -1e200, 1e200], max_iters=0))
    assert huge.error_norm() == pytest.approx(np.sqrt(3) * 1e200, rel=1e-12)


def test_a_sparse_session_runs_headless_and_says_how_it_was_analysed(tmp_path) -> None:
    import scipy.sparse as sp

    from solver.matrices.sparseio import save_sparse

    n = 10_000  # 100,000,000 entries dense: only sparse loads it
    t = sp.diags_array([-np.ones(n - 1), 4 * np.ones(n), -np.ones(n - 1)], offsets=[-1, 0, 1])
    save_sparse(tmp_path / "tri.mtx", t)
    np.save(tmp_path / "b.npy", t @ np.ones(n))
    session = tmp_path / "s.json"
    session.write_text(
        json.dumps(
            {
                "problem": {"A": {"file": "tri.mtx"}, "b": {"file": "b.npy"}},
                "optimizer": {"name": "gd", "lr": 1 / 36},  # L = σmax² ≈ 6² here
                "stop": {"max_iters": 200, "tol": 1e-20},
            }
        )
    )
    done = headless(str(session), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    a = result["analysis"]
    assert a["sparse"] is True and a["exact_method"] == "sparse LU (SuperLU)"
    assert "sparse LU" in a["spectrum_method"]
    # σ clusters within 1e-7 at both ends here: Lanczos stops early, and the bound says so
    assert abs(a["lipschitz"] - 36) <= a["spectrum_error"]["lipschitz"] + 1e-9
    assert result["iterations"] == 200 and result["error_norm"] < 1e-6
    assert len(result["x"]) == n


def poisson_session(tmp_path: Path) -> Path:
    """A 2-D Poisson session small enough for a test and large enough to be cached (sparse)."""
    from solver.sessions import builders
    from solver.sessions import session as sessions

    path = tmp_path / "poisson.json"
    sessions.save(builders.poisson(20, 30).replace(max_iters=40), path)
    return path


def summary_of(capsys: pytest.CaptureFixture) -> dict:
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    out.pop("elapsed_s")
    return out


def test_a_second_headless_run_reads_the_analysis_from_the_cache(
    tmp_path: Path, expensive: list[str], capsys: pytest.CaptureFixture
) -> None:
    session = poisson_session(tmp_path)
    assert main.main(["--headless", str(session), "--json"]) == 0
    first = summary_of(capsys)
    assert sorted(expensive) == ["estimate_sigma_max", "estimate_sigma_min", "sparse_lu"]
    folder = tmp_path / "xdg-data" / "DescentLab" / "Descent Lab" / "analysis-cache"
    assert len(list(folder.glob("*.npz"))) == 1
    expensive.clear()
    assert main.main(["--headless", str(session), "--json"]) == 0
    assert expensive == []  # neither the spectrum nor the exact reference again
    assert summary_of(capsys) == first


def test_no_analysis_runs_without_it_and_says_so(
    tmp_path: Path, expensive: list[str], capsys: pytest.CaptureFixture
) -> None:
    session = poisson_session(tmp_path)
    assert main.main(["--headless", str(session), "--json", "--no-analysis"]) == 0
    result = summary_of(capsys)
    # only the exact reference, which the run's error column needs
    assert expensive == ["sparse_lu"]
    assert result["iterations"] == 40 and result["error_norm"] > 0
    assert result["analysis"] is None
    assert result["cg_iterations"] is None and result["explanation"] is None
    assert "--no-analysis" in result["analysis_skipped"]
    assert 0 < result["measured_rate"] < 1
    expensive.clear()
    assert main.main(["--headless", str(session), "--json", "--no-analysis"]) == 0
    assert expensive == []  # the exact reference came from the cache
    with pytest.raises(SystemExit):
        main.parse_args(["--no-analysis"])
    assert "--no-analysis go with --headless" in capsys.readouterr().err
