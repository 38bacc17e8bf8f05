"""The run toolbar: Run, Pause, Step, Step N with its count, Stop, Reset, and the speed."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6 import QtCore, QtGui, QtWidgets

from solver.core.limits import FLOAT_MAX, SPEED, STEP_N, Limit

from .common import jump_to_clicks

Qt = QtCore.Qt
# Iterations per second the speed slider offers; None: as fast as possible.
SPEEDS: list[float | None] = [2, 5, 10, 30, 100, 300, 1000, 3000, 10000, None]
# what set_speed takes and moves to the nearest step: any positive float
SPEED_ANY = Limit("speed", "", 0.0, FLOAT_MAX, lo_open=True)


def speed_label(speed: float | None) -> str:
    return "as fast as possible" if speed is None else f"{speed:g} it/s"


class RunToolbar(QtWidgets.QToolBar):
    """The run actions (``None`` in the list: a separator before the speed), the N of Step N
    and the speed slider; ``speed_changed`` carries iterations per second (None: flat out)."""

    speed_changed = QtCore.Signal(object)

    def __init__(
        self,
        actions: Sequence[QtGui.QAction | None],
        step_n_after: QtGui.QAction,
        parent: QtWidgets.QWidget | None = None,
        *,
        other_texts: dict[QtGui.QAction, Sequence[str]] | None = None,
    ) -> None:
        super().__init__("Run controls", parent)
        self.setObjectName("runToolbar")
        self.setMovable(False)
        self.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.setIconSize(QtCore.QSize(18, 18))
        self.step_n = QtWidgets.QSpinBox()
        self.step_n.setRange(int(STEP_N.lo), int(STEP_N.hi))
        self.step_n.setValue(100)
        self.step_n.setGroupSeparatorShown(True)
        self.step_n.setToolTip("N for Step N")
        self.step_n.setFixedWidth(100)
        for a in actions:
            if a is None:
                self.addSeparator()
                continue
            self.addAction(a)
            if a is step_n_after:
                self.addWidget(self.step_n)
        for a, texts in (other_texts or {}).items():
            self._fit_texts(a, texts)
        self.addSeparator()
        self.addWidget(QtWidgets.QLabel(" Speed "))
        self.speed = QtWidgets.QSlider(Qt.Horizontal)
        self.speed.setRange(0, len(SPEEDS) - 1)
        self.speed.setValue(len(SPEEDS) - 1)
        self.speed.setPageStep(1)
        jump_to_clicks(self.speed)
        self.speed.setFixedWidth(150)
        self.speed.setToolTip("iterations per second, from a few up to as fast as possible")
        self.speed_text = QtWidgets.QLabel(speed_label(None))
        self.speed_text.setMinimumWidth(130)
        self.speed.valueChanged.connect(self._on_speed)
        self.addWidget(self.speed)
        self.addWidget(self.speed_text)

    def _fit_texts(self, action: QtGui.QAction, texts: Sequence[str]) -> None:
        """Size the action's button for its widest text ("Run" and "Resume"), so the
        buttons after it do not move when it changes."""
        button = self.widgetForAction(action)
        if button is None:
            return
        current = action.text()
        widths = []
        for t in (current, *texts):
            action.setText(t)
            widths.append(button.sizeHint().width())
        action.setText(current)
        button.setMinimumWidth(max(widths))

    def _on_speed(self, index: int) -> None:
        self.speed_text.setText(speed_label(SPEEDS[index]))
        self.speed_changed.emit(SPEEDS[index])

    def set_speed(self, iterations_per_second: float | None) -> None:
        """The nearest step of the slider (None: as fast as possible); a speed outside the
        slider's (``solver.core.limits.SPEED``) takes its nearest end. Raises ValueError for
        what is not a speed (0, negative, not finite)."""
        if iterations_per_second is None:
            self.speed.setValue(len(SPEEDS) - 1)
            return
        if not SPEED_ANY.holds(iterations_per_second):
            raise ValueError(
                f"speed: expected iterations per second > 0, or None for as fast as possible; "
                f"got {iterations_per_second!r}"
            )
        iterations_per_second = min(SPEED.hi, max(SPEED.lo, iterations_per_second))
        self.speed.setValue(
            min(
                range(len(SPEEDS) - 1),
                key=lambda i: abs(math.log(SPEEDS[i] / iterations_per_second)),
            )
        )

    def save_state(self, settings: QtCore.QSettings) -> None:
        settings.setValue("run/speed", self.speed.value())
        settings.setValue("run/stepN", self.step_n.value())

    def restore_state(self, settings: QtCore.QSettings) -> None:
        if settings.value("run/speed") is not None:
            self.speed.setValue(int(settings.value("run/speed")))
        self.step_n.setValue(int(settings.value("run/stepN", 100)))
