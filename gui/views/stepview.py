"""The "One step" panel: what the inspected iteration of the selected run did.

For iteration k it shows, per unknown, x_k, the gradient autograd computes there (what the
run's ``x.grad`` held), the loss's closed-form gradient beside it and their difference, the
step the optimizer actually took (x_{k+1} − x_k) and the step plain gd would have taken
(−lr·∇f). The header sums it up: how far autograd is from the formula, and how the step
taken compares with −lr·∇f in length and direction (momentum, Adam and L-BFGS differ).

It follows the model's inspected iteration (the crosshair on an iteration plot), or the
newest one, at most a few times a second while a run goes, and only while it is on screen.
The numbers come from ``solver.insight.anatomy``, recomputed from the recorded iterates: the panel
never touches the worker's tensors.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import numpy as np
from PySide6 import QtCore, QtWidgets

from .tables import ArrayModel, MatrixView
from .texts import fmt

LIVE_MS = 250  # refresh period while the newest iteration of a live run is on show
HOVER_MS = 40  # coalesces crosshair moves


class StepModel(ArrayModel):
    """The step table: entries of a column with a rounding floor (``floors``, by column) read
    0 below it; the tooltip keeps every digit."""

    def __init__(self) -> None:
        super().__init__("step", editable=False)
        self.floors: dict[int, float] = {}

    def data(self, index: QtCore.QModelIndex, role: int = QtCore.Qt.DisplayRole) -> object:
        floor = self.floors.get(index.column())
        if role == QtCore.Qt.DisplayRole and floor is not None and index.isValid():
            if abs(float(self._a[index.row(), index.column()])) <= floor:
                return "0"
        return super().data(index, role)


class StepPanel(QtWidgets.QWidget):
    TITLE = "One step"

    def __init__(
        self,
        model: object,
        guard: Callable[[], AbstractContextManager[None]] | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.guard = guard or nullcontext
        self.anatomy = None  # the StepAnatomy on show
        self._on_screen = False
        self.header = QtWidgets.QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(QtCore.Qt.RichText)
        self.header.setObjectName("stepHeader")
        self.table_model = StepModel()
        self._floors: tuple[object, float | None, float | None] | None = None
        self.table = MatrixView()
        self.table.setModel(self.table_model)
        # The header keeps its whole height (a short dock scrolls rather than cut it off).
        self.header.setSizePolicy(QtWidgets.QSizePolicy.Preferred, QtWidgets.QSizePolicy.Minimum)
        self.table.setMinimumHeight(90)
        body = QtWidgets.QWidget()
        inner = QtWidgets.QVBoxLayout(body)
        inner.setContentsMargins(6, 6, 6, 6)
        inner.addWidget(self.header)
        inner.addWidget(self.table, 1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(scroll)
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.refresh)
        model.selection_changed.connect(lambda _r: self._soon(0))
        model.inspected_changed.connect(lambda _k: self._soon(HOVER_MS))
        model.run_updated.connect(self._run_updated)
        model.run_finished.connect(lambda *_: self._soon(0))
        self.refresh()

    # -- when ---------------------------------------------------------------------------------

    @property
    def on_screen(self) -> bool:
        """The panel is in front (its dock tab raised): its anatomy is kept up to date."""
        return self._on_screen

    def on_shown(self, shown: bool) -> None:
        """Its dock came to the front or went behind another (``visibilityChanged``)."""
        self._on_screen = shown
        if shown:
            self._soon(0)

    def _run_updated(self, run_id: int) -> None:
        if not self._on_screen:  # caught up when it comes to the front (on_shown)
            return
        rec = self.model.selected
        if rec is not None and rec.id == run_id and self.model.inspected is None:
            self._soon(LIVE_MS if rec.status.state == "running" else 0)

    def _soon(self, ms: int) -> None:
        if not self._timer.isActive():
            self._timer.start(ms)
        elif ms < self._timer.remainingTime():
            self._timer.start(ms)

    # -- what ---------------------------------------------------------------------------------
    def _iterates(self, rec: object) -> tuple[int, np.ndarray, np.ndarray | None] | str:
        """(k, x_k, x_{k+1} or None) of the inspected iteration, or why there are none."""
        h = rec.history
        if len(h) == 0:
            return "no iterate recorded yet"
        k = self.model.inspected
        k = len(h) - 1 if k is None else int(k)
        x = h.iterate(k)
        if x is None:
            return h.why_no_iterate(k)
        return k, x, h.iterate(k + 1) if k + 1 < len(h) else None

    def refresh(self) -> None:
        rec = self.model.selected
        if rec is None or rec.history is None:
            self._show_text("No run selected: run or step one, then point at an iteration.")
            return
        if not (self._on_screen and self.isVisible()):
            return
        got = self._iterates(rec)
        if isinstance(got, str):
            self._show_text(f"Iteration not available: {got}.")
            return
        from solver.insight.anatomy import step_anatomy

        k, x, x_next = got
        try:
            with self.guard():
                an = step_anatomy(rec.session, k, x, x_next)
        except Exception as exc:  # a problem whose loss cannot be rebuilt here: say so
            self._show_text(f"Iteration {k:,} cannot be taken apart: {exc}")
            return
        self.anatomy = an
        self._fill(an, rec.history.names, *self._floors_of(rec.session))

    def _show_text(self, text: str) -> None:
        self.anatomy = None
        self.header.setText(html.escape(text))  # a reason may hold "<" ("lr < 2/L")
        self.table_model.set_array(np.zeros((0, 0)))

    def _floors_of(self, session: object) -> tuple[float | None, float | None]:
        """(the loss's, a gradient entry's) rounding floor for runs of ``session``, kept
        while the session is the same: a residual and a gradient evaluation each."""
        if self._floors is None or self._floors[0] is not session:
            from solver.insight.anatomy import gradient_floor
            from solver.problems.floors import rounding_floor
            from solver.problems.kinds import kind_of

            p = session.problem
            try:
                with self.guard():
                    found = rounding_floor(p, kind_of(p).exact(p), session.dtype)
                    grad = gradient_floor(session.loss, p, session.dtype)
            except Exception:  # no floor known: every digit is shown, as before
                found, grad = None, None
            self._floors = (session, None if found is None else found.loss(session.loss), grad)
        return self._floors[1], self._floors[2]

    def _fill(
        self, an: object, names: list[str], loss_floor: float | None, grad_floor: float | None
    ) -> None:
        cols = [an.x, an.autograd]
        heads = ["x_k", "∇f autograd"]
        # a difference of two gradients below the gradient's rounding is 0 (it read 9.7e-17)
        self.table_model.floors = {}
        if an.closed_form is not None:
            cols += [an.closed_form, an.autograd - an.closed_form]
            heads += [f"∇f = {an.formula}", "autograd − formula"]
            if grad_floor is not None:
                self.table_model.floors = {3: grad_floor}
        if an.step is not None:
            cols.append(an.step)
            heads.append("step taken")
        cols.append(an.plain_step)
        heads.append("−lr·∇f")
        relayout = heads != self.table_model.column_names
        self.table_model.column_names = heads
        self.table_model.set_array(np.column_stack(cols), row_names=names)
        if relayout:
            self._fit_columns(heads)
        self.header.setText(self._summary(an, loss_floor))

    def _fit_columns(self, heads: list[str]) -> None:
        """Each column as wide as its title or the widest number ("-8.88888e-888"), set
        once per layout: sizing to the contents asks every cell (~90 ms for 64 rows)."""
        fm = self.table.fontMetrics()
        number = fm.horizontalAdvance("-8.88888e-888")
        for i, h in enumerate(heads):
            self.table.setColumnWidth(i, max(number, fm.horizontalAdvance(h)) + 16)

    @staticmethod
    def _summary(an: object, loss_floor: float | None = None) -> str:
        gnorm = float(np.linalg.norm(an.autograd))
        low = loss_floor is not None and abs(an.loss) <= loss_floor
        loss = "0" if low else fmt(an.loss)
        lines = [f"<b>Iteration {an.iteration:,}</b> · loss {loss} · ‖∇f‖ {fmt(gnorm)}"]
        if an.difference is None:
            lines.append("no closed form is written for this loss: autograd's gradient only")
        else:
            lines.append(
                f"autograd vs ∇f = {an.formula}: max difference {an.difference:.1e} of the "
                "gradient's size" + (f" ({an.dtype} rounding)" if an.rounding else "")
            )
        if an.step is None:
            lines.append("the step from here is not taken yet")
        else:
            ratio, cos = an.step_ratio, an.alignment
            if ratio is None or cos is None:
                lines.append("the step taken is zero")
            else:
                plain = an.optimizer == "gd"
                angle = float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
                lines.append(
                    f"step taken = {ratio:.3g} × ‖lr·∇f‖, at {angle:.1f}° from −∇f"
                    + (
                        " (plain gd: the step is −lr·∇f)"
                        if plain
                        else f" ({an.optimizer} builds its step from more than this gradient)"
                    )
                )
        return "<br>".join(lines)
