"""Column widths that fit what a table shows, and numbers rounded to the room they get.

Shared by the matrix tables, the sparse view and the Runs table.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

Qt = QtCore.Qt
# Plain ints and the enum looked up once: the sampled cells ask for two roles each, and the
# enum lookups were a third of a wide table's fitting.
_DISPLAY, _DECORATION, _HORIZONTAL = int(Qt.DisplayRole), int(Qt.DecorationRole), Qt.Horizontal


class FittedNumbers(QtWidgets.QStyledItemDelegate):
    """Numbers rounded to the digits their cell has room for, instead of elided: a vector's
    column shares its pane with the row numbers, and beside a 2,000-row A it showed "1.97…"
    for 1.97453 (47 px of numbers under Xvfb); the Runs table's lr, "0.049…". The tooltip
    (the matrix tables') and the editor keep every digit."""

    def initStyleOption(self, option: QtWidgets.QStyleOptionViewItem, index: object) -> None:
        super().initStyleOption(option, index)
        w = option.widget
        style = w.style() if w is not None else QtWidgets.QApplication.style()
        margin = style.pixelMetric(QtWidgets.QStyle.PM_FocusFrameHMargin, None, w) + 1
        room = option.rect.width() - 2 * margin
        fm = option.fontMetrics
        if fm.horizontalAdvance(option.text) <= room:
            return
        try:
            v = float(option.text)
        except ValueError:  # a cell's invalid text, or a name: shown as it is
            return
        for digits in range(5, 0, -1):
            text = f"{v:.{digits}g}"
            if fm.horizontalAdvance(text) <= room:
                break
        option.text = text


# Rows a fitted column measures: all of them up to this many, else this many spread out.
FIT_SAMPLE_ROWS = 200
# Columns measured one by one up to this many; a wider table gets one width for all.
FIT_EACH_COLUMN_UP_TO = 64
# A wider table's one width is measured on this many rows of this many columns, spread out:
# 16 × 64 cells took 30-50 ms of the GUI thread for each 3000 × 3000 table filled.
FIT_WIDE_SAMPLE = 16


def fit_columns(
    view: QtWidgets.QTableView,
    limit: int,
    columns: list[int] | None = None,
    grow_only: bool = False,
) -> None:
    """Size ``view``'s columns to their widest text (header and cells) up to ``limit``
    pixels; what is wider is rounded to fit (``FittedNumbers``) or elided with a tooltip,
    and a table wider than its pane scrolls. A default width for every column hid the third
    of a 3×3 A's small integers beside b; cells are sampled, so 2,000 × 2,000 fits at once."""
    model = view.model()
    if model is None:
        return
    hh = view.horizontalHeader()
    n_rows, n_cols = model.rowCount(), model.columnCount()
    rows = (
        range(n_rows)
        if n_rows <= FIT_SAMPLE_ROWS
        else np.linspace(0, n_rows - 1, FIT_SAMPLE_ROWS).astype(int).tolist()
    )
    style = view.style()
    pad = 2 * (style.pixelMetric(QtWidgets.QStyle.PM_FocusFrameHMargin, None, view) + 1) + 4
    icon = view.iconSize().width() if view.iconSize().isValid() else 16
    # the header's words in bold: a selected row highlights every section's header so
    header_font = QtGui.QFont(hh.font())
    header_font.setBold(True)
    fm, hfm = view.fontMetrics(), QtGui.QFontMetrics(header_font)

    def wanted(cols: list[int]) -> int:
        widest = 24
        for c in cols:
            header = model.headerData(c, _HORIZONTAL, _DISPLAY)
            widest = max(widest, hfm.horizontalAdvance(str(header or "")) + 10)  # its padding: 8
            texts = set()
            decorated = False
            for r in rows:
                index = model.index(r, c)
                texts.add(str(model.data(index, _DISPLAY) or ""))
                decorated = decorated or model.data(index, _DECORATION) is not None
            extra = pad + (icon + 4 if decorated else 0)
            widest = max([widest, *(fm.horizontalAdvance(t) + extra for t in texts)])
        return min(limit, widest)

    if n_cols > FIT_EACH_COLUMN_UP_TO and columns is None:
        step = max(1, n_cols // FIT_WIDE_SAMPLE)
        rows = rows[:: max(1, len(rows) // FIT_WIDE_SAMPLE)]
        width = wanted(list(range(0, n_cols, step)))
        hh.setDefaultSectionSize(width)
        for c in range(n_cols):
            if hh.sectionSize(c) != width:
                hh.resizeSection(c, width)
        return
    for c in range(n_cols) if columns is None else columns:
        if hh.sectionResizeMode(c) == QtWidgets.QHeaderView.Stretch:
            continue
        width = wanted([c])
        if not grow_only or width > hh.sectionSize(c):
            hh.resizeSection(c, width)
