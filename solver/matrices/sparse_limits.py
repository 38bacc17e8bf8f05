"""What every sparse matrix reader checks and makes, below the readers themselves
(``sparseio`` chooses the reader, ``sparse_mtx`` and ``sparse_npz`` read): the limits a file
must keep, what its header says, the index and value checks, and the canonical CSR form."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from solver.core.errors import InputError

if TYPE_CHECKING:
    import scipy.sparse

# A loaded matrix beyond this many stored entries would crowd out the iterates and the history
# the app keeps beside it.
MAX_NONZEROS = 20_000_000

# Indices are stored as int32 (half the memory of int64), and MKL/scipy kernels expect it.
MAX_DIMENSION = 2**31 - 1

# A CSR matrix costs 12 bytes an entry (int32 index, float64 value); converting from
# coordinates holds both forms at once for a moment, hence about 24.
BYTES_PER_NONZERO = 24
NPZ_FORMATS = ("csr", "csc", "coo", "bsr", "dia")


@dataclass(frozen=True)
class SparseHeader:
    """What a sparse file says of itself before its body is read: enough for a caller to
    choose sparse or dense storage and to refuse a file too large for the machine.

    ``nnz`` is the count as stored: a symmetric file stores one triangle, so its loaded matrix
    holds up to twice as many entries. ``field`` and ``symmetry`` use Matrix Market's words
    (an .npz is always ``general``; its field is ``real``, ``integer`` or ``pattern`` from its
    data's type).
    """

    rows: int
    cols: int
    nnz: int
    symmetry: str
    field: str

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)


def check_range(
    index: np.ndarray, top: int, key: str, name: str, field: str, side: str = ""
) -> None:
    bad = np.flatnonzero((index < 0) | (index >= top))
    if bad.size:
        i = bad[0]
        what = f" ({side} indices, 0-based)" if side else " (0-based)"
        raise InputError(
            field, f"{name}: its {key}[{i}] = {index[i]} is outside 0..{top - 1}{what}"
        )


def finite(data: np.ndarray, what: str, field: str) -> np.ndarray:
    out = data.astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isfinite(out.reshape(-1)))
    if bad.size:
        raise InputError(
            field, f"{what} entry {bad[0]} is {out.reshape(-1)[bad[0]]}; entries must be finite"
        )
    return out


def csr_bytes(rows: int, nnz: int) -> int:
    """About what a rows-row CSR matrix of nnz entries costs while it is built: the row
    pointers count too, and a huge row count with few entries is mostly those."""
    return nnz * BYTES_PER_NONZERO + (rows + 1) * 8


def memory_cap() -> int | None:
    """Half the machine's physical memory, in bytes, or None where it cannot be asked: what
    one loaded matrix may take and leave the app, the iterates and the OS room to run."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return total // 2 if total > 0 else None


def check_limits(head: SparseHeader, estimate: int, field: str, says: str) -> None:
    size = f"{head.rows} x {head.cols} with {head.nnz:,} entries"
    if head.nnz > MAX_NONZEROS:
        raise InputError(field, f"{says} {size}; at most {MAX_NONZEROS:,} entries are supported")
    cap = memory_cap()
    if cap is not None and estimate > cap:
        raise InputError(
            field,
            f"{says} {size}: loading it needs about {estimate / 2**30:,.1f} GiB, more than "
            f"the {cap / 2**30:,.1f} GiB (half of this machine's memory) a matrix may take",
        )


def canonical(m: object) -> scipy.sparse.csr_array:
    """float64 CSR with sorted indices and no duplicates: what every later product assumes."""
    import scipy.sparse as sp

    out = sp.csr_array(m, dtype=np.float64)
    out.sum_duplicates()
    out.sort_indices()
    return out
