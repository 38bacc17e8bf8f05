"""What a problem kind declares: its arrays and parameters (``ArraySpec``, ``ParamSpec``)
and the ``ProblemKind`` record with every capability a kind has, and the defaults a kind
overrides (how its problem is built, converted and imported, which losses apply, its exact
reference, the views of a run that apply to it). The kinds themselves and their registry are
in ``solver.problems.kinds``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from solver.core.errors import InputError, key_text, short

from .losses import LOSSES

if TYPE_CHECKING:
    from .linear import Problem


@dataclass(frozen=True)
class ArraySpec:
    key: str  # its key under "problem" in a session file: "A", "b", "M", "x", "y"
    title: str  # how its table is titled in the window
    ndim: int  # 2: a matrix; 1: a vector (shown as one column)
    rows_like: str | None = None  # key of the array whose row count this one must share
    square: bool = False  # a square matrix: one size, not rows and columns


@dataclass(frozen=True)
class ParamSpec:
    key: str  # its key under "problem": "side", "degree"
    label: str  # "Side", "Degree"
    default: object  # what build() uses when it is not given
    choices: tuple | None = None  # the allowed values; None for an integer
    required: bool = False  # a session file must state it (files predating the default)


@dataclass(frozen=True)
class ProblemKind:
    """One kind of problem. The methods here hold for every kind linear in its unknowns;
    each kind's subclass supplies the rest (``_make``, ``arrays_of`` ...)."""

    name: str
    label: str
    arrays: tuple[ArraySpec, ...]
    params: tuple[ParamSpec, ...]
    matrix_key: str  # the array whose shape / rank / condition is shown; a matrix file's target
    default_loss: str = "half_sum_squares"  # a session file's loss when it names none
    random_start: bool = False  # x = 0 is a stationary point: the window starts from rand
    # The views of a run that apply to it (``VIEWS``) and how a tooltip names the kind ("for
    # polynomial fits"); the window asks this, never the kind's name.
    views: frozenset[str] = frozenset()
    plural: str = ""
    # Its loss is a quadratic function of the unknowns near the answer: the analysis gives
    # gd's step-size limits and rate (``solver.insight.analysis``); else the matrix's spectrum
    # alone.
    step_limits: bool = True
    sparse_key: ClassVar[str | None] = None  # the array that may be held sparse (storage)

    # -- building ----------------------------------------------------------------------------
    def build(
        self, arrays: Mapping[str, np.ndarray], params: Mapping[str, object] | None = None
    ) -> Problem:
        """A validated problem from its arrays (by key) and parameters (defaults for those
        not given). Raises InputError naming ``problem.<key>``."""
        known = [a.key for a in self.arrays]
        for key in arrays:
            if key not in known:
                raise InputError(
                    f"problem.{key_text(key)}", f"unknown key; expected one of {sorted(known)}"
                )
        for key in known:
            if key not in arrays:
                raise InputError(
                    f"problem.{key_text(key)}", f"missing; a {self.name} problem needs it"
                )
        return self._make(arrays, self.check_params(params or {}))

    def check_params(self, params: Mapping[str, object]) -> dict[str, object]:
        """``params`` with the defaults filled in; a value outside a parameter's choices (or
        an unknown key) raises InputError naming it. Integers are checked by ``build``."""
        known = {p.key: p for p in self.params}
        for key in params:
            if key not in known:
                raise InputError(
                    f"problem.{key_text(key)}", f"unknown key; expected one of {sorted(known)}"
                )
        out = {}
        for p in self.params:
            value = params.get(p.key, p.default)
            if p.choices is not None and value not in p.choices:
                raise InputError(
                    f"problem.{p.key}",
                    f"unknown {p.key} {short(value)}; expected one of {p.choices}",
                )
            out[p.key] = value
        return out

    def _make(self, arrays: Mapping[str, np.ndarray], params: dict[str, object]) -> Problem:
        raise NotImplementedError

    def arrays_of(self, problem: Problem) -> dict[str, np.ndarray]:
        """The problem's arrays (read-only), by key, in ``self.arrays`` order."""
        raise NotImplementedError

    def params_of(self, problem: Problem) -> dict[str, object]:
        return {}

    def default_problem(self) -> Problem:
        """What a user gets on switching to this kind (when nothing converts)."""
        raise NotImplementedError

    def convert(self, problem: Problem) -> Problem | None:
        """This kind's problem made from ``problem`` (of any kind) where that makes sense,
        else None. A problem of this kind is returned as it is."""
        if getattr(problem, "kind", None) == self.name:  # ``kinds.kind_of`` is self
            return problem
        return self._convert(problem)

    def _convert(self, problem: Problem) -> Problem | None:
        return None

    def import_matrix(
        self, problem: Problem, arr: np.ndarray, key: str | None = None
    ) -> tuple[Problem, list[str], str]:
        """What a matrix read from a file becomes in ``problem`` (into array ``key``, or the
        kind's usual target): the new problem, the keys of its arrays now backed by the file,
        and a note for the user ("" when there is nothing to say)."""
        raise NotImplementedError

    def _target(self, key: str | None, allowed: tuple[str, ...]) -> str:
        key = self.matrix_key if key is None else key
        if key not in allowed:
            raise InputError(
                f"problem.{key_text(key)}",
                f"a {self.name} problem takes a matrix file into {' or '.join(allowed)}",
            )
        return key

    # -- losses, reference, analysis ---------------------------------------------------------
    def loss_refusal(self, problem: Problem, loss: str) -> str | None:
        """Why ``loss`` does not apply to ``problem``, or None when it does."""
        if loss not in LOSSES:
            return f"unknown loss {short(loss)}; expected one of {sorted(LOSSES)}"
        found = LOSSES[loss]
        if self.name not in found.kinds:
            return found.only or f"{loss} does not apply to a {self.name} problem"
        return None

    def losses(self, problem: Problem) -> tuple[str, ...]:
        """The losses that apply to ``problem``, in ``solver.problems.losses.LOSSES`` order."""
        return tuple(name for name in LOSSES if self.loss_refusal(problem, name) is None)

    def exact(self, problem: Problem) -> np.ndarray:
        """The exact reference, in the unknowns' shape (read-only)."""
        return np.asarray(problem.solve()).reshape(problem.unknown_shape)

    def errors(self, problem: Problem, rows: np.ndarray, exact: np.ndarray) -> np.ndarray | None:
        """The error of each row of flat unknowns, where it is not ‖x − x*‖ (None: it is)."""
        return None

    def initial(self, problem: Problem, draw: Callable, gen: object, dtype: object) -> object:
        """The random start: ``draw`` (torch.rand or randn) with the seeded generator."""
        return draw(problem.unknown_shape, generator=gen, dtype=dtype)

    def default_track(self, problem: Problem) -> list[int] | None:
        """The unknowns a run records for every iteration when nobody chose (None: spread)."""
        return None

    def derived_columns(
        self, problem: Problem, tracked: np.ndarray
    ) -> tuple[list[str], Callable[[np.ndarray], np.ndarray]] | None:
        """Extra history columns computed from the tracked unknowns (names, rows -> columns)."""
        return None

    def summary(self, problem: Problem, x: np.ndarray) -> dict[str, object]:
        """What the headless runner's JSON adds for this kind, from the final flat x."""
        return {}
