"""What a learner sees is right: the landscape's contours, image and path agree; clicks and
Continue start runs without moving the session's start or the tab in front; Compare says
what to do when it has nothing to show and drops a ranking of another problem; the labels of
the step-size scale and of the sparsity pattern's axes never meet (pytest-qt, offscreen)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import test_gui
from PySide6 import QtCore, QtGui

from solver.insight.rates import loss_value

LONG = test_gui.LONG
LEVELS_DRAWN_AT_LEAST = 6  # of 12: the extent around the path cuts the outer ones


def finished_run(qtbot, w, **changes) -> None:
    if changes:
        w.editor.load_session(w.model.session.replace(**changes))
    with qtbot.waitSignal(w.model.run_finished, timeout=LONG):
        w.act_run.trigger()


def show_landscape(w) -> object:
    land = w.plots.insight
    w.plots.tabs.setCurrentWidget(land.land_plot)
    w.live.frames.draw_now()
    return land


def contour_points(land, iso) -> np.ndarray:
    """The drawn points of one contour line, in the plot's (view) coordinates: through the
    line's own transform and the image's, which it is drawn on."""
    if iso.path is None:
        iso.generatePath()
    pts = []
    for i in range(iso.path.elementCount()):
        e = iso.path.elementAt(i)
        v = land.image.mapToParent(iso.mapToParent(QtCore.QPointF(e.x, e.y)))
        pts.append((v.x(), v.y()))
    return np.array(pts).reshape(-1, 2)


def check_contours(land, f: Callable[[np.ndarray], np.ndarray]) -> int:
    """Every drawn contour point lies in a grid cell (between the image's pixel centres,
    where the grid was sampled) whose corners' loss brackets the line's level, and the loss
    at the point itself is within that bracket: the line runs where the loss has its level,
    to the grid's resolution. ``f`` is the loss at plane points (rows of (s, t)). Returns
    the number of lines drawn."""
    img = land.image
    drawn = 0
    for iso, level in zip(land.isos, land.contour_losses, strict=True):
        st = contour_points(land, iso)
        if not len(st):
            continue
        drawn += 1
        # fractional grid index of each point: pixel centre (i + 0.5) is grid point i. A
        # line reaching the image's border runs on across the outer half pixel, beyond the
        # last grid point, unchanged: it is checked where the grid ends.
        last = np.array(img.image.shape[::-1]) - 1
        uv = np.array([(q.x() - 0.5, q.y() - 0.5) for q in map(img.mapFromParent, _pts(st))])
        uv = np.clip(uv, 0, last)
        at_grid = [img.mapToParent(QtCore.QPointF(u + 0.5, v + 0.5)) for u, v in uv]
        st = np.array([(q.x(), q.y()) for q in at_grid])
        lo = np.minimum(np.floor(uv), last - 1)
        corners = []
        for di, dj in ((0, 0), (1, 0), (0, 1), (1, 1)):
            c = [img.mapToParent(QtCore.QPointF(i + di + 0.5, j + dj + 0.5)) for i, j in lo]
            corners.append(f(np.array([(q.x(), q.y()) for q in c])))
        corners = np.array(corners)
        low, high = corners.min(axis=0), corners.max(axis=0)
        slack = 1e-9 * max(abs(level), 1e-300)
        assert np.all((low - slack <= level) & (level <= high + slack)), level
        at = f(st)
        assert np.all((low - slack <= at) & (at <= high + slack)), level
    return drawn


def _pts(st: np.ndarray) -> list[QtCore.QPointF]:
    return [QtCore.QPointF(float(s), float(t)) for s, t in st]


# -- the landscape ---------------------------------------------------------------------------
def test_the_landscape_contours_lie_where_the_loss_has_their_level(qtbot, window):
    finished_run(qtbot, window, lr=0.1, max_iters=100, tol=0.0)  # the 3 x 3 example
    land = show_landscape(window)
    s = window.model.session
    a, b = np.asarray(s.problem.A, float), np.asarray(s.problem.b, float)
    x_star = np.linalg.solve(a, b)
    pl = land.plane

    def f(st: np.ndarray) -> np.ndarray:
        xs = pl.origin + st[:, :1] * pl.d1 + st[:, 1:] * pl.d2
        return np.asarray(loss_value(s.loss, a, b, xs, x_star), float)

    assert check_contours(land, f) >= LEVELS_DRAWN_AT_LEAST
    # the minimum marker sits on the image's lowest (darkest) pixel, within one pixel
    img = land.image
    r, c = np.unravel_index(np.argmin(img.image), img.image.shape)  # row-major: row is t
    centre = img.mapToParent(QtCore.QPointF(c + 0.5, r + 0.5))
    star = land.minimum.data
    px = img.mapToParent(QtCore.QPointF(1, 1)) - img.mapToParent(QtCore.QPointF(0, 0))
    assert abs(centre.x() - star["x"][0]) <= abs(px.x())
    assert abs(centre.y() - star["y"][0]) <= abs(px.y())
    # and the start, where the loss is highest along the path, is on a bright pixel
    first = land.plane.coordinates(window.model.selected.history.iterate(0)[None, :])[0]
    q = img.mapFromParent(QtCore.QPointF(*first))
    shade = img.image[int(q.y()), int(q.x())]
    assert shade > np.quantile(img.image, 0.5)


def test_the_landscape_contours_of_a_two_unknown_system_are_its_ellipses(qtbot, window):
    from solver.problems.linear import LinearSystem

    a = np.array([[3.0, 1.0], [0.5, 1.0]])  # not symmetric: a transposed grid shows it
    window.editor.load_session(
        window.model.session.with_problem(LinearSystem(a, np.ones(2)), lr=0.1, max_iters=60)
    )
    finished_run(qtbot, window)
    land = show_landscape(window)
    loss = window.model.session.loss
    x_star = np.linalg.solve(a, np.ones(2))

    def f(xs: np.ndarray) -> np.ndarray:  # the plane is (x1, x2) itself
        return np.asarray(loss_value(loss, a, np.ones(2), xs, x_star), float)

    assert check_contours(land, f) >= LEVELS_DRAWN_AT_LEAST


# -- runs from a point -----------------------------------------------------------------------
def messages(w) -> list[str]:
    said: list[str] = []
    w.model.message.connect(said.append)
    return said


def click_view(qtbot, plot, x: float, y: float) -> None:
    vb = plot.getPlotItem().getViewBox()
    pos = plot.mapFromScene(vb.mapViewToScene(QtCore.QPointF(x, y)))
    qtbot.mouseClick(plot.viewport(), QtCore.Qt.LeftButton, pos=pos)


def test_a_click_on_the_landscape_runs_from_there_and_leaves_the_session_and_tab(qtbot, window):
    finished_run(qtbot, window, lr=0.1, max_iters=60, tol=0.0)
    land = show_landscape(window)
    tabs = window.plots.tabs
    undo_at = window.undo.stack.index()
    said = messages(window)
    vb = land.land_plot.getPlotItem().getViewBox()
    qtbot.waitUntil(lambda: vb.viewRange()[0][1] > vb.viewRange()[0][0], timeout=LONG)
    (x0, x1), (y0, y1) = vb.viewRange()
    u, v = x0 + 0.3 * (x1 - x0), y0 + 0.7 * (y1 - y0)
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        click_view(qtbot, land.land_plot, u, v)
    rec = window.model.selected
    want = land.plane.point(u, v)
    # the run starts at the click, and its own session says so (it can be reproduced)
    assert rec.session.init == "values"
    np.testing.assert_allclose(rec.session.init_values, want, atol=0.01 * np.abs(want).max())
    np.testing.assert_allclose(rec.history.iterate(0), rec.session.init_values)
    # the session's start is untouched, nothing was added to undo, the tab is still in front
    assert window.model.session.init == "zeros" and window.model.session.init_values is None
    assert window.undo.stack.index() == undo_at
    assert tabs.currentWidget() is land.land_plot
    assert any(m.startswith("Running from the clicked point") for m in said), said
    # and it is still said once the run is over, beside the driver's word on how it ended
    status = window.status
    qtbot.waitUntil(lambda: "ran from the clicked point" in status.currentMessage(), timeout=LONG)
    # the next run starts from the session's own start
    finished_run(qtbot, window)
    np.testing.assert_array_equal(window.model.selected.history.iterate(0), np.zeros(3))
    assert tabs.currentWidget() is land.land_plot


def test_continue_from_here_runs_from_the_iterate_and_leaves_the_session(qtbot, window):
    finished_run(qtbot, window, lr=0.1, max_iters=40, tol=0.0)
    land = show_landscape(window)
    first = window.model.selected
    window.model.inspect(25)
    undo_at = window.undo.stack.index()
    said = messages(window)
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.plots.timeline.resume.click()
    rec = window.model.selected
    assert rec is not first
    np.testing.assert_allclose(rec.session.init_values, first.history.iterate(25))
    assert window.model.session.init == "zeros" and window.undo.stack.index() == undo_at
    assert window.plots.tabs.currentWidget() is land.land_plot
    assert any(m.startswith(f"Running from iteration 25 of {first.name}") for m in said), said


# -- compare ---------------------------------------------------------------------------------
def test_a_race_ranking_is_shown_only_beside_the_problem_it_ranks(qtbot, window, monkeypatch):
    import gui.race

    monkeypatch.setattr(gui.race, "RACE_SECONDS", 2.0)
    window.editor.load_session(window.model.session.replace(tol=1e-6))
    cmp = window.plots.insight.compare
    window.plots.tabs.setCurrentWidget(cmp)
    qtbot.waitUntil(lambda: window.model.analysis is not None, timeout=LONG)
    with qtbot.waitSignal(window.race.finished, timeout=4 * LONG):
        cmp.race.click()
    assert cmp.ranking.isVisible() and "1. " in cmp.ranking.toPlainText()
    window.editor.load_preset("seed-polyfit")  # another problem: the ranking is not of it
    assert cmp.ranking.isHidden()
    window.undo.stack.undo()  # the raced problem again: so is its ranking
    assert cmp.ranking.isVisible()


def hint_shown_whole(cmp) -> bool:
    """The hint is on screen, inside the plot's axis box, centred on it, its text whole."""
    hint = cmp.hint
    if not hint.isVisible():
        return False
    vb = cmp.plot.getPlotItem().getViewBox()
    box = cmp.plot.mapFromScene(vb.sceneBoundingRect()).boundingRect()
    g = hint.geometry()
    return (
        box.contains(g)
        and abs(g.center().x() - box.center().x()) <= 2
        and abs(g.center().y() - box.center().y()) <= 2
        and hint.heightForWidth(g.width()) <= g.height()
        and hint.fontMetrics().horizontalAdvance(max(hint.text().split(), key=len)) <= g.width()
    )


def ink_in_the_middle(cmp) -> int:
    """Dark pixels in the middle third of the plot's axis box, as painted."""
    vb = cmp.plot.getPlotItem().getViewBox()
    box = cmp.plot.mapFromScene(vb.sceneBoundingRect()).boundingRect()
    img = cmp.plot.grab().toImage().convertToFormat(QtGui.QImage.Format_Grayscale8)
    ratio = img.devicePixelRatio()
    top, h = int((box.top() + box.height() / 3) * ratio), int(box.height() / 3 * ratio)
    left, w = int((box.left() + 4) * ratio), int((box.width() - 8) * ratio)
    rows = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return int(np.count_nonzero(rows[top : top + h, left : left + w] < 160))


def test_compare_without_runs_says_what_to_do(qtbot, window):
    cmp = window.plots.insight.compare
    window.plots.tabs.setCurrentWidget(cmp)
    qtbot.waitUntil(lambda: ink_in_the_middle(cmp) > 50, timeout=LONG)  # words, painted
    qtbot.waitUntil(lambda: hint_shown_whole(cmp), timeout=LONG)
    assert "press Run (F5) or Race" in cmp.hint.text()
    finished_run(qtbot, window, max_iters=20)
    assert cmp.hint.isHidden()
    window.editor.load_preset("seed-polyfit")  # the kept run is of another problem now
    qtbot.waitUntil(lambda: hint_shown_whole(cmp), timeout=LONG)
    window.resize(700, 600)  # narrow: the hint wraps, still whole and centred
    qtbot.waitUntil(lambda: hint_shown_whole(cmp) and cmp.hint.height() > 0, timeout=LONG)


# -- labels that never meet ------------------------------------------------------------------
def separated(rects: list[QtCore.QRectF], gap_x: float, gap_y: float) -> bool:
    """No two rectangles closer than ``gap_x`` side by side or ``gap_y`` one above another."""
    for i, a in enumerate(rects):
        for b in rects[i + 1 :]:
            if a.adjusted(-gap_x, -gap_y, gap_x, gap_y).intersects(b):
                return False
    return True


def ink_blobs(img: QtGui.QImage, top: int) -> list[QtCore.QRectF]:
    """The bounding box of each patch of dark pixels below row ``top``, patches one pixel
    apart counted as one: labels that touch, or nearly, make one patch across both."""
    from scipy import ndimage

    g = img.convertToFormat(QtGui.QImage.Format_Grayscale8)
    a = np.frombuffer(g.constBits(), np.uint8).reshape(g.height(), g.bytesPerLine())
    ink = ndimage.binary_dilation(a[top:, : g.width()] < 200, np.ones((3, 3), bool))
    labels, _ = ndimage.label(ink)
    return [
        QtCore.QRectF(c.start, top + r.start, c.stop - c.start, r.stop - r.start)
        for r, c in ndimage.find_objects(labels)
    ]


def scale_checked(scale) -> None:
    """The labels' rectangles lie in the widget, apart; the ink painted lies in them, each
    patch of it within one label's rectangle (none bridging two)."""
    # first what was painted, whatever the layout: no patch of ink taller than one row
    font = QtGui.QFont(scale.font())
    font.setPointSizeF(max(6.5, font.pointSizeF() * 0.8))
    row = QtGui.QFontMetricsF(font).boundingRect("2/(μ+L)").height()
    img = scale.grab().toImage().scaled(scale.width(), scale.height())
    blobs = ink_blobs(img, int(scale.strip().bottom() + 3))
    assert blobs and max(b.height() for b in blobs) <= row + 2, blobs
    rects = [r for _, r in scale.label_rects()]
    assert rects, "no label at all"
    assert all(QtCore.QRectF(scale.rect()).contains(r) for r in rects)
    assert separated(rects, 6, 2)
    for blob in blobs:  # the dilation widens a patch by one pixel each way; rounding by one
        assert any(r.adjusted(-2, -2, 2, 2).contains(blob) for r in rects), (blob, rects)


@pytest.mark.parametrize(
    "marks",
    [(0.17157, 0.33333, 0.34315), (1.0, 1.98, 2.0), (1.0, 1.5, 2.0)],
    ids=["3x3", "close", "apart"],
)
def test_the_step_scale_labels_never_meet(qtbot, marks):
    from gui.views.stepscale import StepScale

    scale = StepScale()
    qtbot.addWidget(scale)
    scale.set_marks(*marks)
    scale.set_lr(0.1)
    scale.show()
    for width in range(60, 460, 9):
        scale.resize(width, scale.minimumHeight())
        scale_checked(scale)
    assert scale.minimumHeight() >= scale.needed_height()  # both rows have room


@pytest.mark.parametrize("size", [(1024, 700), (1440, 900)])
def test_the_step_scale_labels_never_meet_in_the_window(qtbot, window, size):
    window.resize(*size)
    scale = window.hyper.scale
    qtbot.waitUntil(lambda: scale.isVisible() and len(scale.marks) == 3, timeout=LONG)
    qtbot.waitUntil(lambda: scale.height() >= scale.minimumHeight(), timeout=LONG)
    scale_checked(scale)


def tick_label_rects(axis) -> list[tuple[str, QtCore.QRectF]]:
    """The tick labels an axis paints, with their rectangles, as it would paint them now."""
    img = QtGui.QImage(4, 4, QtGui.QImage.Format_ARGB32)
    p = QtGui.QPainter(img)
    try:
        specs = axis.generateDrawSpecs(p)
    finally:
        p.end()
    return [] if specs is None else [(text, rect) for rect, _flags, text in specs[2]]


def test_the_pattern_tick_labels_never_run_together(qtbot, window):
    import scipy.sparse as sp

    from gui.views.sparseview import SparseMatrixView

    n = 100_000
    off = -np.ones(n - 1)
    m = sp.diags_array([off, 4.0 * np.ones(n), off], offsets=[-1, 0, 1], format="csr")
    default = window.matrix.width()  # the Problem dock's default width
    assert default >= 300
    view = SparseMatrixView()
    qtbot.addWidget(view)
    view.show()
    view.set_matrix(m)
    view.tabs.setCurrentIndex(1)
    pi = view.pattern_plot.getPlotItem()
    for width in sorted({default, 200, 250, 300, 360, 440, 560, 720}):
        view.resize(width, 420)
        qtbot.waitUntil(lambda w=width: view.pattern_plot.width() >= w - 24, timeout=LONG)
        for name, across in (("bottom", True), ("left", False)):
            labels = tick_label_rects(pi.getAxis(name))
            assert len(labels) >= (3 if width >= 300 else 1), (width, name, labels)
            rects = [r for _, r in labels]
            gap = (4, 0) if across else (0, 1)
            assert separated(rects, *gap), (width, name, labels)
            assert all(len(t) <= 4 for t, _ in labels), labels  # 20k, 100k: not 20000
