"""Starting the window on a session file that cannot be used: it opens on the default
session, ready to run, and says why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "text",
    [
        "[" * 200_000 + "]" * 200_000,
        json.dumps(
            {"problem": {"A": [[1]], "b": [1]}, "optimizer": {"name": "lbfgs", "history_size": 0}}
        ),
        json.dumps({"problem": {"A": [[1]], "b": [1]}, "loss": ["mse"]}),
        "not json at all",
    ],
    ids=["deep", "history_size", "loss-list", "garbage"],
)
def test_a_bad_session_on_the_command_line_opens_the_default_with_the_reason(
    qtbot, make_window, tmp_path: Path, text: str
):
    bad = tmp_path / "bad.json"
    bad.write_text(text, encoding="utf-8")
    window = make_window(session_path=str(bad))
    assert window.model.ready and window.act_run.isEnabled()
    assert window.model.session.problem.kind == "linear_system"
    assert window.model.session.problem.A.shape == (3, 3)  # the 3×3 example
    assert "bad.json" in window.model.last_error
    assert window.live.start()
