"""A matrix file imported into the problem: what else the import changed is said beside the
tables, where the user looks, and one Undo takes the whole import back (pytest-qt,
offscreen)."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

Qt = QtCore.Qt

A4 = np.array(
    [[4.0, 1.0, 0.0, 0.0], [1.0, 4.0, 1.0, 0.0], [0.0, 1.0, 4.0, 1.0], [0.0, 0.0, 1.0, 4.0]]
)
B4 = np.array([1.0, 2.0, 3.0, 4.0])


def _write_csv(path, rows) -> None:
    path.write_text("\n".join(",".join(f"{v:g}" for v in r) for r in rows) + "\n")


def _a_4x4_system(window, tmp_path) -> None:
    _write_csv(tmp_path / "a.csv", A4)
    _write_csv(tmp_path / "b.csv", B4[:, None])
    assert window.editor.import_matrix(tmp_path / "a.csv"), window.model.last_error
    assert window.editor.import_matrix(tmp_path / "b.csv", target="b"), window.model.last_error
    window.model.set_notice(None)  # the first import's own note, not what is tested
    np.testing.assert_array_equal(window.model.session.problem.b, B4)


def _banner(window) -> tuple[QtWidgets.QFrame, QtWidgets.QLabel]:
    banner = window.matrix.findChild(QtWidgets.QFrame, "problemNotice")
    return banner, banner.findChild(QtWidgets.QLabel, "problemNoticeText")


def test_an_import_that_replaces_b_says_so_beside_the_tables(qtbot, window, tmp_path) -> None:
    # A CSV that lost its last row came in as 3×4 and b became A·1: said only in the status
    # line, which the next message wiped.
    _a_4x4_system(window, tmp_path)
    banner, text = _banner(window)
    assert not banner.isVisible()
    _write_csv(tmp_path / "short.csv", A4[:3])
    assert window.editor.import_matrix(tmp_path / "short.csv")
    assert window.model.session.problem.A.shape == (3, 4)
    qtbot.waitUntil(banner.isVisible)
    words = text.text()
    assert "short.csv" in words and "3×4" in words and "4×4" in words and "A·1" in words
    # seen, whole: inside the Problem panel above the tables, and tall enough for its lines
    panel = window.matrix
    top_left = banner.mapTo(panel, QtCore.QPoint(0, 0))
    assert panel.rect().contains(QtCore.QRect(top_left, banner.size()))
    tables = window.matrix.view("A")
    assert top_left.y() + banner.height() <= tables.mapTo(panel, QtCore.QPoint(0, 0)).y()
    qtbot.waitUntil(lambda: text.height() >= text.heightForWidth(text.width()))
    # another message in the status line does not take it away; the close button does
    window.model.message.emit("something else")
    assert banner.isVisible()
    close = banner.findChild(QtWidgets.QToolButton)
    qtbot.mouseClick(close, Qt.LeftButton)
    assert not banner.isVisible() and window.model.notice is None


def test_one_undo_takes_back_the_whole_import(qtbot, window, tmp_path) -> None:
    _a_4x4_system(window, tmp_path)
    _write_csv(tmp_path / "short.csv", A4[:3])
    assert window.editor.import_matrix(tmp_path / "short.csv")
    banner, _ = _banner(window)
    qtbot.waitUntil(banner.isVisible)
    window.activateWindow()
    window.plots.setFocus()
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    p = window.model.session.problem
    np.testing.assert_array_equal(p.A, A4)
    np.testing.assert_array_equal(p.b, B4)
    np.testing.assert_array_equal(window.matrix.model_of("A").array(), A4)
    np.testing.assert_array_equal(window.matrix.model_of("b").array(), B4)
    assert not banner.isVisible()  # the note was about the import that is gone
