"""What the window says and does on a user's action, taken at its word: captions and warnings
shown whole (user text literally), keys that reach the command they name, clicks that land
where they point, runs and files kept as the user expects (pytest-qt, offscreen; one check
under a real X server, whose key bindings differ)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import test_gui
import test_gui_app
from PySide6 import QtCore, QtGui, QtTest, QtWidgets

from gui.mainwindow import APPLICATION, MainWindow

shown_text = test_gui.shown_text
display = test_gui_app.display
LONG = test_gui.LONG
Qt = QtCore.Qt
ROOT = Path(__file__).resolve().parents[2]


def fits(label: QtWidgets.QLabel) -> bool:
    """A word-wrapped label has the height its text needs at its width."""
    return label.height() >= label.heightForWidth(label.width())


def finished_run(qtbot, w: MainWindow, **changes) -> None:
    w.editor.load_session(w.model.session.replace(**changes))
    with qtbot.waitSignal(w.model.run_finished, timeout=LONG):
        w.act_run.trigger()


def settle(qtbot, w: MainWindow) -> None:
    """Pending layouts and paints done."""
    QtWidgets.QApplication.processEvents()
    # posted LayoutRequest events reach their widgets now, not after some wait
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.LayoutRequest)
    QtWidgets.QApplication.processEvents()


# -- text: whole, and user text literally -------------------------------------------------------
def test_the_puzzle_caption_is_shown_whole(qtbot, window):
    assert window.files.example("seed-puzzle")
    qtbot.waitUntil(lambda: window.model.analysis is not None, timeout=LONG)
    finished_run(qtbot, window, max_iters=50)
    window.live.frames.draw_now()
    qtbot.waitUntil(lambda: "unknowns" in window.plots.prediction.text, timeout=LONG)
    text = shown_text(window.plots.caption)
    assert "< 4 unknowns: infinitely many solutions" in text, text
    assert "minimum-norm" in text, text
    assert "<span" not in text and "style=" not in text, text  # markup rendered, not shown


def test_a_run_named_with_markup_is_shown_literally(qtbot, window):
    finished_run(qtbot, window, max_iters=20)
    name = "<b>x</b> & <i>"
    window.model.rename(window.model.selected, name)
    window.plots.update_caption()
    assert name in shown_text(window.plots.caption)


def test_the_divergence_warning_is_whole_and_fits_the_panel(qtbot, window):
    qtbot.waitUntil(lambda: window.model.analysis is not None, timeout=LONG)
    window.editor.load_session(window.model.session.replace(lr=0.9))  # 2/L is 0.34 here
    window.dock_hyper.raise_()
    settle(qtbot, window)
    info = window.hyper.lr_info
    text = shown_text(info)
    assert "gd will diverge" in text and "stable only for lr < 2/L = 0.3431)" in text, text
    assert info.isVisible() and fits(info), (info.size(), info.heightForWidth(info.width()))
    # the Huber loss's pull is bounded far from the answer: it goes round it for good
    window.editor.load_session(window.model.session.replace(loss="huber"))
    settle(qtbot, window)
    text = shown_text(info)
    assert "gd will never settle" in text and "2/L = 0.3431)" in text, text
    assert info.isVisible() and fits(info), (info.size(), info.heightForWidth(info.width()))


@pytest.mark.parametrize("width", [230, 320, 480])
def test_the_next_run_note_fits_whatever_the_panel_width(qtbot, window, width):
    test_gui.endless(window)
    window.resizeDocks([window.dock_hyper], [width], Qt.Horizontal)
    window.dock_hyper.raise_()
    notes = [p.findChild(QtWidgets.QLabel, "nextRunNote") for p in (window.hyper, window.matrix)]
    window.act_run.trigger()
    qtbot.waitUntil(lambda: all(n.isVisible() for n in notes), timeout=LONG)
    settle(qtbot, window)
    for note in notes:
        assert fits(note), (note.size(), note.heightForWidth(note.width()))
        # a layout short of room cannot squeeze its wrapped lines into one line's height
        assert note.minimumHeight() >= note.heightForWidth(note.width())
        # ...and on screen: not wider than what shows it, nor scrolled off to one side
        viewport = note.parentWidget().parentWidget()
        left = note.mapTo(viewport, QtCore.QPoint(0, 0)).x()
        assert left >= 0 and left + note.width() <= viewport.width(), (left, note.width())
    window.act_stop.trigger()
    test_gui.wait_state(qtbot, window, "idle")


# -- keys ---------------------------------------------------------------------------------------
def type_lr_and_commit(qtbot, w: MainWindow, text: str) -> None:
    """Type into the lr field and press Enter, as a user does."""
    w.activateWindow()
    field = w.hyper.lr
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key_Return)


def test_ctrl_z_right_after_an_lr_edit_undoes_the_edit(qtbot, window):
    type_lr_and_commit(qtbot, window, "0.05")
    assert window.model.session.lr == 0.05
    assert window.hyper.lr.hasFocus()
    qtbot.keyClick(window.hyper.lr, Qt.Key_Z, Qt.ControlModifier)
    assert window.model.session.lr == 0.1
    assert window.hyper.lr.text() == "0.1"
    qtbot.keyClick(window.hyper.lr, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert window.model.session.lr == 0.05


def test_an_uncommitted_lr_edit_is_undone_in_the_field(qtbot, window):
    window.activateWindow()
    field = window.hyper.lr
    field.setFocus()
    field.end(False)
    qtbot.keyClicks(field, "5")
    assert field.text() == "0.15"
    qtbot.keyClick(field, Qt.Key_Z, Qt.ControlModifier)
    assert field.text() == "0.1" and window.model.session.lr == 0.1


@pytest.mark.parametrize("key", ["Ctrl+Shift+Z", "Ctrl+Y"])
def test_redo_from_the_keyboard(qtbot, window, key):
    type_lr_and_commit(qtbot, window, "0.05")
    window.menus.act_undo.trigger()
    assert window.model.session.lr == 0.1
    window.plots.setFocus()
    seq = QtGui.QKeySequence(key)[0]
    qtbot.keyClick(window, seq.key(), seq.keyboardModifiers())
    assert window.model.session.lr == 0.05
    keys = [s.toString() for s in window.menus.act_redo.shortcuts()]
    assert sorted(keys) == ["Ctrl+Shift+Z", "Ctrl+Y"]


_X_REDO = r"""
import sys
from pathlib import Path
from PySide6 import QtCore, QtTest, QtWidgets
app = QtWidgets.QApplication([])
from gui.app import configure_application
from gui.mainwindow import MainWindow
configure_application(app)
tmp = Path(sys.argv[1])
w = MainWindow(QtCore.QSettings(str(tmp / "s.ini"), QtCore.QSettings.IniFormat), tmp / "data",
               dialogs=False)
w.show()
w.activateWindow()
QtTest.QTest.qWaitForWindowActive(w, 30000)
w.editor.change({"lr": 0.05})
w.menus.act_undo.trigger()
for key in ("Ctrl+Shift+Z", "Ctrl+Y"):
    before = w.model.session.lr
    QtTest.QTest.keySequence(w, key)
    after = w.model.session.lr
    print(key, before, after, flush=True)
    w.menus.act_undo.trigger()
import shutil, subprocess
if shutil.which("xdotool"):  # the title as the X server has it, the platform's suffix included
    name = subprocess.run(["xdotool", "getwindowname", str(int(w.winId()))],
                          capture_output=True, text=True).stdout.strip()
    print("title", name, flush=True)
w.shutdown()
"""


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (Debian package xvfb)")
def test_redo_keys_under_a_real_x_server(display, tmp_path):
    """Under X the platform's Redo key is Ctrl+Shift+Z itself: bound twice, it did nothing."""
    env = test_gui_app.app_env(display, tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", _X_REDO, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    assert "Ctrl+Shift+Z" in lines, out.stdout + out.stderr
    for key in ("Ctrl+Shift+Z", "Ctrl+Y"):
        assert lines[key] == "0.1 0.05", (key, out.stdout, out.stderr)
    assert "Ambiguous" not in out.stderr
    if "title" in lines:
        assert "3×3" in lines["title"] and lines["title"].count(APPLICATION) == 1, lines["title"]


# -- titles ---------------------------------------------------------------------------------------
def platform_title(title: str) -> str:
    """What the window system shows for a window title under X and Windows: Qt appends
    " — <display name>" unless the title already ends with it."""
    name = APPLICATION
    return title if title.endswith(name) else f"{title} \u2014 {name}"


def test_the_title_names_the_app_once(qtbot, window):
    title = window.windowTitle().replace("[*]", "")
    assert "3×3" in title
    assert platform_title(title).count(APPLICATION) == 1, title


def test_a_preset_dialog_title_is_short_and_fits(qtbot, window):
    seen = {}

    def look() -> None:
        dlg = QtWidgets.QApplication.activeModalWidget()
        if dlg is None:
            QtCore.QTimer.singleShot(20, look)
            return
        settle(qtbot, window)
        seen["title"] = platform_title(dlg.windowTitle())
        seen["width"] = dlg.width()
        seen["body"] = " ".join(shown_text(lab) for lab in dlg.findChildren(QtWidgets.QLabel))
        dlg.reject()

    QtCore.QTimer.singleShot(0, look)
    window.files.preset("poisson-2d")
    assert "2-D Poisson, 250×400 grid" in seen["body"]  # the long name is in the body
    assert len(seen["title"]) <= 40, seen["title"]
    # a title bar holds the title beside its buttons (about 120 px on common window managers)
    need = QtGui.QFontMetrics(QtWidgets.QApplication.font()).horizontalAdvance(seen["title"])
    assert seen["width"] >= need + 120, (seen, need)


# -- runs kept ------------------------------------------------------------------------------------
def test_a_race_keeps_the_users_own_runs(qtbot, window, monkeypatch):
    import gui.race

    monkeypatch.setattr(gui.race, "RACE_SECONDS", 2.0)
    qtbot.waitUntil(lambda: window.model.analysis is not None, timeout=LONG)
    for _ in range(3):
        finished_run(qtbot, window, max_iters=5)
    mine = [r.id for r in window.model.runs]
    window.editor.load_session(window.model.session.replace(tol=1e-6))
    for _ in range(2):  # a second race replaces the first one's runs, not the user's
        with qtbot.waitSignal(window.race.finished, timeout=4 * LONG):
            assert window.race.start()
        ids = [r.id for r in window.model.runs]
        assert ids[:3] == mine, [r.name for r in window.model.runs]
        assert len(ids) == 3 + 8
    finished_run(qtbot, window, max_iters=5)
    assert [r.id for r in window.model.runs][:3] == mine


# -- clicks on sliders ----------------------------------------------------------------------------
def click_at(slider: QtWidgets.QSlider, fraction: float) -> None:
    opt = QtWidgets.QStyleOptionSlider()
    slider.initStyleOption(opt)
    groove = slider.style().subControlRect(
        QtWidgets.QStyle.CC_Slider, opt, QtWidgets.QStyle.SC_SliderGroove, slider
    )
    x = groove.left() + round(fraction * groove.width())
    QtTest.QTest.mouseClick(
        slider, Qt.LeftButton, Qt.NoModifier, QtCore.QPoint(x, groove.center().y())
    )


def test_a_click_on_the_speed_slider_goes_where_it_points(qtbot, window):
    speed = window.toolbar.speed
    click_at(speed, 0.0)
    assert speed.value() == 0
    click_at(speed, 0.5)
    assert abs(speed.value() - (speed.maximum() / 2)) <= 1


def test_a_click_on_the_timeline_goes_where_it_points(qtbot, window):
    finished_run(qtbot, window, max_iters=200, tol=0.0)
    slider = window.plots.timeline.slider
    assert slider.maximum() == 200
    click_at(slider, 0.25)
    assert abs(slider.value() - 50) <= 6, slider.value()
    assert window.model.inspected == slider.value()


# -- files and words ------------------------------------------------------------------------------
def test_an_example_opened_from_the_menu_is_in_open_recent(qtbot, window):
    action = next(a for a in window.examples.menu.actions() if a.data() == "seed-puzzle")
    action.trigger()
    assert "seed-puzzle" in window.model.session_label
    window.menus.recent_menu.aboutToShow.emit()
    names = [a.text() for a in window.menus.recent_menu.actions()]
    assert any("seed-puzzle.json" in n for n in names), names


def first_recent(window, path):
    """The Open recent entry of the session just saved as ``path``, as the menu shows it."""
    window.persistence.save_session(str(path))
    window.persistence.add_recent(path)
    window.menus.recent_menu.aboutToShow.emit()
    return window.menus.recent_menu.actions()[0]


def test_a_recent_file_with_an_ampersand_is_named_as_it_is(qtbot, window, tmp_path):
    first = first_recent(window, tmp_path / "a&b.json")
    assert first.text().replace("&&", "&").endswith("a&b.json") and "&&" in first.text()


def test_the_step_dock_names_the_plot_x_field(qtbot, window):
    assert window.editor.load_preset("matrix-nos4")  # 100 unknowns: only the plotted ones are kept
    finished_run(qtbot, window, max_iters=3, tol=0.0)
    why = window.model.selected.history.why_no_iterate(1)
    assert "Plot x" in why and "Track" not in why, why
    assert window.hyper.form.labelForField(window.hyper.track).text() == "Plot x"


def test_a_published_numbers_source_is_named_by_article_and_section():
    from solver.sessions.examples import EXAMPLES

    for ex in EXAMPLES.values():
        text = ex.source.text()
        assert ".txt" not in text and ".txt" not in ex.tooltip(), text
        if ex.source.article is not None:
            assert ex.source.section in text and "article" in text, text
    assert "“PyTorch Basics: Solving the Ax=b matrix equation with gradient descent”" in (
        EXAMPLES["seed-random-2x2"].source.text()
    )


# -- every place that shows user data shows it as it is ----------------------------------------
def shown_tip(tip: str) -> str:
    """What a tooltip shows: Qt renders one that looks like markup as rich text."""
    if not QtGui.Qt.mightBeRichText(tip):
        return tip
    doc = QtGui.QTextDocument()
    doc.setHtml(tip)
    return doc.toPlainText()


MARKUP = "<b>x</b> & <i>"


def test_a_refusal_box_shows_its_text_literally(qtbot, make_window):
    w = make_window(dialogs=True)
    w.model.refuse("File not opened", f"{MARKUP}.json: no such file")
    box = w.boxes.open_boxes()[0]
    label = box.findChild(QtWidgets.QLabel, "qt_msgbox_label")
    assert f"{MARKUP}.json: no such file" in shown_text(label)
    box.close()


def test_a_bad_cell_is_named_literally(qtbot, window):
    model = window.matrix.model_of("b")
    model.setData(model.index(0, 0), MARKUP)
    label = window.matrix.error_label
    qtbot.waitUntil(label.isVisible, timeout=LONG)
    assert MARKUP in shown_text(label), label.text()


def test_the_runs_table_and_the_compare_legend_show_a_name_literally(qtbot, window):
    finished_run(qtbot, window, max_iters=5, tol=0.0)
    rec = window.model.selected
    window.model.rename(rec, MARKUP)
    runs = window.runs.table_model
    assert any(runs.data(runs.index(i, 0)) == MARKUP for i in range(runs.rowCount()))
    cmp = window.plots.insight.compare
    window.plots.tabs.setCurrentWidget(cmp)
    window.live.frames.draw_now()
    qtbot.waitUntil(lambda: bool(cmp.curves), timeout=LONG)
    labels = [lab.item.toPlainText() for _s, lab in cmp.legend.item.items]
    assert any(lab.startswith(MARKUP) for lab in labels), labels


def test_failures_in_the_step_and_problem_panels_are_shown_literally(qtbot, window):
    # a reach-in on purpose: a failure whose words hold markup, which no run here produces
    window.step_panel._show_text("cannot be taken apart: lr < 2/L <b>")
    assert "lr < 2/L <b>" in shown_text(window.step_panel.header)
    window.matrix.show_analysis(window.model.session, ValueError("n < 2 <i>"))
    assert "n < 2 <i>" in shown_text(window.matrix.facts)


def test_a_recent_files_tooltip_is_its_path_literally(qtbot, window, tmp_path):
    path = tmp_path / "<b>x<b>.json"
    first = first_recent(window, path)
    assert shown_tip(first.toolTip()) == str(path.resolve())


def test_a_status_message_cut_by_the_fields_is_whole_in_its_tooltip(qtbot, window):
    # At 1024 pixels the stop's reason ended "(growing" where the status fields begin.
    window.resize(1024, 700)
    text = "Diverging: lr · L = 0.5 × 5.828 = 2.91 > 2; stopped at iteration 5 " + "<i>x</i> " * 20
    window.model.message.emit(text)
    bar = window.status
    assert bar.currentMessage() == text
    assert shown_tip(bar.toolTip()) == text
    bar.clearMessage()
    assert bar.toolTip() == ""


def test_a_field_too_narrow_for_its_number_has_the_whole_of_it_in_its_tooltip(qtbot, window):
    # At 1024 pixels the Poisson preset's lr read "0.12" of 0.125, Adam's betas ".999".
    window.editor.load_session(window.model.session.replace(lr=0.04973332032, tol=1e-13))
    panel = window.hyper
    assert panel.lr.toolTip() == "learning rate (step size): 0.04973332032"
    assert panel.tol.toolTip().endswith(": 1e-13")
    window.editor.load_session(window.model.session.replace(optimizer="adam", lr=0.01))
    betas = panel.arg_field("betas")
    assert betas.toolTip() == f"betas: {betas.text()}" and "0.999" in betas.toolTip()
