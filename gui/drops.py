"""Drag and drop of files onto the window: a session (.json) opens, a matrix (.mtx, .npz, .csv,
.npy) is imported, as A, or as b when it is dropped on the b table.

An event filter on the window, so no widget needs its own drop code: a drag over anything
in the window is offered here. Only local files with a known suffix are accepted (the cursor
says so before the drop); a drop of several files is refused with a message, not guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from .files import MATRIX_SUFFIXES, SESSION_SUFFIXES, FileCommands


def dropped_paths(mime: QtCore.QMimeData) -> list[Path]:
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]


def acceptable(path: Path) -> bool:
    return path.suffix.lower() in SESSION_SUFFIXES + MATRIX_SUFFIXES


class FileDrops(QtCore.QObject):
    """Makes ``window`` take dropped files; ``target_at(widget)`` names the array a matrix
    dropped on ``widget`` is for (None: A)."""

    def __init__(
        self,
        window: QtWidgets.QWidget,
        files: FileCommands,
        target_at: Callable[[QtWidgets.QWidget | None], str | None],
    ) -> None:
        super().__init__(window)
        self.window, self.files, self.target_at = window, files, target_at
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:
        t = ev.type()
        if t in (QtCore.QEvent.DragEnter, QtCore.QEvent.DragMove):
            paths = dropped_paths(ev.mimeData())
            if paths and any(acceptable(p) for p in paths):
                ev.acceptProposedAction()
            else:
                ev.ignore()
            return True
        if t == QtCore.QEvent.Drop:
            self.drop(dropped_paths(ev.mimeData()), ev.position().toPoint())
            ev.acceptProposedAction()
            return True
        return False

    def drop(self, paths: list[Path], pos: QtCore.QPoint | None = None) -> bool:
        """Open what was dropped at ``pos`` (window coordinates). True when it opened."""
        m = self.files.model
        if len(paths) != 1:
            names = ", ".join(p.name for p in paths[:3]) + (" …" if len(paths) > 3 else "")
            m.refuse("Files not opened", f"drop one file at a time ({names})")
            return False
        widget = self.window.childAt(pos) if pos is not None else None
        path = paths[0]
        target = self.target_at(widget) if path.suffix.lower() in MATRIX_SUFFIXES else None
        return self.files.open_path(path, target)
