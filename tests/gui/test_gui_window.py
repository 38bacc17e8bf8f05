"""The window a new user meets: start-up, the run controls' states, undo, files, layout and
what is readable at the smallest laptop size (pytest-qt, offscreen)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import test_gui
from PySide6 import QtCore, QtGui, QtWidgets

from gui.mainwindow import MainWindow

LONG = test_gui.LONG
Qt = QtCore.Qt


def type_lr(w: MainWindow, text: str) -> None:
    w.hyper.lr.setText(text)
    w.hyper.lr.setModified(True)
    w.hyper.lr.editingFinished.emit()


def drop(w: MainWindow, path, on: QtWidgets.QWidget | None = None) -> bool:
    """Drag a file from a file manager over ``on`` (else the window's centre) and drop it.
    Returns whether the drag was accepted."""
    target = on or w
    pos = target.mapTo(w, target.rect().center()) if on is not None else w.rect().center()
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path))])
    enter = QtGui.QDragEnterEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QtWidgets.QApplication.sendEvent(w, enter)
    if not enter.isAccepted():
        return False
    ev = QtGui.QDropEvent(QtCore.QPointF(pos), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QtWidgets.QApplication.sendEvent(w, ev)
    return True


def deferred_window(qtbot, tmp_path) -> MainWindow:
    """The window as the app builds it: painted, the solver not loaded yet."""
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.IniFormat)
    w = MainWindow(settings, tmp_path / "data", defer=True, dialogs=False)
    qtbot.addWidget(w)
    w.show()
    return w


def pixels_of(widget: QtWidgets.QWidget, rgb: int) -> int:
    """How many pixels of ``widget`` are ``rgb`` on the screen: what was last painted there,
    not a fresh rendering (as ``widget.grab()`` would be)."""
    top = widget.mapTo(widget.window(), QtCore.QPoint(0, 0))
    screen = QtGui.QGuiApplication.primaryScreen()
    image = screen.grabWindow(
        widget.window().winId(), top.x(), top.y(), widget.width(), widget.height()
    ).toImage()
    return sum(
        image.pixel(x, y) & 0xFFFFFF == rgb & 0xFFFFFF
        for y in range(0, image.height(), 2)
        for x in range(0, image.width(), 2)
    )


def close_deferred(qtbot, w: MainWindow) -> None:
    """Close a window built as the app builds it, once its start-up imports are done: the
    interpreter must not exit with torch still importing on the loader's thread."""
    w.shutdown()
    if w.loader is not None:
        qtbot.waitUntil(lambda: not w.loader.busy(), timeout=LONG)


# -- start-up ---------------------------------------------------------------------------------
def test_run_pressed_while_the_solver_loads_starts_once_it_has(qtbot, tmp_path):
    w = deferred_window(qtbot, tmp_path)
    try:
        assert not w.model.ready
        assert w.act_run.isEnabled(), "Run must take a press while the solver loads"
        w.act_run.trigger()  # F5 before anything has loaded
        assert w.live.queued
        assert "as soon as the solver has loaded" in w.status.currentMessage()
        assert w.act_stop.isEnabled() and not w.act_run.isEnabled()  # taken, and cancellable
        w.finish_startup()
        qtbot.waitUntil(lambda: w.model.selected is not None, timeout=LONG)
        qtbot.waitUntil(lambda: w.model.state == "idle", timeout=LONG)
        assert not w.live.queued
        assert w.model.selected.status.stop_reason == "converged"
        assert len(w.model.runs) == 1  # once, not once per press
    finally:
        close_deferred(qtbot, w)


def test_a_run_over_before_the_plots_load_is_drawn_once_they_have(qtbot, tmp_path, monkeypatch):
    """F5 during start-up: the 3x3 run ends in a fraction of a second, before pyqtgraph is
    in. The plots that come after show it, not empty axes (they drew only on a frame)."""
    import threading

    from gui import loader as loader_mod

    run_over = threading.Event()
    real_plots = loader_mod.preload_plots
    monkeypatch.setattr(
        loader_mod, "preload_plots", lambda: (run_over.wait(LONG / 1000), real_plots())[1]
    )
    w = deferred_window(qtbot, tmp_path)
    w.resize(1440, 900)
    try:
        w.act_run.trigger()
        w.finish_startup()
        qtbot.waitUntil(lambda: bool(w.model.runs) and w.model.state == "idle", timeout=LONG)
        assert w.plots is None  # the run is over and the plots are not in yet
        run_over.set()
        qtbot.waitUntil(lambda: w.plots is not None, timeout=LONG)
        iterations = w.model.selected.status.iteration
        qtbot.waitUntil(lambda: drawn(w) > 0, timeout=LONG)
        x, _ = w.plots.plot("loss").curve.getOriginalDataset()
        assert x[-1] >= iterations - 1  # to the run's end (drawn in bins of iterations)
        # ...and on the screen, not only in a fresh rendering (the lost repaint of a range
        # taken inside a paint is test_gui_frames' range-keeper test)
        colour = QtGui.QColor(w.model.selected.colour).rgb()
        qtbot.waitUntil(lambda: pixels_of(w.plots.plot("loss").widget, colour) > 50, timeout=LONG)
    finally:
        run_over.set()
        close_deferred(qtbot, w)


def test_plots_hidden_through_a_runs_last_frame_draw_it_when_shown(qtbot, window):
    """A minimized window, or the plots built after the run: every frame skipped them, and
    a run that is over asks for no more; shown, they catch up."""
    window.plots.hide()
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.live.start()
    qtbot.waitUntil(lambda: window.status.st_iter.text() != "iteration —", timeout=LONG)
    assert drawn(window) == 0  # skipped while hidden
    window.plots.show()
    iterations = window.model.selected.status.iteration
    qtbot.waitUntil(lambda: drawn(window) > 0, timeout=LONG)
    assert window.plots.plot("loss").curve.getOriginalDataset()[0][-1] >= iterations - 1


def drawn(w: MainWindow) -> int:
    """Points in the loss plot's curve."""
    x = w.plots.plot("loss").curve.getOriginalDataset()[0]
    return 0 if x is None else len(x)


def test_a_queued_run_can_be_cancelled(qtbot, tmp_path):
    w = deferred_window(qtbot, tmp_path)
    try:
        w.act_step.trigger()
        assert w.live.queued
        w.act_stop.trigger()
        assert not w.live.queued and "cancelled" in w.status.currentMessage()
        w.finish_startup()
        qtbot.waitUntil(lambda: w.model.ready, timeout=LONG)
        assert w.model.runs == [] and w.act_run.isEnabled()
    finally:
        close_deferred(qtbot, w)


# -- run controls ---------------------------------------------------------------------------
def test_paused_shows_one_resume_and_the_toolbar_stays_put(qtbot, window):
    test_gui.endless(window)
    bar = window.toolbar
    stop_at = bar.widgetForAction(window.act_stop).geometry()
    window.act_run.trigger()
    test_gui.wait_state(qtbot, window, "running")
    window.act_pause.trigger()
    test_gui.wait_state(qtbot, window, "paused")
    resumes = [a for a in (window.act_run, window.act_pause) if a.text() == "Resume"]
    assert resumes == [window.act_run] and window.act_run.isEnabled()
    assert not window.act_pause.isEnabled()
    assert bar.widgetForAction(window.act_stop).geometry() == stop_at
    window.act_run.trigger()
    test_gui.wait_state(qtbot, window, "running")
    assert window.act_run.text() == "Run" and window.act_pause.isEnabled()
    window.act_stop.trigger()
    test_gui.wait_state(qtbot, window, "idle")


def test_status_time_is_the_runs_wall_time(qtbot, window):
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    st = window.model.selected.status
    assert st.wall >= st.elapsed > 0
    window.status.update_run()
    assert window.status.st_time.text() == f"{st.wall:.2f} s"
    rate = int(window.status.st_rate.text().split()[0].replace(",", ""))
    assert rate == pytest.approx(st.iteration / st.wall, abs=1)


def test_edits_during_a_run_say_they_apply_to_the_next_run(qtbot, window):
    test_gui.endless(window)
    window.act_run.trigger()
    test_gui.wait_state(qtbot, window, "running")
    notes = [p.findChild(QtWidgets.QLabel, "nextRunNote") for p in (window.hyper, window.matrix)]
    assert all(n.isVisible() and "next run" in n.text() for n in notes)
    type_lr(window, "0.05")
    assert "apply to the next run" in window.status.currentMessage()
    window.act_stop.trigger()
    test_gui.wait_state(qtbot, window, "idle")
    assert window.model.selected.session.lr == 0.1 and window.model.session.lr == 0.05
    assert not any(n.isVisible() for n in notes)


# -- undo, the modified marker, quitting ------------------------------------------------------
def test_undo_and_redo_of_settings_and_cells(qtbot, window):
    undo, redo = window.menus.act_undo, window.menus.act_redo
    assert not undo.isEnabled()  # nothing to undo at start
    type_lr(window, "0.05")
    assert "lr" in undo.text()
    model = window.matrix.model_of("b")
    model.setData(model.index(0, 0), "7")
    assert window.model.session.problem.b[0] == 7
    undo.trigger()
    assert window.model.session.problem.b[0] == 1
    assert model.array()[0] == 1  # the table shows the undone value
    assert window.model.session.lr == 0.05
    undo.trigger()
    assert window.model.session.lr == 0.1 and window.hyper.lr.text() == "0.1"
    assert not undo.isEnabled()
    redo.trigger()
    redo.trigger()
    assert window.model.session.lr == 0.05 and window.model.session.problem.b[0] == 7
    keys = {s.toString() for s in redo.shortcuts()}
    assert "Ctrl+Shift+Z" in keys and undo.shortcut().toString() == "Ctrl+Z"


def test_title_marks_unsaved_changes_and_saving_clears_it(qtbot, window, tmp_path, monkeypatch):
    assert "[*]" in window.windowTitle() and not window.isWindowModified()
    type_lr(window, "0.05")
    assert window.isWindowModified()
    target = tmp_path / "mine.json"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.act_save.trigger()
    assert target.is_file() and not window.isWindowModified()
    assert "mine.json" in window.windowTitle()
    window.menus.act_undo.trigger()
    assert window.isWindowModified()  # back before the saved state


def test_quitting_with_unsaved_changes_asks_and_cancel_keeps_the_window(qtbot, make_window):
    w = make_window(dialogs=True)
    type_lr(w, "0.05")
    asked = []

    def answer(files):
        asked.append(files)
        return False  # Cancel

    w.boxes.may_discard = answer
    w.close()
    assert asked and w.isVisible() and w.live.worker is not None
    w.boxes.may_discard = lambda files: True
    w.close()
    assert not w.isVisible()


# -- files: recent, drag and drop ---------------------------------------------------------------
def _session_file(w: MainWindow, path, lr: float) -> None:
    from solver.sessions import session as sessions

    sessions.save(w.model.session.replace(lr=lr), path)


def test_open_recent_lists_what_was_opened_and_forgets_what_is_gone(qtbot, window, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    _session_file(window, a, 0.02)
    _session_file(window, b, 0.03)
    assert window.files.open_path(a) and window.files.open_path(b)
    menu = window.menus.recent_menu
    menu.aboutToShow.emit()
    names = [act.text() for act in menu.actions() if act.text()]
    assert names[:2] == ["&1  b.json", "&2  a.json"]
    next(act for act in menu.actions() if act.text().endswith("a.json")).trigger()
    assert window.model.session.lr == 0.02 and "a.json" in window.windowTitle()
    a.unlink()
    menu.aboutToShow.emit()
    next(act for act in menu.actions() if act.text().endswith("a.json")).trigger()
    assert "no such file" in window.model.last_error
    assert window.model.session.lr == 0.02  # nothing changed
    menu.aboutToShow.emit()
    assert not any(act.text().endswith("a.json") for act in menu.actions())


def test_dropping_files_opens_sessions_and_imports_matrices(qtbot, window, tmp_path):
    s = tmp_path / "dropped.json"
    _session_file(window, s, 0.04)
    assert drop(window, s)
    assert window.model.session.lr == 0.04 and "dropped.json" in window.windowTitle()
    a = tmp_path / "a.npy"
    np.save(a, np.diag([2.0, 3.0, 4.0]))
    assert drop(window, a, on=window.plots)  # anywhere but the b table: the matrix
    assert np.array_equal(window.model.session.problem.A, np.diag([2.0, 3.0, 4.0]))
    b = tmp_path / "b.csv"
    b.write_text("5\n6\n7\n")
    assert drop(window, b, on=window.matrix.view("b").viewport())
    assert np.array_equal(window.model.session.problem.b, [5, 6, 7])
    assert np.array_equal(window.model.session.problem.A, np.diag([2.0, 3.0, 4.0]))


def test_a_file_of_no_known_kind_is_not_taken(qtbot, window, tmp_path):
    before = window.model.session
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    assert not drop(window, txt)  # the drag itself is refused: the cursor says so
    assert not window.drops.drop([txt, txt])  # several at once: refused, named
    assert "one file at a time" in window.model.last_error
    assert window.model.session is before


def test_open_while_loading_says_why_it_waits(qtbot, tmp_path):
    w = deferred_window(qtbot, tmp_path)
    try:
        f = tmp_path / "x.json"
        f.write_text(json.dumps({"A": [[1]], "b": [1]}))
        assert not w.files.open_path(f)
        assert "still loading" in w.status.currentMessage()
    finally:
        close_deferred(qtbot, w)


def show_a_heat_map(qtbot, w: MainWindow) -> None:
    """A finished 4x4 inverse run with its X heat map in front."""
    w.editor.load_preset("seed-inverse-diagonal")
    w.editor.load_session(w.model.session.replace(max_iters=50))
    with qtbot.waitSignal(w.model.run_finished, timeout=LONG):
        w.act_run.trigger()
    w.plots.tabs.setCurrentIndex(1)
    w.live.frames.draw_now()


# -- export, indices, numbers -------------------------------------------------------------------
def test_heat_map_export_is_offered_only_with_a_heat_map(qtbot, window):
    menu = window.menus.export_menu

    def enabled() -> dict[str, bool]:
        menu.aboutToShow.emit()
        return {a.data(): a.isEnabled() for a in menu.actions()}

    assert not any(enabled().values())  # no run: nothing to export
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    on = enabled()
    assert on["loss"] and on["x"] and not on["heat_x"] and not on["svd_values"]
    window.editor.load_preset("seed-inverse-diagonal")
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    assert enabled()["heat_x"] and enabled()["heat_residual"]


def test_indices_count_from_one_and_counts_are_grouped(qtbot, window):
    view = window.matrix.view("A")
    assert view.model().headerData(0, Qt.Horizontal) == "1"
    show_a_heat_map(qtbot, window)
    image = window.plots.plot("heat_x").image
    rect = image.mapRectToParent(image.boundingRect())
    assert (rect.left(), rect.top(), rect.right(), rect.bottom()) == (0.5, 0.5, 4.5, 4.5)
    names = [lab.text for _s, lab in window.plots.plot("x").legend.item.items]
    assert names[0].startswith("X[1,") or names[0].startswith("x1")
    window.editor.change({"max_iters": 100_000_000})
    sep = window.hyper.max_iters.locale().groupSeparator()
    assert window.hyper.max_iters.text() == f"100{sep}000{sep}000"
    assert window.runs.view.model().rowCount() >= 1


# -- the smallest laptop window -----------------------------------------------------------------
def _inside(child: QtWidgets.QWidget, area: QtWidgets.QWidget) -> bool:
    top_left = child.mapTo(area, QtCore.QPoint(0, 0))
    r = QtCore.QRect(top_left, child.size())
    return area.rect().contains(r)


def _inside_across(child: QtWidgets.QWidget, area: QtWidgets.QWidget) -> bool:
    left = child.mapTo(area, QtCore.QPoint(0, 0)).x()
    return left >= 0 and left + child.width() <= area.width()


def _cut_off(w: MainWindow) -> list[str]:
    """What is not fully visible in the window as it is laid out now."""
    viewport = w.dock_hyper.widget().viewport()
    hyper = w.hyper
    # the panel scrolls vertically (a small screen shows its lower fields by scrolling);
    # across, every field must fit
    bad = [
        f"Solver field {f.objectName() or type(f).__name__}"
        for f in (hyper.kind, hyper.lr, hyper.recommended, hyper.optimal, hyper.heavy)
        + (hyper.scale, hyper.track, hyper.lr_info)
        if not _inside_across(f, viewport)
    ]
    for name, plot in w.plots.plots.items():
        if not plot.isVisible():
            continue
        pi = plot.getPlotItem()
        if pi.width() > plot.width() + 1:
            bad.append(f"plot {name} is wider than its widget")
        if pi.titleLabel.item.boundingRect().width() > pi.width():
            bad.append(f"title of {name}")
    return bad


def test_nothing_is_cut_off_at_1024_by_700(qtbot, window):
    window.resize(1024, 700)
    window.layout_.size_docks()
    type_lr(window, "1.0")  # diverges: the long warning must wrap, not run off the edge
    assert "diverge" in window.hyper.lr_info.text() and window.hyper.lr_info.wordWrap()
    # the layout settles in the event loop: wait for it, then name whatever is cut off
    try:
        qtbot.waitUntil(lambda: window.width() == 1024 and not _cut_off(window), timeout=5000)
    except Exception:
        pass
    assert window.width() == 1024
    assert _cut_off(window) == []
    combo = window.hyper.loss
    assert combo.toolTip() == combo.currentText()  # the whole label, a hover away


def test_table_cells_show_their_numbers_whole(qtbot, window):
    model = window.matrix.model_of("A")
    model.setData(model.index(0, 0), "-0.00827047")
    model.setData(model.index(0, 1), "-1.23457e-05")
    view = window.matrix.view("A")
    fm = view.fontMetrics()
    for col in (0, 1):
        text = model.data(model.index(0, col))
        assert fm.horizontalAdvance(text) + 8 <= view.columnWidth(col), text


def test_a_vectors_numbers_too_long_for_its_column_are_rounded_not_elided(qtbot, window):
    """b's column shares its pane with the row numbers (four digits beside a 2,000-row A):
    a number longer than the column shows the digits that fit, never "1.97…"."""
    view, model = window.matrix.view("b"), window.matrix.model_of("b")
    model.setData(model.index(0, 0), "-0.000123456789")
    model.setData(model.index(1, 0), "2")
    view.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.Fixed)
    fm = view.fontMetrics()
    view.setColumnWidth(0, fm.horizontalAdvance("-0.000123") + 8)
    room = view.columnWidth(0) - 6
    full = model.data(model.index(0, 0))
    assert fm.elidedText(full, Qt.ElideRight, room) != full  # as it was: "-0.000…"

    text = shown(view, model.index(0, 0))
    assert fm.horizontalAdvance(text) <= room and fm.elidedText(text, Qt.ElideRight, room) == text
    assert len(text) >= 7 and float(text) == pytest.approx(-0.000123456789, rel=1e-2)
    assert shown(view, model.index(1, 0)) == "2"  # what fits is left as it is
    assert model.data(model.index(0, 0), Qt.ToolTipRole).endswith("-0.000123456789")


def test_the_runs_lr_is_rounded_to_its_column_not_elided(qtbot, window):
    assert window.editor.change({"lr": 0.04973332032})
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.live.start()
    view = window.runs.view
    index = view.model().index(0, 2)
    full = view.model().data(index)
    fm = view.fontMetrics()
    view.setColumnWidth(2, fm.horizontalAdvance("0.049") + 8)
    text = shown(view, index)
    room = view.columnWidth(2) - 6
    assert fm.elidedText(full, Qt.ElideRight, room) != full  # "0.04973" did not fit
    assert fm.horizontalAdvance(text) <= room and text.startswith("0.0")
    assert float(text) == pytest.approx(0.04973332032, rel=0.05)


def shown(view: QtWidgets.QAbstractItemView, index: QtCore.QModelIndex) -> str:
    """The text the cell's delegate paints at its current width."""
    option = QtWidgets.QStyleOptionViewItem()
    option.initFrom(view)
    option.rect = view.visualRect(index)
    view.itemDelegateForIndex(index).initStyleOption(option, index)
    return option.text


def test_legends_sit_outside_the_plot_area(qtbot, window):
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    plots = [window.plots.plot(key).widget.getPlotItem() for key in ("error", "x")]

    def over_a_curve() -> list:
        return [
            pi
            for pi in plots
            if pi.legend.sceneBoundingRect().intersects(pi.getViewBox().sceneBoundingRect())
        ]

    # a new legend entry is laid out by the scene on its next pass: wait for that, then check
    qtbot.waitUntil(lambda: not over_a_curve(), timeout=5000)
    assert all(pi.legend.isVisible() for pi in plots)


def test_many_components_hide_the_legend_behind_a_toggle(qtbot, window):
    window.editor.change({"kind": "inverse"})
    window.editor.load_preset("seed-inverse-diagonal")
    window.editor.load_session(window.model.session.replace(max_iters=20))
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    legend = window.plots.plot("x").legend
    assert len(legend.item.items) > 6 and not legend.item.isVisible()
    legend.toggle.trigger()
    assert legend.item.isVisible()


# -- layout -------------------------------------------------------------------------------------
def test_reset_layout_brings_every_panel_back(qtbot, window):
    window.dock_runs.close()
    window.dock_hyper.setFloating(True)
    window.menus.act_reset_layout.trigger()
    for d in window.docks.values():
        assert not d.isFloating()
    qtbot.waitUntil(lambda: window.dock_runs.isVisible() and window.dock_hyper.isVisible())
    assert window.dockWidgetArea(window.dock_hyper) == Qt.RightDockWidgetArea


def test_a_squeezed_saved_layout_does_not_squeeze_the_next_start(qtbot, make_window):
    w = make_window()
    qtbot.waitUntil(lambda: not w.layout_.default_pending)  # the first layout is in
    w.resizeDocks([w.dock_matrix, w.dock_hyper], [600, 500], Qt.Horizontal)
    qtbot.waitUntil(lambda: w.centralWidget().width() < 0.3 * w.width(), timeout=LONG)
    w.close()
    w2 = make_window()
    qtbot.waitUntil(lambda: w2.centralWidget().width() >= 0.3 * w2.width(), timeout=LONG)


def test_heat_map_readout_names_the_cell_under_the_pointer(qtbot, window):
    show_a_heat_map(qtbot, window)
    # the axes count from 1: the point (1, 1) is the centre of the top-left pixel
    assert window.plots.plot("heat_x").reads(1.0, 1.0).startswith("X[1,1]")
    assert window.plots.plot("heat_x").reads(4.4, 2.0).startswith("X[2,4]")
    assert window.plots.plot("heat_x").reads(0.4, 1.0) is None  # left of the first column


# -- step-size guidance -----------------------------------------------------------------------
def test_step_scale_marks_the_analysis_steps_in_order(qtbot, window):
    scale = window.hyper.scale
    a = window.model.analysis
    assert set(scale.marks) == {"recommended", "optimal", "limit"}
    xs = [scale.x_of(a.recommended_lr), scale.x_of(a.optimal_lr), scale.x_of(a.max_stable_lr)]
    assert xs == sorted(xs) and xs[0] < xs[2]
    assert scale.lr == window.model.session.lr


def test_dragging_the_scale_handle_sets_the_learning_rate(qtbot, window):
    scale = window.hyper.scale
    a = window.model.analysis
    target = scale.x_of(a.optimal_lr)
    qtbot.mousePress(scale, Qt.LeftButton, pos=QtCore.QPoint(int(scale.x_of(0.1)), 9))
    qtbot.mouseMove(scale, QtCore.QPoint(int(target), 9))
    qtbot.mouseRelease(scale, Qt.LeftButton, pos=QtCore.QPoint(int(target), 9))
    lr = window.model.session.lr
    assert lr == pytest.approx(a.optimal_lr, rel=0.05)  # within a pixel of the mark
    assert window.hyper.lr.text() == f"{lr:.10g}" and scale.lr == lr
    window.menus.act_undo.trigger()
    assert window.model.session.lr == 0.1


def test_optimal_step_and_heavy_ball_buttons(qtbot, window):
    a = window.model.analysis
    window.hyper.optimal.click()
    assert window.model.session.lr == pytest.approx(a.optimal_lr, rel=1e-5)
    window.hyper.heavy.click()
    s = window.model.session
    lr, momentum = a.heavy_ball
    assert s.optimizer == "sgd"
    assert s.lr == pytest.approx(lr, rel=1e-5)
    assert s.optimizer_args == {"momentum": pytest.approx(momentum, rel=1e-5)}
    assert window.hyper.arg_widget("momentum").text() == f"{s.optimizer_args['momentum']!r}"
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    heavy = window.model.selected.status.iteration
    window.editor.change({"optimizer": "gd", "optimizer_args": {}, "lr": a.recommended_lr})
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    assert heavy < window.model.selected.status.iteration  # fewer iterations to the same tol


def test_no_step_buttons_for_a_loss_that_is_not_smooth(qtbot, window):
    window.editor.change({"loss": "l1_norm"})
    qtbot.waitUntil(lambda: window.model.analysis is not None, timeout=LONG)
    qtbot.waitUntil(lambda: "no step-size limit" in window.hyper.lr_info.text(), timeout=LONG)
    assert not window.hyper.optimal.isEnabled() and not window.hyper.heavy.isEnabled()
    assert not window.hyper.scale.isVisible()


# -- predicted beside measured ------------------------------------------------------------------
def test_the_loss_plot_shows_the_predicted_loss_and_the_measured_rate(qtbot, window):
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    window.live.frames.draw_now()
    a = window.model.analysis
    pred = window.plots.prediction
    assert pred.rate == pytest.approx(a.rate_for("gd", 0.1), rel=1e-12)
    x, y = pred.curve.getOriginalDataset()  # as given (the curve draws their log10)
    loss = window.model.selected.history.loss
    assert x[0] == 0 and y[0] == pytest.approx(loss[0])
    # a straight line on the log axis, falling by rate² per iteration
    slope = (np.log(y[-1]) - np.log(y[0])) / (x[-1] - x[0])
    assert slope == pytest.approx(2 * np.log(pred.rate), rel=1e-9)
    caption = window.plots.caption.text()
    assert f"predicted error rate {pred.rate:.4f}" in caption
    measured = float(caption.split("converging at ")[1].split(" per iteration")[0])
    assert measured == pytest.approx(pred.rate, rel=0.01)  # the 3x3 runs as predicted
    assert f"as predicted for κ = {window.model.analysis.cond:.3g}" in caption


def test_no_prediction_where_the_spectrum_says_nothing(qtbot, window):
    window.editor.change({"optimizer": "adam", "optimizer_args": {}})
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    window.live.frames.draw_now()
    assert window.plots.prediction.rate is None
    xs = window.plots.prediction.curve.xData
    assert xs is None or not len(xs)
    assert "predicted" not in window.plots.caption.text()
    window.editor.change({"optimizer": "gd", "optimizer_args": {}})
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    model = window.matrix.model_of("b")
    model.setData(model.index(0, 0), "5")  # a new problem: the run is stale now
    qtbot.waitUntil(lambda: window.model.selected.stale, timeout=LONG)
    window.live.frames.draw_now()
    assert window.plots.prediction.rate is None


def test_a_divergence_is_said_as_soon_as_it_is_clear(qtbot, window):
    # lr × L = 2.9 on the 3x3: the top direction grows 1.9× per update, so the loss is above
    # its start within a few iterations; it would overflow only after hundreds
    window.editor.load_session(window.model.session.replace(lr=0.5, max_iters=25, tol=0.0))
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    window.live.frames.draw_now()
    # certain as soon as it is clear: the run stopped there, still finite
    assert window.model.selected.status.stop_reason == "diverged"
    assert np.isfinite(window.model.selected.history.loss).all()
    caption = window.plots.caption.text()
    assert "diverging since iteration" in caption and "lr · L" in caption
    onset = int(caption.split("diverging since iteration ")[1].split(":")[0])
    loss = window.model.selected.history.loss
    assert loss[onset] > loss[0] >= loss[onset - 1] and onset < 10
    window.editor.load_session(window.model.session.replace(lr=0.1, max_iters=2000, tol=1e-16))
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.act_run.trigger()
    window.live.frames.draw_now()
    assert "diverging" not in window.plots.caption.text()
