"""Editing rules: every user edit becomes a new, validated session or a refusal.

The engine judges each request (``Session.replace``, the problem kinds' ``build``, session
files); a valid result becomes the model's session, a refused one reaches the user through
``AppModel.refuse`` with the engine's message and changes nothing. Nothing here touches a
widget: panels report what the user asked for, and show what the model then holds.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from solver.core.limits import TRACKED

from .model import IDLE, PENDING, AppModel
from .opening import Opening
from .relay import Relay

if TYPE_CHECKING:
    from solver.sessions.session import Session

# Tables of more entries than this become a problem off the GUI thread: copying and checking
# a 5000 × 5000 matrix there took about half a second.
BUILD_SYNC_ENTRIES = 250_000
PLOT_TRACK_LIMIT = 12  # components plotted by default for large n
# most components a user may ask to plot (one legend must stay readable): solver.core.limits
PLOT_TRACK_MAX = int(TRACKED.hi)


def _round(v: float) -> float:
    return float(f"{v:.6g}")  # what the field shows is what runs


def track_indices(session: Session, text: str) -> list[int]:
    """Components to record and plot: the user's 1-based list ("1, 3-5"), or an even spread.
    Raises ValueError naming the bad part."""
    from solver.problems.kinds import kind_of
    from solver.run.history import default_tracked

    n = int(np.prod(session.problem.unknown_shape))
    text = text.strip()
    if not text:
        # What the kind's views need (svd: every d), then an even spread up to the limit.
        own = kind_of(session.problem).default_track(session.problem) or []
        spread = default_tracked(n, PLOT_TRACK_LIMIT).tolist()
        return sorted(set(own) | set(spread[: max(0, PLOT_TRACK_LIMIT - len(own))]))
    out: set[int] = set()
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            lo, hi = (int(p) for p in part.split("-", 1)) if "-" in part else (int(part),) * 2
        except ValueError:
            raise ValueError(f"plot x: {part!r} is not a number or a range like 2-5") from None
        # Checked before a range is expanded: "1-100000000" built a set of 10⁸ numbers.
        for i in (lo, hi):
            if not 1 <= i <= n:
                raise ValueError(f"plot x: component {i} does not exist; x has {n} components")
        if hi < lo:
            raise ValueError(f"plot x: {part!r} runs backwards; write it {hi}-{lo}")
        if hi - lo + 1 > PLOT_TRACK_MAX:
            raise ValueError(
                f"plot x: {part!r} is {hi - lo + 1:,} components; at most {PLOT_TRACK_MAX}"
            )
        out.update(range(lo, hi + 1))
        if len(out) > PLOT_TRACK_MAX:
            raise ValueError(f"plot x: more than {PLOT_TRACK_MAX} components chosen")
    return sorted(i - 1 for i in out)


def recorded_indices(session: Session, plotted: Sequence[int]) -> list[int]:
    """What a run records: every unknown when there are few (``MAX_TRACKED``: the step,
    direction and landscape views and "continue from here" need whole iterates), else the
    plotted ones."""
    from solver.run.history import MAX_TRACKED

    n = int(np.prod(session.problem.unknown_shape))
    return list(range(n)) if n <= MAX_TRACKED else sorted(plotted)


class Editor(Opening):
    """Applies the user's edits to ``model``. Every method returns whether it applied."""

    def __init__(self, model: AppModel) -> None:
        super().__init__(model)
        self._kind_memory: dict[str, tuple[object, dict]] = {}
        self._build_gen = 0
        self._load_gen = 0
        # a problem built on a plain thread: generation, the session it started from, result
        self._relay = Relay(self._built)

    def _note(self, text: str) -> str:
        live = self.model.state != IDLE
        return f"{text} (applies to the next run)" if live and text else text

    # -- settings ----------------------------------------------------------------------------
    def change(self, change: Mapping[str, object]) -> bool:
        """Session fields from the solver and device panels; ``kind`` and the problem's
        parameters (``side``, ``degree``) rebuild the problem."""
        from solver.core.errors import InputError
        from solver.problems.kinds import kind_of

        s = self.model.session
        if s is None:
            return False
        change = dict(change)
        try:
            if "kind" in change:
                return self.switch_kind(str(change["kind"]))
            kind = kind_of(s.problem)
            params = {p.key: change.pop(p.key) for p in kind.params if p.key in change}
            if params:
                problem = kind.build(
                    kind.arrays_of(s.problem), {**kind.params_of(s.problem), **params}
                )
                new = s.with_problem(problem).replace(files=dict(s.files), **change)
            else:
                new = s.replace(**change)
        except InputError as exc:
            self.model.refuse("Setting refused", str(exc), revert=True)
            return False
        note = "Changes apply to the next run" if self.model.state != IDLE else ""
        self.model.set_session(new, note, refill=bool(params))
        return True

    def switch_kind(self, name: str) -> bool:
        from solver.core.errors import InputError
        from solver.problems.kinds import KINDS, kind_of

        s = self.model.session
        cur = kind_of(s.problem)
        if name == cur.name:
            return True
        self._kind_memory[cur.name] = (s.problem, dict(s.files))
        if name in self._kind_memory:
            problem, files = self._kind_memory[name]
        else:
            kind = KINDS[name]
            problem, files = kind.convert(s.problem) or kind.default_problem(), {}
        kind = kind_of(problem)
        changes: dict[str, object] = {}
        if kind.random_start and s.init == "zeros":
            changes["init"] = "rand"  # zeros is a stationary point of this kind's loss
        if kind.loss_refusal(problem, s.loss) is not None:
            changes["loss"] = kind.default_loss  # the loss does not apply to the new kind
        try:
            new = s.with_problem(problem, **changes).replace(files=files)
        except InputError as exc:
            self.model.refuse("Problem kind not switched", str(exc), revert=True)
            return False
        self.model.set_session(new, f"Switched to a {name.replace('_', ' ')} problem")
        return True

    def use_step(self, which: str) -> bool:
        """A step size the analysis derives: "recommended" (1/L), "optimal" (2/(μ+L), gd's
        fastest fixed step) or "heavy_ball" (sgd with its optimal lr and momentum)."""
        a = self.model.analysis
        if a is None or isinstance(a, BaseException):
            self.model.refuse("No step size to use", "the analysis has not finished")
            return False
        if which == "recommended" and a.recommended_lr:
            return self.change({"lr": _round(a.recommended_lr)})
        if which == "optimal" and a.optimal_lr:
            return self.change({"lr": _round(a.optimal_lr)})
        if which == "heavy_ball" and a.heavy_ball:
            lr, momentum = a.heavy_ball
            # plain heavy ball: torch's other SGD arguments (dampening, nesterov, weight
            # decay) back at their defaults, or it is another method
            return self.change(
                {
                    "optimizer": "sgd",
                    "lr": _round(lr),
                    "optimizer_args": {"momentum": _round(momentum)},
                }
            )
        why = {
            "recommended": "this loss has no step-size limit (it is not smooth)",
            "optimal": "the loss is not strongly convex here (μ = 0) or not smooth",
            "heavy_ball": "the loss is not strongly convex here (μ = 0) or not smooth",
        }.get(which, f"unknown step {which!r}")
        self.model.refuse("No step size to use", why)
        return False

    # -- tables ------------------------------------------------------------------------------
    def tables_edited(
        self, arrays: Mapping[str, np.ndarray], params: Mapping[str, object], invalid: str | None
    ) -> bool:
        """The tables' valid content (and the first invalid cell, if any). An invalid table
        disables Run until it is fixed; a settings change meanwhile does not clear that."""
        from solver.core.errors import InputError
        from solver.problems.kinds import kind_of

        s = self.model.session
        if s is None:
            return False
        msg = invalid
        self._build_gen += 1  # an edit in flight is out of date
        if msg is None:
            kind = kind_of(s.problem)
            params = {**kind.params_of(s.problem), **params}
            if sum(np.size(a) for a in arrays.values()) > BUILD_SYNC_ENTRIES:
                return self._build_off_thread(s, kind, arrays, params)
            try:
                new = s.with_problem(kind.build(arrays, params))
            except InputError as exc:
                msg = str(exc)
            else:
                self.model.set_session(new, self._note("Problem updated"), refill=False)
                return True
        self._table_refused(msg)
        return False

    def _table_refused(self, msg: str) -> None:
        self.model.last_error = msg
        self.model.set_table_error(msg)
        self.model.message.emit(msg)

    def _build_off_thread(
        self, s: Session, kind: object, arrays: Mapping[str, np.ndarray], params: dict
    ) -> bool:
        """Build (copy, check) a large problem on a plain thread; Run waits for it."""
        from solver.core.errors import InputError

        gen = self._build_gen
        shape = " × ".join(f"{d:,}" for d in np.shape(arrays[kind.matrix_key]))
        self.model.set_table_error(f"the {shape} problem{PENDING}built")

        def work() -> None:
            try:
                result: object = s.with_problem(kind.build(arrays, params))
            except (InputError, MemoryError) as exc:
                result = exc
            self._relay.post(gen, s, result)

        threading.Thread(target=work, name="build-problem", daemon=True).start()
        return True

    def _built(self, gen: int, s: Session, result: object) -> None:
        if gen != self._build_gen:
            return  # a later edit replaced it
        if isinstance(result, BaseException):
            self._table_refused(str(result) or "not enough memory for a problem of that size")
            return
        cur = self.model.session
        if cur is not s:  # settings changed meanwhile: they apply to the new problem
            if cur is None or cur.problem is not s.problem:
                return  # another problem was loaded: this one is dropped
            from solver.core.errors import InputError

            try:
                result = cur.with_problem(result.problem)
            except InputError as exc:
                self._table_refused(str(exc))
                return
        self.model.set_session(result, self._note("Problem updated"), refill=False)

    def set_track(self, text: str) -> bool:
        """The "Plot x" choice; applies to the next run."""
        if self.model.session is not None:
            try:
                track_indices(self.model.session, text)
            except ValueError as exc:
                self.model.refuse("Plot selection refused", str(exc))
                return False
        self.model.track_text = text
        self.model.message.emit("The plotted components change with the next run")
        return True
