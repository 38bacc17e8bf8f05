"""A diverging run stops as soon as its divergence is certain (``solver.problems.divergence``), says
why as the caption does, keeps its history to that point; with the stop off it goes on to
the overflow and its error and residual are told as they are, past float32's range."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import main
from solver import Run, analyze
from solver.insight.explain import explain, loss_levels
from solver.problems.divergence import GROWING, Watch, judge, unstable_step
from solver.problems.seeds import A_MAT, B_VEC
from solver.sessions import session as sessions

L3 = 3 + 2 * math.sqrt(2)  # the 3×3's L: 5.828


def make(**top: object) -> sessions.Session:
    return sessions.from_dict({"problem": {"A": A_MAT, "b": B_VEC}, **top})


def run(s: sessions.Session) -> Run:
    r = Run(s)
    r.advance()
    return r


def caption(r: Run) -> str:
    s = r.session
    f_star, scale = loss_levels(s, r.exact)
    said = explain(s, analyze(s.problem, s.loss, s.lr), r.history.loss, r.history.error, f_star)
    return said.text


def test_gd_past_2_over_l_stops_where_the_caption_knows_with_its_reason() -> None:
    # The case: lr 0.5 on the 3×3 ran to its overflow at iteration 546.
    r = run(make(optimizer={"name": "gd", "lr": 0.5}, stop={"max_iters": 100_000}))
    assert r.stop_reason == "diverged" and r.iteration == GROWING  # growing from update 1
    assert len(r.history) == GROWING + 1 and np.isfinite(r.history.loss).all()
    reason = "lr · L = 0.5 × 5.828 = 2.91 > 2"
    assert (
        r.message
        == f"diverging: {reason}; stopped at iteration 5 (growing since iteration 1, loss 943)"
    )
    assert caption(r) == f"diverging since iteration 1: {reason}"
    np.testing.assert_allclose(r.x().reshape(-1), _numpy_gd(0.5, GROWING), rtol=1e-12)
    # the stop off: on to the overflow, as before
    off = run(
        make(optimizer={"name": "gd", "lr": 0.5}, stop={"max_iters": 100_000, "divergence": False})
    )
    assert off.iteration == 546 and off.message.startswith(
        "diverged at iteration 546: loss became inf"
    )
    np.testing.assert_array_equal(off.history.loss[: GROWING + 1], r.history.loss)


def test_the_panels_warning_gives_the_stops_reason() -> None:
    # The Solver panel's red warning said "lr × L = 2.91" while the caption and the stop said
    # "lr · L = 0.5 × 5.828 = 2.91": one rule, one wording.
    s = make(optimizer={"name": "gd", "lr": 0.5})
    warning = analyze(s.problem, s.loss, s.lr).divergence_reason(0.5)
    assert warning.startswith("lr · L = 0.5 × 5.828 = 2.91 > 2 (gd is stable only for lr < 2/L")
    assert analyze(s.problem, s.loss, 0.3).divergence_reason(0.3) is None


def _numpy_gd(lr: float, steps: int) -> np.ndarray:
    a, b, x = np.array(A_MAT), np.array(B_VEC), np.zeros(3)
    for _ in range(steps):
        x = x - lr * a.T @ (a @ x - b)
    return x


def test_the_heavy_ball_is_stopped_only_outside_its_own_region() -> None:
    # momentum 0.5: stable while lr · L < 2 + 2β = 3, though lr · L > 2 would sink plain gd
    inside = run(
        make(optimizer={"name": "sgd", "lr": 2.6 / L3, "momentum": 0.5}, stop={"max_iters": 400})
    )
    assert inside.stop_reason == "max_iters" and inside.history.loss[-1] < 1e-6
    outside = run(make(optimizer={"name": "sgd", "lr": 3.5 / L3, "momentum": 0.5}))
    assert outside.stop_reason == "diverged" and outside.iteration < 40
    assert "lr · L = 0.6005 × 5.828 = 3.5 > 2 + 2β = 3 (momentum β = 0.5)" in outside.message
    assert "> 2 + 2β = 3 (momentum β = 0.5)" in caption(outside)


def test_any_optimizer_is_stopped_once_its_loss_has_grown_huge_or_would_overflow() -> None:
    # Nesterov's momentum: no stability region is known here, only the growth tells
    opt = {"name": "sgd", "lr": 1.0, "momentum": 0.9, "nesterov": True}
    r = run(make(optimizer=opt, stop={"max_iters": 10_000}))
    off = run(make(optimizer=opt, stop={"max_iters": 10_000, "divergence": False}))
    assert r.stop_reason == off.stop_reason == "diverged"
    assert r.history.loss[-1] >= 1e30 * r.history.loss[0] > r.history.loss[-2]
    assert "-fold since its start" in r.message and r.iteration < off.iteration / 3
    # float32 from a start of 7e10: 1e30 times that is past its range, the overflow is near
    big = sessions.from_dict(
        {
            "problem": {"A": A_MAT, "b": [1e5 * v for v in B_VEC]},
            "optimizer": opt,
            "dtype": "float32",
        }
    )
    r32 = run(big.replace(max_iters=10_000))
    assert r32.stop_reason == "diverged" and np.isfinite(r32.history.loss).all()
    assert "would overflow float32 within 5 iterations" in r32.message


def test_a_loss_that_grows_but_not_past_the_rule_is_only_said_diverging() -> None:
    # adam's steps are bounded by lr: a loss climbing steadily, never certainly diverging
    s = make(optimizer={"name": "adam", "lr": 50.0})
    loss = np.arange(1.0, 40.0) ** 2
    said = explain(s, analyze(s.problem, s.loss, s.lr), loss, np.sqrt(loss))
    assert said.text == (
        "diverging since iteration 1: the loss has grown for 5 iterations in a row, above its start"
    )
    watch = Watch("float64", lambda: None)
    assert watch.feed(loss) is None and watch.verdict is None


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(st.floats(0.2, 50.0), min_size=1, max_size=80),
    cuts=st.lists(st.integers(1, 9), min_size=1, max_size=30),
    unstable=st.booleans(),
    dtype=st.sampled_from(["float32", "float64"]),
)
def test_the_engines_watch_gives_the_captions_verdict(steps, cuts, unstable, dtype) -> None:
    """The engine feeds the rule block by block (or one loss at a time); the caption judges
    the whole history: both find the same iteration and reason."""
    loss = np.cumprod([1.0, *steps]) * (1e25 if dtype == "float32" else 1.0)
    reason = (lambda: "unstable") if unstable else (lambda: None)
    expected = None
    for i in range(len(loss)):
        v = judge(loss[: i + 1], dtype, reason)
        if v is not None and v.certain:
            expected = (i, v.onset, v.reason)
            break
    watch, i, k = Watch(dtype, reason), 0, 0
    while i < len(loss) and watch.verdict is None:
        c = cuts[k % len(cuts)]
        if c == 1:
            watch.feed_one(float(loss[i]))
        else:
            watch.feed(loss[i : i + c])
        i, k = i + c, k + 1
    got = (
        None
        if watch.verdict is None
        else (watch.verdict.at, watch.verdict.onset, watch.verdict.reason)
    )
    assert got == expected


def test_the_stop_is_a_session_setting(tmp_path: Path) -> None:
    s = make()
    assert s.stop_on_divergence is True  # sessions from before the key: on
    sessions.save(s.replace(stop_on_divergence=False), tmp_path / "s.json")
    assert json.loads((tmp_path / "s.json").read_text())["stop"]["divergence"] is False
    assert sessions.load(tmp_path / "s.json").stop_on_divergence is False
    for bad in ("yes", 1, None, [True]):
        with pytest.raises(sessions.InputError) as info:
            make(stop={"divergence": bad})
        text = str(info.value)
        assert text.startswith("stop.divergence: expected true or false") and "\n" not in text


def test_headless_json_and_csv_end_at_the_early_stop(tmp_path: Path, capsys) -> None:
    s = sessions.to_dict(make(optimizer={"name": "gd", "lr": 0.5}, stop={"max_iters": 100_000}))
    (tmp_path / "s.json").write_text(json.dumps(s))
    out = tmp_path / "h.csv"
    assert main.main(["--headless", str(tmp_path / "s.json"), "--json", "--out", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["stop_reason"] == "diverged" and result["iterations"] == GROWING
    assert result["message"].startswith("diverging: lr · L = 0.5 × 5.828 = 2.91 > 2")
    assert result["explanation"] == "diverging since iteration 1: lr · L = 0.5 × 5.828 = 2.91 > 2"
    rows = out.read_text().splitlines()
    assert len(rows) == 1 + GROWING + 1 and rows[-1].startswith(f"{GROWING},")


def test_with_the_stop_off_the_error_and_residual_are_told_past_float32() -> None:
    r = run(
        make(optimizer={"name": "gd", "lr": 0.5}, stop={"max_iters": 100_000, "divergence": False})
    )
    h = r.history
    k = r.iteration
    # they went inf at ~140 when stored as float32; now finite up to the loss's overflow
    assert np.isfinite(h.error[:k]).all() and np.isfinite(h.residual_norm[:k]).all()
    assert h.error[k - 1] > 1e150 and h.residual_norm[k - 1] > 1e150
    # and still float32-rounded below its range, however the blocks fell
    assert h.error[10] == np.float32(h.error[10])


@pytest.mark.parametrize(
    ("optimizer", "lr", "args", "said"),
    [
        ("gd", 0.34, {}, None),  # lr · L = 1.98: inside
        ("gd", 0.3432, {}, "lr · L = 0.3432 × 5.828 = 2.0003 > 2"),  # digits that show it
        ("sgd", 0.5, {}, "lr · L = 0.5 × 5.828 = 2.91 > 2"),  # no momentum: gd
        ("sgd", 0.5, {"momentum": 0.9}, None),  # 2.91 < 2 + 2β = 3.8
        ("sgd", 0.01, {"momentum": 1.5}, "momentum β = 1.5 > 1"),
        ("sgd", 5.0, {"momentum": 0.9, "nesterov": True}, None),  # region not known here
        ("sgd", 5.0, {"momentum": 0.9, "weight_decay": 0.1}, None),
        ("adam", 5.0, {}, None),
    ],
)
def test_the_step_rule_knows_gd_and_the_heavy_ball_only(optimizer, lr, args, said) -> None:
    assert unstable_step(optimizer, lr, args, L3) == said
    assert unstable_step(optimizer, lr, args, None) is None  # no L: nothing is claimed
