"""The Solver dock's fields: an optimizer argument's editor made from its torch default, the
numbers a field holds, its tooltip with its whole value, and Undo keys that undo the
session's edit once a field's text is committed."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from solver.core.numbers import read_number


def tip_with_value(edit: QtWidgets.QLineEdit, what: str) -> None:
    """``edit``'s tooltip says ``what`` it holds and its whole value: a narrow panel shows
    only part of a long number ("0.12" of 0.125)."""
    edit.textChanged.connect(lambda text: edit.setToolTip(f"{what}: {text}" if text else what))
    edit.setToolTip(what)


def exact_text(v: float, digits: int) -> str:
    """``v`` to ``digits`` significant digits where those read back as ``v``, else in full:
    1.797693135e+308 would read back as inf, and 4.94e-324 is a field's whole value."""
    text = f"{v:.{digits}g}"
    return text if float(text) == v else repr(v)


class ArgField:
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
            tip_with_value(w, name.replace("_", " "))
            self.widget = w
        self.set(default)

    def set(self, value: object) -> None:
        if isinstance(self.widget, QtWidgets.QCheckBox):
            self.widget.setChecked(bool(value))
        elif value is None:
            self.widget.setText("")
        elif isinstance(value, list | tuple):
            self.widget.setText(
                ", ".join(repr(v) if isinstance(v, float) else str(v) for v in value)
            )
        else:
            self.widget.setText(repr(value) if isinstance(value, float) else str(value))

    def value(self) -> object:
        """The typed value, shaped like the default (the engine judges if it is allowed)."""
        if isinstance(self.widget, QtWidgets.QCheckBox):
            return self.widget.isChecked()
        text = self.widget.text().strip()
        if isinstance(self.default, tuple):
            parts = [p for p in text.replace(";", ",").split(",") if p.strip()]
            return [field_value(p) for p in parts]
        if text == "":
            return None if self.default is None else text
        return field_value(text)


class CommittedUndo(QtCore.QObject):
    """Undo and Redo keys in a field whose text is committed go to the window's Undo and Redo:
    right after an edit the user means the session's edit, not the typing that made it. While
    the field holds uncommitted typing, the field undoes that typing as usual."""

    KEYS = ("Ctrl+Z", "Ctrl+Shift+Z", "Ctrl+Y")

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # noqa: N802
        if ev.type() not in (QtCore.QEvent.ShortcutOverride, QtCore.QEvent.KeyPress):
            return False
        if not isinstance(obj, QtWidgets.QLineEdit) or obj.isModified():
            return False
        keys = QtGui.QKeySequence(ev.keyCombination()).toString()
        undo_redo = (
            ev.matches(QtGui.QKeySequence.Undo)
            or ev.matches(QtGui.QKeySequence.Redo)
            or keys in self.KEYS
        )
        # Not accepted as an override: the window's shortcut takes the key. A key press that
        # still arrives (nothing to undo) must not revert the field to its uncommitted typing.
        return undo_redo


def field_value(text: str) -> object:
    """A field's value: an int, a float as Python or the user's locale writes it ("0,05"),
    else the text itself, which the engine refuses naming the field."""
    t = text.strip()
    try:
        return int(t)
    except ValueError:
        pass
    v = read_number(t, QtCore.QLocale().decimalPoint())
    return t if v is None else v
