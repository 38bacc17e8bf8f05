"""The window's side panels: the problem's tables, the hyperparameters, the device list.

Qt and numpy only at import time (this module is on the startup path); solver facts
(losses, optimizers, devices, problem classes) are handed in or imported inside methods once
the engine is loaded. The panels hold no state of their own beyond their widgets: they show
a session and report what the user asked for; ``MainWindow`` validates each request through
the engine and either applies it or puts the widgets back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from .tablemodel import ArrayModel, PasteError

Qt = QtCore.Qt

KIND_LABELS = {
    "linear_system": "Linear system  A x = b",
    "inverse": "Matrix inverse  X ≈ M⁻¹",
    "polyfit": "Polynomial fit  y ≈ p(x)",
}
SIDE_LABELS = {
    "left": "left:  X M = I",
    "right": "right:  M X = I",
    "both": "both:  (XM + MX)/2 = I",
}
INIT_LABELS = {
    "zeros": "zeros",
    "rand": "rand (uniform [0, 1))",
    "randn": "randn (normal)",
    "values": "values (from the session)",
}
MAX_SIZE = 5000  # rows/columns the spin boxes allow; files may be larger (engine limits apply)


def fmt(v: float | None, digits: int = 4) -> str:
    if v is None or not math.isfinite(v):
        return "—"
    return f"{v:.{digits}g}"


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
        self.horizontalHeader().setDefaultSectionSize(78)
        self.setAlternatingRowColors(True)
        self.setHorizontalScrollMode(QtWidgets.QAbstractItemView.ScrollPerPixel)
        self.setVerticalScrollMode(QtWidgets.QAbstractItemView.ScrollPerPixel)
        self.setEditTriggers(
            QtWidgets.QAbstractItemView.DoubleClicked
            | QtWidgets.QAbstractItemView.EditKeyPressed
            | QtWidgets.QAbstractItemView.AnyKeyPressed
        )

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
        lines = [
            "\t".join(str(m.data(m.index(r, c), Qt.EditRole)) for c in cols) for r in rows
        ]
        QtWidgets.QApplication.clipboard().setText("\n".join(lines))


def _spin(lo: int, hi: int, tip: str) -> QtWidgets.QSpinBox:
    s = QtWidgets.QSpinBox()
    s.setRange(lo, hi)
    s.setToolTip(tip)
    s.setKeyboardTracking(False)  # resize once the number is typed, not per digit
    return s


class MatrixPanel(QtWidgets.QWidget):
    """Tables for the problem's data, its size, and what the analysis says about it.

    ``edited`` fires when the tables' content or shape changes; ``MainWindow`` then reads
    ``invalid_message()`` and ``arrays()`` and asks the engine to build the problem.
    """

    edited = QtCore.Signal()
    message = QtCore.Signal(str)  # a paste that was refused, etc.

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = "linear_system"
        self._loading = False
        self.a_model = ArrayModel("A")
        self.b_model = ArrayModel("b")
        self.m_model = ArrayModel("M")
        self.s_model = ArrayModel("samples", column_names=["x", "y"])
        self.exact_model = ArrayModel("exact", editable=False)
        for m in (self.a_model, self.b_model, self.m_model, self.s_model):
            m.edited.connect(self._on_model_edited)

        self.rows = _spin(1, MAX_SIZE, "rows of A (equations)")
        self.cols = _spin(1, MAX_SIZE, "columns of A (unknowns)")
        self.size = _spin(1, MAX_SIZE, "size n of the square matrix M")
        self.samples = _spin(1, 100_000, "number of samples (x, y)")
        self.degree = _spin(0, 50, "degree of the polynomial")
        self.rows.valueChanged.connect(self._on_shape)
        self.cols.valueChanged.connect(self._on_shape)
        self.size.valueChanged.connect(self._on_shape)
        self.samples.valueChanged.connect(self._on_shape)
        self.degree.valueChanged.connect(self._on_degree)

        self.presets_button = QtWidgets.QToolButton()
        self.presets_button.setText("Presets")
        self.presets_button.setPopupMode(QtWidgets.QToolButton.InstantPopup)
        self.presets_button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)

        shape_bar = QtWidgets.QHBoxLayout()
        shape_bar.setContentsMargins(0, 0, 0, 0)
        self._shape_widgets: dict[str, list[QtWidgets.QWidget]] = {}

        def add(kind: str, *pairs: tuple[str, QtWidgets.QWidget]) -> None:
            ws = []
            for text, w in pairs:
                lab = QtWidgets.QLabel(text)
                shape_bar.addWidget(lab)
                shape_bar.addWidget(w)
                ws += [lab, w]
            self._shape_widgets[kind] = ws

        add("linear_system", ("Rows", self.rows), ("Columns", self.cols))
        add("inverse", ("Size n", self.size))
        add("polyfit", ("Samples", self.samples), ("Degree", self.degree))
        shape_bar.addStretch(1)
        shape_bar.addWidget(self.presets_button)

        self.a_view = self._view(self.a_model)
        self.b_view = self._view(self.b_model)
        self.b_view.setMinimumWidth(110)
        self.b_view.setMaximumWidth(160)
        self.b_view.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.Stretch)
        self.m_view = self._view(self.m_model)
        self.s_view = self._view(self.s_model)
        self.s_view.horizontalHeader().setDefaultSectionSize(100)

        self.stack = QtWidgets.QStackedWidget()
        ab = QtWidgets.QSplitter(Qt.Horizontal)
        ab.setObjectName("abSplitter")
        ab.addWidget(self._titled("A", self.a_view))
        ab.addWidget(self._titled("b", self.b_view))
        ab.setStretchFactor(0, 4)
        ab.setStretchFactor(1, 1)
        ab.setChildrenCollapsible(False)
        self.stack.addWidget(ab)
        self.stack.addWidget(self._titled("M", self.m_view))
        self.stack.addWidget(self._titled("samples (x, y)", self.s_view))

        self.error_label = QtWidgets.QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(
            "QLabel#errorLabel { color: #9b1c1c; background: #fde8e8; border: 1px solid #f5b5b5;"
            " border-radius: 4px; padding: 4px 6px; }"
        )
        self.error_label.hide()

        self.facts = QtWidgets.QLabel("Loading the solver…")
        self.facts.setObjectName("facts")
        self.facts.setTextFormat(Qt.RichText)
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.exact_view = MatrixView()
        self.exact_view.setModel(self.exact_model)
        self.exact_view.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.exact_view.setMinimumHeight(70)
        self.exact_view.horizontalHeader().setDefaultSectionSize(90)
        exact_box = QtWidgets.QGroupBox("Exact solution (reference)")
        ev = QtWidgets.QVBoxLayout(exact_box)
        ev.setContentsMargins(6, 4, 6, 6)
        ev.addWidget(self.facts)
        ev.addWidget(self.exact_view, 1)

        split = QtWidgets.QSplitter(Qt.Vertical)
        split.setObjectName("matrixSplitter")
        top = QtWidgets.QWidget()
        tl = QtWidgets.QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addLayout(shape_bar)
        tl.addWidget(self.stack, 1)
        tl.addWidget(self.error_label)
        split.addWidget(top)
        split.addWidget(exact_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        self.splitter = split

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(split)
        self.set_kind("linear_system")

    def _view(self, model: ArrayModel) -> MatrixView:
        v = MatrixView()
        v.setModel(model)
        v.paste_failed.connect(self.message)
        return v

    @staticmethod
    def _titled(title: str, w: QtWidgets.QWidget) -> QtWidgets.QWidget:
        box = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lab = QtWidgets.QLabel(f"<b>{title}</b>")
        lay.addWidget(lab)
        lay.addWidget(w, 1)
        return box

    # -- showing a problem ------------------------------------------------------------------
    def set_kind(self, kind: str) -> None:
        self.kind = kind
        self.stack.setCurrentIndex(["linear_system", "inverse", "polyfit"].index(kind))
        for k, ws in self._shape_widgets.items():
            for w in ws:
                w.setVisible(k == kind)

    def show_problem(self, problem: object) -> None:
        """Fill the tables from an engine problem (LinearSystem, Inverse or Polyfit)."""
        self._loading = True
        try:
            kind = problem.kind
            self.set_kind(kind)
            if kind == "inverse":
                self.m_model.set_array(problem.M)
                self.size.setValue(problem.M.shape[0])
            elif kind == "polyfit":
                self.s_model.set_array(np.column_stack([problem.samples_x, problem.samples_y]))
                self.samples.setValue(problem.samples_x.size)
                self.degree.setValue(problem.degree)
            else:
                self.a_model.set_array(problem.A)
                self.b_model.set_array(problem.b)
                self.rows.setValue(problem.A.shape[0])
                self.cols.setValue(problem.A.shape[1])
        finally:
            self._loading = False

    def focus_table(self) -> None:
        view = {"linear_system": self.a_view, "inverse": self.m_view,
                "polyfit": self.s_view}[self.kind]
        view.setFocus()
        if not view.currentIndex().isValid():
            view.setCurrentIndex(view.model().index(0, 0))

    def arrays(self) -> dict[str, object]:
        """The tables' valid content as the engine's problem arguments."""
        if self.kind == "inverse":
            return {"M": self.m_model.array()}
        if self.kind == "polyfit":
            s = self.s_model.array()
            return {"x": s[:, 0].copy(), "y": s[:, 1].copy(), "degree": self.degree.value()}
        return {"A": self.a_model.array(), "b": self.b_model.array()}

    def invalid_message(self) -> str | None:
        models = {
            "linear_system": (self.a_model, self.b_model),
            "inverse": (self.m_model,),
            "polyfit": (self.s_model,),
        }[self.kind]
        for m in models:
            msg = m.first_problem()
            if msg:
                return msg
        return None

    def show_error(self, text: str | None) -> None:
        self.error_label.setText(text or "")
        self.error_label.setVisible(bool(text))

    def show_facts(self, html: str, exact: np.ndarray | None, names: Sequence[str] | None) -> None:
        self.facts.setText(html)
        if exact is None:
            self.exact_model.set_array(np.zeros((0, 1)))
            return
        if exact.ndim == 2:
            self.exact_model.row_names = None
            self.exact_model.set_array(exact)
        else:
            self.exact_model.set_array(exact, row_names=list(names) if names else None)

    # -- edits ------------------------------------------------------------------------------
    def _on_model_edited(self) -> None:
        if not self._loading:
            self.edited.emit()

    def _on_shape(self) -> None:
        if self._loading:
            return
        self._loading = True
        try:
            if self.kind == "linear_system":
                m, n = self.rows.value(), self.cols.value()
                self.a_model.resize(m, n)
                self.b_model.resize(m, 1)
            elif self.kind == "inverse":
                n = self.size.value()
                old = self.m_model.shape[0]
                self.m_model.resize(n, n)
                if n > old:  # new rows and columns start as the identity's, keeping M invertible
                    a = self.m_model.array()
                    a[np.arange(old, n), np.arange(old, n)] = 1.0
                    invalid = dict(self.m_model.invalid)
                    self.m_model.set_array(a)
                    self.m_model.invalid = invalid
            else:
                self.s_model.resize(self.samples.value(), 2)
        finally:
            self._loading = False
        self.edited.emit()

    def _on_degree(self) -> None:
        if not self._loading:
            self.edited.emit()


class _ArgField:
    """One optimizer argument's editor, built from its torch default's type."""

    def __init__(self, name: str, default: object) -> None:
        self.name = name
        self.default = default
        if isinstance(default, bool):
            self.widget: QtWidgets.QWidget = QtWidgets.QCheckBox()
        else:
            w = QtWidgets.QLineEdit()
            if default is None:
                w.setPlaceholderText("None")
            self.widget = w
        self.set(default)

    def set(self, value: object) -> None:
        if isinstance(self.widget, QtWidgets.QCheckBox):
            self.widget.setChecked(bool(value))
        elif value is None:
            self.widget.setText("")
        elif isinstance(value, list | tuple):
            self.widget.setText(", ".join(repr(v) if isinstance(v, float) else str(v)
                                          for v in value))
        else:
            self.widget.setText(repr(value) if isinstance(value, float) else str(value))

    def value(self) -> object:
        """The typed value, shaped like the default (the engine judges if it is allowed)."""
        if isinstance(self.widget, QtWidgets.QCheckBox):
            return self.widget.isChecked()
        text = self.widget.text().strip()
        if isinstance(self.default, tuple):
            parts = [p for p in text.replace(";", ",").split(",") if p.strip()]
            return [_number(p) for p in parts]
        if text == "":
            return None if self.default is None else text
        return _number(text)


def _number(text: str) -> object:
    t = text.strip()
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return t


class HyperPanel(QtWidgets.QWidget):
    """Problem kind, loss, optimizer (with exactly its arguments), step size, stop rules.

    Every user change becomes one ``changed(dict)`` of session fields; the window applies
    it through the engine's validation or calls ``show_session`` to put the widgets back.
    """

    changed = QtCore.Signal(dict)  # session field -> new value ("kind"/"side" for the problem)
    use_recommended = QtCore.Signal()
    track_changed = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self._arg_fields: list[_ArgField] = []
        self._optimizer = None

        self.kind = QtWidgets.QComboBox()
        for k, label in KIND_LABELS.items():
            self.kind.addItem(label, k)
        self.side = QtWidgets.QComboBox()
        for k, label in SIDE_LABELS.items():
            self.side.addItem(label, k)
        self.loss = QtWidgets.QComboBox()
        self.optimizer = QtWidgets.QComboBox()
        self.lr = QtWidgets.QLineEdit()
        self.lr.setToolTip("learning rate (step size)")
        self.lr_info = QtWidgets.QLabel("")
        self.lr_info.setObjectName("lrInfo")
        self.lr_info.setWordWrap(True)
        self.lr_info.setTextFormat(Qt.RichText)
        self.recommended = QtWidgets.QPushButton("Use recommended")
        self.recommended.setToolTip("set lr = 1/L, always stable for plain gradient descent")
        self.recommended.clicked.connect(self.use_recommended)
        self.tol = QtWidgets.QLineEdit()
        self.tol.setToolTip("stop when the loss falls below this (0: never)")
        self.max_iters = QtWidgets.QSpinBox()
        self.max_iters.setRange(0, 2_000_000_000)
        self.max_iters.setGroupSeparatorShown(True)
        self.max_iters.setKeyboardTracking(False)
        self.dtype = QtWidgets.QComboBox()
        self.dtype.addItems(["float64", "float32"])
        self.init = QtWidgets.QComboBox()
        self.seed = QtWidgets.QSpinBox()
        self.seed.setRange(0, 2_147_483_647)
        self.seed.setKeyboardTracking(False)
        self.track = QtWidgets.QLineEdit()
        self.track.setPlaceholderText("all, or 12 spread out")
        self.track.setToolTip(
            "which components of x to plot and record each iteration (1-based); "
            "applies to the next run"
        )

        for combo in (self.kind, self.side, self.loss, self.optimizer, self.dtype, self.init):
            # Long labels must not widen the dock: the combo elides, the popup shows all.
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
        self.opt_box = QtWidgets.QWidget()
        self.opt_form = QtWidgets.QFormLayout(self.opt_box)
        self.opt_form.setContentsMargins(12, 0, 0, 0)

        form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignRight)
        form.addRow("Problem", self.kind)
        form.addRow("Side", self.side)
        form.addRow("Loss", self.loss)
        form.addRow("Optimizer", self.optimizer)
        form.addRow(self.opt_box)
        lr_row = QtWidgets.QHBoxLayout()
        lr_row.addWidget(self.lr, 1)
        lr_row.addWidget(self.recommended)
        form.addRow("Learning rate", lr_row)
        form.addRow("", self.lr_info)
        form.addRow("Tolerance", self.tol)
        form.addRow("Max iterations", self.max_iters)
        form.addRow("Precision", self.dtype)
        form.addRow("Initial x", self.init)
        form.addRow("Seed", self.seed)
        form.addRow("Plot x", self.track)
        self.form = form
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addLayout(form)
        lay.addStretch(1)

        self.kind.activated.connect(lambda: self._emit(kind=self.kind.currentData()))
        self.side.activated.connect(lambda: self._emit(side=self.side.currentData()))
        self.loss.activated.connect(lambda: self._emit(loss=self.loss.currentData()))
        self.optimizer.activated.connect(self._on_optimizer)
        self.lr.editingFinished.connect(lambda: self._emit_number("lr", self.lr))
        self.tol.editingFinished.connect(lambda: self._emit_number("tol", self.tol))
        self.max_iters.valueChanged.connect(lambda v: self._emit(max_iters=v))
        self.dtype.activated.connect(lambda: self._emit(dtype=self.dtype.currentText()))
        self.init.activated.connect(lambda: self._emit(init=self.init.currentData()))
        self.seed.valueChanged.connect(lambda v: self._emit(seed=v))
        self.track.editingFinished.connect(lambda: self.track_changed.emit(self.track.text()))
        self.setEnabled(False)

    # -- filling ----------------------------------------------------------------------------
    def set_choices(self, losses: dict, optimizer_labels: dict) -> None:
        """Losses and optimizers as the engine names them (called once it is loaded)."""
        self.loss.clear()
        for name, loss in losses.items():
            self.loss.addItem(f"{loss.label}   ({name})", name)
            self.loss.setItemData(self.loss.count() - 1, loss.formula, Qt.ToolTipRole)
        self.optimizer.clear()
        for name, label in optimizer_labels.items():
            self.optimizer.addItem(label, name)
        self.setEnabled(True)

    def show_session(self, s: object) -> None:
        """Put every widget to the session's value (also used to undo a refused edit)."""
        self._loading = True
        try:
            kind = s.problem.kind
            self.kind.setCurrentIndex(self.kind.findData(kind))
            self.side.setEnabled(kind == "inverse")
            if kind == "inverse":
                self.side.setCurrentIndex(self.side.findData(s.problem.side))
            self.loss.setCurrentIndex(self.loss.findData(s.loss))
            self.optimizer.setCurrentIndex(self.optimizer.findData(s.optimizer))
            self._build_args(s.optimizer, s.optimizer_args)
            self.lr.setText(f"{s.lr:.10g}")
            self.tol.setText(f"{s.tol:.6g}")
            for edit in (self.lr, self.tol):
                edit.setCursorPosition(0)  # show the leading digits of a long number
            self.max_iters.setValue(s.max_iters)
            self.dtype.setCurrentText(s.dtype)
            self.init.clear()
            for k, label in INIT_LABELS.items():
                if k != "values" or s.init == "values":
                    self.init.addItem(label, k)
            self.init.setCurrentIndex(self.init.findData(s.init))
            self.seed.setValue(s.seed)
            self.seed.setEnabled(s.init in ("rand", "randn"))
        finally:
            self._loading = False

    def _build_args(self, name: str, values: dict) -> None:
        from solver.optimizers import hyperparameters

        if name != self._optimizer:
            while self.opt_form.rowCount():
                self.opt_form.removeRow(0)
            self._arg_fields = []
            for hp in hyperparameters(name):
                f = _ArgField(hp.name, hp.default)
                if isinstance(f.widget, QtWidgets.QCheckBox):
                    f.widget.toggled.connect(self._emit_args)
                else:
                    f.widget.editingFinished.connect(self._emit_args)
                self.opt_form.addRow(hp.name.replace("_", " "), f.widget)
                self._arg_fields.append(f)
            self._optimizer = name
        for f in self._arg_fields:
            f.set(values.get(f.name, f.default))
        self.opt_box.setVisible(bool(self._arg_fields))

    def arg_widget(self, name: str) -> QtWidgets.QWidget | None:
        return next((f.widget for f in self._arg_fields if f.name == name), None)

    def show_lr_info(self, recommended: float | None, limit: float | None, note: str = "") -> None:
        if recommended is None:
            text = "no step-size limit for this loss (not smooth)"
        else:
            text = f"recommended <b>{fmt(recommended)}</b> · stable below <b>{fmt(limit)}</b>"
        self.lr_info.setText(text + (f"<br>{note}" if note else ""))
        self.recommended.setEnabled(recommended is not None)

    # -- user edits -------------------------------------------------------------------------
    def _emit(self, **change: object) -> None:
        if not self._loading:
            self.changed.emit(change)

    def _emit_number(self, key: str, edit: QtWidgets.QLineEdit) -> None:
        if self._loading or not edit.isModified():
            return
        edit.setModified(False)
        text = edit.text().strip()
        try:
            value: object = float(text)
        except ValueError:
            value = text  # the engine names the field and says what it expected
        self.changed.emit({key: value})

    def _on_optimizer(self) -> None:
        if not self._loading:
            self.changed.emit({"optimizer": self.optimizer.currentData(), "optimizer_args": {}})

    def _emit_args(self) -> None:
        if self._loading:
            return
        args = {}
        for f in self._arg_fields:
            v = f.value()
            if v != f.default and not (isinstance(f.default, tuple) and tuple(v) == f.default):
                args[f.name] = v
        self.changed.emit({"optimizer_args": args})


class DevicePanel(QtWidgets.QWidget):
    """CPU and every CUDA / MPS device, with name and memory; absent ones disabled, with why."""

    chosen = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QtWidgets.QListWidget()
        self.list.setObjectName("devices")
        self.list.setAlternatingRowColors(True)
        self.list.setWordWrap(True)
        self.list.addItem("Looking for devices…")
        # currentItemChanged alone: itemClicked as well would apply one click twice.
        self.list.currentItemChanged.connect(lambda cur, _prev: self._on_item(cur))
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addWidget(self.list)
        self._loading = False

    def set_devices(self, devices: Sequence[object]) -> None:
        self._loading = True
        try:
            self.list.clear()
            for d in devices:
                mem = f" · {d.memory_bytes / 2**30:.1f} GiB" if d.memory_bytes else ""
                text = f"{d.id} — {d.name}{mem}"
                if not d.available:
                    text += f"\nunavailable: {d.reason}"
                item = QtWidgets.QListWidgetItem(text)
                item.setData(Qt.UserRole, d.id)
                item.setToolTip(d.label)
                if not d.available:
                    item.setFlags(item.flags() & ~Qt.ItemIsEnabled & ~Qt.ItemIsSelectable)
                self.list.addItem(item)
        finally:
            self._loading = False

    def select(self, device_id: str) -> None:
        self._loading = True
        try:
            for i in range(self.list.count()):
                item = self.list.item(i)
                dev = item.data(Qt.UserRole)
                if dev == device_id or (dev == "cuda:0" and device_id == "cuda"):
                    self.list.setCurrentItem(item)
                    break
        finally:
            self._loading = False

    def items(self) -> list[tuple[str, str, bool]]:
        """(device id, text, enabled) for each row, as the user sees them."""
        out = []
        for i in range(self.list.count()):
            it = self.list.item(i)
            out.append((it.data(Qt.UserRole), it.text(), bool(it.flags() & Qt.ItemIsEnabled)))
        return out

    def _on_item(self, item: QtWidgets.QListWidgetItem | None) -> None:
        if self._loading or item is None or not item.flags() & Qt.ItemIsEnabled:
            return
        dev = item.data(Qt.UserRole)
        if dev:
            self.chosen.emit(dev)
