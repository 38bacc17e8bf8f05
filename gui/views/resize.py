"""A problem resized from its size boxes: the new arrays, built off the GUI thread when
they are large.

Typing 5000 into the size boxes froze the window for 2.7-6 s: the 5000 × 5000 table was
allocated and filled on the GUI thread (and then copied twice more to build the problem).
Up to ``RESIZE_SYNC_CELLS`` cells that is well under a frame and happens at once; beyond it
a plain thread builds the arrays and a queued signal hands them back.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import numpy as np
from PySide6 import QtCore, QtWidgets

# About 25 ms of allocating and copying on this project's machines (2.7 s for 25M cells).
RESIZE_SYNC_CELLS = 250_000


def resized(
    old: Mapping[str, np.ndarray], shapes: Mapping[str, tuple[int, int]], identity: set[str]
) -> dict[str, np.ndarray]:
    """Each of ``old``'s 2-D arrays at its new shape: grown with zeros, or cut; kept cells
    keep their values. Arrays named in ``identity`` get ones on their new diagonal, so a
    grown square matrix stays invertible. An array whose shape does not change is not
    copied."""
    out = {}
    for key, (rows, cols) in shapes.items():
        a = old[key]
        if a.shape == (rows, cols):
            out[key] = a
            continue
        new = np.zeros((rows, cols))
        r, c = min(rows, a.shape[0]), min(cols, a.shape[1])
        new[:r, :c] = a[:r, :c]
        if key in identity and rows > a.shape[0]:
            grown = np.arange(a.shape[0], rows)
            new[grown, grown] = 1.0
        out[key] = new
    return out


class Resizer(QtCore.QObject):
    """Runs ``resized`` at once for small shapes and on a plain thread for large ones;
    ``done`` delivers the arrays on the GUI thread. Only the latest request is delivered:
    ``cancel`` (a new problem shown meanwhile) drops one in flight."""

    done = QtCore.Signal(object)  # dict of arrays
    failed = QtCore.Signal(str)  # no memory for them
    _relay = QtCore.Signal(int, object)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._gen = 0
        self._held: list[tuple[QtWidgets.QWidget, bool]] = []
        self._relay.connect(self._deliver, QtCore.Qt.QueuedConnection)

    @property
    def busy(self) -> bool:
        """Whether a resize is on its thread."""
        return bool(self._held)

    def start(
        self,
        old: Mapping[str, np.ndarray],
        shapes: Mapping[str, tuple[int, int]],
        identity: set[str],
        held: Sequence[QtWidgets.QWidget] = (),
    ) -> bool:
        """Resize; True when it went to a thread (``done`` follows), False when it was done
        at once (``done`` already emitted). ``held``: widgets disabled until it is done
        (then as they were), so nothing is edited that the result would overwrite."""
        self.cancel()
        if sum(r * c for r, c in shapes.values()) <= RESIZE_SYNC_CELLS:
            self.done.emit(resized(old, shapes, identity))
            return False
        gen = self._gen
        old, shapes = dict(old), dict(shapes)
        self._held = [(w, w.isEnabled()) for w in held]
        for w in held:
            w.setEnabled(False)

        def work() -> None:
            try:
                self._relay.emit(gen, resized(old, shapes, identity))
            except MemoryError:  # the tables stay as they are, and say so
                self._relay.emit(gen, None)

        threading.Thread(target=work, name="resize-tables", daemon=True).start()
        return True

    def cancel(self) -> None:
        """Drop a resize in flight (a new problem is shown); its widgets come back."""
        self._gen += 1
        for w, enabled in self._held:
            w.setEnabled(enabled)
        self._held = []

    def _deliver(self, gen: int, arrays: object) -> None:
        if gen != self._gen:
            return  # a newer problem or size replaced this one
        self.cancel()
        if arrays is None:
            self.failed.emit("not enough memory for tables of that size; they are as they were")
        else:
            self.done.emit(arrays)
