"""The Race action: every optimizer from the same start with its recommended settings, one
after another through the live-run driver, then ranked by gradient evaluations to the
tolerance (``solver.run.race``). Each entrant is a kept run ("Race: adam"), so the Compare tab
overlays them; a race's runs are kept as one group that the next race replaces, apart from the
user's own runs. Stop ends the race."""

from __future__ import annotations

from PySide6 import QtCore

from solver.run.race import RACE_SECONDS

from .live import LiveRun
from .model import AppModel


class Race(QtCore.QObject):
    # [(place | None, name, evaluations, reached)], and the problem raced on
    finished = QtCore.Signal(list, object)
    progress = QtCore.Signal(str)

    def __init__(self, model: AppModel, live: LiveRun, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.model, self.live = model, live
        self._queue: list = []
        self._results: list[tuple[str, int, bool]] = []
        self._current: int | None = None
        self._timed_out = False
        self._entrant = ""
        self._races = 0  # each race's runs are kept as one group, apart from the user's
        self.last: list = []  # the last race's ranking
        self.problem: object = None  # the problem it ran on
        self._clock = QtCore.QTimer(self)
        self._clock.setSingleShot(True)
        self._clock.timeout.connect(self._time_up)
        model.run_finished.connect(self._run_finished)

    @property
    def running(self) -> bool:
        return self._current is not None or bool(self._queue)

    def start(self) -> bool:
        """Race the current session's problem; False (said why) when it cannot."""
        import torch

        from solver.insight.anatomy import autograd_gradient
        from solver.insight.explain import loss_levels
        from solver.run.race import race_sessions, race_tolerance
        from solver.run.starts import initial_x

        m = self.model
        a = m.analysis
        if m.session is None or a is None or isinstance(a, BaseException):
            m.refuse("Cannot race", "the analysis of this problem has not finished")
            return False
        if m.state != "idle":
            m.refuse("Cannot race", "a run is going: stop it first")
            return False
        s = m.session
        f_star, _ = loss_levels(s, a.exact)
        x0 = initial_x(s, torch.float64).numpy().reshape(-1)
        start, _ = autograd_gradient(s, x0)  # every entrant starts here
        tol = race_tolerance(s, start, f_star)
        self._queue = race_sessions(s, a, tol)
        self.problem = s.problem
        self._results = []
        self._races += 1
        self._next()
        return True

    def _next(self) -> None:
        if not self._queue:
            self._current = None
            self._finish()
            return
        entrant, session = self._queue.pop(0)
        name = f"Race: {entrant.optimizer}"
        self._entrant = f"{entrant.optimizer} ({entrant.why})"
        self.progress.emit(f"Race: {entrant.optimizer} ({entrant.why})…")
        if not self.live.start(session=session, name=name, group=f"race {self._races}"):
            self._queue, self._current = [], None
            return
        self._current = self.model.live_id
        self._timed_out = False
        self._clock.start(int(RACE_SECONDS * 1000))

    def _time_up(self) -> None:
        if self._current is not None:
            self._timed_out = True  # out of the race, not the race stopped
            self.live.stop()

    def _run_finished(self, run_id: int, reason: str, _message: str) -> None:
        if run_id != self._current:
            return
        self._clock.stop()
        rec = self.model.run(run_id)
        if reason == "stopped" and not self._timed_out:  # the user stopped the race
            self._queue, self._current = [], None
            self.model.message.emit("Race stopped")
            return
        evals = rec.status.grad_evals if rec is not None else 0
        self._results.append((self._entrant, evals, reason == "converged"))
        QtCore.QTimer.singleShot(0, self._next)

    def _finish(self) -> None:
        from solver.run.race import describe, ranking

        self.last = ranking(self._results)
        if self.last:
            top = "; ".join(describe(*r) for r in self.last[:3] if r[0] is not None)
            self.model.message.emit(f"Race finished: {top or 'none reached the tolerance'}")
        self.finished.emit(self.last, self.problem)
