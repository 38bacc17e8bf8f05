"""The linear system's matrix-vector product, on the faster of the two BLAS libraries here.

torch (CPU wheel) multiplies with its bundled MKL; numpy with its OpenBLAS. For a large
float matrix an iteration is two mat-vecs (``A x`` forward, ``Aᵀ r`` backward) and nothing
else, so their speed is the engine's speed — and the two libraries differ: on the AMD EPYC
this was measured on, OpenBLAS did the pair 1.45x faster than MKL. So for big matrices on the
CPU both are timed once per process (per dtype) and the faster one is used. The numpy path is
an autograd Function (``_OperatorMatVec``: forward ``A x``, backward ``Aᵀ g``): gradients
flow through autograd. A sparse matrix is treated alike, between scipy and torch's CSR.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import numpy as np
import torch

from solver.core.threads import use_threads
from solver.settings.precisions import numpy_of

# Below this many entries a mat-vec is cheaper than the Python around it: torch.mv always.
MEASURE_MIN_ENTRIES = 250_000
# numpy must do the pair in under this share of torch's time to be chosen. Not just for the
# timings' noise: torch's product is what lets a run take the GIL-free chunks
# (solver.run.fastpath) that share a core with each of the window's frames instead of being
# parked for it (n = 2000: 36-47 redraws a second against 11-21 parked). At 0.9 the near tie
# of the two at n = 2000 here went to numpy in about one process in three. An OpenBLAS that
# does large pairs 1.45x faster than MKL (an AMD EPYC) now gives torch's too: headless large
# dense runs there are up to that much slower, the window smooth.
MARGIN = 0.6
REPS = 5  # timed pairs per library at least, the fastest counts
SETTLE_SECONDS = 0.15  # numpy's threads stop spinning meanwhile
TORCH_SECONDS = 0.03  # torch's pairs are timed for this long at least


def host_matvec(a: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x -> A x`` on numpy's BLAS for a CPU tensor ``a``, differentiated through ``Aᵀ g``."""
    an = a.numpy()
    # an.T of a C-ordered array is a transposed BLAS call, not a copy
    return partial(
        _apply_operator,
        forward=lambda x: torch.from_numpy(an @ x.numpy()),
        adjoint=lambda g: torch.from_numpy(an.T @ g.numpy()),
    )


# dtype -> numpy is faster: decided once per process, so every run (a headless one and the
# window's, built while the GUI draws) uses the same library, whatever the noise then. An
# entry set beforehand decides instead (the tests choose a library so).
NUMPY_FASTER: dict[torch.dtype, bool] = {}


def _dense_pairs(a: torch.Tensor) -> dict[str, Callable[[], object]]:
    """One ``A x`` and ``Aᵀ r`` by each library, to be timed, torch's first."""
    x = torch.ones(a.shape[1], dtype=a.dtype)
    r = torch.ones(a.shape[0], dtype=a.dtype)
    an, xn, rn = a.numpy(), x.numpy(), r.numpy()
    return {
        "torch": lambda: (torch.mv(a, x), torch.mv(a.T, r)),
        "numpy": lambda: (an @ xn, an.T @ rn),
    }


def numpy_is_faster(a: torch.Tensor) -> bool:
    """Whether numpy does ``A x`` and ``Aᵀ r`` clearly faster than torch here, in ``A``'s
    dtype: timed once per process (``NUMPY_FASTER``)."""
    if a.dtype not in NUMPY_FASTER:
        pairs = _dense_pairs(a)
        best = dict.fromkeys(pairs, float("inf"))
        # One library after the other, torch first, after a pause: numpy's threads spin
        # for ~0.1 s after a product (the analysis makes many), and a torch pair then ran on
        # one core, 11-17 ms instead of 0.9 here. Timed in alternating rounds, or right
        # after the analysis, the choice at n = 2000, where the two tie here, differed from
        # one process to the next: whether a run took the GIL-free chunks was a coin toss.
        time.sleep(SETTLE_SECONDS)
        for name, pair in pairs.items():
            pair(), pair()  # the first products are slow (threads starting)
            # torch's for a while too: another thread's numpy work can stall a few in a row
            end = time.perf_counter() + (TORCH_SECONDS if name == "torch" else 0.0)
            reps = 0
            while reps < REPS or time.perf_counter() < end:
                t0 = time.perf_counter()
                pair()
                best[name] = min(best[name], time.perf_counter() - t0)
                reps += 1
        NUMPY_FASTER[a.dtype] = best["numpy"] < MARGIN * best["torch"]
    return NUMPY_FASTER[a.dtype]


# A row-major copy of Aᵀ (``dense_operator``) doubles A's memory: not above this size of A.
TRANSPOSED_COPY_MAX_BYTES = 64 * 2**20
# None: the copy where it makes the products round alike on any thread count (measured);
# True or False: always (any CPU matrix on torch's product) or never, for tests.
TRANSPOSED_COPY: bool | None = None


def same_on_one_thread(a: torch.Tensor, at: torch.Tensor) -> bool:
    """Whether ``A x`` and ``Aᵀ r`` (``at``: Aᵀ, a view or a copy) come out bit for bit alike
    on one thread and on all of torch's, for random vectors."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(a.shape[1], dtype=a.dtype, generator=g)
    r = torch.randn(a.shape[0], dtype=a.dtype, generator=g)
    threads = torch.get_num_threads()
    wide = torch.mv(a, x), torch.mv(at, r)
    use_threads(1)
    try:
        one = torch.mv(a, x), torch.mv(at, r)
    finally:
        use_threads(threads)
    return all(torch.equal(p, q) for p, q in zip(wide, one, strict=True))


def _transposed_copy(a: torch.Tensor) -> torch.Tensor | None:
    if TRANSPOSED_COPY is not None:
        return a.T.contiguous() if TRANSPOSED_COPY else None
    if (
        a.numel() < MEASURE_MIN_ENTRIES
        or a.numel() * a.element_size() > TRANSPOSED_COPY_MAX_BYTES
        or torch.get_num_threads() < 2
        or same_on_one_thread(a, a.T)
    ):
        return None
    at = a.T.contiguous()
    return at if same_on_one_thread(a, at) else None


def dense_operator(
    a: torch.Tensor,
) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor | None]:
    """``x -> A x`` with autograd for a dense ``a``, and the row-major copy of ``Aᵀ`` that its
    backward multiplies by, or None where the backward is ``torch.mv``'s own (through A's
    transposed view) or numpy does the products.

    torch's ``Aᵀ r`` through the view sums over A's rows, split among the threads, and at
    some sizes (n = 700 and 1000 here, not 2000) rounds differently on one thread and on two;
    through a row-major copy each entry is one row's dot product, alike on any thread count.
    Where that is so, a run's numbers do not depend on how many threads did each update, and
    the run may drop to one thread when another process wants the core (``solver.run.fastpath``).
    """
    matvec = matvec_for(a)
    if a.device.type != "cpu" or getattr(matvec, "func", None) is not torch.mv:
        return matvec, None
    at = _transposed_copy(a)
    if at is None:
        return matvec, None
    mv = partial(_apply_operator, forward=partial(torch.mv, a), adjoint=partial(torch.mv, at))
    return mv, at


def matvec_for(a: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x -> A x`` with autograd, using whichever BLAS does ``A x`` and ``Aᵀ r`` faster."""
    if a.device.type != "cpu" or a.numel() < MEASURE_MIN_ENTRIES or not a.is_contiguous():
        return partial(torch.mv, a)
    return host_matvec(a) if numpy_is_faster(a) else partial(torch.mv, a)


class _OperatorMatVec(torch.autograd.Function):
    """``forward(x)`` with ``adjoint(g)`` as its backward: a linear map that autograd cannot
    trace itself (a scipy product, a sparse tensor), still differentiated by autograd."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        x: torch.Tensor,
        forward: Callable[[torch.Tensor], torch.Tensor],
        adjoint: Callable[[torch.Tensor], torch.Tensor],
    ) -> torch.Tensor:
        ctx.adjoint = adjoint
        return forward(x.detach())

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, g: torch.Tensor) -> tuple:
        return ctx.adjoint(g.detach().contiguous()), None, None


@contextmanager
def csr_quiet() -> Iterator[None]:
    """torch calls its CSR support beta, once per process, on the console of whoever made
    the first CSR tensor (the start-up warm-up, for a user of the window); the products used
    here are the stable ones."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        yield


def torch_csr(a: object, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """A scipy CSR matrix as torch's, on ``device`` in ``dtype``."""
    with csr_quiet():
        return torch.sparse_csr_tensor(
            torch.from_numpy(a.indptr.astype(np.int64)),
            torch.from_numpy(a.indices.astype(np.int64)),
            torch.from_numpy(np.array(a.data, dtype=np.float64)),
            size=a.shape,
            check_invariants=False,  # a canonical scipy CSR (sparseio.check_sparse) holds them
        ).to(device=device, dtype=dtype)


def _scipy_pair(a: object, dtype: torch.dtype) -> tuple[Callable, Callable]:
    np_dtype = numpy_of(dtype)
    fwd = a.astype(np_dtype)
    adj = fwd.T.tocsr()  # a row-major transpose: Aᵀ r streams rows, as A x does

    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(fwd @ x.numpy())

    def adjoint(g: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(adj @ g.numpy())

    return forward, adjoint


def _torch_pair(a: object, device: torch.device, dtype: torch.dtype) -> tuple[Callable, Callable]:
    fwd, adj = torch_csr(a, device, dtype), torch_csr(a.T.tocsr(), device, dtype)
    # torch.mv, the call solver.run.fastpath's sparse chunk makes: the same numbers either way
    return partial(torch.mv, fwd), partial(torch.mv, adj)


# dtype -> scipy's sparse product is faster than torch's (CPU only), decided once per process
# like the dense choice above, so that every run of a session rounds alike (an entry set
# beforehand decides instead).
SCIPY_FASTER: dict[torch.dtype, bool] = {}
# scipy must do the pair in half torch's time: torch's products run gd in a GIL-free chunk
# (solver.run.fastpath), ~0.3 ms an update less Python than the loop scipy's need. With the old
# 0.9 the Poisson preset's near tie (0.57 and 0.60 ms) went either way from launch to launch.
SPARSE_MARGIN = 0.5


def sparse_library(a: object, dtype: torch.dtype) -> str:
    """ "scipy" or "torch" for this CPU process's sparse mat-vec pairs (``A x`` and
    ``Aᵀ r``): scipy where it did the first pair in under ``SPARSE_MARGIN`` of torch's time
    on all its threads or on one, timed on ``a`` in interleaved rounds."""
    if dtype not in SCIPY_FASTER:
        pairs = {
            "scipy": _scipy_pair(a, dtype),
            "torch": _torch_pair(a, torch.device("cpu"), dtype),
        }
        x = torch.ones(a.shape[1], dtype=dtype)
        r = torch.ones(a.shape[0], dtype=dtype)
        best = {k: float("inf") for k in pairs}
        threads = torch.get_num_threads()
        try:
            for _ in range(5):
                # torch's on one thread too, as scipy's always is: beside busy processes its
                # second thread waits at each product for a core, and a process that started
                # then chose scipy (the autograd loop, no chunks) for good.
                for name, k in (("scipy", threads), ("torch", threads), ("torch", 1)):
                    fwd, adj = pairs[name]
                    use_threads(k)
                    t0 = time.perf_counter()
                    fwd(x), adj(r)
                    best[name] = min(best[name], time.perf_counter() - t0)
        finally:
            use_threads(threads)
        SCIPY_FASTER[dtype] = best["scipy"] < SPARSE_MARGIN * best["torch"]
    return "scipy" if SCIPY_FASTER[dtype] else "torch"


def sparse_operator(
    a: object, device: torch.device, dtype: torch.dtype
) -> tuple[Callable[[torch.Tensor], torch.Tensor], tuple[torch.Tensor, torch.Tensor] | None]:
    """``x -> A x`` with autograd for a scipy CSR ``a``: torch's CSR kernels on a GPU, and on
    the CPU those or scipy's, as ``sparse_library`` chose. The
    dense matrix is never formed. Second: torch's CSR ``A`` and ``Aᵀ`` the product uses, or
    None when it is scipy's."""
    if device.type == "cpu" and sparse_library(a, dtype) == "scipy":
        fwd, adj = _scipy_pair(a, dtype)
        tensors = None
    else:
        fwd, adj = _torch_pair(a, device, dtype)
        tensors = (fwd.args[0], adj.args[0])
    return partial(_apply_operator, forward=fwd, adjoint=adj), tensors


def sparse_matvec(
    a: object, device: torch.device, dtype: torch.dtype
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``sparse_operator``'s product alone."""
    return sparse_operator(a, device, dtype)[0]


def _apply_operator(x: torch.Tensor, forward: Callable, adjoint: Callable) -> torch.Tensor:
    return _OperatorMatVec.apply(x, forward, adjoint)
