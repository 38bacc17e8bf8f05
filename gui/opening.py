"""Whole problems from outside the tables: session files, presets and matrix files, the
large ones read and built on a plain thread.

Reading and checking a 3000 × 3000 session held the GUI thread 0.56 s, importing its
``.npy`` 0.73 s and generating a 3000 × 3000 preset 8 s; the window neither repainted nor
took a key meanwhile. What is small (by the bytes on disk, or the preset's own measure)
is still applied at once, so a load's result can be relied on when the call returns.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .model import PENDING
from .relay import Relay

if TYPE_CHECKING:
    from solver.sessions.session import Session

    from .model import AppModel

# Files larger than this (a session with the files it names) are read and checked on a
# plain thread: a 3000 × 3000 session held the GUI thread 0.56 s, its .npy import 0.73 s.
LOAD_SYNC_BYTES = 1_000_000


def read_session(path: str | Path) -> tuple[Session, str]:
    """Load a session file; an unavailable device falls back to the CPU (said so)."""
    from solver.core.errors import InputError
    from solver.core.fileguard import SESSION_MAX_BYTES, read_text
    from solver.sessions import session as sessions

    try:
        return sessions.load(path), ""
    except InputError as exc:
        if exc.field != "device":
            raise
        data = json.loads(read_text(path, "session", SESSION_MAX_BYTES, "session"))
        data["device"] = "cpu"
        return sessions.from_dict(data, Path(path).resolve().parent), f" ({exc}; using cpu)"


def session_refusal(source: object, exc: BaseException) -> str:
    """What the window says of a session file that ``read_session`` could not read."""
    from solver.core.errors import InputError

    if isinstance(exc, InputError | OSError | ValueError):
        return f"{source}: {exc}"
    # a file is the user's: whatever is in it, the app goes on
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{source}: cannot be read: {type(exc).__name__}: {text}"


# What a load does on the GUI thread with what was read: apply it (True when applied).
Apply = Callable[[], bool]


class Opening:
    """Loads whole sessions, presets and matrix files into ``model`` (a part of ``Editor``)."""

    def __init__(self, model: AppModel) -> None:
        self.model = model
        self._load_gen = 0
        self._loading_what: str | None = None
        self._before_load: str | None = None
        # what a plain thread read: its generation, what to do with it, the result
        self._load_relay = Relay(self._loaded)

    @property
    def loading(self) -> bool:
        """Whether a large file or preset is being read or built off the GUI thread."""
        return self._loading_what is not None

    def _load(
        self,
        heavy: bool,
        what: str,
        read: Callable[[], Apply],
        refused: Callable[[BaseException], None],
        then: Callable[[bool], None] | None,
    ) -> bool:
        """``read()`` (pure engine work: files, checks, generation) then what it returns, on
        the GUI thread. ``heavy``: ``read`` runs on a plain thread and the window goes on
        meanwhile (Run waits, saying so); True then means started, and ``then(applied)``
        follows. A later load drops one in flight."""
        self._drop_load()
        if not heavy:
            try:
                result: object = read()
            except Exception as exc:
                result = exc
            return self._finish(result, refused, then)
        gen = self._load_gen
        self._loading_what, self._before_load = what, self.model.table_error
        self.model.set_table_error(f"{what}{PENDING}loaded")
        self.model.message.emit(f"Loading {what}…")

        def work() -> None:
            try:
                result: object = read()
            except Exception as exc:  # MemoryError too: the window says so and goes on
                result = exc
            self._load_relay.post(gen, (refused, then), result)

        threading.Thread(target=work, name="load-problem", daemon=True).start()
        return True

    def _drop_load(self) -> None:
        """A new load replaces one in flight: its result will be dropped, and what the
        window said of it is taken back."""
        self._load_gen += 1
        self._said_loaded()

    def _said_loaded(self) -> None:
        """The load in flight is over: its note goes, and what it covered comes back unless
        the tables said something since (a cell typed wrong meanwhile stays said)."""
        if self._loading_what is None:
            return
        if self.model.table_error == f"{self._loading_what}{PENDING}loaded":
            self.model.set_table_error(self._before_load)
        self._loading_what = None

    def _loaded(self, gen: int, how: tuple, result: object) -> None:
        if gen != self._load_gen:
            return  # a later load replaced it
        self._said_loaded()  # what applies the result says anew
        self._finish(result, *how)

    @staticmethod
    def _finish(
        result: object, refused: Callable[[BaseException], None], then: Callable | None
    ) -> bool:
        """Apply what ``read`` gave, or refuse what it raised; then ``then(applied)``."""
        if isinstance(result, BaseException):
            refused(result)
            ok = False
        else:
            ok = result()
        if then is not None:
            then(ok)
        return ok

    def load_session(
        self, source: object, then: Callable[[bool], None] | None = None, wait: bool = False
    ) -> bool:
        """A Session object or a session file; refused (with a message) changes nothing. A
        large file is read off the GUI thread (see ``_load``) unless ``wait``."""
        from solver.core.fileguard import footprint

        if hasattr(source, "problem"):
            self._drop_load()
            self.model.set_session(source, "Session loaded", label="untitled")
            if then is not None:
                then(True)
            return True
        name = Path(source).name

        def read() -> Apply:
            s, why = read_session(source)
            return lambda: self._apply(s, f"Opened {name}{why}", name)

        def refused(exc: BaseException) -> None:
            self.model.refuse("Session not loaded", session_refusal(source, exc))

        heavy = not wait and footprint(source, LOAD_SYNC_BYTES) >= LOAD_SYNC_BYTES
        return self._load(heavy, name, read, refused, then)

    def _apply(self, s: Session, note: str, label: str) -> bool:
        self.model.set_session(s, note, label=label)
        return True

    def load_preset(
        self, key: str, then: Callable[[bool], None] | None = None, **params: object
    ) -> bool:
        """A preset with ``params``; a heavy one is built off the GUI thread (``_load``)."""
        from solver.sessions import presets

        def read() -> Apply:
            s = presets.build(key, **params)
            title = presets.PRESETS[key].title
            return lambda: self._apply(s, f"Preset: {title}", title)

        def refused(exc: BaseException) -> None:
            from solver.core.errors import InputError

            if not isinstance(exc, InputError | ValueError | MemoryError):
                raise exc
            self.model.refuse("Preset not loaded", str(exc) or "not enough memory for it")

        title = presets.PRESETS[key].title if key in presets.PRESETS else key
        return self._load(presets.heavy(key, **params), title, read, refused, then)

    def import_matrix(
        self,
        path: str | Path,
        target: str | None = None,
        then: Callable[[bool], None] | None = None,
    ) -> bool:
        """A .mtx/.npz/.csv/.npy file into the problem's matrix (or ``target``, e.g. "b").
        The matrix of a kind that may hold it sparse is loaded as its size and fill decide
        (``matrixio.load_operator``); everything else is dense. A large file is read off the
        GUI thread (``_load``)."""
        from solver.core.fileguard import footprint
        from solver.matrices.matrixio import load_matrix, load_operator
        from solver.problems.kinds import kind_of

        s = self.model.session
        path = str(Path(path).resolve())
        name = Path(path).name

        def read() -> Apply:
            kind = kind_of(s.problem)
            old = kind.arrays_of(s.problem)
            sparse_ok = target in (None, kind.sparse_key) and kind.sparse_key is not None
            field = target or kind.matrix_key  # "A: gr.mtx: line 7: ...", the file named once
            arr = load_operator(path, field) if sparse_ok else load_matrix(path, field)
            problem, keys, note = kind.import_matrix(s.problem, arr, target)
            kept = {k: v for k, v in s.files.items() if k not in keys}
            if kind_of(problem) is not kind:
                kept = {}
            files = {
                **{k: v for k, v in kept.items() if k in kind.arrays_of(problem)},
                **dict.fromkeys(keys, path),
            }
            new = s.with_problem(problem).replace(files=files)
            shapes = ("×".join(f"{d:,}" for d in a.shape) for a in (old[field], arr))
            return lambda: self._imported(s, new, name, field, note, *shapes)

        def refused(exc: BaseException) -> None:
            from solver.core.errors import InputError

            if not isinstance(exc, InputError | MemoryError):
                raise exc
            self.model.refuse("Matrix not imported", str(exc) or "not enough memory for it")

        heavy = footprint(path, LOAD_SYNC_BYTES) >= LOAD_SYNC_BYTES
        return self._load(heavy, name, read, refused, then)

    def _imported(
        self, s: Session, new: Session, name: str, field: str, note: str, was: str, now: str
    ) -> bool:
        cur = self.model.session
        if cur is not s:  # changed while a large file was read
            from solver.core.errors import InputError

            if cur is None or cur.problem is not s.problem:
                self.model.refuse(
                    "Matrix not imported",
                    f"{name}: the problem changed while it was read; import it again",
                )
                return False
            try:  # only settings changed: they apply to the imported problem
                new = cur.with_problem(new.problem).replace(files=new.files)
            except InputError as exc:
                self.model.refuse("Matrix not imported", f"{name}: {exc}")
                return False
        self.model.set_session(new, f"Imported {name}" + (f"; {note}" if note else ""))
        if note:  # e.g. b replaced because it no longer fits: the user must not miss it
            self.model.set_notice(
                f"{name}: {field} is now {now} (it was {was}); {note}. "
                "Edit → Undo puts back the problem as it was."
            )
        return True
