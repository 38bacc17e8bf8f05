"""What outlives the window: QSettings, the autosaved session, files the user writes.

Each dock saves and restores its own state through the ``Persistent`` protocol (its own
QSettings group); this module holds the window's geometry, when to autosave and the restore,
and writing sessions and histories. The autosave's files are ``gui.autosave``'s: atomic (a
crash never leaves half a session), holding every array the session needs, shared safely by
every window on the folder. One that cannot be restored is moved aside and reported.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6 import QtCore

from .autosave import AUTOSAVE_INLINE_LIMIT, AutosaveStore, check_autosaved_pieces, in_folder
from .model import AppModel, pending
from .opening import read_session, session_refusal
from .records import STARTING
from .relay import Relay

if TYPE_CHECKING:
    from solver.sessions.session import Session

RECENT_LIMIT = 10


@dataclass
class Initial:
    """What start-up shows: the session, its name and the status line's words, with what
    was refused on the way (said once the window shows it)."""

    session: Session
    label: str
    message: str
    refusals: list[tuple[str, str]] = field(default_factory=list)
    digests: dict[str, str] | None = None  # a restored autosave's pieces
    default: bool = False  # the 3×3 example: on the last device used


class Persistent(Protocol):
    """A dock or view that keeps its own settings."""

    def save_state(self, settings: QtCore.QSettings) -> None: ...

    def restore_state(self, settings: QtCore.QSettings) -> None: ...


def default_data_dir() -> Path:
    loc = QtCore.QStandardPaths.StandardLocation.AppDataLocation
    return Path(QtCore.QStandardPaths.writableLocation(loc))


def _outcome(f: concurrent.futures.Future) -> str:
    """An autosave job's message: "" or what failed."""
    exc = f.exception()
    return f.result() if exc is None else f"Could not autosave: {exc}"


class Persistence:
    """Settings, autosave and restore for one window."""

    def __init__(self, model: AppModel, settings: QtCore.QSettings, data_dir: Path) -> None:
        self.model = model
        self.settings = settings
        self.data_dir = Path(data_dir)
        self.parts: list[Persistent] = []
        self.store = AutosaveStore(self.data_dir)
        self._autosave_error = ""
        # A run starting is the moment to keep the session it runs; its pieces (a matrix of
        # millions of entries: 100 ms and more to disk here) are written on a thread of their
        # own, one autosave after another, so the run's first frames do not wait for them.
        # The autosave at quit goes there too: the window closes at once, ``flush`` waits.
        self._writer: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: concurrent.futures.Future | None = None
        self._submitted = self._reported = 0  # autosaves numbered: an older outcome is stale
        self._last: tuple[int, concurrent.futures.Future] | None = None
        # an autosave's number and "" or the message of what failed, from its writer thread
        self._relay = Relay(self._deliver)
        model.state_changed.connect(
            lambda st: self.autosave(background=True) if st == STARTING else None
        )
        self._copied: dict[str, object] = {}  # key -> the array of a user's file copied last
        model.session_changed.connect(self._copy_user_files)

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
        return self.store.path

    def autosave(self, background: bool = False) -> None:
        """Write the session where the next start finds it, with every array it needs
        (``gui.autosave``). In the ``background`` the writing happens on the writer thread,
        after any autosave before it (``flush`` waits for them)."""
        s = self.model.session
        if s is None:
            return
        if background:
            self._submit(lambda: self._write(s))
            return
        self.flush()
        self._submitted += 1
        self._deliver(self._submitted, self._write(s))

    def _copy_user_files(self, s: object, *_: object) -> None:
        """A session that holds a large array read from a user's file is autosaved at once,
        in the background: its copy is then made while the user works, not at quit (200 MB
        keep the process seconds), and a crash keeps it too."""
        from solver.problems.kinds import kind_of

        if s is None:
            return
        arrays = kind_of(s.problem).arrays_of(s.problem)
        fresh = {
            key: arrays[key]
            for key, ref in s.files.items()
            if key in arrays
            and arrays[key].size > AUTOSAVE_INLINE_LIMIT
            and self._copied.get(key) is not arrays[key]
            and not in_folder(ref, self.data_dir)
        }
        if fresh:
            self._copied.update(fresh)
            self.autosave(background=True)

    def collect_orphans(self) -> None:
        """Remove, on the writer thread, what no autosave names (left by sessions before,
        or by a process that ended mid-write). Housekeeping: a failure says nothing."""

        def collect() -> None:
            with contextlib.suppress(OSError):
                self.store.collect()

        self._submit(collect, report=False)

    def _submit(self, job: Callable[[], object], report: bool = True) -> None:
        if self._writer is None:
            self._writer = concurrent.futures.ThreadPoolExecutor(1, "autosave")
        self._pending = future = self._writer.submit(job)
        if report:
            self._submitted += 1
            number, relay = self._submitted, self._relay
            self._last = (number, future)
            future.add_done_callback(lambda f: relay.post(number, _outcome(f)))

    def flush(self) -> None:
        """Wait for the autosaves in the background to be on disk. The last one's failure
        is reported here (the writer's report never reaches a window that has closed), on
        stderr too when no window shows it."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        concurrent.futures.wait([pending])  # and every job before it: one writer, in order
        if self._pending is None and self._writer is not None:
            # Idle now (flush comes at quit): its thread goes, and a later autosave starts
            # another; windows opened and closed in one process left one thread each.
            self._writer.shutdown(wait=False)
            self._writer = None
        if self._last is None:
            return
        number, future = self._last
        text = _outcome(future)
        self._deliver(number, text)
        window = self.model.parent()
        if text and not (window is not None and getattr(window, "isVisible", bool)()):
            print(f"Descent Lab: {text}", file=sys.stderr, flush=True)

    def _deliver(self, number: int, text: str) -> None:
        if number <= self._reported:
            return  # flush reported a later one already
        self._reported = number
        if text and text != self._autosave_error:  # once per cause; it stays until dismissed
            self.model.refuse("Could not autosave", text)
        self._autosave_error = text

    def _guarded(self, job: object) -> str:
        try:
            job()
        except OSError as exc:
            return f"Could not autosave the session in {self.data_dir}: {exc}"
        return ""

    def _write(self, s: object) -> str:
        """The autosave of session ``s``; the message of what failed, or ""."""
        return self._guarded(lambda: self.store.write(s))

    def load_initial(self, session_path: str | None, first: Initial | None = None) -> None:
        """The session given on the command line, else the last one, else the 3×3 example
        (on the last device used, if it is still here); ``first``: it as ``read_initial``
        read it on the loading thread, else it is read here. Then what earlier sessions
        left in the data folder is collected, off the GUI thread."""
        try:
            self._apply_initial(first if first is not None else self.read_initial(session_path))
        finally:
            self.collect_orphans()

    def read_initial(self, session_path: str | None) -> Initial:
        """What start-up shows, read without touching the window or the model, so that it
        may run on the loading thread: a large autosave took the GUI thread 0.5 s and more
        to read and check."""
        from solver.sessions import presets

        refusals: list[tuple[str, str]] = []
        note = ""
        if session_path:
            try:
                s, why = read_session(session_path)
            except Exception as exc:  # the file given is the user's: the app still starts
                note = session_refusal(session_path, exc)
                refusals.append(("Session not loaded", note))
            else:
                name = Path(session_path).name
                return Initial(s, name, f"Opened {name}{why}")
        auto = self.autosave_path()
        if auto.is_file():  # also when the file given could not be opened
            try:
                s, why, digests = self._read_autosave(auto)
            except Exception as exc:  # a damaged autosave must never stop the app starting
                kept = self._move_aside(auto)
                where = f"; it was moved to {kept}" if kept else ""
                note = note or f"The last session could not be restored ({exc}){where}"
                refusals.append(("Last session not restored", note))
            else:
                message = note or f"Restored the last session{why}"
                return Initial(s, "last session", message, refusals, digests)
        s = presets.build(presets.DEFAULT_PRESET)
        title = presets.PRESETS[presets.DEFAULT_PRESET].title
        return Initial(s, title, note or "Loaded the 3×3 example", refusals, default=True)

    def _apply_initial(self, first: Initial) -> None:
        from solver.core.errors import InputError

        for title, text in first.refusals:
            self.model.refuse(title, text)
        s = first.session
        if first.digests is not None:  # an autosave's pieces: the store keeps them
            self.store.remember(s, first.digests)
            own = {k: v for k, v in s.files.items() if not in_folder(v, self.data_dir)}
            s = s.replace(files=own) if own != dict(s.files) else s
        if first.default:
            device = str(self.settings.value("session/device", "cpu") or "cpu")
            if device != s.device:
                try:
                    s = s.replace(device=device)
                except InputError:
                    pass
        self.model.set_session(s, "", label=first.label)
        self.model.message.emit(first.message)

    def _read_autosave(self, auto: Path) -> tuple[object, str, dict[str, str]]:
        """The autosaved session, its pieces checked, and their digests (the pieces are the
        autosave's, to be removed when no autosave names them)."""

        def stamp() -> tuple[int, int]:
            st = auto.stat()
            return st.st_mtime_ns, st.st_size

        for attempt in range(2):
            before = stamp()
            try:
                s, why = read_session(auto)
                return s, why, check_autosaved_pieces(s, self.data_dir)
            except Exception:
                # Another window replaced the autosave while it was read (and removed the
                # pieces of the one before): read the new one.
                if attempt or stamp() == before:
                    raise
        raise AssertionError("unreachable: the second attempt returns or raises")

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
        from solver.sessions import session as sessions

        m = self.model
        if m.table_error:
            # a large problem on its way (being built or loaded) is waited for, not fixed
            then = "save once it is ready" if pending(m.table_error) else "fix it first"
            m.refuse("Session not saved", f"{m.table_error}; {then}")
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
