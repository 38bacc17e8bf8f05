"""Matrix files in and out: Matrix Market, CSV and NumPy. Files are data, never code.

scipy (for Matrix Market) is imported when such a file is read or written: checking an array
is needed by everything that describes a problem, and must stay cheap to import.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from solver.core import limits
from solver.core.errors import InputError, short
from solver.core.fileguard import MATRIX_MAX_BYTES, check_file, npy_header
from solver.core.numbers import read_number

SUPPORTED = (".mtx", ".csv", ".npy")

# Dense arrays beyond this many entries would not fit the app's working set comfortably.
MAX_ENTRIES = int(limits.DENSE_ENTRIES.hi)


def check_array(value: np.ndarray, field: str, ndim: tuple[int, ...] = (1, 2)) -> np.ndarray:
    """Return ``value`` as a finite float64 array of an allowed rank, or raise InputError."""
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise InputError(field, f"expected numbers, got entries of type {arr.dtype}")
    if np.iscomplexobj(arr):
        raise InputError(field, "complex entries are not supported")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        raise InputError(field, f"expected a {want} array, got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(field, "is empty")
    if arr.size > MAX_ENTRIES:
        raise InputError(field, f"has {arr.size} entries; at most {MAX_ENTRIES} are supported")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(field, f"entry {list(where)} is {arr[where]}; every entry must be finite")
    return arr


def _read_csv(path: Path) -> np.ndarray:
    text = path.read_text(encoding="utf-8-sig")
    head = [ln for ln in text[:4096].splitlines() if ln.strip()]
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t ")
        delim = dialect.delimiter
    except csv.Error:
        delim = ","
    if head and all(";" in ln for ln in head):
        # "1,5;2": semicolons separate where commas are decimal marks (the sniffer, seeing
        # one comma a line, may take them for the separator); any other reading of such a
        # file would leave a semicolon inside a number
        delim = ";"
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delim, skipinitialspace=True)]
    rows = [[c for c in r if c.strip() != ""] if delim == " " else r for r in rows]
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise ValueError("no rows")
    width = len(rows[0])
    out = np.empty((len(rows), width))
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"row {i + 1} has {len(row)} values, row 1 has {width}")
        for j, cell in enumerate(row):
            # a file separated by semicolons is one whose numbers may have decimal commas
            value = read_number(cell, "," if delim == ";" else ".")
            if value is None:
                raise ValueError(f"row {i + 1}, column {j + 1}: {short(cell)} is not a number")
            out[i, j] = value
    return out


def load_matrix(path: str | Path, field: str = "file") -> np.ndarray:
    """Load a dense float64 matrix or vector from .mtx, .csv, .npy (or a sparse .npz)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in SUPPORTED:  # before its banner is read: a pipe would block, a device not end
        check_file(path, field, MATRIX_MAX_BYTES, "matrix file")
    if suffix == ".npz" or (suffix == ".mtx" and _is_coordinate(path)):
        # a sparse file, asked for dense: read by the sparse reader, which checks every line
        return load_operator(path, field, "dense")
    if suffix not in SUPPORTED:
        raise InputError(field, f"{path.name}: unsupported file type; expected one of {SUPPORTED}")
    try:
        _check_claimed_size(path, suffix, field)
        if suffix == ".mtx":
            import scipy.io

            with _mm_source(path) as source:
                data = scipy.io.mmread(source)
            arr = data.toarray() if hasattr(data, "toarray") else np.asarray(data)
        elif suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            arr = _read_csv(path)
    except InputError:
        raise
    except MemoryError:
        raise InputError(field, f"{path.name}: too large to load into memory") from None
    except Exception as exc:  # a file is data: whatever its readers trip on, it cannot be read
        text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise InputError(field, f"{path.name}: cannot read: {text}") from None
    return check_array(arr, field)


STORAGES = ("auto", "dense", "sparse")


def _is_coordinate(path: Path) -> bool:
    from .sparseio import is_coordinate_mtx

    return is_coordinate_mtx(path)


def load_operator(path: str | Path, field: str = "file", storage: str = "auto") -> object:
    """A matrix file as the problem's matrix: a dense ndarray, or a scipy CSR array that is
    never formed dense. ``auto`` keeps a sparse file (coordinate .mtx, .npz) sparse when it
    is large and nearly empty (``sparseio.prefers_sparse``, from its header alone) and reads
    every other file dense; ``sparse`` and ``dense`` choose."""
    from . import sparseio

    if storage not in STORAGES:
        raise InputError(
            "problem.storage", f"unknown storage {short(storage)}; expected one of {STORAGES}"
        )
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in SUPPORTED or suffix in sparseio.SUPPORTED:
        check_file(path, field, MATRIX_MAX_BYTES, "matrix file")
    sparse_file = suffix == ".npz" or (suffix == ".mtx" and sparseio.is_coordinate_mtx(path))
    if sparse_file:
        head = sparseio.header(path, field)
        if storage == "sparse" or (
            storage == "auto" and sparseio.prefers_sparse(head.shape, head.nnz)
        ):
            return sparseio.load_sparse(path, field)
        entries = head.rows * head.cols
        if entries > MAX_ENTRIES:
            raise InputError(
                field,
                f"{path.name}: its header says {head.rows} x {head.cols} = {entries:,} entries "
                f"dense; at most {MAX_ENTRIES:,} are supported (held sparse it would load)",
            )
        return check_array(sparseio.load_sparse(path, field).toarray(), field)
    arr = load_matrix(path, field)
    if storage == "sparse":
        import scipy.sparse as sp

        return sparseio.check_sparse(sp.csr_array(np.atleast_2d(arr)), field)
    return arr


@contextlib.contextmanager
def _mm_source(path: Path) -> Iterator[str]:
    """What scipy's Matrix Market reader is given for ``path``: the path itself, or, past a
    UTF-8 byte-order mark (some editors write one; the reader takes it for a missing
    banner), a temporary copy without it. Always a path: the reader's C++ side aborted the
    process on some damaged files when it read them through a Python stream."""
    with path.open("rb") as fh:
        has_bom = fh.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
        if not has_bom:
            yield str(path)
            return
        with tempfile.TemporaryDirectory(prefix="descent-lab-mtx-") as folder:
            copy = Path(folder) / path.name
            with copy.open("wb") as out:
                shutil.copyfileobj(fh, out)
            yield str(copy)


def _check_claimed_size(path: Path, suffix: str, field: str) -> None:
    """Refuse a file whose header claims more than MAX_ENTRIES entries, before a byte of its
    data is read (a 60000 x 60000 header would otherwise be allocated, or die trying)."""
    if suffix == ".mtx":
        import scipy.io

        with _mm_source(path) as source:
            rows, cols, _entries, layout, kind, symmetry = scipy.io.mminfo(source)
        shape: tuple[int, ...] = (int(rows), int(cols))
        if min(shape) <= 0:
            # Refused here: scipy's reader dies of a division by zero on an empty array body.
            raise InputError(field, f"{path.name}: its header says {rows} x {cols}: no entries")
    elif suffix == ".npy":
        with path.open("rb") as fh:
            shape, dtype = npy_header(fh)
            data_bytes = path.stat().st_size - fh.tell()
    else:
        _check_csv_size(path, field)
        return
    entries = 1
    for d in shape:
        entries *= d
    if entries > MAX_ENTRIES:
        size = " x ".join(str(d) for d in shape)
        raise InputError(
            field,
            f"{path.name}: its header says {size} = {entries:,} entries; "
            f"at most {MAX_ENTRIES:,} are supported",
        )
    if suffix == ".npy" and entries * dtype.itemsize > data_bytes:
        # np.load would allocate what the header claims before finding the data missing
        raise InputError(
            field,
            f"{path.name}: its header says {' x '.join(map(str, shape))} {dtype} "
            f"({entries * dtype.itemsize:,} bytes), but the file holds {data_bytes:,} "
            "bytes of data",
        )
    if suffix == ".mtx" and layout == "array":
        _check_array_body(path, field, shape, kind, symmetry)


def _check_csv_size(path: Path, field: str) -> None:
    """A CSV has no header, but its first line and its size tell about how many entries it
    holds: a file far beyond the limit is refused without reading the rest."""
    size = path.stat().st_size
    if size <= 64 * 2**20:
        return
    with path.open("rb") as fh:
        first = fh.readline(2**20)
    cells = max(1, first.count(b",") + first.count(b";") + first.count(b"\t") + 1)
    estimate = size / max(len(first), 1) * cells
    if estimate > 2 * MAX_ENTRIES:
        raise InputError(
            field,
            f"{path.name}: {size / 2**20:,.0f} MB of about {estimate:,.0f} entries; "
            f"at most {MAX_ENTRIES:,} are supported",
        )


def _check_array_body(
    path: Path, field: str, shape: tuple[int, ...], kind: str, symmetry: str
) -> None:
    """A dense Matrix Market body must hold exactly the values its header promises: scipy's
    reader crashes the process on a truncated one instead of raising."""
    rows, cols = shape
    n = min(rows, cols)
    expected = {
        "general": rows * cols,
        "symmetric": n * (n + 1) // 2,
        "hermitian": n * (n + 1) // 2,
        "skew-symmetric": n * (n - 1) // 2,
    }.get(symmetry, rows * cols) * (2 if kind == "complex" else 1)
    lines = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    body = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("%")][1:]
    tokens = " ".join(body).split()
    if len(tokens) != expected:
        raise InputError(
            field, f"{path.name}: has {len(tokens):,} values where its header promises {expected:,}"
        )
    for t in tokens:
        try:
            float(t)
        except ValueError:
            raise InputError(field, f"{path.name}: {short(t)} is not a number") from None


def save_matrix(path: str | Path, value: np.ndarray) -> None:
    """Write ``value`` in the format its suffix names (used by export and session save)."""
    path = Path(path)
    suffix = path.suffix.lower()
    arr = np.asarray(value, dtype=np.float64)
    if suffix == ".npy":
        np.save(path, arr, allow_pickle=False)
    elif suffix == ".csv":
        np.savetxt(path, np.atleast_2d(arr) if arr.ndim == 1 else arr, delimiter=",", fmt="%.17g")
    elif suffix == ".mtx":
        import scipy.io

        scipy.io.mmwrite(str(path), np.atleast_2d(arr))
    else:
        raise InputError("file", f"{path.name}: unsupported file type; expected one of {SUPPORTED}")
