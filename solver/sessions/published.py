"""What a shipped example is, and how a finished run is set against the numbers its source
printed: ``Source`` (where it comes from), ``Published`` (a printed number, and how to measure
the same quantity from a run's session and final ``x``), ``Example``, and ``compare``. The
shipped examples themselves are ``solver.sessions.examples.EXAMPLES``.

Cheap to import: no torch at module level.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from solver.core.resources import examples_dir

if TYPE_CHECKING:
    from pathlib import Path

    from .session import Session

MATCH, DIFFERS = "match", "differs"
NO_NUMBER = "The source prints no number"
# A seed text with no title of its own is named by its subject, after this mark.
UNTITLED = "untitled: "


@dataclass(frozen=True)
class Source:
    """Where an example comes from: an article (its seed file name and title) and a section.
    ``article`` is None for an example that no article has (a real test matrix)."""

    article: str | None
    title: str
    section: str

    def text(self) -> str:
        """The source as a reader can look it up: the article's title (or, for a text without
        one, its subject) and the section. The seed file's name is the catalogue's key only."""
        if self.article is None:
            what = self.title
        elif self.title.startswith(UNTITLED):
            what = f"the untitled article on {self.title.removeprefix(UNTITLED)}"
        else:
            what = f"the article “{self.title}”"
        return what + (f", section “{self.section}”" if self.section else "")


@dataclass(frozen=True)
class Published:
    """One number the source printed, and how to measure it from a finished run.

    ``measure(session, x)`` gets the run's session and its final unknowns in the problem's
    shape. The source printed ``decimals`` decimals, so a run matches when its value would
    print the same: within half a unit of the last printed decimal."""

    label: str
    printed: str  # verbatim, as the source printed it
    value: float | tuple
    decimals: int
    measure: Callable[[Session, np.ndarray], float | np.ndarray]
    measures: str  # what this run's value is, in words

    @property
    def tolerance(self) -> float:
        return 0.5 * 10.0**-self.decimals


@dataclass(frozen=True)
class Example:
    """A shipped example: built from ``file`` (in ``examples_dir()``) when it has one, else from
    ``preset``. ``note`` says what the source does (not) print; ``claims`` are what it asserts
    without a number."""

    key: str
    title: str
    source: Source
    file: str | None = None
    preset: str | None = None
    published: tuple[Published, ...] = ()
    note: str = ""
    claims: tuple[str, ...] = ()

    @property
    def path(self) -> Path | None:
        return examples_dir() / self.file if self.file else None

    def build(self) -> Session:
        """The example's session (InputError when its file is missing or invalid)."""
        if self.file is not None:
            from .session import load

            return load(self.path)
        from .presets import build

        return build(self.preset)

    def tooltip(self) -> str:
        """For menus: the source, then the numbers it printed or that it prints none."""
        if self.published:
            numbers = "\n".join(f"{p.label} = {_tidy(p.printed)}" for p in self.published)
            return f"From {self.source.text()}.\nPublished:\n{numbers}"
        return f"From {self.source.text()}.\n{NO_NUMBER}."


@dataclass(frozen=True)
class Comparison:
    """A published number beside this run's. ``difference`` is this run's minus the published
    value (for arrays, the entry farthest from it); nan when the run has no finite value."""

    label: str
    published: str
    measured: str
    difference: float
    verdict: str  # MATCH | DIFFERS
    tolerance: float


@dataclass(frozen=True)
class Match:
    """The example a session is, and the settings it changed from the example's."""

    example: Example
    changed: tuple[str, ...]


def _tidy(text: str) -> str:
    # The column padding is the printer's, not the number's.
    lines = (re.sub(r"\[\s+", "[", " ".join(line.split())) for line in text.splitlines())
    return "\n".join(lines)


def _format(value: np.ndarray, decimals: int) -> str:
    if value.ndim == 0:
        # Two more decimals than the source printed, so a near miss shows how near.
        return f"{float(value):.{decimals + 2}f}"
    # A matrix at the source's own decimals, as the source shows it; the difference column
    # carries the precision.
    rows = np.atleast_2d(value)
    body = ",\n ".join("[" + ", ".join(f"{v:.{decimals}f}" for v in r) + "]" for r in rows)
    return f"[{body}]"


def compare(example: Example, session: Session, x: np.ndarray) -> list[Comparison]:
    """Every number ``example``'s source published, beside the run that ended at ``x`` (its
    final unknowns, any shape with the problem's size) with ``session``."""
    x = np.asarray(x, dtype=np.float64).reshape(session.problem.unknown_shape)
    out = []
    for p in example.published:
        with np.errstate(all="ignore"):
            measured = np.asarray(p.measure(session, x), dtype=np.float64)
            published = np.asarray(p.value, dtype=np.float64)
            delta = measured - published if measured.shape == published.shape else np.array(np.nan)
        if delta.size and np.all(np.isfinite(delta)):
            diff = float(delta.flat[int(np.argmax(np.abs(delta)))])
        else:
            diff = math.nan
        verdict = MATCH if abs(diff) < p.tolerance else DIFFERS  # nan: differs
        out.append(
            Comparison(
                p.label,
                _tidy(p.printed),
                _format(measured, p.decimals),
                diff,
                verdict,
                p.tolerance,
            )
        )
    return out
