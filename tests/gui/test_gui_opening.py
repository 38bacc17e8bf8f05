"""Large session files, matrix files and presets are read and built off the GUI thread: the
window goes on painting and taking keys meanwhile, Run waits for the new problem saying so,
and a later load wins over one in flight. Small ones are still applied before the call
returns (pytest-qt, offscreen).

Each slow part is held on a ``threading.Event`` until the test lets it go, so the window is
seen running while the work is not done, however fast this machine reads."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import test_gui
from PySide6 import QtCore, QtWidgets

import gui.opening
from benchmarks.bigfiles import dense_session
from gui.opening import LOAD_SYNC_BYTES
from solver.core.fileguard import footprint

ROOT = Path(__file__).resolve().parents[2]
N = 400  # 400 × 400 float64: 1.28 MB on disk, beyond LOAD_SYNC_BYTES
assert N * N * 8 > LOAD_SYNC_BYTES


def big_session(folder: Path, n: int = N) -> Path:
    return dense_session(folder, n, "big.json")


class Held:
    """Wraps ``real`` so that it waits for ``go`` and records the thread it ran on."""

    def __init__(self, real):
        self.real, self.go, self.threads = real, threading.Event(), []

    def __call__(self, *args, **kw):
        self.threads.append(threading.current_thread())
        assert self.go.wait(test_gui.LONG / 1000)
        return self.real(*args, **kw)


def ticking(window) -> tuple[list, QtCore.QTimer]:
    """The problem's shape each time the event loop turns."""
    ticks: list[tuple[int, ...]] = []
    timer = QtCore.QTimer(interval=0)
    timer.timeout.connect(lambda: ticks.append(window.model.session.problem.A.shape))
    timer.start()
    return ticks, timer


def is_error_red(label: QtWidgets.QLabel) -> bool:
    """Whether the label is painted on the error's background (#fde8e8), sampled inside
    its border, in its padding."""
    image = label.grab().toImage()
    colour = image.pixelColor(image.width() // 2, 3)
    return (colour.red(), colour.green(), colour.blue()) == (0xFD, 0xE8, 0xE8)


def test_an_invalid_cell_is_still_said_in_red(qtbot, window):
    table = window.matrix.model_of("A")
    assert table.setData(table.index(0, 1), "x")
    label = window.matrix.error_label
    qtbot.waitUntil(label.isVisible)
    assert label.text().endswith("Run is disabled until this is fixed.")
    assert is_error_red(label)


def no_loader_left(qtbot) -> None:
    qtbot.waitUntil(
        lambda: not any(t.name == "load-problem" for t in threading.enumerate()),
        timeout=test_gui.LONG,
    )
    QtWidgets.QApplication.processEvents()  # what the thread sent is delivered


def test_a_large_session_is_read_while_the_window_goes_on(qtbot, window, tmp_path, monkeypatch):
    path = big_session(tmp_path)
    held = Held(gui.opening.read_session)
    monkeypatch.setattr("gui.opening.read_session", held)
    ticks, timer = ticking(window)
    try:
        assert window.files.open_path(path)  # started
        assert window.model.session.problem.A.shape == (3, 3)
        assert window.editor.loading
        assert window.model.table_error == "big.json is still being loaded"
        assert not window.act_run.isEnabled()
        # said beside the tables as work on its way, not in the red of a cell to fix
        label = window.matrix.error_label
        qtbot.waitUntil(label.isVisible)
        assert label.text() == "big.json is still being loaded… Run waits for it."
        assert "fixed" not in label.text()
        assert not is_error_red(label)
        assert not window.persistence.save_session(tmp_path / "meanwhile.json")
        assert window.model.last_error.endswith("still being loaded; save once it is ready")
        assert not (tmp_path / "meanwhile.json").exists()
        qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=test_gui.LONG)
        assert set(ticks) == {(3, 3)}  # the event loop turns while the file is read
        held.go.set()
        qtbot.waitUntil(lambda: window.model.session.problem.A.shape == (N, N))
    finally:
        held.go.set()
        timer.stop()
    assert held.threads and threading.main_thread() not in held.threads
    assert not window.editor.loading and window.model.table_error is None
    assert window.act_run.isEnabled()
    assert window.model.session_label == "big.json"
    assert str(path) in [str(Path(p)) for p in window.persistence.recent_files()]
    assert not window.undo.modified  # what the file holds: nothing to save
    window.undo.stack.undo()  # one undoable step back to the 3 × 3 problem
    assert window.model.session.problem.A.shape == (3, 3)


def test_a_small_session_is_applied_before_the_call_returns(window, monkeypatch):
    held = Held(gui.opening.read_session)
    held.go.set()
    monkeypatch.setattr("gui.opening.read_session", held)
    assert window.files.open_path(ROOT / "examples" / "seed-3x3.json")
    assert held.threads == [threading.main_thread()]
    assert window.model.session_label == "seed-3x3.json" and not window.editor.loading


def test_a_heavy_preset_is_built_off_the_gui_thread(qtbot, window, monkeypatch):
    import solver.sessions.presets

    assert solver.sessions.presets.heavy("random-cond", n=400)
    assert not solver.sessions.presets.heavy("random-cond", n=10)
    held = Held(solver.sessions.presets.build)
    monkeypatch.setattr("solver.sessions.presets.build", held)
    ticks, timer = ticking(window)
    try:
        assert window.editor.load_preset("random-cond", n=400, cond=10.0)
        assert window.model.session.problem.A.shape == (3, 3)
        assert "still being loaded" in window.model.table_error
        qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=test_gui.LONG)
        assert set(ticks) == {(3, 3)}
        held.go.set()
        qtbot.waitUntil(lambda: window.model.session.problem.A.shape == (400, 400))
    finally:
        held.go.set()
        timer.stop()
    assert threading.main_thread() not in held.threads
    assert window.model.session_label == solver.sessions.presets.PRESETS["random-cond"].title
    assert window.model.table_error is None and window.act_run.isEnabled()


def test_a_later_load_wins_over_one_in_flight(qtbot, window, monkeypatch):
    import solver.sessions.presets

    held = Held(solver.sessions.presets.build)
    monkeypatch.setattr("solver.sessions.presets.build", held)
    assert window.editor.load_preset("random-cond", n=400)
    held.go.set()  # the small preset below must build at once
    assert window.editor.load_preset("seed-puzzle")
    assert window.model.session.problem.A.shape == (4, 4)
    # what was said of the load in flight is taken back: Run is not left waiting for it
    assert not window.editor.loading and window.model.table_error is None
    assert window.act_run.isEnabled()
    no_loader_left(qtbot)
    assert window.model.session.problem.A.shape == (4, 4)  # the older load was dropped


def test_a_large_file_that_cannot_be_read_changes_nothing(qtbot, window, tmp_path):
    path = big_session(tmp_path, n=2 * N)
    raw = (tmp_path / "A.npy").read_bytes()
    (tmp_path / "A.npy").write_bytes(raw[: len(raw) // 2])  # cut short, still over 1 MB
    assert footprint(path, LOAD_SYNC_BYTES) >= LOAD_SYNC_BYTES
    before = window.model.session
    refused = []
    window.model.refused.connect(lambda title, text: refused.append((title, text)))
    assert window.files.open_path(path)
    qtbot.waitUntil(lambda: bool(refused), timeout=test_gui.LONG)
    title, text = refused[0]
    assert title == "Session not loaded" and "A.npy" in text
    assert window.model.session is before
    assert window.model.table_error is None and window.act_run.isEnabled()
    assert str(path) not in window.persistence.recent_files()


def test_a_large_import_keeps_settings_changed_meanwhile(qtbot, window, tmp_path, monkeypatch):
    import solver.matrices.matrixio

    rng = np.random.default_rng(1)
    np.save(tmp_path / "M.npy", rng.standard_normal((N, N)) + N * np.eye(N))
    held = Held(solver.matrices.matrixio.load_operator)
    monkeypatch.setattr("solver.matrices.matrixio.load_operator", held)
    assert window.files.open_path(tmp_path / "M.npy")
    assert window.editor.change({"lr": 0.0123})  # typed while the file is read
    held.go.set()
    qtbot.waitUntil(lambda: window.model.session.problem.A.shape == (N, N))
    assert window.model.session.lr == 0.0123
    assert threading.main_thread() not in held.threads
    assert "M.npy" in window.model.notice  # b no longer fitted: said where the user looks


def test_a_large_import_after_the_problem_changed_says_so(qtbot, window, tmp_path, monkeypatch):
    import solver.matrices.matrixio

    np.save(tmp_path / "M.npy", np.eye(N))
    held = Held(solver.matrices.matrixio.load_operator)
    monkeypatch.setattr("solver.matrices.matrixio.load_operator", held)
    refused = []
    window.model.refused.connect(lambda title, text: refused.append(text))
    assert window.files.open_path(tmp_path / "M.npy")
    table = window.matrix.model_of("A")
    assert table.setData(table.index(0, 0), "5")  # the problem the import started from is gone
    qtbot.waitUntil(lambda: window.model.session.problem.A[0, 0] == 5)
    edited = window.model.session
    held.go.set()
    qtbot.waitUntil(lambda: bool(refused), timeout=test_gui.LONG)
    assert "M.npy: the problem changed while it was read" in refused[0]
    assert window.model.session is edited


@pytest.mark.parametrize("key", ["matrix-gr_30_30", "matrix-nos7", "poisson-2d"])
def test_presets_that_take_long_are_heavy(key):
    from solver.sessions.presets import heavy

    assert heavy(key)


def test_footprint_counts_the_files_a_session_names(tmp_path):
    path = big_session(tmp_path, n=20)
    own = path.stat().st_size
    files = (tmp_path / "A.npy").stat().st_size + (tmp_path / "b.npy").stat().st_size
    assert footprint(path, 10**9) == own + files
    assert footprint(path, 1) == own  # enough already: the JSON is not parsed
    assert footprint(tmp_path / "A.npy", 10**9) == (tmp_path / "A.npy").stat().st_size
    assert footprint(tmp_path / "missing.json", 10**9) == 0
    assert footprint(tmp_path, 10**9) == 0  # a folder: its reader names it


def test_a_large_table_is_shown_without_a_copy_and_edited_in_its_own(qtbot):
    from gui.views.tables import COPY_SYNC_CELLS, ArrayModel

    n = 600
    assert n * n > COPY_SYNC_CELLS
    source = np.arange(n * n, dtype=float).reshape(n, n)
    source.flags.writeable = False  # as a problem's arrays are
    model = ArrayModel("A", source)
    assert np.shares_memory(model.grid(), source)  # shown as it is: nothing copied
    assert model.data(model.index(2, 3)) == f"{source[2, 3]:.6g}"
    assert model.setData(model.index(2, 3), "-7")
    assert model.array()[2, 3] == -7 and source[2, 3] == 2 * n + 3
    assert not np.shares_memory(model.grid(), source)
    small = np.ones((3, 3))
    model.set_array(small)
    assert not np.shares_memory(model.grid(), small)  # small: copied at once


def test_array_digests_read_the_array_in_place():
    from solver.core.digest import raw_bytes

    a = np.arange(24.0).reshape(4, 6)
    view = raw_bytes(a)
    assert bytes(view) == a.tobytes()
    assert np.shares_memory(np.frombuffer(view, dtype=np.uint8), a)  # not a copy
    assert bytes(raw_bytes(a[:, ::2])) == a[:, ::2].tobytes()
    assert bytes(raw_bytes(np.arange(3), np.float64)) == np.arange(3.0).tobytes()
    assert bytes(raw_bytes(np.zeros((0, 3)))) == b""


def test_the_first_session_is_read_on_the_loading_thread(qtbot, make_window, tmp_path, monkeypatch):
    """Restoring a large autosave held the GUI thread for as long as it took to read and
    check its pieces; it is read beside the solver's import now."""
    import test_gui_window

    from gui.persistence import Persistence

    first = make_window()
    rng = np.random.default_rng(2)
    a = rng.standard_normal((N, N)) + N * np.eye(N)
    from solver.problems.linear import LinearSystem

    assert first.editor.load_session(first.model.session.with_problem(LinearSystem(a, a[0])))
    first.shutdown()
    first.persistence.flush()
    read_on: list[threading.Thread] = []
    real = Persistence.read_initial

    def read_initial(self, path):
        read_on.append(threading.current_thread())
        return real(self, path)

    monkeypatch.setattr(Persistence, "read_initial", read_initial)
    w = test_gui_window.deferred_window(qtbot, tmp_path)
    try:
        w.finish_startup()
        qtbot.waitUntil(lambda: w.model.ready, timeout=test_gui.LONG)
        assert [t.name for t in read_on] == ["import-solver"]
        assert np.array_equal(w.model.session.problem.A, a)
        assert w.model.session_label == "last session"
    finally:
        test_gui_window.close_deferred(qtbot, w)


def test_a_cell_typed_wrong_during_a_failed_load_stays_said(qtbot, window, tmp_path, monkeypatch):
    """The tables' own complaint made while a load was under way is not wiped when the load
    fails: Run stays disabled, naming the cell."""
    path = big_session(tmp_path, n=2 * N)
    raw = (tmp_path / "A.npy").read_bytes()
    (tmp_path / "A.npy").write_bytes(raw[: len(raw) // 2])
    refused = []
    window.model.refused.connect(lambda title, text: refused.append(text))
    held = Held(gui.opening.read_session)
    monkeypatch.setattr("gui.opening.read_session", held)
    assert window.files.open_path(path)
    table = window.matrix.model_of("A")
    assert table.setData(table.index(0, 1), "x")  # typed while the file is read
    assert "A[1, 2]" in window.model.table_error
    held.go.set()
    qtbot.waitUntil(lambda: bool(refused), timeout=test_gui.LONG)
    assert "A[1, 2]" in (window.model.table_error or "")
    assert not window.act_run.isEnabled() and not window.editor.loading
