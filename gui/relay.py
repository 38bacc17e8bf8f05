"""The one way a plain thread hands a result to the GUI thread: ``Relay(slot).post(*args)``.

A thread that is not Qt's (an analysis, a file read, an autosave, the start-up imports) must
never touch a widget or the model. It posts what it made on a relay, and the relay's signal,
queued across threads, calls ``slot(*args)`` on the thread the relay was made on. Posted on
that thread itself, the call is made at once, as any Qt auto connection.
"""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6 import QtCore


class Relay(QtCore.QObject):
    """Calls ``slot`` on the GUI thread with what any thread ``post``s, in the order posted.

    Make it on the GUI thread and keep it unparented, held by its owner and by the closures
    of the threads that post on it: then no thread can post on a relay Qt has deleted. A
    ``slot`` that is a method of a QObject is not called once that object is gone (a window
    closed while its file was being read), as a Qt connection to it would not be."""

    _carried = QtCore.Signal(tuple)

    def __init__(self, slot: Callable[..., object]) -> None:
        super().__init__()
        self._slot = slot
        self._carried.connect(self._deliver)

    def post(self, *args: object) -> None:
        """From any thread: ``slot(*args)`` on the GUI thread."""
        self._carried.emit(args)

    @QtCore.Slot(tuple)
    def _deliver(self, args: tuple) -> None:
        owner = getattr(self._slot, "__self__", None)
        if isinstance(owner, QtCore.QObject) and not shiboken6.isValid(owner):
            return
        self._slot(*args)
