"""scipy ``save_npz`` files, checked member by member before anything is built.

Each array's shape is read from its .npy header inside the zip (its data stays unread) and
checked against the limits and the format before scipy is handed the arrays. Used by
``solver.matrices.sparseio``, which holds the shared checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from solver.core.errors import InputError, key_text, short
from solver.core.fileguard import npy_header

from .sparse_limits import (
    MAX_DIMENSION,
    NPZ_FORMATS,
    SparseHeader,
    canonical,
    check_limits,
    check_range,
    csr_bytes,
    finite,
)

if TYPE_CHECKING:
    import scipy.sparse


_NPZ_KEYS = {
    "csr": ("data", "indices", "indptr"),
    "csc": ("data", "indices", "indptr"),
    "bsr": ("data", "indices", "indptr"),
    "dia": ("data", "offsets"),
    "coo": ("data", "row", "col"),
}
_INDEX_KEYS = ("indices", "indptr", "offsets", "row", "col", "coords")


@dataclass(frozen=True)
class _NpzLayout:
    header: SparseHeader
    format: str
    keys: tuple[str, ...]
    shapes: dict[str, tuple[int, ...]]


def npz_source(path: Path, field: str) -> Path:
    """``path`` when it is a zip; np.load would otherwise read a .npy as a lone array, or try
    to unpickle anything else, and report either in words about pickles."""
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise InputError(
            field,
            f"{path.name}: is not a .npz file (a zip of NumPy arrays, as "
            "scipy.sparse.save_npz writes)",
        )
    return path


def load_npz(path: Path, field: str) -> scipy.sparse.csr_array:
    import scipy.sparse as sp

    name = path.name
    with np.load(npz_source(path, field), allow_pickle=False) as npz:
        layout = npz_layout(npz, name, field)
        arrays = {key: npz[key] for key in layout.keys}
    for key, arr in arrays.items():
        # np.load honours the member's own header; it must be the one checked above.
        if arr.shape != layout.shapes[key]:
            raise InputError(field, f"{name}: its {key!r} array changed shape while read")
    fmt, head = layout.format, layout.header
    rows, cols = head.shape
    data = arrays["data"]
    if fmt in ("csr", "csc", "bsr"):
        if fmt == "bsr":
            _, br, bc = data.shape
            minor = cols // bc
        else:
            minor = cols if fmt == "csr" else rows
        _check_compressed(arrays["indptr"], arrays["indices"], minor, fmt, name, field)
    elif fmt == "coo":
        if "coords" in arrays:
            row, col = arrays["coords"][0], arrays["coords"][1]
        else:
            row, col = arrays["row"], arrays["col"]
        check_range(row, rows, "row", name, field)
        check_range(col, cols, "col", name, field)
    if fmt != "dia":  # a dia file's padding outside the matrix is never read; checked below
        data = finite(data, f"{name}: its 'data'", field)
    shape = (rows, cols)
    if fmt == "csr":
        m = sp.csr_array((data, arrays["indices"], arrays["indptr"]), shape=shape)
    elif fmt == "csc":
        m = sp.csc_array((data, arrays["indices"], arrays["indptr"]), shape=shape).tocsr()
    elif fmt == "coo":
        m = sp.coo_array((data, (row, col)), shape=shape).tocsr()
    elif fmt == "bsr":
        m = sp.bsr_array((data, arrays["indices"], arrays["indptr"]), shape=shape).tocsr()
    else:
        m = sp.dia_array((data, arrays["offsets"]), shape=shape).tocsr()
        m.data = finite(m.data, f"{name}: its 'data' (inside the matrix)", field)
    return canonical(m)


def npz_layout(npz: np.lib.npyio.NpzFile, name: str, field: str) -> _NpzLayout:
    """Format, shape and member shapes of a save_npz file from the members' headers, checked
    for agreement and against the limits; only the tiny 'format' and 'shape' are read."""
    keys = set(npz.files)
    if "format" not in keys or "shape" not in keys:
        raise InputError(
            field,
            f"{name}: is not a scipy.sparse file (as save_npz writes): it has no 'format' "
            f"and 'shape' arrays; it holds {short(sorted(keys))}",
        )
    meta = {key: _member_header(npz, key, name, field) for key in keys}

    def small(key: str) -> np.ndarray:
        if int(np.prod(meta[key][0])) > 8:
            raise InputError(field, f"{name}: its {key!r} has shape {meta[key][0]}")
        return npz[key]

    raw = small("format")
    if raw.dtype.kind not in "SU" or raw.size != 1:
        raise InputError(field, f"{name}: its 'format' is not a name (type {raw.dtype})")
    item = raw.reshape(-1)[0]
    fmt = (item.decode("ascii", "replace") if isinstance(item, bytes) else str(item)).lower()
    if fmt not in NPZ_FORMATS:
        raise InputError(
            field, f"{name}: format {key_text(fmt)} is not one of {', '.join(NPZ_FORMATS)}"
        )
    shape = small("shape")
    if shape.dtype.kind not in "iu" or shape.ndim != 1:
        raise InputError(field, f"{name}: its 'shape' is not a list of integers")
    if shape.size != 2:
        raise InputError(
            field,
            f"{name}: holds a {shape.size}-D sparse array {tuple(shape.tolist())}; "
            "expected a 2-D matrix",
        )
    rows, cols = (int(d) for d in shape)
    if not (1 <= rows <= MAX_DIMENSION and 1 <= cols <= MAX_DIMENSION):
        raise InputError(
            field,
            f"{name}: shape {rows} x {cols}: rows and columns must be between 1 and "
            f"{MAX_DIMENSION:,}",
        )
    need = _NPZ_KEYS[fmt]
    if fmt == "coo" and "coords" in keys and not {"row", "col"} <= keys:
        need = ("data", "coords")
    missing = [key for key in need if key not in keys]
    if missing:
        raise InputError(
            field, f"{name}: a {fmt} file without its {', '.join(map(repr, missing))} array"
        )
    shapes = {key: meta[key][0] for key in need}
    for key in need:
        kind = meta[key][1].kind
        if key in _INDEX_KEYS and kind not in "iu":
            raise InputError(field, f"{name}: its {key!r} holds {meta[key][1]}, not integers")
    kind = meta["data"][1].kind
    if kind == "c":
        raise InputError(field, f"{name}: complex entries are not supported")
    if kind not in "biuf":
        raise InputError(field, f"{name}: its 'data' holds {meta['data'][1]}, not numbers")

    def expect(ok: bool, what: str) -> None:
        if not ok:
            got = ", ".join(f"{key} {shapes[key]}" for key in need)
            raise InputError(field, f"{name}: {what} ({fmt} {rows} x {cols}: {got})")

    data = shapes["data"]
    if fmt in ("csr", "csc"):
        major = rows if fmt == "csr" else cols
        expect(len(data) == 1, "its 'data' is not 1-D")
        nnz = data[0]
        expect(shapes["indices"] == (nnz,), "its 'indices' and 'data' differ in length")
        expect(shapes["indptr"] == (major + 1,), f"its 'indptr' should hold {major + 1} entries")
    elif fmt == "bsr":
        expect(len(data) == 3 and min(data[1:], default=0) >= 1, "its 'data' is not blocks")
        blocks, br, bc = data
        expect(rows % br == 0 and cols % bc == 0, f"its {br} x {bc} blocks do not tile it")
        nnz = blocks * br * bc
        expect(shapes["indices"] == (blocks,), "its 'indices' and blocks differ in number")
        expect(
            shapes["indptr"] == (rows // br + 1,),
            f"its 'indptr' should hold {rows // br + 1} entries",
        )
    elif fmt == "coo":
        expect(len(data) == 1, "its 'data' is not 1-D")
        nnz = data[0]
        if "coords" in shapes:
            expect(shapes["coords"] == (2, nnz), "its 'coords' and 'data' differ in shape")
        else:
            expect(shapes["row"] == shapes["col"] == (nnz,), "its 'row', 'col', 'data' differ")
    else:
        expect(len(data) == 2, "its 'data' is not 2-D (diagonals x length)")
        diagonals, width = data
        expect(shapes["offsets"] == (diagonals,), "its 'offsets' and diagonals differ in number")
        nnz = diagonals * min(width, rows, cols)
    field_word = {"b": "pattern", "i": "integer", "u": "integer"}.get(kind, "real")
    head = SparseHeader(rows, cols, int(nnz), "general", field_word)
    stored = sum(int(np.prod(shapes[key])) * meta[key][1].itemsize for key in need)
    check_limits(head, stored + csr_bytes(rows, int(nnz)), field, f"{name}: its header says")
    for key in need:
        claimed = int(np.prod(shapes[key])) * meta[key][1].itemsize
        if claimed > meta[key][2]:
            # np.load would allocate what the header claims before finding the data missing
            raise InputError(
                field,
                f"{name}: its {key!r} header says {shapes[key]} {meta[key][1]} "
                f"({claimed:,} bytes), but the member holds {meta[key][2]:,} bytes of data",
            )
    return _NpzLayout(head, fmt, need, shapes)


def _member_header(
    npz: np.lib.npyio.NpzFile, key: str, name: str, field: str
) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape and dtype of one member from its .npy header, and the bytes of data the member
    holds after that header (the zip's own record), its data left unread."""
    member = key + ".npy" if key + ".npy" in npz.zip.namelist() else key
    with npz.zip.open(member) as fh:
        shape, dtype = npy_header(fh)
        data_bytes = npz.zip.getinfo(member).file_size - fh.tell()
    if dtype.hasobject:
        raise InputError(field, f"{name}: its {key!r} holds Python objects; it is not data")
    return shape, dtype, max(data_bytes, 0)


def _check_compressed(
    indptr: np.ndarray,
    indices: np.ndarray,
    minor: int,
    fmt: str,
    name: str,
    field: str,
) -> None:
    """A compressed (csr/csc/bsr) index structure scipy can trust: its constructor checks
    lengths only, and an index out of range would read or write past an array later."""
    nnz = indices.size
    if indptr[0] != 0:
        raise InputError(field, f"{name}: its 'indptr' starts at {indptr[0]}, not 0")
    steps = np.flatnonzero(np.diff(indptr.astype(np.int64)) < 0)
    if steps.size:
        raise InputError(field, f"{name}: its 'indptr' decreases after position {steps[0]}")
    if indptr[-1] != nnz:
        raise InputError(
            field, f"{name}: its 'indptr' ends at {indptr[-1]}, but it holds {nnz} entries"
        )
    side = {"csr": "column", "csc": "row", "bsr": "block column"}[fmt]
    check_range(indices, minor, "indices", name, field, side)
