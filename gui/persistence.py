"""What outlives the window: QSettings, the autosaved session, files the user writes.

Each dock saves and restores its own state through the ``Persistent`` protocol (its own
QSettings group); this module holds the window's geometry, the autosave and its restore, and
writing sessions and histories. Autosaves are atomic (``solver.session.save``): a crash never
leaves half a session, and one that cannot be restored is left where it is and reported.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import os
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import numpy as np
from PySide6 import QtCore

from .editing import Editor, read_session
from .model import STARTING, AppModel

AUTOSAVE_NAME = "last-session.json"
# Arrays larger than this go beside the autosave as .npy, keeping the JSON small and fast.
AUTOSAVE_INLINE_LIMIT = 10_000


RECENT_LIMIT = 10


def array_digest(arr: np.ndarray) -> str:
    """A short name for an array's content (shape included; a sparse one's stored entries,
    canonical, so the same matrix always has the same name)."""
    h = hashlib.sha256(repr(arr.shape).encode())
    if isinstance(arr, np.ndarray):
        h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    else:
        for part in (arr.indptr, arr.indices, arr.data):
            h.update(np.ascontiguousarray(part).tobytes())
    return h.hexdigest()[:16]


def _suffix(arr: object) -> str:
    return ".npy" if isinstance(arr, np.ndarray) else ".npz"  # sparse stays sparse


def check_autosaved_pieces(s: object, data_dir: Path) -> None:
    """Raise ValueError when an autosaved array is not the one its name says (replaced,
    damaged, or another window's): the pieces of a restored session must belong together."""
    from solver.kinds import kind_of

    arrays = kind_of(s.problem).arrays_of(s.problem)
    for key, ref in s.files.items():
        name = Path(ref).name
        if Path(ref).parent.resolve() != data_dir.resolve() or not name.startswith("last-session-"):
            continue  # a file the user chose, not a piece of the autosave
        named = re.fullmatch(r"last-session-.+-([0-9a-f]{16})\.np[yz]", name)
        if named is None:
            continue  # an autosave of an earlier version: its pieces carry no digest
        if key not in arrays or array_digest(arrays[key]) != named.group(1):
            raise ValueError(f"its {key} ({name}) does not match the saved session")


class Persistent(Protocol):
    """A dock or view that keeps its own settings."""

    def save_state(self, settings: QtCore.QSettings) -> None: ...

    def restore_state(self, settings: QtCore.QSettings) -> None: ...


def default_data_dir() -> Path:
    loc = QtCore.QStandardPaths.StandardLocation.AppDataLocation
    return Path(QtCore.QStandardPaths.writableLocation(loc))


class _Relay(QtCore.QObject):
    """Carries an autosave's outcome from its writer thread to the GUI thread."""

    done = QtCore.Signal(str)  # "" or the message of what failed


class Persistence:
    """Settings, autosave and restore for one window."""

    def __init__(self, model: AppModel, settings: QtCore.QSettings, data_dir: Path) -> None:
        self.model = model
        self.settings = settings
        self.data_dir = Path(data_dir)
        self.parts: list[Persistent] = []
        self._saved_arrays: dict[str, tuple[object, str]] = {}
        self._own_arrays: set[str] = set()
        self._autosave_error = ""
        # A run starting is the moment to keep the session it runs; its pieces (a matrix of
        # millions of entries: 100 ms and more to disk here) are written on a thread of their
        # own, one autosave after another, so the run's first frames do not wait for them.
        self._writer: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: concurrent.futures.Future | None = None
        self._relay = _Relay()
        self._relay.done.connect(self._report)
        model.state_changed.connect(
            lambda st: self.autosave(background=True) if st == STARTING else None
        )

    # -- settings ----------------------------------------------------------------------------
    def restore(self) -> None:
        for p in self.parts:
            p.restore_state(self.settings)

    def save(self) -> None:
        for p in self.parts:
            p.save_state(self.settings)
        if self.model.session is not None:
            self.settings.setValue("session/device", self.model.session.device)
        self.settings.sync()

    def last_dir(self, name: str = "") -> str:
        d = self.settings.value("files/dir", "") or str(Path.home())
        return str(Path(d) / name) if name else d

    def remember_dir(self, path: str) -> None:
        self.settings.setValue("files/dir", str(Path(path).resolve().parent))

    # -- the autosaved session ---------------------------------------------------------------
    def autosave_path(self) -> Path:
        return self.data_dir / AUTOSAVE_NAME

    def autosave(self, background: bool = False) -> None:
        """Write the session where the next start finds it; big arrays go beside as .npy
        (a sparse matrix as .npz), written again only when the array changed. In the
        ``background`` the writing happens on the writer thread (``flush`` waits for it)."""
        s = self.model.session
        if s is None:
            return
        if background:
            if self._writer is None:
                self._writer = concurrent.futures.ThreadPoolExecutor(1, "autosave")
            relay = self._relay
            self._pending = self._writer.submit(self._write, s)
            self._pending.add_done_callback(
                lambda f: relay.done.emit(
                    f.result() if f.exception() is None else f"Could not autosave: {f.exception()}"
                )
            )
            return
        self.flush()
        self._report(self._write(s))

    def flush(self) -> None:
        """Wait for an autosave in the background to be on disk."""
        if self._pending is not None:
            self._pending.result()
            self._pending = None

    def _report(self, text: str) -> None:
        if text and text != self._autosave_error:  # once per cause; it stays until dismissed
            self.model.refuse("Could not autosave", text)
        self._autosave_error = text

    def _write(self, s: object) -> str:
        """The autosave of session ``s``; the message of what failed, or "". Only ever one
        at a time (the writer thread, or the GUI thread once that is idle): it keeps the
        record of the pieces written."""
        from solver import session as sessions
        from solver.atomic import replacing
        from solver.kinds import kind_of
        from solver.matrixio import save_matrix
        from solver.sparseio import save_sparse

        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            files = dict(s.files)
            for key, arr in kind_of(s.problem).arrays_of(s.problem).items():
                if key in files or arr.size <= AUTOSAVE_INLINE_LIMIT:
                    continue
                saved = self._saved_arrays.get(key)
                if saved is None or saved[0] is not arr:
                    # Named by their content: two windows writing at once never pair one's A
                    # with the other's b, and a restore can tell a piece that was replaced.
                    suffix = _suffix(arr)
                    path = self.data_dir / f"last-session-{key}-{array_digest(arr)}{suffix}"
                    if not path.is_file():
                        with replacing(path) as tmp:  # a full disk leaves no half piece
                            (save_matrix if suffix == ".npy" else save_sparse)(tmp, arr)
                    self._saved_arrays[key] = (arr, str(path))
                files[key] = self._saved_arrays[key][1]
            sessions.save(replace(s, files=files), self.autosave_path(), beside=False)
            self._forget_old_arrays(set(files.values()))
        except OSError as exc:
            return f"Could not autosave the session in {self.data_dir}: {exc}"
        return ""

    def _forget_old_arrays(self, keep: set[str]) -> None:
        """Remove the arrays this window wrote earlier that its autosave no longer names."""
        for path in list(self._own_arrays - keep):
            with contextlib.suppress(OSError):
                Path(path).unlink()
            self._own_arrays.discard(path)
        here = self.data_dir.resolve()
        self._own_arrays |= {p for p in keep if Path(p).parent.resolve() == here}

    def load_initial(self, editor: Editor, session_path: str | None) -> None:
        """The session given on the command line, else the last one, else the 3×3 example
        (on the last device used, if it is still here)."""
        from solver import presets
        from solver.errors import InputError

        note = ""
        if session_path:
            if editor.load_session(session_path):
                return
            note = self.model.last_error
        auto = self.autosave_path()
        if auto.is_file():  # also when the file given could not be opened
            try:
                s, why = read_session(auto)
                check_autosaved_pieces(s, self.data_dir)
                self.model.set_session(s, "", label="last session")
                self.model.message.emit(note or f"Restored the last session{why}")
                return
            except Exception as exc:  # a damaged autosave must never stop the app starting
                kept = self._move_aside(auto)
                where = f"; it was moved to {kept}" if kept else ""
                note = note or f"The last session could not be restored ({exc}){where}"
                self.model.refuse("Last session not restored", note)
        s = presets.build(presets.DEFAULT_PRESET)
        device = str(self.settings.value("session/device", "cpu") or "cpu")
        if device != s.device:
            try:
                s = s.replace(device=device)
            except InputError:
                pass
        self.model.set_session(s, "", label=presets.PRESETS[presets.DEFAULT_PRESET].title)
        self.model.message.emit(note or "Loaded the 3×3 example")

    @staticmethod
    def _move_aside(path: Path) -> Path | None:
        """Keep an autosave that cannot be restored under another name, so the next autosave
        does not overwrite what the user made."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = path.with_name(f"{path.stem}.unrestorable-{stamp}{path.suffix}")
        try:
            os.replace(path, target)
        except OSError:
            return None
        return target

    # -- recent files ------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        """Sessions and matrices opened or saved, newest first."""
        value = self.settings.value("files/recent") or []
        items = [value] if isinstance(value, str) else list(value)
        return [str(p) for p in items if p][:RECENT_LIMIT]

    def add_recent(self, path: str | Path) -> None:
        p = str(Path(path).resolve())
        self.settings.setValue(
            "files/recent", [p, *(q for q in self.recent_files() if q != p)][:RECENT_LIMIT]
        )

    def forget_recent(self, path: str | Path) -> None:
        p = str(Path(path).resolve())
        self.settings.setValue("files/recent", [q for q in self.recent_files() if q != p])

    def clear_recent(self) -> None:
        self.settings.setValue("files/recent", [])

    # -- files the user writes ---------------------------------------------------------------
    def save_session(self, path: str | Path) -> bool:
        from solver import session as sessions

        m = self.model
        if m.table_error:
            m.refuse("Session not saved", f"{m.table_error}; fix it before saving")
            return False
        try:
            sessions.save(m.session, path)
        except OSError as exc:
            m.refuse("Session not saved", f"{path}: {exc}")
            return False
        m.set_label(Path(path).name)
        m.message.emit(f"Saved {path}")
        return True

    def export_csv(self, path: str | Path) -> bool:
        rec = self.model.selected
        if rec is None or rec.history is None:
            self.model.refuse("Nothing to export", "run the solver first")
            return False
        try:
            rec.history.to_csv(str(path))
        except OSError as exc:
            self.model.refuse("History not exported", f"{path}: {exc}")
            return False
        self.model.message.emit(f"Exported {len(rec.history):,} iterations to {path}")
        return True
