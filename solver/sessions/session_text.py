"""How a session file is written so that it stays small and readable (``session.save``).

The 100,000-unknown Poisson preset was 22.8 MB of JSON with one number per line, and took
seconds to read back. Now a large sparse matrix goes beside the session as an ``.npz`` (CSR,
what ``sparseio`` reads) referenced as ``{"file": ...}``, which every session reader already
accepts, and the JSON puts a vector on one line and a matrix one row per line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from solver.core.atomic import write_atomically
from solver.matrices.sparseio import is_sparse, save_sparse
from solver.problems.kinds import kind_of

# A sparse matrix with more stored entries than this is saved beside its session.
SIDE_FILE_ENTRIES = 10_000


def dumps(data: object) -> str:
    """JSON text of a session dictionary: keys one per line, a list of numbers on one line,
    a list of rows one row per line."""
    return _dumps(data, 0)


def _dumps(obj: object, depth: int) -> str:
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(obj, dict) and obj:
        items = [f"{inner}{json.dumps(k)}: {_dumps(v, depth + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(obj, list) and obj and all(isinstance(r, list) for r in obj):
        rows = [inner + json.dumps(r) for r in obj]
        return "[\n" + ",\n".join(rows) + f"\n{pad}]"
    return json.dumps(obj)


def side_file(path: str | Path, key: str) -> Path:
    """Where a sparse array ``key`` of the session at ``path`` is written: beside it."""
    path = Path(path)
    return path.with_name(f"{path.stem}.{key}.npz")


def write_beside(problem: object, files: Mapping[str, str], path: str | Path) -> dict[str, str]:
    """Write each sparse array of ``problem`` with more than ``SIDE_FILE_ENTRIES`` stored
    entries and no file in ``files`` beside the session at ``path`` (atomically); ``files``
    with those added (absolute paths)."""
    out = dict(files)
    for key, value in kind_of(problem).arrays_of(problem).items():
        if key in out or not is_sparse(value) or value.nnz <= SIDE_FILE_ENTRIES:
            continue
        target = side_file(path, key)
        write_atomically(target, lambda tmp, value=value: save_sparse(tmp, value))
        out[key] = str(target.resolve())
    return out
