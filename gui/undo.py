"""Undo and redo of edits to the problem and the settings, and whether the session is saved.

Sessions are immutable, so an edit is just the pair (session before, session after): undoing
puts the older one back through the model, like any other session change. A ``QUndoStack``
keeps the pairs, names them for the Edit menu and knows its clean point; "modified" (the
window title's marker, the question on quitting) is simply "not at the clean point".

Clean points: the session the window started with, a file opened or saved, a preset or
example loaded (a fresh document, as from a template).
"""

from __future__ import annotations

import dataclasses

from PySide6 import QtCore, QtGui

from .model import AppModel

# One entry per edit; older ones are dropped (a session holds a matrix: memory is bounded).
UNDO_LIMIT = 100


class _SessionChange(QtGui.QUndoCommand):
    def __init__(self, undo: SessionUndo, before: tuple, after: tuple, text: str) -> None:
        super().__init__(text)
        self._undo, self._before, self._after = undo, before, after
        self._pushed = False

    def redo(self) -> None:
        if self._pushed:  # QUndoStack.push calls redo: the change is already made then
            self._undo.apply(self._after, f"Redid the {self.text()}")
        self._pushed = True

    def undo(self) -> None:
        self._undo.apply(self._before, f"Undid the {self.text()}")


def _differs(a: object, b: object) -> bool:
    if a is b:
        return False
    try:
        return bool(a != b)
    except (ValueError, TypeError):  # arrays, problems holding arrays: different objects
        return True


def describe(before: object, after: object) -> str:
    """What an edit changed, for "Undo …" in the Edit menu: "change of lr, tol"."""
    names = [
        "problem" if f.name == "problem" else f.name.replace("_", " ")
        for f in dataclasses.fields(after)
        if _differs(getattr(before, f.name, None), getattr(after, f.name))
    ]
    if not names:
        return "edit"
    return "change of " + ", ".join(names[:3]) + (" …" if len(names) > 3 else "")


class SessionUndo(QtCore.QObject):
    """Records every session the model takes; ``stack`` drives Edit → Undo / Redo."""

    modified_changed = QtCore.Signal(bool)

    def __init__(self, model: AppModel, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.stack = QtGui.QUndoStack(self)
        self.stack.setUndoLimit(UNDO_LIMIT)
        # a method, not a lambda: Qt drops the connection when this object goes
        self.stack.cleanChanged.connect(self._clean_changed)
        self._current: tuple | None = None  # (session, label) the model holds
        self._applying = False
        model.session_changed.connect(self._changed)

    @QtCore.Slot(bool)
    def _clean_changed(self, clean: bool) -> None:
        self.modified_changed.emit(not clean)

    @property
    def modified(self) -> bool:
        return not self.stack.isClean()

    def _changed(self, s: object, note: str, _refill: bool) -> None:
        before, self._current = self._current, (s, self.model.session_label)
        if self._applying or before is None or before[0] is s:
            return
        text = describe(before[0], s)
        self.stack.push(_SessionChange(self, before, self._current, text))

    def apply(self, entry: tuple, note: str) -> None:
        s, label = entry
        self._applying = True
        try:
            self.model.set_session(s, note, label=label)
        finally:
            self._applying = False

    def mark_clean(self) -> None:
        """The session is now what a file (or a fresh document) holds."""
        self.stack.setClean()

    def reset(self) -> None:
        """Start afresh: nothing to undo, and the session counts as saved."""
        self.stack.clear()
        self.stack.setClean()
