"""Numbers as the window writes them: the one home of that rule for every view (a view that
needs it imports it from here, never from another view)."""

from __future__ import annotations

import math

MISSING = "—"


def fmt(v: float | None, digits: int = 4, nonfinite: str | None = MISSING) -> str:
    """``v`` to ``digits`` significant digits. None, and a value that is not finite, as
    ``nonfinite``; ``nonfinite=None`` spells the latter as Python does ("inf", "nan"): a
    plot's read-out at a point that diverged says so."""
    if v is None:
        return MISSING
    if not math.isfinite(v):
        return str(v) if nonfinite is None else nonfinite
    return f"{v:.{digits}g}"
