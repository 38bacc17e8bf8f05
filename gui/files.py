"""File commands behind the File, Presets and Examples menus: the dialogs that ask for a path or a
preset's parameters, handed on to the editing rules and persistence.

Nothing here decides anything: a refused file reaches the user through the model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtWidgets

from .editing import Editor
from .model import AppModel
from .persistence import Persistence

SESSION_FILTER = "Sessions (*.json);;All files (*)"
MATRIX_FILTER = "Matrices (*.mtx *.csv *.npy);;All files (*)"
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
    ) -> None:
        self.parent = parent
        self.model = model
        self.editor = editor
        self.persistence = persistence
        self.plots = plots  # the plot panel, once it is built

    def _ask(self, title: str, name: str, filters: str, save: bool = False) -> str:
        dialogs = QtWidgets.QFileDialog
        ask = dialogs.getSaveFileName if save else dialogs.getOpenFileName
        path, _ = ask(self.parent, title, self.persistence.last_dir(name), filters)
        if path:
            self.persistence.remember_dir(path)
        return path

    def open_session(self) -> None:
        path = self._ask("Open session", "", SESSION_FILTER)
        if path:
            self.editor.load_session(path)

    def save_session(self) -> None:
        path = self._ask("Save session", "session.json", "Sessions (*.json)", save=True)
        if path:
            self.persistence.save_session(path if path.endswith(".json") else path + ".json")

    def import_matrix(self, target: str | None = None) -> None:
        title = "Import matrix" if target is None else f"Import {target}"
        path = self._ask(title, "", MATRIX_FILTER)
        if path:
            self.editor.import_matrix(path, target)

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
        from solver.presets import PRESETS

        from .views.presets import ask_params

        p, params = PRESETS[key], {}
        if p.params:
            params, why = ask_params(self.parent, p.title, p.params)
            if params is None:
                if why:
                    self.model.refuse("Preset not loaded", why)
                return
        self.editor.load_preset(key, **params)

    def example(self, key: str) -> bool:
        """Load a shipped example: its session file when it has one, else its preset."""
        from solver.examples import EXAMPLES

        ex = EXAMPLES[key]
        if ex.path is not None:
            return self.editor.load_session(ex.path)
        return self.editor.load_preset(ex.preset)
