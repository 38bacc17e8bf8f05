"""The error types of the solver: bad user input, and work a caller cancelled."""

from __future__ import annotations

import math
import threading

import numpy as np


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


def short(value: object) -> str:
    """A bounded description of a value for a one-line message: never the repr of a huge
    matrix, a 2 MB string or a 400-digit integer."""
    if isinstance(value, list | tuple | np.ndarray) and len(value) > 8:
        return f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, dict) and len(value) > 8:
        return f"an object of {len(value)} keys"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**60:
        return f"an integer of {len(str(abs(value)))} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_finite_number(value: object) -> bool:
    """An int or float (not a bool) that a float can hold and that is finite."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float's range (10**400)
        return False


def key_text(key: object) -> str:
    """A key as it may appear in a field name: itself when it is a short printable name,
    else a bounded repr (a key can be any string a JSON file holds, newlines included)."""
    if isinstance(key, str) and key.isprintable() and 0 < len(key) <= 40:
        return key
    return short(key)
