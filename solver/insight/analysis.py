"""What linear algebra predicts before a single step: condition, step-size limits, rates.

An analysis can take seconds for a large matrix, so it takes a ``cancel`` event, checked
between its stages and inside every iterative loop; a cancelled analysis raises
``errors.Cancelled`` and leaves the problem's caches as they were (finished stages are kept).
What no check can interrupt is listed in ``solver.problems.linear``: one LAPACK call (a full SVD, an
LU factorisation, a direct solve) runs to its end.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from solver.core.errors import check_cancel
from solver.problems.divergence import unstable_step
from solver.problems.kinds import kind_of
from solver.problems.linear import Problem
from solver.problems.losses import LOSSES, curvature_bounds, curvature_errors

# The JSON report lists at most this many singular values (the largest and smallest halves).
MAX_LISTED_SINGULAR_VALUES = 64


def _finite_or_none(v: float | None) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


@dataclass(frozen=True, eq=False)
class Analysis:
    shape: tuple[int, int]
    rank: int | None
    cond: float | None
    singular_values: np.ndarray | None  # of A (or M), descending, when computed in full
    spectrum_exact: bool
    lipschitz: float | None  # L: largest eigenvalue of the loss's Hessian
    mu: float | None  # smallest nonzero eigenvalue of the loss's Hessian
    max_stable_lr: float | None  # 2/L: plain gd diverges above it
    recommended_lr: float | None  # 1/L: always safe for plain gd
    lr: float | None
    rate: float | None  # predicted per-iteration contraction of the error for gd at `lr`
    exact: np.ndarray
    # iterative spectra only: bounds on |L − true L| and |μ − true μ| (None: exact or unknown)
    lipschitz_error: float | None = None
    mu_error: float | None = None
    exact_method: str | None = None  # how the reference solution was found, in a few words
    sparse: bool = False  # the matrix is held sparse: nothing above came from a dense form

    def iterations_for(self, factor: float = 1e-6) -> int | None:
        """Predicted gd iterations to shrink the error by ``factor``."""
        if self.rate is None or not 0 < self.rate < 1:
            return None
        return math.ceil(math.log(factor) / math.log(self.rate))

    @property
    def kappa(self) -> float | None:
        """L/μ: the condition number of the loss's Hessian (on the directions it moves)."""
        if self.lipschitz is None or not self.mu or self.mu <= 0:
            return None
        return self.lipschitz / self.mu

    @property
    def optimal_lr(self) -> float | None:
        """2/(μ+L): the fixed gd step with the fastest worst-case rate, (κ−1)/(κ+1)."""
        if self.kappa is None:
            return None
        return 2.0 / (self.mu + self.lipschitz)

    @property
    def heavy_ball(self) -> tuple[float, float] | None:
        """(lr, momentum) of the optimal heavy ball: 4/(√L+√μ)² and ((√κ−1)/(√κ+1))². torch's
        SGD with momentum is the heavy ball with these two numbers as they are."""
        if self.kappa is None:
            return None
        root = math.sqrt(self.kappa)
        lr = 4.0 / (math.sqrt(self.lipschitz) + math.sqrt(self.mu)) ** 2
        return lr, ((root - 1) / (root + 1)) ** 2

    @property
    def heavy_ball_rate(self) -> float | None:
        """The optimal heavy ball's per-iteration contraction, (√κ−1)/(√κ+1)."""
        if self.kappa is None:
            return None
        root = math.sqrt(self.kappa)
        return (root - 1) / (root + 1)

    def rate_for(self, optimizer: str, lr: float, args: dict | None = None) -> float | None:
        """Predicted per-iteration contraction of the error for ``optimizer`` at ``lr``: gd's
        max(|1 − lr·μ|, |1 − lr·L|), or the heavy ball's spectral radius for torch's SGD
        with momentum β (no dampening, no Nesterov), the worse of λ = μ and λ = L. None
        where the spectrum says nothing (other optimizers, losses that are not smooth)."""
        args = args or {}
        if self.lipschitz is None or self.mu is None or not lr > 0:
            return None
        if optimizer == "gd":
            return max(abs(1 - lr * self.mu), abs(1 - lr * self.lipschitz))
        beta = float(args.get("momentum", 0.0) or 0.0)
        plain = (
            not args.get("nesterov") and not args.get("dampening") and not args.get("weight_decay")
        )
        if optimizer != "sgd" or not plain:
            return None
        # x_{k+1} = x_k − lr·λ·x_k + β(x_k − x_{k−1}) along an eigenvector: the roots of
        # z² − (1 + β − lr·λ) z + β = 0; the largest modulus is the rate along it
        worst = 0.0
        for lam in (self.mu, self.lipschitz):
            c = 1 + beta - lr * lam
            if not math.isfinite(c):  # lr·λ past the largest float: a root as large
                return math.inf
            roots = np.roots([1.0, -c, beta])
            worst = max(worst, float(np.max(np.abs(roots))))
        return worst

    @property
    def spectrum_method(self) -> str:
        """Where L and μ come from: one full SVD, or the iterations ``solver.matrices.spectra`` runs
        for larger matrices, with their stopping accuracy."""
        if self.spectrum_exact:
            return "exact (full SVD)"
        lu = "a sparse LU" if self.sparse else "an LU"
        text = f"estimated: Lanczos on AᵀA for σmax and on (AᵀA)⁻¹ (through {lu}) for σmin"
        accuracy = self.spectrum_accuracy
        return f"{text}; {accuracy}" if accuracy else text

    @property
    def spectrum_accuracy(self) -> str | None:
        """The estimates' error bounds in words ("L to ±2e-12, μ to ±3e-09"), relative to
        their values; None for an exact spectrum or when no bound is known."""
        parts = []
        for name, value, err in (
            ("L", self.lipschitz, self.lipschitz_error),
            ("μ", self.mu, self.mu_error),
        ):
            if value and err is not None and math.isfinite(err):
                parts.append(f"{name} to ±{err / abs(value):.1g} relative")
        return ", ".join(parts) or None

    def divergence_reason(self, lr: float) -> str | None:
        """Why plain gd at ``lr`` blows up, with the numbers; None if it should not."""
        # the caption's and the engine's stop's words, so the panel never disagrees with them
        why = unstable_step("gd", lr, {}, self.lipschitz)
        if why is None:
            return None
        return f"{why} (gd is stable only for lr < 2/L = {self.max_stable_lr:.4g})"

    def to_json(self) -> dict:
        sv = None
        if self.singular_values is not None:
            s = self.singular_values
            half = MAX_LISTED_SINGULAR_VALUES // 2
            sv = s.tolist() if s.size <= 2 * half else s[:half].tolist() + s[-half:].tolist()
        return {
            "shape": list(self.shape),
            "rank": self.rank,
            "cond": _finite_or_none(self.cond),
            "singular_values": sv,
            "spectrum_exact": self.spectrum_exact,
            "lipschitz": _finite_or_none(self.lipschitz),
            "mu": _finite_or_none(self.mu),
            "max_stable_lr": _finite_or_none(self.max_stable_lr),
            "recommended_lr": _finite_or_none(self.recommended_lr),
            "optimal_lr": _finite_or_none(self.optimal_lr),
            "heavy_ball": None
            if self.heavy_ball is None
            else {"lr": self.heavy_ball[0], "momentum": self.heavy_ball[1]},
            "lr": self.lr,
            "predicted_rate": {
                "gd": _finite_or_none(self.rate),
                "heavy_ball": _finite_or_none(self.heavy_ball_rate),
            },
            "spectrum_method": self.spectrum_method,
            "exact_method": self.exact_method,
            "sparse": self.sparse,
            "spectrum_error": None
            if self.spectrum_exact
            else {
                "lipschitz": _finite_or_none(self.lipschitz_error),
                "mu": _finite_or_none(self.mu_error),
            },
        }


def analyze(
    problem: Problem, loss: str, lr: float | None = None, cancel: threading.Event | None = None
) -> Analysis:
    """The analysis of ``problem`` under ``loss`` (and gd at ``lr``): with step-size limits
    where its kind's loss is quadratic in the unknowns (``ProblemKind.step_limits``), else
    its matrix's spectrum alone.

    Raises ``errors.Cancelled`` if ``cancel`` is set before it finishes.
    """
    if kind_of(problem).step_limits:
        return analyze_linear(problem, loss, lr, cancel)
    return analyze_spectrum(problem, lr, cancel)


def analyze_spectrum(
    problem: Problem, lr: float | None = None, cancel: threading.Event | None = None
) -> Analysis:
    """The spectrum of the problem's matrix, with no fixed step-size limit or gd rate (the
    svd series' loss is not quadratic in its unknowns)."""
    check_cancel(cancel)
    return _of_matrix(problem, problem.matrix_spectrum(cancel), lr, problem.exact())


def _of_matrix(
    problem: Problem, spec: object, lr: float | None, exact: object, **limits: object
) -> Analysis:
    """The Analysis of ``problem`` from its matrix's spectrum, with what ``limits`` adds (the
    step-size limits, the rate and their errors; None where not given)."""
    for key in ("lipschitz", "mu", "max_stable_lr", "recommended_lr", "rate"):
        limits.setdefault(key, None)
    return Analysis(
        shape=tuple(problem.matrix().shape),
        rank=spec.rank,
        cond=spec.cond,
        singular_values=spec.values,
        spectrum_exact=spec.exact,
        lr=lr,
        exact=exact,
        **limits,
    )


def analyze_linear(
    problem: Problem, loss: str, lr: float | None = None, cancel: threading.Event | None = None
) -> Analysis:
    """For a problem linear in its unknowns: the spectrum of its matrix and, for smooth
    losses, gd's step-size limits and rate, from the spectrum of its operator."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}")
    check_cancel(cancel)
    mat_spec = problem.matrix_spectrum(cancel)
    check_cancel(cancel)
    spec = problem.spectrum(cancel)
    bounds = curvature_bounds(loss, spec, problem.n_residuals)
    lip = mu = max_lr = rec_lr = rate = lip_err = mu_err = None
    if bounds is not None:
        mu, lip = bounds
        lip_err, mu_err = curvature_errors(loss, spec, problem.n_residuals)
        if lip > 0:
            max_lr, rec_lr = 2.0 / lip, 1.0 / lip
        mu = mu if math.isfinite(mu) else None
        if lr is not None and lip > 0:
            lo = abs(1 - lr * mu) if mu is not None else 1.0
            rate = max(lo, abs(1 - lr * lip))
    check_cancel(cancel)
    return _of_matrix(
        problem,
        mat_spec,
        lr,
        problem.solve(cancel),
        lipschitz=lip,
        mu=mu,
        max_stable_lr=max_lr,
        recommended_lr=rec_lr,
        rate=rate,
        lipschitz_error=lip_err,
        mu_error=mu_err,
        exact_method=problem.solve_method() if hasattr(problem, "solve_method") else None,
        sparse=problem.sparse,
    )
