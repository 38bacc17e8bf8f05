"""What the plots do not draw of a diverged run: components far beyond the start and the
solution leave the plot at its edge, and a note says where the drawing stopped."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

# Components beyond this many times the size of the start and of the solution are not drawn:
# a run left to overflow reached ±4e153 on the 3x3, and an axis that wide shows nothing of
# the iterations before it (nor can an alternating sign be drawn there but as a solid block).
CLIP = 1e3


def component_limit(start: np.ndarray, exact: np.ndarray) -> float:
    """How far the components may go and still be drawn: ``CLIP`` times the largest finite
    magnitude of the start and of the solution (of 1 when both are 0)."""
    both = np.abs(np.concatenate([np.ravel(start), np.ravel(exact)]).astype(float))
    both = both[np.isfinite(both)]
    size = float(both.max()) if both.size else 0.0
    return CLIP * (size if size > 0 else 1.0)


def within_limit(ys: np.ndarray, limit: float) -> tuple[np.ndarray, bool]:
    """``ys`` with the values beyond ±``limit`` left out (nan), but for those beside a value
    within it, put at the edge: each curve leaves the plot where it went past, then stops."""
    with np.errstate(invalid="ignore"):
        big = np.abs(ys) > limit
    if not big.any():
        return ys, False
    inside = np.isfinite(ys) & ~big
    beside = np.zeros_like(inside)
    beside[1:] |= inside[:-1]
    beside[:-1] |= inside[1:]
    edge = np.sign(ys) * limit
    return np.where(big, np.where(beside, edge, np.nan), ys), True


def clip_heights(
    values: np.ndarray, start: np.ndarray, exact: np.ndarray
) -> tuple[np.ndarray, float | None]:
    """Bar heights with those beyond ``component_limit`` (or not finite) put at the edge, and
    that limit where any was (else None): a diverged x drawn to scale would flatten the exact
    answer's bars to nothing."""
    v, limit = np.asarray(values, float), component_limit(start, exact)
    with np.errstate(invalid="ignore"):
        big = ~(np.abs(v) <= limit)
    if not big.any():
        return v, None
    return np.where(big, np.copysign(limit, np.nan_to_num(v, nan=0.0)), v), limit


def say_clipped(
    view: pg.ViewBox | None, note: pg.LabelItem | None, limit: float | None
) -> pg.LabelItem | None:
    """Show (``limit``) or hide (None) the red note at the top left of ``view`` that says
    what was not drawn; returns the note, made on first need."""
    if note is None:
        if limit is None or view is None:
            return None
        note = pg.LabelItem(color="#b91c1c", size="8pt")
        note.setParentItem(view)
        note.anchor(itemPos=(0, 0), parentPos=(0, 0), offset=(4, 2))
    if limit is not None:
        note.setText(f"not drawn beyond ±{limit:.3g}: the run diverged")
    note.setVisible(limit is not None)
    return note
