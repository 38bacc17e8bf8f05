"""A live run's frames: what they draw, and that everything a run's progress repaints is drawn
inside them, with the solver parked, not between them against it for the GIL."""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
import pytest
import test_gui
from PySide6 import QtCore

from gui.views.curves import CurveSet, LogCurve
from gui.views.plotkit import GuardedPlotWidget, StripLegend

LONG = test_gui.LONG


class PaintWatch(QtCore.QObject):
    """Records, for each paint of ``widget``, whether ``inside()`` held then."""

    def __init__(self, widget: QtCore.QObject, inside) -> None:  # noqa: ANN001
        super().__init__(widget)
        self.inside = inside
        self.paints: list[bool] = []
        widget.installEventFilter(self)

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # noqa: N802
        if ev.type() == QtCore.QEvent.Paint:
            self.paints.append(bool(self.inside()))
        return False


def test_progress_and_the_plots_paints_happen_inside_frames(qtbot, window):
    """Between frames a flat-out run has the GUI's Python to itself: the status bar, the Runs
    table, the timeline and the plots are updated and painted while a frame holds it."""
    test_gui.endless(window)
    live = window.live
    updates, paints = [], []
    window.model.run_updated.connect(
        lambda _id: updates.append((live.frames.in_frame, window.model.selected.status.state))
    )
    plot = window.plots.plot("loss").widget
    window.live.start()
    test_gui.wait_state(qtbot, window, "running")
    watch = PaintWatch(plot.viewport(), lambda: live.frames.in_frame)
    # the change to running (its badge, its message) shows at once, outside a frame
    qtbot.waitUntil(lambda: len(updates) >= 5, timeout=LONG)
    watch.paints.clear()
    qtbot.waitUntil(lambda: len(updates) >= 20 and len(watch.paints) >= 10, timeout=LONG)
    paints = watch.paints
    window.live.stop()
    # the change to running shows at once; the progress after it, in frames
    running = [inside for inside, state in updates if state == "running"][1:]
    assert running and all(running), updates
    # a paint outside a frame can come from the window system (an expose), not from the run
    assert sum(paints) >= 0.9 * len(paints), paints
    assert window.status.st_iter.text().startswith("iteration ")


def test_a_paused_run_shows_its_iteration_at_once(qtbot, window):
    test_gui.endless(window)
    window.live.start()
    test_gui.wait_state(qtbot, window, "running")
    window.live.pause()
    test_gui.wait_state(qtbot, window, "paused")
    rec = window.model.selected
    # the pause is not held back for a frame: every view says the paused iteration
    assert window.status.st_iter.text() == f"iteration {rec.status.iteration:,}"
    assert window.plots.timeline.spin.value() == rec.status.iteration


def test_a_status_label_grows_to_show_a_long_text_and_never_shrinks(qtbot, window):
    from gui.views.status import _show

    label = window.status.st_iter
    width = label.width()
    _show(label, "iteration 100,000,000,000,000")
    qtbot.waitUntil(lambda: label.width() >= label.sizeHint().width(), timeout=LONG)
    assert label.width() > width
    wide = label.width()
    _show(label, "iteration 1")
    assert label.width() == wide and label.text() == "iteration 1"


def _plot(qtbot, log: bool = False) -> GuardedPlotWidget:
    w = GuardedPlotWidget()
    qtbot.addWidget(w)
    w.getPlotItem().setLogMode(x=False, y=log)
    w.resize(300, 200)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_a_log_curve_draws_log10_of_its_data_and_keeps_them_as_given(qtbot):
    w = _plot(qtbot, log=True)
    c = LogCurve(pen=pg.mkPen("b"))
    w.getPlotItem().addItem(c)
    c.setData(np.arange(4.0), np.array([100.0, 10.0, 0.0, 1.0]))
    x, y = c.getOriginalDataset()
    assert y.tolist() == [100.0, 10.0, 0.0, 1.0]
    drawn = c.getData()[1]
    assert drawn[[0, 1, 3]].tolist() == [2.0, 1.0, 0.0] and np.isnan(drawn[2])
    assert c.dataBounds(1) == (0.0, 2.0)  # the zero has no place on a log axis
    w.getPlotItem().setLogMode(x=False, y=False)  # the plot's context menu: linear y
    assert c.getData()[1].tolist() == [100.0, 10.0, 0.0, 1.0]
    assert c.dataBounds(1) == (0.0, 100.0)
    w.grab()  # paints without error either way


def test_a_curve_set_draws_every_curve_and_leaves_out_what_is_not_finite(qtbot):
    w = _plot(qtbot)
    legend = StripLegend(w)
    curves = CurveSet()
    w.getPlotItem().addItem(curves)
    curves.set_curves([pg.mkPen("r"), pg.mkPen("g")], ["x1", "x2"], legend)
    assert [lab.text for _s, lab in legend.item.items] == ["x1", "x2"]
    t = np.arange(5.0)
    curves.setData(t, np.column_stack([t, -t]))
    assert len(curves) == 2 and curves.data(1)[1].tolist() == [0, -1, -2, -3, -4]
    assert curves.dataBounds(0) == (0.0, 4.0) and curves.dataBounds(1) == (-4.0, 4.0)
    before = w.grab().toImage()
    # a diverged run: inf and nan in the newest rows
    curves.setData(t, np.column_stack([t, [0.0, 1.0, np.inf, np.nan, 2.0]]))
    assert curves.dataBounds(1) == (0.0, 4.0)
    after = w.grab().toImage()
    assert before != after


def test_the_range_keeper_sets_what_the_view_shows(qtbot):
    from gui.views.plotkit import RangeKeeper

    w = _plot(qtbot, log=True)
    keeper = RangeKeeper(w, True)
    assert keeper.update(37.0, (3e-5, 2.0), tight=False)
    vb = w.getViewBox()
    qtbot.waitUntil(lambda: vb.viewRange()[0][1] >= 50, timeout=LONG)
    (x0, x1), (y0, y1) = vb.viewRange()
    assert x0 <= 0 and x1 >= 50  # the next round number of iterations
    assert y0 <= -5 and y1 >= 1  # whole decades, on the log axis
    assert not keeper.update(38.0, (3e-5, 2.0), tight=False)  # nothing to move


def test_the_range_keeper_moves_the_view_at_once_not_in_its_next_paint(qtbot):
    """A range taken inside a paint asks for another paint that was lost: with no frame
    after it (a run over before the plots came in) the plot stayed on its old range."""
    from gui.views.plotkit import RangeKeeper

    w = _plot(qtbot, log=True)
    keeper = RangeKeeper(w, True)
    assert keeper.update(1067.0, (1e-17, 7.0), tight=True)
    (x0, x1), (y0, y1) = w.getViewBox().viewRange()  # no event, no paint in between
    assert x0 <= 0 and x1 >= 1067
    assert y0 <= -17 and y1 >= 0.8


def test_one_frame_held_up_does_not_slow_the_frames_after_it(qtbot, window):
    """A frame that could not end for a second (the GUI thread busy elsewhere: a dialog, a
    long load) sets the pace of the next frames no more than any other one frame does."""
    test_gui.endless(window)
    live = window.live
    window.live.start()
    test_gui.wait_state(qtbot, window, "running")
    f0 = live.frames.frame_stats()[0]
    qtbot.waitUntil(lambda: live.frames.frame_stats()[0] >= f0 + 6, timeout=LONG)
    blocked = []

    def block(*_):  # noqa: ANN002, ANN202
        if not blocked:
            blocked.append(True)
            time.sleep(1.0)

    live.frames.frame.connect(block)
    qtbot.waitUntil(lambda: bool(blocked), timeout=LONG)
    f1 = live.frames.frame_stats()[0]
    qtbot.waitUntil(lambda: live.frames.frame_stats()[0] >= f1 + 2, timeout=LONG)
    assert live.frames.frame_cost < 0.1, live.frames.frame_cost
    window.live.stop()


def test_a_mid_sized_run_goes_on_through_the_frames_at_their_own_pace(qtbot, window, monkeypatch):
    """At n = 2000 the run is not parked for a frame: it goes on on one thread, for about
    as long as the frame is expected to take, while the frame draws on the other core, and
    frames then take FRAME_SHARE_SHARED of the wall time, not FRAME_SHARE."""
    import torch
    from test_gui_worker import big_endless

    from gui import frames as frames_mod
    from solver.matrices import kernels

    if torch.get_num_threads() < 2:
        pytest.skip("torch has one thread here: there is no core to share")
    monkeypatch.setitem(kernels.NUMPY_FASTER, torch.float64, False)
    live = window.live
    window.editor.load_session(big_endless())
    assert live.start(), window.model.last_error
    test_gui.wait_state(qtbot, window, "running")
    w = live.worker
    qtbot.waitUntil(lambda: w.policy.sharing_chunks is not None or w.policy.park, timeout=LONG)
    if not w.policy.shares:
        pytest.skip("A's products round differently on one thread here: parked instead")
    asked, paces = [], []
    opening = w.frame_window

    def holding(seconds=None):  # noqa: ANN001, ANN202
        asked.append((seconds, live.frames.frame_cost))
        return opening(seconds)

    def ending():  # noqa: ANN202
        paces.append((live.frames.next_frame_in, live.frames.frame_cost))

    monkeypatch.setattr(w, "frame_window", holding)
    live.frames.frame_ended.connect(ending)
    chunks = w.policy.sharing_chunks
    qtbot.waitUntil(lambda: len(paces) >= 8 and chunks.shared_updates > 0, timeout=LONG)
    window.live.stop()
    test_gui.wait_state(qtbot, window, "idle")
    # each frame asked for a share of its expected length, with a margin (a paint outside
    # the frames, through the plots' guard, asks for the default)
    frames = [(seconds, cost) for seconds, cost in asked if seconds is not None]
    assert frames, asked
    for seconds, cost in frames:
        expect = frames_mod.SHARE_MARGIN * max(cost, 1.0 / frames_mod.MAX_FPS / 4)
        assert seconds == pytest.approx(expect), asked
    # and the next one waits for the frame's cost over the shared budget
    for gap, cost in paces[1:-1]:
        pace = min(
            frames_mod.MAX_GAP, max(1.0 / frames_mod.MAX_FPS, cost / frames_mod.FRAME_SHARE_SHARED)
        )
        # read just after the frame's end: the solver may take the GIL for a moment between
        # (a forced switch), so a little less is fine; FRAME_SHARE would be twice as long
        assert 0.9 * pace - 0.005 <= gap <= pace, paces
