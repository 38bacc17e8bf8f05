"""What to solve: linear systems (any shape), matrix inverses and polynomial fits.

Every problem is linear in its unknowns: ``residual(x) = K(x) - target``. The analysis reads
``K`` through ``spectrum()``; the engine evaluates residuals through ``bind()`` on a device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.linalg
import torch

from .errors import InputError
from .kernels import matvec_for
from .matrixio import check_array

# Up to this many columns/rows the spectrum comes from a full SVD (about a second at 1200);
# beyond it the extreme singular values are estimated iteratively.
FULL_SVD_LIMIT = 1200


@dataclass
class Spectrum:
    """Singular values of the problem's linear operator K (those that were computed)."""

    sigma_max: float
    sigma_min: float  # smallest singular value overall (0 when rank-deficient)
    sigma_min_nonzero: float | None
    rank: int | None
    values: np.ndarray | None  # all singular values, descending, when affordable
    exact: bool  # True when from a full SVD, False when estimated

    @property
    def cond(self) -> float | None:
        if self.sigma_min <= 0 or not np.isfinite(self.sigma_min):
            return None
        return self.sigma_max / self.sigma_min


def _rank_tol(s: np.ndarray, shape: tuple[int, int]) -> float:
    return float(s[0]) * max(shape) * np.finfo(np.float64).eps if s.size else 0.0


def _power_sqrt(apply: Callable[[np.ndarray], np.ndarray], v: np.ndarray, iters: int,
                rtol: float) -> float:
    """sqrt of the largest eigenvalue of the positive semi-definite map ``apply`` (KᵀK for
    an operator K: its largest singular value), by power iteration from ``v``."""
    est = 0.0
    for _ in range(iters):
        w = apply(v)
        nrm = np.linalg.norm(w)
        if nrm == 0 or not np.isfinite(nrm):
            break
        new = float(np.sqrt(nrm / np.linalg.norm(v)))
        v = w / nrm
        if abs(new - est) <= rtol * new:
            return new
        est = new
    return est


def _estimate_spectrum(a: np.ndarray) -> Spectrum:
    """Power iteration for sigma_max, inverse iteration through an LU for sigma_min."""
    rng = np.random.default_rng(0)
    smax = _power_sqrt(lambda v: a.T @ (a @ v), rng.standard_normal(a.shape[1]), 200, 1e-10)
    smin = float("nan")
    if a.shape[0] == a.shape[1]:
        try:
            lu = scipy.linalg.lu_factor(a, check_finite=False)
            inv_norm = _power_sqrt(
                lambda v: scipy.linalg.lu_solve(lu, scipy.linalg.lu_solve(lu, v, trans=1)),
                rng.standard_normal(a.shape[1]), 100, 1e-8,
            )
            smin = 1.0 / inv_norm if np.isfinite(inv_norm) and inv_norm > 0 else 0.0
        except (np.linalg.LinAlgError, ValueError):
            smin = 0.0
    return Spectrum(float(smax), smin, smin if smin > 0 else None, None, None, exact=False)


def _svd_spectrum(a: np.ndarray) -> tuple[Spectrum, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    rank = int((s > _rank_tol(s, a.shape)).sum())
    smin = float(s[-1]) if rank == s.size else 0.0
    nonzero = float(s[rank - 1]) if rank else None
    return Spectrum(float(s[0]), smin, nonzero, rank, s, exact=True), (u, s, vt)


@dataclass
class LinearSystem:
    """``A x = b`` for any m x n ``A``: square, least squares, or minimum norm."""

    A: np.ndarray
    b: np.ndarray
    kind: str = field(default="linear_system", init=False)

    def __post_init__(self) -> None:
        self.A = check_array(self.A, "problem.A", ndim=(2,))
        self.b = check_array(self.b, "problem.b", ndim=(1, 2))
        if self.b.ndim == 2:
            if 1 not in self.b.shape:
                raise InputError("problem.b", f"expected a vector, got shape {self.b.shape}")
            self.b = self.b.reshape(-1)
        if self.b.shape[0] != self.A.shape[0]:
            raise InputError(
                "problem.b",
                f"has {self.b.shape[0]} entries but A has {self.A.shape[0]} rows; they must match",
            )

    @property
    def unknown_shape(self) -> tuple[int, ...]:
        return (self.A.shape[1],)

    @property
    def n_residuals(self) -> int:
        return self.A.shape[0]

    def unknown_names(self) -> list[str]:
        return [f"x{i + 1}" for i in range(self.A.shape[1])]

    def matrix(self) -> np.ndarray:
        """The matrix whose shape, rank and condition the user is shown."""
        return self.A

    @cached_property
    def _svd(self) -> tuple[Spectrum, tuple | None]:
        if min(self.A.shape) <= FULL_SVD_LIMIT:
            return _svd_spectrum(self.A)
        return _estimate_spectrum(self.A), None

    def spectrum(self) -> Spectrum:
        """Singular values of A (the operator of this problem)."""
        return self._svd[0]

    @cached_property
    def exact(self) -> np.ndarray:
        """The reference answer: the solution, or the minimum-norm least-squares solution."""
        spec, svd = self._svd
        if svd is not None:
            u, s, vt = svd
            r = spec.rank or 0
            return vt[:r].T @ ((u[:, :r].T @ self.b) / s[:r])
        if self.A.shape[0] == self.A.shape[1]:
            try:
                return np.linalg.solve(self.A, self.b)
            except np.linalg.LinAlgError:
                pass
        return np.linalg.lstsq(self.A, self.b, rcond=None)[0]

    def residual_np(self, x: np.ndarray) -> np.ndarray:
        """Residuals of a batch of unknowns (rows of ``x``), in numpy."""
        return x @ self.A.T - self.b

    def bind(self, device: torch.device, dtype: torch.dtype) -> BoundProblem:
        a = torch.as_tensor(self.A, dtype=dtype).to(device).contiguous()
        b = torch.as_tensor(self.b, dtype=dtype).to(device)
        matvec = matvec_for(a)
        return BoundProblem(
            residual=lambda x: matvec(x) - b,
            tensors={"A": a, "b": b},
        )


class Polyfit(LinearSystem):
    """Least-squares polynomial fit: coefficients, highest power first (as ``np.poly1d``)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, degree: int) -> None:
        xs = check_array(x, "problem.x", ndim=(1, 2)).reshape(-1)
        ys = check_array(y, "problem.y", ndim=(1, 2)).reshape(-1)
        if xs.shape != ys.shape:
            raise InputError("problem.y", f"has {ys.size} samples but x has {xs.size}")
        if isinstance(degree, bool) or not isinstance(degree, int) or degree < 0:
            raise InputError("problem.degree", f"expected an integer >= 0, got {degree!r}")
        self.samples_x, self.samples_y, self.degree = xs, ys, degree
        super().__init__(np.vander(xs, degree + 1), ys)
        self.kind = "polyfit"

    def unknown_names(self) -> list[str]:
        return [f"c{p}" for p in range(self.degree, -1, -1)]


SIDES = ("left", "right", "both")


@dataclass
class Inverse:
    """Find ``X`` with ``X M = I`` (left), ``M X = I`` (right) or ``(XM + MX)/2 = I`` (both)."""

    M: np.ndarray
    side: str = "left"
    kind: str = field(default="inverse", init=False)

    def __post_init__(self) -> None:
        self.M = check_array(self.M, "problem.M", ndim=(2,))
        if self.M.shape[0] != self.M.shape[1]:
            raise InputError("problem.M", f"must be square, got shape {self.M.shape}")
        if self.side not in SIDES:
            raise InputError("problem.side", f"unknown side {self.side!r}; expected one of {SIDES}")
        spec = self.matrix_spectrum()
        if spec.sigma_min <= 0:
            rank = f"rank {spec.rank} < {self.M.shape[0]}" if spec.rank is not None else "rank"
            raise InputError("problem.M", f"is singular ({rank}); it has no inverse")

    @property
    def n(self) -> int:
        return self.M.shape[0]

    @property
    def unknown_shape(self) -> tuple[int, ...]:
        return (self.n, self.n)

    @property
    def n_residuals(self) -> int:
        return self.n * self.n

    def unknown_names(self) -> list[str]:
        return [f"X[{i + 1},{j + 1}]" for i in range(self.n) for j in range(self.n)]

    def matrix(self) -> np.ndarray:
        return self.M

    @cached_property
    def _matrix_svd(self) -> Spectrum:
        if self.n <= FULL_SVD_LIMIT:
            return _svd_spectrum(self.M)[0]
        return _estimate_spectrum(self.M)

    def matrix_spectrum(self) -> Spectrum:
        return self._matrix_svd

    @cached_property
    def _operator_spectrum(self) -> Spectrum:
        if self.side != "both":
            # X -> XM and X -> MX have M's singular values, each repeated n times.
            return self._matrix_svd
        n = self.n
        eye = np.eye(n)
        if n <= 24:
            # Row-major vec: vec(XM) = (I kron M^T) vec X, vec(MX) = (M kron I) vec X.
            k = 0.5 * (np.kron(eye, self.M.T) + np.kron(self.M, eye))
            return _svd_spectrum(k)[0]
        m = self.M

        def normal_map(x: np.ndarray) -> np.ndarray:  # TᵀT for T(X) = (XM + MX) / 2
            y = 0.5 * (x @ m + m @ x)
            return 0.5 * (y @ m.T + m.T @ y)

        x0 = np.random.default_rng(0).standard_normal((n, n))
        smax = _power_sqrt(normal_map, x0, 300, 1e-10)
        return Spectrum(float(smax), float("nan"), None, None, None, exact=False)

    def spectrum(self) -> Spectrum:
        """Singular values of the linear map X -> residual + I."""
        return self._operator_spectrum

    @cached_property
    def exact(self) -> np.ndarray:
        return np.linalg.inv(self.M)

    def residual_np(self, x: np.ndarray) -> np.ndarray:
        xs = x.reshape(-1, self.n, self.n)
        eye = np.eye(self.n)
        if self.side == "left":
            r = xs @ self.M - eye
        elif self.side == "right":
            r = self.M @ xs - eye
        else:
            r = 0.5 * (xs @ self.M + self.M @ xs) - eye
        return r.reshape(x.shape[0], -1)

    def bind(self, device: torch.device, dtype: torch.dtype) -> BoundProblem:
        m = torch.as_tensor(self.M, dtype=dtype).to(device)
        eye = torch.eye(self.n, dtype=dtype, device=device)
        if self.side == "left":
            def res(x: torch.Tensor) -> torch.Tensor:
                return x @ m - eye
        elif self.side == "right":
            def res(x: torch.Tensor) -> torch.Tensor:
                return m @ x - eye
        else:
            def res(x: torch.Tensor) -> torch.Tensor:
                return 0.5 * (x @ m + m @ x) - eye
        return BoundProblem(residual=res, tensors={"M": m})


@dataclass
class BoundProblem:
    """A problem's residual as torch functions on one device and dtype."""

    residual: Callable[[torch.Tensor], torch.Tensor]
    tensors: dict[str, torch.Tensor]


Problem = LinearSystem | Inverse
