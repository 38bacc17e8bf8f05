"""A sparse matrix in the window: shown as its entries and pattern (never as a dense table),
kept sparse through edits, imports, drops and the autosave, analysed on a thread that can be
cancelled, and run like any other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import test_gui
from PySide6 import QtCore, QtWidgets

from gui.views.sparseview import pattern_image
from solver.matrices.sparseio import save_sparse

LONG = test_gui.LONG


def tridiagonal(n: int) -> sp.csr_array:
    main, off = 4.0 * np.ones(n), -np.ones(n - 1)
    return sp.diags_array([off, main, off], offsets=[-1, 0, 1], format="csr")


def ready(qtbot, w) -> None:
    qtbot.waitUntil(lambda: w.model.ready, timeout=LONG)


def test_a_big_sparse_file_shows_as_entries_and_pattern_not_a_table(qtbot, window, tmp_path):
    ready(qtbot, window)
    path = tmp_path / "tri.mtx"
    save_sparse(path, tridiagonal(3000))  # 9,000,000 entries dense; 8,998 stored
    assert window.editor.import_matrix(path)
    p = window.model.session.problem
    assert p.sparse and p.entries == 8998
    page = window.matrix.page
    view = page.sparse_view
    assert page.sparse_stack.currentWidget() is view
    assert "3,000 × 3,000" in view.summary.text() and "8,998" in view.summary.text()
    assert view.model.rowCount() == 8998
    # entry 2 of row 1 is A[1, 2] = -1, shown 1-based
    idx = [view.model.index(1, c) for c in range(3)]
    assert [view.model.data(i) for i in idx] == ["1", "2", "-1"]
    assert page.models["A"].shape == (0, 0)  # never formed dense
    rows, cols = page.sizes["A"]
    assert (rows.value(), cols.value()) == (3000, 3000) and not rows.isEnabled()
    view.tabs.setCurrentIndex(1)
    img = view.pattern_image.image
    assert img.shape == (400, 400) and np.count_nonzero(img) > 0
    # the pattern of a tridiagonal matrix is its diagonal band
    assert np.all(np.abs(np.subtract(*np.nonzero(img))) <= 1)


def test_a_small_matrix_file_stays_an_editable_table(qtbot, window, tmp_path):
    ready(qtbot, window)
    path = tmp_path / "small.mtx"
    save_sparse(path, tridiagonal(50))
    assert window.editor.import_matrix(path)
    assert not window.model.session.problem.sparse
    page = window.matrix.page
    assert page.sparse_stack.currentIndex() == 0 and page.models["A"].shape == (50, 50)
    assert page.sizes["A"][0].isEnabled()


def test_editing_b_keeps_the_matrix_sparse(qtbot, window, tmp_path):
    ready(qtbot, window)
    path = tmp_path / "tri.npz"
    save_sparse(path, tridiagonal(1200))
    assert window.editor.import_matrix(path)
    a = window.model.session.problem.A
    window.matrix.model_of("b").setData(window.matrix.model_of("b").index(0, 0), "5")
    p = window.model.session.problem
    assert p.sparse and p.A is a and p.b[0] == 5.0


def test_a_sparse_run_finishes_and_says_why_the_dense_views_are_off(qtbot, window):
    ready(qtbot, window)
    assert window.editor.load_preset("matrix-1138_bus")
    assert window.model.session.problem.sparse
    qtbot.waitUntil(lambda: window.model.analysis is not None, timeout=LONG)
    assert not isinstance(window.model.analysis, BaseException)
    assert window.model.analysis.exact_method == "sparse LU (SuperLU)"
    assert "x* by sparse LU (SuperLU)" in window.matrix.facts.text()
    window.editor.change({"max_iters": 50})
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        assert window.live.start()
    rec = window.model.selected
    assert rec.status.iteration == 50 and len(rec.history) == 51
    tabs = window.plots.tabs
    i = next(k for k in range(tabs.count()) if tabs.tabText(k) == "Error by direction")
    assert not tabs.isTabEnabled(i) and tabs.tabToolTip(i)


def test_a_long_analysis_can_be_cancelled_and_asked_for_again(qtbot, window, monkeypatch):
    ready(qtbot, window)
    import threading

    import solver.insight.analysis

    gate = threading.Event()
    real = solver.insight.analysis.analyze_linear

    def slow(*args):  # an analysis that takes until the test lets it go
        gate.wait(10)
        return real(*args)

    monkeypatch.setattr(solver.insight.analysis, "analyze_linear", slow)
    assert window.editor.load_preset("matrix-1138_bus")
    panel = window.matrix
    qtbot.waitUntil(lambda: panel.busy_row.isVisible(), timeout=LONG)
    assert panel.busy_button.text() == "Cancel" and "Analysing the 1,138 × 1,138" in (
        panel.facts.text()
    )
    panel.busy_button.click()
    assert "cancelled" in panel.facts.text() and panel.busy_button.text() == "Analyse again"
    gate.set()  # the cancelled one ends; what it delivers is dropped
    qtbot.waitUntil(lambda: not window.analyzer.busy(), timeout=LONG)
    QtWidgets.QApplication.processEvents()
    assert "cancelled" in panel.facts.text()
    panel.busy_button.click()
    qtbot.waitUntil(
        lambda: (
            window.model.analysis is not None
            and not isinstance(window.model.analysis, BaseException)
        ),
        timeout=LONG,
    )
    assert not panel.busy_row.isVisible() and "1,138×1,138" in panel.facts.text()


def test_the_autosave_keeps_a_sparse_matrix_sparse(qtbot, make_window):
    from solver.problems.linear import LinearSystem
    from solver.sessions import session as sessions

    w = make_window()
    ready(qtbot, w)
    a = tridiagonal(6000)  # 17,998 entries: beyond what the autosave writes inline
    assert w.editor.load_session(sessions.make(LinearSystem(a, a @ np.ones(6000)), lr=0.1))
    w.persistence.autosave()
    pieces = list(Path(w.persistence.data_dir).glob("last-session-A-*.npz"))
    assert len(pieces) == 1
    w.shutdown()
    w2 = make_window()
    ready(qtbot, w2)
    p = w2.model.session.problem
    assert p.sparse and p.entries == a.nnz and abs(p.A - a).max() == 0
    assert w2.matrix.page.sparse_stack.currentWidget() is w2.matrix.page.sparse_view


def test_pattern_image_counts_entries_per_bin() -> None:
    m = sp.csr_array(np.array([[1.0, 0, 0, 2.0], [0, 0, 0, 0], [0, 3.0, 0, 0]]))
    assert pattern_image(m).tolist() == [[1, 0, 0, 1], [0, 0, 0, 0], [0, 1, 0, 0]]
    big = tridiagonal(1000)
    img = pattern_image(big, bins=10)
    assert img.shape == (10, 10) and img.sum() == big.nnz


@pytest.mark.parametrize("suffix", [".mtx", ".npz"])
def test_a_bad_sparse_file_is_refused_and_changes_nothing(qtbot, window, tmp_path, suffix):
    ready(qtbot, window)
    before = window.model.session
    path = tmp_path / f"bad{suffix}"
    if suffix == ".mtx":
        path.write_text("%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1.0\n4 1 2.0\n")
    else:
        path.write_bytes(b"not a zip")
    assert not window.editor.import_matrix(path)
    assert window.model.session is before
    assert "bad" + suffix in window.model.last_error
    if suffix == ".mtx":
        assert "line 4" in window.model.last_error


def test_the_x_plots_follow_a_spread_selection_of_a_big_sparse_system(qtbot, window, tmp_path):
    ready(qtbot, window)
    path = tmp_path / "tri.npz"
    save_sparse(path, tridiagonal(5000))
    assert window.editor.import_matrix(path)
    window.editor.change({"max_iters": 5})
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.live.start()
    rec = window.model.selected
    assert 1 < len(rec.track) <= 64 and len(rec.history.tracked) == len(rec.track)
    assert len(window.plots.plot("x").curves) == len(rec.track)
    QtCore.QCoreApplication.processEvents()
