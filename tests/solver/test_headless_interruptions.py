"""The headless runner when it is interrupted or cannot write: Ctrl+C and SIGTERM keep the
history so far, an output file never looks complete when it is not, and what can be checked
before a long run is checked before it."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import main
import solver.headless
from solver.sessions import presets
from solver.sessions import session as sessions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def endless(tmp_path: Path) -> Path:
    path = tmp_path / "endless.json"
    s = presets.build("seed-3x3").replace(max_iters=10**9, tol=0.0)
    path.write_text(json.dumps(sessions.to_dict(s)), encoding="utf-8")
    return path


def test_ctrl_c_keeps_the_history_and_says_interrupted(endless, tmp_path, monkeypatch, capsys):
    real = solver.headless.Run.advance
    calls = []

    def advance(self, *a, **kw):
        if not calls:  # the user presses Ctrl+C once the run is under way
            calls.append(real(self, max_updates=500))
            os.kill(os.getpid(), signal.SIGINT)
        return real(self, *a, **kw)

    monkeypatch.setattr(solver.headless.Run, "advance", advance)
    out = tmp_path / "h.csv"
    code = main.main(["--headless", str(endless), "--out", str(out), "--json"])
    assert code == 130
    result = json.loads(capsys.readouterr().out)
    assert result["stop_reason"] == "interrupted" and result["iterations"] >= 500
    assert "interrupted" in result["message"]
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == result["iterations"] + 1  # every entry up to the stop
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("h.") and p.name != "h.csv"]


def test_sigterm_keeps_the_history_and_says_terminated(endless, tmp_path, monkeypatch, capsys):
    real = solver.headless.Run.advance
    calls = []

    def advance(self, *a, **kw):
        if not calls:  # a logout or ``kill`` once the run is under way
            calls.append(real(self, max_updates=500))
            os.kill(os.getpid(), signal.SIGTERM)
        return real(self, *a, **kw)

    monkeypatch.setattr(solver.headless.Run, "advance", advance)
    before = signal.getsignal(signal.SIGTERM)
    out = tmp_path / "h.csv"
    code = main.main(["--headless", str(endless), "--out", str(out), "--json"])
    assert code == 143
    result = json.loads(capsys.readouterr().out)
    assert result["stop_reason"] == "terminated" and result["iterations"] >= 500
    assert result["message"].startswith("terminated (SIGTERM) at iteration")
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == result["iterations"] + 1  # every entry up to the stop
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("h.") and p.name != "h.csv"]
    assert signal.getsignal(signal.SIGTERM) == before  # given back


def test_a_missing_folder_is_refused_before_the_run(endless, tmp_path, monkeypatch, capsys):
    def no_run(*_a, **_kw):
        raise AssertionError("the run started although --out cannot be written")

    monkeypatch.setattr(solver.headless, "Run", no_run)
    code = main.main(["--headless", str(endless), "--out", str(tmp_path / "nope" / "h.csv")])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err


def test_out_naming_the_session_file_is_refused_and_the_session_kept(endless, capsys):
    before = endless.read_bytes()
    assert main.main(["--headless", str(endless), "--out", str(endless)]) == 2
    assert "session file itself" in capsys.readouterr().err
    assert endless.read_bytes() == before


def test_a_csv_cut_short_never_appears_complete(tmp_path, monkeypatch, capsys):
    session = ROOT / "examples" / "seed-3x3.json"
    out = tmp_path / "h.csv"
    out.write_text("an older, complete file\n", encoding="utf-8")
    from solver.run.history import History

    def broken(self, path, derived=None):
        Path(path).write_text("iteration,loss\n0,", encoding="utf-8")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(History, "to_csv", broken)
    assert main.main(["--headless", str(session), "--out", str(out)]) == 2
    assert "No space left" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "an older, complete file\n"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("h.") and p.name != "h.csv"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_json_to_a_full_pipe_is_one_line_not_a_traceback() -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "main.py", "--headless", "examples/seed-3x3.json", "--json"],
            cwd=ROOT,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "standard output" in lines[0], proc.stderr


def test_sigterm_while_the_run_is_created_still_writes_the_summary(
    endless, tmp_path, monkeypatch, capsys
):
    real = solver.headless.Run.__init__

    def create(self, *a, **kw):
        os.kill(os.getpid(), signal.SIGTERM)  # during the exact reference of a large problem
        real(self, *a, **kw)

    monkeypatch.setattr(solver.headless.Run, "__init__", create)
    out = tmp_path / "h.csv"
    code = main.main(["--headless", str(endless), "--out", str(out), "--json"])
    assert code == 143
    result = json.loads(capsys.readouterr().out)
    assert result["stop_reason"] == "terminated" and result["iterations"] == 0
    assert len(list(csv.DictReader(out.open(encoding="utf-8")))) == 1  # the start
