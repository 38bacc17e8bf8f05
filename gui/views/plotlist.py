"""The registry of the plot panel's plots, in their order: the panes first (top row, then the
bottom row), then the views' tabs. A new plot is a ``PanelPlot`` subclass and its line here."""

from __future__ import annotations

from .insightplots import ComparePlot, DirectionPlot, FitPlot, LandscapePlot
from .plotbase import PanelPlot
from .runplots import ErrorPlot, LossPlot, XPlot
from .solutionplots import BarsPlot, HeatResidualPlot, HeatXPlot
from .svdplots import SvdHeatUPlot, SvdHeatVPlot, SvdOrthogonalityPlot, SvdValuesPlot

PLOTS: tuple[type[PanelPlot], ...] = (
    LossPlot,
    ErrorPlot,
    XPlot,
    BarsPlot,
    HeatXPlot,
    HeatResidualPlot,
    SvdValuesPlot,
    SvdOrthogonalityPlot,
    SvdHeatUPlot,
    SvdHeatVPlot,
    DirectionPlot,
    LandscapePlot,
    FitPlot,
    ComparePlot,
)
