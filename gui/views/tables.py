"""Editable tables over numpy arrays: no per-cell widgets, so 2000 x 2000 scrolls freely.

Typed text that is not a finite number is kept beside the array (``invalid``), drawn in red
and named in ``first_problem()``; the array itself only ever holds finite numbers, so what
the engine receives is always the last valid content.

Qt and numpy only: this module is on the window's startup path.
"""

from __future__ import annotations

import csv
import io
import math
import re

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

Qt = QtCore.Qt

_INVALID_BG = QtGui.QColor(255, 205, 205)
_READONLY_FG = QtGui.QColor(70, 70, 70)


# Digits in groups of three with a separator, then an optional fraction and exponent.
_GROUPED = {
    sep: re.compile(
        rf"[+-]?\d{{1,3}}(?:{re.escape(sep)}\d{{3}})+(?:{re.escape(dec)}\d*)?(?:[eE][+-]?\d+)?"
    )
    for sep, dec in ((",", "."), (".", ","), ("\u00a0", ","), (" ", ","))
}


_AMBIGUOUS_POINT = re.compile(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+")


def parse_number(text: str, decimal_point: str | None = None) -> float | None:
    """A finite float from a cell's text, or None.

    Thousands separators are read as the locale means them (``decimal_point``: the user's,
    from QLocale, unless given): with a decimal point "1,000" and "2,500.5" are 1000 and
    2500.5; with a decimal comma "1.000,5" is 1000.5 and "1,5" is 1.5. A comma that cannot be
    a thousands separator ("1,5") is still a decimal comma. A number is never silently
    scaled: "1,000" is not 1.0 unless the locale writes one that way.
    """
    t = text.strip().replace("\u2212", "-")
    if not t:
        return None
    dp = decimal_point or QtCore.QLocale().decimalPoint()
    if dp == "," and _AMBIGUOUS_POINT.fullmatch(t):
        return None  # "1.000" where a decimal comma is usual: 1 or 1000? Refused, not guessed.
    try:
        v = float(t)
    except ValueError:
        if dp == ",":
            for sep in (".", "\u00a0", " "):
                if _GROUPED[sep].fullmatch(t):
                    t = t.replace(sep, "")
                    break
            t = t.replace(",", ".") if t.count(",") == 1 else t
        elif _GROUPED[","].fullmatch(t):
            t = t.replace(",", "")
        elif t.count(",") == 1 and "." not in t:
            t = t.replace(",", ".")
        try:
            v = float(t)
        except ValueError:
            return None
    return v if math.isfinite(v) else None


def parse_block(text: str, decimal_point: str | None = None) -> list[list[str]]:
    """Rows of cells from pasted text, never splitting a number at its thousands separators.

    Tabs (spreadsheets) and line breaks always separate. Within a line, commas, semicolons
    and spaces separate only when the text is not one number as typing reads it
    (``parse_number``): "1,000" pasted into one cell is 1000, as typed, not 1 and 0;
    "1, 2, 3" is three cells. With several lines, each line is kept whole only if every line
    is one number whose commas are thousands groups ("1,000" above "2,500"), because in a
    locale with a decimal point "1,2" above "3,4" is a comma-separated 2×2 block.
    """
    lines = [ln for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return []
    if any("\t" in ln for ln in lines):
        return [ln.split("\t") for ln in lines]
    dp = decimal_point or QtCore.QLocale().decimalPoint()
    if len(lines) == 1 and parse_number(lines[0], dp) is not None:
        return [[lines[0]]]
    if len(lines) > 1 and all(_one_number_per_line(ln, dp) for ln in lines):
        return [[ln] for ln in lines]
    if any("," in ln for ln in lines) and not any(";" in ln for ln in lines):
        return [next(csv.reader(io.StringIO(ln), skipinitialspace=True), []) for ln in lines]
    if any(";" in ln for ln in lines):
        return [ln.split(";") for ln in lines]
    return [ln.split() for ln in lines]


def _one_number_per_line(line: str, decimal_point: str) -> bool:
    """A line of a multi-line paste that is one number, its commas (if the locale's decimal
    mark is a point) only thousands groups: "1,5" could as well be two cells."""
    if parse_number(line, decimal_point) is None:
        return False
    t = line.strip().replace("\u2212", "-")
    return decimal_point == "," or "," not in t or bool(_GROUPED[","].fullmatch(t))


class PasteError(ValueError):
    """A pasted block that cannot go where it was pasted; the message says why."""


class ArrayModel(QtCore.QAbstractTableModel):
    """A 2-D float64 array as a table. A 1-D array shows as one column.

    ``name`` labels cells in messages (``A[2, 3]``, 1-based like the headers).
    ``column_names`` replaces the numeric column headers (e.g. ``["x", "y"]``).
    """

    edited = QtCore.Signal()  # the valid content or the set of invalid cells changed

    def __init__(
        self,
        name: str,
        values: np.ndarray | None = None,
        *,
        editable: bool = True,
        column_names: list[str] | None = None,
        row_names: list[str] | None = None,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.name = name
        self.editable = editable
        self.column_names = column_names
        self.row_names = row_names
        self.invalid: dict[tuple[int, int], str] = {}
        self._a = np.zeros((0, 0))
        self._vector = False
        if values is not None:
            self.set_array(values)

    # -- content --------------------------------------------------------------------------
    def set_array(self, values: np.ndarray, row_names: list[str] | None = None) -> None:
        a = np.asarray(values, dtype=np.float64)
        self._vector = a.ndim == 1
        self.beginResetModel()
        self._a = a.reshape(-1, 1).copy() if a.ndim == 1 else np.array(a, copy=True)
        self.invalid = {}
        if row_names is not None:
            self.row_names = row_names
        self.endResetModel()

    def grid(self) -> np.ndarray:
        """The content as held, 2-D and not copied: for a reader that copies what it keeps."""
        return self._a

    def adopt(self, a: np.ndarray) -> None:
        """Take the 2-D float64 ``a`` as the content, not copied (it was built for this
        table: a resize); invalid marks inside it are kept."""
        rows, cols = a.shape
        self.beginResetModel()
        self._a = a
        self.invalid = {k: v for k, v in self.invalid.items() if k[0] < rows and k[1] < cols}
        self.endResetModel()

    def array(self, copy: bool = True) -> np.ndarray:
        """A copy of the valid content, 1-D if it was set as a vector; ``copy=False``: a
        read-only view of it, for a reader that copies what it keeps (a problem does)."""
        a = self._a[:, 0] if self._vector else self._a
        if copy:
            return a.copy()
        view = a.view()
        view.flags.writeable = False
        return view

    @property
    def shape(self) -> tuple[int, int]:
        return self._a.shape

    def resize(self, rows: int, cols: int | None = None) -> None:
        """Grow with zeros or cut; kept cells keep their values (and invalid marks)."""
        cols = self._a.shape[1] if cols is None else cols
        if (rows, cols) == self._a.shape:
            return
        new = np.zeros((rows, cols))
        r, c = min(rows, self._a.shape[0]), min(cols, self._a.shape[1])
        new[:r, :c] = self._a[:r, :c]
        self.beginResetModel()
        self._a = new
        self.invalid = {k: v for k, v in self.invalid.items() if k[0] < rows and k[1] < cols}
        self.endResetModel()
        self.edited.emit()

    def cell_name(self, row: int, col: int) -> str:
        if self._vector:
            return f"{self.name}[{row + 1}]"
        if self.column_names:
            return f"{self.column_names[col]}[{row + 1}]"
        return f"{self.name}[{row + 1}, {col + 1}]"

    def first_problem(self) -> str | None:
        """A one-line message naming the first invalid cell (row-major), or None."""
        if not self.invalid:
            return None
        r, c = min(self.invalid)
        more = len(self.invalid) - 1
        tail = f" (and {more} more invalid cell{'s' if more > 1 else ''})" if more else ""
        return f"{self.cell_name(r, c)}: {self.invalid[(r, c)]!r} is not a finite number{tail}"

    def paste(self, row: int, col: int, text: str) -> tuple[int, int]:
        """Write a pasted block with its top-left at (row, col); all or nothing.

        Raises PasteError naming the problem (ragged rows, a block that does not fit, a cell
        that is not a number) and leaves the table unchanged. Returns the block's shape.
        """
        rows = parse_block(text)
        if not rows:
            raise PasteError("the clipboard holds no numbers to paste")
        width = len(rows[0])
        for i, r in enumerate(rows):
            if len(r) != width:
                raise PasteError(
                    f"pasted row {i + 1} has {len(r)} values but row 1 has {width}; "
                    "paste a rectangular block"
                )
        h, w = len(rows), width
        m, n = self._a.shape
        if row + h > m or col + w > n:
            raise PasteError(
                f"a {h}×{w} block pasted at {self.cell_name(row, col)} does not fit the "
                f"{m}×{n} table; resize it first or paste at another cell"
            )
        block = np.empty((h, w))
        for i, r in enumerate(rows):
            for j, cell in enumerate(r):
                v = parse_number(cell)
                if v is None:
                    raise PasteError(
                        f"{self.cell_name(row + i, col + j)}: {cell.strip()!r} in the pasted "
                        "block is not a finite number; nothing was pasted"
                    )
                block[i, j] = v
        self._a[row : row + h, col : col + w] = block
        for i in range(h):
            for j in range(w):
                self.invalid.pop((row + i, col + j), None)
        self.dataChanged.emit(self.index(row, col), self.index(row + h - 1, col + w - 1))
        self.edited.emit()
        return h, w

    # -- Qt model interface -----------------------------------------------------------------
    def rowCount(self, parent: QtCore.QModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._a.shape[0]

    def columnCount(self, parent: QtCore.QModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._a.shape[1]

    def data(self, index: QtCore.QModelIndex, role: int = Qt.DisplayRole) -> object:
        r, c = index.row(), index.column()
        if role in (Qt.DisplayRole, Qt.EditRole):
            bad = self.invalid.get((r, c))
            if bad is not None:
                return bad
            v = float(self._a[r, c])
            return f"{v:.6g}" if role == Qt.DisplayRole else repr(v)
        if role == Qt.BackgroundRole and (r, c) in self.invalid:
            return _INVALID_BG
        if role == Qt.ToolTipRole:
            if (r, c) in self.invalid:
                return f"{self.cell_name(r, c)}: not a finite number"
            return f"{self.cell_name(r, c)} = {float(self._a[r, c])!r}"
        if role == Qt.ForegroundRole and not self.editable:
            return _READONLY_FG
        if role == Qt.TextAlignmentRole:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def setData(self, index: QtCore.QModelIndex, value: object, role: int = Qt.EditRole) -> bool:
        if role != Qt.EditRole or not self.editable:
            return False
        r, c = index.row(), index.column()
        text = str(value)
        v = parse_number(text)
        if v is None:
            self.invalid[(r, c)] = text.strip()
        else:
            self.invalid.pop((r, c), None)
            self._a[r, c] = v
        self.dataChanged.emit(index, index)
        self.edited.emit()
        return True

    def flags(self, index: QtCore.QModelIndex) -> Qt.ItemFlag:
        f = Qt.ItemIsSelectable | Qt.ItemIsEnabled
        return f | Qt.ItemIsEditable if self.editable else f

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole):
        if role != Qt.DisplayRole:
            return None
        if orientation == Qt.Horizontal:
            if self.column_names and section < len(self.column_names):
                return self.column_names[section]
            return "" if self._vector else str(section + 1)
        if self.row_names and section < len(self.row_names):
            return self.row_names[section]
        return str(section + 1)


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
            header = model.headerData(c, Qt.Horizontal, Qt.DisplayRole)
            widest = max(widest, hfm.horizontalAdvance(str(header or "")) + 10)  # its padding: 8
            texts = set()
            decorated = False
            for r in rows:
                index = model.index(r, c)
                texts.add(str(model.data(index, Qt.DisplayRole) or ""))
                decorated = decorated or model.data(index, Qt.DecorationRole) is not None
            extra = pad + (icon + 4 if decorated else 0)
            widest = max([widest, *(fm.horizontalAdvance(t) + extra for t in texts)])
        return min(limit, widest)

    if n_cols > FIT_EACH_COLUMN_UP_TO and columns is None:
        step = max(1, n_cols // FIT_EACH_COLUMN_UP_TO)
        rows = rows[:: max(1, len(rows) // 16)]  # 16 rows of 64 columns: one width for all
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


class MatrixView(QtWidgets.QTableView):
    """A table view with spreadsheet paste (Ctrl+V) of a whole block at the current cell."""

    paste_failed = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        # Fixed section sizes: no per-row size hints, so huge models scroll without measuring.
        for h in (self.horizontalHeader(), self.verticalHeader()):
            h.setSectionResizeMode(QtWidgets.QHeaderView.Fixed)
            h.setHighlightSections(True)
        self.verticalHeader().setDefaultSectionSize(22)
        # Wide enough for the longest number a cell shows (6 significant digits, a sign and
        # an exponent): the numbers are never elided at the default width.
        widest = self.fontMetrics().horizontalAdvance("-8.88888e-888")
        self.widest = widest + 16  # a column fitted to its numbers is at most this wide
        self.horizontalHeader().setDefaultSectionSize(self.widest)
        self.setAlternatingRowColors(True)
        self.setHorizontalScrollMode(QtWidgets.QAbstractItemView.ScrollPerPixel)
        self.setVerticalScrollMode(QtWidgets.QAbstractItemView.ScrollPerPixel)
        self.setEditTriggers(
            QtWidgets.QAbstractItemView.DoubleClicked
            | QtWidgets.QAbstractItemView.EditKeyPressed
            | QtWidgets.QAbstractItemView.AnyKeyPressed
        )

    def setModel(self, model: QtCore.QAbstractItemModel | None) -> None:
        super().setModel(model)
        if model is None:
            return
        model.modelReset.connect(self.fit_columns)
        model.dataChanged.connect(
            lambda first, last, _roles=(): fit_columns(
                self, self.widest, list(range(first.column(), last.column() + 1)), True
            )
        )
        self.fit_columns()

    def fit_columns(self) -> None:
        """Every column as wide as its numbers need, up to the widest number."""
        fit_columns(self, self.widest)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.matches(QtGui.QKeySequence.Paste):
            self.paste_text(QtWidgets.QApplication.clipboard().text())
            return
        if event.matches(QtGui.QKeySequence.Copy):
            self.copy_selection()
            return
        super().keyPressEvent(event)

    def paste_text(self, text: str) -> bool:
        model = self.model()
        if not isinstance(model, ArrayModel) or not model.editable:
            return False
        idx = self.currentIndex()
        sel = self.selectionModel().selectedIndexes() if self.selectionModel() else []
        if idx.isValid() and idx in sel:  # a dragged block: its top-left, like a spreadsheet
            r = min(i.row() for i in sel)
            c = min(i.column() for i in sel)
        elif idx.isValid():
            r, c = idx.row(), idx.column()
        else:
            r, c = 0, 0
        try:
            model.paste(r, c, text)
        except PasteError as exc:
            self.paste_failed.emit(str(exc))
            return False
        return True

    def copy_selection(self) -> None:
        sel = self.selectionModel().selectedIndexes() if self.selectionModel() else []
        if not sel:
            return
        rows = sorted({i.row() for i in sel})
        cols = sorted({i.column() for i in sel})
        m = self.model()
        lines = ["\t".join(str(m.data(m.index(r, c), Qt.EditRole)) for c in cols) for r in rows]
        QtWidgets.QApplication.clipboard().setText("\n".join(lines))
