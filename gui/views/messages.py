"""Refusals and failures as non-blocking message boxes (the status bar says them too)."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets


class MessageBoxes:
    """Opens one window-modal warning per message; ``enabled`` False: none (tests, quitting)."""

    def __init__(self, parent: QtWidgets.QWidget, enabled: bool = True) -> None:
        self.parent = parent
        self.enabled = enabled
        self._boxes: list[QtWidgets.QMessageBox] = []
        # The window's Quit: a box is window-modal, and Qt offers none of the window's
        # shortcuts while one is up, Ctrl+Q included; each box offers this one itself.
        self.quit_action: QtGui.QAction | None = None

    def show(self, title: str, text: str) -> None:
        if not self.enabled:
            return
        box = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Warning, title, text, QtWidgets.QMessageBox.Ok, self.parent
        )
        box.setTextFormat(QtCore.Qt.PlainText)  # file names and typed text, shown as they are
        box.setAttribute(QtCore.Qt.WA_DeleteOnClose)
        box.finished.connect(lambda _r, b=box: self._boxes.remove(b) if b in self._boxes else None)
        if self.quit_action is not None:
            box.addAction(self.quit_action)
        self._boxes.append(box)
        box.open()

    def open_boxes(self) -> list[QtWidgets.QMessageBox]:
        return [b for b in self._boxes if b.isVisible()]

    def close_all(self) -> None:
        self.enabled = False
        for b in list(self._boxes):
            b.close()

    def may_discard(self, files: object) -> bool:
        """Quitting with unsaved changes: True to go on (saved, or not wanted), False to stay.
        ``files`` (FileCommands) saves. Without dialogs (tests) it goes on."""
        if not self.enabled:
            return True
        mb = QtWidgets.QMessageBox
        box = mb(
            mb.Question,
            "Unsaved changes",
            "The session has changes that are not saved in a file.",
            mb.Save | mb.Discard | mb.Cancel,
            self.parent,
        )
        box.setInformativeText(
            "Save them to a session file? Either way the window opens with them next time."
        )
        box.setDefaultButton(mb.Save)
        answer = box.exec()
        if answer == mb.Save:
            return bool(files.save_session())
        return answer == mb.Discard
