"""The linear system's matrix-vector product, on the faster of the two BLAS libraries here.

torch (CPU wheel) multiplies with its bundled MKL; numpy with its OpenBLAS. For a large
float matrix an iteration is two mat-vecs (``A x`` forward, ``Aᵀ r`` backward) and nothing
else, so their speed is the engine's speed — and the two libraries differ: on the AMD EPYC
this was measured on, OpenBLAS did the pair 1.45x faster than MKL. So for big matrices on the
CPU both are timed once per process (per dtype) and the faster one is used. The numpy path is
an autograd Function (forward ``A x``, backward ``Aᵀ g``): gradients flow through autograd.
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
    def forward(
        ctx: torch.autograd.function.FunctionCtx, a: torch.Tensor, x: torch.Tensor
    ) -> torch.Tensor:
        ctx.save_for_backward(a)
        return torch.from_numpy(a.numpy() @ x.detach().numpy())

    @staticmethod
    def backward(
        ctx: torch.autograd.function.FunctionCtx, g: torch.Tensor
    ) -> tuple[None, torch.Tensor]:
        (a,) = ctx.saved_tensors
        # a.T of a C-ordered array is a transposed BLAS call, not a copy
        return None, torch.from_numpy(a.numpy().T @ g.detach().contiguous().numpy())


def host_matvec(a: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    return partial(_HostMatVec.apply, a)


# dtype -> numpy is faster: decided once per process, so every run (a headless one and the
# window's, built while the GUI draws) uses the same library, whatever the noise then.
_NUMPY_FASTER: dict[torch.dtype, bool] = {}


def _numpy_is_faster(a: torch.Tensor) -> bool:
    if a.dtype not in _NUMPY_FASTER:
        x = torch.ones(a.shape[1], dtype=a.dtype)
        r = torch.ones(a.shape[0], dtype=a.dtype)
        an, xn, rn = a.numpy(), x.numpy(), r.numpy()
        best = {"torch": float("inf"), "numpy": float("inf")}
        for _ in range(5):  # interleaved rounds, fastest of each: robust to a busy neighbour
            t0 = time.perf_counter()
            torch.mv(a, x), torch.mv(a.T, r)
            t1 = time.perf_counter()
            an @ xn, an.T @ rn
            t2 = time.perf_counter()
            best["torch"] = min(best["torch"], t1 - t0)
            best["numpy"] = min(best["numpy"], t2 - t1)
        _NUMPY_FASTER[a.dtype] = best["numpy"] < MARGIN * best["torch"]
    return _NUMPY_FASTER[a.dtype]


def matvec_for(a: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x -> A x`` with autograd, using whichever BLAS does ``A x`` and ``Aᵀ r`` faster."""
    if a.device.type != "cpu" or a.numel() < MEASURE_MIN_ENTRIES or not a.is_contiguous():
        return partial(torch.mv, a)
    return host_matvec(a) if _numpy_is_faster(a) else partial(torch.mv, a)
