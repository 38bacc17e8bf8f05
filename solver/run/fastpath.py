"""Plain gradient descent on a linear system, a chunk of updates in one call without the GIL:
which runs take that path (``plan``), how long each chunk is, and how many threads it runs
on (``GdChunks``). The chunk functions themselves, TorchScript, are ``solver.run.scripted``.

At small n an update in the Python loop (``engine.Run``) is ~90 µs of Python that holds the
GIL for nearly all of it, so a GUI thread beside it gets the interpreter only at switch
intervals. A chunk does the same updates, the numbers bit for bit the loop's, with the GIL
let go for the whole call.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from solver.core.threads import ONE_THREAD_BELOW
from solver.core.threads import (
    use_threads as _use_threads,
)  # the run's own thread calls it, between chunks
from solver.matrices import kernels
from solver.problems.linear import LinearSystem
from solver.problems.losses import LOSSES, energy_offset

from .scripted import ChunkFn, chunk_function, dense_chunk_function, sparse_chunk_function

if TYPE_CHECKING:
    from solver.problems.base import BoundProblem
    from solver.sessions.session import Session


# Target length of one chunk: long enough that the Python around it, and the wait for the
# GIL after it while the window draws, are noise; short enough that a stop or pause request
# (read between chunks) waits a few ms at most.
CHUNK_SECONDS = 0.008
# Updates longer than this go one per chunk: the Python around one is then a small share
# (~40 µs), and a pause request (a frame parking the solver) waits one update, not several.
LONG_UPDATE_SECONDS = 0.0005

# Per thread: the torch threads it had before a chunk that shares a core
# (``GdChunks.share_core``) took it down to one; ``widen`` gives them back.
_before_sharing = threading.local()


def _narrow() -> None:
    if getattr(_before_sharing, "threads", None) is None:
        _before_sharing.threads = torch.get_num_threads()
    _use_threads(1)


def widen() -> None:
    """The calling thread back on the torch threads it had before chunks that shared a core
    (nothing otherwise: a count the caller set stays)."""
    threads = getattr(_before_sharing, "threads", None)
    if threads is not None:
        _before_sharing.threads = None
        _use_threads(threads)


def _averaged(old: float, new: float) -> float:
    return new if math.isinf(old) else 0.5 * old + 0.5 * new


class GdChunks:
    """One run's fast path: its ``A`` and ``b``, its loss, its block of rows, and how long an
    update has been taking (to size the next chunk)."""

    def __init__(self, a: Tensor, b: Tensor, loss_code: int, block: np.ndarray) -> None:
        self.a, self.b, self.loss_code = a, b, loss_code
        self.block = torch.from_numpy(block)  # the engine's block of rows, written in place
        # Unknown until the first chunk, which is one update: a guess too small made it 80
        # updates of 1 ms (the Poisson preset), a stall at the start of every run.
        self.update_seconds = math.inf
        self.shared_update_seconds = math.inf  # the same, of an update on one thread
        self.shared_updates = 0  # updates applied on one thread, a core left to another
        self._share_until = 0.0
        self._started: threading.Event | None = None  # set as a shared chunk begins
        self._sharing = False  # the chunk under way is on one thread
        self._shares: bool | None = None
        # Every chunk on one thread, frames or not (only where ``shares()``: the numbers are
        # the same): set while the machine leaves this process too few cores for two
        # threads to gain (``gui.worker.frame_mode``); the second would wait on the first.
        self.one_thread = False

    long_update = LONG_UPDATE_SECONDS  # updates longer than this go one per chunk

    def shares(self) -> bool:
        """Whether ``share_core`` may be used: torch has more than one thread here, and A's
        two products come out bit for bit alike on one thread and on all of them, so the
        run's numbers do not depend on when another thread asked for a core. (Not so for
        every shape: at n = 700 here Aᵀ r rounded differently.) Decided at the first call, a
        few mat-vecs: ask on the thread that runs the chunks."""
        return self.rounds_alike()

    def rounds_alike(self) -> bool:
        """torch has more than one thread here, and A's two products come out bit for bit
        alike on one thread and on all of them (decided at the first call, a few mat-vecs)."""
        if self._shares is None:
            self._shares = torch.get_num_threads() > 1 and kernels.same_on_one_thread(
                self.a, self._transposed()
            )
        return self._shares

    def _transposed(self) -> Tensor:
        return self.a.T

    def follow(self, spare: float) -> bool:
        """The run's own thread, between chunks: every chunk on one thread while the other
        processes leave fewer than ``ONE_THREAD_BELOW`` cores free (``spare``), on all of
        them otherwise; only where that changes no number (``rounds_alike``). Returns
        ``one_thread``. For a run that no window paces (the headless runner)."""
        self.one_thread = spare < ONE_THREAD_BELOW and self.rounds_alike()
        # No window parks such a run for its frames: chunks of CHUNK_SECONDS, however long an
        # update. One update per chunk cost a fifth of the speed at n = 1000 on one thread
        # (0.68 ms an update, over LONG_UPDATE_SECONDS: 1,160 updates a second against 1,480).
        self.long_update = math.inf
        return self.one_thread

    @property
    def share_until(self) -> float:
        """Until when (``time.perf_counter``) chunks share a core; 0: they do not."""
        return self._share_until

    def share_core(self, until: float, started: threading.Event | None = None) -> None:
        """Any thread: until ``until`` (``time.perf_counter``), chunks run on one thread and
        last about until then, leaving the other cores to the caller; ``started`` is set as
        such a chunk begins (or would: a run between chunks may not be back for a while).
        0 ends it at the next chunk. Only where ``shares()``."""
        self._started = started
        self._share_until = until

    def size(self, limit: int, deadline: float | None) -> int:
        """Updates in the next chunk: about CHUNK_SECONDS, within ``limit`` (>= 1) and not
        far past ``deadline``; while sharing a core, until the sharing ends. On one thread
        while sharing or while ``one_thread`` says so."""
        now = time.perf_counter()
        framing = self._share_until > now
        self._sharing = framing or self.one_thread
        if not self._sharing:
            widen()
            per = self.update_seconds
        else:
            _narrow()
            per = self.shared_update_seconds
            if math.isinf(per):
                per = 2 * self.update_seconds  # about one thread's speed out of two
        if framing:
            if self._started is not None:
                self._started.set()
            if math.isinf(per):
                return 1  # the first chunk of a run: one update, as ever
            # Past the slice's deadline if need be: a chunk cut short would want the GIL
            # back while the other thread (a window's frame) holds it.
            return max(1, math.ceil(min((self._share_until - now) / per, limit)))
        k = min(limit, 1 if per > self.long_update else max(1, int(CHUNK_SECONDS / per)))
        if deadline is not None:
            left = deadline - time.perf_counter()
            k = min(k, max(1, math.ceil(left / per)))
        return k

    @staticmethod
    def function() -> ChunkFn | None:
        """The scripted chunk these chunks call, None when scripting failed here."""
        return chunk_function()

    def take_norms(self) -> Tensor | None:
        """The (‖r‖, ‖x − x*‖) rows of the last chunk; None: the engine computes its own."""
        return None

    def apply(
        self,
        fn: ChunkFn,
        x: Tensor,
        xd: Tensor,
        loss: Tensor,
        lr: float,
        tol: float,
        k: int,
        row: int,
    ) -> tuple[list[float], Tensor]:
        """``fn``'s updates from ``x`` (its loss ``loss``), rows into the block from ``row``."""
        t = time.perf_counter()
        out = fn(
            self.a, self.b, x, xd, loss, float(lr), self.loss_code, float(tol), k, self.block[row:]
        )
        self._timed(time.perf_counter() - t, len(out[0]))
        return out

    def _timed(self, seconds: float, updates: int) -> None:
        per = seconds / updates
        # Averaged: a chunk slowed by a busy neighbour does not halve the next one.
        if self._sharing:
            self.shared_updates += updates
            self.shared_update_seconds = _averaged(self.shared_update_seconds, per)
        else:
            self.update_seconds = _averaged(self.update_seconds, per)


class _KeptResidualChunks(GdChunks):
    """Chunks whose function writes the gradient out from the residual (``dense_gd_chunk``,
    ``sparse_gd_chunk``): ``A``'s transpose ``at`` beside ``A``, and the residual at the
    current point kept from chunk to chunk (found again when ``x`` changed in between, as a
    loop update changes it). The loss returned is the last one's value, without a graph: the
    loop, taking over, finds its own."""

    def __init__(self, a: Tensor, at: Tensor, b: Tensor, loss_code: int, block: np.ndarray) -> None:
        super().__init__(a, b, loss_code, block)
        self.at = at
        self._r: Tensor | None = None
        self._version = -1

    def _transposed(self) -> Tensor:
        return self.at

    def _call(
        self, fn: Callable, xd: Tensor, lr: float, tol: float, k: int, row: int
    ) -> tuple[list[float], Tensor]:
        """``fn`` from ``xd`` and the kept residual ``self._r``: (losses, the new residual)."""
        raise NotImplementedError

    def apply(
        self, fn: Callable, x: Tensor, xd: Tensor, loss: Tensor, lr: float, tol: float, k: int,
        row: int,
    ) -> tuple[list[float], Tensor]:  # fmt: skip
        """As ``GdChunks.apply``; the loss returned has no graph."""
        if self._r is None or xd._version != self._version:
            self._r = torch.mv(self.a, xd) - self.b
        t = time.perf_counter()
        out, self._r = self._call(fn, xd, float(lr), float(tol), k, row)
        self._version = xd._version
        self._timed(time.perf_counter() - t, len(out))
        return out, torch.tensor(out[-1], dtype=self.b.dtype)


class CopiedGdChunks(_KeptResidualChunks):
    """The fast path of a dense run whose backward multiplies by a row-major copy of Aᵀ
    (``kernels.dense_operator``; ``dense_gd_chunk``)."""

    @staticmethod
    def function() -> Callable | None:
        return dense_chunk_function()

    def _call(
        self, fn: Callable, xd: Tensor, lr: float, tol: float, k: int, row: int
    ) -> tuple[list[float], Tensor]:
        return fn(
            self.a, self.at, self.b, xd, self._r, lr, self.loss_code, tol, k, self.block[row:]
        )


class SparseGdChunks(_KeptResidualChunks):
    """The fast path of a sparse run (``sparse_gd_chunk``): its CSR ``A`` and ``Aᵀ``, its
    reference ``x*`` and tracked unknowns, whose rows and norms the chunk writes."""

    # Several updates of ~1 ms a chunk: the Python around a chunk here (the norms, the loss)
    # is ~0.2 ms, too much to pay for each; a pause still waits CHUNK_SECONDS at most.
    long_update = math.inf

    def shares(self) -> bool:
        # torch's CSR products on one thread beside a frame were not measured: such runs
        # are parked for frames, as before.
        return False

    def __init__(
        self, a: Tensor, at: Tensor, b: Tensor, loss_code: int, offset: float,
        block: np.ndarray, exact: Tensor, cols: np.ndarray,
    ) -> None:  # fmt: skip
        super().__init__(a, at, b, loss_code, block)
        self.offset, self.exact = offset, exact
        self.cols = torch.from_numpy(np.asarray(cols, dtype=np.int64))
        self.norms = torch.empty(len(block), 2, dtype=torch.float64)
        self._taken = 0

    @staticmethod
    def function() -> Callable | None:
        return sparse_chunk_function()

    def take_norms(self) -> Tensor | None:
        return self.norms[: self._taken].clone()

    def _call(
        self, fn: Callable, xd: Tensor, lr: float, tol: float, k: int, row: int
    ) -> tuple[list[float], Tensor]:
        out, r = fn(
            self.a, self.at, self.b, xd, self._r, self.exact, self.cols, lr, self.loss_code,
            self.offset, tol, k, self.block[row:], self.norms,
        )  # fmt: skip
        self._taken = len(out)
        return out, r


def plan(
    session: Session,
    device: torch.device,
    lazy: bool,
    bound: BoundProblem,
    block: np.ndarray,
    narrow: tuple[Tensor, np.ndarray] | None = None,
) -> GdChunks | None:
    """The fast path for a run, where it gives the run exactly (the same numbers, the same
    stops): plain gd on ``A x - b`` with torch's own mat-vec, on the CPU, eager, and a loss
    with a ``fast_code`` (``solver.problems.losses.Loss``); for a sparse ``A``, a run recording
    (``narrow``: x* and the tracked unknowns) the norms and tracked unknowns only, and a loss
    with a ``sparse_code``. None elsewhere.
    """
    problem = session.problem
    if not (
        session.optimizer == "gd"
        and device.type == "cpu"
        and not lazy
        and isinstance(problem, LinearSystem)
        # Polyfit is a LinearSystem with a Vandermonde A; a subclass binding a residual of
        # its own would not be A x - b.
        and type(problem).bind is LinearSystem.bind
    ):
        return None
    if problem.sparse:
        return _plan_sparse(session, bound, block, narrow)
    code = LOSSES[session.loss].fast_code
    if code is None:
        return None
    a, b = bound.tensors["A"], bound.tensors["b"]
    if "At" in bound.tensors:  # the product is the operator with a copy of Aᵀ (kernels)
        return CopiedGdChunks(a, bound.tensors["At"], b, code, block)
    # Where kernels chose numpy's BLAS for this matrix (once per process and dtype) the chunk,
    # on torch.mv, would round differently. Large matrices on torch.mv keep the fast path: with
    # the same mat-vecs on both sides it measured 1.16x the loop at n = 1000, 1.05x at 2000
    # and 1.01x at 4000 (medians of 15 paired rounds), never slower.
    if not a.is_contiguous() or getattr(kernels.matvec_for(a), "func", None) is not torch.mv:
        return None
    return GdChunks(a, b, code, block)


def _plan_sparse(
    session: Session, bound: BoundProblem, block: np.ndarray, narrow: tuple | None
) -> SparseGdChunks | None:
    # Where scipy does the products (kernels chose it) the chunk, on torch's, would round
    # differently. The sparse chunk writes each loss's gradient out (``sparse_code``).
    code = LOSSES[session.loss].sparse_code
    if code is None or narrow is None or "At" not in bound.tensors:
        return None
    t = bound.tensors
    if t["b"].dtype != torch.float64:
        return None
    offset = energy_offset(session.problem) if session.loss == "energy" else 0.0
    return SparseGdChunks(t["A"], t["At"], t["b"], code, offset, block, *narrow)
