"""The live window, driven the way a user drives it (pytest-qt, offscreen).

Every test gets its own QSettings file and data folder under tmp_path (the ``make_window``
and ``window`` fixtures, in conftest.py), so the user's real settings and autosave are never
touched. Waits are condition-based with generous timeouts:
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

from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402

from gui.mainwindow import MainWindow  # noqa: E402

Qt = QtCore.Qt
LONG = 30_000  # ms: generous, for a busy machine


def shown_text(label: QtWidgets.QLabel) -> str:
    """The text a label paints: rich text is rendered (a stray ``<`` swallows what follows),
    plain text is shown as it is."""
    fmt = label.textFormat()
    rich = fmt == Qt.RichText or (fmt == Qt.AutoText and QtGui.Qt.mightBeRichText(label.text()))
    if not rich:
        return label.text()
    doc = QtGui.QTextDocument()
    doc.setHtml(label.text())
    return doc.toPlainText()


def endless(w: MainWindow, **changes) -> None:
    """Make the current session run until stopped (no tol, no iteration limit)."""
    w.editor.load_session(w.model.session.replace(max_iters=10**9, tol=0.0, **changes))


def put_cursor(view: QtWidgets.QTableView, row: int, col: int) -> None:
    """Select one cell, whatever keyboard modifiers an earlier test left behind."""
    view.selectionModel().setCurrentIndex(
        view.model().index(row, col), QtCore.QItemSelectionModel.ClearAndSelect
    )


def iteration(w: MainWindow) -> int:
    """The shown run's iteration (-1 before any run)."""
    rec = w.model.selected
    return -1 if rec is None else rec.status.iteration


def wait_state(qtbot, w: MainWindow, state: str) -> None:
    qtbot.waitUntil(lambda: w.model.state == state, timeout=LONG)


def settled(qtbot, w: MainWindow) -> None:
    """The worker sits idle and what it sent is applied: without a new command nothing the
    run shows changes any more (what a fixed wait before an assertion only hoped for)."""
    qtbot.waitUntil(lambda: w.live.worker.idle_event.is_set(), timeout=LONG)
    QtWidgets.QApplication.processEvents()


def test_starts_on_the_seed_3x3_system(window):
    s = window.model.session
    assert window.model.ready
    assert s.problem.A.tolist() == [[1, 2, 0], [0, 1, 0], [0, 0, 1]]
    assert s.problem.b.tolist() == [1, 2, 3]
    assert window.matrix.model_of("A").array().tolist() == s.problem.A.tolist()
    assert window.act_run.isEnabled()
    # the analysis is on show: shape, rank, condition number, exact solution
    facts = window.matrix.facts.text()
    assert "3×3" in facts and "rank <b>3</b>" in facts and "cond" in facts
    assert np.allclose(window.matrix.exact_model.array(), [-3, 2, 3])
    assert "recommended" in window.hyper.lr_info.text()


def test_run_converges_like_the_engine(qtbot, window):
    from solver.run.engine import Run

    with qtbot.waitSignal(window.model.run_finished, timeout=LONG) as sig:
        qtbot.keyClick(window, Qt.Key_F5)
    _run_id, reason, message = sig.args
    assert reason == "converged"
    assert "converged" in window.status.currentMessage().lower()
    headless = Run(window.model.session, track=window.model.selected.history.tracked)
    headless.advance()
    assert iteration(window) == headless.iteration
    assert np.array_equal(window.model.selected.status.x, headless.x())
    assert np.array_equal(window.model.selected.history.loss, headless.history.loss)
    assert np.allclose(window.model.selected.status.x, [-3, 2, 3], atol=1e-7)
    assert message == headless.message
    # the plots got the whole run, the status bar the final numbers
    x, y = window.plots.plot("loss").curve.getOriginalDataset()
    assert abs(x[-1] - iteration(window)) <= 1  # decimated: bucket positions
    assert window.status.st_iter.text() == f"iteration {iteration(window):,}"
    assert window.model.state == "idle" and window.act_run.isEnabled()


def test_pause_then_step_advances_exactly_one_iteration(qtbot, window):
    endless(window)
    window.live.start()
    qtbot.waitUntil(lambda: iteration(window) > 50, timeout=LONG)
    qtbot.keyClick(window, Qt.Key_F6)
    wait_state(qtbot, window, "paused")
    it = iteration(window)
    assert len(window.model.selected.history) == it + 1
    settled(qtbot, window)
    assert iteration(window) == it  # paused means paused

    qtbot.keyClick(window, Qt.Key_F10)
    qtbot.waitUntil(
        lambda: iteration(window) == it + 1 and window.model.state == "paused", timeout=LONG
    )
    settled(qtbot, window)
    assert iteration(window) == it + 1
    assert len(window.model.selected.history) == it + 2
    assert window.status.st_iter.text() == f"iteration {it + 1:,}"

    window.step_n.setValue(25)
    window.act_step_n.trigger()
    qtbot.waitUntil(
        lambda: iteration(window) == it + 26 and window.model.state == "paused", timeout=LONG
    )
    settled(qtbot, window)
    assert iteration(window) == it + 26

    qtbot.keyClick(window, Qt.Key_F5)  # resume
    qtbot.waitUntil(lambda: iteration(window) > it + 100, timeout=LONG)
    window.live.stop()
    wait_state(qtbot, window, "idle")


def test_step_from_idle_starts_a_paused_run(qtbot, window):
    window.live.step(1)
    qtbot.waitUntil(
        lambda: window.model.selected is not None and window.model.state == "paused", timeout=LONG
    )
    assert iteration(window) == 1
    assert len(window.model.selected.history) == 2


def test_stop_mid_run_keeps_the_history(qtbot, window):
    endless(window)
    window.live.start()
    qtbot.waitUntil(lambda: iteration(window) > 200, timeout=LONG)
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG) as sig:
        qtbot.keyClick(window, Qt.Key_F5, Qt.ShiftModifier)
    assert sig.args[1] == "stopped"
    assert "stopped by you" in window.status.currentMessage().lower()
    run = window.model.selected
    assert len(run.history) == run.status.iteration + 1 > 200
    assert window.model.state == "idle" and window.act_run.isEnabled()
    assert not window.act_stop.isEnabled()


def test_reset_clears_the_run_and_plots(qtbot, window):
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.live.start()
    assert len(window.plots.plot("loss").curve.getOriginalDataset()[0]) > 0
    qtbot.keyClick(window, Qt.Key_R, Qt.ControlModifier)
    assert window.model.selected is None
    x, _ = window.plots.plot("loss").curve.getOriginalDataset()
    assert x is None or len(x) == 0
    assert window.status.st_iter.text() == "iteration —"
    assert not window.act_reset.isEnabled()
    assert window.model.session is not None and window.act_run.isEnabled()


def test_invalid_cell_disables_run_and_names_the_cell(qtbot, window):
    model = window.matrix.model_of("A")
    before = window.model.session
    model.setData(model.index(1, 2), "abc")
    assert not window.act_run.isEnabled()
    assert "A[2, 3]" in window.model.last_error and "abc" in window.model.last_error
    assert window.matrix.error_label.isVisible()
    assert "A[2, 3]" in window.matrix.error_label.text()
    assert window.model.session is before  # the last good problem is kept
    assert model.data(model.index(1, 2), Qt.BackgroundRole) is not None
    assert not window.live.start()

    model.setData(model.index(0, 0), "nan")
    assert "A[1, 1]" in window.model.last_error  # row-major: the first bad cell is named

    model.setData(model.index(0, 0), "4")
    model.setData(model.index(1, 2), "0.5")
    assert window.act_run.isEnabled()
    assert not window.matrix.error_label.isVisible()
    assert window.model.session.problem.A[1, 2] == 0.5 and window.model.session.problem.A[0, 0] == 4


def test_resizing_and_pasting_a_block(qtbot, window):
    window.matrix.page.sizes["A"][1].setValue(4)
    window.matrix.page.sizes["A"][0].setValue(4)
    assert window.model.session.problem.A.shape == (4, 4)
    assert window.model.session.problem.b.shape == (4,)
    view = window.matrix.view("A")
    put_cursor(view, 0, 0)
    assert view.paste_text("4\t1\t0\t0\n1\t4\t1\t0\n0\t1\t4\t1\n0\t0\t1\t4\n")
    assert window.model.session.problem.A[1].tolist() == [1, 4, 1, 0]
    # comma-separated works too, at the current cell
    put_cursor(view, 3, 2)
    assert view.paste_text("7, 8")
    assert window.model.session.problem.A[3].tolist() == [0, 0, 7, 8]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1\t2\t3\t4\t5\n", "does not fit"),
        ("1\t2\n3\n", "row 2 has 1 values"),
        ("1\tx\n", "A[1, 2]"),
    ],
)
def test_bad_paste_changes_nothing(qtbot, window, text, words):
    before = window.model.session
    a = window.matrix.model_of("A").array()
    view = window.matrix.view("A")
    put_cursor(view, 0, 0)
    assert not view.paste_text(text)
    assert words in window.model.last_error
    assert np.array_equal(window.matrix.model_of("A").array(), a)
    assert window.model.session is before
    assert window.act_run.isEnabled()


def test_every_preset_loads(qtbot, window):
    from solver.problems.kinds import kind_of
    from solver.sessions import presets
    from solver.sessions.presets import PRESETS

    for preset_key, preset in PRESETS.items():
        assert window.editor.load_preset(preset_key), window.model.last_error
        if presets.heavy(preset_key):  # built off the GUI thread: Run waits for it
            assert window.editor.loading and not window.act_run.isEnabled()
            qtbot.waitUntil(lambda: not window.editor.loading, timeout=LONG)
        assert window.model.table_error is None, window.model.last_error
        p = window.model.session.problem
        kind = kind_of(p)
        assert window.matrix.page.kind is kind
        assert preset.title in window.windowTitle()
        shown = window.matrix.arrays()  # every array of the kind is in its table
        for key, arr in kind.arrays_of(p).items():
            if isinstance(arr, np.ndarray):
                assert np.array_equal(shown[key], arr), (preset_key, key)
            else:  # held sparse: the panel shows the problem's own matrix, never a dense copy
                assert shown[key] is arr and window.matrix.page.models[key].shape == (0, 0)
        assert window.hyper.loss.currentData() == window.model.session.loss
        assert window.hyper.optimizer.currentData() == window.model.session.optimizer
    # the presets menu lists them all
    keys = [a.data() for a in window.presets_menu.actions()]
    assert keys == list(PRESETS)


def test_inverse_preset_runs_with_heat_maps(qtbot, window):
    window.editor.load_preset("seed-inverse-diagonal")
    assert window.hyper.kind.currentData() == "inverse"
    window.editor.load_session(window.model.session.replace(max_iters=300))
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.live.start()
    tabs = window.plots.tabs
    assert tabs.isTabEnabled(1) and tabs.isTabEnabled(2)
    tabs.setCurrentIndex(1)
    window.live.frames.draw_now()
    img = window.plots.plot("heat_x").image.image
    assert img is not None and img.shape == (4, 4)
    assert np.allclose(img, window.model.selected.status.x, atol=1e-6)
    tabs.setCurrentIndex(2)
    window.live.frames.draw_now()
    assert window.plots.plot("heat_residual").image.image.shape == (4, 4)


def test_device_list_shows_unavailable_devices_with_reason(qtbot, make_window, monkeypatch):
    import solver.settings.devices as devices

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
    from solver.settings.devices import list_devices

    rows = window.devices.items()
    for d, (dev_id, text, enabled) in zip(list_devices(), rows, strict=True):
        assert dev_id == d.id and enabled == d.available and d.name in text
        if not d.available:
            assert d.reason in text


def test_choosing_an_unavailable_device_is_refused(qtbot, window):
    from solver.settings.devices import list_devices

    missing = [d for d in list_devices() if not d.available]
    if not missing:
        pytest.skip("every device kind is available here")
    window.editor.change({"device": missing[0].id})
    assert window.model.session.device == "cpu"
    assert "unavailable" in window.model.last_error


def test_closing_mid_run_stops_the_worker_within_a_second(qtbot, make_window):
    from solver.sessions.presets import build

    w = make_window()
    w.editor.load_session(build("random-cond", n=300, cond=10.0).replace(max_iters=10**9, tol=0.0))
    w.live.start()
    qtbot.waitUntil(lambda: iteration(w) > 10, timeout=LONG)
    thread = w.live.thread
    t0 = time.perf_counter()
    w.close()
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0, f"closing took {elapsed:.2f} s"
    assert thread.isFinished()
    w.persistence.flush()  # the autosave at close is written on the writer thread
    assert w.persistence.autosave_path().is_file()


def test_energy_loss_on_a_non_spd_matrix_is_refused(qtbot, window):
    before = window.model.session
    idx = window.hyper.loss.findData("energy")
    window.hyper.loss.setCurrentIndex(idx)
    window.hyper.loss.activated.emit(idx)
    assert "symmetric" in window.model.last_error or "positive definite" in window.model.last_error
    assert window.model.session is before and window.model.session.loss == "half_sum_squares"
    assert window.hyper.loss.currentData() == "half_sum_squares"  # the widget is put back


def test_singular_inverse_matrix_is_refused(qtbot, window):
    window.editor.load_preset("seed-inverse-diagonal")
    before = window.model.session
    m = window.matrix.model_of("M")
    m.setData(m.index(0, 0), "0")
    assert "singular" in window.model.last_error
    assert not window.act_run.isEnabled()
    assert window.model.session is before and window.model.session.problem.M[0, 0] == 1
    m.setData(m.index(0, 0), "2")
    assert window.act_run.isEnabled() and window.model.session.problem.M[0, 0] == 2


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not valid JSON"),
        (
            '{"version": 1, "problem": {"kind": "linear_system", "A": [[1]], "b": [1]}, "lr": 1}',
            "lr",
        ),
        ('{"problem": {"kind": "linear_system", "A": [[1, 2]], "b": [1, 2]}}', "problem.b"),
    ],
)
def test_broken_session_file_keeps_the_previous_state(qtbot, window, tmp_path, content, words):
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.live.start()
    run, before = window.model.selected, window.model.session
    path = tmp_path / "broken.json"
    path.write_text(content)
    assert not window.editor.load_session(path)
    assert words in window.model.last_error and "broken.json" in window.model.last_error
    assert window.model.session is before and window.model.selected is run


def test_bad_learning_rate_is_refused_and_named(qtbot, window):
    before = window.model.session
    window.hyper.lr.setText("abc")
    window.hyper.lr.setModified(True)
    window.hyper.lr.editingFinished.emit()
    assert "optimizer.lr" in window.model.last_error
    assert window.model.session is before
    assert window.hyper.lr.text() == "0.1"
    window.hyper.lr.setText("-1")
    window.hyper.lr.setModified(True)
    window.hyper.lr.editingFinished.emit()
    assert "optimizer.lr" in window.model.last_error and window.model.session.lr == 0.1


def test_changing_settings_keeps_a_finished_runs_history(qtbot, window):
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.live.start()
    run, n = window.model.selected, len(window.model.selected.history)
    window.hyper.lr.setText("0.05")
    window.hyper.lr.setModified(True)
    window.hyper.lr.editingFinished.emit()
    window.editor.change({"optimizer": "adam", "optimizer_args": {}})
    window.matrix.model_of("A").setData(window.matrix.model_of("A").index(0, 1), "1")
    assert window.model.session.lr == 0.05 and window.model.session.optimizer == "adam"
    assert window.model.selected is run and len(run.history) == n
    assert len(window.plots.plot("loss").curve.getOriginalDataset()[0]) > 0


def test_optimizer_fields_are_exactly_its_arguments(qtbot, window):
    from solver.settings.optimizers import OPTIMIZER_NAMES, hyperparameters

    for name in OPTIMIZER_NAMES:
        window.editor.change({"optimizer": name, "optimizer_args": {}})
        form = window.hyper.opt_form
        labels = [
            form.itemAt(i, QtWidgets.QFormLayout.LabelRole).widget().text()
            for i in range(form.rowCount())
        ]
        assert labels == [h.name.replace("_", " ") for h in hyperparameters(name)], name
    window.editor.change({"optimizer": "sgd", "optimizer_args": {}})
    mom = window.hyper.arg_widget("momentum")
    mom.setText("0.9")
    mom.editingFinished.emit()
    assert window.model.session.optimizer_args == {"momentum": 0.9}
    nest = window.hyper.arg_widget("nesterov")
    nest.setChecked(True)
    assert window.model.session.optimizer_args == {"momentum": 0.9, "nesterov": True}
    mom.setText("-2")  # torch refuses; the engine names the key
    mom.editingFinished.emit()
    assert "optimizer.momentum" in window.model.last_error
    assert window.model.session.optimizer_args == {"momentum": 0.9, "nesterov": True}


def test_recommended_learning_rate_button(qtbot, window):
    rec = window.model.analysis.recommended_lr
    assert f"{rec:.4g}" in window.hyper.lr_info.text()
    assert f"{window.model.analysis.max_stable_lr:.4g}" in window.hyper.lr_info.text()
    window.hyper.recommended.click()
    assert window.model.session.lr == pytest.approx(rec, rel=1e-5)


def test_divergence_is_explained_and_plots_survive(qtbot, window):
    # the early stop off: on to the overflow
    s = window.model.session.replace(lr=1.0, max_iters=100_000, tol=0.0, stop_on_divergence=False)
    window.editor.load_session(s)
    assert "diverge" in window.hyper.lr_info.text()
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG) as sig:
        window.live.start()
    assert sig.args[1] == "diverged"
    assert "lr · L" in sig.args[2] and "> 2" in sig.args[2]
    assert "diverged" in window.status.currentMessage().lower()
    window.live.frames.draw_now()  # non-finite values in a log plot must not raise
    x, y = window.plots.plot("loss").curve.getOriginalDataset()
    assert len(x) == len(window.model.selected.history)
    assert not np.isfinite(window.model.selected.history.loss[-1])


def test_speed_control_slows_the_run(qtbot, window):
    endless(window)
    window.toolbar.set_speed(10)
    assert window.speed_text.text() == "10 it/s"
    t0 = time.perf_counter()
    window.live.start()
    qtbot.waitUntil(lambda: iteration(window) >= 2, timeout=LONG)
    qtbot.wait(1000)
    # 10 it/s on a schedule from the start: a busy machine can only make it fewer
    assert iteration(window) <= 10 * (time.perf_counter() - t0) + 2
    window.toolbar.set_speed(None)
    qtbot.waitUntil(lambda: iteration(window) > 500, timeout=LONG)
    window.live.stop()
    wait_state(qtbot, window, "idle")


def test_worker_errors_reach_a_message_box(qtbot, make_window, monkeypatch):
    from solver.run.engine import Run

    w = make_window(dialogs=True)

    def broken(self, *a, **k):
        raise ZeroDivisionError("simulated failure")

    monkeypatch.setattr(Run, "advance", broken)
    w.live.start()
    qtbot.waitUntil(lambda: bool(w.boxes.open_boxes()), timeout=LONG)
    box = w.boxes.open_boxes()[0]
    assert "simulated failure" in box.text() and "ZeroDivisionError" in box.text()
    assert "simulated failure" in w.status.currentMessage()
    assert w.model.state == "idle"
    box.close()
    monkeypatch.undo()
    with qtbot.waitSignal(w.model.run_finished, timeout=LONG) as sig:
        w.live.start()  # the worker survived
    assert sig.args[1] == "converged"


def test_track_selection_chooses_the_plotted_components(qtbot, window):
    window.editor.load_preset("random-cond")  # 10 unknowns
    window.hyper.track.setText("2-3, 7")
    window.hyper.track.editingFinished.emit()
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.live.start()
    rec = window.model.selected
    assert list(rec.track) == [1, 2, 6]  # plotted
    assert rec.history.tracked.tolist() == list(range(10))  # recorded: every one of the few
    curves = window.plots.plot("x").curves
    its, vals = rec.history.trajectory()
    np.testing.assert_array_equal(curves.data(1)[1][-1], vals[-1][2])  # x3
    names = [item[1].text for item in window.plots.plot("x").legend.item.items]
    assert names == ["x2", "x3", "x7"]
    window.hyper.track.setText("0, 99")
    window.hyper.track.editingFinished.emit()
    assert "does not exist" in window.model.last_error


def test_files_import_export(qtbot, window, tmp_path):
    a = np.array([[4.0, 1.0], [1.0, 3.0]])
    np.save(tmp_path / "a.npy", a)
    assert window.editor.import_matrix(tmp_path / "a.npy")
    assert np.array_equal(window.model.session.problem.A, a)
    assert np.allclose(window.model.session.problem.b, a @ np.ones(2))  # b no longer fitted
    (tmp_path / "b.csv").write_text("1\n2\n")
    assert window.editor.import_matrix(tmp_path / "b.csv", target="b")
    assert window.model.session.problem.b.tolist() == [1, 2]
    (tmp_path / "bad.csv").write_text("1,2\n3,x\n")
    before = window.model.session
    assert not window.editor.import_matrix(tmp_path / "bad.csv")
    assert "bad.csv" in window.model.last_error and window.model.session is before

    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.live.start()
    assert window.persistence.export_csv(tmp_path / "h.csv")
    lines = (tmp_path / "h.csv").read_text().splitlines()
    assert (
        lines[0].startswith("iteration,loss")
        and len(lines) == len(window.model.selected.history) + 1
    )
    for which in ("loss", "error", "x", "bars"):
        assert window.files.export_plot(which, tmp_path / f"{which}.png"), window.model.last_error
        assert (tmp_path / f"{which}.png").read_bytes()[:4] == b"\x89PNG"
    assert not window.files.export_plot("loss", tmp_path / "missing" / "loss.png")
    assert "missing" in window.model.last_error
    for which in ("loss", "error", "x", "bars"):  # vector export: valid SVG with the curves
        assert window.files.export_plot(which, tmp_path / f"{which}.svg"), window.model.last_error
        doc = minidom.parse(str(tmp_path / f"{which}.svg"))
        shapes = doc.getElementsByTagName("path") + doc.getElementsByTagName("polyline")
        assert shapes, which

    assert window.persistence.save_session(tmp_path / "s.json")
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["problem"]["A"] == {"file": "a.npy"}
    window.editor.load_preset("seed-puzzle")
    assert window.editor.load_session(tmp_path / "s.json")
    assert np.array_equal(window.model.session.problem.A, a)


def test_settings_and_last_session_survive_a_restart(qtbot, make_window):
    w = make_window()
    w.editor.change({"lr": 0.05})
    w.toolbar.set_speed(30)
    w.hyper.track.setText("1-2")
    w.close()
    w2 = make_window()
    assert w2.model.session.lr == 0.05
    assert w2.speed_text.text() == "30 it/s"
    assert w2.hyper.track.text() == "1-2"
    assert "last session" in w2.windowTitle()


def test_a_damaged_autosave_falls_back_to_the_example(qtbot, make_window, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "last-session.json").write_text('{"version": 1, "problem": 3}')
    w = make_window()
    assert w.model.session.problem.A.shape == (3, 3)
    assert "could not be restored" in w.status.currentMessage()


def test_big_matrix_table_scrolls_quickly(qtbot):
    from gui.views.tables import ArrayModel, MatrixView

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
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.live.start()
    plot = window.plots.plot("loss").widget
    vb = plot.getViewBox()
    last = len(window.model.selected.history) - 1
    qtbot.waitUntil(lambda: vb.viewRange()[0][1] >= last, timeout=LONG)  # the final frame's
    pos = vb.mapViewToScene(QtCore.QPointF(500, -5))
    plot.scene().sigMouseMoved.emit(pos)
    readout = window.plots.readouts[0]
    qtbot.waitUntil(lambda: readout.label.isVisible(), timeout=LONG)
    text = readout.label.textItem.toPlainText()
    k = int(text.split()[1].replace(",", ""))
    assert abs(k - 500) <= 10
    assert f"loss {window.model.selected.history.loss[k]:.6g}" in text
    assert readout.vline.isVisible() and abs(readout.vline.value() - 500) < 10


def test_plots_follow_the_run_until_the_user_zooms(qtbot, window):
    endless(window)
    window.live.start()
    qtbot.waitUntil(lambda: iteration(window) > 2000, timeout=LONG)
    vb = window.plots.plot("loss").widget.getViewBox()
    qtbot.waitUntil(lambda: vb.viewRange()[0][1] >= 1000, timeout=LONG)  # following
    vb.setXRange(10, 60, padding=0)  # what a zoom does: auto-range off
    it = iteration(window)
    qtbot.waitUntil(lambda: iteration(window) > it + 2000, timeout=LONG)
    frames = window.live.frames.frame_stats()[0]
    qtbot.waitUntil(lambda: window.live.frames.frame_stats()[0] >= frames + 3, timeout=LONG)
    x0, x1 = vb.viewRange()[0]
    assert (round(x0), round(x1)) == (10, 60)  # the view stayed where the user put it
    x, _ = window.plots.plot("loss").curve.getOriginalDataset()
    assert x.min() >= 0 and x.max() <= 70  # only the visible iterations are pulled
    vb.enableAutoRange()  # the "A" button
    qtbot.waitUntil(lambda: vb.viewRange()[0][1] > iteration(window) / 2, timeout=LONG)
    window.live.stop()
    wait_state(qtbot, window, "idle")


def test_session_given_on_the_command_line(qtbot, make_window, tmp_path):
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "seed-puzzle.json"
    w = make_window(session_path=str(example))
    assert w.model.session.optimizer == "adam" and w.model.session.problem.A.shape == (4, 4)
    assert "seed-puzzle.json" in w.windowTitle()
    w.close()
    (tmp_path / "bad.json").write_text("{")
    w2 = make_window(session_path=str(tmp_path / "bad.json"))
    assert w2.model.ready and w2.model.session.optimizer == "adam"  # the last session, restored
    assert "bad.json" in w2.model.last_error and "bad.json" in w2.status.currentMessage()


def test_a_settings_change_does_not_clear_an_invalid_cell(qtbot, window):
    model = window.matrix.model_of("A")
    model.setData(model.index(1, 2), "abc")
    assert not window.act_run.isEnabled()
    window.editor.change({"lr": 0.05})  # a valid change elsewhere
    assert window.model.session.lr == 0.05
    assert not window.act_run.isEnabled()  # the table still shows 'abc'
    assert window.matrix.error_label.isVisible()
    assert not window.live.start()


@pytest.fixture
def slow_run_creation(monkeypatch):
    """Run construction that takes a while, as for a big matrix."""
    import solver.run.engine

    real = solver.run.engine.Run

    class SlowRun(real):
        def __init__(self, *a, **kw):
            time.sleep(0.4)
            super().__init__(*a, **kw)

    monkeypatch.setattr(solver.run.engine, "Run", SlowRun)


def test_stop_right_after_run_stops_the_new_run(qtbot, window, slow_run_creation):
    endless(window)
    finished = []
    window.model.run_finished.connect(lambda _id, reason, msg: finished.append(reason))
    assert window.live.start()
    window.live.stop()  # before the worker has created the Run
    qtbot.waitUntil(lambda: finished == ["stopped"], timeout=LONG)
    assert iteration(window) < 1000  # it did not run on


def test_pause_right_after_run_creates_it_paused(qtbot, window, slow_run_creation):
    endless(window)
    assert window.live.start()
    window.live.pause()
    qtbot.waitUntil(lambda: window.model.selected is not None, timeout=LONG)
    wait_state(qtbot, window, "paused")
    n = len(window.model.selected.history)
    settled(qtbot, window)
    assert len(window.model.selected.history) == n == 1  # paused before its first update


def test_runs_dock_lists_every_run_and_the_plots_follow_the_selection(qtbot, window):
    finished = []
    window.model.run_finished.connect(lambda _id, reason, _m: finished.append(reason))
    window.live.start()
    qtbot.waitUntil(lambda: len(finished) == 1, timeout=LONG)
    window.editor.change({"lr": 0.05})
    window.live.start()
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=LONG)
    table = window.runs.table_model
    assert table.rowCount() == 2
    rows = [[table.data(table.index(r, c)) for c in range(table.columnCount())] for r in range(2)]
    assert rows[0][1] == "gd" and rows[0][2] == "0.1" and rows[1][2] == "0.05"
    why = window.model.runs[1].status.message
    assert rows[0][5] == "converged" and rows[1][5] == "max iterations", why  # half the step
    first, second = window.model.runs
    assert rows[0][3] == f"{first.status.iteration:,}"
    assert window.model.selected is second  # the newest run is on show
    # choosing a row shows that run in the plots and the status bar
    window.runs.view.selectRow(0)
    assert window.model.selected is first
    window.live.frames.draw_now()
    x, _ = window.plots.plot("loss").curve.getOriginalDataset()
    assert abs(x[-1] - first.status.iteration) <= 1
    assert window.status.st_iter.text() == f"iteration {first.status.iteration:,}"
    assert first.name in window.plots.caption.text()


def test_pin_rename_and_delete_from_the_runs_dock(qtbot, window):
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.live.start()
    rec = window.model.selected
    window.runs.pin_button.click()
    assert rec.pinned and window.runs.pin_button.isChecked()
    table = window.runs.table_model
    assert table.setData(table.index(0, 0), "baseline")
    assert rec.name == "baseline" and table.data(table.index(0, 0)) == "baseline"
    assert not table.setData(table.index(0, 0), "  ")
    assert "empty" in window.model.last_error and rec.name == "baseline"
    window.runs.delete_button.click()
    assert window.model.runs == [] and window.model.selected is None
    assert table.rowCount() == 0 and not window.act_reset.isEnabled()
    x, _ = window.plots.plot("loss").curve.getOriginalDataset()
    assert x is None or len(x) == 0


def test_a_run_of_another_problem_is_greyed_and_captioned(qtbot, window):
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        window.live.start()
    rec = window.model.selected
    assert not rec.stale and "earlier problem" not in window.plots.caption.text()
    window.editor.load_preset("seed-puzzle")
    assert rec.stale
    table = window.runs.table_model
    assert table.data(table.index(0, 0), Qt.ForegroundRole) is not None  # greyed
    assert "another problem" in table.data(table.index(0, 0), Qt.ToolTipRole)
    assert "earlier problem" in window.plots.caption.text()
    # back to the same problem: the run is current again
    window.editor.load_preset("seed-3x3")
    assert not rec.stale and "earlier problem" not in window.plots.caption.text()


def test_deleting_the_live_run_stops_it(qtbot, window):
    endless(window)
    window.live.start()
    qtbot.waitUntil(lambda: iteration(window) > 50, timeout=LONG)
    window.runs.delete_button.click()
    assert window.model.state == "idle" and window.model.runs == []
    qtbot.waitUntil(window.live.worker.idle_event.is_set, timeout=LONG)
    assert window.act_run.isEnabled()
    window.editor.change({"max_iters": 100})
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG) as sig:
        window.live.start()  # a fresh run works as before
    assert sig.args[1] == "max_iters" and window.model.selected.status.iteration == 100


def test_a_running_rows_numbers_repaint_a_few_times_a_second_and_the_end_at_once(qtbot, window):
    """Its numbers are not redrawn at each of the plots' frames (the table's repaint was a
    tenth of a frame at n = 2000); a pause or the end shows in the same event."""
    from gui.views.runs import RUNNING_ROW_MS

    endless(window)
    table = window.runs.table_model
    updates, repaints = [], []
    window.model.run_updated.connect(lambda _id: updates.append(time.perf_counter()))
    table.dataChanged.connect(
        lambda a, b, *_: repaints.append((time.perf_counter(), a.column(), b.column()))
    )
    window.live.start()
    wait_state(qtbot, window, "running")
    u0, r0, t0 = len(updates), len(repaints), time.perf_counter()
    qtbot.waitUntil(
        lambda: len(updates) >= u0 + 30 and time.perf_counter() - t0 > 0.6, timeout=LONG
    )
    elapsed, n = time.perf_counter() - t0, len(repaints) - r0
    assert 1 <= n <= elapsed / (RUNNING_ROW_MS / 1000) + 1, (n, len(updates) - u0, elapsed)
    # only the cells progress changes: Iterations and Final loss
    assert {(c0, c1) for _t, c0, c1 in repaints[r0:]} == {(3, 4)}
    window.live.pause()
    wait_state(qtbot, window, "paused")
    rec = window.model.selected
    # the paused row says the paused iteration without waiting for the timer
    assert table.data(table.index(0, 3)) == f"{rec.status.iteration:,}"
    window.live.stop()
    qtbot.waitUntil(lambda: not rec.live, timeout=LONG)
    assert table.data(table.index(0, 3)) == f"{rec.status.iteration:,}"


def test_switching_to_svd_takes_its_loss_and_a_random_start_and_back(qtbot, window):
    assert window.model.session.init == "zeros"
    assert window.editor.switch_kind("svd")
    s = window.model.session
    assert s.problem.kind == "svd" and s.loss == "svd_mse" and s.init == "rand"
    np.testing.assert_array_equal(s.problem.M, [[1, 2, 0], [0, 1, 0], [0, 0, 1]])  # from A
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG) as sig:
        assert window.live.start(steps=None)
    assert sig.args[1] in ("max_iters", "converged")
    assert window.editor.switch_kind("linear_system")
    back = window.model.session
    assert back.problem.kind == "linear_system" and back.loss == "half_sum_squares"


def test_the_starting_message_goes_once_the_run_goes(qtbot, window):
    """The "Starting…" message says what happens while the run is created, not after."""
    endless(window)
    assert window.live.start()
    assert window.status.currentMessage() == "Starting…"
    wait_state(qtbot, window, "running")
    assert window.status.currentMessage() == ""
    window.live.stop()
    wait_state(qtbot, window, "idle")
