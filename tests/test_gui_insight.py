"""The insight views follow the run and the inspected iteration (pytest-qt, offscreen)."""

from __future__ import annotations

import numpy as np
import pytest
import test_gui

from solver.problems import LinearSystem

make_window, window = test_gui.make_window, test_gui.window
LONG = test_gui.LONG


def finished_run(qtbot, w, **changes) -> None:
    w.editor.load_session(w.model.session.replace(**changes))
    with qtbot.waitSignal(w.model.run_finished, timeout=LONG):
        w.act_run.trigger()


def show_step_panel(qtbot, w) -> None:
    w.dock_step.raise_()
    qtbot.waitUntil(lambda: w.step_panel.isVisible() and w.step_panel._on_screen, timeout=LONG)


def test_one_step_follows_the_inspected_iteration(qtbot, window):
    finished_run(
        qtbot,
        window,
        optimizer="sgd",
        optimizer_args={"momentum": 0.9},
        lr=0.05,
        max_iters=40,
        tol=0.0,
    )
    show_step_panel(qtbot, window)
    panel = window.step_panel
    qtbot.waitUntil(lambda: panel.anatomy is not None, timeout=LONG)
    assert panel.anatomy.iteration == 40  # nothing inspected: the newest iteration
    assert "not taken yet" in panel.header.text()

    window.model.inspect(12)
    qtbot.waitUntil(lambda: panel.anatomy.iteration == 12, timeout=LONG)
    an = panel.anatomy
    its, vals = window.model.selected.history.trajectory()
    np.testing.assert_allclose(an.x, vals[12])
    np.testing.assert_allclose(an.step, vals[13] - vals[12])
    tm = panel.table_model
    assert tm.column_names == [
        "x_k",
        "∇f autograd",
        "∇f = Aᵀr",
        "autograd − formula",
        "step taken",
        "−lr·∇f",
    ]
    assert tm.rowCount() == 3 and tm.headerData(0, test_gui.QtCore.Qt.Vertical) == "x1"
    assert float(tm.index(2, 4).data(test_gui.QtCore.Qt.EditRole)) == pytest.approx(
        vals[13][2] - vals[12][2]
    )
    text = panel.header.text()
    assert "Iteration 12" in text and "rounding" in text and "sgd builds its step" in text

    window.model.inspect(None)
    qtbot.waitUntil(lambda: panel.anatomy.iteration == 40, timeout=LONG)


def test_one_step_says_why_when_not_every_unknown_is_recorded(qtbot, window):
    n = 80  # beyond the default tracking: an even spread of components is recorded
    a = np.eye(n) * 2 + np.diag(np.ones(n - 1), 1) * 0.3
    window.editor.load_session(
        window.model.session.with_problem(LinearSystem(a, np.ones(n)), max_iters=5, tol=0.0)
    )
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    show_step_panel(qtbot, window)
    panel = window.step_panel
    qtbot.waitUntil(lambda: "records" in panel.header.text(), timeout=LONG)
    assert f"of its {n:,} unknowns" in panel.header.text() and panel.anatomy is None
    assert panel.table_model.rowCount() == 0


def test_one_step_before_any_run_says_what_to_do(qtbot, window):
    show_step_panel(qtbot, window)
    assert "No run selected" in window.step_panel.header.text()
