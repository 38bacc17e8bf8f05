"""What the text of a cell means: one number as the user's locale writes it, or a pasted
block of them.

Typing, pasting and the tables all read text here, so a value is read the same way wherever
it comes from; only the locale's decimal mark is asked of Qt.
"""

from __future__ import annotations

import csv
import io
import math
import re

from PySide6 import QtCore

# Digits in groups of three with a separator, then an optional fraction and exponent.
_GROUPED = {
    sep: re.compile(
        rf"[+-]?\d{{1,3}}(?:{re.escape(sep)}\d{{3}})+(?:{re.escape(dec)}\d*)?(?:[eE][+-]?\d+)?"
    )
    for sep, dec in ((",", "."), (".", ","), ("\u00a0", ","), (" ", ","))
}


_AMBIGUOUS_POINT = re.compile(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+")


def parse_number(text: str, decimal_point: str | None = None) -> float | None:
    """A finite float from a cell's text, or None.

    Thousands separators are read as the locale means them (``decimal_point``: the user's,
    from QLocale, unless given): with a decimal point "1,000" and "2,500.5" are 1000 and
    2500.5; with a decimal comma "1.000,5" is 1000.5 and "1,5" is 1.5. A comma that cannot be
    a thousands separator ("1,5") is still a decimal comma. A number is never silently
    scaled: "1,000" is not 1.0 unless the locale writes one that way.
    """
    t = text.strip().replace("\u2212", "-")
    if not t:
        return None
    dp = decimal_point or QtCore.QLocale().decimalPoint()
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


def parse_block(text: str, decimal_point: str | None = None) -> list[list[str]]:
    """Rows of cells from pasted text, never splitting a number at its thousands separators.

    Tabs (spreadsheets) and line breaks always separate. Within a line, commas, semicolons
    and spaces separate only when the text is not one number as typing reads it
    (``parse_number``): "1,000" pasted into one cell is 1000, as typed, not 1 and 0;
    "1, 2, 3" is three cells. With several lines, each line is kept whole only if every line
    is one number whose commas are thousands groups ("1,000" above "2,500"), because in a
    locale with a decimal point "1,2" above "3,4" is a comma-separated 2×2 block.
    """
    lines = [ln for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return []
    if any("\t" in ln for ln in lines):
        return [ln.split("\t") for ln in lines]
    dp = decimal_point or QtCore.QLocale().decimalPoint()
    if len(lines) == 1 and parse_number(lines[0], dp) is not None:
        return [[lines[0]]]
    if len(lines) > 1 and all(_one_number_per_line(ln, dp) for ln in lines):
        return [[ln] for ln in lines]
    if any("," in ln for ln in lines) and not any(";" in ln for ln in lines):
        return [next(csv.reader(io.StringIO(ln), skipinitialspace=True), []) for ln in lines]
    if any(";" in ln for ln in lines):
        return [ln.split(";") for ln in lines]
    return [ln.split() for ln in lines]


def _one_number_per_line(line: str, decimal_point: str) -> bool:
    """A line of a multi-line paste that is one number, its commas (if the locale's decimal
    mark is a point) only thousands groups: "1,5" could as well be two cells."""
    if parse_number(line, decimal_point) is None:
        return False
    t = line.strip().replace("\u2212", "-")
    return decimal_point == "," or "," not in t or bool(_GROUPED[","].fullmatch(t))


class PasteError(ValueError):
    """A pasted block that cannot go where it was pasted; the message says why."""
