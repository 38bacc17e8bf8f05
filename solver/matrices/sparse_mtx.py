"""Matrix Market coordinate files, parsed by numpy over whole chunks of bytes.

scipy's reader is fast but reports a bad line in its own words (or, for some files, crashes),
and a Python loop per line would take seconds on the 100,000-unknown preset; so the body is
split and converted in bulk, and only a chunk that fails is walked again to name its line.
Used by ``solver.matrices.sparseio``, which checks paths and limits and holds the shared helpers.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from solver.core.errors import InputError, key_text, short

from .sparse_limits import (
    MAX_DIMENSION,
    MAX_NONZEROS,
    SparseHeader,
    canonical,
    check_limits,
    csr_bytes,
)

if TYPE_CHECKING:
    import scipy.sparse

# Parsing a Matrix Market body: the coordinates gathered from the chunks (16 bytes an entry),
# their concatenation (16 more) and the expansion of a symmetric file's triangle.
_MTX_PARSE_BYTES_PER_ENTRY = 48
# Parsing one chunk of text holds its tokens as Python bytes objects and numpy's token and line
# positions: measured at about 14 bytes a byte of text; 20 leaves room.
_CHUNK_BYTES_FACTOR = 20
_CHUNK = 8 * 2**20

# A header line longer than this is not a header: refuse rather than read a whole file as one.
_MAX_HEADER_LINE = 64 * 1024

FIELDS = ("real", "integer", "pattern", "double")
SYMMETRIES = ("general", "symmetric", "skew-symmetric")

_BANNER = "%%MatrixMarket matrix coordinate real general"

# Exactly the bytes that bytes.split() splits on, so numpy's token count matches its tokens.
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[9, 10, 11, 12, 13, 32]] = True

# A comment line in the body is blanked, not removed, so that line numbers stay the file's.
_COMMENT_LINE = re.compile(rb"(?m)^[ \t\r\x0b\x0c]*%[^\n]*")


def load_mtx(path: Path, field: str) -> scipy.sparse.csr_array:
    import scipy.sparse as sp

    name = path.name
    with path.open("rb") as fh:
        head, size_line = mtx_header(fh, path, field)
        body = fh.read()
    k = 2 if head.field == "pattern" else 3
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    lines_seen = 0
    for chunk, line in _chunks(body, size_line + 1):
        part = _parse_chunk(chunk, line, k, head, name, field)
        lines_seen += part[0].size
        parts.append(part)
    del body
    if lines_seen != head.nnz:
        raise InputError(
            field,
            f"{name}: its header (line {size_line}) says {head.nnz:,} entries, "
            f"but the file has {lines_seen:,} entry line{'' if lines_seen == 1 else 's'}",
        )
    if parts:
        r, c, v = (np.concatenate(p) for p in zip(*parts, strict=True))
    else:
        r = c = np.zeros(0, dtype=np.int32)
        v = np.zeros(0)
    del parts
    if head.symmetry != "general":
        off = r != c
        loaded = r.size + int(np.count_nonzero(off))
        if loaded > MAX_NONZEROS:
            raise InputError(
                field,
                f"{name}: its {r.size:,} entries of one triangle make {loaded:,} entries of "
                f"the whole matrix; at most {MAX_NONZEROS:,} are supported",
            )
        sign = -1.0 if head.symmetry == "skew-symmetric" else 1.0
        r, c, v = (
            np.concatenate((r, c[off])),
            np.concatenate((c, r[off])),
            np.concatenate((v, sign * v[off])),
        )
    # coo -> csr sums duplicates (Matrix Market's meaning of a repeated entry) and sorts.
    coo = sp.coo_array((v, (r, c)), shape=head.shape)
    return canonical(coo.tocsr())


def mtx_header(fh: BinaryIO, path: Path, field: str) -> tuple[SparseHeader, int]:
    """Read the banner and the size line, leaving ``fh`` at the body; the header and the size
    line's number. Refuses what the header alone shows to be wrong or too large."""
    name = path.name
    first = fh.readline(_MAX_HEADER_LINE).removeprefix(codecs.BOM_UTF8)  # some editors add it
    if not first:
        raise InputError(field, f"{name}: is empty; expected a banner like {_BANNER!r}")
    tokens = [t.decode("utf-8", "replace") for t in first.split()]
    if not tokens or tokens[0].lower() != "%%matrixmarket":
        raise InputError(
            field,
            f"{name}: line 1: not a Matrix Market file: it must start with a banner like "
            f"{_BANNER!r}, got {short(first.decode('utf-8', 'replace').strip())}",
        )
    if len(tokens) != 5:
        raise InputError(
            field,
            f"{name}: line 1: malformed banner {short(' '.join(tokens))}; "
            f"expected 5 words like {_BANNER!r}",
        )
    obj, layout, kind, symmetry = (t.lower() for t in tokens[1:])
    if obj != "matrix":
        raise InputError(field, f"{name}: line 1: holds a {key_text(obj)}; expected a matrix")
    if layout == "array":
        raise InputError(
            field,
            f"{name}: is a dense Matrix Market file (array layout), not a sparse coordinate "
            "one; it is read by the dense loader",
        )
    if layout != "coordinate":
        raise InputError(
            field, f"{name}: line 1: layout {key_text(layout)} is neither coordinate nor array"
        )
    if kind == "complex" or symmetry == "hermitian":
        raise InputError(field, f"{name}: line 1: complex entries are not supported")
    if kind not in FIELDS:
        raise InputError(
            field, f"{name}: line 1: field {key_text(kind)} is not one of {', '.join(FIELDS)}"
        )
    if symmetry not in SYMMETRIES:
        raise InputError(
            field,
            f"{name}: line 1: symmetry {key_text(symmetry)} is not one of {', '.join(SYMMETRIES)}",
        )
    if kind == "pattern" and symmetry == "skew-symmetric":
        raise InputError(
            field, f"{name}: line 1: a pattern matrix cannot be skew-symmetric (no signs)"
        )
    kind = "real" if kind == "double" else kind

    line_no = 1
    while True:
        line = fh.readline(_MAX_HEADER_LINE)
        line_no += 1
        if not line:
            raise InputError(
                field, f"{name}: has no size line (rows, columns, entries) after its banner"
            )
        text = line.strip()
        if text.startswith(b"%"):
            while not line.endswith(b"\n") and line:  # a comment longer than the read limit
                line = fh.readline(_MAX_HEADER_LINE)
            continue
        if text:
            break
    if not line.endswith(b"\n") and len(line) >= _MAX_HEADER_LINE:
        raise InputError(field, f"{name}: line {line_no}: a size line of over 64 KiB")
    words = text.split()
    try:
        rows, cols, nnz = (int(w) for w in words)
    except ValueError:
        raise InputError(
            field,
            f"{name}: line {line_no}: size line {short(text.decode('utf-8', 'replace'))} "
            "should be three integers: rows, columns, entries",
        ) from None
    where = f"{name}: line {line_no}"
    if not (1 <= rows <= MAX_DIMENSION and 1 <= cols <= MAX_DIMENSION):
        raise InputError(
            field,
            f"{where}: size {rows} x {cols}: rows and columns must be between 1 and "
            f"{MAX_DIMENSION:,}",
        )
    if nnz < 0:
        raise InputError(field, f"{where}: the entry count {nnz} is negative")
    if symmetry != "general" and rows != cols:
        raise InputError(field, f"{where}: a {symmetry} matrix must be square, not {rows} x {cols}")
    head = SparseHeader(rows, cols, nnz, symmetry, kind)
    body_bytes = max(0, path.stat().st_size - fh.tell())
    loaded = nnz if symmetry == "general" else 2 * nnz
    estimate = (
        body_bytes
        + min(body_bytes, _CHUNK) * _CHUNK_BYTES_FACTOR
        + nnz * _MTX_PARSE_BYTES_PER_ENTRY
        + csr_bytes(rows, loaded)
    )
    check_limits(head, estimate, field, f"{where}: its size line says")
    return head, line_no


def _chunks(body: bytes, first_line: int):
    """Cut the body at line ends into pieces of about _CHUNK bytes, each with the file line
    number it starts on: parsing holds a piece's tokens as Python objects (about 40 bytes a
    token), which for a whole 20M-entry body would be gigabytes."""
    start, line = 0, first_line
    while start < len(body):
        end = body.find(b"\n", start + _CHUNK)
        end = len(body) if end < 0 else end + 1
        chunk = body[start:end]
        yield chunk, line
        line += chunk.count(b"\n")
        start = end


def _parse_chunk(
    chunk: bytes, first_line: int, k: int, head: SparseHeader, name: str, field: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """0-based int32 rows and columns and float64 values of one piece of body, every entry
    checked; an InputError names the first bad line of the kind it finds."""
    if b"%" in chunk:
        chunk = _COMMENT_LINE.sub(b"", chunk)
    buf = np.frombuffer(chunk, dtype=np.uint8)
    space = _WHITESPACE[buf]
    starts = ~space
    starts[1:] &= space[:-1]
    starts = np.flatnonzero(starts)
    if starts.size == 0:
        empty = np.zeros(0, dtype=np.int32)
        return empty, empty, np.zeros(0)
    # Each token's line is the count of line ends before it; a line's tokens are consecutive.
    line_of = np.searchsorted(np.flatnonzero(buf == 10), starts)
    del buf, space, starts
    firsts = np.concatenate(([0], np.flatnonzero(np.diff(line_of)) + 1))
    counts = np.diff(np.append(firsts, line_of.size))
    lines = line_of[firsts] + first_line
    del line_of
    bad = np.flatnonzero(counts != k)
    if bad.size:
        i = bad[0]
        want = "row, column" if k == 2 else "row, column, value"
        raise InputError(
            field, f"{name}: line {lines[i]}: expected {k} fields ({want}), got {counts[i]}"
        )
    tokens = chunk.split()
    at = f"{name}: line"
    r = _integers(tokens[0::k], lines, f"{at} {{}}: row index {{}}", head.rows, field)
    c = _integers(tokens[1::k], lines, f"{at} {{}}: column index {{}}", head.cols, field)
    if k == 2:
        v = np.ones(r.size)
    elif head.field == "integer":
        v = _integers(tokens[2::k], lines, f"{at} {{}}: value {{}}", None, field).astype(float)
    else:
        v = _floats(tokens[2::k], lines, f"{at} {{}}: value {{}}", field)
    if head.symmetry != "general":
        # The file lists one triangle and the reader mirrors it: an entry above the diagonal
        # would be silently added to its mirror's, so the matrix would not be the file's.
        upper = np.flatnonzero(c > r)
        if upper.size:
            i = upper[0]
            raise InputError(
                field,
                f"{at} {lines[i]}: entry ({r[i]}, {c[i]}) is above the diagonal of a "
                f"{head.symmetry} matrix, whose file lists only the lower triangle "
                "(row ≥ column)",
            )
    if head.symmetry == "skew-symmetric":
        diag = np.flatnonzero((r == c) & (v != 0))
        if diag.size:
            i = diag[0]
            raise InputError(
                field,
                f"{at} {lines[i]}: entry ({r[i]}, {c[i]}) is on the diagonal of a "
                "skew-symmetric matrix, which must be zero",
            )
    return (r - 1).astype(np.int32), (c - 1).astype(np.int32), v


def _integers(
    tokens: list[bytes], lines: np.ndarray, what: str, top: int | None, field: str
) -> np.ndarray:
    """The tokens as int64, each within 1..top when ``top`` is given; ``what`` formats a
    message from the line and the token."""
    try:
        out = np.array(tokens).astype(np.int64)
    except (ValueError, OverflowError):
        # Found one token at a time only now that numpy has said one is bad: naming its line.
        for i, tok in enumerate(tokens):
            text = key_text(tok.decode("utf-8", "replace"))
            try:
                value = int(tok)
            except ValueError:
                raise InputError(
                    field, what.format(lines[i], f"{text} is not an integer")
                ) from None
            if not -(2**63) <= value < 2**63:
                raise InputError(field, what.format(lines[i], f"{text} is out of range")) from None
        raise
    if top is not None:
        bad = np.flatnonzero((out < 1) | (out > top))
        if bad.size:
            i = bad[0]
            raise InputError(field, what.format(lines[i], f"{out[i]} is outside 1..{top}"))
    return out


def _floats(tokens: list[bytes], lines: np.ndarray, what: str, field: str) -> np.ndarray:
    """The tokens as finite float64; ``what`` formats a message from the line and the token."""
    try:
        out = np.array(tokens).astype(np.float64)
    except ValueError:
        for i, tok in enumerate(tokens):
            try:
                float(tok)
            except ValueError:
                text = key_text(tok.decode("utf-8", "replace"))
                raise InputError(field, what.format(lines[i], f"{text} is not a number")) from None
        raise
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        i = bad[0]
        text = key_text(tokens[i].decode("utf-8", "replace"))
        raise InputError(field, what.format(lines[i], f"{text} is not finite"))
    return out


# --- scipy's .npz ---------------------------------------------------------------------------

# The arrays save_npz writes for each format (coo: row and col, or coords for n-D).
