"""The linear system's matrix-vector product, on the faster of the two BLAS libraries here.

torch (CPU wheel) multiplies with its bundled MKL; numpy with its OpenBLAS. For a large
float matrix an iteration is two mat-vecs (``A x`` forward, ``Aᵀ r`` backward) and nothing
else, so their speed is the engine's speed — and the two libraries differ: on the AMD EPYC
this was measured on, OpenBLAS did the pair 1.45x faster than MKL. So for big matrices on the
CPU both are timed once and the faster one is used. The numpy path is an autograd Function
(forward ``A x``, backward ``Aᵀ g``): gradients still flow through autograd's graph.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import torch

# Below this many entries a mat-vec is cheaper than the Python around it: torch.mv always.
MEASURE_MIN_ENTRIES = 250_000
# numpy must win by this margin to be chosen: timings of a few reps carry some noise.
MARGIN = 0.9


class _HostMatVec(torch.autograd.Function):
    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, a: torch.Tensor,
                x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a)
        return torch.from_numpy(a.numpy() @ x.detach().numpy())

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx,
                 g: torch.Tensor) -> tuple[None, torch.Tensor]:
        (a,) = ctx.saved_tensors
        # a.T of a C-ordered array is a transposed BLAS call, not a copy
        return None, torch.from_numpy(a.numpy().T @ g.detach().contiguous().numpy())


def host_matvec(a: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    return partial(_HostMatVec.apply, a)


def _best_time(fn: Callable[[], object], reps: int = 3) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def matvec_for(a: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x -> A x`` with autograd, using whichever BLAS does ``A x`` and ``Aᵀ r`` faster."""
    if a.device.type != "cpu" or a.numel() < MEASURE_MIN_ENTRIES or not a.is_contiguous():
        return partial(torch.mv, a)
    x = torch.ones(a.shape[1], dtype=a.dtype)
    r = torch.ones(a.shape[0], dtype=a.dtype)
    an, xn, rn = a.numpy(), x.numpy(), r.numpy()
    torch_pair = _best_time(lambda: (torch.mv(a, x), torch.mv(a.T, r)))
    numpy_pair = _best_time(lambda: (an @ xn, an.T @ rn))
    torch_pair = min(torch_pair, _best_time(lambda: (torch.mv(a, x), torch.mv(a.T, r))))
    if numpy_pair < MARGIN * torch_pair:
        return host_matvec(a)
    return partial(torch.mv, a)
