"""An autosave owns its data: every array it names is stored with it under a name of its
content, user files are snapshotted, and a piece goes only when no autosave of any window or
process names it. Sizes are just over the inline limit (101 × 101 = 10,201 entries), so the
matrix is a piece beside the JSON."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from gui.autosave import AutosaveStore
from solver.problems.linear import LinearSystem
from solver.sessions import session as sessions

LONG = 60_000
ROOT = Path(__file__).resolve().parents[2]
N = 101  # 10,201 entries: beyond AUTOSAVE_INLINE_LIMIT


def matrix(seed: int, n: int = N) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, n)) + 2 * n * np.eye(n)


def big(seed: int, n: int = N) -> sessions.Session:
    """A system whose A is autosaved beside the JSON; b = A·1, a few iterations per run."""
    a = matrix(seed, n)
    return sessions.make(LinearSystem(a, a @ np.ones(n)), max_iters=3, lr=0.001 * (seed + 1))


def folder_of(w) -> Path:
    return w.persistence.data_dir


def run(qtbot, w) -> None:
    """F5, and wait for the run to end."""
    with qtbot.waitSignal(w.model.run_finished, timeout=LONG):
        w.live.run_or_resume()


def quit_window(w) -> None:
    w.close()
    w.persistence.flush()


def same_session(got: sessions.Session, want: sessions.Session) -> None:
    np.testing.assert_array_equal(got.problem.A, want.problem.A)
    np.testing.assert_array_equal(got.problem.b, want.problem.b)
    assert got.lr == want.lr


def restored(w) -> sessions.Session:
    assert "could not be restored" not in w.model.last_error, w.model.last_error
    assert w.model.session_label == "last session"
    return w.model.session


def referenced(folder: Path) -> set[Path]:
    """Every file an autosave in ``folder`` (the current one and those moved aside) names."""
    out = set()
    for path in [folder / "last-session.json", *folder.glob("last-session.unrestorable-*.json")]:
        if not path.is_file():
            continue
        problem = json.loads(path.read_text(encoding="utf-8"))["problem"]
        for value in problem.values() if isinstance(problem, dict) else ():
            if isinstance(value, dict) and "file" in value:
                out.add((folder / value["file"]).resolve())
    return out


def assert_every_name_exists(folder: Path) -> None:
    missing = [p.name for p in referenced(folder) if not p.is_file()]
    assert missing == [], f"the autosave names files that are gone: {missing}"
    outside = [p for p in referenced(folder) if p.parent != folder.resolve()]
    assert outside == [], f"the autosave names files it does not own: {outside}"


def test_two_windows_restored_from_one_autosave_never_lose_its_matrix(qtbot, make_window):
    first = make_window()
    assert first.editor.load_session(big(1))
    quit_window(first)
    one, two = make_window(), make_window()
    for w in (one, two):
        same_session(restored(w), big(1))
    run(qtbot, one)
    assert one.editor.load_session(big(2))
    run(qtbot, one)
    quit_window(one)  # its autosave names big(2) only: big(1)'s piece is named by no autosave
    run(qtbot, two)
    quit_window(two)  # ... but this window's session still needs it
    assert_every_name_exists(folder_of(two))
    same_session(restored(make_window()), big(1))


def test_undo_back_to_a_restored_session_autosaves_its_matrix(qtbot, make_window):
    first = make_window()
    assert first.editor.load_session(big(1))
    quit_window(first)
    w = make_window()
    same_session(restored(w), big(1))
    run(qtbot, w)
    assert w.editor.load_session(big(2))
    run(qtbot, w)
    w.undo.stack.undo()  # Ctrl+Z: the restored session again
    same_session(w.model.session, big(1))
    run(qtbot, w)
    quit_window(w)
    assert_every_name_exists(folder_of(w))
    same_session(restored(make_window()), big(1))


def test_a_session_saved_after_a_restore_does_not_lean_on_the_autosaves_files(
    make_window, tmp_path
):
    """The restored arrays are the window's own: a session the user saves from them names
    none of the autosave's pieces, which go once no autosave names them."""
    first = make_window()
    assert first.editor.load_session(big(1))
    quit_window(first)
    w = make_window()
    same_session(restored(w), big(1))
    mine = tmp_path / "mine.json"
    assert w.persistence.save_session(mine)
    w.persistence.autosave()
    assert w.editor.load_session(big(2))
    w.persistence.autosave()  # big(1)'s piece is named by no autosave now: it goes
    same_session(sessions.load(mine), big(1))


@pytest.mark.parametrize("n", [3, N], ids=["inline", "piece"])
def test_the_session_closed_is_restored_whatever_became_of_the_users_file(make_window, tmp_path, n):
    mine = tmp_path / "mine.npy"
    np.save(mine, matrix(7, n))
    w = make_window()
    assert w.editor.import_matrix(str(mine))
    closed = w.model.session
    quit_window(w)
    assert_every_name_exists(folder_of(w))

    np.save(mine, matrix(8, n))  # the user edits the file after closing
    again = make_window()
    same_session(restored(again), closed)
    quit_window(again)

    mine.unlink()  # ... and deletes it
    same_session(restored(make_window()), closed)


def test_a_large_user_file_is_copied_into_the_autosave_when_it_is_opened(make_window, tmp_path):
    """Not at quit: 200 MB copied then would keep the process seconds after its window."""
    mine = tmp_path / "mine.npy"
    np.save(mine, matrix(6))
    w = make_window()
    assert w.editor.import_matrix(str(mine))
    w.persistence.flush()
    same_session(sessions.load(w.persistence.autosave_path()), w.model.session)
    assert_every_name_exists(folder_of(w))


def test_an_unchanged_user_file_is_stored_once(make_window, tmp_path):
    mine = tmp_path / "mine.npy"
    np.save(mine, matrix(9))
    w = make_window()
    assert w.editor.import_matrix(str(mine))
    w.persistence.autosave()
    (piece,) = folder_of(w).glob("last-session-A-*.npy")
    written = piece.stat().st_mtime_ns, piece.stat().st_ino
    w.editor.change({"lr": 0.003})
    w.persistence.autosave()
    assert (piece.stat().st_mtime_ns, piece.stat().st_ino) == written
    assert list(folder_of(w).glob("last-session-A-*.npy")) == [piece]


def test_two_writers_of_one_session_file_never_share_a_temporary_file(tmp_path, monkeypatch):
    """The first writer has written its temporary file when the second writes the whole
    session; both must succeed, the last one to finish wins."""
    target = tmp_path / "last-session.json"
    real_replace = os.replace
    first_written, second_done = threading.Event(), threading.Event()
    temporaries: list[str] = []

    def replace(src: str | Path, dst: str | Path) -> None:
        temporaries.append(Path(src).name)
        if threading.current_thread().name == "first":
            first_written.set()
            assert second_done.wait(30)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    failures: list[BaseException] = []

    def first() -> None:
        try:
            sessions.save(big(1, 3), target)
        except OSError as exc:
            failures.append(exc)

    thread = threading.Thread(target=first, name="first")
    thread.start()
    assert first_written.wait(30)
    sessions.save(big(2, 3), target)
    second_done.set()
    thread.join(30)
    assert failures == []
    same_session(sessions.load(target), big(1, 3))
    assert len(set(temporaries)) == 2
    assert all(f".tmp-{os.getpid()}-" in name for name in temporaries)
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


COLLECT = "import sys; from gui.autosave import AutosaveStore; " + (
    "print(len(AutosaveStore(sys.argv[1]).collect(wait_ms=0)))"
)


def test_a_piece_written_but_not_yet_named_is_never_collected(tmp_path, monkeypatch):
    """Between a piece and the JSON that names it, neither another window of this process
    nor another process collects it: the folder is locked."""
    folder = tmp_path / "data"
    real_save = sessions.save
    seen: list[object] = []

    def collect_meanwhile(s: sessions.Session, path: Path, beside: bool = True) -> None:
        assert list(folder.glob("last-session-A-*.npy"))  # written, named by nothing yet
        seen.append(AutosaveStore(folder).collect(wait_ms=0))
        seen.append(
            subprocess.run(
                [sys.executable, "-c", COLLECT, str(folder)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )
        )
        real_save(s, path, beside=beside)

    monkeypatch.setattr(sessions, "save", collect_meanwhile)
    AutosaveStore(folder).write(big(3))
    other = seen[1]
    assert seen[0] == [] and (other.returncode, other.stdout.strip()) == (0, "0"), other.stderr
    assert_every_name_exists(folder)
    same_session(sessions.load(folder / "last-session.json"), big(3))


def a_dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(done.stdout)


def test_what_no_autosave_names_is_collected_at_start_up_off_the_gui_thread(
    make_window, monkeypatch
):
    w = make_window()
    assert w.editor.load_session(big(1))
    quit_window(w)
    folder = folder_of(w)
    (kept,) = folder.glob("last-session-A-*.npy")
    aside_piece = folder / "last-session-b-fedcba9876543210.npy"
    np.save(aside_piece, np.ones(3))
    (folder / "last-session.unrestorable-20261201-120000.json").write_text(
        '{"version": 1, "problem": {"kind": "linear", "b": {"file": "' + aside_piece.name + '"}'
    )  # damaged, but what it names is the user's to recover
    dead, alive = a_dead_pid(), os.getpid()
    orphans = [
        folder / "last-session-A-0123456789abcdef.npy",
        folder / "last-session-A.npy",  # an earlier version's piece, named by nothing
        folder / f"last-session-A-0123456789abcdef.tmp-{dead}-0a1b2c3d.npy",
        folder / f"last-session.tmp-{dead}-0a1b2c3d.json",
        folder / "last-session.json.tmp",
    ]
    writing = folder / f"last-session.tmp-{alive}-0a1b2c3d.json"  # a writer still running
    unrelated = folder / "notes-last-session-A.npy"
    for path in [*orphans, writing, unrelated]:
        path.write_bytes(b"x" * 64)
    threads: list[bool] = []
    real_collect = AutosaveStore.collect

    def collect(self: AutosaveStore, *args: object, **kw: object) -> list[str]:
        threads.append(threading.current_thread() is threading.main_thread())
        return real_collect(self, *args, **kw)

    monkeypatch.setattr(AutosaveStore, "collect", collect)
    again = make_window()
    same_session(restored(again), big(1))
    again.persistence.flush()
    assert threads == [False]
    assert [p.name for p in orphans if p.exists()] == []
    assert kept.is_file() and aside_piece.is_file() and writing.is_file() and unrelated.is_file()


def test_the_quit_autosave_is_written_off_the_gui_thread_and_flush_waits_for_it(
    make_window, monkeypatch
):
    w = make_window()
    assert w.editor.load_session(big(4))
    on_gui_thread: list[bool] = []
    real_save = sessions.save

    def save(s: sessions.Session, path: Path, beside: bool = True) -> None:
        on_gui_thread.append(threading.current_thread() is threading.main_thread())
        real_save(s, path, beside=beside)

    monkeypatch.setattr(sessions, "save", save)
    w.close()
    w.persistence.flush()
    assert on_gui_thread == [False]
    same_session(restored(make_window()), big(4))


def test_a_quit_autosave_that_fails_is_said_on_stderr(make_window, monkeypatch, capfd):
    w = make_window()
    assert w.editor.load_session(big(5))

    def full(*_a: object, **_kw: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sessions, "save", full)
    w.close()
    w.persistence.flush()
    err = capfd.readouterr().err
    assert "Could not autosave" in err and "No space left" in err


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_after_any_sequence_every_name_in_the_autosave_exists(qtbot, make_window, tmp_path, seed):
    """Loads of big and small problems and user files (edited after), runs, undo, a second
    window's autosave, quits and restarts: the autosave always names files that exist, and a
    restart restores the session the last window closed."""
    rnd = random.Random(seed)
    w = make_window()
    mine = tmp_path / "mine.npy"
    for step in range(12):
        action = rnd.choice(["big", "small", "file", "run", "undo", "second", "restart"])
        if action == "big":
            assert w.editor.load_session(big(rnd.randrange(4)))
        elif action == "small":
            assert w.editor.load_session(big(rnd.randrange(4), 3))
        elif action == "file":
            np.save(mine, matrix(rnd.randrange(4)))
            assert w.editor.import_matrix(str(mine))
            np.save(mine, matrix(99))  # edited at once: the autosave must not care
        elif action == "run":
            run(qtbot, w)
        elif action == "undo" and w.undo.stack.canUndo():
            w.undo.stack.undo()
        elif action == "second":
            other = make_window()
            run(qtbot, other)
            assert other.editor.load_session(big(10 + step))
            quit_window(other)
        elif action == "restart":
            closed = w.model.session
            quit_window(w)
            w = make_window()
            same_session(restored(w), closed)
        w.persistence.flush()
        assert_every_name_exists(folder_of(w))
    closed = w.model.session
    quit_window(w)
    assert_every_name_exists(folder_of(w))
    same_session(restored(make_window()), closed)
