"""Every value the engine accepts, every panel can show, and the other way round
(``solver.core.limits``): sessions at the limits' edges are loaded into the window and every panel
painted, and what the panels let the user type at their edges is accepted by the engine.

pytest-qt fails a test when an exception escapes a paint or a slot, so a grab() that raises
inside paintEvent fails here even though Qt itself would only print it.
"""

from __future__ import annotations

import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import test_gui  # noqa: E402
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402

from solver.core import limits  # noqa: E402
from solver.sessions import session as sessions  # noqa: E402
from solver.settings.optimizers import OPTIMIZER_NAMES  # noqa: E402

LONG = test_gui.LONG

Qt = QtCore.Qt
LONG_FUZZ = os.environ.get("DESCENT_LAB_FUZZ") == "long"  # as tests/gui/test_fuzz_inputs.py
EDGES = settings(
    max_examples=300 if LONG_FUZZ else 16,
    deadline=None,
    derandomize=not LONG_FUZZ,  # CI: the same examples every run, so a failure reproduces
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def edges(limit: limits.Limit) -> st.SearchStrategy:
    """The limit's ends (the smallest positive float where 0 itself is left out), the
    32-bit edges in between, and any value between the ends."""
    lo = limits.SMALLEST_POSITIVE if limit.lo_open else limit.lo
    ends = [lo, limit.hi]
    if limit.integer:
        inner = [v for v in (2**31 - 1, 2**31, 3_000_000_000, 2**32) if lo <= v <= limit.hi]
        return st.one_of(st.sampled_from(ends + inner), st.integers(int(lo), int(limit.hi)))
    return st.one_of(
        st.sampled_from(ends + [1e-300, 1.0, 1e300]),
        st.floats(lo, limit.hi, allow_nan=False, allow_infinity=False),
    )


def edge_session(
    name: str, lr: float, max_iters: int, tol: float, seed: int, momentum: float | None
) -> dict:
    optimizer: dict = {"name": name, "lr": lr}
    if momentum is not None:
        optimizer["momentum"] = momentum
    return {
        "problem": {"A": [[4.0, 1.0], [1.0, 3.0]], "b": [1.0, 2.0]},
        "optimizer": optimizer,
        "init": {"kind": "randn", "seed": seed},
        "stop": {"max_iters": max_iters, "tol": tol},
    }


def analysed(qtbot, w) -> None:  # noqa: ANN001
    qtbot.waitUntil(
        lambda: w.model.analysis is not None and not isinstance(w.model.analysis, BaseException),
        timeout=LONG,
    )


def paint_everything(w) -> None:  # noqa: ANN001
    """Every panel of the window painted now: each tab of each tab widget in turn, and the
    docks, shown or not (grab() paints a hidden widget too)."""
    QtWidgets.QApplication.processEvents()
    for tabs in w.findChildren(QtWidgets.QTabWidget):
        current = tabs.currentIndex()
        for i in range(tabs.count()):
            tabs.setCurrentIndex(i)
            QtWidgets.QApplication.processEvents()
            tabs.widget(i).grab()
        tabs.setCurrentIndex(current)
    for dock in w.findChildren(QtWidgets.QDockWidget):
        dock.widget().grab()
    w.hyper.scale.grab()
    w.grab()


def shown_lr(w) -> float:  # noqa: ANN001
    return float(w.hyper.lr.text())


# -- the window shows every value a session may hold ---------------------------------------------
@EDGES
@given(
    name=st.sampled_from(OPTIMIZER_NAMES),
    lr=edges(limits.LR),
    max_iters=edges(limits.MAX_ITERS),
    tol=edges(limits.TOL),
    seed=edges(limits.SEED),
    momentum=st.one_of(st.none(), st.sampled_from([0.0, 0.9, 1e300, limits.FLOAT_MAX])),
)
def test_sessions_at_the_limits_load_paint_and_show_their_values(
    qtbot, window, name, lr, max_iters, tol, seed, momentum
) -> None:
    momentum = momentum if name in ("sgd", "rmsprop") else None  # only they take one
    s = sessions.from_dict(edge_session(name, lr, max_iters, tol, seed, momentum))
    # caught per example, so that the example that raised is the one reported (and shrunk)
    with qtbot.capture_exceptions() as raised:
        window.editor.load_session(s)
        analysed(qtbot, window)
        paint_everything(window)
        shows_the_session(window, s, momentum)
        # one update (or none, where the start already meets tol): the run's views paint too
        window.act_step.trigger()
        qtbot.waitUntil(
            lambda: (
                window.model.selected is not None
                and window.model.selected.history is not None
                and window.model.state in ("paused", "idle")
            ),
            timeout=LONG,
        )
        paint_everything(window)
        shows_the_session(window, s, momentum)
        window.act_stop.trigger()
        qtbot.waitUntil(lambda: window.model.state == "idle", timeout=LONG)
    assert not raised, [str(e[1]) for e in raised]


def shows_the_session(window, s: sessions.Session, momentum: float | None) -> None:  # noqa: ANN001
    hyper = window.hyper
    assert window.model.session is s
    assert shown_lr(window) == s.lr
    assert float(hyper.tol.text()) == s.tol
    assert hyper.max_iters.value() == s.max_iters
    assert hyper.max_iters.text().replace(hyper.max_iters.locale().groupSeparator(), "") == str(
        s.max_iters
    )
    assert hyper.seed.value() == s.seed
    if momentum is not None:
        assert float(hyper.arg_widget("momentum").text()) == momentum


def test_the_smallest_positive_learning_rate_paints_on_the_step_scale(qtbot, window) -> None:
    window.editor.load_session(window.model.session.replace(lr=limits.SMALLEST_POSITIVE))
    analysed(qtbot, window)
    scale = window.hyper.scale
    assert scale.isVisible() and scale.lr == limits.SMALLEST_POSITIVE
    image = scale.grab().toImage()
    # the handle is drawn at the strip's left end, in the handle's colour
    x = round(scale.x_of(limits.SMALLEST_POSITIVE))
    y = round(scale.strip().center().y())
    assert image.pixelColor(x, y).name() == QtGui.QColor("#1a56db").name()
    assert shown_lr(window) == limits.SMALLEST_POSITIVE


def test_an_iteration_limit_beyond_32_bits_is_shown_whole(qtbot, window) -> None:
    window.editor.load_session(window.model.session.replace(max_iters=3_000_000_000))
    box = window.hyper.max_iters
    sep = box.locale().groupSeparator()
    assert box.value() == 3_000_000_000
    assert box.text() == f"3{sep}000{sep}000{sep}000"
    window.editor.load_session(window.model.session.replace(max_iters=7))
    assert box.value() == 7 and box.text() == "7"  # not the 3e9 left behind


# -- what the panels let the user type, the engine accepts ----------------------------------------
def type_into(qtbot, box: QtWidgets.QAbstractSpinBox, text: str) -> None:
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), text)
    qtbot.keyClick(box.lineEdit(), Qt.Key_Return)


@pytest.mark.parametrize(
    ("field", "key", "limit"),
    [("max_iters", "max_iters", limits.MAX_ITERS), ("seed", "seed", limits.SEED)],
)
def test_integer_fields_take_their_whole_range_and_refuse_beyond(
    qtbot, window, field, key, limit
) -> None:
    window.editor.load_session(window.model.session.replace(init="randn", max_iters=10))
    box = getattr(window.hyper, field)
    for value in (int(limit.hi), 2**31, int(limit.lo)):
        type_into(qtbot, box, str(value))
        assert getattr(window.model.session, key) == value
        assert box.value() == value
    # one past the limit: the field refuses the keystroke that would pass it
    type_into(qtbot, box, str(int(limit.hi) + 1))
    assert getattr(window.model.session, key) == (int(limit.hi) + 1) // 10
    assert box.validate(str(int(limit.hi) + 1), 0)[0] == QtGui.QValidator.Invalid
    box.setValue(int(limit.hi))
    box.stepBy(1)  # the arrows stop at the limit
    assert box.value() == int(limit.hi) and getattr(window.model.session, key) == limit.hi


def test_the_learning_rate_field_takes_the_smallest_and_largest_float(qtbot, window) -> None:
    for text, want in (("5e-324", limits.SMALLEST_POSITIVE), (repr(limits.FLOAT_MAX), None)):
        edit = window.hyper.lr
        edit.setFocus()
        edit.selectAll()
        qtbot.keyClicks(edit, text)
        qtbot.keyClick(edit, Qt.Key_Return)
        assert window.model.session.lr == (want or limits.FLOAT_MAX)
        assert shown_lr(window) == window.model.session.lr


def test_the_step_scale_offers_only_learning_rates_the_engine_takes(qtbot, window) -> None:
    scale = window.hyper.scale
    for lr in (limits.SMALLEST_POSITIVE, limits.FLOAT_MAX):
        window.editor.load_session(window.model.session.replace(lr=lr))
        analysed(qtbot, window)
        scale.grab()
        for x in (-50.0, 0.0, scale.width() / 2, float(scale.width()), scale.width() + 50.0):
            chosen = scale.lr_at(x)
            assert limits.LR.holds(chosen), (lr, x, chosen)
            sessions.make(window.model.session.problem, lr=chosen)


def test_a_huge_run_name_is_refused_and_the_table_still_paints(qtbot, window) -> None:
    window.editor.load_session(window.model.session.replace(max_iters=3))
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    rec = window.model.runs[-1]
    with qtbot.waitSignal(window.model.refused) as refused:
        assert not window.model.rename(rec, "x" * 600_000)
    assert "at most 200 characters" in refused.args[1]
    assert rec.name == "Run 1"
    window.runs.view.grab()
    longest = "y" * int(limits.RUN_NAME.hi)
    assert window.model.rename(rec, longest) and rec.name == longest
    window.runs.view.grab()


def test_a_huge_session_name_is_cut_in_the_title(qtbot, window) -> None:
    window.model.set_label("z" * 600_000)
    assert len(window.model.session_label) == limits.SESSION_NAME.hi
    assert window.model.session_label.endswith("…")
    assert len(window.windowTitle()) < limits.SESSION_NAME.hi + 40


def test_a_billion_long_plot_range_is_refused_at_once(qtbot, window) -> None:
    with qtbot.waitSignal(window.model.refused) as refused:
        assert not window.editor.set_track("1-9999999999")
    assert "9999999999" in refused.args[1]  # named, and refused before any range is built


def test_the_speed_takes_every_positive_value_and_refuses_the_rest(window) -> None:
    from gui.views.controls import SPEEDS

    bar = window.toolbar
    assert (SPEEDS[0], SPEEDS[-2]) == (limits.SPEED.lo, limits.SPEED.hi)
    bar.set_speed(1e300)
    assert SPEEDS[bar.speed.value()] == limits.SPEED.hi
    bar.set_speed(limits.SMALLEST_POSITIVE)
    assert SPEEDS[bar.speed.value()] == limits.SPEED.lo
    for bad in (0, -1, math.inf, math.nan):
        with pytest.raises(ValueError, match="speed"):
            bar.set_speed(bad)
    assert (bar.step_n.minimum(), bar.step_n.maximum()) == (limits.STEP_N.lo, limits.STEP_N.hi)


def test_a_loaded_matrix_beyond_the_size_fields_shows_its_size(qtbot, window) -> None:
    import numpy as np

    from solver.problems.linear import LinearSystem

    rows = int(limits.SIZE_EDIT.hi) + 1
    a = np.ones((rows, 1))
    window.editor.load_session(window.model.session.with_problem(LinearSystem(a, np.ones(rows))))
    spins = window.matrix.page.sizes["A"]
    assert [sp.value() for sp in spins] == [rows, 1]
    for sp in spins:
        sp.grab()


def test_a_loaded_polyfit_beyond_the_panel_fields_shows_its_degree_and_samples(
    qtbot, window
) -> None:
    import numpy as np

    from solver.problems.linear import Polyfit

    samples = int(limits.ENTRIES_EDIT.hi) + 1
    x = np.linspace(-1.0, 1.0, samples)
    degree = int(limits.DEGREE_EDIT.hi) + 1
    window.editor.load_session(window.model.session.with_problem(Polyfit(x, x**2, degree)))
    page = window.matrix.page
    assert page.params["degree"].value() == degree
    assert [sp.value() for sp in page.sizes["x"]] == [samples]
    for w in (page.params["degree"], *page.sizes["x"]):
        w.grab()


def test_a_log_axis_takes_values_from_the_smallest_to_the_largest_float(qtbot) -> None:
    import pyqtgraph as pg

    from gui.views.plotkit import RangeKeeper

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.setLogMode(y=True)
    keeper = RangeKeeper(plot, log_y=True)
    for y in ((limits.SMALLEST_POSITIVE, limits.FLOAT_MAX), (1e307, limits.FLOAT_MAX)):
        for tight in (True, False):
            keeper.reset()
            assert keeper.update(10, y, tight)
            _x0, _x1, y0, y1 = keeper.bounds
            assert 0 < y0 < y1 < math.inf and y0 <= max(y[0], 1e-323)
    plot.grab()


def test_the_landscape_stays_in_floats_at_the_largest_step(qtbot, window) -> None:
    s = sessions.from_dict(edge_session("gd", limits.LR.hi, 10, 0.0, 1, None))
    window.editor.load_session(s)
    analysed(qtbot, window)
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):  # diverged at once
        window.act_step.trigger()
    insight = window.plots.insight
    window.model.inspect(0)  # the start, finite: the step from it is not
    paint_everything(window)
    # -lr·∇f from the start is beyond floats: no arrow, and the view keeps a finite range
    assert not insight.arrow.isVisible()
    ranges = insight.land_plot.getPlotItem().getViewBox().viewRange()
    assert all(math.isfinite(v) for r in ranges for v in r), ranges
    x0, x1, y0, y1 = insight.extent
    assert all(math.isfinite(v) for v in (x1 - x0, y1 - y0))
