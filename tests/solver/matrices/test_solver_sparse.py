"""Sparse problems end to end: the sparse path computes what the dense path computes, the
analysis and the reference never form the dense matrix, sessions keep the storage, and a
100,000-unknown system runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from solver.core.errors import InputError
from solver.core.resources import resource_path
from solver.insight.directions import Plane, loss_grid, plane
from solver.insight.rates import cg_path
from solver.matrices.matrixio import load_operator
from solver.matrices.sparseio import poisson_2d, save_sparse
from solver.problems.kinds import KINDS
from solver.problems.linear import LinearSystem
from solver.run.engine import Run
from solver.sessions import presets
from solver.sessions import session as sessions

# One setting per optimizer, each run for 100 iterations on both paths. The two paths sum each
# product in a different order, so they differ in the last bit from the first iteration; these
# settings are ones in which the optimizer does not amplify that (NAdam's default β₂ = 0.999
# and L-BFGS's 20 inner iterations do, to about 1e-8 within 100 iterations on gr_30_30).
SETTINGS = {
    "gd": (0.005, {}),
    "sgd": (0.005, {"momentum": 0.9}),
    "adam": (0.01, {}),
    "adamw": (0.01, {}),
    "nadam": (0.01, {"betas": (0.5, 0.9)}),
    "rmsprop": (0.001, {}),
    "adagrad": (0.1, {}),
    "lbfgs": (1.0, {"max_iter": 1, "line_search_fn": "strong_wolfe"}),
}


def _matrix(name: str) -> sp.csr_array:
    return load_operator(resource_path("matrices", f"{name}.mtx"), storage="sparse")


def _losses(a: object, b: np.ndarray, optimizer: str) -> np.ndarray:
    lr, args = SETTINGS[optimizer]
    s = sessions.make(
        LinearSystem(a, b), optimizer=optimizer, lr=lr, optimizer_args=args, max_iters=100
    )
    run = Run(s, track=[0])
    run.advance()
    return np.asarray(run.history.loss)


@pytest.mark.parametrize("name", ["gr_30_30", "west0067"])
@pytest.mark.parametrize("optimizer", sorted(SETTINGS))
def test_the_sparse_path_gives_the_dense_paths_losses(name: str, optimizer: str) -> None:
    a = _matrix(name)
    b = a @ np.ones(a.shape[1])
    sparse, dense = _losses(a, b, optimizer), _losses(a.toarray(), b, optimizer)
    assert len(sparse) == len(dense) == 101
    np.testing.assert_allclose(sparse, dense, rtol=1e-10, atol=0)
    assert sparse[-1] < sparse[0]


@pytest.mark.parametrize("name", ["gr_30_30", "west0067"])
def test_the_sparse_analysis_matches_the_dense_svd_within_its_bounds(name: str) -> None:
    a = _matrix(name)
    b = a @ np.ones(a.shape[1])
    sparse, dense = LinearSystem(a, b), LinearSystem(a.toarray(), b)
    got, want = sparse.spectrum(), dense.spectrum()
    assert sparse.sparse and not got.exact and want.exact
    assert abs(got.sigma_max - want.sigma_max) <= got.sigma_max_error + 1e-12 * want.sigma_max
    assert abs(got.sigma_min - want.sigma_min) <= got.sigma_min_error + 1e-12 * want.sigma_max
    assert got.sigma_max_error < 1e-6 * want.sigma_max
    np.testing.assert_allclose(sparse.exact, dense.exact, rtol=0, atol=1e-10)
    assert sparse.solve_method() == "sparse LU (SuperLU)"
    assert dense.solve_method() == "SVD (LAPACK)"


def test_a_rectangular_sparse_system_gets_the_minimum_norm_solution_by_lsqr() -> None:
    a = _matrix("lp_afiro")  # 27 x 51
    p = LinearSystem(a, a @ np.ones(51))
    np.testing.assert_allclose(p.exact, np.linalg.pinv(a.toarray()) @ p.b, atol=1e-9)
    assert p.solve_method() == "LSQR to 1e-12"


def test_energy_applies_to_a_sparse_matrix_only_when_it_is_spd() -> None:
    gr = _matrix("gr_30_30")
    assert LinearSystem(gr, np.ones(900)).spd_refusal() is None
    west = LinearSystem(_matrix("west0067"), np.ones(67)).spd_refusal()
    assert "symmetric" in west
    indefinite = sp.csr_array(
        np.diag([2.0, 1.0, -1.0]) + np.diag([0.5, 0.5], 1) + np.diag([0.5, 0.5], -1)
    )
    assert "positive definite" in LinearSystem(indefinite, np.ones(3)).spd_refusal()


def test_a_dominant_laplacian_is_definite_without_a_factorisation(monkeypatch) -> None:
    """Loading the Poisson preset checks definiteness on the GUI thread: by diagonal
    dominance (Taussky), not a 0.46 s LU. Weak dominance alone is not enough."""
    import scipy.sparse.linalg as spla

    def no_lu(*args: object, **kw: object) -> None:
        raise AssertionError("factorised")

    with monkeypatch.context() as m:
        m.setattr(spla, "splu", no_lu)
        assert LinearSystem(poisson_2d(60, 50), np.ones(3000)).spd_refusal() is None
    # a path graph's Laplacian: every row weakly dominant, none strictly; singular
    path = sp.csr_array(np.diag([1.0] + [2.0] * 8 + [1.0]) - np.eye(10, k=1) - np.eye(10, k=-1))
    assert "singular" in LinearSystem(path, np.ones(10)).spd_refusal()
    # strict in one block, singular in the other: dominant but not irreducible
    blocks = sp.block_diag([[[3.0, 1.0], [1.0, 3.0]], [[1.0, 1.0], [1.0, 1.0]]], format="csr")
    assert "positive definite" in LinearSystem(blocks, np.ones(4)).spd_refusal()


def test_a_sparse_problem_is_read_only_and_kept_private() -> None:
    a = sp.random_array((40, 40), density=0.1, format="csr", random_state=0) + sp.eye_array(40)
    p = LinearSystem(a, np.ones(40))
    a.data[:] = 7.0  # the caller's matrix changes; the problem's does not
    assert not np.all(p.A.data == 7.0)
    with pytest.raises(ValueError):
        p.A.data[0] = 1.0


def test_sparse_cannot_become_an_inverse_or_svd_problem() -> None:
    p = LinearSystem(_matrix("gr_30_30"), np.ones(900))
    assert KINDS["inverse"].convert(p) is None
    assert KINDS["svd"].convert(p) is None


def test_conjugate_gradient_runs_on_the_sparse_matrix() -> None:
    a = _matrix("gr_30_30")
    b = a @ np.ones(900)
    sparse = cg_path(LinearSystem(a, b), "energy", tol=1e-20)
    dense = cg_path(LinearSystem(a.toarray(), b), "energy", tol=1e-20)
    assert sparse.reached == dense.reached is not None
    np.testing.assert_allclose(sparse.loss[:20], dense.loss[:20], rtol=1e-9)


def test_the_landscape_of_a_big_system_comes_from_its_quadratic_form() -> None:
    a = poisson_2d(60, 80)  # 4800 unknowns: 40 x 40 grid points x 4800 residuals > the limit
    p = LinearSystem(a, a @ np.ones(4800))
    pl = plane(p, "half_sum_squares", p.exact)
    assert isinstance(pl, Plane) and pl.labels == ("x1 − x*", "x2 − x*")
    s, t = np.linspace(-1, 1, 40), np.linspace(-2, 2, 40)
    got = loss_grid("half_sum_squares", p, p.exact, pl, s, t)
    x = p.exact + s[7] * pl.d1 + t[11] * pl.d2
    assert got[11, 7] == pytest.approx(0.5 * np.sum((a @ x - p.b) ** 2), rel=1e-9)
    wide = LinearSystem(poisson_2d(150, 150), np.ones(22_500))  # beyond L1_GRID_RESIDUALS
    assert "not drawn" in plane(wide, "l1_norm", np.zeros(22_500))


def test_a_session_keeps_a_sparse_matrix_sparse(tmp_path) -> None:
    a = _matrix("west0067")
    s = sessions.make(LinearSystem(a, a @ np.ones(67)), lr=0.01)
    data = sessions.to_dict(s)
    assert data["problem"]["storage"] == "sparse"
    assert data["problem"]["A"]["shape"] == [67, 67]
    back = sessions.from_dict(json.loads(json.dumps(data)))
    assert back.problem.sparse
    assert abs(back.problem.A - a).max() == 0
    data["problem"]["storage"] = "dense"
    assert not sessions.from_dict(data).problem.sparse


def test_a_large_nearly_empty_file_loads_sparse_and_a_small_one_dense(tmp_path) -> None:
    # the tridiagonal 10,000 x 10,000 once refused for its 100,000,000 dense entries
    n = 10_000
    t = sp.diags_array([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], offsets=[-1, 0, 1])
    big = tmp_path / "tri.mtx"
    save_sparse(big, t)
    session = tmp_path / "s.json"
    session.write_text(json.dumps({"problem": {"A": {"file": "tri.mtx"}, "b": [1.0] * n}}))
    s = sessions.load(session)
    assert s.problem.sparse and s.problem.entries == 3 * n - 2
    assert s.files["A"] == str(big.resolve())
    assert not sessions.from_dict(
        {
            "problem": {
                "A": {"file": str(resource_path("matrices", "gr_30_30.mtx"))},
                "b": [1.0] * 900,
            }
        }
    ).problem.sparse
    forced = {"problem": {"A": {"file": str(big)}, "b": [1.0] * n, "storage": "dense"}}
    with pytest.raises(InputError, match="50,000,000"):
        sessions.from_dict(forced)


def test_an_inline_sparse_matrix_is_checked() -> None:
    good = {"shape": [2, 2], "rows": [1, 2, 2], "cols": [1, 2, 2], "values": [1.0, 2.0, 3.0]}
    s = sessions.from_dict({"problem": {"A": good, "b": [1, 1]}})
    assert s.problem.sparse and s.problem.A.toarray().tolist() == [[1.0, 0.0], [0.0, 5.0]]
    for bad, where in [
        ({**good, "rows": [1, 3, 2]}, "problem.A.rows[1]"),
        ({**good, "values": [1.0, float("nan"), 1.0]}, "problem.A"),
        ({**good, "cols": [1]}, "problem.A.cols"),
        ({**good, "shape": [2]}, "problem.A.shape"),
        ({**good, "extra": 1}, "problem.A.extra"),
    ]:
        with pytest.raises(InputError) as err:
            sessions.from_dict({"problem": {"A": bad, "b": [1, 1]}})
        assert err.value.field == where


def test_the_poisson_preset_runs_100_iterations_of_100000_unknowns() -> None:
    s = presets.build("poisson-2d")
    p = s.problem
    assert p.sparse and p.A.shape == (100_000, 100_000) and p.entries == 498_700
    run = Run(s.replace(max_iters=100), track=[0, 49_999, 99_999])
    run.advance()
    loss = np.asarray(run.history.loss)
    assert len(loss) == 101 and np.all(np.diff(loss) < 0)
    # gd on the energy with lr = 1/8 (Gershgorin) against the same loop in scipy
    x = np.zeros(100_000)
    for _ in range(100):
        x -= s.lr * (p.A @ x - p.b)
    np.testing.assert_allclose(run.history.trajectory()[1][-1], x[[0, 49_999, 99_999]], rtol=1e-12)
