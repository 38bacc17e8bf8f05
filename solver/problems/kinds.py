"""The registry of problem kinds: what each kind's problem is made of and how it behaves.

For each kind: the arrays and parameters a session file stores under ``"problem"`` (and the
window shows as tables and fields), how a problem is built and validated from them, what it
becomes on switching kinds or importing a matrix file, which losses apply, its exact reference
and its analysis. Everything else iterates over ``KINDS`` or asks ``kind_of(problem)`` instead
of branching on a kind's name: a new kind is a problem class plus one entry here.

Importing this module loads neither torch nor scipy, so the window can build its tables from
it before either has loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from solver.core.errors import InputError, short

from . import seeds
from .kind_spec import ArraySpec, ParamSpec, ProblemKind
from .linear import SIDES, Inverse, LinearSystem, Polyfit
from .losses import LOSSES
from .svd import Svd

if TYPE_CHECKING:
    from .linear import Problem


class _LinearSystemKind(ProblemKind):
    sparse_key = "A"

    def _make(self, arrays: Mapping[str, np.ndarray], params: dict[str, object]) -> Problem:
        return LinearSystem(arrays["A"], arrays["b"])

    def arrays_of(self, problem: Problem) -> dict[str, np.ndarray]:
        return {"A": problem.A, "b": problem.b}

    def default_problem(self) -> Problem:
        return seeds.seed_3x3_problem()

    def _convert(self, problem: Problem) -> Problem | None:
        if isinstance(problem, Inverse):
            # b = M·1 so that the exact solution is all ones, as for an imported matrix
            return self.build({"A": problem.M, "b": problem.M @ np.ones(problem.n)})
        return None

    def import_matrix(
        self, problem: Problem, arr: np.ndarray, key: str | None = None
    ) -> tuple[Problem, list[str], str]:
        key = self._target(key, ("A", "b"))
        if key == "b":
            vec = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
            return self.build({"A": problem.A, "b": vec}), ["b"], ""
        if arr.ndim != 2:
            raise InputError("problem.A", f"A must be a 2-D matrix, got shape {arr.shape}")
        b, note = problem.b, ""
        if b.shape[0] != arr.shape[0]:
            b = arr @ np.ones(arr.shape[1])
            note = "b set to A·1 so the exact solution is all ones"
        return self.build({"A": arr, "b": b}), ["A"], note

    def loss_refusal(self, problem: Problem, loss: str) -> str | None:
        if loss == "energy":  # a linear system's, where A is SPD (``Loss.kinds``)
            return problem.spd_refusal()
        return super().loss_refusal(problem, loss)


class _MatrixKind(ProblemKind):
    """A kind whose only array is the matrix M (inverse, svd)."""

    def arrays_of(self, problem: Problem) -> dict[str, np.ndarray]:
        return {"M": problem.M}

    def import_matrix(
        self, problem: Problem, arr: np.ndarray, key: str | None = None
    ) -> tuple[Problem, list[str], str]:
        self._target(key, ("M",))
        if arr.ndim != 2:
            raise InputError("problem.M", f"M must be a 2-D matrix, got shape {arr.shape}")
        return self.build({"M": arr}, self.params_of(problem)), ["M"], ""


class _InverseKind(_MatrixKind):
    def _make(self, arrays: Mapping[str, np.ndarray], params: dict[str, object]) -> Problem:
        return Inverse(arrays["M"], params["side"])

    def params_of(self, problem: Problem) -> dict[str, object]:
        return {"side": problem.side}

    def default_problem(self) -> Problem:
        return Inverse(seeds.seed_inverse_random_matrix(), "left")

    def _convert(self, problem: Problem) -> Problem | None:
        if (
            type(problem) is not LinearSystem
            or problem.sparse  # an inverse of a sparse matrix is dense
            or problem.A.shape[0] != problem.A.shape[1]
        ):
            return None
        try:
            return self.build({"M": problem.A})
        except InputError:  # singular: it has no inverse to approximate
            return None


class _PolyfitKind(ProblemKind):
    def _make(self, arrays: Mapping[str, np.ndarray], params: dict[str, object]) -> Problem:
        return Polyfit(arrays["x"], arrays["y"], params["degree"])

    def arrays_of(self, problem: Problem) -> dict[str, np.ndarray]:
        return {"x": problem.samples_x, "y": problem.samples_y}

    def params_of(self, problem: Problem) -> dict[str, object]:
        return {"degree": problem.degree}

    def default_problem(self) -> Problem:
        xs, ys = seeds.seed_polyfit_samples()
        return Polyfit(xs, ys, 2)

    def import_matrix(
        self, problem: Problem, arr: np.ndarray, key: str | None = None
    ) -> tuple[Problem, list[str], str]:
        self._target(key, ("x", "y"))
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise InputError("problem.x", f"samples need two columns (x, y), got shape {arr.shape}")
        # Copied, not referenced: a session file names one file per array, and this one
        # holds both columns.
        problem = self.build({"x": arr[:, 0], "y": arr[:, 1]}, self.params_of(problem))
        return problem, [], ""


class _SvdKind(_MatrixKind):
    def _make(self, arrays: Mapping[str, np.ndarray], params: dict[str, object]) -> Problem:
        return Svd(arrays["M"])

    def default_problem(self) -> Problem:
        return Svd(seeds.seed_svd_matrix())

    def _convert(self, problem: Problem) -> Problem | None:
        if isinstance(problem, Inverse):
            return self.build({"M": problem.M})
        if type(problem) is LinearSystem and not problem.sparse:  # its factors are dense
            return self.build({"M": problem.A})
        return None

    def loss_refusal(self, problem: Problem, loss: str) -> str | None:
        if loss not in LOSSES:
            return f"unknown loss {short(loss)}; expected one of {sorted(LOSSES)}"
        if self.name in LOSSES[loss].kinds:
            return None
        return f"an svd problem takes the loss svd_mse, not {loss}"

    def errors(self, problem: Problem, rows: np.ndarray, exact: np.ndarray) -> np.ndarray | None:
        return problem.singular_value_errors(rows)

    def initial(self, problem: Problem, draw: Callable, gen: object, dtype: object) -> object:
        # U, d, V in that order from one seeded generator, as the series draws them.
        import torch

        p, q = problem.pq
        parts = [draw(shape, generator=gen, dtype=dtype) for shape in ((p, q), (q,), (q, q))]
        return torch.cat([t.reshape(-1) for t in parts])

    def default_track(self, problem: Problem) -> list[int] | None:
        return problem.d_indices()

    def derived_columns(
        self, problem: Problem, tracked: np.ndarray
    ) -> tuple[list[str], Callable[[np.ndarray], np.ndarray]] | None:
        d_cols = [int(np.flatnonzero(tracked == i)[0]) for i in problem.d_indices() if i in tracked]
        if len(d_cols) != problem.pq[1]:
            return None
        names = [f"sigma{j + 1}" for j in range(len(d_cols))]
        return names, lambda rows: -np.sort(-(rows[:, d_cols] ** 2), axis=1)

    def summary(self, problem: Problem, x: np.ndarray) -> dict[str, object]:
        ortho_u, ortho_v = problem.orthogonality_errors(x)
        with np.errstate(all="ignore"):
            rec = float(np.linalg.norm(problem.reconstruction(x) - problem.M))
        return {
            "singular_values": problem.singular_values(x)[0].tolist(),
            "reference_singular_values": problem.reference_singular_values().tolist(),
            "orthogonality_error": {"U": ortho_u, "V": ortho_v},
            "reconstruction_error": rec,
        }


KINDS: dict[str, ProblemKind] = {
    k.name: k
    for k in (
        _LinearSystemKind(
            name="linear_system",
            label="Linear system  A x = b",
            arrays=(ArraySpec("A", "A", 2), ArraySpec("b", "b", 1, rows_like="A")),
            params=(),
            matrix_key="A",
            views=frozenset({"bars", "direction", "landscape", "compare"}),
            plural="linear systems",
        ),
        _InverseKind(
            name="inverse",
            label="Matrix inverse  X ≈ M⁻¹",
            arrays=(ArraySpec("M", "M", 2, square=True),),
            params=(ParamSpec("side", "Side", "left", SIDES),),
            matrix_key="M",
            views=frozenset({"bars", "heat_x", "heat_residual", "compare"}),
            plural="matrix-inverse problems",
        ),
        _PolyfitKind(
            name="polyfit",
            label="Polynomial fit  y ≈ p(x)",
            arrays=(ArraySpec("x", "x", 1), ArraySpec("y", "y", 1, rows_like="x")),
            params=(ParamSpec("degree", "Degree", 2, required=True),),
            # The fit's matrix is the Vandermonde matrix of x; a two-column file fills x and y.
            matrix_key="x",
            views=frozenset({"bars", "direction", "landscape", "fit", "compare"}),
            plural="polynomial fits",
        ),
        _SvdKind(
            name="svd",
            label="SVD  M ≈ U diag(d²) Vᵀ",
            arrays=(ArraySpec("M", "M", 2),),
            params=(),
            matrix_key="M",
            default_loss="svd_mse",
            random_start=True,
            step_limits=False,  # the series' loss is not quadratic in (U, d, V)
            # x vs exact is not among them: the factors are unique only up to signs
            views=frozenset(
                {"svd_values", "svd_orthogonality", "svd_heat_u", "svd_heat_v", "compare"}
            ),
            plural="svd problems",
        ),
    )
}


# Every view of a run the window draws beside the loss, error and x plots, in its order.
VIEWS = (
    "bars",
    "heat_x",
    "heat_residual",
    "svd_values",
    "svd_orthogonality",
    "svd_heat_u",
    "svd_heat_v",
    "direction",
    "landscape",
    "fit",
    "compare",
)


def view_offered_for(view: str) -> str:
    """Which kinds offer ``view``, in words: "for linear systems and polynomial fits"."""
    names = [k.plural for k in KINDS.values() if view in k.views]
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"for {listed}"


def kind_of(problem: Problem) -> ProblemKind:
    """The registry entry of ``problem``'s kind."""
    try:
        return KINDS[problem.kind]
    except (AttributeError, KeyError):
        raise TypeError(f"not a problem of a registered kind: {problem!r}") from None


def check_loss(name: str, problem: Problem) -> None:
    """Raise InputError if loss ``name`` does not apply to ``problem``."""
    if name not in LOSSES:
        raise InputError("loss", f"unknown loss {short(name)}; expected one of {sorted(LOSSES)}")
    why = kind_of(problem).loss_refusal(problem, name)
    if why is not None:
        raise InputError("loss", why)


def same_problem(a: Problem, b: Problem) -> bool:
    """Whether two problems are the same: identity first, else kind, parameters and arrays."""
    if a is b:
        return True
    ka, kb = kind_of(a), kind_of(b)
    if ka is not kb or ka.params_of(a) != kb.params_of(b):
        return False
    xa, xb = ka.arrays_of(a), kb.arrays_of(b)
    return xa.keys() == xb.keys() and all(np.array_equal(xa[k], xb[k]) for k in xa)
