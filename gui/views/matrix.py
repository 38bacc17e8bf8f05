"""The Problem dock: one table per array of the problem kind, its size and parameters, and
what the analysis says (shape, rank, condition, the exact solution).

Built from the solver's registry of problem kinds (``solver.problems.kinds``): each kind's arrays
become tables, vectors that share a matrix's rows sit beside it, and its parameters become
fields. Nothing here branches on a kind's name. The panel reports what the user typed
(``edited``, ``param_changed``); it shows what the model holds.
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping

import numpy as np
from PySide6 import QtCore, QtWidgets

from solver.insight.rates import rate_text

from ..model import pending
from .bigspin import fit_spin
from .common import next_run_note, notice_banner
from .kindpage import KindPage
from .resize import Resizer
from .tables import ArrayModel, MatrixView
from .texts import fmt

Qt = QtCore.Qt


def _analysis_words(problem: object) -> str:
    """What a running analysis computes, for the busy line."""
    m = problem.matrix()
    size = " × ".join(f"{d:,}" for d in m.shape)
    if getattr(problem, "sparse", False):
        how = "Lanczos for σmax, a sparse LU for σmin and the exact solution"
    else:
        how = "singular values and the exact solution"
    return f"Analysing the {size} matrix ({how})…"


class MatrixPanel(QtWidgets.QWidget):
    """Tables for the problem's data, its size, and what the analysis says about it."""

    edited = QtCore.Signal()  # a table's content or shape changed
    param_changed = QtCore.Signal(dict)  # a parameter of the problem kind ("side", "degree")
    message = QtCore.Signal(str)  # a paste that was refused, etc.
    cancel_analysis = QtCore.Signal()  # the user stopped a long analysis
    analyse_again = QtCore.Signal()  # ...and asked for it after all

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self.pages: dict[str, KindPage] = {}
        self.page: KindPage | None = None
        self.exact_model = ArrayModel("exact", editable=False)
        self.resizer = Resizer(self)
        self.resizer.done.connect(self._resized)
        self.resizer.failed.connect(self.message)

        self.presets_button = QtWidgets.QToolButton()
        self.presets_button.setText("Presets")
        self.presets_button.setPopupMode(QtWidgets.QToolButton.InstantPopup)
        self.shape_bar = QtWidgets.QHBoxLayout()
        self.shape_bar.setContentsMargins(0, 0, 0, 0)
        self.shape_bar.setSpacing(4)
        self.shape_bar.addStretch(1)
        self.shape_bar.addWidget(self.presets_button)
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(QtWidgets.QLabel("Loading the solver…", alignment=Qt.AlignCenter))

        self.error_label = QtWidgets.QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.PlainText)  # it quotes what was typed in a cell
        self.error_label.setStyleSheet(
            "QLabel#errorLabel { color: #9b1c1c; background: #fde8e8; border: 1px solid #f5b5b5;"
            " border-radius: 4px; padding: 4px 6px; }"
            # work on its way is news, not a mistake: not in the error's red
            'QLabel#errorLabel[pending="true"] { color: #1e3a5f; background: #e8f0fa;'
            " border-color: #b6cbe6; }"
        )
        self.error_label.hide()

        self.facts = QtWidgets.QLabel("Loading the solver…")
        self.facts.setObjectName("facts")
        self.facts.setTextFormat(Qt.RichText)
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextSelectableByMouse)
        # A long analysis (a big or sparse matrix: seconds) shows that it runs, for how long,
        # and can be stopped; a stopped one can be asked for again.
        self.busy_bar = QtWidgets.QProgressBar()
        self.busy_bar.setRange(0, 0)  # busy: Lanczos gives no fraction done
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumHeight(10)
        self.busy_button = QtWidgets.QPushButton("Cancel")
        self.busy_button.setToolTip("Stop the analysis: no step-size guidance until it is redone")
        self.busy_button.clicked.connect(self._busy_clicked)
        self.busy_row = QtWidgets.QWidget()
        br = QtWidgets.QHBoxLayout(self.busy_row)
        br.setContentsMargins(0, 0, 0, 0)
        br.addWidget(self.busy_bar, 1)
        br.addWidget(self.busy_button)
        self.busy_row.hide()
        self._busy_since = 0.0
        self._busy_timer = QtCore.QTimer(self, interval=1000)
        self._busy_timer.timeout.connect(self._tick_busy)
        self.exact_view = MatrixView()
        self.exact_view.setModel(self.exact_model)
        self.exact_view.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.exact_view.setMinimumHeight(70)
        exact_box = QtWidgets.QGroupBox("Exact solution (reference)")
        ev = QtWidgets.QVBoxLayout(exact_box)
        ev.setContentsMargins(6, 4, 6, 6)
        ev.addWidget(self.facts)
        ev.addWidget(self.busy_row)
        ev.addWidget(self.exact_view, 1)

        split = QtWidgets.QSplitter(Qt.Vertical)
        split.setObjectName("matrixSplitter")
        top = QtWidgets.QWidget()
        tl = QtWidgets.QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addLayout(self.shape_bar)
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

    def bind(self, model: object) -> None:
        """Show what ``model`` (the AppModel) holds, from now on."""
        model.session_changed.connect(
            lambda s, _note, refill: self.show_problem(s.problem) if refill else None
        )
        model.analysis_changed.connect(lambda a: self.show_analysis(model.session, a))
        model.table_error_changed.connect(self.show_error)
        for i, note in enumerate((next_run_note(model), notice_banner(model))):
            self.layout().insertWidget(i, note)

    # -- the registry --------------------------------------------------------------------------
    def set_kinds(self, kinds: Mapping[str, object]) -> None:
        """One page per problem kind (called once the solver has loaded)."""
        for name, kind in kinds.items():
            page = KindPage(
                kind,
                edited=self._on_model_edited,
                message=self.message,
                shape_changed=self._on_shape,
                param_changed=self._on_param,
            )
            self.pages[name] = page
            self.stack.addWidget(page.widget)
            for w in page.bar:
                self.shape_bar.insertWidget(self.shape_bar.count() - 2, w)
                w.hide()

    def view(self, key: str) -> MatrixView:
        return self.page.views[key]

    def model_of(self, key: str) -> ArrayModel:
        return self.page.models[key]

    # -- showing a problem -----------------------------------------------------------------------
    def show_problem(self, problem: object) -> None:
        """Fill the tables, sizes and parameters from an engine problem."""
        from solver.problems.kinds import kind_of

        kind = kind_of(problem)
        self.resizer.cancel()  # this problem replaces any being resized
        self._loading = True
        try:
            for page in self.pages.values():
                for w in page.bar:
                    w.setVisible(page.kind is kind)
            new = self.pages[kind.name]
            focused = QtWidgets.QApplication.focusWidget()
            had_focus = (
                self.page is not None
                and new is not self.page
                and focused is not None
                and self.page.widget.isAncestorOf(focused)
            )
            if had_focus:
                # QStackedLayout hands the focus over after hiding the old page, and the
                # focus-out of a table on it crashes Qt 6.11: take the focus away first.
                focused.clearFocus()
            self.page = new
            self.stack.setCurrentWidget(new.widget)
            if had_focus:
                next(iter(new.views.values())).setFocus()
            arrays = kind.arrays_of(problem)
            page = self.page
            page.sparse = arrays[kind.sparse_key] if getattr(problem, "sparse", False) else None
            if page.sparse_stack is not None:
                page.sparse_view.set_matrix(page.sparse)
                sparse_shown = page.sparse is not None
                page.sparse_stack.setCurrentIndex(1 if sparse_shown else 0)
            for key, model in page.models.items():
                if key == kind.sparse_key and page.sparse is not None:
                    model.set_array(np.zeros((0, 0)))  # never formed dense
                else:
                    model.set_array(arrays[key])
            for key, spins in page.sizes.items():
                shape = arrays[key].shape
                fixed = key == kind.sparse_key and page.sparse is not None
                for sp, v in zip(spins, shape, strict=False):
                    sp.setMaximum(v if fixed else max(v, sp.property("editMax")))
                    # a fixed size has no arrows to step it: the room goes to its digits
                    sp.setButtonSymbols(
                        QtWidgets.QAbstractSpinBox.NoButtons
                        if fixed
                        else QtWidgets.QAbstractSpinBox.UpDownArrows
                    )
                    fit_spin(sp, max(v, 8888) if fixed else 8888)  # 100,000 in full
                    sp.setValue(v)
                    sp.setEnabled(not fixed)
                    sp.setToolTip(
                        "a sparse matrix keeps the size of its file or preset"
                        if fixed
                        else sp.property("plainTip")
                    )
            for key, value in kind.params_of(problem).items():
                w = self.page.params[key]
                if isinstance(w, QtWidgets.QComboBox):
                    w.setCurrentIndex(w.findData(value))
                else:
                    w.setMaximum(max(int(value), w.property("editMax")))
                    w.setValue(int(value))
        finally:
            self._loading = False

    def focus_table(self) -> None:
        if self.page is None:
            return
        view = next(iter(self.page.views.values()))
        view.setFocus()
        if not view.currentIndex().isValid():
            view.setCurrentIndex(view.model().index(0, 0))

    def array_at(self, widget: QtWidgets.QWidget | None) -> str | None:
        """The key of the table ``widget`` is part of, when it is not the first (a matrix
        dropped there is for that array; elsewhere it is for the first, the matrix)."""
        if self.page is None or widget is None:
            return None
        keys = list(self.page.views)
        for key, view in self.page.views.items():
            if key != keys[0] and (view is widget or view.isAncestorOf(widget)):
                return key
        return None

    def arrays(self) -> dict[str, np.ndarray]:
        """The tables' valid content, by array key (a sparse matrix as it is held): read-only
        views, not copies (a 5000 × 5000 table took 0.2 s to copy; a problem copies it)."""
        page = self.page
        out = {k: m.array(copy=False) for k, m in page.models.items()}
        if page.sparse is not None:
            out[page.kind.sparse_key] = page.sparse
        return out

    def invalid_message(self) -> str | None:
        for m in self.page.models.values():
            msg = m.first_problem()
            if msg:
                return msg
        return None

    def show_error(self, text: str | None) -> None:
        waiting = pending(text)
        if waiting != bool(self.error_label.property("pending")):
            self.error_label.setProperty("pending", waiting)
            self.error_label.style().unpolish(self.error_label)  # the style follows it
            self.error_label.style().polish(self.error_label)
        tail = "… Run waits for it." if waiting else ". Run is disabled until this is fixed."
        self.error_label.setText(f"{text}{tail}" if text else "")
        self.error_label.setVisible(bool(text))

    def show_analysis(self, session: object, a: object) -> None:
        """Shape, rank, condition and the exact solution; ``a`` None while it is computed."""
        from solver.core.errors import Cancelled

        self._busy_timer.stop()
        self.busy_row.setVisible(a is None or isinstance(a, Cancelled))
        if a is None:
            self._busy_since = time.perf_counter()
            self._busy_what = _analysis_words(session.problem)
            self.busy_bar.setRange(0, 0)
            self.busy_button.setText("Cancel")
            self._tick_busy()
            self._busy_timer.start()
            self.exact_model.set_array(np.zeros((0, 1)))
            return
        if isinstance(a, Cancelled):
            self.facts.setText(
                "Analysis cancelled: no condition number, step-size guidance or exact "
                "solution for this problem."
            )
            self.busy_bar.setRange(0, 1)  # stopped, not busy
            self.busy_button.setText("Analyse again")
            self.exact_model.set_array(np.zeros((0, 1)))
            return
        if isinstance(a, BaseException):
            self.facts.setText(f"analysis failed: {html.escape(str(a))}")
            self.exact_model.set_array(np.zeros((0, 1)))
            return
        m, n = a.shape
        cond = "∞ (singular)" if a.cond is None else fmt(a.cond, 4)
        rank = "—" if a.rank is None else f"{a.rank}"
        est = "" if a.spectrum_exact else " (estimated)"
        parts = [f"<b>{m:,}×{n:,}</b>", f"rank <b>{rank}</b>", f"cond <b>{cond}</b>{est}"]
        if a.lipschitz is not None:
            parts.append(f"L = {fmt(a.lipschitz)}")
        if a.rate is not None and session.optimizer == "gd":
            iters = a.iterations_for(1e-6)
            rate = rate_text(a.rate)  # 0.99997 read "1"
            parts.append(f"gd rate {rate}" + (f" (≈{iters:,} it per 10⁻⁶)" if iters else ""))
        if a.exact_method:
            parts.append(f"x* by {a.exact_method}")
        self.facts.setText(" · ".join(parts))
        exact = np.asarray(a.exact, float)
        if exact.ndim == 2:
            self.exact_model.row_names = None
            self.exact_model.set_array(exact)
        else:
            self.exact_model.set_array(exact, row_names=session.problem.unknown_names())

    def _tick_busy(self) -> None:
        took = time.perf_counter() - self._busy_since
        self.facts.setText(f"{self._busy_what} {took:.0f} s")

    def _busy_clicked(self) -> None:
        if self.busy_button.text() == "Cancel":
            self.cancel_analysis.emit()
        else:
            self.analyse_again.emit()

    # -- edits ---------------------------------------------------------------------------------
    def _on_model_edited(self) -> None:
        if not self._loading:
            self.edited.emit()

    def _on_param(self, key: str, value: object) -> None:
        if not self._loading:
            self.param_changed.emit({key: value})

    def _on_shape(self, key: str) -> None:
        if self._loading:
            return
        page = self.page
        spins = page.sizes[key]
        spec = next(s for s in page.kind.arrays if s.key == key)
        rows = spins[0].value()
        cols = rows if spec.square else spins[1].value() if len(spins) > 1 else 1
        shapes = {key: (rows, cols)}
        shapes |= {s.key: (rows, 1) for s in page.kind.arrays if s.rows_like == key}
        old = {k: page.models[k].grid() for k in shapes}
        held = [page.widget] + [sp for spins in page.sizes.values() for sp in spins]
        self.resizer.start(old, shapes, {key} if spec.square else set(), held)

    def _resized(self, arrays: dict[str, np.ndarray]) -> None:
        """A resize's arrays into the tables (off the GUI thread when large: ``Resizer``)."""
        self._loading = True
        try:
            for k, a in arrays.items():
                if a is not self.page.models[k].grid():
                    self.page.models[k].adopt(a)
        finally:
            self._loading = False
        self.edited.emit()

    # -- state ---------------------------------------------------------------------------------
    def save_state(self, settings: QtCore.QSettings) -> None:
        settings.setValue("problemDock/splitter", self.splitter.saveState())

    def restore_state(self, settings: QtCore.QSettings) -> None:
        state = settings.value("problemDock/splitter")
        if not state or not self.splitter.restoreState(state):
            # The tables first: the exact solution needs a few rows, the data all it can get.
            self.splitter.setSizes([700, 300])
