"""Sparse matrix files in and out: Matrix Market coordinate files and scipy's ``.npz``.

A sparse file's header promises its size before its body says anything, and a 100,000 x
100,000 problem only fits the app as a sparse matrix; so every header is checked against the
limits here before anything it sizes is allocated, and every file is data, never code
(``allow_pickle=False``). The body of a Matrix Market file is parsed by numpy over whole chunks
of bytes: scipy's reader is fast but reports a bad line in its own words (or, for some files,
crashes), and a Python loop per line would take seconds on the 100,000-unknown preset.

scipy is imported inside the functions that need it: the solver's describing modules import
this one to decide sparse versus dense, and must stay cheap to import.
"""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from solver.core.errors import InputError, short
from solver.core.fileguard import MATRIX_MAX_BYTES, check_file, not_a_file

from .sparse_limits import MAX_DIMENSION, MAX_NONZEROS, SparseHeader, canonical, finite
from .sparse_mtx import load_mtx, mtx_header
from .sparse_npz import load_npz, npz_layout, npz_source

if TYPE_CHECKING:
    import scipy.sparse

SUPPORTED = (".mtx", ".npz")

# Up to 1000 x 1000 a matrix stays dense however empty: its mat-vec pair takes well under a
# millisecond there, and dense keeps what only a dense matrix has (the exact SVD, editable
# tables, the error by singular direction). gr_30_30 (900 x 900) stays dense; 1138_bus goes
# sparse.
SPARSE_MIN_ENTRIES = 1_000_000
# Beyond 5% filled, a CSR product moves about as many bytes as a dense one and gains nothing.
SPARSE_MAX_DENSITY = 0.05
FIELDS = ("real", "integer", "pattern", "double")


def density(shape: tuple[int, int], nnz: int) -> float:
    """The fraction of a ``shape`` matrix's entries that ``nnz`` stored entries fill."""
    rows, cols = shape
    if rows <= 0 or cols <= 0:
        raise ValueError(f"a matrix of shape {shape} has no entries to fill")
    return nnz / (rows * cols)


def prefers_sparse(shape: tuple[int, int], nnz: int) -> bool:
    """Whether a matrix is better held sparse (CSR) than dense.

    Both conditions matter: a small matrix fits the caches whole, so a dense product beats the
    indirect indexing of CSR however many zeros it holds; and a matrix beyond a few percent
    filled makes CSR move as many bytes as dense (an index beside every value) for no gain.
    """
    rows, cols = shape
    return rows * cols > SPARSE_MIN_ENTRIES and density(shape, nnz) < SPARSE_MAX_DENSITY


def is_sparse(value: object) -> bool:
    """Whether ``value`` is a scipy sparse matrix or array (without importing scipy when
    nothing could be one)."""
    import sys

    sp = sys.modules.get("scipy.sparse")
    if sp is None:
        return False
    if not hasattr(sp, "issparse"):
        # Listed but not yet initialised: another thread is importing it (the analysis
        # thread, while a run starts). The import statement waits for that import to end.
        import scipy.sparse as sp
    return sp.issparse(value)


def check_sparse(value: object, field: str) -> scipy.sparse.csr_array:
    """``value`` as a private, canonical float64 CSR whose arrays are read-only (a problem
    shared by sessions and runs must not change under them), or InputError naming ``field``:
    empty, complex, non-finite or beyond the limits."""
    import scipy.sparse as sp

    if not sp.issparse(value):
        raise InputError(field, f"expected a sparse matrix, got {type(value).__name__}")
    if value.ndim != 2:
        raise InputError(field, f"expected a 2-D matrix, got shape {value.shape}")
    rows, cols = (int(d) for d in value.shape)
    if rows <= 0 or cols <= 0:
        raise InputError(field, "is empty")
    if np.iscomplexobj(value.data):
        raise InputError(field, "complex entries are not supported")
    if value.nnz > MAX_NONZEROS:
        raise InputError(
            field, f"has {value.nnz:,} entries; at most {MAX_NONZEROS:,} are supported"
        )
    out = canonical(value.copy())
    finite(out.data, "a stored", field)
    for arr in (out.data, out.indices, out.indptr):
        arr.flags.writeable = False
    return out


def is_coordinate_mtx(path: str | Path) -> bool:
    """Whether ``path`` is a Matrix Market coordinate (sparse) file, from its banner alone, so
    a caller can send array (dense) files to the dense loader without reading either body.
    A file that cannot be read is not one: the loader the caller then picks reports why."""
    if not_a_file(path) is not None:  # a pipe would block the read; a device never end it
        return False
    try:
        with Path(path).open("rb") as fh:
            tokens = fh.readline(4096).removeprefix(codecs.BOM_UTF8).lower().split()
    except OSError:
        return False
    return len(tokens) >= 3 and tokens[0] == b"%%matrixmarket" and tokens[2] == b"coordinate"


def header(path: str | Path, field: str = "file") -> SparseHeader:
    """The header of a .mtx (banner and size line) or .npz (its arrays' shapes), without
    reading the body; InputError for any file that ``load_sparse`` would refuse from its
    header alone, limits included, so the check before a long load is this one call."""
    path = _checked_path(path, field)
    try:
        if path.suffix.lower() == ".mtx":
            with path.open("rb") as fh:
                head, _ = mtx_header(fh, path, field)
            return head

        with np.load(npz_source(path, field), allow_pickle=False) as npz:
            return npz_layout(npz, path.name, field).header
    except InputError:
        raise
    except Exception as exc:
        raise _cannot_read(field, path, exc) from None


def load_sparse(path: str | Path, field: str = "file") -> scipy.sparse.csr_array:
    """Load a .mtx coordinate file or a scipy ``save_npz`` file as canonical float64 CSR.

    Canonical (indices sorted, duplicates summed, as Matrix Market defines duplicates) so that
    every later product and comparison can rely on it; a symmetric file's triangle is mirrored
    (skew-symmetric: with the sign flipped), the diagonal once; pattern entries are 1.0.
    Every refusal is an InputError whose message starts with the file's name and, for a bad
    line, names the line as an editor numbers it (header and comments included).
    """
    path = _checked_path(path, field)
    try:
        if path.suffix.lower() == ".mtx":
            return load_mtx(path, field)

        return load_npz(path, field)
    except InputError:
        raise
    except MemoryError:
        raise InputError(field, f"{path.name}: too large to load into memory") from None
    except Exception as exc:  # a file is data: whatever its readers trip on, it cannot be read
        raise _cannot_read(field, path, exc) from None


def save_sparse(path: str | Path, matrix: object) -> None:
    """Write ``matrix`` (sparse or dense) as the suffix says: a general coordinate .mtx, or an
    .npz of CSR; for export, and so that a generated problem can be loaded back."""
    import scipy.sparse

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise InputError("file", f"{path.name}: unsupported file type; expected one of {SUPPORTED}")
    if np.iscomplexobj(matrix.data if scipy.sparse.issparse(matrix) else np.asarray(matrix)):
        raise InputError("file", f"{path.name}: complex entries are not supported")
    csr = scipy.sparse.csr_array(matrix, dtype=np.float64)
    if suffix == ".npz":
        # uncompressed: zlib took 110 ms for the 500,000-entry preset (the window autosaves
        # it on the GUI thread); the file is 6 MB either way within a factor of two
        scipy.sparse.save_npz(path, csr, compressed=False)
    else:
        import scipy.io  # only here: its import (wav files and all) costs 50 ms

        # symmetry="general": scipy would otherwise spend a pass testing for symmetry and
        # might keep one triangle; an export holds every entry the matrix has.
        scipy.io.mmwrite(str(path), csr.tocoo(), symmetry="general")


def poisson_2d(rows: int, cols: int) -> scipy.sparse.csr_array:
    """The 5-point 2-D Poisson matrix (negative Laplacian, Dirichlet boundary) on a rows x cols
    grid: unknown ``i * cols + j`` is grid point (i, j), 4 on the diagonal, -1 for each of its
    up to four neighbours. Symmetric positive definite, about 5 entries a row: the textbook
    large sparse system, and the one whose slow convergence gradient descent shows best.
    ``poisson_2d(250, 400)`` is the 100,000-unknown preset."""
    import scipy.sparse as sp

    for name, n in (("rows", rows), ("cols", cols)):
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise InputError(f"poisson.{name}", f"expected a positive integer, got {short(n)}")
    if rows * cols > MAX_DIMENSION:
        raise InputError("poisson", f"{rows} x {cols} = {rows * cols:,} unknowns is too many")

    def second_difference(n: int) -> sp.csr_array:
        return sp.diags_array(
            [-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(n, n), dtype=np.float64, format="csr"
        )

    eye_r = sp.eye_array(rows, dtype=np.float64, format="csr")
    eye_c = sp.eye_array(cols, dtype=np.float64, format="csr")
    lap = sp.kron(eye_r, second_difference(cols), format="csr") + sp.kron(
        second_difference(rows), eye_c, format="csr"
    )
    return canonical(lap)


# --- shared ---------------------------------------------------------------------------------


def _checked_path(path: str | Path, field: str) -> Path:
    path = Path(path)
    if path.suffix.lower() not in SUPPORTED:
        raise InputError(field, f"{path.name}: unsupported file type; expected one of {SUPPORTED}")
    check_file(path, field, MATRIX_MAX_BYTES, "matrix file")
    return path


def _cannot_read(field: str, path: Path, exc: Exception) -> InputError:
    if isinstance(exc, zipfile.BadZipFile):
        return InputError(field, f"{path.name}: is not a readable .npz (zip) file: {exc}")
    text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return InputError(field, f"{path.name}: cannot read: {text}")
