"""The big-matrix mat-vec may run on numpy's BLAS instead of torch's: it must be the same
product with the same gradient, so a run is the same run whichever library was faster."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import numpy as np
import pytest
import torch

from solver import Run
from solver.matrices import kernels
from solver.problems.linear import LinearSystem
from solver.sessions import session as sessions


def test_host_matvec_gradient_is_autograds():
    a = torch.from_numpy(np.random.default_rng(1).standard_normal((7, 5)))
    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(kernels.host_matvec(a), (x,))
    # Two BLAS libraries sum in different orders, so compare within the rounding bound of a
    # dot product, n·u·(|A| |x|), not relative to the result: a component that cancels to
    # 2e-3 from terms of size 1 differs by 1e-16 absolute but 1e-13 relative, and did in CI.
    bound = a.shape[1] * torch.finfo(a.dtype).eps * (a.abs() @ x.detach().abs())
    got, want = kernels.host_matvec(a)(x).detach(), torch.mv(a, x).detach()
    assert torch.all((got - want).abs() <= bound)
    # and not an empty promise: the bound is far tighter than a wrong product would be
    assert torch.all(bound < 1e-12 * (1 + want.abs()))


def test_small_matrices_always_use_torch():
    a = torch.ones((10, 10), dtype=torch.float64)
    f = kernels.matvec_for(a)
    assert isinstance(f, partial) and f.func is torch.mv


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_run_is_the_same_whichever_blas_wins(monkeypatch, dtype):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((600, 500)) / 30  # 300k entries: big enough to be measured
    b = rng.standard_normal(600)
    s = sessions.make(LinearSystem(a, b), lr=0.3, max_iters=40, dtype=dtype)
    runs = {}
    for name, choice in {
        "torch": lambda t: partial(torch.mv, t),
        "numpy": kernels.host_matvec,
    }.items():
        monkeypatch.setattr("solver.matrices.kernels.matvec_for", choice)
        run = Run(s)
        run.advance()
        runs[name] = run
    tol = 1e-12 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(runs["numpy"].history.loss, runs["torch"].history.loss, rtol=tol)
    np.testing.assert_allclose(runs["numpy"].x(), runs["torch"].x(), rtol=tol, atol=tol)
    assert runs["numpy"].history.loss[-1] < runs["numpy"].history.loss[0]


@pytest.mark.parametrize("library", ["scipy", "torch"])
def test_both_sparse_products_differentiate_as_the_dense_one(monkeypatch, library):
    # torch's CSR path is the one a GPU takes; on the CPU it is chosen when it is faster
    import scipy.sparse as sp

    monkeypatch.setitem(kernels.SCIPY_FASTER, torch.float64, library == "scipy")
    a = sp.random_array((30, 20), density=0.2, format="csr", random_state=1, dtype=np.float64)
    assert kernels.sparse_library(a, torch.float64) == library
    mv = kernels.sparse_matvec(a, torch.device("cpu"), torch.float64)
    x = torch.randn(20, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(mv, (x,))
    dense = torch.from_numpy(a.toarray())
    # Sums in another order differ by rounding of the terms' size, not of the result's: an
    # entry that cancels to 1e-4 beside terms of 1 is off by 1e-17, 2e-13 of itself.
    rounding = 1e-13 * (abs(a) @ np.abs(x.detach().numpy()))
    np.testing.assert_allclose(
        mv(x).detach().numpy(), (dense @ x).detach().numpy(), rtol=1e-13, atol=rounding.max()
    )
    r = torch.randn(30, dtype=torch.float64)
    (g,) = torch.autograd.grad(mv(x) @ r, x)
    rounding = 1e-13 * (abs(a).T @ np.abs(r.numpy()))
    np.testing.assert_allclose(g.numpy(), a.T @ r.numpy(), rtol=1e-13, atol=rounding.max())


def _costing(seconds: float) -> Callable[[], None]:
    """A product that takes ``seconds`` (a stand-in for a library's speed)."""

    def pair() -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass

    return pair


def test_numpy_must_be_clearly_faster_to_lose_the_chunks(monkeypatch):
    """torch's product is what gives a run the GIL-free chunks that share a core with the
    window's frames: a near tie (numpy 20% faster) keeps torch's, a clear lead does not."""
    a = torch.ones((600, 500), dtype=torch.float64)
    for numpy_share, numpy_wins in ((0.8, False), (0.4, True)):
        monkeypatch.setattr(kernels, "NUMPY_FASTER", {})
        monkeypatch.setattr(kernels, "SETTLE_SECONDS", 0.0)
        monkeypatch.setattr(
            kernels,
            "_dense_pairs",
            lambda _a, s=numpy_share: {"torch": _costing(2e-3), "numpy": _costing(s * 2e-3)},
        )
        assert kernels.numpy_is_faster(a) is numpy_wins


def test_a_busy_machine_does_not_decide_the_sparse_library(monkeypatch):
    """Beside busy processes torch's two-thread product waits for a core at each step, and
    a process that started then took scipy's product (and no chunks) for good; torch's is
    also timed on one thread, as scipy's always runs."""
    import scipy.sparse as sp

    a = sp.random_array((30, 20), density=0.2, format="csr", random_state=1, dtype=np.float64)
    slow_when_shared = _costing(10e-3)
    one_thread = _costing(1e-3)

    def torch_pair(*_args):  # noqa: ANN202
        pair = lambda _v: (one_thread if torch.get_num_threads() == 1 else slow_when_shared)()  # noqa: E731
        return pair, pair

    scipy = _costing(2e-3)
    # a reach-in on purpose: the products the choice times, made to cost what the test says
    monkeypatch.setattr(kernels, "_torch_pair", torch_pair)
    monkeypatch.setattr(kernels, "_scipy_pair", lambda *_a: (lambda _v: scipy(), lambda _v: None))
    monkeypatch.setattr(kernels, "SCIPY_FASTER", {})
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert kernels.sparse_library(a, torch.float64) == "torch"
        assert torch.get_num_threads() == 2  # the timing gave the threads back
    finally:
        torch.set_num_threads(threads)


def _square(n: int) -> torch.Tensor:
    rng = np.random.default_rng(n)
    return torch.from_numpy(rng.standard_normal((n, n)) / np.sqrt(n))


@pytest.mark.parametrize("n", [700, 1000, 2000])
def test_a_copy_of_the_transpose_only_where_the_view_rounds_by_thread_count(monkeypatch, n):
    """The copy doubles A's memory: made only where the view's Aᵀ r depends on how many
    threads did it and the copy's does not; the operator's gradient is autograd's."""
    if torch.get_num_threads() < 2:
        pytest.skip("torch has one thread here: nothing rounds by thread count")
    monkeypatch.setitem(kernels.NUMPY_FASTER, torch.float64, False)
    a = _square(n)
    matvec, at = kernels.dense_operator(a)
    assert (at is None) == kernels.same_on_one_thread(a, a.T)
    if at is not None:
        assert kernels.same_on_one_thread(a, at)
        x = torch.ones(n, dtype=a.dtype, requires_grad=True)
        (g,) = torch.autograd.grad(matvec(x).sum(), x)
        torch.testing.assert_close(g, a.sum(0), rtol=1e-12, atol=1e-12)


def test_no_copy_of_a_matrix_too_large_to_double(monkeypatch):
    monkeypatch.setitem(kernels.NUMPY_FASTER, torch.float64, False)
    monkeypatch.setattr(kernels, "same_on_one_thread", lambda a, at: at.is_contiguous())
    a = _square(600)
    assert kernels.dense_operator(a)[1] is not None
    monkeypatch.setattr(kernels, "TRANSPOSED_COPY_MAX_BYTES", a.numel() * a.element_size() - 1)
    assert kernels.dense_operator(a)[1] is None
