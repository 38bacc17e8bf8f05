"""What every problem shares: private copies of its arrays shown read-only (one copy for all
the problems built from the same array), a cache of what is derived from them, the
spectrum of an array (exact or estimated, resumable after a cancel), and the bound form a
run evaluates on a device."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from solver.core.errors import check_cancel
from solver.matrices.sparseio import is_sparse
from solver.matrices.spectra import (
    FULL_SVD_LIMIT,
    Spectrum,
    estimate_sigma_max,
    estimate_sigma_min,
    readonly,
)

if TYPE_CHECKING:
    import threading

    import torch


# The read-only views problems hand out, by id. A problem built from another's array shares
# it: a parameter change or a kind switch copies no large matrix, and ``new.A is old.A``
# tells that an array did not change.
_SHOWN: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()


def was_shown(value: object) -> bool:
    """Whether ``value`` is an array a problem showed, which a new problem may share as is."""
    return _SHOWN.get(id(value)) is value


def mark_shown(value: object) -> None:
    """Let later problems share ``value`` (a sparse matrix a problem holds as is)."""
    _SHOWN[id(value)] = value


def _owned(value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A private C-ordered copy of ``value`` and a read-only view of it (or, for a view
    another problem showed, that problem's pair).

    The copy stays writable only so that torch can share its memory (``torch.from_numpy``
    warns on read-only arrays, and a copy per run would double the memory of a large matrix
    for every run compared on it); nothing writes to it.
    """
    if isinstance(value, np.ndarray) and was_shown(value):
        return value.base, value
    store = np.array(value, dtype=np.float64, order="C")
    view = readonly(store.view())
    _SHOWN[id(view)] = view
    return store, view


class ProblemBase:
    """Private arrays shown read-only, and a cache of what is derived from them."""

    kind: ClassVar[str]

    def __setattr__(self, name: str, value: object) -> None:
        # Only the constructor's private state is ever set; a problem shared by sessions and
        # runs must not change under them.
        if not name.startswith("_"):
            raise AttributeError(f"{type(self).__name__} never changes; build a new one")
        object.__setattr__(self, name, value)

    def _keep(self, **arrays: np.ndarray) -> None:
        if not hasattr(self, "_store"):
            self._store: dict[str, np.ndarray] = {}
            self._shown: dict[str, np.ndarray] = {}
            self._cache: dict[str, object] = {}
        for key, value in arrays.items():
            self._store[key], self._shown[key] = _owned(value)

    @property
    def sparse(self) -> bool:
        """Whether the matrix is held sparse (scipy CSR): never formed dense."""
        return False

    @property
    def entries(self) -> int:
        """The matrix's stored entries (its nonzeros when sparse): the work of one product."""
        m = self.matrix()
        return int(m.nnz if is_sparse(m) else m.size)

    def _memo(self, key: str, compute: Callable[[], object]) -> object:
        """``compute()`` once. Only a finished value is kept: a computation that raised (a
        cancelled one) leaves nothing behind."""
        try:
            return self._cache[key]
        except KeyError:
            pass
        value = compute()
        self._cache[key] = value
        return value

    def derived(self) -> dict[str, object]:
        """What has been derived from the arrays so far, by name: finished values only
        (``solver.insight.analysis_cache`` keeps them across processes)."""
        return dict(self._cache)

    def adopt(self, values: dict[str, object]) -> None:
        """Take values derived earlier from these same arrays (``solver.insight.analysis_cache``
        checks that they are); a value derived here already is kept."""
        for key, value in values.items():
            self._cache.setdefault(key, value)

    def _spectrum_of(
        self, key: str, svd: Callable[[], tuple[Spectrum, object]], cancel: threading.Event | None
    ) -> Spectrum:
        """Singular values of array ``key``: all of them from one SVD when affordable, else
        the largest by power iteration and, for a square matrix, the smallest by inverse
        iteration. Each finished estimate is kept on its own, so an analysis cancelled
        between them resumes where it stopped."""
        a = self._shown[key]
        if min(a.shape) <= FULL_SVD_LIMIT and not is_sparse(a):
            check_cancel(cancel)
            return self._memo(f"svd:{key}", svd)[0]
        smax, smax_err = self._memo(f"sigma_max:{key}", lambda: estimate_sigma_max(a, cancel))
        smin, smin_err = float("nan"), None
        if a.shape[0] == a.shape[1]:
            smin, smin_err = self._memo(f"sigma_min:{key}", lambda: estimate_sigma_min(a, cancel))
        return Spectrum(
            smax, smin, smin if smin > 0 else None, None, None, False, smax_err, smin_err
        )


@dataclass
class BoundProblem:
    """A problem's residual as torch functions on one device and dtype."""

    residual: Callable[[torch.Tensor], torch.Tensor]
    tensors: dict[str, torch.Tensor]
