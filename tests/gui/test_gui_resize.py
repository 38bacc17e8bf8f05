"""Typing a large size into the Problem panel's size boxes keeps the window responsive: the
new tables and the problem are built off the GUI thread (5000 × 5000 froze the window for
2.7-6 s), and the GUI thread goes on handling events meanwhile (pytest-qt, offscreen)."""

from __future__ import annotations

import threading

import numpy as np
import test_gui
from PySide6 import QtCore, QtWidgets

from gui.editing import BUILD_SYNC_ENTRIES
from gui.views.resize import RESIZE_SYNC_CELLS, resized

N = 600  # 360,000 cells: beyond the limits below, small enough for a busy test machine
assert N * N > max(RESIZE_SYNC_CELLS, BUILD_SYNC_ENTRIES)


def test_events_are_handled_while_a_large_size_is_built(qtbot, window, monkeypatch):
    rows, cols = window.matrix.page.sizes["A"]
    a0 = window.model.session.problem.A.copy()
    rows.setValue(N)  # N x 3: small, at once
    assert window.model.session.problem.A.shape == (N, 3)
    # The resize waits for the test's word, so that the event loop is seen running while it
    # is not done, however fast this machine builds the arrays.
    go = threading.Event()

    def held(*args: object) -> dict:
        assert go.wait(test_gui.LONG / 1000)
        return resized(*args)

    monkeypatch.setattr("gui.views.resize.resized", held)
    ticks: list[tuple[int, int]] = []  # the session's shape each time the event loop ticks
    timer = QtCore.QTimer(interval=0)
    timer.timeout.connect(lambda: ticks.append(window.model.session.problem.A.shape))
    timer.start()
    try:
        cols.setValue(N)
        # The box returned before the work was done: the tables and sizes wait, untouchable.
        assert window.model.session.problem.A.shape == (N, 3)
        assert not window.matrix.page.widget.isEnabled() and not rows.isEnabled()
        qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=test_gui.LONG)
        assert set(ticks) == {(N, 3)}  # the event loop runs while the resize is on its way
        go.set()
        qtbot.waitUntil(
            lambda: window.model.session.problem.A.shape == (N, N), timeout=test_gui.LONG
        )
    finally:
        go.set()
        timer.stop()
    a = window.model.session.problem.A
    assert np.array_equal(a[:3, :3], a0) and not a[3:].any() and not a[:, 3:].any()
    assert window.model.session.problem.b.shape == (N,)
    assert window.matrix.page.widget.isEnabled() and rows.isEnabled() and cols.isEnabled()
    assert window.model.table_error is None and window.act_run.isEnabled()


def test_the_problem_of_a_large_table_is_built_off_the_gui_thread(qtbot, window, monkeypatch):
    import solver.problems.kinds

    rows, cols = window.matrix.page.sizes["A"]
    rows.setValue(N)
    cols.setValue(N)
    qtbot.waitUntil(lambda: window.model.session.problem.A.shape == (N, N), timeout=test_gui.LONG)
    built_on: list[threading.Thread] = []
    kind = solver.problems.kinds.kind_of(window.model.session.problem)
    real = type(kind).build

    def build(self, *args: object, **kw: object) -> object:
        built_on.append(threading.current_thread())
        return real(self, *args, **kw)

    monkeypatch.setattr(type(kind), "build", build)
    window.matrix.model_of("A").setData(window.matrix.model_of("A").index(5, 5), "7")
    # Run waits for the problem the tables now hold; the old one is not run meanwhile.
    assert window.model.session.problem.A[5, 5] == 0 and not window.act_run.isEnabled()
    qtbot.waitUntil(lambda: window.model.session.problem.A[5, 5] == 7, timeout=test_gui.LONG)
    assert built_on and threading.main_thread() not in built_on
    assert window.act_run.isEnabled()


def test_a_problem_loaded_meanwhile_wins_over_a_resize_in_flight(qtbot, window):
    rows, cols = window.matrix.page.sizes["A"]
    rows.setValue(N)
    cols.setValue(N)
    assert window.matrix.resizer.busy
    assert window.editor.load_preset("seed-3x3")
    assert window.matrix.page.widget.isEnabled() and rows.isEnabled()
    qtbot.waitUntil(
        lambda: not any(t.name == "resize-tables" for t in threading.enumerate()),
        timeout=test_gui.LONG,
    )
    QtWidgets.QApplication.processEvents()  # what the thread sent is delivered, and dropped
    assert window.model.session.problem.A.shape == (3, 3)
    assert window.matrix.model_of("A").shape == (3, 3) and rows.value() == 3


def test_a_grown_square_matrix_gets_ones_on_its_new_diagonal():
    old = {"M": np.array([[2.0, 1.0], [1.0, 3.0]]), "v": np.ones((2, 1))}
    out = resized(old, {"M": (4, 4), "v": (4, 1)}, {"M"})
    assert out["M"].tolist() == [
        [2, 1, 0, 0],
        [1, 3, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
    ]
    assert out["v"].ravel().tolist() == [1, 1, 0, 0]
    same = resized(old, {"M": (2, 2)}, {"M"})
    assert same["M"] is old["M"]  # an unchanged shape is not copied
