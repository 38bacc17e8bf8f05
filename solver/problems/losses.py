"""Loss functions of the residual r, and what each implies for step sizes.

The table (names, labels, curvature) is plain Python; torch is imported only when a run asks
for the loss as a torch function.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from solver.core.errors import InputError, short
from solver.matrices.spectra import Spectrum, spd_refusal

if TYPE_CHECKING:
    import torch

    from .linear import Problem

    LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (r, x) -> scalar


def _squares(d: float, m: int, r_star: float) -> float:
    """How far rounding of each of m entries by d moves ‖r‖² from ‖r*‖² at most."""
    return 2.0 * r_star * math.sqrt(m) * d + m * d * d


# Rounding errors of a product, a sum of products and a subtraction add up to a few units in
# the last place of the terms, and gd stops moving x where lr·∇f is below half a unit of x,
# which κ amplifies (not modelled: a margin instead). Measured plateaus, in units of eps times
# the terms' rms per residual entry: the 3×3 by gd in float64 4.2, the svd series in float32
# 1.4, the random inverse in float32 1.9; 8 leaves their losses 3.7 times or more below it.
SLACK = 8.0

Rows = np.ndarray  # residual rows r, shape (..., m): one loss per row


@dataclass(frozen=True)
class Loss:
    """Everything about one loss of the residual r = K(x) − c. The engine, the fast path, the
    closed-form gradient (``solver.insight.anatomy``), the rates and the explanation read it; none
    keeps a table of its own. Adding a loss is adding a record to ``LOSSES``."""

    name: str
    label: str
    formula: str
    # Hessian eigenvalue of the loss for an operator singular value s and N residual entries;
    # None where the loss is not smooth (no Lipschitz gradient, no step-size limit).
    curvature: Callable[[float, int], float] | None
    # The torch form, (r, x) -> scalar; None where it needs the problem (``loss_function``).
    torch_form: LossFn | None = None
    # The loss from ‖r‖² and the m entries, where it is a function of those alone (on a plane
    # of iterates it is then a quadratic form's function: ``solver.insight.directions``' grids) ...
    of_squares: Callable[[np.ndarray, int], np.ndarray] | None = None
    # ... else of the residual rows, in numpy; None where it is not a function of r alone.
    of_residual: Callable[[Rows], np.ndarray] | None = None
    # dℓ/dr at one residual of m entries, and how K's gradient reads with it: ("2{K}", "/{m}")
    # around Kᵀ applied to ``derivative_text`` ("{r}", "sign({r})").
    derivative: Callable[[np.ndarray, int], np.ndarray] | None = None
    gradient_text: tuple[str, str] = ("{K}", "")
    derivative_text: str = "{r}"
    # ‖r‖ from the loss's values (m entries): the engine records it without another product
    residual_norm: Callable[[np.ndarray, int], np.ndarray] | None = None
    # How its excess over the minimum follows the error near it: 2, a quadratic form (the
    # rate theory applies, the loss contracts by rate²); 1, a norm (by rate); None: neither
    # (no rate is measured)
    rate_power: int | None = None
    # minimised by exactly the least-squares solutions (which one gd reaches is then said)
    least_squares: bool = False
    # its gradient does not shrink near the minimum: a fixed step never settles
    fixed_steps: bool = False
    # its gradient is bounded far from the minimum: a step above 2/L goes round the answer
    # for good instead of blowing up
    bounded_pull: bool = False
    # how far above its minimum rounding leaves it: (one entry's rounding d, m entries,
    # ‖r*‖, eps) -> loss; None where it is measured otherwise (the energy, below)
    floor: Callable[[float, int, float, float], float] | None = None
    # the code the scripted gd chunks take for it (``solver.run.scripted``); None: no fast path
    fast_code: int | None = None
    sparse_code: int | None = None
    # what the explanation calls it in a sentence, and its name in a title (its label if none)
    called: str = "loss"
    title: str = ""
    # the problem kinds it applies to (``solver.problems.kinds`` refuses it elsewhere, saying
    # ``only``)
    kinds: frozenset[str] = frozenset({"linear_system", "inverse", "polyfit"})
    only: str = ""

    @property
    def quadratic(self) -> bool:
        return self.rate_power == 2

    @property
    def of_r(self) -> bool:
        """Whether it is a function of the residual alone (``value`` computes it)."""
        return self.of_squares is not None or self.of_residual is not None

    def value(self, r: Rows) -> np.ndarray:
        """The loss of each residual row (numpy, float64, overflow as inf)."""
        r = np.asarray(r, np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            if self.of_squares is not None:
                return self.of_squares(np.sum(r * r, axis=-1), r.shape[-1])
            if self.of_residual is not None:
                return self.of_residual(r)
        raise ValueError(f"no numpy form of r alone for the loss {self.name!r}")


def _t_half_sum_squares(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    import torch

    f = r.reshape(-1)
    return 0.5 * torch.dot(f, f)


def _t_sum_squares(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    import torch

    f = r.reshape(-1)
    return torch.dot(f, f)


def _t_mse(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    import torch

    f = r.reshape(-1)
    return torch.dot(f, f) / f.numel()


def _t_l2_norm(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    import torch

    return torch.linalg.vector_norm(r)


def _t_l1_norm(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return r.abs().sum()


HUBER_DELTA = 1.0  # where the Huber loss turns from squares to absolute values


def _t_huber(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    import torch

    return torch.nn.functional.huber_loss(
        r, torch.zeros_like(r), reduction="sum", delta=HUBER_DELTA
    )


def _huber(r: Rows) -> np.ndarray:
    a = np.abs(r)
    d = HUBER_DELTA
    return np.sum(np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d)), axis=-1)


def _norm(v: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(v, 0))


LOSSES: dict[str, Loss] = {
    "half_sum_squares": Loss(
        "half_sum_squares",
        "½ Σ r²",
        "½‖Ax − b‖²",
        lambda s, n: s * s,
        torch_form=_t_half_sum_squares,
        of_squares=lambda sq, m: 0.5 * sq,
        derivative=lambda r, m: r,
        residual_norm=lambda v, m: _norm(2 * v),
        rate_power=2,
        least_squares=True,
        floor=lambda d, m, rs, eps: 0.5 * _squares(d, m, rs) + SLACK * eps * rs * rs / 2,
        fast_code=0,
        sparse_code=0,
    ),
    "sum_squares": Loss(
        "sum_squares",
        "Σ r²",
        "‖Ax − b‖²",
        lambda s, n: 2 * s * s,
        torch_form=_t_sum_squares,
        of_squares=lambda sq, m: sq,
        derivative=lambda r, m: 2 * r,
        gradient_text=("2{K}", ""),
        residual_norm=lambda v, m: _norm(v),
        rate_power=2,
        least_squares=True,
        floor=lambda d, m, rs, eps: _squares(d, m, rs) + SLACK * eps * rs * rs,
        fast_code=1,
        sparse_code=1,
    ),
    "l2_norm": Loss(
        "l2_norm",
        "‖r‖₂",
        "‖Ax − b‖ (not squared)",
        None,
        torch_form=_t_l2_norm,
        of_squares=lambda sq, m: np.sqrt(sq),
        derivative=lambda r, m: r / (np.linalg.norm(r) or 1.0),
        gradient_text=("{K}", "/‖{r}‖"),
        residual_norm=lambda v, m: v,
        rate_power=1,
        least_squares=True,
        floor=lambda d, m, rs, eps: math.sqrt(m) * d + SLACK * eps * rs,
        fast_code=3,  # its backward is not written out for the sparse chunks
    ),
    "l1_norm": Loss(
        "l1_norm",
        "Σ |r|",
        "‖Ax − b‖₁",
        None,
        torch_form=_t_l1_norm,
        of_residual=lambda r: np.sum(np.abs(r), axis=-1),
        derivative=lambda r, m: np.sign(r),
        derivative_text="sign({r})",
        fixed_steps=True,
        title="L1",
        floor=lambda d, m, rs, eps: m * d + SLACK * eps * math.sqrt(m) * rs,
    ),
    # Squares near the answer, absolute values far from it: large residuals (outliers) pull
    # with a bounded force. Its Hessian is AᵀA where |rᵢ| ≤ 1 and 0 beyond, so σmax² bounds the
    # curvature everywhere (a step below 2/L is stable) and is the curvature at the answer of
    # a consistent system; it is below ½‖r‖², whose rounding floor bounds its own.
    "huber": Loss(
        "huber",
        "Huber Σ h(r)",
        "Σ h(rᵢ): ½rᵢ² where |rᵢ| ≤ 1, |rᵢ| − ½ beyond",
        lambda s, n: s * s,
        torch_form=_t_huber,
        of_residual=_huber,
        derivative=lambda r, m: np.clip(r, -HUBER_DELTA, HUBER_DELTA),
        derivative_text="clip({r}, ±1)",
        bounded_pull=True,
        floor=lambda d, m, rs, eps: 0.5 * _squares(d, m, rs) + SLACK * eps * rs * rs / 2,
        title="Huber",
    ),
    "mse": Loss(
        "mse",
        "mean r²",
        "‖Ax − b‖² / N",
        lambda s, n: 2 * s * s / n,
        torch_form=_t_mse,
        of_squares=lambda sq, m: sq / max(m, 1),
        derivative=lambda r, m: 2 * r / m,
        gradient_text=("2{K}", "/{m}"),
        residual_norm=lambda v, m: _norm(v * m),
        rate_power=2,
        least_squares=True,
        floor=lambda d, m, rs, eps: (_squares(d, m, rs) + SLACK * eps * rs * rs) / max(m, 1),
        fast_code=2,
        sparse_code=2,
    ),
    # A loss of x, not of r alone: ½xᵀ(r − b) + ½bᵀx* (``loss_function``); its gradient is the
    # residual itself, and its floor is measured from its terms (``RoundingFloor.loss``).
    "energy": Loss(
        "energy",
        "½xᵀAx − bᵀx",
        "½xᵀAx − bᵀx + ½bᵀx* (≥ 0)",
        lambda s, n: s,
        rate_power=2,
        sparse_code=4,
        called="energy loss",
        kinds=frozenset({"linear_system"}),
        only="energy applies only to a linear_system with an SPD matrix A",
    ),
    # Not quadratic in (U, d, V): no curvature bound, so no fixed step-size limit. It is the
    # sum of squares of the series' weighted residual (``Svd.residual_np``).
    "svd_mse": Loss(
        "svd_mse",
        "SVD mse",
        "mse(U diag(d²) Vᵀ, M) + mse(UᵀU, I)/100 + mse(VVᵀ, I)/100",
        None,
        floor=lambda d, m, rs, eps: _squares(d, m, rs) + SLACK * eps * rs * rs,
        kinds=frozenset({"svd"}),
        only="svd_mse applies only to an svd problem",
    ),
}


def check_energy_matrix(a: np.ndarray) -> None:
    """The energy loss needs a symmetric positive definite A; say which property fails."""
    why = spd_refusal(a)
    if why is not None:
        raise InputError("loss", why)


def loss_function(name: str, problem: Problem, bound_tensors: dict) -> LossFn:
    """The torch loss ``name`` for ``problem``, to which it applies (``kinds.check_loss``)."""
    if name not in LOSSES:
        raise InputError("loss", f"unknown loss {short(name)}; expected one of {sorted(LOSSES)}")
    if name == "svd_mse":
        return _svd_mse(problem, bound_tensors)
    form = LOSSES[name].torch_form
    if form is not None:
        return form
    import torch

    b = bound_tensors["b"]
    offset = energy_offset(problem)

    def energy(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * torch.dot(x, r - b) + offset

    return energy


def energy_offset(problem: Problem) -> float:
    """The energy loss's constant: with r = Ax - b, ½xᵀAx − bᵀx = ½xᵀ(r − b), and ½bᵀx*
    shifts the minimum to zero so the loss is >= 0: it fits a log axis and `tol` means what
    it means elsewhere."""
    return 0.5 * float(problem.b @ problem.exact)


def _svd_mse(problem: Problem, bound_tensors: dict) -> LossFn:
    """The series' loss, term for term, on the unknowns (not the weighted residual, whose
    sum of squares is the same number up to rounding)."""
    import torch

    p, q = problem.pq
    f, eye = bound_tensors["M"], bound_tensors["eye"]
    mse = torch.nn.functional.mse_loss

    def svd_mse(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        u = x[: p * q].reshape(p, q)
        d = x[p * q : p * q + q]
        v = x[p * q + q :].reshape(q, q)
        return (
            mse(u @ torch.diag(d**2) @ v.T, f) + mse(u.T @ u, eye) / 100 + mse(v @ v.T, eye) / 100
        )

    return svd_mse


def curvature_bounds(name: str, spec: Spectrum, n_residuals: int) -> tuple[float, float] | None:
    """(mu, L): smallest nonzero and largest Hessian eigenvalue, or None if not smooth."""
    curv = LOSSES[name].curvature
    if curv is None:
        return None
    lip = curv(spec.sigma_max, n_residuals)
    mu = curv(spec.sigma_min_nonzero, n_residuals) if spec.sigma_min_nonzero else float("nan")
    return mu, lip


def curvature_errors(
    name: str, spec: Spectrum, n_residuals: int
) -> tuple[float | None, float | None]:
    """Bounds on the errors of ``curvature_bounds``' L and μ, from the spectrum's bounds on
    σmax and σmin (None where the spectrum is exact or gives none). The curvature grows with
    σ, so σ ± its bound brackets it."""
    curv = LOSSES[name].curvature
    out: list[float | None] = []
    for sigma, err in (
        (spec.sigma_max, spec.sigma_max_error),
        (spec.sigma_min_nonzero, spec.sigma_min_error),
    ):
        if curv is None or spec.exact or err is None or not sigma:
            out.append(None)
            continue
        mid = curv(sigma, n_residuals)
        out.append(
            max(
                abs(curv(sigma + err, n_residuals) - mid),
                abs(mid - curv(max(sigma - err, 0.0), n_residuals)),
            )
        )
    return out[0], out[1]
