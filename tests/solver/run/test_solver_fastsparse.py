"""The sparse fast path (``scripted.sparse_gd_chunk``): plain gd on a sparse system in one
GIL-free call per chunk, with autograd's gradient written out. It must be the autograd loop's
run bit for bit — losses, norms, tracked unknowns, stops — for every loss it takes, and keep
the loop wherever it does not apply."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from solver import LinearSystem, Run, Session
from solver.matrices import kernels, sparseio
from solver.run import fastpath, scripted

RUN_LOSSES = ["half_sum_squares", "sum_squares", "mse", "energy"]


@pytest.fixture
def torch_csr(monkeypatch: pytest.MonkeyPatch) -> None:
    """Products on torch's CSR, as kernels chooses on the big presets (a small matrix here
    is faster on scipy's, whose numbers the chunk would not give)."""
    monkeypatch.setitem(kernels.SCIPY_FASTER, torch.float64, False)


def poisson(nx: int = 30, ny: int = 40, **kw: object) -> Session:
    a = sparseio.poisson_2d(nx, ny)
    b = np.sin(np.arange(a.shape[0]) * 0.37)
    kw.setdefault("max_iters", 300)
    kw.setdefault("tol", 0.0)
    return Session(problem=LinearSystem(a, b), optimizer="gd", **kw)


def assert_identical(fast: Run, slow: Run) -> None:
    assert (fast.stop_reason, fast.iteration, fast.message, fast.grad_evals) == (
        slow.stop_reason,
        slow.iteration,
        slow.message,
        slow.grad_evals,
    )
    for name in ("loss", "residual_norm", "error"):
        np.testing.assert_array_equal(getattr(fast.history, name), getattr(slow.history, name))
    np.testing.assert_array_equal(fast.history.tracked, slow.history.tracked)
    for a, b in zip(fast.history.trajectory(), slow.history.trajectory(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fast.x(), slow.x())


def both(s: Session) -> tuple[Run, Run]:
    fast, slow = Run(s), Run(s, fast_path=False)
    assert isinstance(fast.chunks, fastpath.SparseGdChunks), scripted.unavailable_reason
    assert fast.releases_gil and not slow.releases_gil
    return fast, slow


@pytest.mark.parametrize("loss", RUN_LOSSES)
def test_the_sparse_chunk_gives_the_autograd_loops_run_bit_for_bit(torch_csr, loss) -> None:
    n = 30 * 40
    lr = {"half_sum_squares": 0.02, "sum_squares": 0.01, "mse": 0.01 * n, "energy": 0.2}[loss]
    fast, slow = both(poisson(loss=loss, lr=lr))
    fast.advance()
    slow.advance()
    assert fast.stop_reason == "max_iters"
    assert fast.history.loss[-1] < 0.5 * fast.history.loss[0]
    assert_identical(fast, slow)


def test_divergence_and_convergence_stop_on_the_loops_row(torch_csr) -> None:
    runs = both(poisson(lr=0.2, max_iters=5000, stop_on_divergence=False))  # lr·L ≈ 13
    for run in runs:
        run.advance()
    assert runs[0].stop_reason == "diverged" and not np.isfinite(runs[0].history.loss[-1])
    assert_identical(*runs)
    # certain long before, inside a chunk that keeps a few unknowns: applied again up to
    # that row, it leaves x where the loop stopped
    runs = both(poisson(lr=0.2, max_iters=5000))
    # a reach-in on purpose: nothing public shows the engine going back inside a chunk
    rewound, real = [], runs[0]._rewind_chunk
    runs[0]._rewind_chunk = lambda *a: rewound.append(a[1] is not None) or real(*a)
    runs[0].chunks.size = lambda limit, deadline: limit  # chunks as long as a block
    for run in runs:
        run.advance()
    assert rewound == [True]  # from the chunk's start, applied again
    assert runs[0].stop_reason == "diverged" and runs[0].message.startswith("diverging: lr · L")
    assert np.isfinite(runs[0].history.loss).all() and runs[0].iteration < 40
    assert_identical(*runs)
    runs = both(poisson(12, 10, loss="energy", lr=0.24, max_iters=5000, tol=1e-9))
    for run in runs:
        run.advance()
    assert runs[0].stop_reason == "converged"
    assert_identical(*runs)


def test_advances_of_any_size_and_the_loop_after_chunks_change_nothing(
    torch_csr,
) -> None:
    """The chunk keeps the residual between calls and the loop needs a loss with a graph:
    a run observed from the middle on (``Run.observe``) goes on by the loop, unchanged."""
    s = poisson(loss="energy", lr=0.2)
    mixed, slow = both(s)[0], Run(s, fast_path=False)
    for k in [1, 7, 30]:
        mixed.advance(k)
    seen = []
    mixed.observe(before_update=lambda r: seen.append(r.iteration))
    assert mixed.chunks is None
    for k in [2, 60, 200]:
        mixed.advance(k)
    slow.advance()
    assert seen[0] == 38 and len(seen) == mixed.iteration - 38
    assert_identical(mixed, slow)


def test_where_the_chunk_does_not_apply_the_loop_runs(monkeypatch) -> None:
    s = poisson()
    monkeypatch.setitem(kernels.SCIPY_FASTER, torch.float64, True)
    assert Run(s).chunks is None  # scipy's products: the chunk would round differently
    monkeypatch.setitem(kernels.SCIPY_FASTER, torch.float64, False)
    for other in (
        s.replace(loss="l2_norm"),  # its backward is not written out
        s.replace(dtype="float32"),  # rows recomputed in float64: no narrow block
        s.replace(optimizer="adam"),
    ):
        assert Run(other).chunks is None
    assert Run(s, lazy=True).chunks is None


def test_the_100000_unknown_preset_takes_the_chunk(torch_csr) -> None:
    from solver.sessions import presets

    s = presets.build("poisson-2d").replace(max_iters=20)
    fast, slow = both(s)
    fast.advance()
    slow.advance()
    assert fast.iteration == 20
    assert_identical(fast, slow)


def test_the_start_up_warm_up_prints_no_beta_notice() -> None:
    """The window warms the sparse chunk up at start; torch's "CSR support is in beta" notice
    reached the console of a user who launched from a terminal."""
    import subprocess
    import sys
    from pathlib import Path

    code = "from solver.run import scripted; assert scripted.sparse_chunk_function() is not None"
    out = subprocess.run(
        [sys.executable, "-W", "default", "-c", code],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "beta" not in out.stderr, out.stderr
