"""The autosave between windows and restarts: two windows never mix their data, a piece that
does not belong is refused, an autosave that cannot be restored is kept aside, and a folder
that cannot be written says so until dismissed."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from solver.problems.linear import LinearSystem
from solver.sessions import session as sessions


def big(seed: int) -> sessions.Session:
    """A system large enough that its A is autosaved beside the JSON, with b = A·1."""
    a = np.random.default_rng(seed).standard_normal((120, 120)) + 12 * np.eye(120)
    return sessions.make(LinearSystem(a, a @ np.ones(120)))


def data_dir(w) -> Path:
    return w.persistence.data_dir


def test_two_windows_autosaving_in_turn_never_pair_one_a_with_the_others_b(make_window):
    one, two = make_window(), make_window()
    one.editor.load_session(big(1))
    two.editor.load_session(big(2))
    one.persistence.autosave()
    two.persistence.autosave()
    one.editor.change({"lr": 0.05})  # the first window saves again: it names its own A
    one.persistence.autosave()
    restored = make_window()
    s = restored.model.session
    np.testing.assert_allclose(s.problem.A @ np.ones(120), s.problem.b)
    np.testing.assert_array_equal(s.problem.A, big(1).problem.A)
    assert s.lr == 0.05


def test_a_piece_replaced_under_the_autosave_is_not_restored(make_window):
    w = make_window()
    w.editor.load_session(big(3))
    w.persistence.autosave()
    (piece,) = data_dir(w).glob("last-session-A-*.npy")
    np.save(piece, big(4).problem.A)  # another window's A, under this one's name
    again = make_window()
    assert again.model.session.problem.A.shape == (3, 3)  # the default, not a mixed session
    assert "could not be restored" in again.model.last_error
    assert "does not match" in again.model.last_error
    assert list(data_dir(w).glob("last-session.unrestorable-*.json"))


def test_an_autosave_that_cannot_be_restored_is_moved_aside_not_overwritten(make_window, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "last-session.json").write_text('{"version": 1, "problem": 42}', encoding="utf-8")
    w = make_window()
    assert w.model.ready and w.model.session.problem.A.shape == (3, 3)
    (aside,) = folder.glob("last-session.unrestorable-*.json")
    assert aside.read_text(encoding="utf-8") == '{"version": 1, "problem": 42}'
    assert str(aside) in w.model.last_error
    w.persistence.autosave()  # the next autosave writes a new file; the old one is kept
    assert aside.is_file() and (folder / "last-session.json").is_file()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_says_so_once_and_keeps_saying(make_window, tmp_path):
    w = make_window()
    folder = data_dir(w)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o500)
    try:
        refused = []
        w.model.refused.connect(lambda title, text: refused.append(title))
        w.persistence.autosave()
        w.persistence.autosave()
        assert refused == ["Could not autosave"]  # a dialog until dismissed, not twice
    finally:
        folder.chmod(0o700)


def test_an_autosave_failure_is_a_refusal_shown_once_per_cause(make_window, monkeypatch):
    w = make_window()
    refused = []
    w.model.refused.connect(lambda title, text: refused.append((title, text)))

    def full(*_a, **_kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sessions, "save", full)
    w.persistence.autosave()
    w.persistence.autosave()
    assert len(refused) == 1 and refused[0][0] == "Could not autosave"
    assert "No space left" in refused[0][1] and "No space left" in w.model.last_error
