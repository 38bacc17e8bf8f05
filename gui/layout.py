"""The window's geometry and dock layout: saved, restored within the screen, and reset.

The plots area is the largest: the side docks' default widths are a share of the window's
width within bounds, leaving the plots at least ``DEFAULT_PLOT_SHARE`` of it, and a restored
layout that leaves the plots less than ``MIN_PLOT_SHARE`` is replaced by the default one. A
layout saved on a small screen (or a big one) must not squeeze the next start either: the
geometry is fitted into the screen the window opens on, frame included. View → Reset layout
puts every dock back where it started, shown, at the default sizes.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

Qt = QtCore.Qt
DEFAULT_SIZE = (1440, 900)
# Below this share of the window's width for the plots, a restored layout is not kept.
MIN_PLOT_SHARE = 0.5
# The default layout leaves the plots this share (a margin above the least one).
DEFAULT_PLOT_SHARE = 0.52
# Each side's default width: this share of the window's width, within (least, most) pixels.
SIDE_WIDTHS = {"problem": (0.25, (250, 380)), "solver": (0.22, (236, 340))}


def tabify_side_docks(
    window: QtWidgets.QMainWindow, docks: dict[str, QtWidgets.QDockWidget]
) -> None:
    """Examples, One step and Device share one place on the right, the device in front."""
    window.tabifyDockWidget(docks["examples"], docks["step"])
    window.tabifyDockWidget(docks["step"], docks["devices"])
    docks["devices"].raise_()


def available_area(window: QtWidgets.QWidget) -> QtCore.QRect | None:
    """The part of the window's screen that windows may take (without panels and docks)."""
    screen = window.screen() or QtGui.QGuiApplication.primaryScreen()
    return None if screen is None else screen.availableGeometry()


def frame_extra(window: QtWidgets.QWidget) -> tuple[int, int]:
    """The width and height the window manager's frame adds: measured once the window is
    framed; before that (a first start has no saved geometry that knows it), estimated
    from the style's title bar, generously, so that the status bar is not pushed off a
    900-pixel screen."""
    frame, inner = window.frameGeometry(), window.geometry()
    if window.isVisible() and frame.height() > inner.height():
        return frame.width() - inner.width(), frame.height() - inner.height()
    style = window.style()
    title = style.pixelMetric(QtWidgets.QStyle.PM_TitleBarHeight, None, window)
    border = max(1, style.pixelMetric(QtWidgets.QStyle.PM_DefaultFrameWidth, None, window))
    return 2 * border, max(title, 2 * window.fontMetrics().height()) + 2 * border


def default_widths(window: QtWidgets.QMainWindow) -> tuple[int, int]:
    """The Problem and Solver docks' default widths for the window's width."""
    width = window.width()
    wanted = [max(lo, min(hi, int(width * share))) for share, (lo, hi) in SIDE_WIDTHS.values()]
    separators = 2 * window.style().pixelMetric(
        QtWidgets.QStyle.PM_DockWidgetSeparatorExtent, None, window
    )
    room = int(width * (1 - DEFAULT_PLOT_SHARE)) - separators
    if sum(wanted) > room:  # a small window: both docks give up their share of the width
        wanted = [max(1, w * room // sum(wanted)) for w in wanted]
    return wanted[0], wanted[1]


class WindowLayout:
    """Geometry and dock layout of ``window`` (a QMainWindow with ``docks`` by role)."""

    def __init__(self, window: QtWidgets.QMainWindow, docks: dict[str, QtWidgets.QDockWidget]):
        self.window = window
        self.docks = docks
        self._default_state = window.saveState()  # before anything saved is applied
        self._pending_default = False
        self._default_used = False
        self._checked = False
        self._fitted = QtCore.QSize()  # the size ``restore_state`` fitted to the screen

    # -- persistence (a Persistence part) ----------------------------------------------------

    @property
    def default_pending(self) -> bool:
        """The default layout waits for the first show (no saved one was restored)."""
        return self._pending_default

    def save_state(self, settings: QtCore.QSettings) -> None:
        settings.setValue("window/geometry", self.window.saveGeometry())
        settings.setValue("window/state", self.window.saveState())

    def restore_state(self, settings: QtCore.QSettings) -> None:
        w = self.window
        geo = settings.value("window/geometry")
        if not geo or not w.restoreGeometry(geo):
            w.resize(*DEFAULT_SIZE)
        self.fit_to_screen()
        self._fitted = w.size()
        state = settings.value("window/state")
        self._pending_default = not state or not w.restoreState(state)

    def fit_to_screen(self) -> None:
        """Shrink and move the window, frame included, into the available area of its
        screen."""
        w = self.window
        area = available_area(w)
        if area is None:
            return
        extra_w, extra_h = frame_extra(w)
        width = min(w.width(), area.width() - extra_w)
        height = min(w.height(), area.height() - extra_h)
        if (width, height) != (w.width(), w.height()):
            w.resize(width, height)
        frame = w.frameGeometry()
        x = min(max(frame.x(), area.x()), area.right() - (w.width() + extra_w) + 1)
        y = min(max(frame.y(), area.y()), area.bottom() - (w.height() + extra_h) + 1)
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

    def squeezed(self) -> bool:
        """Whether the plots (the central widget) have less than their least share."""
        central = self.window.centralWidget()
        return central is not None and central.width() < MIN_PLOT_SHARE * self.window.width()

    def _refit_framed(self) -> None:
        # Once a window manager has framed the window, its frame is known: the estimate the
        # restored size was fitted with is corrected, unless the window was sized since.
        w = self.window
        framed = w.isVisible() and w.frameGeometry().height() > w.geometry().height()
        if framed and w.size() == self._fitted:
            self.fit_to_screen()
            self._fitted = w.size()

    def _settle(self) -> None:
        self._refit_framed()
        if self._pending_default or self.squeezed():
            self._pending_default = False
            self._default_used = True
            self.size_docks()

    def set_plots(self, plots: QtWidgets.QWidget) -> None:
        """Put the plots in their placeholder's place, the docks keeping their widths. Qt
        lays a new central widget out at its minimum and gives the docks the rest: on a
        relaunch (a saved layout, so no default sizing after) the plots were left ~370 px
        between two ~530-pixel docks."""
        w = self.window
        kept = self._side_widths()
        w.setCentralWidget(plots)
        if kept:
            self._keep(kept)
            # once more after the event loop has laid the new widget out
            QtCore.QTimer.singleShot(0, lambda: self._keep(kept))

    def _side_widths(self) -> list[tuple[QtWidgets.QDockWidget, int]]:
        """Each side's width, as (a dock shown there, its width)."""
        w = self.window
        if not w.isVisible():
            return []
        out = []
        for area in (Qt.LeftDockWidgetArea, Qt.RightDockWidgetArea):
            shown = [
                d
                for d in self.docks.values()
                if w.dockWidgetArea(d) == area and d.isVisible() and not d.isFloating()
            ]
            if shown:
                out.append((shown[0], shown[0].width()))
        return out

    def _keep(self, kept: list[tuple[QtWidgets.QDockWidget, int]]) -> None:
        docks = [d for d, _ in kept if d.isVisible() and not d.isFloating()]
        widths = [width for d, width in kept if d in docks]
        if docks:
            self.window.resizeDocks(docks, widths, Qt.Horizontal)
        if self.squeezed():  # a layout squeezed before the plots came: the default one
            self._default_used = True
            self.size_docks()

    def filled(self) -> None:
        """The panels have their content (the solver has loaded, the plots are built): a
        default layout is sized again, since the docks' wishes have changed, and so is one
        that squeezes the plots."""
        QtCore.QTimer.singleShot(0, self._settle_filled)

    def _settle_filled(self) -> None:
        self._refit_framed()
        if self._default_used or self.squeezed():
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
        the rest, at least ``DEFAULT_PLOT_SHARE`` of it where the docks' contents allow."""
        h = self.window.height()
        d = self.docks
        self.window.resizeDocks(
            [d["problem"], d["solver"]], list(default_widths(self.window)), Qt.Horizontal
        )
        self.window.resizeDocks(
            [d["problem"], d["runs"]], [int(h * 0.62), int(h * 0.3)], Qt.Vertical
        )
        self.window.resizeDocks(
            [d["solver"], d["devices"]], [int(h * 0.62), int(h * 0.28)], Qt.Vertical
        )
