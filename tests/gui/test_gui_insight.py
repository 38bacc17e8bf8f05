"""The insight views follow the run and the inspected iteration (pytest-qt, offscreen)."""

from __future__ import annotations

import numpy as np
import pytest
import test_gui

from solver.problems.linear import LinearSystem

LONG = test_gui.LONG


def finished_run(qtbot, w, **changes) -> None:
    w.editor.load_session(w.model.session.replace(**changes))
    with qtbot.waitSignal(w.model.run_finished, timeout=LONG):
        w.act_run.trigger()


def show_step_panel(qtbot, w) -> None:
    w.dock_step.raise_()
    qtbot.waitUntil(lambda: w.step_panel.isVisible() and w.step_panel.on_screen, timeout=LONG)


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


# -- error by direction, landscape, timeline ---------------------------------------------------
def test_error_by_direction_is_the_error_along_each_right_singular_vector(qtbot, window):
    finished_run(qtbot, window, lr=0.1, max_iters=200, tol=0.0)
    plots = window.plots
    plots.tabs.setCurrentWidget(plots.insight.dir_plot)
    window.live.frames.draw_now()
    a = window.model.session.problem.A
    _, s, vt = np.linalg.svd(a)
    its, vals = window.model.selected.history.trajectory()
    x_star = np.linalg.solve(a, window.model.session.problem.b)
    want = np.abs((vals - x_star) @ vt.T)
    curves = plots.insight.dir_curves
    assert len(curves) == 3
    for j, (c, _idx) in enumerate(curves):
        x, y = c.xData, c.yData
        np.testing.assert_allclose(y, want[x.astype(int), j], rtol=1e-9, atol=1e-14)
        assert c.name() == f"σ{j + 1} = {s[j]:.3g}"
    # fast along σ1, slow along σ3: after 200 iterations the order is that of σ
    last = [c.yData[-1] for c, _ in curves]
    assert last[0] < last[1] < last[2]
    window.model.inspect(50)
    qtbot.waitUntil(lambda: plots.insight.dir_marker.value() == 50, timeout=LONG)
    assert plots.insight.dir_marker.isVisible()


def test_an_underdetermined_system_names_the_directions_never_touched(qtbot, window):
    a = np.array([[1.0, 2.0, 0.0, 1.0], [0.0, 1.0, 1.0, 1.0]])
    window.editor.load_session(
        window.model.session.with_problem(LinearSystem(a, np.ones(2)), lr=0.1, max_iters=300)
    )
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    plots = window.plots
    plots.tabs.setCurrentWidget(plots.insight.dir_plot)
    window.live.frames.draw_now()
    title = plots.insight.dir_plot.getPlotItem().titleLabel.text
    assert "2 directions with σ = 0 never touched" in title
    dirs = plots.insight.dirs
    h = window.model.selected.history
    x = h.iterate(len(h) - 1)
    # from zeros gd stays in A's row space: nothing along the null directions
    assert np.abs(x @ dirs.null).max() < 1e-12
    np.testing.assert_allclose(x, np.linalg.pinv(a) @ np.ones(2), atol=1e-8)
    assert "minimum-norm" in plots.caption.text()


def test_the_landscape_shows_the_path_and_a_click_reruns_from_there(qtbot, window):
    a = np.array([[3.0, 1.0], [1.0, 2.0]])
    window.editor.load_session(
        window.model.session.with_problem(LinearSystem(a, np.ones(2)), lr=0.1, max_iters=60)
    )
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    plots = window.plots
    land = plots.insight
    plots.tabs.setCurrentWidget(land.land_plot)
    window.live.frames.draw_now()
    its, vals = window.model.selected.history.trajectory()
    np.testing.assert_allclose(land.path.yData, vals[:, 1])  # (x1, x2) itself
    star = land.minimum.data
    np.testing.assert_allclose([star["x"][0], star["y"][0]], np.linalg.solve(a, np.ones(2)))
    assert land.image.image is not None and land.image.image.shape == (61, 61)
    x = vals[-1]  # the newest iterate, and the step plain gd takes from it
    tip = x - 0.1 * a.T @ (a @ x - np.ones(2))
    np.testing.assert_allclose(land.arrow_line.xData, [x[0], tip[0]], rtol=1e-12)
    np.testing.assert_allclose(land.arrow_line.yData, [x[1], tip[1]], rtol=1e-12)
    # click a point of the plane: a new run starts from it
    vb = land.land_plot.getPlotItem().getViewBox()

    def shows(x: float, y: float) -> bool:  # the view has ranged on the contours
        (x0, x1), (y0, y1) = vb.viewRange()
        return x0 < x < x1 and y0 < y < y1

    qtbot.waitUntil(lambda: shows(0.0, 0.0) and shows(0.2, 0.4), timeout=LONG)
    (x0, x1), (y0, y1) = vb.viewRange()
    want = [x0 + 0.3 * (x1 - x0), y0 + 0.8 * (y1 - y0)]
    target = test_gui.QtCore.QPointF(*want)
    pos = land.land_plot.mapFromScene(vb.mapViewToScene(target))
    first = window.model.selected
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        qtbot.mouseClick(land.land_plot.viewport(), test_gui.QtCore.Qt.LeftButton, pos=pos)
    rec = window.model.selected
    assert rec is not first and rec.session.init == "values"
    np.testing.assert_allclose(rec.session.init_values, want, atol=0.01 * (x1 - x0))
    np.testing.assert_allclose(rec.history.iterate(0), rec.session.init_values)


def test_the_timeline_scrubs_every_view_and_continues_from_there(qtbot, window):
    finished_run(qtbot, window, lr=0.1, max_iters=80, tol=0.0)
    tl = window.plots.timeline
    assert tl.slider.maximum() == 80 and tl.slider.value() == 80 and tl.spin.suffix() == " of 80"
    tl.slider.setValue(30)
    assert window.model.inspected == 30 and tl.spin.value() == 30
    window.live.frames.draw_now()
    its, vals = window.model.selected.history.trajectory()
    np.testing.assert_allclose(window.plots.plot("bars").x_bars.opts["height"], vals[30])  # x at 30
    first = window.model.selected
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        tl.resume.click()
    rec = window.model.selected
    assert rec is not first
    np.testing.assert_allclose(rec.session.init_values, vals[30])
    assert rec.session.lr == 0.1 and rec.status.iteration == 80
    # the new run goes on from where the first was at 30: 80 more updates, the same path
    np.testing.assert_allclose(rec.history.iterate(50), first.history.iterate(80), rtol=1e-12)
    assert window.model.session.init == "zeros"  # the run's own start, not the session's


def test_a_polynomial_fit_shows_its_data_and_the_fitted_curve(qtbot, window):
    window.editor.load_preset("seed-polyfit")
    window.editor.load_session(window.model.session.replace(max_iters=200))
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    plots, v = window.plots, window.plots.insight
    i = plots.tabs.indexOf(v.fit_plot)
    assert plots.tabs.isTabEnabled(i)
    plots.tabs.setCurrentWidget(v.fit_plot)
    p = window.model.session.problem
    np.testing.assert_allclose(v.samples.data["x"], p.samples_x)
    np.testing.assert_allclose(v.samples.data["y"], p.samples_y)
    h = window.model.selected.history
    window.model.inspect(10)  # the curve follows the inspected iteration
    qtbot.waitUntil(
        lambda: (
            v.fit_curve.yData is not None
            and np.allclose(v.fit_curve.yData, np.polyval(h.iterate(10), v.fit_curve.xData))
        ),
        timeout=LONG,
    )
    exact = np.polyfit(p.samples_x, p.samples_y, p.degree)  # numpy's own least squares
    np.testing.assert_allclose(v.best_fit.yData, np.polyval(exact, v.best_fit.xData), rtol=1e-8)
    window.editor.load_preset("seed-3x3")  # not a fit: the tab says why it is off
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    assert not plots.tabs.isTabEnabled(i) and "polynomial" in plots.tabs.tabToolTip(i)


# -- compare and race ------------------------------------------------------------------------
def test_compare_overlays_the_kept_runs_in_their_colours(qtbot, window):
    finished_run(qtbot, window, lr=0.1, max_iters=300, tol=0.0)
    finished_run(qtbot, window, optimizer="lbfgs", lr=1.0, optimizer_args={}, max_iters=5)
    cmp = window.plots.insight.compare
    window.plots.tabs.setCurrentWidget(cmp)
    qtbot.waitUntil(lambda: len(cmp.curves) == 2, timeout=LONG)
    runs = window.model.runs
    for rec in runs:
        c = cmp.curves[rec.id]
        assert c.opts["pen"].color().name() == rec.colour
    lbfgs = runs[1]
    cmp.axis.setCurrentIndex(1)  # against gradient evaluations
    x = cmp.curves[lbfgs.id].xData
    per = lbfgs.status.grad_evals / lbfgs.status.iteration
    assert per > 1  # L-BFGS spends several evaluations on one iteration
    assert x[-1] == pytest.approx(lbfgs.status.iteration * per)
    # conjugate gradient beside them (computed on a thread): n = 3, so at most 3 iterations
    cmp.axis.setCurrentIndex(0)
    qtbot.waitUntil(
        lambda: cmp.reference_curve is not None and cmp.reference_curve.yData is not None,
        timeout=LONG,
    )
    cg = cmp.reference_curve
    assert 2 <= len(cg.yData) <= 4 and "CGLS" in cg.name()
    cmp.axis.setCurrentIndex(2)  # wall time: CG has none, it is not drawn
    cg = cmp.reference_curve
    assert cg is None or cg.xData is None or not len(cg.xData)
    cmp.show_what.setCurrentIndex(1)
    np.testing.assert_allclose(
        cmp.curves[runs[0].id].yData[-1], runs[0].history.error[-1], rtol=1e-6
    )


def test_race_ranks_every_optimizer_by_gradient_evaluations(qtbot, window, monkeypatch):
    import gui.race

    monkeypatch.setattr(gui.race, "RACE_SECONDS", 2.0)
    window.editor.load_session(window.model.session.replace(tol=1e-6))
    cmp = window.plots.insight.compare
    window.plots.tabs.setCurrentWidget(cmp)
    with qtbot.waitSignal(window.race.finished, timeout=4 * LONG) as sig:
        cmp.race.click()
    ranking = sig.args[0]
    assert len(ranking) == 8
    placed = [r for r in ranking if r[0] is not None]
    assert [r[2] for r in placed] == sorted(r[2] for r in placed)
    place = {r[1].split()[0]: r[0] for r in placed}
    # the optimal heavy ball's rate (0.71 here) beats gd's best fixed step (0.94)
    assert place["sgd"] < place["gd"]
    names = [r.name for r in window.model.runs]
    assert names[-8:] == [
        f"Race: {o}" for o in ("gd", "sgd", "adam", "adamw", "rmsprop", "adagrad", "nadam", "lbfgs")
    ]
    hb = window.model.analysis.heavy_ball
    sgd = window.model.runs[-7].session
    assert sgd.lr == pytest.approx(hb[0], rel=1e-5)
    assert sgd.optimizer_args["momentum"] == pytest.approx(hb[1], rel=1e-5)
    assert all(r.session.tol == 1e-6 for r in window.model.runs[-8:])
    assert f"1. {placed[0][1]}" in cmp.ranking.toPlainText()
    assert "conjugate gradient" in cmp.ranking.toPlainText()
    assert window.model.session.optimizer == "gd"  # the user's own settings are untouched


def test_the_landscape_follows_the_inspected_iterate_and_a_chosen_plane(qtbot, window):
    finished_run(qtbot, window, lr=0.1, max_iters=100, tol=0.0)  # 3 unknowns
    plots, land = window.plots, window.plots.insight
    plots.tabs.setCurrentWidget(land.land_plot)
    window.live.frames.draw_now()
    a = window.model.session.problem.A
    x_star = np.linalg.solve(a, window.model.session.problem.b)
    vt = np.linalg.svd(a)[2]
    h = window.model.selected.history
    window.model.inspect(20)
    want = [(h.iterate(20) - x_star) @ vt[0], (h.iterate(20) - x_star) @ vt[2]]
    qtbot.waitUntil(
        lambda: np.allclose(
            np.abs([land.here.data["x"][0], land.here.data["y"][0]]), np.abs(want), atol=1e-9
        ),
        timeout=LONG,
    )
    assert "σmax" in land.land_plot.getPlotItem().getAxis("bottom").labelText
    assert land.set_pick("1, 3") is None  # the plane along x1 and x3, through x*
    assert land.land_plot.getPlotItem().getAxis("left").labelText == "x3 − x*"
    np.testing.assert_allclose(
        [land.here.data["x"][0], land.here.data["y"][0]],
        [h.iterate(20)[0] - x_star[0], h.iterate(20)[2] - x_star[2]],
        atol=1e-12,
    )
    assert "give two unknowns" in land.set_pick("one, three")
    assert "between 1 and 3" in land.set_pick("1, 9")
    assert land.pick == (0, 2)  # a bad choice changes nothing
    assert land.set_pick("") is None and land.pick is None


def test_alt_arrows_step_the_inspected_iteration(qtbot, window):
    finished_run(qtbot, window, lr=0.1, max_iters=30, tol=0.0)
    window.menus.act_inspect_back.trigger()
    assert window.model.inspected == 29
    for _ in range(5):
        window.menus.act_inspect_back.trigger()
    assert window.model.inspected == 24 and window.plots.timeline.slider.value() == 24
    window.menus.act_inspect_on.trigger()
    assert window.model.inspected == 25
    window.menus.act_inspect_newest.trigger()
    assert window.model.inspected is None


def test_the_caption_sentence_wraps_instead_of_widening_the_window(qtbot, window):
    finished_run(qtbot, window, lr=0.1, max_iters=300, tol=0.0)
    window.live.frames.draw_now()
    assert len(window.plots.caption.text()) > 150  # the long sentence of a converging run
    # the plots still fit beside both side docks in a 1024-pixel window
    assert window.plots.minimumSizeHint().width() <= 400


def test_the_heat_maps_show_the_inspected_iterate(qtbot, window):
    window.editor.load_preset("seed-inverse-diagonal")
    window.editor.load_session(window.model.session.replace(max_iters=50))
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    plots = window.plots
    plots.tabs.setCurrentIndex(1)  # X heat map
    h = window.model.selected.history
    window.model.inspect(5)
    x5 = h.iterate(5).reshape(plots.src.unknown_shape)
    qtbot.waitUntil(lambda: np.allclose(plots.plot("heat_x").image.image, x5), timeout=LONG)
    plots.tabs.setCurrentIndex(2)  # its residual, at the same iteration
    m = window.model.session.problem.M
    qtbot.waitUntil(
        lambda: (
            plots.plot("heat_residual").image.image is not None
            and np.allclose(
                plots.plot("heat_residual").image.image,
                plots.src.residual(x5.reshape(1, -1))[0].reshape(x5.shape),
            )
        ),
        timeout=LONG,
    )
    assert m.shape == x5.shape
