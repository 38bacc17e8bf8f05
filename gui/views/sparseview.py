"""A sparse matrix in the Problem dock: its stored entries as a virtual table (row, column,
value, 1-based) and its sparsity pattern as a picture. Read-only: a sparse matrix comes from
a file or a preset, and a cell-by-cell editor of 500,000 entries would help nobody.

The table asks the CSR arrays for the visible rows only (Qt's views ask for what they paint),
so a 100,000 x 100,000 matrix shows at once. The pattern is a count of stored entries per
bin of at most ``PATTERN_BINS`` x ``PATTERN_BINS``, drawn by pyqtgraph (imported when the
first sparse matrix is shown).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from .columns import fit_columns

Qt = QtCore.Qt

PATTERN_BINS = 400  # the picture's resolution, per side: a dock is a few hundred pixels wide
COLUMNS = ("row", "col", "value")
TICK_GAP = 8  # pixels kept clear between two tick labels


class TripletModel(QtCore.QAbstractTableModel):
    """The stored entries of a CSR matrix, one per row, in row-major order."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._m: object = None
        self._rows = np.zeros(0, np.int64)  # each entry's row (from the row pointers)

    def set_matrix(self, m: object) -> None:
        self.beginResetModel()
        self._m = m
        if m is None:
            self._rows = np.zeros(0, np.int64)
        else:
            self._rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
        self.endResetModel()

    def rowCount(self, parent: QtCore.QModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self._m is None else int(self._m.nnz)

    def columnCount(self, parent: QtCore.QModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole
    ) -> object:
        if role != Qt.DisplayRole:
            return None
        if orientation == Qt.Horizontal:
            return COLUMNS[section]
        return f"{section + 1:,}"

    def data(self, index: QtCore.QModelIndex, role: int = Qt.DisplayRole) -> object:
        if not index.isValid() or self._m is None:
            return None
        k, c = index.row(), index.column()
        if role == Qt.TextAlignmentRole:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if role not in (Qt.DisplayRole, Qt.ToolTipRole):
            return None
        if c == 0:
            return f"{int(self._rows[k]) + 1:,}"
        if c == 1:
            return f"{int(self._m.indices[k]) + 1:,}"
        v = float(self._m.data[k])
        return repr(v) if role == Qt.ToolTipRole else f"{v:.6g}"

    def entry(self, k: int) -> tuple[int, int, float]:
        """Entry ``k`` as (row, column, value), 0-based."""
        return int(self._rows[k]), int(self._m.indices[k]), float(self._m.data[k])


def count_label(v: float, spacing: float) -> str:
    """A row or column number on a tick: 20k, 1.5M when the ticks are that far apart."""
    for unit, suffix in ((1_000_000, "M"), (1_000, "k")):
        if spacing >= unit:
            return f"{v / unit:g}{suffix}"
    return f"{v:g}"


def nice_spacing(span: float, pixels: float, room: Callable[[float], float]) -> float:
    """The smallest of 1, 2, 5 × 10ᵏ (at least 1: rows are whole) whose ticks, ``pixels``
    for ``span``, leave each label the ``room`` it needs (a function of the spacing)."""
    step = 10.0 ** math.floor(math.log10(max(span / max(pixels, 1.0), 1e-300)))
    step = max(step, 1.0)
    while True:
        for m in (1, 2, 5):
            if step * m * pixels / span >= room(step * m) or step * m >= span:
                return step * m
        step *= 10


def count_axis(orientation: str) -> object:
    """A pyqtgraph axis for row or column numbers up to the hundreds of thousands: its ticks
    spaced so that no two labels meet (the default packs 20000 40000 60000 into one run of
    digits in a narrow dock), abbreviated as 20k."""
    import pyqtgraph as pg

    class CountAxis(pg.AxisItem):
        def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list:
            span = maxVal - minVal
            if not (span > 0 and size > 0):
                return super().tickSpacing(minVal, maxVal, size)
            fm = QtGui.QFontMetricsF(self.style["tickFont"] or self.font())
            top = max(abs(minVal), abs(maxVal))
            if self.orientation in ("left", "right"):

                def room(spacing: float) -> float:
                    return fm.height() + TICK_GAP / 2

            else:

                def room(spacing: float) -> float:  # the widest label: the last tick's
                    widest = count_label(math.floor(top / spacing) * spacing, spacing)
                    return fm.horizontalAdvance(widest) + TICK_GAP

            major = nice_spacing(span, size, room)
            return [(major, 0.0)]  # one level: the default's minor level is labelled too

        def tickStrings(self, values: list, scale: float, spacing: float) -> list[str]:
            return [count_label(v * scale, spacing * scale) for v in values]

    return CountAxis(orientation)


def pattern_image(m: object, bins: int = PATTERN_BINS) -> np.ndarray:
    """Stored entries per bin: a (rows-bins x column-bins) count, bins <= ``bins`` a side
    (a matrix smaller than that gets one bin per row and column)."""
    rows, cols = m.shape
    rb, cb = min(bins, rows), min(bins, cols)
    r = np.repeat(np.arange(rows), np.diff(m.indptr))
    img = np.zeros((rb, cb), np.float64)
    np.add.at(img, (r * rb // rows, m.indices.astype(np.int64) * cb // cols), 1.0)
    return img


class SparseMatrixView(QtWidgets.QWidget):
    """What the dock shows instead of the A table when the matrix is held sparse."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QtWidgets.QLabel(wordWrap=True)
        self.summary.setTextFormat(Qt.RichText)
        self.model = TripletModel(self)
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.model)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        # Fixed heights and widths: sizing a section to its contents would ask every row. No
        # row numbers: the entry's own row and column say where it is, and the dock is narrow.
        vh = self.table.verticalHeader()
        vh.setSectionResizeMode(QtWidgets.QHeaderView.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 6)
        vh.hide()
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QtWidgets.QHeaderView.Interactive)
        hh.setStretchLastSection(True)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setUsesScrollButtons(False)  # both tabs in sight: they set the least width
        self.tabs.addTab(self.table, "Entries")
        self._pattern: QtWidgets.QWidget | None = None
        self._image: object = None
        self._pending: object = None  # the matrix whose pattern waits for its tab
        self.tabs.currentChanged.connect(lambda _i: self._draw_pattern())
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.summary)
        lay.addWidget(self.tabs, 1)

    @property
    def pattern_plot(self) -> QtWidgets.QWidget | None:
        """The plot of the matrix's pattern (None until the pattern tab is first shown)."""
        return self._pattern

    @property
    def pattern_image(self) -> object:
        """The pattern's image item (None until drawn)."""
        return self._image

    def set_matrix(self, m: object) -> None:
        """Show ``m`` (a scipy CSR array), or nothing with None."""
        self.model.set_matrix(m)
        if m is None:
            self.summary.setText("")
            return
        rows, cols = m.shape
        # each column as wide as its (sampled) entries: the value beside two columns sized
        # for the largest row number was pushed out of a narrow pane
        fit_columns(self.table, self.fontMetrics().horizontalAdvance("-8.88888e-888") + 16)
        fill = 100.0 * m.nnz / (rows * cols)
        self.summary.setText(
            f"<b>{rows:,} × {cols:,}</b>, held sparse: <b>{m.nnz:,}</b> stored entries "
            f"({fill:.2g} % filled). Read-only: import a file or a preset to change it."
        )
        self._ensure_pattern_tab()
        self._pending = m
        self._draw_pattern()

    def _ensure_pattern_tab(self) -> None:
        if self._pattern is not None:
            return
        import pyqtgraph as pg

        w = pg.PlotWidget(axisItems={o: count_axis(o) for o in ("left", "bottom")})
        pi = w.getPlotItem()
        pi.setTitle("Sparsity pattern", size="9pt")
        w.setToolTip("Stored entries per bin (darker: more), rows down, columns across")
        pi.setLabel("left", "row")
        pi.setLabel("bottom", "column")
        pi.invertY(True)
        pi.setAspectLocked(False)
        self._image = pg.ImageItem(axisOrder="row-major")
        # white where nothing is stored, deepening blue with the count
        self._image.setColorMap(pg.ColorMap([0.0, 1.0], [(255, 255, 255), (30, 64, 175)]))
        pi.addItem(self._image)
        w.setMinimumSize(120, 140)  # a narrow dock scrolls its entries; the pattern fits
        self._pattern = w
        self.tabs.addTab(w, "Pattern")

    def _draw_pattern(self) -> None:
        m = self._pending
        if m is None or self.tabs.currentWidget() is not self._pattern:
            return
        self._pending = None
        img = pattern_image(m)
        shown = np.log1p(img)  # one entry and a full bin both visible
        self._image.setImage(shown, levels=(0.0, float(shown.max()) or 1.0))
        rows, cols = m.shape
        # 1-based row and column numbers on the axes: bin (0, 0) starts at entry (1, 1)
        self._image.setRect(QtCore.QRectF(0.5, 0.5, cols, rows))
        self._pattern.getPlotItem().getViewBox().autoRange(padding=0)
