"""The plot panel knows its plots only through the registry: a plot added there (a class
and its line) gets its tab, its frames, its export and its saved state, and nothing else of
the panel changes."""

from __future__ import annotations

import json

import numpy as np
import pyqtgraph as pg
import test_gui
from PySide6 import QtCore

from gui.views.curves import curve
from gui.views.plotbase import TAB, PanelPlot
from gui.views.plotlist import PLOTS
from gui.views.plots import PlotPanel


class StepSizePlot(PanelPlot):
    """A plot a newcomer might add: the loss's ratio from one iteration to the next."""

    key, title, tab_text = "ratio", "Loss ratio per iteration", "Ratio"

    def build(self) -> pg.PlotWidget:
        w = self.line(self.title, "ratio")
        self.curve = curve(w, pg.mkPen("#1a56db", width=1), "ratio")
        self.shown = "every"
        return w

    def applies(self, kind: object) -> bool:
        return True  # every kind has a loss

    def draw(self, final: bool, may_move: bool) -> bool:
        loss = np.asarray(self.panel.src.history.loss, float)
        self.curve.setData(np.arange(1, len(loss), dtype=float), loss[1:] / loss[:-1])
        return False

    def state(self) -> dict:
        return {"shown": self.shown}

    def restore(self, state: dict) -> None:
        self.shown = str(state.get("shown", self.shown))


def test_the_kinds_views_and_the_registrys_tabs_are_the_same_names_in_order():
    from solver.problems.kinds import VIEWS

    tabs = [cls.key for cls in PLOTS if cls.place == TAB]
    assert tuple(tabs) == VIEWS
    keys = [cls.key for cls in PLOTS]
    assert len(set(keys)) == len(keys)
    titles = [cls.title for cls in PLOTS]
    assert len(set(titles)) == len(titles)  # File → Export plot names each once


def test_a_plot_added_to_the_registry_gets_a_tab_frames_an_export_and_saved_state(
    qtbot, window, tmp_path
):
    assert window.editor.load_preset("seed-3x3")
    window.editor.load_session(window.model.session.replace(max_iters=40))
    with qtbot.waitSignal(window.model.run_finished, timeout=test_gui.LONG):
        assert window.live.start()

    panel = PlotPanel(plots=(*PLOTS, StepSizePlot))
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    panel.bind(window.model)
    panel.show()
    probe = panel.plot("ratio")
    i = panel.tabs.indexOf(probe.widget)
    assert i == panel.tabs.count() - 1 and panel.tabs.tabText(i) == "Ratio"
    assert panel.tabs.isTabEnabled(i)  # it applies to a linear system: it said so
    assert panel.titles["ratio"] == "Loss ratio per iteration"

    panel.tabs.setCurrentIndex(i)
    qtbot.waitUntil(lambda: panel.redraws["ratio"] > 0)
    x, y = probe.curve.getOriginalDataset()
    loss = np.asarray(window.model.selected.history.loss, float)
    assert len(x) == len(loss) - 1
    np.testing.assert_allclose(y, loss[1:] / loss[:-1])

    assert panel.exportable("ratio")
    out = tmp_path / "ratio.png"
    panel.export("ratio", out)
    assert out.stat().st_size > 1000

    settings = QtCore.QSettings(str(tmp_path / "plots.ini"), QtCore.QSettings.IniFormat)
    probe.shown = "last 100"
    panel.save_state(settings)
    settings.sync()
    assert json.loads(settings.value("plots/ratio")) == {"shown": "last 100"}
    again = PlotPanel(plots=(*PLOTS, StepSizePlot))
    qtbot.addWidget(again)
    again.restore_state(settings)
    assert again.plot("ratio").shown == "last 100"


def test_what_the_runs_are_compared_on_is_kept_for_the_next_launch(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "plots.ini"), QtCore.QSettings.IniFormat)
    panel = PlotPanel()
    qtbot.addWidget(panel)
    cmp = panel.plot("compare").widget
    cmp.show_what.setCurrentIndex(1)  # the error ‖x − x*‖
    cmp.axis.setCurrentIndex(2)  # against wall time
    panel.save_state(settings)
    settings.sync()

    later = PlotPanel()
    qtbot.addWidget(later)
    later.restore_state(settings)
    again = later.plot("compare").widget
    assert again.show_what.currentText().startswith("error")
    assert again.axis.currentText() == "against wall time (s)"


def test_a_saved_plot_state_edited_into_nonsense_leaves_the_plot_as_it_was(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "plots.ini"), QtCore.QSettings.IniFormat)
    settings.setValue("plots/compare", "{not json")
    settings.setValue("plots/loss", json.dumps(["a", "list"]))
    settings.sync()
    panel = PlotPanel()
    qtbot.addWidget(panel)
    panel.restore_state(settings)
    cmp = panel.plot("compare").widget
    assert cmp.show_what.currentIndex() == 0 and cmp.axis.currentIndex() == 0
