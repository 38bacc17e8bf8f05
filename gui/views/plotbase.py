"""One plot of the plot panel, as the panel sees it, and the builders of plot widgets.

Each plot is a ``PanelPlot``: it builds its widget, says where it sits (a pane of its own or
a tab among the views), which runs it applies to (the kind's ``ProblemKind.views`` name it),
why it has nothing to show for a run it applies to, how it draws a frame, what its crosshair
reads and what state of it is saved between launches. The panel knows plots only through
this class and the registry (``gui.views.plotlist.PLOTS``); adding a plot is a subclass in
one file and its line there.

Plots that share what they compute (the svd views share the samples of the factorisation,
the insight views the run's directions) share one object, ``panel.shared(cls)``, built once
per panel and told of each new run before the plots are (its ``set_source``).
"""

from __future__ import annotations

from typing import ClassVar, Protocol

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from .plotkit import Guard, GuardedPlotWidget, cache_decorations

# Where a plot sits: the panel's top row, its bottom row (left of the views), or a view tab.
TOP, BOTTOM, TAB = "top", "bottom", "tab"


def line_plot(
    guard: Guard | None, title: str, left: str, *, log: bool = False, bottom: str = "iteration"
) -> GuardedPlotWidget:
    """A plot widget with the panel's look: titled, labelled, its decorations cached."""
    w = GuardedPlotWidget(guard)
    pi = w.getPlotItem()
    pi.setTitle(title, size="10pt")
    pi.setLabel("left", left)
    pi.setLabel("bottom", bottom)
    # No grid: its lines belong to the axes and cost ~20 ms each time a range moves.
    pi.setLogMode(x=False, y=log)
    cache_decorations(pi)
    w.setMinimumSize(180, 150)
    return w


def heat_plot(
    guard: Guard | None, title: str
) -> tuple[GuardedPlotWidget, pg.ImageItem, pg.ColorBarItem]:
    """A heat map (rows down, columns across, square cells) with a diverging colour bar."""
    w = GuardedPlotWidget(guard)
    pi = w.getPlotItem()
    pi.setTitle(title, size="10pt")
    pi.setLabel("left", "row")
    pi.setLabel("bottom", "column")
    pi.invertY(True)
    pi.setAspectLocked(True)
    img = pg.ImageItem(axisOrder="row-major")
    pi.addItem(img)
    bar = pi.addColorBar(img, colorMap="CET-D1", values=(-1, 1), interactive=False)
    cache_decorations(pi)
    cache_decorations(bar)
    w.setMinimumSize(180, 150)
    return w, img, bar


class Panel(Protocol):
    """What a plot may read of its panel (``gui.views.plots.PlotPanel``)."""

    guard: Guard | None  # every paint inside it (``GuardedPlotWidget``)
    src: object  # the ``RunSource`` on show, None before a run
    record: object  # its ``RunRecord``
    x_columns: np.ndarray  # the plotted unknowns
    x_cols: np.ndarray  # their columns in the history's trajectory
    latest_x: np.ndarray | None  # the newest x the solver sent
    inspected_k: int | None  # the inspected iteration (None: the newest)
    tight: bool  # this frame fits the ranges to the data

    @property
    def shown_x(self) -> np.ndarray | None: ...

    def iteration_at(self, x: float) -> int | None: ...

    def shared(self, cls: type) -> object: ...


class PanelPlot:
    """One plot of the panel. Subclasses set the class attributes and override ``build``
    and whichever of the other methods their plot needs."""

    key: ClassVar[str]  # its name: File → Export plot's key, the kinds' view name
    title: ClassVar[str]  # its name in File → Export plot and on its tab
    tab_text: ClassVar[str | None] = None  # a shorter name for its tab
    place: ClassVar[str] = TAB
    # shown, enabled, before any run (an empty view's tooltip says why it is empty)
    before_run: ClassVar[bool] = False
    # a crosshair read-out: None, "vertical" (iteration plots) or "cross" (heat maps)
    crosshair: ClassVar[str | None] = None

    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        self.widget: QtWidgets.QWidget = self.build()

    @property
    def plot(self) -> pg.PlotWidget:
        """The plot widget itself (exported, its range reset): the widget unless it holds
        more than the plot (the Compare tab's controls)."""
        return self.widget

    def line(self, title: str, left: str, **kw: object) -> GuardedPlotWidget:
        return line_plot(self.panel.guard, title, left, **kw)

    def build(self) -> QtWidgets.QWidget:
        raise NotImplementedError

    def applies(self, kind: object) -> bool:
        """Whether runs of problem kind ``kind`` have this plot (panes: every run)."""
        return self.place != TAB or self.key in kind.views

    def why(self) -> str | None:
        """Why the plot has nothing to show for the run on show though it applies (its
        tooltip), None when it has something."""
        return None

    def set_source(self, src: object) -> None:
        """A new run is shown (``RunSource``), or none (None): forget the last one."""

    def bind(self, model: object) -> None:
        """Follow the window's model, where the plot shows more than the selected run."""

    def receive(self, iteration: int, x: np.ndarray | None) -> None:
        """The newest x the solver sent, each frame, whether the plot is shown or not."""

    def draw(self, final: bool, may_move: bool) -> bool:
        """Draw the shown run's newest data. ``final`` (paused, finished): every range may
        move; ``may_move``: this plot's range may move this frame (a move repaints a whole
        plot, so the panel lets one move per frame while a run goes). True if it moved."""
        return False

    def reads(self, x: float, y: float) -> str | None:
        """What the crosshair reads at (``x``, ``y``), None where there is nothing."""
        return None

    def wants_x(self, in_front: bool) -> bool:
        """Whether the plot needs the whole current x each frame."""
        return False

    def state(self) -> dict:
        """What the user set on the plot that the next launch keeps (JSON-able)."""
        return {}

    def restore(self, state: dict) -> None:
        """Take back a ``state()`` of an earlier launch; an unknown or bad one is ignored."""
