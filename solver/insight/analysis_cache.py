"""The analysis's costly results kept on disk, per problem, so that relaunching the window or
rerunning a session does not repeat them (the 100,000-unknown Poisson preset: 9 to 45 s of
Lanczos, inverse iteration and sparse LU at every start).

What is kept is what a problem derives from its arrays alone (``Problem.derived``): the
singular-value estimates and their error bounds, a full SVD's values, the exact reference and
how it was found, the energy loss's SPD check. None of it depends on the loss, the learning
rate, the optimizer or a run's dtype: the analysis works in float64 whatever the run does,
and applies the loss and the learning rate to these values afterwards (cheap). So an entry's
key is the problem itself: its kind, its parameters, every array's storage, shape and bytes
(a sparse matrix's canonical CSR), and the settings of the algorithms that derived the values
(``_ALGORITHM``), under a format version. Another matrix, another side or degree, another
tolerance: another key.

An entry is one ``.npz`` (arrays plus a JSON description) written to a temporary file and
renamed into place, read with ``allow_pickle=False``. One that cannot be read, names another
key, or fails its own checksum is ignored, removed, and its values derived again. The folder
keeps at most ``MAX_BYTES`` and ``MAX_ENTRIES``; the least recently used entries go first.
Small problems are not kept at all (``worth_keeping``): deriving them is quicker than a file.

This module never imports Qt: the window passes its data folder, and the headless runner uses
``default_data_dir()``, the same folder computed without Qt.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sys
import threading
import time
import weakref
from pathlib import Path

import numpy as np

from solver.core.atomic import is_temporary, replacing
from solver.core.digest import raw_bytes
from solver.matrices.sparse_linalg import LSQR_TOL
from solver.matrices.sparseio import is_sparse
from solver.matrices.spectra import (
    FULL_SVD_LIMIT,
    SPARSE_LANCZOS_TOL,
    SPARSE_RESTARTS,
    Spectrum,
    readonly,
)

# Raised whenever what a problem derives (or how this module writes it) changes meaning:
# every older entry then misses.
FORMAT = 1
# Everything besides the arrays that decides the values an entry holds.
_ALGORITHM = {
    "format": FORMAT,
    "full_svd_limit": FULL_SVD_LIMIT,
    "sparse_lanczos_tol": SPARSE_LANCZOS_TOL,
    "sparse_restarts": SPARSE_RESTARTS,
    "lsqr_tol": LSQR_TOL,
}
# The names the window gives Qt (``gui.mainwindow``): its AppDataLocation is built from them.
ORGANIZATION = "DescentLab"
APPLICATION = "Descent Lab"
FOLDER = "analysis-cache"
MAX_BYTES = 256 * 2**20
MAX_ENTRIES = 64
# A problem with fewer stored entries than this (and dense) is analysed in well under a
# second: reading a file would cost about as much as the work.
MIN_ENTRIES = 40_000
# A temporary file this old was left by a process that ended mid-write.
STALE_TMP_S = 3600.0
# Derived values that are not analysis results (the unknowns' names: cheap, and large).
_SKIPPED = frozenset({"names"})


@dataclasses.dataclass
class Stats:
    """What the cache did in this process: tests and benchmarks read it."""

    hits: int = 0  # entries read and adopted
    misses: int = 0  # no entry for a problem that was worth one
    writes: int = 0  # entries written
    rejected: int = 0  # entries unreadable or not matching: removed, derived again


stats = Stats()
# The analysis thread and the run's (or the GUI's) may ask about one problem at once.
_LOCK = threading.Lock()
_KEYS: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()
# For each problem: the derived values already on disk, so an unchanged set is not rewritten.
_ON_DISK: weakref.WeakKeyDictionary[object, frozenset[str]] = weakref.WeakKeyDictionary()


class _Unstorable(Exception):
    """A derived value of a form this cache does not write (skipped, never an error)."""


class _Damaged(Exception):
    """An entry whose content is not what this module writes."""


def default_data_dir() -> Path:
    """The window's data folder (Qt's writable AppDataLocation for this app), computed the
    way Qt does on each platform, so the headless runner shares the window's cache."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "")
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "share"
    return base / ORGANIZATION / APPLICATION


def cache_dir(data_dir: str | Path | None = None) -> Path | None:
    """The cache's folder inside ``data_dir`` (the default data folder when None); None
    when there is no home folder to put it in (then nothing is cached)."""
    try:
        return Path(data_dir if data_dir is not None else default_data_dir()) / FOLDER
    except (RuntimeError, KeyError):  # Path.home() without HOME or a password entry
        return None


def worth_keeping(problem: object) -> bool:
    """Whether ``problem``'s analysis costs enough to keep: sparse (iterative estimates and
    a sparse LU whatever its size), or dense with at least ``MIN_ENTRIES`` entries."""
    return bool(problem.sparse) or problem.entries >= MIN_ENTRIES


def problem_key(problem: object) -> str:
    """The hex SHA-256 that names ``problem``'s entry (see the module's note)."""
    from solver.problems.kinds import kind_of

    with _LOCK:
        known = _KEYS.get(problem)
    if known is not None:
        return known
    kind = kind_of(problem)
    head = {
        **_ALGORITHM,
        "kind": kind.name,
        "params": {k: repr(v) for k, v in kind.params_of(problem).items()},
    }
    h = hashlib.sha256(json.dumps(head, sort_keys=True).encode())
    for key, arr in kind.arrays_of(problem).items():
        if is_sparse(arr):
            h.update(f"|{key}:csr{arr.shape}".encode())
            for part in (arr.indptr, arr.indices):
                h.update(raw_bytes(part, np.int64))
            h.update(raw_bytes(arr.data, np.float64))
        else:
            h.update(f"|{key}:dense{arr.shape}".encode())
            h.update(raw_bytes(arr, np.float64))
    key = h.hexdigest()
    with _LOCK:
        _KEYS[problem] = key
    return key


# -- the values' encoding: JSON for their structure, arrays beside it --------------------------
def _encode(value: object, arrays: dict[str, np.ndarray]) -> object:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return {"int": int(value)}
    if isinstance(value, float | np.floating):
        return {"float": repr(float(value))}  # nan and inf too, in plain JSON
    if isinstance(value, np.ndarray):
        if value.dtype != np.float64:
            raise _Unstorable(f"a {value.dtype} array")
        name = f"a{len(arrays)}"
        arrays[name] = value
        return {"array": name}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, arrays) for v in value]}
    if isinstance(value, Spectrum):
        names = [f.name for f in dataclasses.fields(value)]
        return {"spectrum": {name: _encode(getattr(value, name), arrays) for name in names}}
    raise _Unstorable(type(value).__name__)


def _decode(obj: object, arrays: dict[str, np.ndarray]) -> object:
    if obj is None or isinstance(obj, bool | str):
        return obj
    if not isinstance(obj, dict) or len(obj) != 1:
        raise _Damaged(f"unexpected {type(obj).__name__}")
    ((tag, body),) = obj.items()
    if tag == "int" and isinstance(body, int) and not isinstance(body, bool):
        return body
    if tag == "float" and isinstance(body, str):
        return float(body)
    if tag == "array" and body in arrays:
        return readonly(arrays[body])
    if tag == "tuple" and isinstance(body, list):
        return tuple(_decode(v, arrays) for v in body)
    if tag == "spectrum" and isinstance(body, dict):
        names = {f.name for f in dataclasses.fields(Spectrum)}
        if set(body) != names:
            raise _Damaged("a spectrum with other fields")
        return Spectrum(**{k: _decode(v, arrays) for k, v in body.items()})
    raise _Damaged(f"unexpected {tag!r}")


def _checksum(description: str, arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256(description.encode())
    for name in sorted(arrays):
        h.update(name.encode())
        h.update(repr(arrays[name].shape).encode())
        h.update(raw_bytes(arrays[name]))
    return h.hexdigest()


# -- reading and writing entries ---------------------------------------------------------------
def _path(folder: Path, key: str) -> Path:
    return folder / f"{key}.npz"


def _read(path: Path, key: str) -> dict[str, object]:
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: np.array(data[name]) for name in data.files}
    meta = arrays.pop("meta", None)
    if meta is None or meta.dtype.kind != "U" or meta.ndim != 0:
        raise _Damaged("no description")
    head = json.loads(str(meta))
    if not isinstance(head, dict) or head.get("key") != key or head.get("format") != FORMAT:
        raise _Damaged("another key or format")
    if head.get("checksum") != _checksum(json.dumps(head.get("values")), arrays):
        raise _Damaged("its checksum does not match")
    if any(a.dtype != np.float64 for a in arrays.values()):
        raise _Damaged("an array that is not float64")
    values = head.get("values")
    if not isinstance(values, dict):
        raise _Damaged("no values")
    return {str(k): _decode(v, arrays) for k, v in values.items()}


def load(problem: object, folder: str | Path | None) -> bool:
    """Give ``problem`` the values its entry in ``folder`` holds (those it has not derived
    itself); False when there is none (or no folder), or it was damaged (then removed).
    Never raises for the cache's sake: a cache that cannot be read is a cache that missed."""
    if folder is None or not worth_keeping(problem):
        return False
    key = problem_key(problem)
    path = _path(Path(folder), key)
    try:
        values = _read(path, key)
    except FileNotFoundError:
        stats.misses += 1
        return False
    except Exception:  # damaged, truncated, another version's: derived again
        stats.rejected += 1
        with contextlib.suppress(OSError):
            path.unlink()
        return False
    problem.adopt(values)
    with _LOCK:
        _ON_DISK[problem] = frozenset(values)
    stats.hits += 1
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: the last to be evicted
    return True


def store(problem: object, folder: str | Path | None) -> bool:
    """Write what ``problem`` has derived to its entry in ``folder``, unless nothing new was
    derived since it was read or written; then keep the folder within its limits. False when
    nothing was written (no folder, not worth keeping, nothing new, or not writable)."""
    if folder is None or not worth_keeping(problem):
        return False
    arrays: dict[str, np.ndarray] = {}
    values: dict[str, object] = {}
    for name, value in problem.derived().items():
        if name in _SKIPPED:
            continue
        with contextlib.suppress(_Unstorable):
            values[name] = _encode(value, arrays)
    with _LOCK:
        if not values or frozenset(values) <= _ON_DISK.get(problem, frozenset()):
            return False
    key = problem_key(problem)
    description = json.dumps(values)
    head = {
        "key": key,
        "format": FORMAT,
        "values": values,
        "checksum": _checksum(description, arrays),
    }
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with replacing(_path(folder, key)) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(head)), **arrays)
    except OSError:
        return False
    with _LOCK:
        _ON_DISK[problem] = frozenset(values)
    stats.writes += 1
    evict(folder)
    return True


def evict(folder: str | Path, max_bytes: int = MAX_BYTES, max_entries: int = MAX_ENTRIES) -> None:
    """Remove the least recently used entries beyond ``max_bytes`` or ``max_entries``, and
    temporary files that a process ended mid-write left behind."""
    folder = Path(folder)
    entries = []
    now = time.time()
    with contextlib.suppress(OSError):
        for p in folder.iterdir():
            with contextlib.suppress(OSError):
                st = p.stat()
                if is_temporary(p):  # another writer's, or one a process ended midway
                    if now - st.st_mtime > STALE_TMP_S:
                        p.unlink()
                elif p.suffix == ".npz":
                    entries.append((st.st_mtime, st.st_size, p))
    entries.sort(reverse=True)  # newest first
    total = 0
    for i, (_, size, p) in enumerate(entries):
        total += size
        if i >= max_entries or total > max_bytes:
            with contextlib.suppress(OSError):
                p.unlink()


def analyze_cached(
    problem: object,
    loss: str,
    lr: float | None,
    folder: str | Path | None,
    cancel: threading.Event | None = None,
) -> object:
    """``solver.insight.analysis.analyze``, with the costly values read from and kept in the cache
    at ``folder`` (no cache when None). What a cancelled analysis finished is kept too."""
    from .analysis import analyze

    load(problem, folder)
    try:
        return analyze(problem, loss, lr, cancel)
    finally:
        store(problem, folder)
