"""File commands behind the File, Presets and Examples menus, Open recent and drag and drop:
the dialogs that ask for a path or a preset's parameters, handed on to the editing rules and
persistence.

Nothing here decides anything: a refused file reaches the user through the model. A command
given while the solver still loads says so instead of doing nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtWidgets

from .editing import Editor
from .model import AppModel
from .persistence import Persistence
from .undo import SessionUndo

SESSION_FILTER = "Sessions (*.json);;All files (*)"
MATRIX_FILTER = "Matrices (*.mtx *.npz *.csv *.npy);;All files (*)"
SESSION_SUFFIXES = (".json",)
MATRIX_SUFFIXES = (".mtx", ".npz", ".csv", ".npy")
PLOT_FILTER = "PNG image (*.png);;SVG vector image (*.svg)"


class FileCommands:
    """Open, save, import and export, each with its dialog."""

    def __init__(
        self,
        parent: QtWidgets.QWidget,
        model: AppModel,
        editor: Editor,
        persistence: Persistence,
        plots: Callable[[], object],
        undo: SessionUndo | None = None,
    ) -> None:
        self.parent = parent
        self.model = model
        self.editor = editor
        self.persistence = persistence
        self.plots = plots  # the plot panel, once it is built
        self.undo = undo

    def _clean(self) -> None:
        if self.undo is not None:
            self.undo.mark_clean()

    def _loading(self, what: str) -> bool:
        """True (and said) while the solver loads: files are read by it."""
        if self.model.ready:
            return False
        self.model.message.emit(f"{what}: the solver is still loading; try again in a moment")
        return True

    def open_path(self, path: str | Path, target: str | None = None) -> bool:
        """Open a session (.json) or import a matrix (.mtx, .csv, .npy; ``target``: the
        array it is for, else A), by the file's suffix: Open recent and drag and drop."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix not in SESSION_SUFFIXES + MATRIX_SUFFIXES:
            self.model.refuse(
                "File not opened",
                f"{p.name}: not a session (.json) or a matrix (.mtx, .npz, .csv, .npy)",
            )
            return False
        if self._loading(f"{p.name} not opened"):
            return False
        from solver.core.fileguard import not_a_file

        why = not_a_file(p)  # asked before opening: a named pipe would block the window
        if why is not None:
            if not p.exists() and not p.is_symlink():
                why = f"{p}: no such file (it has been moved or deleted)"
            self.persistence.forget_recent(p)
            self.model.refuse("File not opened", why)
            return False
        session = suffix in SESSION_SUFFIXES
        if session and target is not None:
            self.model.refuse(
                "File not opened", f"{p.name} is a session, not a matrix for {target}"
            )
            return False

        def opened(ok: bool) -> None:
            if ok:
                if session:
                    self._clean()
                self.persistence.add_recent(p)

        if session:
            return self.editor.load_session(str(p), then=opened)
        return self.editor.import_matrix(str(p), target, then=opened)

    def _ask(self, title: str, name: str, filters: str, save: bool = False) -> str:
        dialogs = QtWidgets.QFileDialog
        ask = dialogs.getSaveFileName if save else dialogs.getOpenFileName
        path, _ = ask(self.parent, title, self.persistence.last_dir(name), filters)
        if path:
            self.persistence.remember_dir(path)
        return path

    def open_session(self) -> None:
        if self._loading("Open"):
            return
        path = self._ask("Open session", "", SESSION_FILTER)
        if path:
            self.open_path(path)

    def save_session(self) -> bool:
        path = self._ask("Save session", "session.json", "Sessions (*.json)", save=True)
        if not path:
            return False
        path = path if path.endswith(".json") else path + ".json"
        if not self.persistence.save_session(path):
            return False
        self._clean()
        self.persistence.add_recent(path)
        return True

    def import_matrix(self, target: str | None = None) -> None:
        if self._loading("Import"):
            return
        title = "Import matrix" if target is None else f"Import {target}"
        path = self._ask(title, "", MATRIX_FILTER)
        if path:
            self.open_path(path, target)

    def export_history(self) -> None:
        path = self._ask("Export history", "history.csv", "CSV (*.csv)", save=True)
        if path:
            self.persistence.export_csv(path)

    def export_plot(self, which: str, path: str | Path) -> bool:
        """Write plot ``which`` as PNG or SVG (by the path's suffix)."""
        if self.model.selected is None or self.plots() is None:
            self.model.refuse("Nothing to export", "run the solver first")
            return False
        try:
            self.plots().export(which, path)
        except Exception as exc:  # exporters raise assorted errors (I/O, formats)
            self.model.refuse("Plot not exported", f"{path}: {exc}")
            return False
        self.model.message.emit(f"Exported the plot to {path}")
        return True

    def export_plot_dialog(self, which: str) -> None:
        path = self._ask("Export plot", f"{which}.png", PLOT_FILTER, save=True)
        if path:
            suffixed = path.lower().endswith((".png", ".svg"))
            self.export_plot(which, path if suffixed else path + ".png")

    def preset(self, key: str) -> None:
        """Load a preset, asking for its parameters first when it has any."""
        from solver.sessions.presets import PRESETS

        from .views.presets import ask_params

        p, params = PRESETS[key], {}
        if p.params:
            params, why = ask_params(self.parent, p.title, p.params)
            if params is None:
                if why:
                    self.model.refuse("Preset not loaded", why)
                return
        self.editor.load_preset(key, then=self._clean_if, **params)

    def example(self, key: str) -> bool:
        """Load a shipped example: its session file when it has one, else its preset."""
        from solver.sessions.examples import EXAMPLES

        ex = EXAMPLES[key]
        if ex.path is None:
            return self.editor.load_preset(ex.preset, then=self._clean_if)

        def opened(ok: bool) -> None:
            if ok:  # a session file like any other: Open recent brings it back
                self.persistence.add_recent(ex.path)
                self._clean()

        return self.editor.load_session(ex.path, then=opened)

    def _clean_if(self, ok: bool) -> None:
        if ok:
            self._clean()
