"""The window's side of a diverging run: the Solver panel's "Stop early on divergence"
(on by default, a session setting), the stop's reason in the status bar and the Runs dock, and
a components plot that stays readable when a run is left to overflow."""

from __future__ import annotations

import numpy as np
import test_gui
from PySide6 import QtCore, QtGui

from gui.views.clipping import CLIP

LONG = test_gui.LONG
REASON = "lr · L = 0.5 × 5.828 = 2.91 > 2"  # the 3×3 at lr 0.5


def run_to_the_end(qtbot, w, **changes) -> tuple:
    w.editor.load_session(w.model.session.replace(**{"max_iters": 100_000, "tol": 0.0, **changes}))
    with qtbot.waitSignal(w.model.run_finished, timeout=LONG) as sig:
        w.act_run.trigger()
    w.live.frames.draw_now()
    return tuple(sig.args)


def test_the_solver_panel_names_the_stop_and_the_session_keeps_it(qtbot, window):
    box = window.hyper.stop_divergence
    assert box.text() == "Stop early on divergence" and box.isChecked()
    assert "lr · L > 2" in box.toolTip() and "2 + 2β" in box.toolTip()
    # shown whole in the panel, not cut at its edge
    assert box.isVisible() and box.sizeHint().width() <= box.width()
    box.click()
    assert window.model.session.stop_on_divergence is False
    window.undo.stack.undo()
    assert window.model.session.stop_on_divergence is True and box.isChecked()
    window.editor.load_session(window.model.session.replace(stop_on_divergence=False))
    assert not box.isChecked()


def test_a_diverging_run_stops_and_says_why_where_the_user_looks(qtbot, window):
    _id, reason, message = run_to_the_end(qtbot, window, lr=0.5)
    assert reason == "diverged" and message.startswith(f"diverging: {REASON}; stopped at")
    rec = window.model.selected
    assert len(rec.history) == 6 and np.isfinite(rec.history.loss).all()  # kept to there
    assert window.status.currentMessage().startswith(f"Diverging: {REASON}")
    doc = QtGui.QTextDocument()
    doc.setHtml(window.plots.caption.text())  # as painted: a rich-text caption
    assert doc.toPlainText().endswith(f"diverging since iteration 1: {REASON}")
    table = window.runs.table_model
    row = table.rowCount() - 1
    assert table.data(table.index(row, 5)) == "diverged"
    assert message in table.data(table.index(row, 0), QtCore.Qt.ToolTipRole)


def _view_pixels(plot) -> tuple[QtGui.QImage, QtCore.QRect]:
    """The plot's picture and where its view box (the data area) lies in it."""
    vb = plot.getPlotItem().getViewBox()
    rect = plot.mapFromScene(vb.mapRectToScene(vb.boundingRect())).boundingRect()
    return plot.grab().toImage(), rect.adjusted(2, 2, -2, -2)


def test_components_of_a_run_left_to_overflow_stay_readable(qtbot, window):
    # The issue: an axis of ±4e153 (the last finite x), the iterations before it flat at 0
    # or an alternating sign painted as a solid block.
    _id, reason, message = run_to_the_end(qtbot, window, lr=0.5, stop_on_divergence=False)
    assert reason == "diverged" and "loss became inf" in message
    plots = window.plots
    exact = np.abs(plots.src.exact).max()
    y0, y1 = plots.plot("x").widget.getPlotItem().getViewBox().viewRange()[1]
    assert np.isfinite([y0, y1]).all() and max(-y0, y1) <= 1.5 * CLIP * exact
    assert y1 - y0 >= 2 * exact  # the solution's scale is still on it
    curves = plots.plot("x").curves
    assert curves.clipped and curves.note.isVisible()
    assert curves.note.text.startswith("not drawn beyond ±")
    # the curves are lines, not a painted area
    image, rect = _view_pixels(plots.plot("x").widget)
    white = QtGui.QColor("white").rgb()
    inked = sum(
        image.pixel(x, y) != white
        for x in range(rect.left(), rect.right(), 2)
        for y in range(rect.top(), rect.bottom(), 2)
    )
    assert inked < 0.15 * (rect.width() // 2) * (rect.height() // 2)
    # a run that does not go past the limit has no note
    run_to_the_end(qtbot, window, lr=0.1, max_iters=50)
    assert not curves.clipped and not curves.note.isVisible()


def test_the_bars_of_a_run_left_to_overflow_keep_the_exact_answer_in_sight(qtbot, window):
    # x vs exact drew the last finite x to scale: a ±6e153 axis on which the exact bars
    # (of size ~1) were flat lines.
    run_to_the_end(qtbot, window, lr=0.5, stop_on_divergence=False)
    plots = window.plots
    plots.tabs.setCurrentWidget(plots.plot("bars").widget)
    plots.refresh(everything=True)
    exact = np.abs(plots.src.exact).max()
    y0, y1 = plots.plot("bars").widget.getPlotItem().getViewBox().viewRange()[1]
    assert np.isfinite([y0, y1]).all() and max(-y0, y1) <= 1.5 * CLIP * exact
    heights = plots.plot("bars").x_bars.opts["height"]
    assert np.isfinite(heights).all() and np.abs(heights).max() <= CLIP * exact * 1.0001
    note = plots.plot("bars").note
    assert note is not None and note.isVisible() and note.text.startswith("not drawn beyond ±")
    run_to_the_end(qtbot, window, lr=0.1, max_iters=50)
    assert not note.isVisible()
