"""What the crosshair read-outs say: the numbers of the run under the pointer."""

from __future__ import annotations

from .texts import fmt as _fmt


def fmt(v: float) -> str:
    """A read-out's number: six digits, and inf or nan said as such."""
    return _fmt(v, 6, nonfinite=None)


def reading(src: object, value: float, what: str) -> str:
    """``value`` as a read-out shows it: 0 where it is below the run's rounding floor
    (``RunSource.below_floor``: an exact 0 read 9.71445e-17), else its 6 digits."""
    return "0" if src.below_floor(value, what) else fmt(value)
