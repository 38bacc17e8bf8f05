"""The live window, driven the way a user drives it (pytest-qt, offscreen).

Every test gets its own QSettings file and data folder under tmp_path, so the user's real
settings and autosave are never touched. Waits are condition-based with generous timeouts:
a loaded 2-core machine makes things slower, never wrong.
"""

from __future__ import annotations

import json
import os
import time
from xml.dom import minidom

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtWidgets  # noqa: E402

from gui.mainwindow import MainWindow  # noqa: E402

Qt = QtCore.Qt
LONG = 30_000  # ms: generous, for a busy machine


@pytest.fixture(scope="session", autouse=True)
def _isolated_paths():
    # Belt and braces: anything that asks QStandardPaths gets a test location.
    QtCore.QStandardPaths.setTestModeEnabled(True)
    yield


@pytest.fixture
def make_window(qtbot, tmp_path):
    made = []

    def make(dialogs: bool = False, **kw) -> MainWindow:
        settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.IniFormat)
        w = MainWindow(settings, tmp_path / "data", dialogs=dialogs, **kw)
        qtbot.addWidget(w)
        w.resize(1280, 800)
        w.show()
        qtbot.waitExposed(w)
        made.append(w)
        return w

    yield make
    for w in made:
        w.shutdown()


@pytest.fixture
def window(make_window) -> MainWindow:
    return make_window()


def endless(w: MainWindow, **changes) -> None:
    """Make the current session run until stopped (no tol, no iteration limit)."""
    w.load_session(w.session.replace(max_iters=10**9, tol=0.0, **changes))


def put_cursor(view: QtWidgets.QTableView, row: int, col: int) -> None:
    """Select one cell, whatever keyboard modifiers an earlier test left behind."""
    view.selectionModel().setCurrentIndex(view.model().index(row, col),
                                          QtCore.QItemSelectionModel.ClearAndSelect)


def wait_state(qtbot, w: MainWindow, state: str) -> None:
    qtbot.waitUntil(lambda: w.state == state, timeout=LONG)


def test_starts_on_the_seed_3x3_system(window):
    s = window.session
    assert window.is_ready
    assert s.problem.A.tolist() == [[1, 2, 0], [0, 1, 0], [0, 0, 1]]
    assert s.problem.b.tolist() == [1, 2, 3]
    assert window.matrix.a_model.array().tolist() == s.problem.A.tolist()
    assert window.act_run.isEnabled()
    # the analysis is on show: shape, rank, condition number, exact solution
    facts = window.matrix.facts.text()
    assert "3×3" in facts and "rank <b>3</b>" in facts and "cond" in facts
    assert np.allclose(window.matrix.exact_model.array(), [-3, 2, 3])
    assert "recommended" in window.hyper.lr_info.text()


def test_run_converges_like_the_engine(qtbot, window):
    from solver.engine import Run

    with qtbot.waitSignal(window.run_finished, timeout=LONG) as sig:
        qtbot.keyClick(window, Qt.Key_F5)
    reason, message = sig.args
    assert reason == "converged"
    assert "converged" in window.statusBar().currentMessage().lower()
    headless = Run(window.session, track=window.run.history.tracked)
    headless.advance()
    assert window.run.iteration == headless.iteration
    assert np.array_equal(window.run.x(), headless.x())
    assert np.array_equal(window.run.history.loss, headless.history.loss)
    assert np.allclose(window.run.x(), [-3, 2, 3], atol=1e-7)
    assert message == headless.message
    # the plots got the whole run, the status bar the final numbers
    x, y = window.plots.loss_curve.getOriginalDataset()
    assert abs(x[-1] - window.run.iteration) <= 1  # decimated: bucket positions
    assert window.st_iter.text() == f"iteration {window.run.iteration:,}"
    assert window.state == "idle" and window.act_run.isEnabled()


def test_pause_then_step_advances_exactly_one_iteration(qtbot, window):
    endless(window)
    window.start_run()
    qtbot.waitUntil(lambda: window.run is not None and window.run.iteration > 50, timeout=LONG)
    qtbot.keyClick(window, Qt.Key_F6)
    wait_state(qtbot, window, "paused")
    it = window.run.iteration
    assert len(window.run.history) == it + 1
    qtbot.wait(200)
    assert window.run.iteration == it  # paused means paused

    qtbot.keyClick(window, Qt.Key_F10)
    qtbot.waitUntil(lambda: window.run.iteration == it + 1 and window.state == "paused",
                    timeout=LONG)
    qtbot.wait(200)
    assert window.run.iteration == it + 1
    assert len(window.run.history) == it + 2
    assert window.st_iter.text() == f"iteration {it + 1:,}"

    window.step_n.setValue(25)
    window.act_step_n.trigger()
    qtbot.waitUntil(lambda: window.run.iteration == it + 26 and window.state == "paused",
                    timeout=LONG)
    qtbot.wait(200)
    assert window.run.iteration == it + 26

    qtbot.keyClick(window, Qt.Key_F5)  # resume
    qtbot.waitUntil(lambda: window.run.iteration > it + 100, timeout=LONG)
    window.stop()
    wait_state(qtbot, window, "idle")


def test_step_from_idle_starts_a_paused_run(qtbot, window):
    window.step(1)
    qtbot.waitUntil(lambda: window.run is not None and window.state == "paused", timeout=LONG)
    assert window.run.iteration == 1
    assert len(window.run.history) == 2


def test_stop_mid_run_keeps_the_history(qtbot, window):
    endless(window)
    window.start_run()
    qtbot.waitUntil(lambda: window.run is not None and window.run.iteration > 200, timeout=LONG)
    with qtbot.waitSignal(window.run_finished, timeout=LONG) as sig:
        qtbot.keyClick(window, Qt.Key_F5, Qt.ShiftModifier)
    assert sig.args[0] == "stopped"
    assert "stopped by you" in window.statusBar().currentMessage().lower()
    run = window.run
    assert len(run.history) == run.iteration + 1 > 200
    assert window.state == "idle" and window.act_run.isEnabled()
    assert not window.act_stop.isEnabled()


def test_reset_clears_the_run_and_plots(qtbot, window):
    with qtbot.waitSignal(window.run_finished, timeout=LONG):
        window.start_run()
    assert len(window.plots.loss_curve.getOriginalDataset()[0]) > 0
    qtbot.keyClick(window, Qt.Key_R, Qt.ControlModifier)
    assert window.run is None
    x, _ = window.plots.loss_curve.getOriginalDataset()
    assert x is None or len(x) == 0
    assert window.st_iter.text() == "iteration —"
    assert not window.act_reset.isEnabled()
    assert window.session is not None and window.act_run.isEnabled()


def test_invalid_cell_disables_run_and_names_the_cell(qtbot, window):
    model = window.matrix.a_model
    before = window.session
    model.setData(model.index(1, 2), "abc")
    assert not window.act_run.isEnabled()
    assert "A[2, 3]" in window.last_error and "abc" in window.last_error
    assert window.matrix.error_label.isVisible()
    assert "A[2, 3]" in window.matrix.error_label.text()
    assert window.session is before  # the last good problem is kept
    assert model.data(model.index(1, 2), Qt.BackgroundRole) is not None
    assert not window.start_run()

    model.setData(model.index(0, 0), "nan")
    assert "A[1, 1]" in window.last_error  # row-major: the first bad cell is named

    model.setData(model.index(0, 0), "4")
    model.setData(model.index(1, 2), "0.5")
    assert window.act_run.isEnabled()
    assert not window.matrix.error_label.isVisible()
    assert window.session.problem.A[1, 2] == 0.5 and window.session.problem.A[0, 0] == 4


def test_resizing_and_pasting_a_block(qtbot, window):
    window.matrix.cols.setValue(4)
    window.matrix.rows.setValue(4)
    assert window.session.problem.A.shape == (4, 4)
    assert window.session.problem.b.shape == (4,)
    view = window.matrix.a_view
    put_cursor(view, 0, 0)
    assert view.paste_text("4\t1\t0\t0\n1\t4\t1\t0\n0\t1\t4\t1\n0\t0\t1\t4\n")
    assert window.session.problem.A[1].tolist() == [1, 4, 1, 0]
    # comma-separated works too, at the current cell
    put_cursor(view, 3, 2)
    assert view.paste_text("7, 8")
    assert window.session.problem.A[3].tolist() == [0, 0, 7, 8]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1\t2\t3\t4\t5\n", "does not fit"),
        ("1\t2\n3\n", "row 2 has 1 values"),
        ("1\tx\n", "A[1, 2]"),
    ],
)
def test_bad_paste_changes_nothing(qtbot, window, text, words):
    before = window.session
    a = window.matrix.a_model.array()
    view = window.matrix.a_view
    put_cursor(view, 0, 0)
    assert not view.paste_text(text)
    assert words in window.last_error
    assert np.array_equal(window.matrix.a_model.array(), a)
    assert window.session is before
    assert window.act_run.isEnabled()


def test_every_preset_loads(qtbot, window):
    from solver.presets import PRESETS

    for key, preset in PRESETS.items():
        assert window.load_preset(key), window.last_error
        p = window.session.problem
        assert window.matrix.kind == p.kind
        assert preset.title in window.windowTitle()
        if p.kind == "inverse":
            assert np.array_equal(window.matrix.m_model.array(), p.M)
        elif p.kind == "polyfit":
            assert np.array_equal(window.matrix.s_model.array()[:, 0], p.samples_x)
        else:
            assert window.matrix.a_model.shape == p.A.shape
        assert window.hyper.loss.currentData() == window.session.loss
        assert window.hyper.optimizer.currentData() == window.session.optimizer
    # the presets menu lists them all
    keys = [a.data() for a in window.presets_menu.actions()]
    assert keys == list(PRESETS)


def test_inverse_preset_runs_with_heat_maps(qtbot, window):
    window.load_preset("seed-inverse-diagonal")
    assert window.hyper.kind.currentData() == "inverse"
    window.load_session(window.session.replace(max_iters=300))
    with qtbot.waitSignal(window.run_finished, timeout=LONG):
        window.start_run()
    tabs = window.plots.tabs
    assert tabs.isTabEnabled(1) and tabs.isTabEnabled(2)
    tabs.setCurrentIndex(1)
    window._frame(force=True)
    img = window.plots.heat_x.image
    assert img is not None and img.shape == (4, 4)
    assert np.allclose(img, window.run.x(), atol=1e-6)
    tabs.setCurrentIndex(2)
    window._frame(force=True)
    assert window.plots.heat_r.image.shape == (4, 4)


def test_device_list_shows_unavailable_devices_with_reason(qtbot, make_window, monkeypatch):
    import solver.devices as devices

    fake = [
        devices.DeviceInfo("cpu", "CPU (2 threads)", 8 * 2**30, True),
        devices.DeviceInfo("cuda", "CUDA", None, False, "torch built without CUDA"),
        devices.DeviceInfo("mps", "Apple Metal (MPS)", None, False, "torch built without MPS"),
    ]
    monkeypatch.setattr(devices, "list_devices", lambda: fake)
    w = make_window()
    items = w.devices.items()
    assert [i[0] for i in items] == ["cpu", "cuda", "mps"]
    cpu, cuda, mps = items
    assert cpu[2] and "CPU (2 threads)" in cpu[1] and "8.0 GiB" in cpu[1]
    assert not cuda[2] and "torch built without CUDA" in cuda[1]
    assert not mps[2] and "torch built without MPS" in mps[1]


def test_real_device_list_matches_the_engine(window):
    from solver.devices import list_devices

    rows = window.devices.items()
    for d, (dev_id, text, enabled) in zip(list_devices(), rows, strict=True):
        assert dev_id == d.id and enabled == d.available and d.name in text
        if not d.available:
            assert d.reason in text


def test_choosing_an_unavailable_device_is_refused(qtbot, window):
    from solver.devices import list_devices

    missing = [d for d in list_devices() if not d.available]
    if not missing:
        pytest.skip("every device kind is available here")
    window._on_hyper_changed({"device": missing[0].id})
    assert window.session.device == "cpu"
    assert "unavailable" in window.last_error


def test_closing_mid_run_stops_the_worker_within_a_second(qtbot, make_window):
    from solver.presets import build

    w = make_window()
    w.load_session(build("random-cond", n=300, cond=10.0).replace(max_iters=10**9, tol=0.0))
    w.start_run()
    qtbot.waitUntil(lambda: w.run is not None and w.run.iteration > 10, timeout=LONG)
    thread = w._thread
    t0 = time.perf_counter()
    w.close()
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0, f"closing took {elapsed:.2f} s"
    assert thread.isFinished()
    assert w.autosave_path().is_file()


def test_energy_loss_on_a_non_spd_matrix_is_refused(qtbot, window):
    before = window.session
    idx = window.hyper.loss.findData("energy")
    window.hyper.loss.setCurrentIndex(idx)
    window.hyper.loss.activated.emit(idx)
    assert "symmetric" in window.last_error or "positive definite" in window.last_error
    assert window.session is before and window.session.loss == "half_sum_squares"
    assert window.hyper.loss.currentData() == "half_sum_squares"  # the widget is put back


def test_singular_inverse_matrix_is_refused(qtbot, window):
    window.load_preset("seed-inverse-diagonal")
    before = window.session
    m = window.matrix.m_model
    m.setData(m.index(0, 0), "0")
    assert "singular" in window.last_error
    assert not window.act_run.isEnabled()
    assert window.session is before and window.session.problem.M[0, 0] == 1
    m.setData(m.index(0, 0), "2")
    assert window.act_run.isEnabled() and window.session.problem.M[0, 0] == 2


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not valid JSON"),
        ('{"version": 1, "problem": {"kind": "linear_system", "A": [[1]], "b": [1]}, "lr": 1}',
         "lr"),
        ('{"problem": {"kind": "linear_system", "A": [[1, 2]], "b": [1, 2]}}', "problem.b"),
    ],
)
def test_broken_session_file_keeps_the_previous_state(qtbot, window, tmp_path, content, words):
    with qtbot.waitSignal(window.run_finished, timeout=LONG):
        window.start_run()
    run, before = window.run, window.session
    path = tmp_path / "broken.json"
    path.write_text(content)
    assert not window.load_session(path)
    assert words in window.last_error and "broken.json" in window.last_error
    assert window.session is before and window.run is run


def test_bad_learning_rate_is_refused_and_named(qtbot, window):
    before = window.session
    window.hyper.lr.setText("abc")
    window.hyper.lr.setModified(True)
    window.hyper.lr.editingFinished.emit()
    assert "optimizer.lr" in window.last_error
    assert window.session is before
    assert window.hyper.lr.text() == "0.1"
    window.hyper.lr.setText("-1")
    window.hyper.lr.setModified(True)
    window.hyper.lr.editingFinished.emit()
    assert "optimizer.lr" in window.last_error and window.session.lr == 0.1


def test_changing_settings_keeps_a_finished_runs_history(qtbot, window):
    with qtbot.waitSignal(window.run_finished, timeout=LONG):
        window.start_run()
    run, n = window.run, len(window.run.history)
    window.hyper.lr.setText("0.05")
    window.hyper.lr.setModified(True)
    window.hyper.lr.editingFinished.emit()
    window._on_hyper_changed({"optimizer": "adam", "optimizer_args": {}})
    window.matrix.a_model.setData(window.matrix.a_model.index(0, 1), "1")
    assert window.session.lr == 0.05 and window.session.optimizer == "adam"
    assert window.run is run and len(run.history) == n
    assert len(window.plots.loss_curve.getOriginalDataset()[0]) > 0


def test_optimizer_fields_are_exactly_its_arguments(qtbot, window):
    from solver.optimizers import OPTIMIZER_NAMES, hyperparameters

    for name in OPTIMIZER_NAMES:
        window._on_hyper_changed({"optimizer": name, "optimizer_args": {}})
        form = window.hyper.opt_form
        labels = [form.itemAt(i, QtWidgets.QFormLayout.LabelRole).widget().text()
                  for i in range(form.rowCount())]
        assert labels == [h.name.replace("_", " ") for h in hyperparameters(name)], name
    window._on_hyper_changed({"optimizer": "sgd", "optimizer_args": {}})
    mom = window.hyper.arg_widget("momentum")
    mom.setText("0.9")
    mom.editingFinished.emit()
    assert window.session.optimizer_args == {"momentum": 0.9}
    nest = window.hyper.arg_widget("nesterov")
    nest.setChecked(True)
    assert window.session.optimizer_args == {"momentum": 0.9, "nesterov": True}
    mom.setText("-2")  # torch refuses; the engine names the key
    mom.editingFinished.emit()
    assert "optimizer.momentum" in window.last_error
    assert window.session.optimizer_args == {"momentum": 0.9, "nesterov": True}


def test_recommended_learning_rate_button(qtbot, window):
    rec = window.analysis.recommended_lr
    assert f"{rec:.4g}" in window.hyper.lr_info.text()
    assert f"{window.analysis.max_stable_lr:.4g}" in window.hyper.lr_info.text()
    window.hyper.recommended.click()
    assert window.session.lr == pytest.approx(rec, rel=1e-5)


def test_divergence_is_explained_and_plots_survive(qtbot, window):
    window.load_session(window.session.replace(lr=1.0, max_iters=100_000, tol=0.0))
    assert "diverge" in window.hyper.lr_info.text()
    with qtbot.waitSignal(window.run_finished, timeout=LONG) as sig:
        window.start_run()
    assert sig.args[0] == "diverged"
    assert "lr × L" in sig.args[1] and "> 2" in sig.args[1]
    assert "diverged" in window.statusBar().currentMessage().lower()
    window._frame(force=True)  # non-finite values in a log plot must not raise
    x, y = window.plots.loss_curve.getOriginalDataset()
    assert len(x) == len(window.run.history)
    assert not np.isfinite(window.run.history.loss[-1])


def test_speed_control_slows_the_run(qtbot, window):
    endless(window)
    window.set_speed(10)
    assert window.speed_text.text() == "10 it/s"
    t0 = time.perf_counter()
    window.start_run()
    qtbot.waitUntil(lambda: window.run is not None and window.run.iteration >= 2, timeout=LONG)
    qtbot.wait(1000)
    # 10 it/s on a schedule from the start: a busy machine can only make it fewer
    assert window.run.iteration <= 10 * (time.perf_counter() - t0) + 2
    window.set_speed(None)
    qtbot.waitUntil(lambda: window.run.iteration > 500, timeout=LONG)
    window.stop()
    wait_state(qtbot, window, "idle")


def test_worker_errors_reach_a_message_box(qtbot, make_window, monkeypatch):
    from solver.engine import Run

    w = make_window(dialogs=True)

    def broken(self, *a, **k):
        raise ZeroDivisionError("simulated failure")

    monkeypatch.setattr(Run, "advance", broken)
    w.start_run()
    qtbot.waitUntil(lambda: bool(w.message_boxes()), timeout=LONG)
    box = w.message_boxes()[0]
    assert "simulated failure" in box.text() and "ZeroDivisionError" in box.text()
    assert "simulated failure" in w.statusBar().currentMessage()
    assert w.state == "idle"
    box.close()
    monkeypatch.undo()
    with qtbot.waitSignal(w.run_finished, timeout=LONG) as sig:
        w.start_run()  # the worker survived
    assert sig.args[0] == "converged"


def test_track_selection_chooses_the_plotted_components(qtbot, window):
    window.load_preset("random-cond")  # 10 unknowns
    window.hyper.track.setText("2-3, 7")
    window.hyper.track.editingFinished.emit()
    with qtbot.waitSignal(window.run_finished, timeout=LONG):
        window.start_run()
    assert window.run.history.tracked.tolist() == [1, 2, 6]
    names = [item[1].text for item in window.plots.x_legend.items]
    assert names == ["x2", "x3", "x7"]
    window.hyper.track.setText("0, 99")
    window.hyper.track.editingFinished.emit()
    assert "does not exist" in window.last_error


def test_files_import_export(qtbot, window, tmp_path):
    a = np.array([[4.0, 1.0], [1.0, 3.0]])
    np.save(tmp_path / "a.npy", a)
    assert window.import_matrix(tmp_path / "a.npy")
    assert np.array_equal(window.session.problem.A, a)
    assert np.allclose(window.session.problem.b, a @ np.ones(2))  # b no longer fitted
    (tmp_path / "b.csv").write_text("1\n2\n")
    assert window.import_matrix(tmp_path / "b.csv", target="b")
    assert window.session.problem.b.tolist() == [1, 2]
    (tmp_path / "bad.csv").write_text("1,2\n3,x\n")
    before = window.session
    assert not window.import_matrix(tmp_path / "bad.csv")
    assert "bad.csv" in window.last_error and window.session is before

    with qtbot.waitSignal(window.run_finished, timeout=LONG):
        window.start_run()
    assert window.export_csv(tmp_path / "h.csv")
    lines = (tmp_path / "h.csv").read_text().splitlines()
    assert lines[0].startswith("iteration,loss") and len(lines) == len(window.run.history) + 1
    for which in ("loss", "error", "x", "bars"):
        assert window.export_plot(which, tmp_path / f"{which}.png"), window.last_error
        assert (tmp_path / f"{which}.png").read_bytes()[:4] == b"\x89PNG"
    assert not window.export_plot("loss", tmp_path / "missing" / "loss.png")
    assert "missing" in window.last_error
    for which in ("loss", "error", "x", "bars"):  # vector export: valid SVG with the curves
        assert window.export_plot(which, tmp_path / f"{which}.svg"), window.last_error
        doc = minidom.parse(str(tmp_path / f"{which}.svg"))
        shapes = doc.getElementsByTagName("path") + doc.getElementsByTagName("polyline")
        assert shapes, which

    assert window.save_session(tmp_path / "s.json")
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["problem"]["A"] == {"file": "a.npy"}
    window.load_preset("seed-puzzle")
    assert window.load_session(tmp_path / "s.json")
    assert np.array_equal(window.session.problem.A, a)


def test_settings_and_last_session_survive_a_restart(qtbot, make_window):
    w = make_window()
    w._on_hyper_changed({"lr": 0.05})
    w.set_speed(30)
    w.hyper.track.setText("1-2")
    w.close()
    w2 = make_window()
    assert w2.session.lr == 0.05
    assert w2.speed_text.text() == "30 it/s"
    assert w2.hyper.track.text() == "1-2"
    assert "last session" in w2.windowTitle()


def test_a_damaged_autosave_falls_back_to_the_example(qtbot, make_window, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "last-session.json").write_text('{"version": 1, "problem": 3}')
    w = make_window()
    assert w.session.problem.A.shape == (3, 3)
    assert "could not be restored" in w.statusBar().currentMessage()


def test_big_matrix_table_scrolls_quickly(qtbot):
    from gui.panels import MatrixView
    from gui.tablemodel import ArrayModel

    model = ArrayModel("A", np.random.default_rng(0).standard_normal((2000, 2000)))
    view = MatrixView()
    view.setModel(model)
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    qtbot.waitExposed(view)
    t0 = time.perf_counter()
    for r in range(0, 2000, 100):
        view.scrollTo(model.index(r, r))
        view.viewport().repaint()
    per_frame = (time.perf_counter() - t0) / 20
    assert per_frame < 0.1, f"{per_frame * 1e3:.0f} ms per scroll step"
    model.setData(model.index(1999, 1999), "7")
    assert model.array()[1999, 1999] == 7


def test_crosshair_reads_out_the_history(qtbot, window):
    with qtbot.waitSignal(window.run_finished, timeout=LONG):
        window.start_run()
    qtbot.wait(200)  # let the final frame settle the ranges
    plot = window.plots.loss_plot
    vb = plot.getViewBox()
    pos = vb.mapViewToScene(QtCore.QPointF(500, -5))
    plot.scene().sigMouseMoved.emit(pos)
    readout = window.plots._readouts[0]
    qtbot.waitUntil(lambda: readout.label.isVisible(), timeout=LONG)
    text = readout.label.textItem.toPlainText()
    k = int(text.split()[1].replace(",", ""))
    assert abs(k - 500) <= 10
    assert f"loss {window.run.history.loss[k]:.6g}" in text
    assert readout.vline.isVisible() and abs(readout.vline.value() - 500) < 10


def test_plots_follow_the_run_until_the_user_zooms(qtbot, window):
    endless(window)
    window.start_run()
    qtbot.waitUntil(lambda: window.run is not None and window.run.iteration > 2000,
                    timeout=LONG)
    vb = window.plots.loss_plot.getViewBox()
    qtbot.waitUntil(lambda: vb.viewRange()[0][1] >= 1000, timeout=LONG)  # following
    vb.setXRange(10, 60, padding=0)  # what a zoom does: auto-range off
    it = window.run.iteration
    qtbot.waitUntil(lambda: window.run.iteration > it + 2000, timeout=LONG)
    qtbot.wait(300)
    x0, x1 = vb.viewRange()[0]
    assert (round(x0), round(x1)) == (10, 60)  # the view stayed where the user put it
    x, _ = window.plots.loss_curve.getOriginalDataset()
    assert x.min() >= 0 and x.max() <= 70  # only the visible iterations are pulled
    vb.enableAutoRange()  # the "A" button
    qtbot.waitUntil(lambda: vb.viewRange()[0][1] > window.run.iteration / 2, timeout=LONG)
    window.stop()
    wait_state(qtbot, window, "idle")


def test_session_given_on_the_command_line(qtbot, make_window, tmp_path):
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "examples" / "seed-puzzle.json"
    w = make_window(session_path=str(example))
    assert w.session.optimizer == "adam" and w.session.problem.A.shape == (4, 4)
    assert "seed-puzzle.json" in w.windowTitle()
    w.close()
    (tmp_path / "bad.json").write_text("{")
    w2 = make_window(session_path=str(tmp_path / "bad.json"))
    assert w2.is_ready and w2.session.optimizer == "adam"  # the last session, restored
    assert "bad.json" in w2.last_error and "bad.json" in w2.statusBar().currentMessage()


def test_a_settings_change_does_not_clear_an_invalid_cell(qtbot, window):
    model = window.matrix.a_model
    model.setData(model.index(1, 2), "abc")
    assert not window.act_run.isEnabled()
    window._on_hyper_changed({"lr": 0.05})  # a valid change elsewhere
    assert window.session.lr == 0.05
    assert not window.act_run.isEnabled()  # the table still shows 'abc'
    assert window.matrix.error_label.isVisible()
    assert not window.start_run()


@pytest.fixture
def slow_run_creation(monkeypatch):
    """Run construction that takes a while, as for a big matrix."""
    import solver.engine

    real = solver.engine.Run

    class SlowRun(real):
        def __init__(self, *a, **kw):
            time.sleep(0.4)
            super().__init__(*a, **kw)

    monkeypatch.setattr(solver.engine, "Run", SlowRun)


def test_stop_right_after_run_stops_the_new_run(qtbot, window, slow_run_creation):
    endless(window)
    finished = []
    window.run_finished.connect(lambda reason, msg: finished.append(reason))
    assert window.start_run()
    window.stop()  # before the worker has created the Run
    qtbot.waitUntil(lambda: finished == ["stopped"], timeout=LONG)
    assert window.run.iteration < 1000  # it did not run on


def test_pause_right_after_run_creates_it_paused(qtbot, window, slow_run_creation):
    endless(window)
    assert window.start_run()
    window.pause()
    qtbot.waitUntil(lambda: window.run is not None, timeout=LONG)
    wait_state(qtbot, window, "paused")
    n = len(window.run.history)
    qtbot.wait(300)
    assert len(window.run.history) == n == 1  # paused before its first update
