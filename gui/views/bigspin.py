"""A spin box for integers a QSpinBox cannot hold: QSpinBox is 32-bit, and a session's
iteration limit and seed go to 2**63 - 1 (``solver.core.limits``). Whatever the limit allows the
box shows, and the box lets the user type nothing the limit refuses. Also the plain spin boxes
held to one entry of the limits table (``limited_spin``), sized to what they show."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from solver.core.limits import Limit

Qt = QtCore.Qt


class BigSpinBox(QtWidgets.QAbstractSpinBox):
    """An integer from ``limit.lo`` to ``limit.hi``, shown with group separators.

    ``valueChanged(int)`` (a Python int: a Qt int signal would be 32-bit again) when the value
    changes: at once for the arrows, on Return or leaving the field for typing."""

    valueChanged = QtCore.Signal(object)  # noqa: N815 - QSpinBox's name, for its callers

    def __init__(self, limit: Limit, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.limit = limit
        self._value = int(limit.lo)
        self.setKeyboardTracking(False)
        self.editingFinished.connect(self._commit)
        self._show()

    # -- the value ---------------------------------------------------------------------------
    def value(self) -> int:
        return self._value

    def minimum(self) -> int:
        return int(self.limit.lo)

    def maximum(self) -> int:
        return int(self.limit.hi)

    def setValue(self, value: int) -> None:  # noqa: N802 - QSpinBox's name
        """Show ``value`` (held within the limit) and say so if it changed."""
        value = min(self.maximum(), max(self.minimum(), int(value)))
        changed = value != self._value
        self._value = value
        self._show()
        if changed:
            self.valueChanged.emit(value)

    def text_of(self, value: int) -> str:
        return f"{value:,}".replace(",", self.locale().groupSeparator())

    def _show(self) -> None:
        self.lineEdit().setText(self.text_of(self._value))
        self.update()  # the arrows' enabled state follows the value

    def _parse(self, text: str) -> int | None:
        digits = text.replace(self.locale().groupSeparator(), "").replace(",", "").strip()
        digits = digits.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
        if not digits or not digits.isascii() or not digits.isdigit():
            return None
        return int(digits)

    def _commit(self) -> None:
        v = self._parse(self.lineEdit().text())
        if v is None or not self.limit.holds(v):
            self._show()  # what the field held stays
            return
        self.setValue(v)
        self._show()  # reformat what was typed ("3000000000" to "3,000,000,000")

    # -- QAbstractSpinBox ---------------------------------------------------------------------
    def validate(self, text: str, pos: int) -> object:
        """Digits (and group separators) within the limit; beyond the maximum is refused as
        typed, below the minimum or empty may still become a value."""
        if not text.strip():
            return QtGui.QValidator.Intermediate, text, pos
        v = self._parse(text)
        if v is None or v > self.maximum():
            return QtGui.QValidator.Invalid, text, pos
        if v < self.minimum():
            return QtGui.QValidator.Intermediate, text, pos
        return QtGui.QValidator.Acceptable, text, pos

    def fixup(self, text: str) -> str:
        return self.text_of(self._value)

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt's name
        self.setValue(self._value + steps)

    def stepEnabled(self) -> QtWidgets.QAbstractSpinBox.StepEnabledFlag:  # noqa: N802
        flags = QtWidgets.QAbstractSpinBox.StepNone
        if self.isReadOnly():
            return flags
        if self._value < self.maximum():
            flags |= QtWidgets.QAbstractSpinBox.StepUpEnabled
        if self._value > self.minimum():
            flags |= QtWidgets.QAbstractSpinBox.StepDownEnabled
        return flags

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802
        # As wide as the 32-bit box was (ten digits): sized for 2**63 it would widen the dock
        # on a small screen; the field grows with the dock and scrolls its text beyond that.
        hint = super().sizeHint()
        fm = self.fontMetrics()
        width = fm.horizontalAdvance(self.text_of(min(self.maximum(), 2_000_000_000))) + 40
        return QtCore.QSize(max(hint.width(), width), hint.height())


def limited_spin(limit: Limit, tip: str) -> QtWidgets.QSpinBox:
    """A spin box for what the user types (``limit``, kept as editMax); a loaded value past it
    raises the maximum, so that every value a session holds shows."""
    s = QtWidgets.QSpinBox()
    s.setRange(int(limit.lo), int(limit.hi))
    s.setProperty("editMax", int(limit.hi))
    s.setToolTip(tip)
    s.setProperty("plainTip", tip)  # restored when a sparse matrix no longer fixes the size
    s.setKeyboardTracking(False)  # resize once the number is typed, not per digit
    s.setGroupSeparatorShown(True)
    fit_spin(s, 8888)  # for sizes people type: the dock fits beside the plots at 1024 px
    return s


def fit_spin(s: QtWidgets.QSpinBox, value: int) -> None:
    """As wide as ``value`` written with its group separators, and the arrows."""
    buttons = 30 if s.buttonSymbols() != QtWidgets.QAbstractSpinBox.NoButtons else 12
    s.setFixedWidth(s.fontMetrics().horizontalAdvance(f"{value:,}") + buttons)
