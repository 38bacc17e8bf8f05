"""Uncaught exceptions: written to a log file under the app-data folder and shown in a dialog.

A frozen app has no terminal, so a traceback printed to stderr is a silent death. Here every
uncaught exception (GUI thread, Qt slots, plain threads) goes to ``<AppData>/logs/`` and, on
the GUI thread, to a dialog that names the log file. If the app-data folder cannot be written,
the log goes to the temporary folder instead, and the dialog says so. Once the app is
quitting (``quitting``) an error is logged without a dialog: nothing may hold the quit up.

A fatal signal in native code (a segfault in a library) cannot be caught at all; each launch
opens ``fatal-<time>.log`` there for faulthandler, which writes every thread's Python stack
into it on such a signal. A launch that ends without one leaves the file empty, and empty
ones are removed (at exit, or by the next launch when the process ended with ``os._exit``).
"""

from __future__ import annotations

import atexit
import datetime as _dt
import faulthandler
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from types import TracebackType

from PySide6 import QtCore, QtWidgets


def log_dir() -> Path:
    loc = QtCore.QStandardPaths.StandardLocation.AppDataLocation
    return Path(QtCore.QStandardPaths.writableLocation(loc)) / "logs"


def write_log(text: str, folder: Path | None = None) -> Path:
    """Write ``text`` to a new crash log; returns its path (temp folder as the fallback)."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    for base in (folder or log_dir(), Path(tempfile.gettempdir()) / "DescentLab-logs"):
        try:
            base.mkdir(parents=True, exist_ok=True)
            path = base / f"crash-{stamp}.log"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    raise OSError("no writable folder for the crash log")


def open_fatal_log(folder: Path | None = None) -> Path | None:
    """Point faulthandler at a new ``fatal-*.log`` (removing empty ones left by earlier
    launches); its path, or None where faulthandler is on already (``-X faulthandler`` or
    PYTHONFAULTHANDLER: a developer reads stderr) or no folder can be written."""
    if faulthandler.is_enabled():
        return None
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    for base in (folder or log_dir(), Path(tempfile.gettempdir()) / "DescentLab-logs"):
        try:
            base.mkdir(parents=True, exist_ok=True)
            for old in base.glob("fatal-*.log"):
                if old.stat().st_size == 0:
                    old.unlink(missing_ok=True)
            path = base / f"fatal-{stamp}.log"
            fh = open(path, "w", encoding="utf-8")  # noqa: SIM115 - open for the process
        except OSError:
            continue
        faulthandler.enable(fh, all_threads=True)
        atexit.register(_close_fatal_log, fh, path)
        return path
    return None


def _close_fatal_log(fh: object, path: Path) -> None:
    faulthandler.disable()
    fh.close()
    try:
        if path.stat().st_size == 0:
            path.unlink()
    except OSError:
        pass


def report(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None, where: str
) -> None:
    """An uncaught exception from ``where``: to stderr and a log, and in a dialog unless
    the window is quitting (``quitting``)."""
    text = f"Descent Lab: uncaught exception in {where}\n" + "".join(
        traceback.format_exception(kind, value, tb)
    )
    sys.stderr.write(text)
    try:
        path = write_log(text)
        note = f"Details were written to {path}."
    except OSError as exc:
        note = f"The log could not be written ({exc})."
    if _dialog_allowed():
        box = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Icon.Critical,
            "Descent Lab: unexpected error",
            f"{kind.__name__}: {value}\n\nYour session is autosaved. {note}",
        )
        box.setDetailedText(text)
        box.exec()


_quitting = False


def quitting() -> None:
    """The app is quitting: errors from now on are logged but get no dialog, which would
    hold the quit up until someone answered it (a SIGTERM at logout has no one to)."""
    global _quitting
    _quitting = True


def _dialog_allowed() -> bool:
    app = QtWidgets.QApplication.instance()
    on_gui_thread = app is not None and QtCore.QThread.currentThread() is app.thread()
    offscreen = QtWidgets.QApplication.platformName() == "offscreen"
    return on_gui_thread and not offscreen and not _quitting


def install() -> None:
    """Route uncaught exceptions of every thread to the log and the dialog."""

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        report(kind, value, tb, "the window")

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread else "a thread"
        report(args.exc_type, args.exc_value, args.exc_traceback, f"thread {name}")

    sys.excepthook = hook
    threading.excepthook = thread_hook
    open_fatal_log()
