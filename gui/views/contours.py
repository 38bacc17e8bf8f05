"""The landscape's numbers that are not the loss: the extent drawn around the iterates, and
the colours and contour levels of a loss grid (``gui.views.insight``)."""

from __future__ import annotations

import numpy as np

LOWEST_CONTOUR = 0.01  # the share of the grid inside the lowest contour line
EXTENT_MAX = 1e307  # the landscape's extent: its width and a pixel beside it stay finite

Extent = tuple[float, float, float, float]  # s0, s1, t0, t1 on the plane


def contains(extent: Extent, pts: np.ndarray) -> bool:
    """Whether every point (rows of (s, t)) lies within ``extent``."""
    x0, x1, y0, y1 = extent
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return bool(lo[0] >= x0 and hi[0] <= x1 and lo[1] >= y0 and hi[1] <= y1)


def extent_around(pts: np.ndarray) -> Extent:
    """The points' bounding box with a quarter of its size around it (a point alone: a small
    box, relative to its size)."""
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.maximum(hi - lo, 1e-3 * max(1.0, float(np.abs(pts).max())))
    with np.errstate(over="ignore", invalid="ignore"):
        # within floats, with room for the grid's half pixel: iterates near 1e308 apart
        # would make a span of inf, and the image's rectangle nan
        lo = np.clip(lo - 0.25 * span, -EXTENT_MAX, EXTENT_MAX)
        hi = np.clip(hi + 0.25 * span, -EXTENT_MAX, EXTENT_MAX)
    return (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))


def log_contours(z: np.ndarray, levels: int) -> tuple[np.ndarray, np.ndarray, list[float]] | None:
    """(colour values, contour levels among them, the loss each level is at) of the loss grid
    ``z``: log10 of the loss above the grid's lowest, so the valley's floor keeps its lines.
    None where no point of the grid is finite (a diverged run's extent)."""
    finite = np.isfinite(z)
    if not finite.any():
        return None
    lo, hi = float(z[finite].min()), float(z[finite].max())
    floor = max(1e-12, 1e-9 * hi)  # the minimum's colour: log10 of 0 would be −inf
    with np.errstate(over="ignore", invalid="ignore"):
        lz = np.log10(np.maximum(z - lo, 0) + floor)
    top = float(lz[finite].max())
    lz = np.where(finite & np.isfinite(lz), lz, top)  # off-scale points at the top colour
    # from the loss of the lowest 1 % of the grid up: lower lines would be rings inside
    # a grid cell or two around the minimum, where the grid cannot trace them
    low = float(np.quantile(lz, LOWEST_CONTOUR))
    at = np.linspace(low, top, levels + 1)[:-1]
    return lz, at, [lo + 10.0**level - floor for level in at]
