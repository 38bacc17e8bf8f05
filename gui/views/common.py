"""What more than one view uses: the notes a panel shows about the model's state, and
sliders that jump to a click. The views (the docks, the toolbar, the plots) never import
one another; they share these (``pyproject.toml``: the views' independence contract)."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from ..model import IDLE, AppModel

Qt = QtCore.Qt


class _ClickJumps(QtWidgets.QProxyStyle):
    """A slider style where a left click moves the handle to the click, as on a scrubber,
    instead of a page towards it."""

    def styleHint(self, hint, option=None, widget=None, data=None):  # noqa: ANN001, ANN201, N802
        if hint == QtWidgets.QStyle.SH_Slider_AbsoluteSetButtons:
            return Qt.LeftButton.value
        return super().styleHint(hint, option, widget, data)


def jump_to_clicks(slider: QtWidgets.QSlider) -> None:
    """Make a click on ``slider`` set it to the clicked position."""
    style = _ClickJumps(slider.style().name())
    style.setParent(slider)  # a widget does not own its style
    slider.setStyle(style)


class _Note(QtWidgets.QLabel):
    """A word-wrapped note that keeps the height its lines need: a layout short of room
    would give it one line's height, and two wrapped lines centred in it paint as halves."""

    def resizeEvent(self, ev: QtGui.QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(ev)
        need = self.heightForWidth(self.width())
        if need > 0 and need != self.minimumHeight():
            self.setMinimumHeight(need)


def next_run_note(model: AppModel) -> QtWidgets.QLabel:
    """A line for a panel whose edits wait for the next run: shown while a run is live."""
    note = _Note("A run is going: changes here apply to the next run")
    note.setObjectName("nextRunNote")
    note.setWordWrap(True)
    note.setTextFormat(Qt.PlainText)
    note.setStyleSheet(
        "QLabel#nextRunNote { color: #92400e; background: #fef3c7; border: 1px solid #fcd34d;"
        " border-radius: 4px; padding: 3px 6px; }"
    )
    note.hide()
    model.state_changed.connect(lambda state: note.setVisible(state != IDLE))
    return note


def notice_banner(model: AppModel) -> QtWidgets.QWidget:
    """The model's notice (``AppModel.notice``) in a banner with a button to dismiss it:
    seen where the user looks, without a box to click away first."""
    banner = QtWidgets.QFrame()
    banner.setObjectName("problemNotice")
    banner.setStyleSheet(
        "QFrame#problemNotice { background: #e1effe; border: 1px solid #a4cafe;"
        " border-radius: 4px; } QFrame#problemNotice QLabel { color: #1e429f; }"
    )
    text = _Note()
    text.setObjectName("problemNoticeText")
    text.setWordWrap(True)
    text.setTextFormat(Qt.PlainText)  # it names a file
    close = QtWidgets.QToolButton()
    close.setText("✕")
    close.setToolTip("Dismiss this note")
    close.setAutoRaise(True)
    close.clicked.connect(lambda: model.set_notice(None))
    lay = QtWidgets.QHBoxLayout(banner)
    lay.setContentsMargins(6, 3, 3, 3)
    lay.addWidget(text, 1)
    lay.addWidget(close, 0, Qt.AlignTop)

    def show(notice: str | None) -> None:
        text.setText(notice or "")
        banner.setVisible(bool(notice))

    model.notice_changed.connect(show)
    show(model.notice)
    return banner
