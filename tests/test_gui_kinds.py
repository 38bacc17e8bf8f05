"""Moving between problem kinds in the window: the Problem panel changes page without
losing the keyboard focus or the process."""

from __future__ import annotations

import pytest
from PySide6 import QtWidgets

# The window fixtures of the main GUI tests, shared rather than written twice.


@pytest.mark.parametrize("first", ["seed-inverse-random", "seed-polyfit", "svd-tall"])
def test_leaving_a_kind_whose_table_has_the_focus_keeps_the_window(qtbot, window, first):
    """Loading a linear-system preset while a table of another kind had the focus crashed
    the process (Qt's stacked page hand-over on a focused table)."""
    assert window.editor.load_preset(first)
    window.matrix.focus_table()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is not None)
    old = QtWidgets.QApplication.focusWidget()
    assert window.matrix.page.widget.isAncestorOf(old)

    assert window.editor.load_preset("seed-3x3")
    page = window.matrix.page
    assert page.kind.name == "linear_system"
    assert window.matrix.stack.currentWidget() is page.widget
    # the focus moved to the new page's first table instead of staying on a hidden one
    qtbot.waitUntil(lambda: page.widget.isAncestorOf(QtWidgets.QApplication.focusWidget()))
    assert window.matrix.view("A").hasFocus()
