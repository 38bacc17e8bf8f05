"""Numbers as the window shows them: rates with the digits that tell them apart, and values
below the run's rounding floor as 0 (pytest-qt, offscreen)."""

from __future__ import annotations

import numpy as np
import test_gui
from test_gui_insight import finished_run, show_step_panel
from test_gui_window import shown

from solver.insight.rates import rate_text
from solver.problems.floors import rounding_floor
from solver.sessions import presets

LONG = test_gui.LONG
Qt = test_gui.QtCore.Qt


def load(qtbot, w, session) -> None:
    w.editor.load_session(session)
    qtbot.waitUntil(lambda: w.model.analysis is not None, timeout=LONG)


# -- rates --------------------------------------------------------------------------------------
def test_the_problem_and_solver_panels_never_round_a_rate_to_1(qtbot, window):
    """A gd rate of 0.999975 read "gd rate 1" (the Poisson preset's 0.99997 too)."""
    load(qtbot, window, presets.build("random-cond", n=10, cond=200.0))
    a = window.model.analysis
    qtbot.waitUntil(lambda: "gd rate" in window.matrix.facts.text(), timeout=LONG)
    assert 0.9999 < a.rate < 1
    assert f"gd rate {rate_text(a.rate)}" in window.matrix.facts.text()
    assert rate_text(a.rate) == "1 − 2.5e-05"
    info = window.hyper.lr_info.text()
    # 2/(μ+L)'s rate (κ−1)/(κ+1) with κ = 4·10⁴ for ½‖r‖², and the heavy ball's
    assert "rate 1 − 5.0e-05; heavy ball 1 − 1.0e-02" in info


def test_the_caption_writes_measured_and_predicted_rates_apart(qtbot, window):
    """ "converging at 0.9998, faster than the 1 − 0.0001 predicted": two styles, and near 1
    two numbers that read alike."""
    s = presets.build("random-cond", n=10, cond=100.0)
    load(qtbot, window, s.replace(max_iters=3000, tol=0.0))
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    window.live.frames.draw_now()
    caption = test_gui.shown_text(window.plots.caption)  # as painted
    assert "converging at 1 − 2.1e-04 per iteration" in caption
    assert "faster than the 1 − 1.0e-04 predicted for κ = 100" in caption
    assert "predicted error rate 1 − 1.0e-04/it (dashed)" in caption


def test_the_caption_says_a_flat_float32_run_is_at_rounding(qtbot, window):
    """The inverse of diag(1, 2, 3, 4) by SGD in float32 is flat at 2e-15 from iteration ~300:
    its caption said nothing."""
    load(qtbot, window, presets.build("seed-inverse-diagonal").replace(max_iters=2000))
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    window.live.frames.draw_now()
    caption = test_gui.shown_text(window.plots.caption)  # as painted
    assert "at rounding (float32): the loss has stayed within float32's rounding floor" in caption


# -- values below the rounding floor ------------------------------------------------------------
def test_one_step_shows_a_gradient_difference_within_rounding_as_0(qtbot, window):
    """The first article's ‖Ax − b‖ in float64: autograd and Aᵀr/‖r‖ differ by rounding, and
    the difference read -2.22045e-16, an exact 0 to the problem's scale (its gradient's
    terms are of size 1)."""
    s = presets.build("seed-random-2x2").replace(dtype="float64", max_iters=200, tol=0.0)
    load(qtbot, window, s)
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    show_step_panel(qtbot, window)
    panel = window.step_panel
    window.model.inspect(100)
    qtbot.waitUntil(
        lambda: panel.anatomy is not None and panel.anatomy.iteration == 100, timeout=LONG
    )
    an = panel.anatomy
    diff = an.autograd - an.closed_form
    assert np.any(diff != 0) and np.max(np.abs(diff)) < 1e-14
    tm, view = panel.table_model, panel.table
    assert tm.column_names[3] == "autograd − formula"
    for row in range(tm.rowCount()):
        index = tm.index(row, 3)
        assert shown(view, index) == "0"
        assert tm.data(index, Qt.ToolTipRole).endswith(repr(float(diff[row])))
    # the gradient itself is far above its rounding: every digit stays
    assert shown(view, tm.index(0, 1)) == f"{an.autograd[0]:.6g}" != "0"


def test_readouts_show_a_loss_and_residual_at_rounding_as_0(qtbot, window):
    """gd on the 3×3 in float64 flattens at a loss of 1.3e-29 (residual 5e-15): rounding."""
    finished_run(qtbot, window, tol=0.0, max_iters=2600)
    window.live.frames.draw_now()
    h = window.model.selected.history
    s = window.model.session
    floor = rounding_floor(s.problem, s.problem.exact, "float64")
    assert 0 < h.loss[-1] <= floor.loss(s.loss) and 0 < h.residual_norm[-1] <= floor.residual

    def read(plot_index: int, k: float) -> str:
        readout = window.plots.readouts[plot_index]
        readout.hide()
        plot = readout.plot
        pos = plot.getViewBox().mapViewToScene(test_gui.QtCore.QPointF(k, 0))
        plot.scene().sigMouseMoved.emit(pos)
        qtbot.waitUntil(lambda: readout.label.isVisible(), timeout=LONG)
        return readout.label.textItem.toPlainText()

    end = read(0, 2600)
    assert "iteration 2,600" in end and end.endswith("loss 0")
    assert "residual 0" in read(1, 2600)
    early = read(0, 100)
    assert f"loss {h.loss[100]:.6g}" in early  # far above rounding: every digit


def test_the_residual_heat_map_reads_an_entry_at_rounding_as_0(qtbot, window):
    """The inverse of diag(1, 2, 3, 4) in float32: XM − I's entries end at 1e-8, rounding."""
    load(qtbot, window, presets.build("seed-inverse-diagonal").replace(max_iters=1000))
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    window.plots.tabs.setCurrentIndex(1)
    window.live.frames.draw_now()
    src = window.plots.src
    r = src.residual(window.plots.shown_x[None, :])[0].reshape(4, 4)
    tiny = [(i, j) for i in range(4) for j in range(4) if 0 < abs(r[i, j]) <= src.floor.entry]
    assert tiny  # rounding left something, and it is below the floor
    for i, j in tiny:
        text = window.plots.plot("heat_residual").reads(j + 1.0, i + 1.0)
        assert text == f"residual[{i + 1},{j + 1}] = 0"
