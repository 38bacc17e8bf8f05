"""The window's geometry and dock layout: saved, restored within the screen, and reset.

A layout saved on a small screen (or a big one) must not squeeze the next start: the
geometry is fitted into the screen the window opens on, and a restored layout that leaves
the plots less than ``MIN_PLOT_SHARE`` of the width is replaced by the default one.
View → Reset layout puts every dock back where it started, shown, at the default sizes.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

Qt = QtCore.Qt
DEFAULT_SIZE = (1440, 900)
# Below this share of the window's width for the plots, a restored layout is not kept.
MIN_PLOT_SHARE = 0.3


def tabify_side_docks(
    window: QtWidgets.QMainWindow, docks: dict[str, QtWidgets.QDockWidget]
) -> None:
    """Examples, One step and Device share one place on the right, the device in front."""
    window.tabifyDockWidget(docks["examples"], docks["step"])
    window.tabifyDockWidget(docks["step"], docks["devices"])
    docks["devices"].raise_()


class WindowLayout:
    """Geometry and dock layout of ``window`` (a QMainWindow with ``docks`` by role)."""

    def __init__(self, window: QtWidgets.QMainWindow, docks: dict[str, QtWidgets.QDockWidget]):
        self.window = window
        self.docks = docks
        self._default_state = window.saveState()  # before anything saved is applied
        self._pending_default = False
        self._default_used = False
        self._checked = False

    # -- persistence (a Persistence part) ----------------------------------------------------
    def save_state(self, settings: QtCore.QSettings) -> None:
        settings.setValue("window/geometry", self.window.saveGeometry())
        settings.setValue("window/state", self.window.saveState())

    def restore_state(self, settings: QtCore.QSettings) -> None:
        w = self.window
        geo = settings.value("window/geometry")
        if not geo or not w.restoreGeometry(geo):
            w.resize(*DEFAULT_SIZE)
        self.fit_to_screen()
        state = settings.value("window/state")
        self._pending_default = not state or not w.restoreState(state)

    def fit_to_screen(self) -> None:
        """Shrink and move the window into the available area of its screen."""
        w = self.window
        screen = w.screen() or QtGui.QGuiApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        frame = w.frameGeometry()
        extra_w, extra_h = frame.width() - w.width(), frame.height() - w.height()
        width = min(w.width(), area.width() - extra_w)
        height = min(w.height(), area.height() - extra_h)
        if (width, height) != (w.width(), w.height()):
            w.resize(width, height)
        x = min(max(frame.x(), area.x()), area.right() - w.frameGeometry().width() + 1)
        y = min(max(frame.y(), area.y()), area.bottom() - w.frameGeometry().height() + 1)
        if (x, y) != (frame.x(), frame.y()):
            w.move(x, y)

    # -- after the window is shown -------------------------------------------------------------
    def shown(self) -> None:
        """Once per window: the default sizes for a first start, or a check of a restored
        layout (after the event loop has laid it out)."""
        if self._checked:
            return
        self._checked = True
        QtCore.QTimer.singleShot(0, self._settle)

    def _settle(self) -> None:
        central = self.window.centralWidget()
        squeezed = central is not None and central.width() < MIN_PLOT_SHARE * self.window.width()
        if self._pending_default or squeezed:
            self._pending_default = False
            self._default_used = True
            self.size_docks()

    def filled(self) -> None:
        """The panels have their content (the solver has loaded, the plots are built): a
        default layout is sized again, since the docks' wishes have changed."""
        if self._default_used:
            QtCore.QTimer.singleShot(0, self._settle_filled)

    def _settle_filled(self) -> None:
        self._default_used = False
        self.size_docks()

    def reset(self) -> None:
        """View → Reset layout: every dock back in its place, visible, at default sizes."""
        w = self.window
        w.restoreState(self._default_state)
        for d in self.docks.values():
            d.setFloating(False)
            d.show()
        tabify_side_docks(w, self.docks)
        self.fit_to_screen()
        QtCore.QTimer.singleShot(0, self.size_docks)

    def size_docks(self) -> None:
        """The default layout: the side docks get a share fitted to the width, the plots
        the rest (on a 1024-pixel screen the docks shrink rather than the plots vanish)."""
        w, h = self.window.width(), self.window.height()
        d = self.docks
        left = max(260, min(380, int(w * 0.27)))
        right = max(250, min(340, int(w * 0.22)))
        self.window.resizeDocks([d["problem"], d["solver"]], [left, right], Qt.Horizontal)
        self.window.resizeDocks(
            [d["problem"], d["runs"]], [int(h * 0.62), int(h * 0.3)], Qt.Vertical
        )
        self.window.resizeDocks(
            [d["solver"], d["devices"]], [int(h * 0.62), int(h * 0.28)], Qt.Vertical
        )
