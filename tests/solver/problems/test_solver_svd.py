"""The svd problem kind: M ≈ U diag(d²) Vᵀ by gradient descent, as the series' SVD part does
it: its loss and gradients, its seeded start, its presets and its headless output."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import main
from solver import InputError, Run, headless
from solver.problems.seeds import seed_svd_matrix
from solver.sessions import session as sessions
from solver.sessions.presets import build


def svd_session(m: object, **top: object) -> sessions.Session:
    return sessions.from_dict({"problem": {"kind": "svd", "M": m}, **top})


def reference(session: sessions.Session) -> np.ndarray:
    return torch.linalg.svdvals(torch.tensor(np.asarray(session.problem.M))).numpy()


def test_the_loss_is_the_series_formula_and_its_gradient_matches_finite_differences() -> None:
    s = svd_session(seed_svd_matrix().tolist(), init={"kind": "rand", "seed": 7})
    run = Run(s)
    u0, d0, v0 = (torch.tensor(a[0]) for a in s.problem.split(run.x()))
    m = torch.tensor(np.asarray(s.problem.M))
    eye = torch.eye(4, dtype=torch.float64)
    mse = torch.nn.functional.mse_loss

    def series_loss(u: torch.Tensor, d: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return (
            mse(u @ torch.diag(d**2) @ v.T, m) + mse(u.T @ u, eye) / 100 + mse(v @ v.T, eye) / 100
        )

    assert run.history.loss[0] == pytest.approx(float(series_loss(u0, d0, v0)), rel=1e-14)
    # The weighted residual's sum of squares is the same number: the residual norm is its root.
    assert run.history.residual_norm[0] ** 2 == pytest.approx(run.history.loss[0], rel=1e-6)

    from solver.problems.losses import loss_function

    bound = s.problem.bind(torch.device("cpu"), torch.float64)
    fn = loss_function("svd_mse", s.problem, bound.tensors)
    x = torch.tensor(run.x(), requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: fn(bound.residual(t), t), (x,), eps=1e-6, atol=1e-8)


def test_rand_draws_u_then_d_then_v_after_the_seed() -> None:
    s = svd_session(np.ones((5, 4)).tolist(), init={"kind": "rand", "seed": 314}, dtype="float32")
    torch.manual_seed(314)
    u, d, v = torch.rand(5, 4), torch.rand(4), torch.rand(4, 4)
    got_u, got_d, got_v = s.problem.split(Run(s).x())
    np.testing.assert_array_equal(got_u[0], u.double().numpy())
    np.testing.assert_array_equal(got_d[0], d.double().numpy())
    np.testing.assert_array_equal(got_v[0], v.double().numpy())


@pytest.mark.parametrize("key", ["seed-svd-momentum", "svd-wide"])
def test_the_momentum_presets_reach_svdvals_to_four_decimals(key: str) -> None:
    s = build(key)
    run = Run(s)
    run.advance()
    result = headless.result(run)
    ref = reference(s)
    np.testing.assert_allclose(result["singular_values"], ref, atol=5e-5)
    assert result["reference_singular_values"] == pytest.approx(ref.tolist(), abs=1e-6)
    assert max(result["orthogonality_error"].values()) < 1e-4
    assert result["reconstruction_error"] < 1e-4
    assert run.error_norm() < 1e-4  # the error is the singular values' distance to svdvals


def test_a_wide_matrix_is_factored_as_its_transpose() -> None:
    s = build("svd-wide")
    assert s.problem.M.shape == (3, 7) and s.problem.pq == (7, 3)
    run = Run(s.replace(max_iters=0))
    assert run.problem.reconstruction(run.x()).shape == (3, 7)


def test_presets_match_the_series_cases() -> None:
    torch.manual_seed(314)
    m = torch.rand(5, 4)
    s = build("seed-svd-momentum")
    np.testing.assert_array_equal(s.problem.M, m.double().numpy())
    assert (s.optimizer, s.lr, s.optimizer_args, s.max_iters) == (
        "sgd",
        0.9,
        {"momentum": 0.9},
        20000,
    )
    adam = build("seed-svd-adam")
    assert (adam.optimizer, adam.lr, adam.optimizer_args) == ("adam", 0.001, {"weight_decay": 1e-5})
    for key, shape, seed in (
        ("svd-square", (5, 5), 315),
        ("svd-tall", (7, 3), 316),
        ("svd-wide", (3, 7), 317),
    ):
        torch.manual_seed(seed)
        np.testing.assert_array_equal(build(key).problem.M, torch.rand(*shape).double().numpy())


def test_headless_json_and_csv_carry_the_singular_values(tmp_path: Path, capsys) -> None:
    path = tmp_path / "svd.json"
    data = sessions.to_dict(build("svd-tall").replace(max_iters=50))
    path.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "h.csv"
    assert main.main(["--headless", str(path), "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["singular_values"]) == 3
    assert result["singular_values"] == sorted(result["singular_values"], reverse=True)
    assert set(result["orthogonality_error"]) == {"U", "V"}
    assert result["reconstruction_error"] >= 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 51
    last = rows[-1]
    sigma = [float(last[f"sigma{j}"]) for j in (1, 2, 3)]
    assert sigma == pytest.approx(result["singular_values"], rel=1e-12)
    d = [float(last[f"d{j}"]) for j in (1, 2, 3)]
    assert sorted((v * v for v in d), reverse=True) == pytest.approx(sigma, rel=1e-12)


def test_a_session_without_a_loss_takes_svd_mse_and_round_trips() -> None:
    s = svd_session([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert s.loss == "svd_mse"
    again = sessions.from_dict(sessions.to_dict(s))
    np.testing.assert_array_equal(again.problem.M, s.problem.M)
    assert again.loss == "svd_mse"


@pytest.mark.parametrize(
    ("m", "words"),
    [
        ([1.0, 2.0, 3.0], "2-D"),
        ([[1.0, float("nan")], [0.0, 1.0]], "finite"),
        ([[1.0, float("inf")], [0.0, 1.0]], "finite"),
        ([], "problem.M"),
    ],
)
def test_a_bad_matrix_is_refused_naming_problem_m(m: object, words: str) -> None:
    with pytest.raises(InputError) as err:
        svd_session(m)
    assert err.value.field == "problem.M" and words in str(err.value)


def test_another_loss_for_svd_names_loss_and_svd_mse_elsewhere_too() -> None:
    with pytest.raises(InputError) as err:
        svd_session([[1.0, 0.0], [0.0, 2.0]], loss="mse")
    assert err.value.field == "loss" and "svd_mse" in str(err.value)
    with pytest.raises(InputError) as err:
        sessions.from_dict({"problem": {"A": [[1.0]], "b": [1.0]}, "loss": "svd_mse"})
    assert err.value.field == "loss"


def test_the_kind_takes_only_svd_mse_and_analyses_the_spectrum_of_m() -> None:
    from solver.insight.analysis import analyze
    from solver.problems.kinds import KINDS

    kind = KINDS["svd"]
    p = kind.default_problem()
    assert kind.losses(p) == ("svd_mse",)
    exact = kind.exact(p)
    assert exact.shape == p.unknown_shape and not exact.flags.writeable
    a = analyze(p, "svd_mse", 0.9)
    ref = np.linalg.svd(np.asarray(p.M), compute_uv=False)
    np.testing.assert_allclose(a.singular_values, ref, rtol=1e-12)
    assert a.cond == pytest.approx(ref[0] / ref[-1])
    # not quadratic in the unknowns: no fixed step-size limit is claimed
    assert a.lipschitz is None and a.max_stable_lr is None and a.recommended_lr is None
    assert kind.errors(p, exact.reshape(1, -1), exact)[0] == pytest.approx(0, abs=1e-12)
