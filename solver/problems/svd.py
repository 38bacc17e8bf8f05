"""The svd problem kind's problem: ``M ≈ U diag(d²) Vᵀ``, the series' SVD by gradient
descent. Not linear in its unknowns, so its analysis is the spectrum of M alone (no step-size
limit), and its error is the distance of the singular values to ``torch.linalg.svdvals``."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from solver.core.errors import check_cancel
from solver.matrices.matrixio import check_array
from solver.matrices.spectra import Spectrum, readonly, svd_spectrum

from .base import BoundProblem, ProblemBase

if TYPE_CHECKING:
    import torch


class Svd(ProblemBase):
    """``M ≈ U diag(d²) Vᵀ`` by gradient descent on U (p × q), d (q) and V (q × q), packed
    into one vector of unknowns (U row-major, then d, then V row-major) so that every
    optimizer moves the three together. Squaring d keeps the singular values non-negative.

    A wide M (m < n) is factored as its transpose, so that q = min(m, n) always: U and V
    then swap roles (M = V diag(d²) Uᵀ), and the singular values are the same.
    """

    kind: ClassVar[str] = "svd"

    def __init__(self, M: np.ndarray) -> None:  # noqa: N803 - the maths' name
        m = check_array(M, "problem.M", ndim=(2,))
        self._keep(M=m)

    def __reduce__(self) -> tuple:
        return (Svd, (self.M,))

    def __repr__(self) -> str:
        return f"Svd(M: {self.M.shape})"

    @property
    def M(self) -> np.ndarray:  # noqa: N802
        return self._shown["M"]

    @property
    def transposed(self) -> bool:
        """Whether the factored matrix is Mᵀ (M is wide)."""
        return self.M.shape[0] < self.M.shape[1]

    @property
    def factored(self) -> np.ndarray:
        """The tall (or square) matrix the unknowns factor: M, or Mᵀ when M is wide."""
        return self.M.T if self.transposed else self.M

    @property
    def pq(self) -> tuple[int, int]:
        return self.factored.shape

    @property
    def unknown_shape(self) -> tuple[int, ...]:
        p, q = self.pq
        return (p * q + q + q * q,)

    @property
    def n_residuals(self) -> int:
        p, q = self.pq
        return p * q + 2 * q * q

    def unknown_names(self) -> list[str]:
        p, q = self.pq
        return (
            [f"U{i + 1},{j + 1}" for i in range(p) for j in range(q)]
            + [f"d{j + 1}" for j in range(q)]
            + [f"V{i + 1},{j + 1}" for i in range(q) for j in range(q)]
        )

    def d_indices(self) -> list[int]:
        p, q = self.pq
        return list(range(p * q, p * q + q))

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(U, d, V) of rows of flat unknowns: shapes (k, p, q), (k, q), (k, q, q)."""
        p, q = self.pq
        rows = np.asarray(x, np.float64).reshape(-1, p * q + q + q * q)
        u = rows[:, : p * q].reshape(-1, p, q)
        d = rows[:, p * q : p * q + q]
        v = rows[:, p * q + q :].reshape(-1, q, q)
        return u, d, v

    def matrix(self) -> np.ndarray:
        return self.M

    def _svd(self) -> tuple[Spectrum, np.ndarray]:
        spec, (u, s, vt) = svd_spectrum(self.factored)
        # One exact factorisation in the unknowns' layout (singular vectors' signs are
        # arbitrary, so runs are compared by singular values, not by this point).
        point = np.concatenate([u.reshape(-1), np.sqrt(s), vt.T.reshape(-1)])
        return spec, readonly(point)

    def matrix_spectrum(self, cancel: threading.Event | None = None) -> Spectrum:
        return self._spectrum_of("M", self._svd, cancel)

    def spectrum(self, cancel: threading.Event | None = None) -> Spectrum:
        return self.matrix_spectrum(cancel)

    def reference_singular_values(self) -> np.ndarray:
        """σ of M, descending (what ``torch.linalg.svdvals`` returns)."""
        return self._memo(
            "svdvals", lambda: readonly(np.linalg.svd(self.factored, compute_uv=False))
        )

    def solve(self, cancel: threading.Event | None = None) -> np.ndarray:
        check_cancel(cancel)
        return self._memo("svd:M", self._svd)[1]

    def exact(self) -> np.ndarray:
        return self.solve()

    def singular_values(self, x: np.ndarray) -> np.ndarray:
        """d² of rows of unknowns, each row sorted descending: shape (k, q)."""
        _, d, _ = self.split(x)
        return -np.sort(-(d * d), axis=1)

    def singular_value_errors(self, x: np.ndarray) -> np.ndarray:
        """‖sorted d² − σ‖ per row of unknowns."""
        with np.errstate(all="ignore"):
            return np.linalg.norm(
                self.singular_values(x) - self.reference_singular_values(), axis=1
            )

    def orthogonality_errors(self, x: np.ndarray) -> tuple[float, float]:
        """(‖UᵀU − I‖, ‖VVᵀ − I‖), Frobenius, of one point."""
        u, _, v = self.split(x)
        eye = np.eye(self.pq[1])
        with np.errstate(all="ignore"):
            return (
                float(np.linalg.norm(u[0].T @ u[0] - eye)),
                float(np.linalg.norm(v[0] @ v[0].T - eye)),
            )

    def reconstruction(self, x: np.ndarray) -> np.ndarray:
        """U diag(d²) Vᵀ of one point, in M's shape."""
        u, d, v = self.split(x)
        with np.errstate(all="ignore"):
            f = (u[0] * (d[0] * d[0])) @ v[0].T
        return f.T if self.transposed else f

    def residual_np(self, x: np.ndarray) -> np.ndarray:
        """Rows of the weighted residual whose sum of squares is the svd_mse loss."""
        u, d, v = self.split(x)
        p, q = self.pq
        eye = np.eye(q)
        with np.errstate(all="ignore"):
            rec = (u * (d * d)[:, None, :]) @ np.swapaxes(v, 1, 2) - self.factored
            ortho_u = np.swapaxes(u, 1, 2) @ u - eye
            ortho_v = v @ np.swapaxes(v, 1, 2) - eye
            k = rec.shape[0]
            return np.concatenate(
                [
                    rec.reshape(k, -1) / np.sqrt(p * q),
                    ortho_u.reshape(k, -1) / np.sqrt(100 * q * q),
                    ortho_v.reshape(k, -1) / np.sqrt(100 * q * q),
                ],
                axis=1,
            )

    def bind(self, device: torch.device, dtype: torch.dtype) -> BoundProblem:
        import torch

        p, q = self.pq
        # The private (writable) copy: torch warns on sharing a read-only array.
        stored = torch.from_numpy(self._store["M"])
        f = (stored.T if self.transposed else stored).to(device=device, dtype=dtype).contiguous()
        eye = torch.eye(q, dtype=dtype, device=device)
        w_rec, w_orth = (p * q) ** -0.5, (100 * q * q) ** -0.5

        def res(x: torch.Tensor) -> torch.Tensor:
            u = x[: p * q].reshape(p, q)
            d = x[p * q : p * q + q]
            v = x[p * q + q :].reshape(q, q)
            return torch.cat(
                [
                    ((u * (d * d)) @ v.T - f).reshape(-1) * w_rec,
                    (u.T @ u - eye).reshape(-1) * w_orth,
                    (v @ v.T - eye).reshape(-1) * w_orth,
                ]
            )

        return BoundProblem(residual=res, tensors={"M": f, "eye": eye})
