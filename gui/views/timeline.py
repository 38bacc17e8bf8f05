"""The timeline under the plots: scrub the selected run's history.

The slider (and its spin box; the arrow keys and Page Up/Down once it has focus) sets the
model's inspected iteration, which every view shows: the crosshair read-outs, x against the
exact solution, the error by direction, the landscape's marker and the One step panel.
"Newest" lets the views follow the run again. "Continue from here" starts a new run from the
inspected iterate with the current settings (``continue_from``).
"""

from __future__ import annotations

import time

import numpy as np
from PySide6 import QtCore, QtWidgets

from .common import jump_to_clicks

Qt = QtCore.Qt
SYNC_EVERY = 0.25  # seconds between two moves of the range while a run goes


class Timeline(QtWidgets.QWidget):
    continue_from = QtCore.Signal(object, str)  # the inspected iterate, flat; which it is

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: object = None
        self.slider = QtWidgets.QSlider(Qt.Horizontal)
        self.slider.setObjectName("timeline")
        self.slider.setToolTip("The iteration every view shows; ← → step, Page Up/Down jump")
        self.slider.setPageStep(10)
        jump_to_clicks(self.slider)  # a click goes to that iteration
        self.spin = QtWidgets.QSpinBox()
        self.spin.setKeyboardTracking(False)
        self.spin.setToolTip("The iteration under inspection")
        self.spin.setGroupSeparatorShown(True)
        self.spin.setSizePolicy(QtWidgets.QSizePolicy.Preferred, QtWidgets.QSizePolicy.Fixed)
        self.slider.setMinimumWidth(40)
        # tool buttons: narrower than push buttons, so the row fits the narrowest plots
        self.newest = QtWidgets.QToolButton(text="Newest")
        self.newest.setToolTip("Show the newest iteration, following the run")
        self.resume = QtWidgets.QToolButton(text="Continue from here")
        self.resume.setToolTip("Start a new run from this iteration's x, with the current settings")
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(8, 2, 8, 2)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.spin)
        lay.addWidget(self.newest)
        lay.addWidget(self.resume)
        self._setting = False
        self._synced = 0.0  # when the range last followed a live run
        self.slider.valueChanged.connect(self._moved)
        self.spin.valueChanged.connect(self._moved)
        self.newest.clicked.connect(lambda: self.model.inspect(None))
        self.resume.clicked.connect(self._continue)
        self._sync()

    def bind(self, model: object) -> None:
        self.model = model
        model.selection_changed.connect(lambda _r: self._sync())
        model.run_updated.connect(self._progress)
        model.inspected_changed.connect(lambda _k: self._sync())
        model.run_finished.connect(lambda *_: self._sync())  # at once: the run's last word
        model.state_changed.connect(lambda _s: self._sync())
        self._sync()

    def _history(self) -> object:
        rec = None if self.model is None else self.model.selected
        return None if rec is None else rec.history

    def _progress(self, _run_id: int) -> None:
        # A live run's progress moves the range at most 4 times a second (each change relays
        # the row out), and at once, not by a timer: progress arrives in the plots' frames,
        # with the solver parked, and a timer would fire between them.
        if time.perf_counter() - self._synced >= SYNC_EVERY:
            self._sync()

    def _sync(self) -> None:
        """Range, position and the buttons from the model (without echoing back to it)."""
        self._synced = time.perf_counter()
        h = self._history()
        n = 0 if h is None else len(h)
        k = None if self.model is None else self.model.inspected
        shown = n - 1 if k is None else k
        self._setting = True
        try:
            for w in (self.slider, self.spin):
                w.setRange(0, max(n - 1, 0))
                w.setValue(max(shown, 0))
                w.setEnabled(n > 1)
        finally:
            self._setting = False
        suffix = f" of {max(n - 1, 0):,}" if n else ""
        if suffix != self.spin.suffix():
            self.spin.setSuffix(suffix)
            # never narrower than "1,067 of 1,067": squeezed, it showed "1,067 of 1,06"
            self.spin.setMinimumWidth(self.spin.sizeHint().width())
        self.newest.setEnabled(k is not None)
        x = None if h is None or n == 0 else h.iterate(max(shown, 0))
        self.resume.setEnabled(x is not None)
        self.resume.setToolTip(
            "Start a new run from this iteration's x, with the current settings"
            if x is not None or h is None or n == 0
            else f"Not available: {h.why_no_iterate(max(shown, 0))}"
        )

    def _moved(self, value: int) -> None:
        if self._setting or self.model is None:
            return
        h = self._history()
        newest = h is not None and value >= len(h) - 1
        live = self.model.selected is not None and self.model.selected.live
        # the last iteration of a live run means "follow it", as Newest does
        self.model.inspect(None if newest and live else int(value))

    def _continue(self) -> None:
        h = self._history()
        if h is None or not len(h):
            return
        k = self.model.inspected
        k = len(h) - 1 if k is None else k
        x = h.iterate(k)
        if x is None:
            self.model.refuse("Cannot continue from here", h.why_no_iterate(k))
            return
        self.continue_from.emit(np.array(x), f"iteration {k:,} of {self.model.selected.name}")
