"""The window's actions and menus, and which of them can act right now.

Every command of the window is a ``QAction`` here (so its shortcut works wherever the focus
is), in a menu and, for the run controls, on the toolbar. ``update`` sets what is enabled
from the model's state: a control that cannot act is disabled, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from .files import FileCommands
from .live import LiveRun
from .model import IDLE, AppModel
from .records import PAUSED
from .undo import SessionUndo
from .views.status import plain_tooltip

Qt = QtCore.Qt
SP = QtWidgets.QStyle.StandardPixmap

# attribute act_<name>: (text, shortcut, icon, tooltip)
ACTIONS = {
    "run": ("Run", "F5", SP.SP_MediaPlay, "Run from the start, or resume"),
    "pause": ("Pause", "F6", SP.SP_MediaPause, "Pause the run (Run, F5, resumes it)"),
    "step": ("Step", "F10", SP.SP_MediaSeekForward, "Apply one update, then pause"),
    "step_n": ("Step N", "Shift+F10", SP.SP_MediaSkipForward, "Apply N updates, then pause"),
    "stop": ("Stop", "Shift+F5", SP.SP_MediaStop, "Finish the run now, keeping its history"),
    "reset": ("Reset", "Ctrl+R", SP.SP_BrowserReload, "Discard the selected run and its history"),
    "open": ("Open session…", QtGui.QKeySequence.Open, SP.SP_DialogOpenButton, ""),
    "save": ("Save session as…", QtGui.QKeySequence.Save, SP.SP_DialogSaveButton, ""),
    "import": ("Import matrix…", "Ctrl+I", None, ""),
    "import_b": ("Import right-hand side b…", None, None, ""),
    "export_csv": ("Export history as CSV…", "Ctrl+E", None, ""),
    "quit": ("Quit", "Ctrl+Q", None, ""),
    "reset_layout": ("Reset layout", None, None, "Every panel back in its place"),
    "inspect_back": (
        "Inspect previous iteration",
        "Alt+Left",
        None,
        "Every view shows one iteration earlier",
    ),
    "inspect_on": ("Inspect next iteration", "Alt+Right", None, "Every view shows one later"),
    "inspect_newest": ("Inspect the newest iteration", "Alt+End", None, "Follow the run"),
}
RECENT_SHOWN = 8
REDO_KEYS = ("Ctrl+Shift+Z", "Ctrl+Y")


class WindowMenus(QtCore.QObject):
    """Builds the actions and menus of ``window``; ``slots`` maps an action name to what it
    does. The Presets and Examples menus are filled once the solver has loaded."""

    def __init__(
        self,
        window: QtWidgets.QMainWindow,
        model: AppModel,
        live: LiveRun,
        files: FileCommands,
        undo: SessionUndo,
        slots: dict[str, Callable[[], object]],
        examples_menu: QtWidgets.QMenu,
    ) -> None:
        super().__init__(window)
        self.window, self.model, self.live, self.files, self.undo = window, model, live, files, undo
        for name, (text, key, icon, tip) in ACTIONS.items():
            setattr(self, f"act_{name}", self._action(text, slots[name], key, icon, tip))
        self.act_quit.setShortcutContext(Qt.ApplicationShortcut)
        self.act_undo = undo.stack.createUndoAction(window, "Undo")
        self.act_undo.setShortcut(QtGui.QKeySequence.Undo)
        self.act_redo = undo.stack.createRedoAction(window, "Redo")
        # Named keys, each once: the platform's Redo is Ctrl+Shift+Z on X11 and Ctrl+Y
        # elsewhere, and a key bound twice is an "ambiguous shortcut" that does nothing.
        self.act_redo.setShortcuts([QtGui.QKeySequence(k) for k in REDO_KEYS])
        for a in (self.act_undo, self.act_redo):
            window.addAction(a)
        self.run_actions = [
            self.act_run,
            self.act_pause,
            self.act_step,
            self.act_step_n,
            None,
            self.act_stop,
            self.act_reset,
        ]
        self._build_menus(examples_menu)

    def _action(self, text: str, slot, shortcut=None, icon=None, tip: str = "") -> QtGui.QAction:  # noqa: ANN001
        a = QtGui.QAction(text, self.window)
        if shortcut is not None:
            a.setShortcut(QtGui.QKeySequence(shortcut))
        if icon is not None:
            a.setIcon(self.window.style().standardIcon(icon))
        keys = a.shortcut().toString(QtGui.QKeySequence.NativeText)
        a.setToolTip(f"{tip or text} ({keys})" if keys else tip or text)
        a.triggered.connect(slot)
        self.window.addAction(a)  # shortcuts work wherever the focus is in the window
        return a

    def _build_menus(self, examples_menu: QtWidgets.QMenu) -> None:
        bar = self.window.menuBar()
        m_file = bar.addMenu("&File")
        m_file.addAction(self.act_open)
        self.recent_menu = m_file.addMenu("Open recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        m_file.addAction(self.act_save)
        m_file.addSeparator()
        m_file.addAction(self.act_import)
        m_file.addAction(self.act_import_b)
        m_file.addSeparator()
        m_file.addAction(self.act_export_csv)
        self.export_menu = m_file.addMenu("Export plot")
        self.export_menu.setEnabled(False)
        self.export_menu.aboutToShow.connect(self._update_exports)
        m_file.addSeparator()
        m_file.addAction(self.act_quit)
        m_edit = bar.addMenu("&Edit")
        m_edit.addAction(self.act_undo)
        m_edit.addAction(self.act_redo)
        self.presets_menu = bar.addMenu("&Presets")
        self.presets_menu.addAction("Loading…").setEnabled(False)
        bar.addMenu(examples_menu)
        m_run = bar.addMenu("&Run")
        for a in self.run_actions:
            m_run.addSeparator() if a is None else m_run.addAction(a)
        self.view_menu = bar.addMenu("&View")
        self.view_menu.addAction(self.act_reset_layout)
        self.view_menu.addSeparator()
        for a in (self.act_inspect_back, self.act_inspect_on, self.act_inspect_newest):
            self.view_menu.addAction(a)
        self.view_menu.addSeparator()

    # -- recent files --------------------------------------------------------------------------
    def _fill_recent(self) -> None:
        menu = self.recent_menu
        menu.clear()
        paths = self.files.persistence.recent_files()[:RECENT_SHOWN]
        for i, p in enumerate(paths, 1):
            # "&" in a file's name is a letter, not the menu's keyboard accelerator
            name = Path(p).name.replace("&", "&&")
            a = menu.addAction(f"&{i}  {name}", lambda p=p: self.files.open_path(p))
            a.setToolTip(plain_tooltip(p))
            a.setStatusTip(p)
        if not paths:
            menu.addAction("No recent files").setEnabled(False)
            return
        menu.addSeparator()
        menu.addAction("Clear the list", self.files.persistence.clear_recent)

    # -- plot export ---------------------------------------------------------------------------
    def fill_exports(self, titles: dict[str, str]) -> None:
        for key, title in titles.items():
            a = self.export_menu.addAction(
                f"{title}…", lambda k=key: self.files.export_plot_dialog(k)
            )
            a.setData(key)
        self.export_menu.setEnabled(True)

    def _update_exports(self) -> None:
        """Only plots that show something can be exported (no heat map without one)."""
        plots = self.files.plots()
        for a in self.export_menu.actions():
            ok = plots is not None and plots.exportable(a.data())
            a.setEnabled(ok)
            a.setToolTip("" if ok else "this plot shows nothing for the selected run")

    # -- what can act now ------------------------------------------------------------------------
    def update(self, *_: object) -> None:
        m, live = self.model, self.live
        loaded = live.worker is not None and m.ready
        state, queued = m.state, live.queued
        paused, idle = state == PAUSED, state == IDLE
        # Before the solver has loaded, Run is taken and kept (it starts once loading ends).
        startable = idle and (m.can_run() and loaded or not m.ready and m.table_error is None)
        self.act_run.setEnabled((startable and not queued) or paused)
        self.act_run.setText("Resume" if paused else "Run")
        self.act_run.setToolTip(
            "Resume the paused run (F5)"
            if paused
            else "Run once the solver has loaded (F5)"
            if not m.ready
            else "Run from the start (F5)"
        )
        # One Resume control: while paused Pause is off, so the two never both say Resume.
        self.act_pause.setEnabled(not idle and not paused)
        for a in (self.act_step, self.act_step_n):
            a.setEnabled((startable and not queued) or not idle)
        self.act_stop.setEnabled(not idle or queued)
        self.act_reset.setEnabled(m.selected is not None)
        has = m.selected is not None and m.selected.history is not None
        for a in (self.act_inspect_back, self.act_inspect_on):
            a.setEnabled(has)
        self.act_inspect_newest.setEnabled(has and m.inspected is not None)
        self.act_export_csv.setEnabled(m.selected is not None)
        self.act_save.setEnabled(m.session is not None)
        # Open and Import stay on while loading: they say why they must wait (FileCommands).
        self.act_import_b.setEnabled(
            m.session is not None and "b" in _array_keys(m.session.problem)
        )


def _array_keys(problem: object) -> set[str]:
    from solver.problems.kinds import kind_of

    return {a.key for a in kind_of(problem).arrays}
