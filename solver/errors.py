"""The error types of the solver: bad user input, and work a caller cancelled."""

from __future__ import annotations

import threading


class InputError(ValueError):
    """Bad user input: a session key, a matrix cell, a file, a device.

    ``field`` is the dotted path of what was wrong (``optimizer.lr``, ``problem.A[2][1]``);
    the message always starts with it so a one-line report names the culprit.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.detail = message
        super().__init__(f"{field}: {message}" if field else message)


class Cancelled(Exception):
    """Long work (an analysis) stopped because its caller set the cancel event.

    Not an InputError: nothing about the input was wrong, and a caller that reports bad input
    must not report this as such.
    """

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)


def check_cancel(cancel: threading.Event | None) -> None:
    """Raise Cancelled if ``cancel`` is set; long loops call this once per pass."""
    if cancel is not None and cancel.is_set():
        raise Cancelled()
