"""What the text of a number means, as the user's locale writes it: one home for the rules
that the tables, a paste, the Solver panel's fields and CSV import all read numbers by.

Qt-free: the caller passes the locale's decimal mark (the window asks QLocale for it).
"""

from __future__ import annotations

import math
import re

# Digits in groups of three with a separator, then an optional fraction and exponent.
_GROUPED = {
    sep: re.compile(
        rf"[+-]?\d{{1,3}}(?:{re.escape(sep)}\d{{3}})+(?:{re.escape(dec)}\d*)?(?:[eE][+-]?\d+)?"
    )
    for sep, dec in ((",", "."), (".", ","), ("\u00a0", ","), (" ", ","))
}


_AMBIGUOUS_POINT = re.compile(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+")


def parse_number(text: str, decimal_point: str = ".") -> float | None:
    """A finite float from a cell's text, or None.

    Thousands separators are read as the locale means them (``decimal_point``: the user's):
    with a decimal point "1,000" and "2,500.5" are 1000 and 2500.5; with a decimal comma
    "1.000,5" is 1000.5 and "1,5" is 1.5. A comma that cannot be a thousands separator
    ("1,5") is still a decimal comma. A number is never silently scaled: "1,000" is not 1.0
    unless the locale writes one that way.
    """
    t = text.strip().replace("\u2212", "-")
    if not t:
        return None
    dp = decimal_point
    if dp == "," and _AMBIGUOUS_POINT.fullmatch(t):
        return None  # "1.000" where a decimal comma is usual: 1 or 1000? Refused, not guessed.
    try:
        v = float(t)
    except ValueError:
        if dp == ",":
            for sep in (".", "\u00a0", " "):
                if _GROUPED[sep].fullmatch(t):
                    t = t.replace(sep, "")
                    break
            t = t.replace(",", ".") if t.count(",") == 1 else t
        elif _GROUPED[","].fullmatch(t):
            t = t.replace(",", "")
        elif t.count(",") == 1 and "." not in t:
            t = t.replace(",", ".")
        try:
            v = float(t)
        except ValueError:
            return None
    return v if math.isfinite(v) else None


def read_number(text: str, decimal_point: str = ".") -> float | None:
    """A field's or a file's number: as Python reads it (``inf`` and ``nan`` too, for the
    checks that name them), else as the locale writes it (``parse_number``: "0,05", "1,000");
    None when it is neither. A text Python reads keeps the value it always had."""
    t = text.strip()
    try:
        return float(t)
    except ValueError:
        return parse_number(t, decimal_point)


def is_grouped(text: str) -> bool:
    """Whether ``text`` is a number whose commas group its digits in thousands ("2,500.5")."""
    return bool(_GROUPED[","].fullmatch(text))
