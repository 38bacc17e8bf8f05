"""The limits of every setting, in one table: the engine's session validation, the window's
panels and the headless runner all read them here, so that whatever a session may hold a
panel can show, and whatever a panel lets the user type the engine accepts.

Plain Python (no torch, no Qt). ``markdown_table`` writes the table docs/SESSIONS.md shows; a
test holds the document to it.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

from .errors import InputError, short

FLOAT_MAX = sys.float_info.max  # about 1.8e308
SMALLEST_POSITIVE = 5e-324  # the smallest positive float (a subnormal)
INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class Limit:
    """The values one setting may take: numbers from ``lo`` to ``hi`` (``lo`` itself left
    out where ``lo_open``), integers only where ``integer``; for a text, its length."""

    key: str  # the session key, or the window's name for a setting no session holds
    what: str  # in words, for the table
    lo: float
    hi: float
    integer: bool = False
    lo_open: bool = False
    text: bool = False  # the limits are on a text's length, in characters
    where: str = ""  # who applies it, for the table

    def holds(self, value: object) -> bool:
        """Whether ``value`` is within the limit (a bool is never a number here)."""
        if self.text:
            return isinstance(value, str) and self.lo <= len(value) <= self.hi
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer and not isinstance(value, int):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        above = value > self.lo if self.lo_open else value >= self.lo
        return above and value <= self.hi

    def range_text(self) -> str:
        """The allowed range in words: ">= 0 and at most 9,223,372,036,854,775,807 (2**63 -
        1)"; a text's: "from 1 to 200 characters"."""
        if self.text:
            return f"from {_num(self.lo)} to {_num(self.hi)} characters"
        return f"{'>' if self.lo_open else '>='} {_num(self.lo)} and at most {_num(self.hi)}"

    def check(self, value: object, field: str | None = None) -> None:
        """Raise InputError naming ``field`` (the key) unless ``value`` is within the limit."""
        if self.holds(value):
            return
        if self.text:
            got = f"{len(value)} characters" if isinstance(value, str) else short(value)
            raise InputError(field or self.key, f"expected {self.range_text()}, got {got}")
        kind = "an integer" if self.integer else "a finite number"
        raise InputError(
            field or self.key, f"expected {kind} {self.range_text()}, got {short(value)}"
        )


def _num(v: float) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e6:
        return str(int(v))
    if isinstance(v, float):
        return repr(v)
    return f"{v:,}" + (" (2**63 - 1)" if v == INT64_MAX else "")


LR = Limit(
    "optimizer.lr",
    "learning rate (the smallest positive float, 5e-324, is allowed)",
    0.0,
    FLOAT_MAX,
    lo_open=True,
    where="session, Solver panel, step scale",
)
# torch turns the step size into the iterate's dtype: beyond float32's largest a float32 run
# would end in a torch error at its first step instead of being refused at load
LR_FLOAT32 = Limit(
    "optimizer.lr",
    'learning rate of a `"dtype": "float32"` session',
    0.0,
    3.4028234663852886e38,
    lo_open=True,
    where="session, Solver panel",
)
MAX_ITERS = Limit(
    "stop.max_iters",
    "iterations before the run stops",
    0,
    INT64_MAX,
    integer=True,
    where="session, Solver panel",
)
TOL = Limit("stop.tol", "loss tolerance (0: never)", 0.0, FLOAT_MAX, where="session, Solver panel")
SEED = Limit(
    "init.seed",
    "seed of a random start",
    0,
    INT64_MAX,
    integer=True,
    where="session, Solver panel",
)
MOMENTUM = Limit(
    "optimizer.momentum",
    "momentum (sgd, rmsprop); torch checks the rest of its rules",
    0.0,
    FLOAT_MAX,
    where="session, Solver panel",
)
SPARSE_SIZE = Limit(
    "problem.A.shape",
    "rows or columns of a sparse matrix",
    1,
    2**31 - 1,
    integer=True,
    where="session, sparse files",
)
DENSE_ENTRIES = Limit(
    "problem.A",
    "entries of a dense matrix or vector",
    1,
    50_000_000,
    integer=True,
    where="session, matrix files",
)
SIZE_EDIT = Limit(
    "size",
    "rows or columns typed into the Problem panel's size fields",
    1,
    5000,
    integer=True,
    where="Problem panel (a larger loaded matrix is shown as it is)",
)
ENTRIES_EDIT = Limit(
    "entries",
    "entries typed into the Problem panel's Entries field (a vector's)",
    1,
    100_000,
    integer=True,
    where="Problem panel (a longer loaded vector is shown as it is)",
)
DEGREE_EDIT = Limit(
    "problem.degree",
    "polynomial degree typed into the Problem panel; a session's may reach samples − 1",
    0,
    50,
    integer=True,
    where="Problem panel (a higher loaded degree is shown as it is)",
)
TRACKED = Limit(
    "plot x",
    "components of x chosen to plot",
    1,
    32,
    integer=True,
    where="Solver panel",
)
RUN_NAME = Limit(
    "run name", "a run's name", 1, 200, text=True, where="Runs dock (rename refused beyond it)"
)
SESSION_NAME = Limit(
    "session name",
    "the session's name in the title bar (its file name or preset title)",
    1,
    200,
    text=True,
    where="title bar (a longer name is cut, ending in …)",
)
SPEED = Limit(
    "speed",
    "iterations per second of a live run (or as fast as possible)",
    2,
    10_000,
    where="run toolbar (a value between is taken to the nearest step)",
)
STEP_N = Limit(
    "step N", "iterations of Step N", 1, 1_000_000_000, integer=True, where="run toolbar"
)

LIMITS: tuple[Limit, ...] = (
    LR,
    LR_FLOAT32,
    MAX_ITERS,
    TOL,
    SEED,
    MOMENTUM,
    SPARSE_SIZE,
    DENSE_ENTRIES,
    SIZE_EDIT,
    ENTRIES_EDIT,
    DEGREE_EDIT,
    TRACKED,
    RUN_NAME,
    SESSION_NAME,
    SPEED,
    STEP_N,
)


def markdown_table() -> str:
    """The limits as the Markdown table docs/SESSIONS.md shows."""
    rows = ["| Setting | What | Allowed | Applied by |", "|---|---|---|---|"]
    for lim in LIMITS:
        rows.append(f"| `{lim.key}` | {lim.what} | {lim.range_text()} | {lim.where} |")
    return "\n".join(rows)


def cut(text: str, limit: Limit) -> str:
    """``text`` within ``limit``'s length: a longer one is cut and ends in "…" (so the cut
    shows)."""
    return text if len(text) <= limit.hi else text[: int(limit.hi) - 1] + "…"
