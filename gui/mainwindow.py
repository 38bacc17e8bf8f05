"""The main window: menus, toolbar, docks, status bar, and the wiring between them.

It holds no rules of its own. ``model`` (``gui.model.AppModel``) is the state; ``editor``
(``gui.editing``) turns edits into sessions or refusals; ``live`` (``gui.live``) drives the
worker and the frames; ``persistence`` keeps settings and the autosave; ``analyzer`` keeps the
analysis current; ``files`` asks for paths. Views subscribe to the model.

Start-up is split so the window paints before torch is imported: ``__init__`` builds only Qt
widgets; ``finish_startup`` then imports the solver (torch) and pyqtgraph on a thread
(``gui.loader``, whose ``StartupOrder`` keeps the order), ``_engine_loaded`` fills the panels
and loads the first session, and ``_plots_loaded`` builds the plots.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from .analysis import Analyzer
from .drops import FileDrops
from .editing import Editor
from .files import FileCommands
from .layout import WindowLayout, tabify_side_docks
from .live import LiveRun
from .loader import StartupLoader, StartupOrder, preload_solver
from .menus import WindowMenus
from .model import AppModel
from .persistence import Initial, Persistence, default_data_dir
from .process import settle_process
from .race import Race
from .undo import SessionUndo
from .views.controls import RunToolbar
from .views.device import DevicePanel
from .views.examples import ExamplesPanel
from .views.matrix import MatrixPanel
from .views.messages import MessageBoxes
from .views.runs import RunsPanel
from .views.solver import SolverPanel
from .views.status import RunStatusBar
from .views.stepview import StepPanel

Qt = QtCore.Qt
ORGANIZATION = "DescentLab"
APPLICATION = "Descent Lab"
# At quit, the longest the window waits for its threads (the solver's and the analysis's).
QUIT_WAIT = 1.0


class MainWindow(QtWidgets.QMainWindow):
    """Descent Lab's window. ``MainWindow(settings, data_dir)`` builds everything at once
    (tests, the self-test); ``defer=True`` (the app) paints first and ``finish_startup()``
    completes it. ``dialogs=False``: refusals go to the status bar and
    ``model.last_error`` only."""

    first_painted = QtCore.Signal()
    closing = QtCore.Signal()  # shutdown has begun
    plots_shown = QtCore.Signal()  # the plots have replaced their placeholder

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
        self.model = AppModel(self)
        self.editor = Editor(self.model)
        self.live = LiveRun(self.model, self)
        self.race = Race(self.model, self.live, self)
        self.persistence = Persistence(
            self.model, settings or QtCore.QSettings(), Path(data_dir or default_data_dir())
        )
        self.analyzer = Analyzer(self.model, self, data_dir=self.persistence.data_dir)
        self.undo = SessionUndo(self.model, self)
        self.files = FileCommands(
            self, self.model, self.editor, self.persistence, lambda: self.plots, self.undo
        )
        self.boxes = MessageBoxes(self, enabled=dialogs)
        self.plots = None
        self._session_path = session_path
        self._painted = self._closing = self._settled = False
        self.loader: StartupLoader | None = None
        self.startup: StartupOrder | None = None
        self.setWindowTitle(APPLICATION)
        self.setObjectName("MainWindow")
        self._build()
        self._wire()
        self.layout_ = WindowLayout(self, self.docks)
        self.persistence.parts += [self.matrix, self.hyper, self.runs, self.toolbar, self.layout_]
        self.persistence.restore()
        self.model.track_text = self.hyper.track.text()
        self._update_controls()
        self.installEventFilter(self)
        if not defer:
            self.finish_startup(wait=True)

    # == construction ========================================================================
    def _build(self) -> None:
        live, files = self.live, self.files
        slots = {
            "run": live.run_or_resume,
            "pause": live.pause,
            "step": lambda: live.step(1),
            "step_n": lambda: live.step(self.step_n.value()),
            "stop": live.stop,
            "reset": live.reset,
            "open": files.open_session,
            "save": files.save_session,
            "import": lambda: files.import_matrix(None),
            "import_b": lambda: files.import_matrix("b"),
            "export_csv": files.export_history,
            "quit": self.close,
            "reset_layout": lambda: self.layout_.reset(),
            "inspect_back": lambda: self.model.inspect_step(-1),
            "inspect_on": lambda: self.model.inspect_step(1),
            "inspect_newest": lambda: self.model.inspect(None),
        }
        self.examples = ExamplesPanel(self.model)
        self.menus = WindowMenus(
            self, self.model, live, files, self.undo, slots, self.examples.menu
        )
        for name in ("run", "pause", "step", "step_n", "stop", "reset", "save", "export_csv"):
            setattr(self, f"act_{name}", getattr(self.menus, f"act_{name}"))
        self.presets_menu, self.view_menu = self.menus.presets_menu, self.menus.view_menu
        self.toolbar = RunToolbar(
            self.menus.run_actions, self.act_step_n, other_texts={self.act_run: ["Resume"]}
        )
        self.step_n, self.speed_text = self.toolbar.step_n, self.toolbar.speed_text
        self.addToolBar(self.toolbar)

        self.matrix = MatrixPanel()
        self.matrix.presets_button.setMenu(self.presets_menu)
        self.hyper = SolverPanel()
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setWidget(self.hyper)
        scroll.setMinimumWidth(230)  # below this its fields would be cut off, not wrapped
        self.devices = DevicePanel()
        self.runs = RunsPanel(self.model)
        left, right = Qt.LeftDockWidgetArea, Qt.RightDockWidgetArea
        self.dock_matrix = self._dock("Problem", "problemDock", self.matrix, left)
        self.dock_runs = self._dock("Runs", "runsDock", self.runs, left)
        self.dock_hyper = self._dock("Solver", "solverDock", scroll, right)
        self.dock_devices = self._dock("Device", "deviceDock", self.devices, right)
        self.dock_examples = self._dock(ExamplesPanel.TITLE, "examplesDock", self.examples, right)
        self.step_panel = StepPanel(self.model, guard=self.live.frames.guard)
        self.dock_step = self._dock(StepPanel.TITLE, "stepDock", self.step_panel, right)
        self.dock_examples.visibilityChanged.connect(self.examples.on_shown)
        self.dock_step.visibilityChanged.connect(self.step_panel.on_shown)
        self.docks = {
            "problem": self.dock_matrix,
            "runs": self.dock_runs,
            "solver": self.dock_hyper,
            "devices": self.dock_devices,
            "examples": self.dock_examples,
            "step": self.dock_step,
        }
        tabify_side_docks(self, self.docks)
        placeholder = QtWidgets.QLabel("Loading plots…", alignment=Qt.AlignCenter)
        placeholder.setStyleSheet("color: #6b7280; font-size: 15px; background: white;")
        self.setCentralWidget(placeholder)
        self.status = RunStatusBar(self.model)
        self.setStatusBar(self.status)
        self.status.showMessage("Loading the solver…")

    def _dock(
        self, title: str, name: str, widget: QtWidgets.QWidget, area: Qt.DockWidgetArea
    ) -> QtWidgets.QDockWidget:
        d = QtWidgets.QDockWidget(title, self)
        d.setObjectName(name)
        d.setWidget(widget)
        d.setFeatures(
            QtWidgets.QDockWidget.DockWidgetMovable
            | QtWidgets.QDockWidget.DockWidgetFloatable
            | QtWidgets.QDockWidget.DockWidgetClosable
        )
        self.addDockWidget(area, d)
        self.view_menu.addAction(d.toggleViewAction())
        return d

    def _wire(self) -> None:
        m, ed, matrix = self.model, self.editor, self.matrix
        for view in (matrix, self.hyper, self.devices):
            view.bind(m)
        self.toolbar.speed_changed.connect(self.live.set_speed)
        matrix.edited.connect(
            lambda: ed.tables_edited(matrix.arrays(), {}, matrix.invalid_message())
        )
        matrix.param_changed.connect(ed.change)
        matrix.message.connect(lambda text: m.refuse("Paste refused", text))
        matrix.cancel_analysis.connect(self.analyzer.cancel)
        matrix.analyse_again.connect(lambda: self.analyzer.analyze(m.session))
        self.hyper.changed.connect(ed.change)
        self.hyper.use_step.connect(ed.use_step)
        self.hyper.track_changed.connect(ed.set_track)
        self.devices.chosen.connect(lambda d: ed.change({"device": d}))
        for signal in (
            m.session_changed,
            m.table_error_changed,
            m.state_changed,
            m.selection_changed,
            m.ready_changed,
            m.queued_changed,
            m.inspected_changed,
        ):
            signal.connect(self._update_controls)
        m.label_changed.connect(self._show_title)
        self.undo.modified_changed.connect(self.setWindowModified)
        self.drops = FileDrops(self, self.files, self.matrix.array_at)
        m.refused.connect(self.boxes.show)
        self.boxes.quit_action = self.menus.act_quit
        self.live.frames.frame.connect(self.status.update_run)

    def finish_startup(self, wait: bool = False, loader: StartupLoader | None = None) -> None:
        """Start the worker, load the solver and build the plots: on ``loader``'s thread
        (one is started if none is given), or here and now with ``wait``."""
        if self.live.worker is not None or self._closing:
            return
        self.live.start_worker()
        if wait:
            self._plots_loaded(None)
            self._engine_loaded(preload_solver())
            return
        path = self._session_path
        first = self.persistence.read_initial
        self.loader = loader or StartupLoader(lambda: first(path)).start()
        self.startup = StartupOrder(
            self.model, self.loader, self._engine_loaded, self._plots_loaded, self
        )

    def _plots_loaded(self, result: object) -> None:
        if self._closing:
            return
        if isinstance(result, BaseException):
            self.model.refuse("The plots could not be loaded", f"{type(result).__name__}: {result}")
        else:
            self._build_plots()
            self._settle()

    def _build_plots(self) -> None:
        from .views.plots import PlotPanel

        self.plots = PlotPanel(guard=self.live.frames.guard)
        self.plots.restore_state(self.persistence.settings)
        self.persistence.parts.append(self.plots)
        self.layout_.set_plots(self.plots)
        self.plots.bind(self.model)
        self.live.frames.wants_x = self.plots.wants_x
        self.live.frames.frame.connect(self.plots.frame)
        self.menus.fill_exports(self.plots.titles)
        self.plots.timeline.continue_from.connect(self.live.start_from)
        self.plots.insight.start_from.connect(self.live.start_from)
        compare = self.plots.insight.compare
        compare.race_requested.connect(self.race.start)
        self.race.finished.connect(compare.set_ranking)
        self.race.progress.connect(self.model.message)
        self.plots_shown.emit()

    def _engine_loaded(self, result: object) -> bool:
        """Fill the panels and show the first session with the solver in; False where it
        could not be loaded (``result``: the exception), saying so."""
        if self._closing:
            return False
        if isinstance(result, BaseException):
            why = f"{type(result).__name__}: {result}"
            self.model.refuse("The solver could not be loaded", why)
            return False
        from solver.core.errors import InputError
        from solver.core.resources import resource_path
        from solver.problems.kinds import KINDS
        from solver.problems.losses import LOSSES
        from solver.sessions.presets import PRESETS
        from solver.settings.devices import list_devices
        from solver.settings.optimizers import OPTIMIZER_LABELS

        from .views.presets import fill_menu

        try:
            icon = QtGui.QIcon(str(resource_path("icons", "descent-lab.png")))
            self.setWindowIcon(icon)
            QtWidgets.QApplication.setWindowIcon(icon)
        except InputError:
            pass  # a build without the icon still works
        self.matrix.set_kinds(KINDS)
        self.hyper.set_choices(KINDS, LOSSES, OPTIMIZER_LABELS)
        self.devices.set_devices(list_devices())
        fill_menu(self.presets_menu, PRESETS, self.files.preset)
        self.examples.fill_menu(self.files.example)
        first = getattr(self.loader, "first_result", None)  # read on the loading thread
        self.persistence.load_initial(
            self._session_path, first if isinstance(first, Initial) else None
        )
        self.undo.reset()
        self.model.set_ready()
        self._update_controls()
        self.matrix.focus_table()
        self._settle()
        return True

    @property
    def settled(self) -> bool:
        """The solver and the plots are both in, and the final layout made."""
        return self._settled

    def _settle(self) -> None:
        """Once the solver and the plots are both in: the final layout, a frozen heap."""
        if self.plots is None or not self.model.ready or self._settled:
            return
        self._settled = True
        self.layout_.filled()
        settle_process()

    def _update_controls(self, *_: object) -> None:
        self.menus.update()

    def _show_title(self, label: str) -> None:
        # "[*]" is where Qt shows the modified marker (setWindowModified). The document comes
        # first and the title ends with the app's name: under X11 and Windows Qt appends the
        # application's display name to any title that does not already end with it.
        self.setWindowTitle(f"{label}[*] — {APPLICATION}" if label else f"{APPLICATION}[*]")

    # == window state and shutdown ============================================================
    def showEvent(self, ev: QtGui.QShowEvent) -> None:
        super().showEvent(ev)
        self.layout_.shown()

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:
        # Installed until the first paint only: a Python paintEvent override would run on
        # every repaint of the window, each one a wait for the GIL while the solver runs.
        if obj is self and ev.type() == QtCore.QEvent.Paint and not self._painted:
            self._painted = True
            self.removeEventFilter(self)
            QtCore.QTimer.singleShot(0, self.first_painted.emit)
        return False

    def shutdown(self) -> None:
        """Hide at once, save settings, autosave the session in the background; stop the
        worker and cancel the analysis (waiting ``QUIT_WAIT`` s at most for both). A thread
        that could not stop in time is left running (``gui.app.threads_left``): nothing is
        forced or destroyed under it."""
        if self._closing:
            return
        self._closing = True
        self.closing.emit()
        self.persistence.save()  # the layout as the user sees it, before it is hidden
        self.hide()  # what follows may wait for threads; the user sees the window go now
        if self.startup is not None:
            self.startup.stop()  # pyqtgraph's import not begun: never (it builds Qt objects)
        self.boxes.close_all()
        # The session is final now: its autosave is written while the threads stop.
        self.persistence.autosave(background=True)  # off the GUI thread; flush() waits
        end = time.monotonic() + QUIT_WAIT
        self.analyzer.shutdown(0.0)  # cancelled now; it ends while the worker does
        self.live.shutdown(int(QUIT_WAIT * 1000))
        self.analyzer.shutdown(max(0.0, end - time.monotonic()))

    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:
        if not self._closing and self.undo.modified and not self.boxes.may_discard(self.files):
            ev.ignore()
            return
        self.shutdown()
        super().closeEvent(ev)
