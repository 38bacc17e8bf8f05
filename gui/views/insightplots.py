"""The tabs that show why a run converges as it does (error by direction, the landscape, a
fit's polynomial over its data) and the runs compared: each a view of the shared
``InsightViews``, which computes the run's directions and plane once for all of them."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtWidgets

from .compare import AXES, SHOWN
from .insight import InsightViews
from .plotbase import PanelPlot


class _InsightPlot(PanelPlot):
    before_run = True
    widget_name: str

    def build(self) -> QtWidgets.QWidget:
        self.views = self.panel.shared(InsightViews)
        return getattr(self.views, self.widget_name)

    def why(self) -> str | None:
        return self.views.why.get(self.key)

    def draw(self, final: bool, may_move: bool) -> bool:
        return bool(getattr(self.views, f"draw_{self.key}")(final or may_move))


class DirectionPlot(_InsightPlot):
    key, title, widget_name = "direction", "Error by direction", "dir_plot"


class LandscapePlot(_InsightPlot):
    key, title, tab_text, widget_name = "landscape", "Loss landscape", "Landscape", "land_plot"


class FitPlot(_InsightPlot):
    key, title, tab_text, widget_name = "fit", "Data and fit", "Fit", "fit_plot"


class ComparePlot(_InsightPlot):
    key, title, tab_text, widget_name = "compare", "Runs compared", "Compare", "compare"

    @property
    def plot(self) -> pg.PlotWidget:
        return self.widget.plot

    def bind(self, model: object) -> None:
        self.widget.bind(model)

    def draw(self, final: bool, may_move: bool) -> bool:
        self.widget.draw(final or may_move)
        return False

    def state(self) -> dict:
        """What the runs are compared on and against: kept, as a user sets them once."""
        w = self.widget
        return {"shown": SHOWN[w.show_what.currentIndex()], "axis": AXES[w.axis.currentIndex()]}

    def restore(self, state: dict) -> None:
        w = self.widget
        if state.get("shown") in SHOWN:
            w.show_what.setCurrentIndex(SHOWN.index(state["shown"]))
        if state.get("axis") in AXES:
            w.axis.setCurrentIndex(AXES.index(state["axis"]))
