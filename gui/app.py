"""Start the window: Qt first, paint, then torch.

``python main.py`` must paint its window within a second although importing torch alone takes
longer here. So this module and everything the first paint needs import only Qt and numpy;
once the window has painted, ``MainWindow.finish_startup`` imports the solver (torch) and then
pyqtgraph on another thread (``gui.loader``), and fills the window in: Run works as soon as
the solver is in, the plots follow.

Environment hooks (for benchmarks and tests):
  DESCENT_LAB_EXIT_AFTER_PAINT=1  print ``first-paint <unix time>`` at the first paint and exit
  DESCENT_LAB_EXIT_WHEN_READY=1   print ``first-paint`` and then ``ready <unix time>`` once Run
                                  works (the solver loaded, the first session in), and exit
  DESCENT_LAB_RUN_LOG=path        append one JSON line per finished run (``"event": "run"``,
                                  reason, iterations...) and one when the plots are shown
                                  (``"event": "plots"``), each with its unix time
  DESCENT_LAB_SPARE_CORES=x       the live run fits x free cores instead of the measured load
                                  (``gui.machine``)

Quitting, by Ctrl+Q, closing the window, SIGTERM or Ctrl+C in the terminal, always ends with
status 0 and the session autosaved: the window hides at once and gives its threads a second;
one still inside a call that cannot be interrupted is left running, and the process ends
with ``os._exit`` (``threads_left``) rather than destroy a QThread that runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sys
import time

from PySide6 import QtCore, QtWidgets

from .mainwindow import APPLICATION, ORGANIZATION, MainWindow
from .process import configure_process

# At quit, how long the window waits for pyqtgraph's import, if under way, to end (~0.2 s).
PLOTS_IMPORT_WAIT = 5.0
# The signals that quit the window as Ctrl+Q does (``SignalQuit``).
QUIT_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT") if hasattr(signal, name)
)

STYLE = """
QMainWindow, QDockWidget { background: #f6f7f9; }
QDockWidget::title { background: #e8ebf0; padding: 5px 8px; font-weight: 600; }
QToolBar { background: #eef1f5; border-bottom: 1px solid #d5d9e0; spacing: 4px; padding: 3px; }
QToolBar QToolButton { padding: 3px 8px; border-radius: 4px; }
QToolBar QToolButton:hover { background: #dde3ec; }
QToolBar QToolButton:disabled { color: #9aa1ab; }
QStatusBar { background: #eef1f5; border-top: 1px solid #d5d9e0; }
QStatusBar QLabel { padding: 0 6px; }
QGroupBox { font-weight: 600; border: 1px solid #d5d9e0; border-radius: 5px; margin-top: 10px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 3px; }
QTableView { gridline-color: #e2e5ea; selection-background-color: #cfe0fb;
             selection-color: black; }
QHeaderView::section { background: #eef1f5; border: none; border-right: 1px solid #dde1e7;
                       border-bottom: 1px solid #dde1e7; padding: 2px 4px; }
QTabBar::tab { padding: 4px 12px; }
QLabel#lrInfo { color: #374151; }
QListWidget#devices::item { padding: 4px; }
QListWidget#devices::item:selected { background: #cfe0fb; color: black; }
QListWidget#devices::item:disabled { color: #9aa1ab; }
"""


def configure_application(app: QtWidgets.QApplication) -> None:
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    app.setStyle("Fusion")
    app.setStyleSheet(STYLE)
    configure_process()


def _log_runs(window: MainWindow, path: str) -> None:
    def write(entry: dict) -> None:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({**entry, "time": time.time()}) + "\n")

    def finished(run_id: int, reason: str, message: str) -> None:
        rec = window.model.run(run_id)
        write(
            {
                "event": "run",
                "stop_reason": reason,
                "message": message,
                "iterations": rec.status.iteration if rec is not None else None,
                "final_loss": rec.status.final_loss if rec is not None else None,
            }
        )

    window.model.run_finished.connect(finished)
    window.plots_shown.connect(lambda: write({"event": "plots"}))


def run_app(args: argparse.Namespace) -> int:
    """Open the window (``args.session``: a session file to open). Returns the exit status."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    configure_application(app)
    # After the names are set: the crash log goes under this app's own app-data folder.
    from . import crash

    crash.install()
    if getattr(args, "self_test", False):
        try:
            from . import selftest
        except ImportError:
            print("error: the self-test is not part of this build", file=sys.stderr)
            return 2
        return selftest.run_self_test(app)

    window = MainWindow(defer=True, session_path=getattr(args, "session", None))
    if os.environ.get("DESCENT_LAB_EXIT_AFTER_PAINT") == "1":

        def report() -> None:
            print(f"first-paint {time.time():.6f}", flush=True)
            QtCore.QTimer.singleShot(0, lambda: app.exit(0))

        window.first_painted.connect(report)
    else:
        # After the paint has reached the screen, not inside it. (Importing torch any earlier
        # only delays the paint: the imports take turns with the window for the GIL.)
        window.first_painted.connect(lambda: QtCore.QTimer.singleShot(0, window.finish_startup))
    if os.environ.get("DESCENT_LAB_EXIT_WHEN_READY") == "1":
        window.first_painted.connect(lambda: print(f"first-paint {time.time():.6f}", flush=True))

        def ready() -> None:
            if window.act_run.isEnabled() and window.model.can_run():
                print(f"ready {time.time():.6f}", flush=True)
                QtCore.QTimer.singleShot(0, lambda: app.exit(0))

        window.model.ready_changed.connect(lambda _ok: QtCore.QTimer.singleShot(0, ready))
    log = os.environ.get("DESCENT_LAB_RUN_LOG")
    if log:
        _log_runs(window, log)
    window.closing.connect(crash.quitting)
    app.aboutToQuit.connect(window.shutdown)
    signals = SignalQuit(app, window)
    window.show()
    status = app.exec()
    if window.loader is not None:
        window.loader.wait_plots(PLOTS_IMPORT_WAIT)
    window.shutdown()
    window.persistence.flush()  # the quit's autosave, written in the background, on disk
    if threads_left(window):
        # A thread is inside a call that cannot be interrupted: the solver's (a run being
        # created: one LU of a large matrix) or an analysis's (a full SVD, an LU), or the
        # start-up imports are still going (torch's compiler hooks, in the background).
        # Interpreter exit would destroy the QThread under the one (abort), wait for the
        # other, and tear torch down under the last (C++ terminate). Everything the user
        # made is saved by now, so the process ends here.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    signals.close()
    return status


def threads_left(window: MainWindow) -> list[str]:
    """After ``window.shutdown()``: the threads still running that a normal interpreter exit
    would wait for or destroy ("solver", "analysis", "loader"). Empty: the process may return
    from ``run_app``; else it must end at once (``os._exit``)."""
    left = []
    if window.live.running():
        left.append("solver")
    if window.analyzer.busy():
        left.append("analysis")
    if window.loader is not None and window.loader.busy():
        left.append("loader")
    return left


class SignalQuit:
    """SIGTERM (a logout, ``kill``) and SIGINT (Ctrl+C in the terminal) quit the window as
    Ctrl+Q does, without asking about unsaved changes (the autosave keeps them): the
    session is autosaved and the process exits 0.

    Python runs a signal's handler only when the GUI thread next runs Python, which an idle
    event loop never does; the signal's number is written to a socket (``set_wakeup_fd``)
    that the event loop watches, and that wakes it."""

    def __init__(self, app: QtWidgets.QApplication, window: MainWindow) -> None:
        self.app, self.window = app, window
        self._read, self._write = socket.socketpair()
        for sock in (self._read, self._write):
            sock.setblocking(False)
        self._old_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        self._old = {sig: signal.signal(sig, self._handler) for sig in QUIT_SIGNALS}
        self._notifier = QtCore.QSocketNotifier(
            self._read.fileno(), QtCore.QSocketNotifier.Type.Read
        )
        self._notifier.activated.connect(self._drain)

    def _drain(self, *_: object) -> None:
        # Running this Python is what lets the handler run; the bytes themselves say nothing.
        with contextlib.suppress(OSError):
            self._read.recv(512)

    def _handler(self, _sig: int, _frame: object) -> None:
        # Not from inside whatever Python the GUI thread was running: from the event loop,
        # which may be a dialog's (a message box, a file dialog); exit() ends them all.
        QtCore.QTimer.singleShot(0, self.quit)

    def quit(self) -> None:
        self.window.shutdown()
        self.app.exit(0)

    def close(self) -> None:
        """Give the signals back (the process goes on: tests, the self-test)."""
        self._notifier.setEnabled(False)
        for sig, old in self._old.items():
            signal.signal(sig, old)
        signal.set_wakeup_fd(self._old_fd)
        self._read.close()
        self._write.close()
