"""The status bar: the shown run's iteration, loss, speed and time, and the live state."""

from __future__ import annotations

import html
import math
import time
from collections import deque

from PySide6 import QtCore, QtWidgets

from ..model import IDLE, STARTING_MESSAGE, AppModel
from ..records import PAUSED, RUNNING, STARTING
from .texts import fmt

Qt = QtCore.Qt

_BADGES = {
    RUNNING: ("running", "#1a56db"),
    STARTING: ("starting", "#1a56db"),
    PAUSED: ("paused", "#b45309"),
    IDLE: ("idle", "#4b5563"),
}


class RunStatusBar(QtWidgets.QStatusBar):
    """Permanent fields for the selected run; messages on the left."""

    def __init__(self, model: AppModel, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = model
        self._rates: deque[tuple[float, int]] = deque(maxlen=32)
        self._rate_of = 0
        self.st_state = QtWidgets.QLabel("idle")
        self.st_state.setObjectName("stateBadge")
        self.st_iter = QtWidgets.QLabel("iteration —")
        self.st_loss = QtWidgets.QLabel("loss —")
        self.st_rate = QtWidgets.QLabel("— it/s")
        self.st_time = QtWidgets.QLabel("0.00 s")
        for w, width in (
            (self.st_iter, 150),
            (self.st_loss, 140),
            (self.st_rate, 110),
            (self.st_time, 80),
        ):
            # A fixed size: a label whose size may change relays the whole window out at
            # each new text (1-2 ms a frame here); ``_show`` widens it when a text needs it.
            w.setFixedSize(width, w.sizeHint().height())
            self.addPermanentWidget(w)
        self.addPermanentWidget(self.st_state)
        model.message.connect(self.showMessage)
        # the message is clipped where the fields begin: the whole of it is a hover away
        self.messageChanged.connect(lambda text: self.setToolTip(plain_tooltip(text)))
        model.refused.connect(lambda title, text: self.showMessage(f"{title}: {text}"))
        model.state_changed.connect(self.show_state)
        model.selection_changed.connect(lambda _r: self.update_run())
        self.show_state(IDLE)

    def show_state(self, state: str) -> None:
        if state != STARTING and self.currentMessage() == STARTING_MESSAGE:
            self.clearMessage()  # it would still say so seconds into the run
        text, colour = _BADGES.get(state, _BADGES[IDLE])
        self.st_state.setText(text)
        self.st_state.setStyleSheet(
            f"QLabel {{ color: white; background: {colour};"
            " border-radius: 3px; padding: 1px 8px; }"
        )

    def update_run(self) -> None:
        """The selected run's numbers (called every frame)."""
        rec = self.app.selected
        if rec is None or rec.history is None or len(rec.history) == 0:
            _show(self.st_iter, "iteration —")
            _show(self.st_loss, "loss —")
            _show(self.st_rate, "— it/s")
            _show(self.st_time, "0.00 s")
            return
        n = len(rec.history)
        it = n - 1
        loss = float(rec.history.loss[it])
        st = rec.status
        now = time.perf_counter()
        if self._rate_of != rec.id:
            self._rates.clear()
            self._rate_of = rec.id
        self._rates.append((now, it))
        while len(self._rates) > 2 and now - self._rates[0][0] > 1.0:
            self._rates.popleft()
        if st.state == RUNNING and len(self._rates) >= 2 and now > self._rates[0][0]:
            rate = (it - self._rates[0][1]) / (now - self._rates[0][0])
        else:
            # over the run's own wall time: what the user waited, frames included
            rate = st.iteration / st.wall if st.wall > 0 else 0.0
        _show(self.st_iter, f"iteration {it:,}")
        _show(self.st_loss, f"loss {fmt(loss, 4) if math.isfinite(loss) else loss}")
        _show(self.st_rate, f"{rate:,.0f} it/s")
        _show(self.st_time, f"{st.wall:.2f} s")
        self.st_time.setToolTip(
            f"{st.wall:.3f} s since the run started, pauses left out; "
            f"{st.elapsed:.3f} s of it in the solver"
        )


def _show(label: QtWidgets.QLabel, text: str) -> None:
    """``text`` in a fixed-size label, widened (never narrowed) so the whole text shows."""
    if text == label.text():
        return
    label.setText(text)
    need = label.sizeHint().width()
    if need > label.width():
        label.setFixedWidth(need + 10)


def plain_tooltip(text: str) -> str:
    """``text`` as a tooltip that shows it as it is: Qt renders a tooltip that looks like
    markup as rich text (a file named "<b>x</b>.json" would turn bold)."""
    return f"<p style='white-space:pre-wrap'>{html.escape(text)}</p>" if text else ""
