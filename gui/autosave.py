"""The autosave's store: the last session's JSON and every array it names, in the data folder.

An autosave owns its data. Each array too large for the JSON is a piece beside it, named by
its content (``last-session-KEY-DIGEST.npy``, ``.npz`` when sparse), whether it came from a
preset, an edit or a file the user opened: the user's file may change or vanish after the
window closed, the autosave still holds the session that was closed. A piece already on disk
under its digest is not written again.

Several windows (threads of one process, or processes) share the folder. Every write and
every collection holds the folder's lock (a lock for the threads of this process, a
``QLockFile`` for other processes), and a piece is removed only when no autosave in the
folder names it (``last-session.json`` and every ``last-session.unrestorable-*.json``), read
from disk under the lock, never guessed from what one window wrote. Temporary files carry
the writing process's id (``solver.core.atomic.temporary_beside``): two writers never share
one, and those of a process that died are collected.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6 import QtCore

from solver.core.digest import raw_bytes

AUTOSAVE_NAME = "last-session.json"
ASIDE_GLOB = "last-session.unrestorable-*.json"
LOCK_NAME = "last-session.lock"
# Arrays larger than this go beside the autosave, keeping the JSON small and fast.
AUTOSAVE_INLINE_LIMIT = 10_000
# How long a writer waits for another instance's autosave (a 200 MB piece takes seconds);
# a lock older than this whose process still runs is taken as left by a hung one.
LOCK_WAIT_MS = 60_000
LOCK_STALE_MS = 120_000

_PIECE = re.compile(r"last-session-.+\.np[yz]")
# what solver.core.atomic.temporary_beside makes of an autosave file's name
_TEMPORARY = re.compile(r"last-session.*\.tmp-(\d+)-[0-9a-f]+\.(?:json|npy|npz)")
# the shared temporary names of earlier versions: never in use once the lock is held
_OLD_TEMPORARY = re.compile(r"last-session(?:\.json\.tmp|-.+\.tmp\.np[yz])")
# a file reference in an autosave's JSON, found also in one too damaged to parse (linear:
# a pattern that may start anywhere in a 100 kB row of numbers would take seconds)
_REFERENCE = re.compile(r'"file"\s*:\s*"((?:[^"\\]|\\.)*)"')

_folder_locks: dict[str, threading.Lock] = {}
_folder_locks_guard = threading.Lock()


def array_digest(arr: object) -> str:
    """A short name for an array's content (shape included; a sparse one's stored entries,
    canonical, so the same matrix always has the same name)."""
    h = hashlib.sha256(repr(arr.shape).encode())
    if isinstance(arr, np.ndarray):
        h.update(raw_bytes(arr, np.float64))
    else:
        for part in (arr.indptr, arr.indices, arr.data):
            h.update(raw_bytes(part))
    return h.hexdigest()[:16]


def _suffix(arr: object) -> str:
    return ".npy" if isinstance(arr, np.ndarray) else ".npz"  # sparse stays sparse


def check_autosaved_pieces(s: object, data_dir: Path) -> dict[str, str]:
    """Raise ValueError when an autosaved array is not the one its name says (replaced,
    damaged, or another window's): the pieces of a restored session must belong together.
    Returns the digest of each piece checked, by key."""
    from solver.problems.kinds import kind_of

    arrays = kind_of(s.problem).arrays_of(s.problem)
    checked = {}
    for key, ref in s.files.items():
        name = Path(ref).name
        if not in_folder(ref, data_dir) or not name.startswith("last-session-"):
            continue  # a file the user chose, not a piece of the autosave
        named = re.fullmatch(r"last-session-.+-([0-9a-f]{16})\.np[yz]", name)
        if named is None:
            continue  # an autosave of an earlier version: its pieces carry no digest
        if key not in arrays or array_digest(arrays[key]) != named.group(1):
            raise ValueError(f"its {key} ({name}) does not match the saved session")
        checked[key] = named.group(1)
    return checked


def in_folder(ref: str | Path, folder: Path) -> bool:
    return Path(ref).parent.resolve() == folder.resolve()


def _writer_gone(pid: int, entry: os.DirEntry) -> bool:
    """Whether the process that wrote temporary file ``entry`` has ended (on Windows, where
    signal 0 would end a process, one a day old is taken as left by a process that ended)."""
    if pid == os.getpid():
        return False
    if sys.platform == "win32":
        return entry.stat().st_mtime < time.time() - 86_400
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # another user's process
        return False
    return False


class AutosaveStore:
    """The autosave of one data folder, as one window writes it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        # key -> (array, digest): an array unchanged since the last autosave is not hashed
        # again (200 MB take a third of a second)
        self._digests: dict[str, tuple[object, str]] = {}

    @property
    def path(self) -> Path:
        return self.data_dir / AUTOSAVE_NAME

    def remember(self, s: object, digests: dict[str, str]) -> None:
        """The digests of ``s``'s arrays, known from a restore (``check_autosaved_pieces``)."""
        from solver.problems.kinds import kind_of

        arrays = kind_of(s.problem).arrays_of(s.problem)
        self._digests.update({k: (arrays[k], d) for k, d in digests.items() if k in arrays})

    @contextlib.contextmanager
    def _locked(self, wait_ms: int = LOCK_WAIT_MS) -> Iterator[bool]:
        """Hold the folder against every other autosave; yields False when it stayed busy
        for ``wait_ms`` (raises OSError when the lock cannot be made at all)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = str(self.data_dir.resolve())
        with _folder_locks_guard:
            local = _folder_locks.setdefault(key, threading.Lock())
        if not local.acquire(timeout=wait_ms / 1000):
            yield False
            return
        try:
            lock = QtCore.QLockFile(str(self.data_dir / LOCK_NAME))
            lock.setStaleLockTime(LOCK_STALE_MS)
            if not lock.tryLock(wait_ms):
                if lock.error() == QtCore.QLockFile.LockError.LockFailedError:
                    yield False
                    return
                raise OSError(f"cannot write the lock file {self.data_dir / LOCK_NAME}")
            try:
                yield True
            finally:
                lock.unlock()
        finally:
            local.release()

    def write(self, s: object) -> None:
        """The autosave of session ``s`` with its pieces, then what no autosave names goes.
        Raises OSError."""
        from solver.problems.kinds import kind_of
        from solver.sessions import session as sessions

        with self._locked() as held:
            if not held:
                raise TimeoutError(f"another window kept {self.data_dir} locked")
            files = {}
            for key, arr in kind_of(s.problem).arrays_of(s.problem).items():
                if arr.size > AUTOSAVE_INLINE_LIMIT:  # smaller ones are in the JSON itself
                    files[key] = str(self._piece(key, arr))
            self._digests = {k: v for k, v in self._digests.items() if k in files}
            # replace: the problem and settings are as valid as they were; only where the
            # arrays are kept changes
            sessions.save(replace(s, files=files), self.path, beside=False)
            self._collect()

    def _piece(self, key: str, arr: object) -> Path:
        from solver.core.atomic import write_atomically
        from solver.matrices.matrixio import save_matrix
        from solver.matrices.sparseio import save_sparse

        known = self._digests.get(key)
        digest = known[1] if known is not None and known[0] is arr else array_digest(arr)
        self._digests[key] = (arr, digest)
        suffix = _suffix(arr)
        path = self.data_dir / f"last-session-{key}-{digest}{suffix}"
        # Checked every time: another window may have collected it since this one wrote it.
        if not path.is_file():
            save = save_matrix if suffix == ".npy" else save_sparse
            write_atomically(path, lambda tmp: save(tmp, arr))
        return path

    def collect(self, wait_ms: int = LOCK_WAIT_MS) -> list[str]:
        """Remove the pieces no autosave names and the temporary files of processes that
        ended; the names removed (nothing when the folder stayed locked ``wait_ms``)."""
        if not self.data_dir.is_dir():
            return []
        with self._locked(wait_ms) as held:
            return self._collect() if held else []

    def named(self) -> set[str] | None:
        """The file names any autosave in the folder refers to; None when one of them
        cannot be read (then nothing may be collected)."""
        names: set[str] = set()
        for path in [self.path, *sorted(self.data_dir.glob(ASIDE_GLOB))]:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            except OSError:
                return None
            names.update(re.split(r"[/\\]+", ref)[-1] for ref in _REFERENCE.findall(text))
        return names

    def _collect(self) -> list[str]:
        named = self.named()
        removed = []
        for entry in os.scandir(self.data_dir):
            name = entry.name
            tmp = _TEMPORARY.fullmatch(name)
            if tmp is not None:
                gone = _writer_gone(int(tmp.group(1)), entry)
            elif _OLD_TEMPORARY.fullmatch(name):
                gone = True
            else:
                gone = named is not None and bool(_PIECE.fullmatch(name)) and name not in named
            if gone and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(name)
        return removed
