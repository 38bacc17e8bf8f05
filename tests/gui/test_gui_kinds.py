"""Moving between problem kinds in the window: the Problem panel changes page without
losing the keyboard focus or the process."""

from __future__ import annotations

import pytest
import test_gui
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


@pytest.mark.parametrize("preset", ["seed-3x3", "seed-inverse-random", "seed-polyfit", "svd-tall"])
def test_a_runs_tabs_are_the_views_its_kind_offers(qtbot, window, preset):
    """The tabs ask the kind (``ProblemKind.views``), never its name or a tab's index: the
    views it offers are enabled (an insight view with nothing to show says why), the others
    say in their tooltip which kinds have them, and only the error by direction and the
    landscape stay in sight where they do not apply."""
    from solver.problems.kinds import kind_of, view_offered_for

    assert window.editor.load_preset(preset)
    window.editor.load_session(window.model.session.replace(max_iters=30))
    with qtbot.waitSignal(window.model.run_finished, timeout=test_gui.LONG):
        assert window.live.start()
    plots, views = window.plots, kind_of(window.model.session.problem).views
    tabs = plots.tabs
    assert len(plots.views.names) == tabs.count()
    for i, name in enumerate(plots.views.names):
        why = plots.insight.why.get(name)
        if name in views and not why:
            assert tabs.isTabEnabled(i) and tabs.isTabVisible(i), name
        else:
            assert not tabs.isTabEnabled(i), name
            assert tabs.tabToolTip(i) == (why if name in views else view_offered_for(name))
            assert tabs.isTabVisible(i) == (name in ("direction", "landscape")), name
    front = plots.views.names[tabs.currentIndex()]
    assert front in views and tabs.isTabEnabled(tabs.currentIndex())
