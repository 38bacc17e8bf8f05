"""Loss functions of the residual r, and what each implies for step sizes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .errors import InputError
from .problems import Inverse, LinearSystem, Polyfit, Spectrum

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (r, x) -> scalar


@dataclass(frozen=True)
class Loss:
    name: str
    label: str
    formula: str
    # Hessian eigenvalue of the loss for an operator singular value s and N residual entries;
    # None where the loss is not smooth (no Lipschitz gradient, no step-size limit).
    curvature: Callable[[float, int], float] | None


def _flat(r: torch.Tensor) -> torch.Tensor:
    return r.reshape(-1)


def _half_sum_squares(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    f = _flat(r)
    return 0.5 * torch.dot(f, f)


def _sum_squares(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    f = _flat(r)
    return torch.dot(f, f)


def _mse(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    f = _flat(r)
    return torch.dot(f, f) / f.numel()


def _l2_norm(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(r)


def _l1_norm(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return r.abs().sum()


LOSSES: dict[str, Loss] = {
    "half_sum_squares": Loss("half_sum_squares", "½ Σ r²", "½‖Ax − b‖²", lambda s, n: s * s),
    "sum_squares": Loss("sum_squares", "Σ r²", "‖Ax − b‖²", lambda s, n: 2 * s * s),
    "l2_norm": Loss("l2_norm", "‖r‖₂", "‖Ax − b‖ (not squared)", None),
    "l1_norm": Loss("l1_norm", "Σ |r|", "‖Ax − b‖₁", None),
    "mse": Loss("mse", "mean r²", "‖Ax − b‖² / N", lambda s, n: 2 * s * s / n),
    "energy": Loss("energy", "½xᵀAx − bᵀx", "½xᵀAx − bᵀx + ½bᵀx* (≥ 0)", lambda s, n: s),
}


def check_energy_matrix(a: np.ndarray) -> None:
    """The energy loss needs a symmetric positive definite A; say which property fails."""
    if a.shape[0] != a.shape[1]:
        raise InputError("loss", f"energy needs a square A, got shape {a.shape}")
    scale = float(np.max(np.abs(a))) or 1.0
    asym = float(np.max(np.abs(a - a.T)))
    if asym > 1e-10 * scale:
        raise InputError("loss", f"energy needs a symmetric A; max |A - Aᵀ| is {asym:.3g}")
    try:
        np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        w = float(np.linalg.eigvalsh(a)[0]) if a.shape[0] <= 2000 else float("nan")
        raise InputError(
            "loss", f"energy needs a positive definite A; its smallest eigenvalue is {w:.3g}"
        ) from None


def check_applicable(name: str, problem: LinearSystem | Inverse) -> None:
    """Raise InputError if loss ``name`` does not apply to ``problem``."""
    if name not in LOSSES:
        raise InputError("loss", f"unknown loss {name!r}; expected one of {sorted(LOSSES)}")
    if name == "energy":
        if not isinstance(problem, LinearSystem) or isinstance(problem, Polyfit):
            raise InputError("loss", "energy applies only to a linear_system with an SPD matrix A")
        check_energy_matrix(problem.A)


def loss_function(name: str, problem: LinearSystem | Inverse, bound_tensors: dict) -> LossFn:
    """The torch loss for ``problem``; validates that the loss applies to it."""
    check_applicable(name, problem)
    if name != "energy":
        return {
            "half_sum_squares": _half_sum_squares,
            "sum_squares": _sum_squares,
            "mse": _mse,
            "l2_norm": _l2_norm,
            "l1_norm": _l1_norm,
        }[name]
    b = bound_tensors["b"]
    # With r = Ax - b, ½xᵀAx − bᵀx = ½xᵀ(r − b). The constant ½bᵀx* shifts the minimum to
    # zero so the loss is >= 0: it fits a log axis and `tol` means what it means elsewhere.
    offset = 0.5 * float(problem.b @ problem.exact)

    def energy(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * torch.dot(x, r - b) + offset

    return energy


def curvature_bounds(name: str, spec: Spectrum, n_residuals: int) -> tuple[float, float] | None:
    """(mu, L): smallest nonzero and largest Hessian eigenvalue, or None if not smooth."""
    curv = LOSSES[name].curvature
    if curv is None:
        return None
    lip = curv(spec.sigma_max, n_residuals)
    mu = curv(spec.sigma_min_nonzero, n_residuals) if spec.sigma_min_nonzero else float("nan")
    return mu, lip
