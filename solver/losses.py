"""Loss functions of the residual r, and what each implies for step sizes.

The table (names, labels, curvature) is plain Python; torch is imported only when a run asks
for the loss as a torch function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError, short
from .spectra import Spectrum, spd_refusal

if TYPE_CHECKING:
    import torch

    from .problems import Problem

    LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (r, x) -> scalar


@dataclass(frozen=True)
class Loss:
    name: str
    label: str
    formula: str
    # Hessian eigenvalue of the loss for an operator singular value s and N residual entries;
    # None where the loss is not smooth (no Lipschitz gradient, no step-size limit).
    curvature: Callable[[float, int], float] | None


LOSSES: dict[str, Loss] = {
    "half_sum_squares": Loss("half_sum_squares", "½ Σ r²", "½‖Ax − b‖²", lambda s, n: s * s),
    "sum_squares": Loss("sum_squares", "Σ r²", "‖Ax − b‖²", lambda s, n: 2 * s * s),
    "l2_norm": Loss("l2_norm", "‖r‖₂", "‖Ax − b‖ (not squared)", None),
    "l1_norm": Loss("l1_norm", "Σ |r|", "‖Ax − b‖₁", None),
    "mse": Loss("mse", "mean r²", "‖Ax − b‖² / N", lambda s, n: 2 * s * s / n),
    "energy": Loss("energy", "½xᵀAx − bᵀx", "½xᵀAx − bᵀx + ½bᵀx* (≥ 0)", lambda s, n: s),
    # Not quadratic in (U, d, V): no curvature bound, so no fixed step-size limit.
    "svd_mse": Loss(
        "svd_mse",
        "SVD mse",
        "mse(U diag(d²) Vᵀ, M) + mse(UᵀU, I)/100 + mse(VVᵀ, I)/100",
        None,
    ),
}


def check_energy_matrix(a: np.ndarray) -> None:
    """The energy loss needs a symmetric positive definite A; say which property fails."""
    why = spd_refusal(a)
    if why is not None:
        raise InputError("loss", why)


def check_applicable(name: str, problem: Problem) -> None:
    """Raise InputError if loss ``name`` does not apply to ``problem``."""
    from .kinds import kind_of

    if name not in LOSSES:
        raise InputError("loss", f"unknown loss {short(name)}; expected one of {sorted(LOSSES)}")
    why = kind_of(problem).loss_refusal(problem, name)
    if why is not None:
        raise InputError("loss", why)


def _torch_losses() -> dict[str, LossFn]:
    import torch

    def half_sum_squares(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        f = r.reshape(-1)
        return 0.5 * torch.dot(f, f)

    def sum_squares(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        f = r.reshape(-1)
        return torch.dot(f, f)

    def mse(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        f = r.reshape(-1)
        return torch.dot(f, f) / f.numel()

    def l2_norm(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.linalg.vector_norm(r)

    def l1_norm(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return r.abs().sum()

    return {
        "half_sum_squares": half_sum_squares,
        "sum_squares": sum_squares,
        "mse": mse,
        "l2_norm": l2_norm,
        "l1_norm": l1_norm,
    }


def loss_function(name: str, problem: Problem, bound_tensors: dict) -> LossFn:
    """The torch loss for ``problem``; validates that the loss applies to it."""
    check_applicable(name, problem)
    if name == "svd_mse":
        return _svd_mse(problem, bound_tensors)
    if name != "energy":
        return _torch_losses()[name]
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
