"""An array's content as bytes to hash, without copying it.

``tobytes()`` copies the whole array while holding the interpreter lock: for a 5000 × 5000
matrix about 0.1 s in which no other thread of the app, the window's included, could run
(the autosave and the analysis cache hash every problem on their own threads). A hash
object reads a buffer with the lock released.
"""

from __future__ import annotations

import numpy as np


def raw_bytes(a: np.ndarray, dtype: type | None = None) -> memoryview:
    """``a``'s elements (as ``dtype`` when given) in C order: the bytes ``tobytes`` would
    give, as a view when ``a`` is already contiguous in that type."""
    flat = np.ascontiguousarray(a, dtype=dtype).reshape(-1)
    return memoryview(flat.view(np.uint8))
