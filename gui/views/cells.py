"""What the text of a cell means: one number as the user's locale writes it, or a pasted
block of them.

Typing, pasting and the tables all read text here, so a value is read the same way wherever
it comes from; only the locale's decimal mark is asked of Qt.
"""

from __future__ import annotations

import csv
import io

from PySide6 import QtCore

from solver.core import numbers


def parse_number(text: str, decimal_point: str | None = None) -> float | None:
    """``solver.core.numbers.parse_number`` with the user's decimal mark (from QLocale) unless
    given."""
    return numbers.parse_number(text, decimal_point or QtCore.QLocale().decimalPoint())


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
    return decimal_point == "," or "," not in t or numbers.is_grouped(t)


class PasteError(ValueError):
    """A pasted block that cannot go where it was pasted; the message says why."""
