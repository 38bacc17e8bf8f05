"""Editable tables over numpy arrays: no per-cell widgets, so 2000 x 2000 scrolls freely.

Typed text that is not a finite number is kept beside the array (``invalid``), drawn in red
and named in ``first_problem()``; the array itself only ever holds finite numbers, so what
the engine receives is always the last valid content.

Qt and numpy only: this module is on the window's startup path.
"""

from __future__ import annotations

import threading

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from .cells import PasteError, parse_block, parse_number
from .columns import fit_columns

Qt = QtCore.Qt

_INVALID_BG = QtGui.QColor(255, 205, 205)
_READONLY_FG = QtGui.QColor(70, 70, 70)
# Roles as plain ints: a cell is painted with about seven ``data`` calls, and looking each
# role up on the enum class took half of a 55 ms repaint of a full 3000 × 3000 table.
_DISPLAY, _EDIT, _BACKGROUND = int(Qt.DisplayRole), int(Qt.EditRole), int(Qt.BackgroundRole)
_TOOLTIP, _FOREGROUND = int(Qt.ToolTipRole), int(Qt.ForegroundRole)
_ALIGNMENT = int(Qt.TextAlignmentRole)
_RIGHT = int(Qt.AlignRight | Qt.AlignVCenter)
_HORIZONTAL = Qt.Horizontal
_SHOWN = Qt.ItemIsSelectable | Qt.ItemIsEnabled
_EDITABLE = _SHOWN | Qt.ItemIsEditable

# Cells a table copies at once when it is filled. A larger array (which a problem never
# writes) is shown as it is while the table's own copy is made on a plain thread: copying
# 5000 × 5000 held the GUI thread 0.35 s. The first edit takes the copy (it is long done
# by then, unless the edit comes within a fraction of a second).
COPY_SYNC_CELLS = 250_000


class _Copy:
    """A copy of a read-only array, made on a plain thread."""

    def __init__(self, a: np.ndarray) -> None:
        self._out: np.ndarray | BaseException | None = None
        self._done = threading.Event()
        threading.Thread(target=self._make, args=(a,), name="copy-table", daemon=True).start()

    def _make(self, a: np.ndarray) -> None:
        try:
            self._out = np.array(a, copy=True)
        except MemoryError as exc:
            self._out = exc
        finally:
            self._done.set()

    def result(self) -> np.ndarray:
        """The copy (waited for); MemoryError when there was no room for it."""
        self._done.wait()
        if isinstance(self._out, BaseException):
            raise MemoryError("not enough memory to edit a table this large")
        return self._out


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
        self._copy: _Copy | None = None  # the table's own copy of a large ``_a``, on its way
        self._vector = False
        if values is not None:
            self.set_array(values)

    # -- content --------------------------------------------------------------------------
    def set_array(self, values: np.ndarray, row_names: list[str] | None = None) -> None:
        a = np.asarray(values, dtype=np.float64)
        self._vector = a.ndim == 1
        grid = a.reshape(-1, 1) if a.ndim == 1 else a
        self.beginResetModel()
        if grid.size <= COPY_SYNC_CELLS:
            self._a, self._copy = np.array(grid, copy=True), None
        else:
            self._a = grid.view()
            self._a.flags.writeable = False  # shown, never written: the copy is for that
            self._copy = _Copy(self._a)
        self.invalid = {}
        if row_names is not None:
            self.row_names = row_names
        self.endResetModel()

    def _writable(self) -> np.ndarray:
        """The content, this table's own (the copy of a large array taken when ready)."""
        if self._copy is not None:
            self._a, self._copy = self._copy.result(), None
        return self._a

    def grid(self) -> np.ndarray:
        """The content as held, 2-D and not copied: for a reader that copies what it keeps."""
        return self._a

    def adopt(self, a: np.ndarray) -> None:
        """Take the 2-D float64 ``a`` as the content, not copied (it was built for this
        table: a resize); invalid marks inside it are kept."""
        rows, cols = a.shape
        self.beginResetModel()
        self._a, self._copy = a, None
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
        self._a, self._copy = new, None
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
        try:
            grid = self._writable()
        except MemoryError as exc:
            raise PasteError(f"{exc}; nothing was pasted") from None
        grid[row : row + h, col : col + w] = block
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

    def data(self, index: QtCore.QModelIndex, role: int = _DISPLAY) -> object:
        if role == _DISPLAY or role == _EDIT:
            r, c = index.row(), index.column()
            bad = self.invalid.get((r, c)) if self.invalid else None
            if bad is not None:
                return bad
            v = float(self._a[r, c])
            return f"{v:.6g}" if role == _DISPLAY else repr(v)
        if role == _ALIGNMENT:
            return _RIGHT
        if role == _BACKGROUND:
            return (
                _INVALID_BG
                if self.invalid and (index.row(), index.column()) in self.invalid
                else None
            )
        if role == _FOREGROUND:
            return None if self.editable else _READONLY_FG
        if role == _TOOLTIP:
            r, c = index.row(), index.column()
            if (r, c) in self.invalid:
                return f"{self.cell_name(r, c)}: not a finite number"
            return f"{self.cell_name(r, c)} = {float(self._a[r, c])!r}"
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
            try:
                grid = self._writable()
            except MemoryError:
                return False  # the cell keeps its value
            self.invalid.pop((r, c), None)
            grid[r, c] = v
        self.dataChanged.emit(index, index)
        self.edited.emit()
        return True

    def flags(self, index: QtCore.QModelIndex) -> Qt.ItemFlag:
        return _EDITABLE if self.editable else _SHOWN

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole):
        if role != _DISPLAY:
            return None
        if orientation == _HORIZONTAL:
            if self.column_names and section < len(self.column_names):
                return self.column_names[section]
            return "" if self._vector else str(section + 1)
        if self.row_names and section < len(self.row_names):
            return self.row_names[section]
        return str(section + 1)


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
