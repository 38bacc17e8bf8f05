"""The Solver dock: problem kind, loss, optimizer with exactly its arguments, step size beside
what the analysis recommends, stop rules, precision, start point and the plotted components.

Every user change becomes one ``changed(dict)`` of session fields; the editing rules apply it
or refuse it, and the panel then shows what the model holds (``show_session``).
"""

from __future__ import annotations

import html

from PySide6 import QtCore, QtWidgets

from solver.core import limits
from solver.core.numbers import read_number
from solver.insight.rates import rate_texts
from solver.settings import precisions

from .bigspin import BigSpinBox
from .fields import ArgField, CommittedUndo, exact_text, tip_with_value
from .stepscale import StepScale
from .texts import fmt

Qt = QtCore.Qt

INIT_LABELS = {
    "zeros": "zeros",
    "rand": "rand (uniform [0, 1))",
    "randn": "randn (normal)",
    "values": "values (from the session)",
}


class SolverPanel(QtWidgets.QWidget):
    """Problem kind, loss, optimizer (with exactly its arguments), step size, stop rules.

    Every user change becomes one ``changed(dict)`` of session fields; the window applies
    it through the engine's validation or calls ``show_session`` to put the widgets back.
    """

    changed = QtCore.Signal(dict)  # session field -> new value ("kind"/"side" for the problem)
    use_step = QtCore.Signal(str)  # "recommended" | "optimal" | "heavy_ball"
    track_changed = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self._losses: dict = {}  # solver.problems.losses.LOSSES, once the solver is in
        self._arg_fields: list[ArgField] = []
        self._optimizer = None

        self.kind = QtWidgets.QComboBox()
        self.loss = QtWidgets.QComboBox()
        self.optimizer = QtWidgets.QComboBox()
        self.lr = QtWidgets.QLineEdit()
        tip_with_value(self.lr, "learning rate (step size)")
        self._committed_undo = CommittedUndo(self)
        self.lr_info = QtWidgets.QLabel("")
        self.lr_info.setObjectName("lrInfo")
        self.lr_info.setWordWrap(True)
        self.lr_info.setTextFormat(Qt.RichText)
        self.recommended = QtWidgets.QPushButton("Use 1/L")
        self.recommended.setToolTip("set lr = 1/L, always stable for plain gradient descent")
        self.recommended.clicked.connect(lambda: self.use_step.emit("recommended"))
        self.optimal = QtWidgets.QPushButton("Use 2/(μ+L)")
        self.optimal.setToolTip(
            "set lr = 2/(μ+L): the fixed step with the fastest worst-case rate for plain "
            "gradient descent, (κ−1)/(κ+1)"
        )
        self.optimal.clicked.connect(lambda: self.use_step.emit("optimal"))
        self.heavy = QtWidgets.QPushButton("Heavy ball")
        self.heavy.setToolTip(
            "SGD with the optimal heavy-ball settings: lr = 4/(√L+√μ)², "
            "momentum = ((√κ−1)/(√κ+1))², rate (√κ−1)/(√κ+1)"
        )
        self.heavy.clicked.connect(lambda: self.use_step.emit("heavy_ball"))
        self.scale = StepScale()
        self.scale.chosen.connect(lambda lr: self._emit(lr=lr))
        self.tol = QtWidgets.QLineEdit()
        tip_with_value(self.tol, "stop when the loss falls below this (0: never)")
        # Every iteration limit a session may hold, to 2**63 - 1: a QSpinBox is 32-bit.
        self.max_iters = BigSpinBox(limits.MAX_ITERS)
        self.stop_divergence = QtWidgets.QCheckBox("Stop early on divergence")
        self.stop_divergence.setToolTip(
            "end the run as soon as its divergence is certain, not at the overflow: its loss "
            "has grown above its start for five iterations in a row and the step is "
            "outside the optimizer's stable range (gd: lr · L > 2; heavy ball: "
            "lr · L > 2 + 2β), or it has grown 1e30-fold or would overflow within five more"
        )
        self.dtype = QtWidgets.QComboBox()
        self.dtype.addItems(list(precisions.NAMES))
        self.init = QtWidgets.QComboBox()
        self.seed = BigSpinBox(limits.SEED)
        self.track = QtWidgets.QLineEdit()
        self.track.setPlaceholderText("all, or 12 spread out")
        self.track.setToolTip(
            "which components of x to plot and record each iteration (1-based); "
            "applies to the next run"
        )

        for combo in (self.kind, self.loss, self.optimizer, self.dtype, self.init):
            # Long labels must not widen the dock: the combo elides, the popup shows all.
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
            # ...and the whole label is a hover away
            combo.currentTextChanged.connect(combo.setToolTip)
        self.opt_box = QtWidgets.QWidget()
        self.opt_form = QtWidgets.QFormLayout(self.opt_box)
        self.opt_form.setContentsMargins(12, 0, 0, 0)

        form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.AllNonFixedFieldsGrow)
        # In a narrow dock (a 1024-pixel screen) a field goes under its label, not off the edge.
        form.setRowWrapPolicy(QtWidgets.QFormLayout.WrapLongRows)
        form.setLabelAlignment(Qt.AlignRight)
        form.addRow("Problem", self.kind)
        form.addRow("Loss", self.loss)
        form.addRow("Optimizer", self.optimizer)
        form.addRow(self.opt_box)
        lr_row = QtWidgets.QHBoxLayout()
        lr_row.addWidget(self.lr, 1)
        lr_row.addWidget(self.recommended)
        form.addRow("Learning rate", lr_row)
        form.addRow(self.scale)  # the panel's whole width: the marks need the room
        # The panel's whole width: a warning wraps into lines of words, not of single words.
        form.addRow(self.lr_info)
        steps = QtWidgets.QHBoxLayout()
        steps.addWidget(self.optimal)
        steps.addWidget(self.heavy)
        steps.addStretch(1)
        form.addRow("", steps)
        form.addRow("Tolerance", self.tol)
        form.addRow("Max iterations", self.max_iters)
        form.addRow(self.stop_divergence)  # both columns: its words are its label
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
        self.loss.activated.connect(lambda: self._emit(loss=self.loss.currentData()))
        self.optimizer.activated.connect(self._on_optimizer)
        for edit in (self.lr, self.tol):
            edit.installEventFilter(self._committed_undo)
        self.lr.editingFinished.connect(lambda: self._emit_number("lr", self.lr))
        self.tol.editingFinished.connect(lambda: self._emit_number("tol", self.tol))
        self.max_iters.valueChanged.connect(lambda v: self._emit(max_iters=v))
        self.stop_divergence.toggled.connect(lambda v: self._emit(stop_on_divergence=v))
        self.dtype.activated.connect(lambda: self._emit(dtype=self.dtype.currentText()))
        self.init.activated.connect(lambda: self._emit(init=self.init.currentData()))
        self.seed.valueChanged.connect(lambda v: self._emit(seed=v))
        self.track.editingFinished.connect(lambda: self.track_changed.emit(self.track.text()))
        self.setEnabled(False)

    def bind(self, model: object) -> None:
        """Show what ``model`` (the AppModel) holds, from now on."""
        from .common import next_run_note

        self.layout().insertWidget(0, next_run_note(model))
        model.session_changed.connect(lambda s, _note, _refill: self.show_session(s))
        model.session_reverted.connect(self.show_session)
        model.analysis_changed.connect(lambda a: self.show_analysis(model.session, a))

    def arg_field(self, name: str) -> QtWidgets.QWidget | None:
        """The field of the optimizer's argument ``name`` ("betas"), None if it has none."""
        return next((f.widget for f in self._arg_fields if f.name == name), None)

    # -- filling ----------------------------------------------------------------------------
    def set_choices(self, kinds: dict, losses: dict, optimizer_labels: dict) -> None:
        """Problem kinds, losses and optimizers as the engine names them (once it is loaded)."""
        self.kind.clear()
        for name, kind in kinds.items():
            self.kind.addItem(kind.label, name)
        self._losses = losses
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
            self.kind.setCurrentIndex(self.kind.findData(s.problem.kind))
            self.loss.setCurrentIndex(self.loss.findData(s.loss))
            self.optimizer.setCurrentIndex(self.optimizer.findData(s.optimizer))
            self._build_args(s.optimizer, s.optimizer_args)
            self.lr.setText(exact_text(s.lr, 10))
            self.scale.set_lr(s.lr)
            self.tol.setText(exact_text(s.tol, 6))
            for edit in (self.lr, self.tol):
                edit.setCursorPosition(0)  # show the leading digits of a long number
            self.max_iters.setValue(s.max_iters)
            self.stop_divergence.setChecked(s.stop_on_divergence)
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
        from solver.settings.optimizers import hyperparameters

        if name != self._optimizer:
            while self.opt_form.rowCount():
                self.opt_form.removeRow(0)
            self._arg_fields = []
            for hp in hyperparameters(name):
                f = ArgField(hp.name, hp.default)
                if isinstance(f.widget, QtWidgets.QCheckBox):
                    f.widget.toggled.connect(self._emit_args)
                else:
                    f.widget.installEventFilter(self._committed_undo)
                    f.widget.editingFinished.connect(self._emit_args)
                self.opt_form.addRow(hp.name.replace("_", " "), f.widget)
                self._arg_fields.append(f)
            self._optimizer = name
        for f in self._arg_fields:
            f.set(values.get(f.name, f.default))
        self.opt_box.setVisible(bool(self._arg_fields))

    def arg_widget(self, name: str) -> QtWidgets.QWidget | None:
        return next((f.widget for f in self._arg_fields if f.name == name), None)

    def show_analysis(self, session: object, a: object) -> None:
        """The step sizes the analysis derives, on the scale and in words; None while it is
        computed."""
        if a is None or isinstance(a, BaseException):
            # Until it is done, the old problem's step sizes must not be offered for this one.
            self.lr_info.setText("analysing…" if a is None else "")
            for b in (self.recommended, self.optimal, self.heavy):
                b.setEnabled(False)
            self.scale.set_marks(None, None, None)
            return
        self.scale.set_marks(a.recommended_lr, a.optimal_lr, a.max_stable_lr)
        self.scale.set_lr(session.lr)
        self.recommended.setEnabled(a.recommended_lr is not None)
        self.optimal.setEnabled(a.optimal_lr is not None)
        self.heavy.setEnabled(a.heavy_ball is not None)
        if a.recommended_lr is None:
            self.lr_info.setText("no step-size limit for this loss (not smooth)")
            return
        lines = [
            f"recommended 1/L <b>{fmt(a.recommended_lr)}</b> · stable below 2/L "
            f"<b>{fmt(a.max_stable_lr)}</b>"
        ]
        if a.optimal_lr is not None:
            k = a.kappa
            fastest, heavy = rate_texts((k - 1) / (k + 1), a.heavy_ball_rate)
            lines.append(
                f"fastest fixed step 2/(μ+L) <b>{fmt(a.optimal_lr)}</b>, rate "
                f"{fastest}; heavy ball {heavy}"
            )
        if not a.spectrum_exact:
            how = a.spectrum_accuracy
            lines.append(
                "<span style='color:#6b7280'>L and μ estimated iteratively"
                + (f" ({html.escape(how)})" if how else "")
                + "</span>"
            )
        why = a.divergence_reason(session.lr) if session.optimizer == "gd" else None
        if why:  # "lr < 2/L": escaped, or the rich text takes the rest for a tag
            loss = self._losses.get(session.loss)
            # a bounded pull far from the answer: it goes round it instead of blowing up
            fate = "never settle" if getattr(loss, "bounded_pull", False) else "diverge"
            lines.append(f"<span style='color:#b91c1c'>gd will {fate}: {html.escape(why)}</span>")
        elif session.optimizer != "gd":
            lines.append("<span style='color:#6b7280'>limits are for plain gradient descent</span>")
        self.lr_info.setText("<br>".join(lines))

    # -- user edits -------------------------------------------------------------------------
    def _emit(self, **change: object) -> None:
        if not self._loading:
            self.changed.emit(change)

    def _emit_number(self, key: str, edit: QtWidgets.QLineEdit) -> None:
        if self._loading or not edit.isModified():
            return
        edit.setModified(False)
        text = edit.text().strip()
        value = read_number(text, QtCore.QLocale().decimalPoint())
        # not a number: the engine names the field and says what it expected
        self.changed.emit({key: text if value is None else value})

    def _on_optimizer(self) -> None:
        if not self._loading:
            self.changed.emit({"optimizer": self.optimizer.currentData(), "optimizer_args": {}})

    def _emit_args(self) -> None:
        if self._loading:
            return
        args = {}
        for f in self._arg_fields:
            if isinstance(f.widget, QtWidgets.QLineEdit):
                f.widget.setModified(False)  # committed: Ctrl+Z now undoes the session's edit
            v = f.value()
            if v != f.default and not (isinstance(f.default, tuple) and tuple(v) == f.default):
                args[f.name] = v
        self.changed.emit({"optimizer_args": args})

    # -- state ---------------------------------------------------------------------------------
    def save_state(self, settings: QtCore.QSettings) -> None:
        settings.setValue("run/track", self.track.text())

    def restore_state(self, settings: QtCore.QSettings) -> None:
        self.track.setText(str(settings.value("run/track", "") or ""))
