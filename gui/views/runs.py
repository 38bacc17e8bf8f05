"""The Runs dock: every run kept by the model, with its optimizer, step size, iterations,
final loss and how it ended. Select one to plot it; pin it to keep it past the last eight;
rename it (double-click its name, or F2); delete it. Runs of another problem are greyed.
"""

from __future__ import annotations

import math
import time

from PySide6 import QtCore, QtGui, QtWidgets

from ..model import AppModel
from ..records import RUNNING, RunRecord
from .columns import FittedNumbers, fit_columns

Qt = QtCore.Qt

COLUMNS = ("Run", "Optimizer", "lr", "Iterations", "Final loss", "Ended")
# The order the columns are shown in: how far a run got first, so that a narrow dock shows
# them without scrolling (the model's order stays, for whatever reads it).
SHOWN_ORDER = ("Run", "Iterations", "Final loss", "lr", "Optimizer", "Ended")
# A column fits its content up to this width (px); the name's is elided, with its tooltip.
COLUMN_LIMIT = 140
_STALE = QtGui.QColor("#9aa1ab")
# A running run's row (its iterations and loss) is repainted at most this often, not at each
# of the plots' frames: at n = 2000 the table's repaint was ~1 ms of a 12 ms frame, for
# numbers the status bar shows live anyway. Any other change (a pause, the end) shows at once.
RUNNING_ROW_MS = 250
# A running row's progress repaints only the cells it changes: the whole row took 1.6 ms of
# a frame at n = 2000, these two 0.7 ms.
PROGRESS_COLUMNS = (COLUMNS.index("Iterations"), COLUMNS.index("Final loss"))
_ENDED = {
    None: "",
    "converged": "converged",
    "max_iters": "max iterations",
    "diverged": "diverged",
    "stopped": "stopped",
    "error": "error",
}


def _loss_text(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:.4g}" if math.isfinite(v) else str(v)


class RunsTableModel(QtCore.QAbstractTableModel):
    """The model's runs as rows, newest last; the Run column is editable (the name)."""

    def __init__(self, model: AppModel, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.app = model
        self._rows: list[RunRecord] = list(model.runs)
        self._pending: set[int] = set()
        self._flushed = 0.0  # when a running row was last repainted
        model.runs_changed.connect(self._reset)
        model.run_updated.connect(self._updated)

    def _reset(self) -> None:
        self.beginResetModel()
        self._rows = list(self.app.runs)
        self.endResetModel()

    def _updated(self, run_id: int) -> None:
        rec = next((r for r in self._rows if r.id == run_id), None)
        if rec is not None and rec.status.state == RUNNING:
            # Flushed here, not by a timer: a live run's progress arrives in the plots'
            # frames (``gui.frames``), where the repaint runs with the solver parked; a timer
            # would fire between frames and repaint against the solver for the GIL.
            self._pending.add(run_id)
            now = time.perf_counter()
            if now - self._flushed >= RUNNING_ROW_MS / 1000:
                self._flushed = now
                self._flush()
            return
        self._pending.discard(run_id)
        self._changed(run_id)

    def _flush(self) -> None:
        pending, self._pending = self._pending, set()
        for run_id in pending:
            self._changed(run_id, PROGRESS_COLUMNS)

    def _changed(self, run_id: int, columns: tuple[int, int] = (1, len(COLUMNS) - 1)) -> None:
        for i, r in enumerate(self._rows):
            if r.id == run_id:
                self.dataChanged.emit(self.index(i, columns[0]), self.index(i, columns[1]))
                return

    def record(self, row: int) -> RunRecord | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, rec: RunRecord | None) -> int:
        return next((i for i, r in enumerate(self._rows) if r is rec), -1)

    def rowCount(self, parent: QtCore.QModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QtCore.QModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole
    ) -> object:
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QtCore.QModelIndex, role: int = Qt.DisplayRole) -> object:
        r = self._rows[index.row()]
        col = index.column()
        if role in (Qt.DisplayRole, Qt.EditRole):
            st = r.status
            if col == 0:
                return r.name
            if col == 1:
                return r.session.optimizer
            if col == 2:
                return f"{r.session.lr:.4g}"
            if col == 3:
                return f"{st.iteration:,}"
            if col == 4:
                return _loss_text(st.final_loss)
            return _ENDED.get(st.stop_reason, st.stop_reason) if not st.live else st.state
        if role == Qt.ForegroundRole and r.stale:
            return _STALE
        if role == Qt.DecorationRole and col == 0:
            return QtGui.QColor(r.colour)
        if role == Qt.ToolTipRole:
            tip = r.status.message or r.status.state
            if col == 0:  # the name, whole, where its column is too narrow for it
                tip = f"{r.name}\n{tip}"
            if r.stale:
                tip += "\n(a run of another problem than the current one)"
            return tip + ("\npinned: kept past the last eight runs" if r.pinned else "")
        if role == Qt.FontRole and col == 0 and r.pinned:
            f = QtGui.QFont()
            f.setBold(True)
            return f
        if role == Qt.TextAlignmentRole and col in (2, 3, 4):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def flags(self, index: QtCore.QModelIndex) -> Qt.ItemFlag:
        f = Qt.ItemIsEnabled | Qt.ItemIsSelectable
        return f | Qt.ItemIsEditable if index.column() == 0 else f

    def setData(self, index: QtCore.QModelIndex, value: object, role: int = Qt.EditRole) -> bool:
        if role != Qt.EditRole or index.column() != 0:
            return False
        return self.app.rename(self._rows[index.row()], str(value))


class RunsPanel(QtWidgets.QWidget):
    """The table of runs and its buttons."""

    def __init__(self, model: AppModel, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = model
        self.table_model = RunsTableModel(model, self)
        self.view = QtWidgets.QTableView()
        self.view.setObjectName("runs")
        self.view.setModel(self.table_model)
        self.view.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
        self.view.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        self.view.setEditTriggers(
            QtWidgets.QAbstractItemView.DoubleClicked | QtWidgets.QAbstractItemView.EditKeyPressed
        )
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(22)
        hh = self.view.horizontalHeader()
        hh.setStretchLastSection(True)
        for visual, name in enumerate(SHOWN_ORDER):
            hh.moveSection(hh.visualIndex(COLUMNS.index(name)), visual)
        self.table_model.modelReset.connect(self._fit)
        self.table_model.dataChanged.connect(
            lambda first, last, _roles=(): fit_columns(
                self.view,
                COLUMN_LIMIT,
                list(range(first.column(), last.column() + 1)),
                grow_only=True,
            )
        )
        self._fit()
        self._fitted = FittedNumbers(self.view)
        for col in ("lr", "Final loss"):
            self.view.setItemDelegateForColumn(COLUMNS.index(col), self._fitted)
        self.view.setContextMenuPolicy(Qt.ActionsContextMenu)
        self.pin_button = QtWidgets.QPushButton("Pin")
        self.pin_button.setCheckable(True)
        self.pin_button.setToolTip("keep this run past the last eight")
        self.rename_button = QtWidgets.QPushButton("Rename")
        self.delete_button = QtWidgets.QPushButton("Delete")
        self.delete_button.setToolTip("forget this run and its history (Del)")
        self.pin_button.clicked.connect(self._pin)
        self.rename_button.clicked.connect(self._rename)
        self.delete_button.clicked.connect(self._delete)
        for text, slot, key in (
            ("Pin / unpin", lambda: self.pin_button.click(), None),
            ("Rename", self._rename, None),
            ("Delete", self._delete, QtGui.QKeySequence.Delete),
        ):
            a = QtGui.QAction(text, self.view)
            if key is not None:
                a.setShortcut(key)
                a.setShortcutContext(Qt.WidgetShortcut)
            a.triggered.connect(slot)
            self.view.addAction(a)
        buttons = QtWidgets.QHBoxLayout()
        for b in (self.pin_button, self.rename_button, self.delete_button):
            # as wide as their words, not the style's 80 px: the three side by side must
            # not widen the dock beyond its default width on a 1024-pixel screen
            b.setMinimumWidth(b.fontMetrics().horizontalAdvance(b.text()) + 20)
            b.setSizePolicy(QtWidgets.QSizePolicy.Preferred, QtWidgets.QSizePolicy.Fixed)
            buttons.addWidget(b)
        buttons.addStretch(1)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.view, 1)
        lay.addLayout(buttons)
        self.view.selectionModel().currentRowChanged.connect(self._row_chosen)
        self.table_model.modelReset.connect(self._show_selection)
        model.selection_changed.connect(lambda _r: self._show_selection())
        self._show_selection()

    def _fit(self) -> None:
        fit_columns(self.view, COLUMN_LIMIT)

    def _row_chosen(self, cur: QtCore.QModelIndex, _prev: QtCore.QModelIndex) -> None:
        rec = self.table_model.record(cur.row())
        if rec is not None:
            self.app.select(rec)

    def _show_selection(self) -> None:
        rec = self.app.selected
        row = self.table_model.row_of(rec)
        sm = self.view.selectionModel()
        if row < 0:
            sm.clearSelection()
        elif sm.currentIndex().row() != row or not sm.isRowSelected(row):
            sm.setCurrentIndex(
                self.table_model.index(row, 0),
                QtCore.QItemSelectionModel.ClearAndSelect | QtCore.QItemSelectionModel.Rows,
            )
        for b in (self.pin_button, self.rename_button, self.delete_button):
            b.setEnabled(rec is not None)
        self.pin_button.setChecked(bool(rec and rec.pinned))

    def _pin(self) -> None:
        rec = self.app.selected
        if rec is None:
            self.app.refuse("Nothing to pin", "select a run first")
            return
        self.app.pin(rec, not rec.pinned)

    def _rename(self) -> None:
        row = self.table_model.row_of(self.app.selected)
        if row < 0:
            self.app.refuse("Nothing to rename", "select a run first")
            return
        self.view.edit(self.table_model.index(row, 0))

    def _delete(self) -> None:
        rec = self.app.selected
        if rec is None:
            self.app.refuse("Nothing to delete", "select a run first")
            return
        self.app.delete(rec)

    def save_state(self, settings: QtCore.QSettings) -> None:
        settings.setValue("runsDock/header", self.view.horizontalHeader().saveState())

    def restore_state(self, settings: QtCore.QSettings) -> None:
        state = settings.value("runsDock/header")
        if state:
            self.view.horizontalHeader().restoreState(state)
