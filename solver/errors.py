"""The one error type user input raises, so callers can tell it from bugs."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: a session key, a matrix cell, a file, a device.

    ``field`` is the dotted path of what was wrong (``optimizer.lr``, ``problem.A[2][1]``);
    the message always starts with it so a one-line report names the culprit.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.detail = message
        super().__init__(f"{field}: {message}" if field else message)
