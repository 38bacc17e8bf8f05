"""The main window: panels around the live plots, run controls, status bar, settings.

State lives in one place: ``self.session`` is the last *valid* session (an engine Session).
Every user edit becomes a request that the engine validates (``Session.replace``, the problem
classes, ``session.load``...); a refused request shows the engine's message, puts the widgets
back, and leaves the session, the run and its history as they were.

Start-up is split so the window paints before torch is imported: ``__init__`` builds only Qt
widgets; ``finish_startup`` then imports pyqtgraph (plots) here and the solver (torch) on a
thread, and ``_engine_loaded`` fills the panels and loads the first session.
"""

from __future__ import annotations

import copy
import gc
import json
import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from .panels import DevicePanel, HyperPanel, MatrixPanel, fmt
from .worker import IDLE, PAUSED, RUNNING, SolverWorker

Qt = QtCore.Qt

ORGANIZATION = "DescentLab"
APPLICATION = "Descent Lab"
AUTOSAVE_NAME = "last-session.json"
# Arrays larger than this go beside the autosave as .npy, keeping the JSON small and fast.
AUTOSAVE_INLINE_LIMIT = 10_000
# Problems up to this many matrix entries are analysed on the GUI thread (well under a frame).
SYNC_ANALYSIS_LIMIT = 40_000
# Share of wall time the GUI may spend drawing (with the solver parked) while a run is live.
FRAME_SHARE = 0.09
MAX_FPS = 60
MAX_GAP = 0.25  # the plots redraw at least 4 times a second while a run goes
PLOT_TRACK_LIMIT = 12  # components plotted by default for large n
PLOT_TRACK_MAX = 32  # most components a user may ask to plot (one legend must stay readable)
SPEEDS: list[float | None] = [2, 5, 10, 30, 100, 300, 1000, 3000, 10000, None]


class _Relay(QtCore.QObject):
    """Carries results from plain Python threads to the GUI thread (queued signal)."""

    done = QtCore.Signal(object)


def speed_label(speed: float | None) -> str:
    return "as fast as possible" if speed is None else f"{speed:g} it/s"


class MainWindow(QtWidgets.QMainWindow):
    """Descent Lab's window. Constructible programmatically (tests, the self-test).

    ``MainWindow(settings, data_dir)`` builds everything at once; ``defer=True`` (the app)
    builds only the Qt widgets so the window can paint before torch is imported, and
    ``finish_startup()`` completes it. ``ready`` fires once a session is loaded.
    """

    ready = QtCore.Signal()
    first_painted = QtCore.Signal()
    state_changed = QtCore.Signal(str)  # "idle" | "running" | "paused"
    run_finished = QtCore.Signal(str, str)  # stop reason ("converged", ...), message
    error_shown = QtCore.Signal(str)
    session_changed = QtCore.Signal()

    def __init__(
        self,
        settings: QtCore.QSettings | None = None,
        data_dir: str | Path | None = None,
        *,
        defer: bool = False,
        session_path: str | None = None,
        dialogs: bool = True,
    ) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QtCore.QSettings()
        loc = QtCore.QStandardPaths.StandardLocation.AppDataLocation
        self.data_dir = Path(data_dir or QtCore.QStandardPaths.writableLocation(loc))
        self.session = None  # last valid solver Session
        self.run = None  # the current solver Run (read only here: history, iteration, message)
        self.state = IDLE
        self.analysis = None
        self.last_error = ""
        self.last_stop_reason = ""
        self.last_stop_message = ""
        self.dialogs = dialogs  # False: errors go to the status bar and ``last_error`` only
        self.is_ready = False
        self._session_path = session_path
        self._table_error: str | None = None
        self._kind_memory: dict[str, tuple] = {}
        self._gen = 0
        self._painted = False
        self._closing = False
        self._analysis_gen = 0
        self._autosaved_arrays: dict[str, tuple[np.ndarray, str]] = {}
        self._rates: deque[tuple[float, int]] = deque(maxlen=32)
        self._busy = 0.0  # seconds of GUI work (frames, paints) since the last frame
        self._frames = 0
        self._busy_total = 0.0
        self._cost = 0.0
        self._in_frame = False
        self._frame_t0 = 0.0
        self._next_frame = 0.0
        self._dirty = False
        self._boxes: list[QtWidgets.QMessageBox] = []
        # Unparented and held here: a thread emitting on it can never outlive it.
        self._analysis_relay = _Relay()
        self._analysis_relay.done.connect(self._show_analysis)
        self.plots = None
        self.worker: SolverWorker | None = None
        self._thread: QtCore.QThread | None = None

        self.setWindowTitle(APPLICATION)
        self.setObjectName("MainWindow")
        self._build_actions()
        self._build_ui()
        self._restore_settings()
        self._update_controls()
        self.installEventFilter(self)
        self._frame_timer = QtCore.QTimer(self)
        self._frame_timer.setSingleShot(True)
        self._frame_timer.timeout.connect(self._frame)
        if not defer:
            self.finish_startup(wait=True)

    # == construction ========================================================================
    def _action(self, text: str, slot, shortcut: str | QtGui.QKeySequence | None = None,
                icon: QtWidgets.QStyle.StandardPixmap | None = None, tip: str = ""):
        a = QtGui.QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QtGui.QKeySequence(shortcut))
        if icon is not None:
            a.setIcon(self.style().standardIcon(icon))
        if tip or shortcut:
            keys = a.shortcut().toString(QtGui.QKeySequence.NativeText)
            a.setToolTip(f"{tip or text} ({keys})" if keys else tip or text)
        a.triggered.connect(slot)
        self.addAction(a)  # shortcuts work wherever the focus is in the window
        return a

    def _build_actions(self) -> None:
        sp = QtWidgets.QStyle.StandardPixmap
        self.act_run = self._action("Run", self.run_or_resume, "F5", sp.SP_MediaPlay,
                                    "Run from the start, or resume")
        self.act_pause = self._action("Pause", self.toggle_pause, "F6", sp.SP_MediaPause,
                                      "Pause (or resume)")
        self.act_step = self._action("Step", lambda: self.step(1), "F10", sp.SP_MediaSeekForward,
                                     "Apply one update, then pause")
        self.act_step_n = self._action("Step N", lambda: self.step(self.step_n.value()),
                                       "Shift+F10", sp.SP_MediaSkipForward,
                                       "Apply N updates, then pause")
        self.act_stop = self._action("Stop", self.stop, "Shift+F5", sp.SP_MediaStop,
                                     "Finish the run now, keeping its history")
        self.act_reset = self._action("Reset", self.reset, "Ctrl+R", sp.SP_BrowserReload,
                                      "Discard the run and its history")
        self.act_open = self._action("Open session…", self.open_session_dialog,
                                     QtGui.QKeySequence.Open, sp.SP_DialogOpenButton)
        self.act_save = self._action("Save session as…", self.save_session_dialog,
                                     QtGui.QKeySequence.Save, sp.SP_DialogSaveButton)
        self.act_import = self._action("Import matrix…", self.import_matrix_dialog, "Ctrl+I")
        self.act_import_b = self._action("Import right-hand side b…",
                                         lambda: self.import_matrix_dialog(target="b"))
        self.act_export_csv = self._action("Export history as CSV…", self.export_csv_dialog,
                                           "Ctrl+E")
        self.act_quit = self._action("Quit", self.close, "Ctrl+Q")
        self.act_quit.setShortcutContext(Qt.ApplicationShortcut)

    def _build_ui(self) -> None:
        menu = self.menuBar()
        m_file = menu.addMenu("&File")
        for a in (self.act_open, self.act_save):
            m_file.addAction(a)
        m_file.addSeparator()
        m_file.addAction(self.act_import)
        m_file.addAction(self.act_import_b)
        m_file.addSeparator()
        m_file.addAction(self.act_export_csv)
        self.export_menu = m_file.addMenu("Export plot")
        self.export_menu.setEnabled(False)
        m_file.addSeparator()
        m_file.addAction(self.act_quit)
        self.presets_menu = menu.addMenu("&Presets")
        self.presets_menu.addAction("Loading…").setEnabled(False)
        m_run = menu.addMenu("&Run")
        for a in (self.act_run, self.act_pause, self.act_step, self.act_step_n, self.act_stop,
                  self.act_reset):
            m_run.addAction(a)
        self.view_menu = menu.addMenu("&View")

        tb = QtWidgets.QToolBar("Run controls")
        tb.setObjectName("runToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        tb.setIconSize(QtCore.QSize(18, 18))
        for a in (self.act_run, self.act_pause, self.act_step):
            tb.addAction(a)
        self.step_n = QtWidgets.QSpinBox()
        self.step_n.setRange(1, 1_000_000_000)
        self.step_n.setValue(100)
        self.step_n.setGroupSeparatorShown(True)
        self.step_n.setToolTip("N for Step N")
        self.step_n.setFixedWidth(100)
        tb.addAction(self.act_step_n)
        tb.addWidget(self.step_n)
        tb.addSeparator()
        tb.addAction(self.act_stop)
        tb.addAction(self.act_reset)
        tb.addSeparator()
        tb.addWidget(QtWidgets.QLabel(" Speed "))
        self.speed = QtWidgets.QSlider(Qt.Horizontal)
        self.speed.setRange(0, len(SPEEDS) - 1)
        self.speed.setValue(len(SPEEDS) - 1)
        self.speed.setPageStep(1)
        self.speed.setFixedWidth(150)
        self.speed.setToolTip("iterations per second, from a few up to as fast as possible")
        self.speed_text = QtWidgets.QLabel(speed_label(None))
        self.speed_text.setMinimumWidth(130)
        self.speed.valueChanged.connect(self._on_speed)
        tb.addWidget(self.speed)
        tb.addWidget(self.speed_text)
        self.addToolBar(tb)
        self.toolbar = tb

        self.matrix = MatrixPanel()
        self.matrix.edited.connect(self._on_tables_edited)
        self.matrix.message.connect(lambda m: self._error("Paste refused", m))
        self.matrix.presets_button.setMenu(self.presets_menu)
        self.hyper = HyperPanel()
        self.hyper.changed.connect(self._on_hyper_changed)
        self.hyper.use_recommended.connect(self.use_recommended_lr)
        self.hyper.track_changed.connect(self._on_track_changed)
        self.devices = DevicePanel()
        self.devices.chosen.connect(lambda d: self._on_hyper_changed({"device": d}))

        self.dock_matrix = self._dock("Problem", "problemDock", self.matrix,
                                      Qt.LeftDockWidgetArea)
        hyper_scroll = QtWidgets.QScrollArea()
        hyper_scroll.setWidgetResizable(True)
        hyper_scroll.setFrameShape(QtWidgets.QFrame.NoFrame)
        hyper_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        hyper_scroll.setWidget(self.hyper)
        self.dock_hyper = self._dock("Solver", "solverDock", hyper_scroll, Qt.RightDockWidgetArea)
        self.dock_devices = self._dock("Device", "deviceDock", self.devices,
                                       Qt.RightDockWidgetArea)

        self.placeholder = QtWidgets.QLabel("Loading plots…")
        self.placeholder.setAlignment(Qt.AlignCenter)
        self.placeholder.setStyleSheet("color: #6b7280; font-size: 15px; background: white;")
        self.setCentralWidget(self.placeholder)

        sb = self.statusBar()
        self.st_state = QtWidgets.QLabel("idle")
        self.st_state.setObjectName("stateBadge")
        self.st_iter = QtWidgets.QLabel("iteration —")
        self.st_loss = QtWidgets.QLabel("loss —")
        self.st_rate = QtWidgets.QLabel("— it/s")
        self.st_time = QtWidgets.QLabel("0.00 s")
        for w, width in ((self.st_iter, 150), (self.st_loss, 140), (self.st_rate, 110),
                         (self.st_time, 80)):
            w.setMinimumWidth(width)
            sb.addPermanentWidget(w)
        sb.addPermanentWidget(self.st_state)
        sb.showMessage("Loading the solver…")

    def _dock(self, title: str, name: str, widget: QtWidgets.QWidget,
              area: Qt.DockWidgetArea) -> QtWidgets.QDockWidget:
        d = QtWidgets.QDockWidget(title, self)
        d.setObjectName(name)
        d.setWidget(widget)
        d.setFeatures(QtWidgets.QDockWidget.DockWidgetMovable
                      | QtWidgets.QDockWidget.DockWidgetFloatable
                      | QtWidgets.QDockWidget.DockWidgetClosable)
        self.addDockWidget(area, d)
        self.view_menu.addAction(d.toggleViewAction())
        return d

    def finish_startup(self, wait: bool = False) -> None:
        """Start the worker, build the plots, load the solver (on a thread unless ``wait``)."""
        if self.worker is not None or self._closing:  # closed between paint and this call
            return
        self._start_worker()
        relay = _Relay()
        relay.done.connect(self._engine_loaded)
        self._import_relay = relay
        if wait:
            self._build_plots()
            self._engine_loaded(_import_engine())
            return
        # torch's import (1-1.5 s) runs beside the pyqtgraph import and plot construction.
        t = threading.Thread(target=lambda: relay.done.emit(_import_engine()),
                             name="import-solver", daemon=True)
        t.start()
        self._build_plots()

    def _start_worker(self) -> None:
        self.worker = SolverWorker()
        self._thread = QtCore.QThread(self)
        self._thread.setObjectName("solver")
        self.worker.moveToThread(self._thread)
        self._thread.started.connect(self.worker.loop)
        self.worker.run_created.connect(self._on_run_created)
        self.worker.progressed.connect(self._on_progress)
        self.worker.state_changed.connect(self._on_state)
        self.worker.run_finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self._thread.start()
        self._on_speed(self.speed.value())

    def _build_plots(self) -> None:
        from .plots import PlotPanel

        self.plots = PlotPanel(guard=self._gui_work)
        self.plots.restore_state(self.settings.value("window/plots", []) or [])
        self.setCentralWidget(self.plots)
        self.placeholder = None
        titles = {"loss": "Loss", "error": "Error and residual", "x": "Components of x",
                  "bars": "x vs exact", "heat_x": "X heat map",
                  "heat_residual": "Residual heat map"}
        for key, title in titles.items():
            self.export_menu.addAction(f"{title}…", lambda k=key: self.export_plot_dialog(k))
        self.export_menu.setEnabled(True)
        if getattr(self, "_default_layout", False) and self.isVisible():
            self._default_layout = False
            QtCore.QTimer.singleShot(0, self._size_docks)

    def _engine_loaded(self, result: object) -> None:
        if self._closing:
            return
        if isinstance(result, BaseException):
            self._error("The solver could not be loaded", f"{type(result).__name__}: {result}")
            return
        from solver.devices import list_devices
        from solver.errors import InputError
        from solver.losses import LOSSES
        from solver.optimizers import OPTIMIZER_LABELS
        from solver.presets import PRESETS
        from solver.resources import resource_path

        try:
            icon = QtGui.QIcon(str(resource_path("icons", "descent-lab.png")))
            self.setWindowIcon(icon)
            QtWidgets.QApplication.setWindowIcon(icon)
        except InputError:
            pass  # a build without the icon still works

        self.hyper.set_choices(LOSSES, OPTIMIZER_LABELS)
        self.devices.set_devices(list_devices())
        self.presets_menu.clear()
        for key, p in PRESETS.items():
            a = self.presets_menu.addAction(p.title + ("…" if p.params else ""))
            a.setToolTip(p.description)
            a.setData(key)
            a.triggered.connect(lambda _c=False, k=key: self._preset_chosen(k))
        self.presets_menu.setToolTipsVisible(True)
        self._load_initial_session()
        self.is_ready = True
        self._update_controls()
        self.matrix.focus_table()
        # torch, numpy, Qt and pyqtgraph leave ~230k long-lived objects; a full collection
        # walks them all (~150 ms here) in whichever thread trips it, mid-run, holding the
        # GIL: a visible stall. Frozen, they are skipped by every later collection.
        gc.collect()
        gc.freeze()
        self.ready.emit()

    def _load_initial_session(self) -> None:
        from solver import presets
        from solver.errors import InputError

        note = ""
        if self._session_path:
            if self.load_session(self._session_path):
                return
            note = self.last_error
        auto = self.data_dir / AUTOSAVE_NAME
        if auto.is_file():  # also when the file given could not be opened
            try:
                s, why = self._read_session(auto)
                self._adopt(s, note or f"Restored the last session{why}", label="last session")
                return
            except Exception as exc:  # a damaged autosave must never stop the app starting
                note = note or f"the last session could not be restored: {exc}"
        s = presets.build(presets.DEFAULT_PRESET)
        device = str(self.settings.value("session/device", "cpu") or "cpu")
        if device != s.device:
            try:  # the last device used, if it is still here
                s = s.replace(device=device)
            except InputError:
                pass
        self._adopt(s, "Loaded the 3×3 example",
                    label=presets.PRESETS[presets.DEFAULT_PRESET].title)
        if note:
            self.statusBar().showMessage(note)

    def showEvent(self, ev: QtGui.QShowEvent) -> None:
        super().showEvent(ev)
        if getattr(self, "_default_layout", False):
            # Once now (the start-up skeleton) and once more when the plots arrive.
            self._default_layout = self.plots is None
            QtCore.QTimer.singleShot(0, self._size_docks)

    def _size_docks(self) -> None:
        """The first layout: the docks get a fixed share and the plots get the rest."""
        w, h = self.width(), self.height()
        self.resizeDocks([self.dock_matrix, self.dock_hyper],
                         [max(300, int(w * 0.27)), max(280, int(w * 0.22))], Qt.Horizontal)
        self.resizeDocks([self.dock_hyper, self.dock_devices], [int(h * 0.68), int(h * 0.2)],
                         Qt.Vertical)

    # == painting and frames ==================================================================
    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:
        # Installed until the first paint only: a Python paintEvent override would run on
        # every repaint of the window, each one a wait for the GIL while the solver runs.
        if obj is self and ev.type() == QtCore.QEvent.Paint and not self._painted:
            self._painted = True
            self.removeEventFilter(self)
            QtCore.QTimer.singleShot(0, self.first_painted.emit)
        return False

    @contextmanager
    def _gui_work(self) -> Iterator[None]:
        """Run GUI Python with the solver parked (see gui.worker), and count its cost.
        Inside a frame the solver is parked already; its paints are part of its cost."""
        w = self.worker
        if self._in_frame or w is None:
            yield
            return
        t0 = time.perf_counter()
        w.hold()
        try:
            yield
        finally:
            w.release()
            self._busy += time.perf_counter() - t0

    def _schedule_frame(self) -> None:
        if self._frame_timer.isActive():
            return
        delay = max(0.0, self._next_frame - time.perf_counter())
        self._frame_timer.start(int(delay * 1000))

    def _frame(self, force: bool = False) -> None:
        """One redraw: pull decimated data into the visible plots and the status bar.

        The solver stays parked until the event loop has also painted what changed: the
        paints are posted ahead of the zero-timer that ends the frame. ``force`` (a pause, a
        finish) draws even inside a frame that is still being painted."""
        if self._closing:
            return
        if self._in_frame:
            if force:
                self._draw()
            return
        self._in_frame = True
        self._frame_t0 = time.perf_counter()
        if self.worker is not None:
            self.worker.hold()
        try:
            self._draw()
        finally:
            QtCore.QTimer.singleShot(0, self._end_frame)

    def _draw(self) -> None:
        self._dirty = False
        if self.plots is not None and self.worker is not None:
            self.worker.want_x(self.plots.wants_x())
            self.plots.set_latest_x(self.worker.latest_x)
            # Paused: draw every plot, but keep the stepped ranges a resume continues.
            self.plots.refresh(everything=self.state != RUNNING, tight=self.state == IDLE)
        self._update_status()

    def _end_frame(self) -> None:
        if self.worker is not None:
            self.worker.release()
        self._in_frame = False
        cost = self._busy + time.perf_counter() - self._frame_t0
        self._busy = 0.0
        self._frames += 1
        self._busy_total += cost
        # Smoothed, so one slow frame (an axis that moved) does not freeze the plots.
        self._cost = 0.7 * self._cost + 0.3 * cost
        gap = min(MAX_GAP, max(1.0 / MAX_FPS, self._cost / FRAME_SHARE))
        self._next_frame = time.perf_counter() + (gap if self.state == RUNNING else 0.0)
        if self.worker is not None:
            self.worker.request_progress()
        if self._dirty:
            self._schedule_frame()

    def frame_stats(self) -> tuple[int, float]:
        """(frames drawn, seconds of GUI work with the solver parked) since start-up."""
        return self._frames, self._busy_total + self._busy

    def _update_status(self) -> None:
        run = self.run
        if run is None:
            self.st_iter.setText("iteration —")
            self.st_loss.setText("loss —")
            self.st_rate.setText("— it/s")
            self.st_time.setText("0.00 s")
            return
        n = len(run.history)
        it = n - 1
        loss = float(run.history.loss[it]) if n else float("nan")
        now = time.perf_counter()
        self._rates.append((now, it))
        while len(self._rates) > 2 and now - self._rates[0][0] > 1.0:
            self._rates.popleft()
        if self.state == RUNNING and len(self._rates) >= 2 and now > self._rates[0][0]:
            rate = (it - self._rates[0][1]) / (now - self._rates[0][0])
        else:
            rate = it / run.elapsed if run.elapsed > 0 else 0.0
        self.st_iter.setText(f"iteration {it:,}")
        self.st_loss.setText(f"loss {fmt(loss, 4) if math.isfinite(loss) else loss}")
        self.st_rate.setText(f"{rate:,.0f} it/s")
        self.st_time.setText(f"{run.elapsed:.2f} s")

    # == worker signals =======================================================================
    def _on_run_created(self, gen: int, run: object) -> None:
        if gen != self._gen:
            return
        self.run = run
        self._rates.clear()
        if self.plots is not None:
            from .plots import RunSource

            self.plots.set_source(RunSource.from_run(run))
        self._dirty = True
        self._schedule_frame()

    def _on_progress(self, gen: int, iteration: int, entries: int) -> None:
        if gen != self._gen:
            return
        self._dirty = True
        self._schedule_frame()

    def _on_state(self, gen: int, state: str) -> None:
        if gen != self._gen:
            return
        self.state = state
        if state == PAUSED:
            at = self.run.iteration if self.run is not None else 0
            self.statusBar().showMessage(f"Paused at iteration {at:,}")
            self._frame(force=True)
        elif state == RUNNING:
            self.statusBar().showMessage("Running…")
        self._update_controls()
        self.state_changed.emit(state)

    def _on_finished(self, gen: int, reason: str, message: str) -> None:
        if gen != self._gen:
            return
        self.state = IDLE
        self.last_stop_reason, self.last_stop_message = reason, message
        self._frame(force=True)
        self.statusBar().showMessage(message[:1].upper() + message[1:])
        self._update_controls()
        if reason == "error":
            self._error("The run failed", message)
        self.run_finished.emit(reason, message)

    def _on_failed(self, gen: int, message: str) -> None:
        if gen != self._gen:
            return
        self.state = IDLE
        self._update_controls()
        self._error("The run could not continue", message)

    # == run controls =========================================================================
    def can_run(self) -> bool:
        return (self.is_ready and self.session is not None and self._table_error is None
                and self.worker is not None)

    def start_run(self, steps: int | None = None) -> bool:
        """Start a new run of the current session (``steps``: that many updates, then pause).
        The previous run's history is replaced. Returns False (with a message) if it cannot."""
        if not self.can_run():
            why = self._table_error or "the solver is still loading"
            self._error("Cannot run", why)
            return False
        try:
            track = self._track_indices(self.hyper.track.text())
        except ValueError as exc:
            self._error("Cannot run", str(exc))
            return False
        self._autosave()
        self._gen = self.worker.start(self.session, track, steps)
        self.state = RUNNING
        self.last_stop_reason = self.last_stop_message = ""
        self._next_frame = 0.0
        self.statusBar().showMessage("Starting…")
        self._update_controls()
        self.state_changed.emit(RUNNING)
        return True

    def run_or_resume(self) -> None:
        """F5: resume a paused run, else start a new one."""
        if self.state == PAUSED and self.run is not None:
            self.worker.resume()
        elif self.state == IDLE:
            self.start_run()

    def toggle_pause(self) -> None:
        if self.state == RUNNING:
            self.pause()
        elif self.state == PAUSED:
            self.worker.resume()

    def pause(self) -> None:
        if self.worker is not None and self.state == RUNNING:
            self.worker.pause()

    def resume(self) -> None:
        if self.worker is not None and self.state == PAUSED:
            self.worker.resume()

    def step(self, n: int = 1) -> None:
        """Apply ``n`` updates and pause; from idle, start a new run that does so."""
        if self.worker is None:
            return
        if self.worker.has_pending():
            self.worker.step(n)  # the run just started is not created yet: it will step
        elif self.state == IDLE or self.run is None or self.run.finished:
            self.start_run(steps=n)
        else:
            self.worker.step(n)

    def stop(self) -> None:
        if self.worker is not None and self.state != IDLE:
            self.worker.stop()

    def reset(self) -> None:
        """Discard the run and its history."""
        if self.worker is None:
            return
        self.worker.reset()
        self._gen = self.worker.generation
        self.run = None
        self.state = IDLE
        if self.plots is not None:
            self.plots.set_source(None)
        self._update_status()
        self.statusBar().showMessage("Reset: the history is cleared")
        self._update_controls()
        self.state_changed.emit(IDLE)

    def set_speed(self, iterations_per_second: float | None) -> None:
        """Nearest speed step (None: as fast as possible)."""
        if iterations_per_second is None:
            self.speed.setValue(len(SPEEDS) - 1)
            return
        best = min(range(len(SPEEDS) - 1),
                   key=lambda i: abs(math.log(SPEEDS[i] / iterations_per_second)))
        self.speed.setValue(best)

    def _on_speed(self, index: int) -> None:
        sp = SPEEDS[index]
        self.speed_text.setText(speed_label(sp))
        if self.worker is not None:
            self.worker.set_speed(sp)

    def _update_controls(self) -> None:
        ok = self.can_run()
        running, paused, idle = self.state == RUNNING, self.state == PAUSED, self.state == IDLE
        self.act_run.setEnabled((ok and idle) or paused)
        self.act_run.setText("Resume" if paused else "Run")
        self.act_pause.setEnabled(running or paused)
        self.act_pause.setText("Resume" if paused else "Pause")
        self.act_step.setEnabled((ok and idle) or running or paused)
        self.act_step_n.setEnabled((ok and idle) or running or paused)
        self.act_stop.setEnabled(running or paused)
        self.act_reset.setEnabled(self.run is not None or not idle)
        self.act_export_csv.setEnabled(self.run is not None)
        self.act_save.setEnabled(self.session is not None)
        self.act_import.setEnabled(self.is_ready)
        self.act_import_b.setEnabled(self.is_ready and self.matrix.kind == "linear_system")
        badge = {RUNNING: ("running", "#1a56db"), PAUSED: ("paused", "#b45309"),
                 IDLE: ("idle", "#4b5563")}[self.state]
        self.st_state.setText(badge[0])
        self.st_state.setStyleSheet(
            f"QLabel {{ color: white; background: {badge[1]}; border-radius: 3px;"
            " padding: 1px 8px; }")

    # == sessions and edits ===================================================================
    def _derive(self, **changes: object):
        """A validated copy of the session with ``changes`` (the engine judges them)."""
        s = self.session
        if "problem" in changes and "files" not in changes:
            problem = changes.pop("problem")
            s = s.with_problem(problem)
        return s.replace(**changes) if changes else s

    def _adopt(self, s: object, note: str = "", *, problem_changed: bool = True,
               tables_ok: bool = False, label: str | None = None) -> None:
        """Make ``s`` (already valid) the session and show it everywhere."""
        self.session = s
        if label is not None:
            self.setWindowTitle(f"{APPLICATION} — {label}")
        if problem_changed or tables_ok:  # the tables hold s.problem: no invalid cell left
            self._table_error = None
            self.matrix.show_error(None)
        if problem_changed:
            self.matrix.show_problem(s.problem)
        self.hyper.show_session(s)
        self.devices.select(s.device)
        self._update_controls()
        self._analyze()
        if note:
            self.statusBar().showMessage(note)
        self.session_changed.emit()

    def _refuse(self, title: str, exc: Exception) -> None:
        """A request the engine refused: say why and put the widgets back."""
        if self.session is not None:
            self.hyper.show_session(self.session)
            self.devices.select(self.session.device)
        self._error(title, str(exc))

    def _on_hyper_changed(self, change: dict) -> None:
        from solver.errors import InputError
        from solver.problems import Inverse

        if self.session is None:
            return
        try:
            if "kind" in change:
                self._switch_kind(change["kind"])
                return
            if "side" in change:
                p = self.session.problem
                new = self._derive(problem=Inverse(p.M, change["side"]), files=dict(
                    self.session.files))
            else:
                new = self._derive(**change)
        except InputError as exc:
            self._refuse("Setting refused", exc)
            return
        self._adopt(new, "Changes apply to the next run" if self.state != IDLE else "",
                    problem_changed=False)

    def _switch_kind(self, kind: str) -> None:
        from solver import presets
        from solver.errors import InputError
        from solver.problems import Inverse

        cur = self.session.problem
        if kind == cur.kind:
            return
        self._kind_memory[cur.kind] = (cur, dict(self.session.files))
        if kind in self._kind_memory:
            problem, files = self._kind_memory[kind]
        else:
            files = {}
            if kind == "inverse":
                try:
                    problem = Inverse(cur.A, "left")
                except (InputError, AttributeError):
                    problem = presets.build("seed-inverse-random").problem
            elif kind == "polyfit":
                problem = presets.build("seed-polyfit").problem
            else:
                problem = presets.build(presets.DEFAULT_PRESET).problem
        new = self._derive(problem=problem, files=files)
        self._adopt(new, f"Switched to a {kind.replace('_', ' ')} problem")

    def _on_tables_edited(self) -> None:
        from solver.errors import InputError
        from solver.problems import Inverse, LinearSystem, Polyfit

        if self.session is None:
            return
        msg = self.matrix.invalid_message()
        if msg is None:
            a = self.matrix.arrays()
            try:
                kind = self.matrix.kind
                if kind == "inverse":
                    side = getattr(self.session.problem, "side", "left")
                    problem = Inverse(a["M"], side)
                elif kind == "polyfit":
                    problem = Polyfit(a["x"], a["y"], a["degree"])
                else:
                    problem = LinearSystem(a["A"], a["b"])
                new = self._derive(problem=problem)
            except InputError as exc:
                msg = str(exc)
            else:
                self._adopt(new, "Problem updated" + (" (applies to the next run)"
                                                      if self.state != IDLE else ""),
                            problem_changed=False, tables_ok=True)
                return
        self._table_error = msg
        self.matrix.show_error(f"{msg}. Run is disabled until this is fixed.")
        self.statusBar().showMessage(msg)
        self.last_error = msg
        self._update_controls()
        self.error_shown.emit(msg)

    def use_recommended_lr(self) -> None:
        if self.analysis is not None and self.analysis.recommended_lr:
            self._on_hyper_changed({"lr": float(f"{self.analysis.recommended_lr:.6g}")})

    def _on_track_changed(self, text: str) -> None:
        try:
            self._track_indices(text)
        except ValueError as exc:
            self._error("Plot selection refused", str(exc))
            return
        self.settings.setValue("run/track", text)
        self.statusBar().showMessage("The plotted components change with the next run")

    def _track_indices(self, text: str) -> list[int] | None:
        """Components to record and plot: the user's 1-based list, or an even spread."""
        from solver.history import default_tracked

        n = int(np.prod(self.session.problem.unknown_shape))
        text = text.strip()
        if not text:
            return default_tracked(n, PLOT_TRACK_LIMIT).tolist()
        out: set[int] = set()
        for part in text.replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            try:
                if "-" in part:
                    lo, hi = (int(p) for p in part.split("-", 1))
                    out.update(range(lo, hi + 1))
                else:
                    out.add(int(part))
            except ValueError:
                raise ValueError(f"plot x: {part!r} is not a number or a range like 2-5") from None
        bad = sorted(i for i in out if not 1 <= i <= n)
        if bad:
            raise ValueError(f"plot x: component {bad[0]} does not exist; x has {n} components")
        if len(out) > PLOT_TRACK_MAX:
            raise ValueError(f"plot x: {len(out)} components chosen; at most {PLOT_TRACK_MAX}")
        return sorted(i - 1 for i in out)

    # -- analysis (off the GUI thread for large matrices) -----------------------------------
    def _analyze(self) -> None:
        from solver.analysis import analyze

        s = self.session
        self._analysis_gen += 1
        gen = self._analysis_gen
        if s.problem.matrix().size <= SYNC_ANALYSIS_LIMIT:
            self._show_analysis((gen, s, _safe(analyze, s.problem, s.loss, s.lr)))
            return
        self.matrix.show_facts("Analysing the matrix…", None, None)
        # Until it is done, the old problem's step sizes must not be offered for this one.
        self.analysis = None
        self.hyper.recommended.setEnabled(False)
        relay = self._analysis_relay
        threading.Thread(
            target=lambda: relay.done.emit((gen, s, _safe(analyze, s.problem, s.loss, s.lr))),
            name="analysis", daemon=True).start()

    def _show_analysis(self, result: tuple) -> None:
        gen, s, a = result
        if gen != self._analysis_gen or self._closing:
            return
        if isinstance(a, BaseException):
            self.analysis = None
            self.matrix.show_facts(f"analysis failed: {a}", None, None)
            return
        self.analysis = a
        m, n = a.shape
        cond = "∞ (singular)" if a.cond is None else fmt(a.cond, 4)
        rank = "—" if a.rank is None else f"{a.rank}"
        est = "" if a.spectrum_exact else " (estimated)"
        parts = [f"<b>{m}×{n}</b>", f"rank <b>{rank}</b>", f"cond <b>{cond}</b>{est}"]
        if a.lipschitz is not None:
            parts.append(f"L = {fmt(a.lipschitz)}")
        iters = a.iterations_for(1e-6) if s.optimizer == "gd" else None
        if a.rate is not None and s.optimizer == "gd":
            parts.append(f"gd rate {fmt(a.rate)}" + (f" (≈{iters:,} it per 10⁻⁶)" if iters else ""))
        names = s.problem.unknown_names()
        exact = np.asarray(a.exact, float)
        self.matrix.show_facts(" · ".join(parts), exact, names)
        note = ""
        why = a.divergence_reason(s.lr) if s.optimizer == "gd" else None
        if why:
            note = f"<span style='color:#b91c1c'>gd will diverge: {why}</span>"
        elif s.optimizer != "gd" and a.recommended_lr is not None:
            note = "<span style='color:#6b7280'>limits are for plain gradient descent</span>"
        self.hyper.show_lr_info(a.recommended_lr, a.max_stable_lr, note)

    # -- loading, saving, importing ---------------------------------------------------------
    def _read_session(self, path: str | Path) -> tuple[object, str]:
        """Load a session file; an unavailable device falls back to the CPU (said so)."""
        from solver import session as sessions
        from solver.errors import InputError

        try:
            return sessions.load(path), ""
        except InputError as exc:
            if exc.field != "device":
                raise
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            data["device"] = "cpu"
            return sessions.from_dict(data, Path(path).resolve().parent), f" ({exc}; using cpu)"

    def load_session(self, source: object) -> bool:
        """Load a Session object or a session file; False (with a message) if it is refused,
        in which case nothing changes."""
        from solver.errors import InputError

        if not hasattr(source, "problem"):
            try:
                s, why = self._read_session(source)
            except (InputError, OSError, ValueError) as exc:
                self._error("Session not loaded", f"{source}: {exc}")
                return False
            self._adopt(s, f"Opened {Path(source).name}{why}", label=Path(source).name)
            return True
        self._adopt(source, "Session loaded", label="untitled")
        return True

    def load_preset(self, key: str, **params: object) -> bool:
        from solver import presets
        from solver.errors import InputError

        try:
            s = presets.build(key, **params)
        except (InputError, ValueError) as exc:
            self._error("Preset not loaded", str(exc))
            return False
        title = presets.PRESETS[key].title
        self._adopt(s, f"Preset: {title}", label=title)
        return True

    def _preset_chosen(self, key: str) -> None:
        from solver.presets import PRESETS

        p = PRESETS[key]
        params: dict = {}
        if p.params:
            params = self._ask_params(p.title, p.params)
            if params is None:
                return
        self.load_preset(key, **params)

    def _ask_params(self, title: str, defaults: dict) -> dict | None:
        dlg = QtWidgets.QDialog(self)
        dlg.setWindowTitle(title)
        form = QtWidgets.QFormLayout(dlg)
        edits = {}
        for k, v in defaults.items():
            e = QtWidgets.QLineEdit(f"{v:g}" if isinstance(v, float) else str(v))
            form.addRow(k, e)
            edits[k] = e
        bb = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Ok
                                        | QtWidgets.QDialogButtonBox.Cancel)
        bb.accepted.connect(dlg.accept)
        bb.rejected.connect(dlg.reject)
        form.addRow(bb)
        if dlg.exec() != QtWidgets.QDialog.Accepted:
            return None
        out = {}
        for k, e in edits.items():
            text = e.text().strip()
            try:
                out[k] = type(defaults[k])(float(text)) if isinstance(defaults[k], float) \
                    else int(text)
            except ValueError:
                self._error("Preset not loaded", f"{k}: {text!r} is not a number")
                return None
        return out

    def open_session_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open session", self._last_dir(), "Sessions (*.json);;All files (*)")
        if path:
            self._remember_dir(path)
            self.load_session(path)

    def save_session(self, path: str | Path) -> bool:
        from solver import session as sessions

        if self._table_error:
            self._error("Session not saved", f"{self._table_error}; fix it before saving")
            return False
        try:
            sessions.save(self.session, path)
        except OSError as exc:
            self._error("Session not saved", f"{path}: {exc}")
            return False
        self.statusBar().showMessage(f"Saved {path}")
        return True

    def save_session_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save session", self._last_dir("session.json"), "Sessions (*.json)")
        if path:
            self._remember_dir(path)
            path = path if path.endswith(".json") else path + ".json"
            if self.save_session(path):
                self.setWindowTitle(f"{APPLICATION} — {Path(path).name}")

    def import_matrix(self, path: str | Path, target: str = "matrix") -> bool:
        """Read a .mtx/.csv/.npy file into A (or b with ``target='b'``), M, or the samples."""
        from solver.errors import InputError
        from solver.matrixio import load_matrix
        from solver.problems import Inverse, LinearSystem, Polyfit

        path = str(Path(path).resolve())
        kind = self.session.problem.kind
        note = ""
        try:
            arr = load_matrix(path, Path(path).name)
            files = {}
            if kind == "linear_system" and target == "b":
                p = self.session.problem
                problem = LinearSystem(p.A, arr.reshape(-1) if 1 in arr.shape else arr)
                files = {k: v for k, v in self.session.files.items() if k == "A"}
            elif kind == "linear_system":
                if arr.ndim != 2:
                    raise InputError(Path(path).name,
                                     f"A must be a 2-D matrix, got shape {arr.shape}")
                b = self.session.problem.b
                if b.shape[0] != arr.shape[0]:
                    b = arr @ np.ones(arr.shape[1])
                    note = "; b set to A·1 so the exact solution is all ones"
                problem, files = LinearSystem(arr, b), {"A": path}
            elif kind == "inverse":
                problem, files = Inverse(arr, self.session.problem.side), {"M": path}
            else:
                if arr.ndim != 2 or arr.shape[1] != 2:
                    raise InputError(Path(path).name,
                                     f"samples need two columns (x, y), got shape {arr.shape}")
                problem = Polyfit(arr[:, 0], arr[:, 1], self.session.problem.degree)
            new = self._derive(problem=problem, files=files)
        except InputError as exc:
            self._error("Matrix not imported", str(exc))
            return False
        self._adopt(new, f"Imported {Path(path).name}{note}")
        return True

    def import_matrix_dialog(self, target: str = "matrix") -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Import matrix" if target == "matrix" else "Import b", self._last_dir(),
            "Matrices (*.mtx *.csv *.npy);;All files (*)")
        if path:
            self._remember_dir(path)
            self.import_matrix(path, target)

    def export_csv(self, path: str | Path) -> bool:
        if self.run is None:
            self._error("Nothing to export", "run the solver first")
            return False
        try:
            self.run.history.to_csv(path)
        except OSError as exc:
            self._error("History not exported", f"{path}: {exc}")
            return False
        self.statusBar().showMessage(f"Exported {len(self.run.history):,} iterations to {path}")
        return True

    def export_csv_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export history", self._last_dir("history.csv"), "CSV (*.csv)")
        if path:
            self._remember_dir(path)
            self.export_csv(path)

    def export_plot(self, which: str, path: str | Path) -> bool:
        try:
            self.plots.export(which, path)
        except Exception as exc:  # exporters raise assorted errors (I/O, formats)
            self._error("Plot not exported", f"{path}: {exc}")
            return False
        self.statusBar().showMessage(f"Exported the plot to {path}")
        return True

    def export_plot_dialog(self, which: str) -> None:
        path, chosen = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export plot", self._last_dir(f"{which}.png"),
            "PNG image (*.png);;SVG vector image (*.svg)")
        if path:
            self._remember_dir(path)
            if not path.lower().endswith((".png", ".svg")):
                path += ".svg" if "svg" in chosen else ".png"
            self.export_plot(which, path)

    def _last_dir(self, name: str = "") -> str:
        d = self.settings.value("files/dir", "") or str(Path.home())
        return str(Path(d) / name) if name else d

    def _remember_dir(self, path: str) -> None:
        self.settings.setValue("files/dir", str(Path(path).resolve().parent))

    # == messages =============================================================================
    def _error(self, title: str, text: str) -> None:
        """Bad news reaches the user twice: a status line and a (non-blocking) message box."""
        self.last_error = text
        self.statusBar().showMessage(f"{title}: {text}")
        self.error_shown.emit(text)
        if not self.dialogs or self._closing:
            return
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Warning, title, text,
                                    QtWidgets.QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.finished.connect(lambda _r, b=box: self._boxes.remove(b) if b in self._boxes else None)
        self._boxes.append(box)
        box.open()

    def message_boxes(self) -> list[QtWidgets.QMessageBox]:
        """Message boxes currently open (tests read and close them)."""
        return [b for b in self._boxes if b.isVisible()]

    # == settings and shutdown ================================================================
    def _restore_settings(self) -> None:
        s = self.settings
        geo = s.value("window/geometry")
        if geo:
            self.restoreGeometry(geo)
        else:
            self.resize(1440, 900)
        state = s.value("window/state")
        if not state or not self.restoreState(state):
            self._default_layout = True
        split = s.value("window/matrixSplitter")
        if split:
            self.matrix.splitter.restoreState(split)
        idx = s.value("run/speed")
        if idx is not None:
            self.speed.setValue(int(idx))
        self.step_n.setValue(int(s.value("run/stepN", 100)))
        self.hyper.track.setText(str(s.value("run/track", "") or ""))

    def _save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/matrixSplitter", self.matrix.splitter.saveState())
        if self.plots is not None:
            s.setValue("window/plots", self.plots.save_state())
        s.setValue("run/speed", self.speed.value())
        s.setValue("run/stepN", self.step_n.value())
        s.setValue("run/track", self.hyper.track.text())
        if self.session is not None:
            s.setValue("session/device", self.session.device)
        s.sync()

    def autosave_path(self) -> Path:
        return self.data_dir / AUTOSAVE_NAME

    def _autosave(self) -> None:
        """Write the session where the next start finds it; big arrays go beside as .npy."""
        from solver import session as sessions
        from solver.matrixio import save_matrix

        s = self.session
        if s is None:
            return
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            files = dict(s.files)
            for key, arr in sessions.problem_arrays(s.problem).items():
                if key in files or arr.size <= AUTOSAVE_INLINE_LIMIT:
                    continue
                path = self.data_dir / f"last-session-{key}.npy"
                saved = self._autosaved_arrays.get(key)
                if saved is None or saved[0] is not arr or saved[1] != str(path):
                    save_matrix(path, arr)
                    self._autosaved_arrays[key] = (arr, str(path))
                files[key] = str(path)
            snap = copy.copy(s)
            snap.files = files
            sessions.save(snap, self.autosave_path())
        except OSError as exc:
            self.statusBar().showMessage(f"Could not autosave the session: {exc}")

    def shutdown(self) -> None:
        """Stop the worker and its thread (within a second), save settings and the session."""
        if self._closing:
            return
        self._closing = True
        self._frame_timer.stop()
        if self.worker is not None:
            self.worker.shutdown()
            self._thread.quit()
            if not self._thread.wait(1500):
                self._thread.terminate()
                self._thread.wait(500)
        self._save_settings()
        self._autosave()
        for b in list(self._boxes):
            b.close()

    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(ev)


def _import_engine() -> object:
    """Import the solver (and torch); returns the exception instead of raising."""
    try:
        import solver.analysis  # noqa: F401
        import solver.devices  # noqa: F401
        import solver.engine  # noqa: F401
        import solver.presets  # noqa: F401
        import solver.session  # noqa: F401
    except Exception as exc:  # reported in the window, not on a dead thread
        return exc
    return None


def _safe(fn, *args: object) -> object:
    try:
        return fn(*args)
    except Exception as exc:  # shown in the panel; the analysis is advice, not a gate
        return exc
