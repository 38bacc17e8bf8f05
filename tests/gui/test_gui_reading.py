"""The window reads only regular files: a folder named like a matrix or a session, a named
pipe given as the session, and Open recent on a path that became a folder are each refused
with words that say what the path is, and nothing changes (pytest-qt, offscreen)."""

from __future__ import annotations

import os
import threading

import pytest
import test_gui
from test_gui_window import _session_file, drop


@pytest.mark.parametrize("name", ["x.csv", "x.mtx", "x.npz", "x.json"])
def test_a_folder_named_like_a_file_is_called_a_folder(qtbot, window, tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    before = window.model.session
    assert not window.files.open_path(folder)
    assert window.model.last_error == f"{folder} is a folder, not a file"
    assert "moved or deleted" not in window.model.last_error
    assert drop(window, folder)  # offered, by its name; refused once dropped
    assert window.model.last_error == f"{folder} is a folder, not a file"
    assert window.model.session is before


def test_open_recent_on_a_path_now_a_folder_says_so(qtbot, window, tmp_path):
    path = tmp_path / "a.json"
    _session_file(window, path, 0.02)
    assert window.files.open_path(path)
    before = window.model.session
    assert before.lr == 0.02
    path.unlink()
    path.mkdir()
    menu = window.menus.recent_menu
    menu.aboutToShow.emit()
    next(act for act in menu.actions() if act.text().endswith("a.json")).trigger()
    assert window.model.last_error == f"{path} is a folder, not a file"
    assert window.model.session is before


def test_a_named_pipe_as_the_session_is_refused_at_once(qtbot, window, tmp_path):
    """As ``python main.py /tmp/fifo`` hands it to the window. Were it opened, the open would
    block the GUI thread until a writer came: a watchdog plays that writer once the test is
    over or after a bound, so a regression fails instead of hanging."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this system")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    done = threading.Event()

    def release() -> None:
        if not done.wait(test_gui.LONG / 1000):
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # the reader sees an empty file
            os.close(fd)

    watchdog = threading.Thread(target=release, daemon=True)
    watchdog.start()
    before = window.model.session
    try:
        loaded = window.editor.load_session(str(fifo))
    finally:
        done.set()
        watchdog.join()
    assert not loaded
    assert f"{fifo} is a named pipe, not a file" in window.model.last_error
    assert window.model.session is before
