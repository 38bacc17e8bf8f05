"""Helpers of the plot panel: heat maps on 1-based axes, and writing a plot to a file.

Heat-map pixel (i, j) is drawn centred on (j + 1, i + 1), so the axes count rows and columns
from 1 like the tables and the readouts do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers pg.exporters)
from PySide6 import QtCore

# The plots File → Export plot offers: key -> title
TITLES = {
    "loss": "Loss",
    "error": "Error and residual",
    "x": "Components of x",
    "bars": "x vs exact",
    "heat_x": "X heat map",
    "heat_residual": "Residual heat map",
    "svd_values": "Singular values",
    "svd_orthogonality": "Orthogonality",
    "svd_heat_u": "U heat map",
    "svd_heat_v": "V heat map",
    "direction": "Error by direction",
    "landscape": "Loss landscape",
    "fit": "Data and fit",
    "compare": "Runs compared",
}


def show_heat(img: pg.ImageItem, bar: pg.ColorBarItem, values: np.ndarray) -> None:
    """Draw ``values`` (rows x columns) with 1-based axes and symmetric colour levels."""
    img.setImage(values, autoLevels=False)
    rows, cols = values.shape
    img.setRect(QtCore.QRectF(0.5, 0.5, cols, rows))
    heat_levels(bar, values)


def heat_levels(bar: pg.ColorBarItem, values: np.ndarray) -> None:
    finite = values[np.isfinite(values)]
    m = float(np.max(np.abs(finite))) if finite.size else 1.0
    bar.setLevels((-m, m) if m > 0 else (-1.0, 1.0))


def export_plot(widget: pg.PlotWidget, path: str | Path) -> None:
    """Write a plot with pyqtgraph's exporters: SVG for a ``.svg`` path, else a PNG at twice
    its size on screen. Whole or not at all: a failed write (a full disk) leaves ``path`` as
    it was and no empty or temporary file (``solver.core.atomic.replacing``)."""
    from solver.core.atomic import replacing

    item = widget.getPlotItem()
    with replacing(path) as tmp:
        if str(path).lower().endswith(".svg"):
            pg.exporters.SVGExporter(item).export(str(tmp))
            return
        exp = pg.exporters.ImageExporter(item)
        exp.parameters()["width"] = max(800, int(item.width()) * 2)
        if not exp.export(str(tmp)):
            raise OSError("cannot write the image there")


class PlotFiles:
    """The plot panel's exports and saved splitter sizes (uses its ``plots``, ``tabs``,
    ``src`` and ``splitters``)."""

    TITLES = TITLES

    def exportable(self, which: str) -> bool:
        """Whether plot ``which`` shows something of the selected run (its tab is enabled)."""
        w = self.plots.get(which)
        if w is None or self.src is None or len(self.src.history) == 0:
            return False
        i = self.tabs.indexOf(w)
        return i < 0 or self.tabs.isTabEnabled(i)

    def export(self, which: str, path: str | Path) -> None:
        export_plot(self.plots[which], path)

    def save_state(self, settings: QtCore.QSettings) -> None:
        settings.setValue("window/plots", [s.saveState() for s in self.splitters])

    def restore_state(self, settings: QtCore.QSettings) -> None:
        for s, st in zip(self.splitters, settings.value("window/plots", []) or [], strict=False):
            if st:
                s.restoreState(st)
