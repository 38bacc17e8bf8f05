"""What to solve: linear systems (any shape), matrix inverses and polynomial fits.

Every problem is linear in its unknowns: ``residual(x) = K(x) - target``. The analysis reads
``K`` through ``spectrum()``; the engine evaluates residuals through ``bind()`` on a device.

A problem never changes once built. It keeps private copies of its arrays (a caller's buffer,
say a table being edited, is neither aliased nor frozen) and shows them read-only. What is
costly to derive (singular values, the exact solution) is computed on first use and kept.

The long derivations take ``cancel`` (a ``threading.Event``) and check it between passes of
every iterative loop (``solver.matrices.spectra``). Cancelled, they raise ``errors.Cancelled``
and keep nothing, so a later call starts clean. Each of these remains one uninterruptible LAPACK
call: the full SVD (``min(shape) <= FULL_SVD_LIMIT``, about a second at 1200), the LU factorisation
before an inverse iteration, and the exact solution beyond the SVD limit
(``np.linalg.solve``, ``lstsq``, ``inv``).

torch and scipy are imported where they are used, so that describing a problem (the kinds
registry, sessions, the window's tables) does not load them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from solver.core.errors import InputError, check_cancel, short
from solver.matrices.matrixio import check_array
from solver.matrices.sparse_linalg import LSQR_TOL, lsqr_solve, sparse_lu, sparse_spd_refusal
from solver.matrices.sparseio import check_sparse, is_sparse
from solver.matrices.spectra import (
    FULL_SVD_LIMIT,
    Spectrum,
    power_sqrt,
    readonly,
    spd_refusal,
    svd_spectrum,
)

from .base import BoundProblem, ProblemBase, mark_shown, was_shown

if TYPE_CHECKING:
    import threading

    import torch

SIDES = ("left", "right", "both")


class LinearSystem(ProblemBase):
    """``A x = b`` for any m x n ``A``: square, least squares, or minimum norm."""

    kind: ClassVar[str] = "linear_system"

    def __init__(self, A: np.ndarray, b: np.ndarray) -> None:  # noqa: N803 - the maths' names
        sparse = is_sparse(A)
        if sparse:  # one another problem holds is shared, as dense views are (``_owned``)
            a = A if was_shown(A) else check_sparse(A, "problem.A")
        else:
            a = check_array(A, "problem.A", ndim=(2,))
        vec = check_array(b, "problem.b", ndim=(1, 2))
        if vec.ndim == 2:
            if 1 not in vec.shape:
                raise InputError("problem.b", f"expected a vector, got shape {vec.shape}")
            vec = vec.reshape(-1)
        if vec.shape[0] != a.shape[0]:
            raise InputError(
                "problem.b",
                f"has {vec.shape[0]} entries but A has {a.shape[0]} rows; they must match",
            )
        if sparse:  # check_sparse made it private and read-only already
            self._keep(b=vec)
            self._store["A"] = self._shown["A"] = a
            mark_shown(a)
        else:
            self._keep(A=a, b=vec)

    def __reduce__(self) -> tuple:
        return (LinearSystem, (self.A, self.b))

    def __repr__(self) -> str:
        held = f", sparse with {self.A.nnz:,} entries" if self.sparse else ""
        return f"{type(self).__name__}(A: {self.A.shape}{held})"

    @property
    def A(self) -> np.ndarray:  # noqa: N802 - the maths' name
        """The matrix, read-only: an ndarray, or a scipy CSR array when ``sparse``."""
        return self._shown["A"]

    @property
    def sparse(self) -> bool:
        return is_sparse(self._store["A"])

    @property
    def b(self) -> np.ndarray:
        return self._shown["b"]

    @property
    def unknown_shape(self) -> tuple[int, ...]:
        return (self.A.shape[1],)

    @property
    def n_residuals(self) -> int:
        return self.A.shape[0]

    def unknown_names(self) -> list[str]:
        # kept: 100,000 of them take 16 ms, and the window asks more than once per run; the
        # caller gets its own list (a copy is 0.5 ms)
        return list(self._memo("names", lambda: [f"x{i + 1}" for i in range(self.A.shape[1])]))

    def matrix(self) -> np.ndarray:
        """The matrix whose shape, rank and condition the user is shown."""
        return self.A

    def _svd_and_solution(self) -> tuple[Spectrum, np.ndarray]:
        # The minimum-norm least-squares solution comes with the SVD at the cost of two
        # mat-vecs, so the factors (two n x n matrices) need not be kept for it.
        spec, (u, s, vt) = svd_spectrum(self.A)
        r = spec.rank or 0
        return spec, readonly(vt[:r].T @ ((u[:, :r].T @ self.b) / s[:r]))

    def spectrum(self, cancel: threading.Event | None = None) -> Spectrum:
        """Singular values of A (the operator of this problem)."""
        return self._spectrum_of("A", self._svd_and_solution, cancel)

    def matrix_spectrum(self, cancel: threading.Event | None = None) -> Spectrum:
        return self.spectrum(cancel)

    def solve(self, cancel: threading.Event | None = None) -> np.ndarray:
        """The reference answer: the solution, or the minimum-norm least-squares solution."""
        if self.sparse:
            check_cancel(cancel)
            return self._memo("exact", lambda: self._solve_sparse(cancel))[0]
        if min(self.A.shape) <= FULL_SVD_LIMIT:
            check_cancel(cancel)
            return self._memo("svd:A", self._svd_and_solution)[1]
        check_cancel(cancel)
        return self._memo("exact", self._solve_large)

    def _solve_large(self) -> np.ndarray:
        if self.A.shape[0] == self.A.shape[1]:
            try:
                return readonly(np.linalg.solve(self.A, self.b))
            except np.linalg.LinAlgError:
                pass
        return readonly(np.linalg.lstsq(self.A, self.b, rcond=None)[0])

    def _solve_sparse(self, cancel: threading.Event | None) -> tuple[np.ndarray, str]:
        """A sparse system's reference and how it was found: one sparse LU when A is square
        and not singular, else LSQR from zero (the minimum-norm least-squares solution)."""
        a, b = self.A, self.b
        if a.shape[0] == a.shape[1]:
            try:
                x = sparse_lu(a).solve(b)
                if np.isfinite(x).all():
                    return readonly(x), "sparse LU (SuperLU)"
            except RuntimeError:  # exactly singular: least squares below
                pass
        check_cancel(cancel)
        x = lsqr_solve(a, b, cancel)
        return readonly(x), f"LSQR to {LSQR_TOL:g}"

    def solve_method(self) -> str:
        """How ``solve()`` finds the reference, in a few words (shown with the analysis)."""
        if self.sparse:
            return self._memo("exact", lambda: self._solve_sparse(None))[1]
        if min(self.A.shape) <= FULL_SVD_LIMIT:
            return "SVD (LAPACK)"
        square = self.A.shape[0] == self.A.shape[1]
        return "LU (LAPACK)" if square else "least squares (LAPACK)"

    @property
    def exact(self) -> np.ndarray:
        """``solve()``: the exact reference, read-only."""
        return self.solve()

    def spd_refusal(self) -> str | None:
        """Why the energy loss does not apply to A (not square, symmetric or positive
        definite), or None when it does. Computed once: a Cholesky factorisation (a sparse
        LU with diagonal pivots when sparse)."""
        check = sparse_spd_refusal if self.sparse else spd_refusal
        return self._memo("spd", lambda: check(self.A))

    def residual_np(self, x: np.ndarray) -> np.ndarray:
        """Residuals of a batch of unknowns (rows of ``x``), in numpy."""
        return x @ self.A.T - self.b

    def bind(self, device: torch.device, dtype: torch.dtype) -> BoundProblem:
        import torch

        from solver.matrices import kernels

        if self.sparse:
            b = torch.from_numpy(self._store["b"]).to(device=device, dtype=dtype)
            matvec, csr = kernels.sparse_operator(self._store["A"], device, dtype)
            tensors = {"b": b} if csr is None else {"b": b, "A": csr[0], "At": csr[1]}
            return BoundProblem(residual=lambda x: matvec(x) - b, tensors=tensors)

        a = torch.from_numpy(self._store["A"]).to(device=device, dtype=dtype).contiguous()
        b = torch.from_numpy(self._store["b"]).to(device=device, dtype=dtype)
        matvec, at = kernels.dense_operator(a)
        tensors = {"A": a, "b": b} if at is None else {"A": a, "At": at, "b": b}
        return BoundProblem(residual=lambda x: matvec(x) - b, tensors=tensors)


def _flat(arr: np.ndarray) -> np.ndarray:
    return arr if arr.ndim == 1 else arr.reshape(-1)  # the same object when it can be


class Polyfit(LinearSystem):
    """Least-squares polynomial fit: coefficients, highest power first (as ``np.poly1d``)."""

    kind: ClassVar[str] = "polyfit"

    def __init__(self, x: np.ndarray, y: np.ndarray, degree: int) -> None:
        xs, ys = _flat(check_array(x, "problem.x")), _flat(check_array(y, "problem.y"))
        if (
            isinstance(degree, bool)
            or not isinstance(degree, int | np.integer)
            or not 0 <= degree < xs.size
        ):
            raise InputError(
                "problem.degree",
                f"expected an integer from 0 to {xs.size - 1} (below the {xs.size} samples), "
                f"got {short(degree)}",
            )
        if xs.shape != ys.shape:
            raise InputError("problem.y", f"has {ys.size} samples but x has {xs.size}")
        self._degree = int(degree)
        with np.errstate(over="ignore", invalid="ignore"):
            vander = np.vander(xs, self._degree + 1)
        if not np.isfinite(vander).all():
            i = int(np.argmax(~np.isfinite(vander).all(axis=1)))
            raise InputError(
                "problem.x",
                f"sample {i + 1} ({xs[i]:.3g}) to the power {self._degree} is beyond a float; "
                "rescale x or lower the degree",
            )
        super().__init__(vander, ys)
        self._keep(x=xs, y=ys)

    def __reduce__(self) -> tuple:
        return (Polyfit, (self.samples_x, self.samples_y, self.degree))

    @property
    def samples_x(self) -> np.ndarray:
        return self._shown["x"]

    @property
    def samples_y(self) -> np.ndarray:
        return self._shown["y"]

    @property
    def degree(self) -> int:
        return self._degree

    def unknown_names(self) -> list[str]:
        return [f"c{p}" for p in range(self.degree, -1, -1)]


class Inverse(ProblemBase):
    """Find ``X`` with ``X M = I`` (left), ``M X = I`` (right) or ``(XM + MX)/2 = I`` (both)."""

    kind: ClassVar[str] = "inverse"

    def __init__(self, M: np.ndarray, side: str = "left") -> None:  # noqa: N803
        m = check_array(M, "problem.M", ndim=(2,))
        if m.shape[0] != m.shape[1]:
            raise InputError("problem.M", f"must be square, got shape {m.shape}")
        if side not in SIDES:
            raise InputError("problem.side", f"unknown side {short(side)}; expected one of {SIDES}")
        self._side = side
        self._keep(M=m)
        spec = self.matrix_spectrum()
        if spec.sigma_min <= 0:
            rank = f"rank {spec.rank} < {self.n}" if spec.rank is not None else "rank"
            raise InputError("problem.M", f"is singular ({rank}); it has no inverse")

    def __reduce__(self) -> tuple:
        return (Inverse, (self.M, self.side))

    def __repr__(self) -> str:
        return f"Inverse(M: {self.M.shape}, side={self.side!r})"

    @property
    def M(self) -> np.ndarray:  # noqa: N802
        return self._shown["M"]

    @property
    def side(self) -> str:
        return self._side

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

    def matrix_spectrum(self, cancel: threading.Event | None = None) -> Spectrum:
        """Singular values of M."""
        # Only the singular values are kept: the factors would hold two more n x n matrices.
        return self._spectrum_of("M", lambda: (svd_spectrum(self.M)[0], None), cancel)

    def spectrum(self, cancel: threading.Event | None = None) -> Spectrum:
        """Singular values of the linear map X -> residual + I."""
        if self.side != "both":
            # X -> XM and X -> MX have M's singular values, each repeated n times.
            return self.matrix_spectrum(cancel)
        check_cancel(cancel)
        return self._memo("operator", lambda: self._both_sides_spectrum(cancel))

    def _both_sides_spectrum(self, cancel: threading.Event | None) -> Spectrum:
        n = self.n
        eye = np.eye(n)
        if n <= 24:
            # Row-major vec: vec(XM) = (I kron M^T) vec X, vec(MX) = (M kron I) vec X.
            k = 0.5 * (np.kron(eye, self.M.T) + np.kron(self.M, eye))
            return svd_spectrum(k)[0]
        m = self.M

        def normal_map(x: np.ndarray) -> np.ndarray:  # TᵀT for T(X) = (XM + MX) / 2
            y = 0.5 * (x @ m + m @ x)
            return 0.5 * (y @ m.T + m.T @ y)

        x0 = np.random.default_rng(0).standard_normal((n, n))
        smax = power_sqrt(normal_map, x0, 300, 1e-10, cancel)
        return Spectrum(float(smax), float("nan"), None, None, None, exact=False)

    def solve(self, cancel: threading.Event | None = None) -> np.ndarray:
        """M⁻¹, the exact answer for every side."""
        check_cancel(cancel)
        return self._memo("exact", lambda: readonly(np.linalg.inv(self.M)))

    @property
    def exact(self) -> np.ndarray:
        return self.solve()

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
        import torch

        m = torch.from_numpy(self._store["M"]).to(device=device, dtype=dtype)
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


Problem = LinearSystem | Inverse
