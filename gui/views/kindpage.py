"""One problem kind's page of the Problem dock: a table per array (a vector sharing a
matrix's rows beside it, the sparse-held matrix stacked with its sparse view), the size
fields of each array that sets a size, and a field per parameter, all from the kind's
record (``solver.problems.kind_spec``)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

from solver.core.limits import DEGREE_EDIT, ENTRIES_EDIT, SIZE_EDIT

from .bigspin import limited_spin
from .columns import FittedNumbers
from .sparseview import SparseMatrixView
from .tables import ArrayModel, MatrixView

Qt = QtCore.Qt

# How a parameter's choices read in the panel (the session keeps the plain value).
CHOICE_LABELS = {
    "left": "left:  X M = I",
    "right": "right:  M X = I",
    "both": "both:  (XM + MX)/2 = I",
}


def _keep_a_number_in_sight(view: QtWidgets.QTableView) -> None:
    """A vector's pane at least as wide as its row numbers, a rounded number and the scroll
    bar: beside 100,000 rows the numbers took the whole pane and b's values were not seen."""
    style = view.style()
    need = (
        view.verticalHeader().sizeHint().width()
        + view.fontMetrics().horizontalAdvance("-0.0")  # the delegate rounds to what fits
        + 6
        + style.pixelMetric(QtWidgets.QStyle.PM_ScrollBarExtent, None, view)
        + 2 * view.frameWidth()
    )
    view.setMinimumWidth(max(80, need))


def _titled(title: str, w: QtWidgets.QWidget) -> QtWidgets.QWidget:
    box = QtWidgets.QWidget()
    lay = QtWidgets.QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(2)
    lay.addWidget(QtWidgets.QLabel(f"<b>{title}</b>"))
    lay.addWidget(w, 1)
    return box


class KindPage:
    """The tables, size fields and parameter fields of one problem kind; what the user
    changes goes to the callbacks: ``edited()`` a table, ``shape_changed(key)`` an array's
    size fields, ``param_changed(key, value)`` a parameter; a paste refused goes to
    ``message``."""

    def __init__(
        self,
        kind: object,
        *,
        edited: Callable[[], None],
        message: Callable[[str], None],
        shape_changed: Callable[[str], None],
        param_changed: Callable[[str, object], None],
    ) -> None:
        self.kind = kind
        self.models: dict[str, ArrayModel] = {}
        self.views: dict[str, MatrixView] = {}
        self.sizes: dict[str, tuple[QtWidgets.QSpinBox, ...]] = {}
        self.params: dict[str, QtWidgets.QWidget] = {}
        self.bar: list[QtWidgets.QWidget] = []
        # the array that may be held sparse: its table and, in a stack with it, the sparse view
        self.sparse_stack: QtWidgets.QStackedWidget | None = None
        self.sparse_view: SparseMatrixView | None = None
        self.sparse: object = None  # the sparse matrix on show, or None (the table is)
        self.widget = QtWidgets.QSplitter(Qt.Horizontal)
        self.widget.setChildrenCollapsible(False)
        for spec in kind.arrays:
            model = ArrayModel(spec.title)
            model.edited.connect(edited)
            view = MatrixView()
            view.setModel(model)
            view.paste_failed.connect(message)
            if spec.ndim == 1:
                view.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.Stretch)
                view.setItemDelegate(FittedNumbers(view))
                # after the header has taken the new row count (its own reset comes later)
                model.modelReset.connect(
                    lambda v=view: QtCore.QTimer.singleShot(
                        0, v, lambda: _keep_a_number_in_sight(v)
                    )
                )
                _keep_a_number_in_sight(view)
            self.models[spec.key], self.views[spec.key] = model, view
            shown: QtWidgets.QWidget = view
            if spec.key == kind.sparse_key:
                self.sparse_view = SparseMatrixView()
                self.sparse_stack = QtWidgets.QStackedWidget()
                self.sparse_stack.addWidget(view)
                self.sparse_stack.addWidget(self.sparse_view)
                shown = self.sparse_stack
            self.widget.addWidget(_titled(spec.title, shown))
            self.widget.setStretchFactor(self.widget.count() - 1, 4 if spec.ndim == 2 else 1)
            if spec.rows_like is not None:
                continue
            if spec.square:
                spins = (limited_spin(SIZE_EDIT, f"size n of the square matrix {spec.title}"),)
                labels = ("Size n",)
            elif spec.ndim == 2:
                spins = (
                    limited_spin(SIZE_EDIT, f"rows of {spec.title} (equations)"),
                    limited_spin(SIZE_EDIT, f"columns of {spec.title} (unknowns)"),
                )
                # "Size 3 × 4": the field's tooltips say which is which, and the shorter
                # row lets the Problem dock leave the plots half of a 1024-pixel window
                labels = ("Size", "×")
            else:
                spins = (limited_spin(ENTRIES_EDIT, f"entries of {spec.title}"),)
                labels = ("Entries",)
            for lab, sp in zip(labels, spins, strict=True):
                sp.valueChanged.connect(lambda _v, k=spec.key: shape_changed(k))
                self.bar += [QtWidgets.QLabel(lab), sp]
            self.sizes[spec.key] = spins
        for p in kind.params:
            if p.choices:
                w = QtWidgets.QComboBox()
                w.currentTextChanged.connect(w.setToolTip)  # the whole label, a hover away
                for c in p.choices:
                    w.addItem(CHOICE_LABELS.get(c, str(c)), c)
                w.activated.connect(lambda _i, k=p.key, c=w: param_changed(k, c.currentData()))
            else:
                w = limited_spin(DEGREE_EDIT, p.label)
                w.valueChanged.connect(lambda v, k=p.key: param_changed(k, v))
            self.params[p.key] = w
            self.bar += [QtWidgets.QLabel(p.label), w]
