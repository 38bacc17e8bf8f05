"""The fast path's chunk functions: plain gd's updates as TorchScript, which runs in C++ and
lets go of the GIL for the whole call (``solver.run.fastpath`` says when they are used).

``gd_chunk`` does the loop's updates (``engine.Run``) — one forward and one autograd backward
each, the same torch operations in the same order, so the numbers are bit for bit the
loop's; ``sparse_gd_chunk`` a sparse system's, the gradient written out. TorchScript compiles
from the ``.py`` source, so each is scripted lazily (on first use, once per process) and a
frozen app must ship this file as source (see ``build.spec``; ``--self-test`` checks it). If
scripting fails for any reason, ``chunk_function()`` returns None for good,
``unavailable_reason`` says why, and the engine keeps its Python loop.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable

import torch
from torch import Tensor

from solver.matrices import kernels

# Why the fast path is off in this process (None while it is on, or not yet tried).
unavailable_reason: str | None = None

# (a, b, x, xd, loss, lr, kind, tol, steps, rows) -> (new losses, last loss): gd_chunk's.
ChunkFn = Callable[..., tuple[list[float], Tensor]]

_lock = threading.Lock()

# The loss kinds ``_loss`` computes (solver.run.fastpath's codes): half sum of squares, sum of
# squares, mean of squares, ‖r‖.
LOSS_KINDS = (0, 1, 2, 3)


def _loss(r: Tensor, kind: int) -> Tensor:
    # Term for term solver.problems.losses: a different expression would round differently.
    if kind == 3:
        return torch.linalg.vector_norm(r)
    f = r.reshape(-1)
    if kind == 0:
        return 0.5 * torch.dot(f, f)
    if kind == 1:
        return torch.dot(f, f)
    return torch.dot(f, f) / f.numel()


def _ends(v: float, tol: float) -> bool:
    # The engine's stop rules on a loss (``solver.run.stops.eager_stop``, less the divergence
    # watch, which the engine feeds a chunk's losses after it): one home for the chunks'.
    return not math.isfinite(v) or (tol > 0 and v < tol)


def gd_chunk(
    a: Tensor,
    b: Tensor,
    x: Tensor,
    xd: Tensor,
    loss: Tensor,
    lr: float,
    kind: int,
    tol: float,
    steps: int,
    rows: Tensor,
) -> tuple[list[float], Tensor]:
    """Up to ``steps`` updates ``x <- x - lr * grad(loss)``; returns each new loss and the last
    loss tensor (with its graph, for the next update).

    ``x`` is the leaf that requires grad and ``loss`` its loss at the current point; ``xd`` is
    ``x.detach()`` (the same storage, updated in place). Row ``i`` of ``rows`` receives the
    point after update ``i``. Stops after the first loss that is not finite or is below
    ``tol`` (when ``tol > 0``), that update included, as the engine's stop rules do.
    """
    out: list[float] = []
    for i in range(steps):
        g = torch.autograd.grad([loss], [x])[0]
        assert g is not None
        xd.sub_(g, alpha=lr)
        loss = _loss(torch.mv(a, x) - b, kind)
        v = float(loss.item())
        out.append(v)
        rows[i].copy_(xd)
        if _ends(v, tol):
            break
    return out, loss


def dense_gd_chunk(
    a: Tensor,
    at: Tensor,
    b: Tensor,
    xd: Tensor,
    r: Tensor,
    lr: float,
    kind: int,
    tol: float,
    steps: int,
    rows: Tensor,
) -> tuple[list[float], Tensor]:
    """``gd_chunk`` for a dense ``A`` whose backward multiplies by ``at``, a row-major copy of
    Aᵀ (``kernels.dense_operator``): up to ``steps`` updates from ``xd``, whose residual is
    ``r``; returns each new loss and the last residual.

    The loop's backward is the operator's: autograd's gradient of the loss at the residual,
    then ``Aᵀ`` times it. So is this one's, the loss differentiated at the residual by
    autograd (every loss kind, in the loop's operations), then ``at`` times that: the loop's
    numbers bit for bit."""
    out: list[float] = []
    r = r.detach().requires_grad_(True)
    loss = _loss(r, kind)
    for i in range(steps):
        g = torch.autograd.grad([loss], [r])[0]
        assert g is not None
        xd.sub_(torch.mv(at, g), alpha=lr)
        r = (torch.mv(a, xd) - b).requires_grad_(True)
        loss = _loss(r, kind)
        v = float(loss.item())
        out.append(v)
        rows[i].copy_(xd)
        if _ends(v, tol):
            break
    return out, r.detach()


def sparse_gd_chunk(
    a: Tensor,
    at: Tensor,
    b: Tensor,
    xd: Tensor,
    r: Tensor,
    exact: Tensor,
    cols: Tensor,
    lr: float,
    kind: int,
    offset: float,
    tol: float,
    steps: int,
    rows: Tensor,
    norms: Tensor,
) -> tuple[list[float], Tensor]:
    """``gd_chunk`` for a sparse ``A`` (torch CSR, ``at`` its transpose): up to ``steps``
    updates from ``xd``, whose residual is ``r``; returns each new loss and the last residual.

    TorchScript's autograd through a CSR product transposes the matrix on every backward
    (~130 ms on the 100,000-unknown preset), so the gradient is autograd's own expression
    written out, in its order of operations, giving the loop's numbers bit for bit: for
    ``c·f·f`` (f = r) autograd sends ``f·c + f·c`` to the product's adjoint; for the energy,
    ``½(r − b)`` on the direct path plus ``Aᵀ(½x)``. Row ``i`` of ``rows`` receives the
    tracked unknowns ``cols`` after update ``i``, row ``i`` of ``norms`` (‖r‖, ‖x − x*‖).
    """
    out: list[float] = []
    n = r.numel()
    c = 0.5 if kind == 0 else (1.0 if kind == 1 else 1.0 / n)
    for i in range(steps):
        if kind == 4:
            g = torch.mv(at, 0.5 * xd) + 0.5 * (r - b)
        else:
            h = r * c
            g = torch.mv(at, h + h)
        xd.sub_(g, alpha=lr)
        r = torch.mv(a, xd) - b
        if kind == 4:
            loss = 0.5 * torch.dot(xd, r - b) + offset
        else:
            loss = _loss(r, kind)
        v = float(loss.item())
        out.append(v)
        rows[i].copy_(xd.index_select(0, cols))
        norms[i, 0] = torch.linalg.vector_norm(r)
        norms[i, 1] = torch.linalg.vector_norm(xd - exact)
        if _ends(v, tol):
            break
    return out, r


def _script(fn: Callable, check: Callable[[Callable], None]) -> Callable:
    with warnings.catch_warnings():
        # torch 2.13 deprecates torch.jit.script in favour of torch.compile, which has no
        # GIL-free CPU interpreter to offer here; the notice says nothing to a user.
        warnings.filterwarnings(
            "ignore", message=r"`torch\.jit\.script` is deprecated", category=DeprecationWarning
        )
        scripted = torch.jit.script(fn)
    check(scripted)
    return scripted


def _self_check(fn: ChunkFn) -> None:
    """Run a few updates both ways on a tiny system: a scripted function that disagrees with
    the Python one is not used. It also warms the profiling executor up, off a user's run."""
    results = []
    for f in (gd_chunk, fn):
        a = torch.tensor([[2.0, 1.0], [0.5, 3.0]], dtype=torch.float64)
        b = torch.tensor([1.0, -1.0], dtype=torch.float64)
        x = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        rows = torch.empty(4, 2, dtype=torch.float64)
        loss = _loss(torch.mv(a, x) - b, 0)
        for _ in range(3):  # the profiling executor optimises on a later call than the first
            losses, loss = f(a, b, x, x.detach(), loss, 0.01, 0, 0.0, 4, rows)
        results.append((losses, rows.tolist()))
    if results[0] != results[1]:
        raise RuntimeError("the scripted chunk disagreed with the Python one")


def _dense_self_check(fn: Callable) -> None:
    """``_self_check`` for the chunk on a copy of Aᵀ, each loss kind on a tiny system."""
    a = torch.tensor([[2.0, 1.0], [0.5, 3.0]], dtype=torch.float64)
    b = torch.tensor([1.0, -1.0], dtype=torch.float64)
    for kind in LOSS_KINDS:
        results = []
        for f in (dense_gd_chunk, fn):
            x = torch.zeros(2, dtype=torch.float64)
            rows = torch.empty(4, 2, dtype=torch.float64)
            r = torch.mv(a, x) - b
            for _ in range(3):  # as _self_check: past the profiling executor's first calls
                losses, r = f(a, a.T.contiguous(), b, x, r, 0.01, kind, 0.0, 4, rows)
            results.append((losses, rows.tolist()))
        if results[0] != results[1]:
            raise RuntimeError("the scripted dense chunk disagreed with the Python one")


def _sparse_self_check(fn: Callable) -> None:
    """``_self_check`` for the sparse chunk, each loss kind on a tiny CSR system."""
    a = torch.tensor([[2.0, 1.0], [0.5, 3.0]], dtype=torch.float64)
    with kernels.csr_quiet():
        csr, csr_t = a.to_sparse_csr(), a.T.contiguous().to_sparse_csr()
    b = torch.tensor([1.0, -1.0], dtype=torch.float64)
    cols, exact = torch.tensor([1, 0]), torch.tensor([0.4, -0.4], dtype=torch.float64)
    for kind in (0, 1, 2, 4):
        results = []
        for f in (sparse_gd_chunk, fn):
            x = torch.zeros(2, dtype=torch.float64)
            rows, norms = (torch.empty(4, 2, dtype=torch.float64) for _ in range(2))
            r = torch.mv(csr, x) - b
            for _ in range(3):  # as _self_check: past the profiling executor's first calls
                args = (exact, cols, 0.01, kind, 0.3, 0.0, 4, rows, norms)
                losses, r = f(csr, csr_t, b, x, r, *args)
            results.append((losses, rows.tolist(), norms.tolist()))
        if results[0] != results[1]:
            raise RuntimeError("the scripted sparse chunk disagreed with the Python one")


class Scripted:
    """A chunk function scripted once per process, on the first call (thread-safe), and used
    only where it agrees with the Python one on a tiny system (``check``). Calling it gives
    the scripted function, or None when scripting failed in this process (``scripted`` and
    ``tried`` say so for tests; ``unavailable_reason`` says why): the loop, for good."""

    def __init__(self, fn: Callable, check: Callable[[Callable], None]) -> None:
        self.fn, self.check = fn, check
        self.tried = False
        self.scripted: Callable | None = None

    def __call__(self) -> Callable | None:
        global unavailable_reason
        if self.tried:
            return self.scripted
        with _lock:
            if not self.tried:
                try:
                    self.scripted = _script(self.fn, self.check)
                except Exception as exc:  # no source (frozen), a torch fault
                    self.scripted = None
                    unavailable_reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
                self.tried = True
        return self.scripted


chunk_function = Scripted(gd_chunk, _self_check)
sparse_chunk_function = Scripted(sparse_gd_chunk, _sparse_self_check)
dense_chunk_function = Scripted(dense_gd_chunk, _dense_self_check)
# Every chunk function, for a check that all of them script here (``--self-test``).
ALL = (chunk_function, sparse_chunk_function, dense_chunk_function)
