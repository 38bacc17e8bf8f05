"""A session's problem in JSON: read (inline lists, inline sparse coordinates, or files
beside the session) and written back. The kind registry says which arrays and parameters
each kind has; this module reads and writes them, and the checks every part of a session
file shares (``require``, ``check_keys``) live here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from solver.core import limits
from solver.core.errors import InputError, key_text, short
from solver.matrices.matrixio import STORAGES, check_array, load_matrix, load_operator
from solver.problems.kinds import KINDS, kind_of
from solver.problems.linear import Problem

PROBLEM_KINDS = tuple(KINDS)


def require(cond: bool, fld: str, msg: str) -> None:
    if not cond:
        raise InputError(fld, msg)


def check_keys(obj: object, allowed: set[str], where: str) -> dict:
    require(isinstance(obj, dict), where or "session", f"expected an object, got {short(obj)}")
    for key in obj:
        if key not in allowed:
            name = f"{where}.{key_text(key)}" if where else key_text(key)
            raise InputError(name, f"unknown key; expected one of {sorted(allowed)}")
    return obj


_COORDINATE_KEYS = {"shape", "rows", "cols", "values"}


def _coordinates(value: dict, fld: str) -> object:
    """A sparse matrix written inline: {"shape": [m, n], "rows", "cols" (1-based, as the
    window and Matrix Market count), "values"}."""
    import scipy.sparse as sp

    from solver.matrices.sparseio import check_sparse

    check_keys(value, _COORDINATE_KEYS, fld)
    for key in sorted(_COORDINATE_KEYS):
        require(key in value, f"{fld}.{key}", "missing; an inline sparse matrix needs it")
    shape = value["shape"]
    require(
        isinstance(shape, list)
        and len(shape) == 2
        and all(limits.SPARSE_SIZE.holds(d) for d in shape),
        f"{fld}.shape",
        f"expected [rows, columns] of positive integers, got {short(shape)}",
    )
    cols = {}
    for key in ("rows", "cols", "values"):
        try:
            cols[key] = np.asarray(value[key], dtype=np.int64 if key != "values" else np.float64)
        except (ValueError, TypeError, OverflowError):
            raise InputError(f"{fld}.{key}", "expected a list of numbers") from None
        require(cols[key].ndim == 1, f"{fld}.{key}", "expected a flat list of numbers")
    n = len(cols["values"])
    for key in ("rows", "cols"):
        require(
            len(cols[key]) == n,
            f"{fld}.{key}",
            f"has {len(cols[key])} entries but values has {n}; they must match",
        )
        top = shape[0] if key == "rows" else shape[1]
        bad = np.flatnonzero((cols[key] < 1) | (cols[key] > top))
        require(
            not bad.size,
            f"{fld}.{key}[{bad[0] if bad.size else 0}]",
            f"{cols[key][bad[0]] if bad.size else 0} is outside 1..{top}",
        )
    m = sp.coo_array((cols["values"], (cols["rows"] - 1, cols["cols"] - 1)), shape=tuple(shape))
    return check_sparse(m, fld)


def _file_path(value: dict, fld: str, base: Path | None) -> Path:
    """The path of a ``{"file": path}`` reference, relative to ``base`` (the session's folder)
    unless absolute."""
    check_keys(value, {"file"}, fld)
    require("file" in value, f"{fld}.file", "missing; a file reference needs a path")
    ref = value["file"]
    require(isinstance(ref, str) and ref, f"{fld}.file", f"expected a path, got {short(ref)}")
    path = Path(ref)
    return path if path.is_absolute() else (base or Path.cwd()) / path


def read_array(
    value: object,
    fld: str,
    base: Path | None,
    files: dict,
    ndim: tuple,
    storage: str | None = None,
) -> np.ndarray:
    """An array of the session (a problem's, or the initial x) from its JSON form.
    ``storage`` (the problem's matrix only): "auto", "dense" or "sparse", and the matrix may
    be sparse."""
    if isinstance(value, dict) and storage is not None and "file" not in value:
        return _stored(_coordinates(value, fld), storage, fld)
    if isinstance(value, dict) and storage is not None:
        path = _file_path(value, fld, base)
        arr = load_operator(path, f"{fld}.file", storage)
        files[fld.split(".", 1)[1]] = str(path.resolve())
        return arr if not isinstance(arr, np.ndarray) else check_array(arr, fld, ndim=ndim)
    if isinstance(value, dict):
        path = _file_path(value, fld, base)
        arr = load_matrix(path, f"{fld}.file")
        files[fld.split(".", 1)[1]] = str(path.resolve())
        if arr.ndim == 2 and ndim == (1,) and 1 in arr.shape:
            arr = arr.reshape(-1)
        return check_array(arr, fld, ndim=ndim)
    if isinstance(value, list | tuple):
        try:
            arr = np.array(value, dtype=np.float64)
        except (ValueError, TypeError):
            raise InputError(
                fld, "expected numbers in equal-length rows (a list of lists of numbers)"
            ) from None
        except OverflowError:
            raise InputError(
                fld, "an entry is too large for a float (at most about 1.8e308)"
            ) from None
        return (
            _stored(check_array(arr, fld, ndim=ndim), storage, fld)
            if storage
            else check_array(arr, fld, ndim=ndim)
        )
    raise InputError(fld, f"expected a list of numbers or {{'file': path}}, got {short(value)}")


def _stored(arr: object, storage: str, fld: str) -> object:
    """``arr`` held as ``storage`` asks: inline lists are dense and inline coordinates
    sparse unless the session says otherwise."""
    from solver.matrices.sparseio import check_sparse, is_sparse

    if storage == "sparse" and not is_sparse(arr):
        import scipy.sparse as sp

        return check_sparse(sp.csr_array(arr), fld)
    if storage == "dense" and is_sparse(arr):
        return check_array(arr.toarray(), fld, ndim=(2,))
    return arr


def read_problem(obj: object, base: Path | None, files: dict) -> Problem:
    """The problem of a session file, validated; file references it read go into ``files``
    (array key -> absolute path)."""
    require(isinstance(obj, dict), "problem", f"expected an object, got {short(obj)}")
    name = obj.get("kind", "linear_system")
    require(
        isinstance(name, str) and name in KINDS,
        "problem.kind",
        f"unknown kind {short(name)}; expected one of {PROBLEM_KINDS}",
    )
    kind = KINDS[name]
    sparse_key = kind.sparse_key  # the array that may be held sparse ("storage")
    extra = {"storage"} if sparse_key else set()
    check_keys(
        obj,
        {"kind", *extra, *(a.key for a in kind.arrays), *(p.key for p in kind.params)},
        "problem",
    )
    storage = obj.get("storage", "auto")
    require(
        storage in STORAGES,
        "problem.storage",
        f"unknown storage {short(storage)}; expected one of {STORAGES}",
    )
    needed = [a.key for a in kind.arrays] + [p.key for p in kind.params if p.required]
    for key in sorted(needed):
        require(key in obj, f"problem.{key}", f"missing; a {name} problem needs it")
    # Parameters with a list of choices are checked before any (perhaps large) array is read.
    params = kind.check_params({p.key: obj[p.key] for p in kind.params if p.key in obj})
    arrays = {
        a.key: read_array(
            obj[a.key],
            f"problem.{a.key}",
            base,
            files,
            (a.ndim,),
            storage if a.key == sparse_key else None,
        )
        for a in kind.arrays
    }
    return kind.build(arrays, params)


def problem_arrays(problem: Problem) -> dict[str, np.ndarray]:
    """The arrays a session file stores for ``problem``, by their key under "problem"."""
    return kind_of(problem).arrays_of(problem)


def problem_dict(problem: Problem, base: Path | None, files: Mapping[str, str]) -> dict:
    """The JSON form of ``problem``: arrays inline, or as the files in ``files`` relative to
    ``base``."""
    kind = kind_of(problem)
    out: dict = {"kind": kind.name}
    for key, value in kind.arrays_of(problem).items():
        if key in files:
            path = files[key]
            out[key] = {"file": os.path.relpath(path, base) if base else path}
        elif isinstance(value, np.ndarray):
            out[key] = value.tolist()
        else:  # sparse: its coordinates, 1-based
            coo = value.tocoo()
            out[key] = {
                "shape": [int(d) for d in value.shape],
                "rows": (coo.row.astype(np.int64) + 1).tolist(),
                "cols": (coo.col.astype(np.int64) + 1).tolist(),
                "values": coo.data.tolist(),
            }
    if getattr(problem, "sparse", False):
        out["storage"] = "sparse"
    out.update(kind.params_of(problem))
    return out
