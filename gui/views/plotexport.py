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
