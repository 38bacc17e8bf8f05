"""Many runs at once (``solver.run.batch``) against the single-run engine: the same settings
give the same iteration count and stop reason, and losses and x within the products'
rounding. The batch multiplies all runs' x by A in one matrix-matrix product and takes the
gradient of their summed losses; the engine multiplies one x at a time (and its fast path
writes the gradient out), so the numbers agree to rounding, not bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from solver.core.errors import InputError
from solver.problems.linear import Inverse, LinearSystem
from solver.run.batch import BatchRun
from solver.run.engine import Run
from solver.run.stops import StopReason
from solver.sessions import session as sessions
from solver.sessions.builders import seed_3x3

# float64 products of a few terms, summed in another order: relative 1e-9, and near the
# minimum an absolute 1e-18 of the first loss (x carries a few eps of rounding, which a loss
# 1e-12 of its start shows relatively: 1e-21 apart at 1e-12 on the 3×3)
RTOL, FLOOR = 1e-9, 1e-18


def seed(**settings: object) -> sessions.Session:
    return seed_3x3().replace(**settings)


def single(s: sessions.Session) -> Run:
    run = Run(s)
    run.advance()
    return run


def assert_like_the_engine(
    batch: object, j: int, s: sessions.Session, atol: float | None = None
) -> None:
    run = single(s)
    assert batch.stop_reason[j] == run.stop_reason, (j, run.message)
    assert batch.iterations[j] == run.iteration
    mine, theirs = batch.loss_of(j), np.asarray(run.history.loss)
    finite = np.isfinite(theirs)
    if atol is None:
        atol = FLOOR * abs(theirs[0]) if finite[0] else 0.0
    np.testing.assert_allclose(mine[finite], theirs[finite], rtol=RTOL, atol=atol)
    if finite.all():
        np.testing.assert_allclose(batch.x[j].reshape(-1), run.x().reshape(-1), rtol=1e-8)


def test_gd_at_each_step_size_stops_where_a_single_run_stops():
    s = seed(optimizer="gd", tol=1e-10, max_iters=5000, stop_on_divergence=False)
    lrs = [0.02, 0.1, 0.17, 0.3, 0.36]  # 2/L = 0.343: the last one diverges
    result = BatchRun(s, {"lr": lrs}, len(lrs)).run()
    for j, lr in enumerate(lrs):
        assert_like_the_engine(result, j, s.replace(lr=lr))
    assert result.stop_reason[-1] is StopReason.DIVERGED
    assert result.stop_reason[0] is StopReason.CONVERGED


def test_a_run_that_stopped_is_frozen_while_the_others_go_on():
    s = seed(optimizer="gd", tol=1e-8, max_iters=3000)
    result = BatchRun(s, {"lr": [0.3, 0.01]}, 2).run()
    fast, slow = result.iterations
    assert fast < slow
    assert np.isnan(result.losses[0, fast + 1 :]).all()  # nothing recorded after its stop
    assert np.isfinite(result.losses[1, : slow + 1]).all()
    assert_like_the_engine(result, 0, s.replace(lr=0.3))


@pytest.mark.parametrize("nesterov", [False, True])
def test_the_heavy_ball_with_per_run_momentum(nesterov):
    s = seed(
        optimizer="sgd",
        optimizer_args={"momentum": 0.5, "nesterov": nesterov},
        tol=1e-12,
        max_iters=4000,
    )
    # torch refuses Nesterov without momentum; the batch takes 0 as plain gd, as a map would
    lrs, momenta = [0.05, 0.1, 0.2, 0.1], [0.3 if nesterov else 0.0, 0.5, 0.7, 0.9]
    result = BatchRun(s, {"lr": lrs, "momentum": momenta}, 4).run()
    for j in range(4):
        args = {"momentum": momenta[j], "nesterov": nesterov}
        assert_like_the_engine(result, j, s.replace(lr=lrs[j], optimizer_args=args))


@pytest.mark.parametrize(
    ("name", "per_run", "args_of"),
    [
        ("adam", {"beta1": [0.9, 0.5], "eps": [1e-8, 1e-4]},
         lambda j: {"betas": ([0.9, 0.5][j], 0.999), "eps": [1e-8, 1e-4][j]}),
        ("rmsprop", {"alpha": [0.99, 0.9]}, lambda j: {"alpha": [0.99, 0.9][j]}),
        ("adagrad", {"eps": [1e-10, 1e-3]}, lambda j: {"eps": [1e-10, 1e-3][j]}),
    ],
)  # fmt: skip
def test_adaptive_optimizers_with_per_run_settings(name, per_run, args_of):
    s = seed(optimizer=name, lr=0.05, tol=1e-6, max_iters=3000)
    result = BatchRun(s, per_run, 2).run()
    for j in range(2):
        assert_like_the_engine(result, j, s.replace(optimizer_args=args_of(j)))


def test_per_run_tolerances_answer_when_to_stop():
    s = seed(optimizer="gd", lr=0.1, max_iters=5000)
    tols = [1e-2, 1e-6, 1e-12]
    result = BatchRun(s, {"tol": tols}, 3).run()
    assert list(result.iterations) == sorted(result.iterations)
    for j, tol in enumerate(tols):
        assert_like_the_engine(result, j, s.replace(tol=tol))


def test_max_iterations_and_float32():
    s = seed(optimizer="gd", lr=0.01, tol=0.0, max_iters=50, dtype="float32")
    result = BatchRun(s, {"lr": [0.01, 0.02]}, 2).run()
    assert result.stop_reason == (StopReason.MAX_ITERS, StopReason.MAX_ITERS)
    assert list(result.iterations) == [50, 50]
    run = single(s)
    np.testing.assert_allclose(result.loss_of(0), run.history.loss, rtol=1e-5)


def test_a_sparse_system_takes_one_sparse_product_for_every_run():
    n = 30
    a = sp.diags([-1.0, 2.5, -1.0], [-1, 0, 1], shape=(n, n), format="csr")
    problem = LinearSystem(a, np.ones(n))
    s = sessions.make(problem, optimizer="gd", tol=1e-10, max_iters=2000)
    result = BatchRun(s, {"lr": [0.05, 0.1]}, 2).run()
    for j, lr in enumerate([0.05, 0.1]):
        assert_like_the_engine(result, j, s.replace(lr=lr))


def test_an_inverse_runs_as_a_batch_of_matrices():
    m = np.array([[4.0, 1.0], [0.5, 3.0]])
    s = sessions.make(Inverse(m), optimizer="gd", lr=0.02, tol=1e-12, max_iters=3000)
    result = BatchRun(s, {"lr": [0.02, 0.04]}, 2).run()
    assert result.x.shape == (2, 2, 2)
    for j, lr in enumerate([0.02, 0.04]):
        assert_like_the_engine(result, j, s.replace(lr=lr))


@pytest.mark.parametrize(
    ("settings", "runs", "says"),
    [
        ({"beta1": [0.9]}, 1, "gd takes no per-run beta1"),
        ({"lr": [0.1, 0.2]}, 3, "has 2 values for 3 runs"),
        ({"lr": [0.1, float("nan")]}, 2, "finite"),
    ],
)
def test_settings_that_do_not_fit_are_refused_naming_them(settings, runs, says):
    with pytest.raises(InputError, match=says):
        BatchRun(seed(optimizer="gd"), settings, runs)


def test_an_optimizer_the_batch_cannot_run_is_refused():
    with pytest.raises(InputError, match="lbfgs cannot run in a batch"):
        BatchRun(seed(optimizer="lbfgs"), {}, 2)


@pytest.mark.parametrize("loss", ["huber", "l2_norm", "mse"])
def test_losses_through_vmap_and_written_out_alike(loss):
    # huber through each run's torch form under vmap, l2 and mse written out
    s = seed(optimizer="gd", loss=loss, tol=1e-6, max_iters=400, stop_on_divergence=False)
    lrs = [0.01, 0.05]
    result = BatchRun(s, {"lr": lrs}, 2).run()
    for j, lr in enumerate(lrs):
        assert_like_the_engine(result, j, s.replace(lr=lr))


def test_the_l1_loss_agrees_until_a_residual_entry_crosses_zero():
    """L1's gradient is the signs of r: where an entry of r passes through 0, products summed
    in another order can give it the other sign, and the two paths part (the seed's "jumps
    around the optimum"). Until then, the numbers agree to rounding."""
    s = seed(optimizer="gd", loss="l1_norm", lr=0.05, tol=0.0, max_iters=200)
    result = BatchRun(s, {"lr": [0.05]}, 1).run()
    run = single(s)
    assert result.stop_reason[0] == run.stop_reason == StopReason.MAX_ITERS
    np.testing.assert_allclose(result.loss_of(0)[:10], run.history.loss[:10], rtol=RTOL)


def test_the_energy_loss_on_an_spd_system_written_out():
    a = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]])
    s = sessions.make(
        LinearSystem(a, np.array([1.0, 2.0, 3.0])), loss="energy", tol=1e-12, max_iters=3000
    )
    result = BatchRun(s, {"lr": [0.05, 0.2]}, 2).run()
    # ½xᵀ(r − b) + ½bᵀx* cancels terms of about 2.5 near the minimum: a few eps of them
    for j, lr in enumerate([0.05, 0.2]):
        assert_like_the_engine(result, j, s.replace(lr=lr), atol=1e-13)
