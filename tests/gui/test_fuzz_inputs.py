"""Fuzzing every way input reaches the app: session JSON (structure and values), cell text
and pasted blocks, matrix file bytes and headers. The property: each input either works or
is refused with one short InputError (or paste refusal) naming what is wrong; nothing else
escapes, and a refused paste leaves the table as it was.

CI runs a fast subset; ``DESCENT_LAB_FUZZ=long`` runs 10,000 examples per property.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver import InputError
from solver.matrices.matrixio import load_matrix
from solver.sessions import session as sessions

LONG = os.environ.get("DESCENT_LAB_FUZZ") == "long"
FUZZ = settings(
    max_examples=10_000 if LONG else 150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=not LONG,  # CI: the same examples every run, so a failure is reproducible
)

numbers = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.5, 1e-300, 1e300, 2**63, -(2**63)]),
)
scalars = st.one_of(numbers, st.text(max_size=12), st.booleans(), st.none())
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
matrices = st.lists(st.lists(numbers, min_size=0, max_size=4), min_size=0, max_size=4)
KEYS = {
    "loss": st.one_of(
        st.sampled_from(["mse", "energy", "svd_mse", "l1_norm", "half_sum_squares"]), json_values
    ),
    "optimizer": st.one_of(
        st.fixed_dictionaries(
            {"name": st.sampled_from(["gd", "sgd", "adam", "lbfgs", "rmsprop", "nadam"])},
            optional={
                "lr": json_values,
                "momentum": json_values,
                "betas": json_values,
                "history_size": json_values,
                "max_iter": json_values,
                "line_search_fn": json_values,
                "nesterov": json_values,
                "weight_decay": json_values,
            },
        ),
        json_values,
    ),
    "init": st.one_of(
        st.fixed_dictionaries(
            {"kind": st.sampled_from(["zeros", "rand", "randn", "values"])},
            optional={"seed": json_values, "x": json_values},
        ),
        json_values,
    ),
    "stop": st.one_of(
        st.fixed_dictionaries({}, optional={"max_iters": json_values, "tol": json_values}),
        json_values,
    ),
    "dtype": st.one_of(st.sampled_from(["float32", "float64"]), json_values),
    "device": st.one_of(st.sampled_from(["cpu", "cuda", "mps", "cuda:7"]), json_values),
    "version": st.one_of(st.just(1), json_values),
}
problems = st.one_of(
    st.fixed_dictionaries(
        {"kind": st.just("linear_system"), "A": matrices, "b": st.lists(numbers, max_size=4)}
    ),
    st.fixed_dictionaries({"kind": st.sampled_from(["inverse", "svd"]), "M": matrices}),
    st.fixed_dictionaries(
        {
            "kind": st.just("polyfit"),
            "x": st.lists(numbers, max_size=5),
            "y": st.lists(numbers, max_size=5),
            "degree": json_values,
        }
    ),
    json_values,
)
session_dicts = st.fixed_dictionaries({"problem": problems}, optional=KEYS)


def one_short_line(exc: BaseException) -> None:
    text = str(exc)
    assert "\n" not in text and len(text) < 400, text[:500]


@FUZZ
@given(session_dicts)
def test_a_session_either_loads_or_is_refused_in_one_line(data: dict) -> None:
    try:
        s = sessions.from_dict(data)
    except InputError as exc:
        one_short_line(exc)
        return
    # What loads is a session the engine takes as it is: the round trip keeps it.
    again = sessions.from_dict(json.loads(json.dumps(sessions.to_dict(s))))
    assert again.optimizer == s.optimizer and again.loss == s.loss


@FUZZ
@given(st.text(max_size=2000))
def test_any_session_text_loads_or_is_refused(text: str) -> None:
    try:
        sessions.loads(text)
    except InputError as exc:
        one_short_line(exc)


@FUZZ
@given(st.text(max_size=40))
def test_cell_text_is_a_finite_number_or_refused(text: str) -> None:
    from gui.views.cells import parse_number

    for point in (".", ","):
        v = parse_number(text, point)
        assert v is None or (isinstance(v, float) and math.isfinite(v))


@FUZZ
@given(
    st.text(alphabet=st.sampled_from(list("0123456789.,-+e \t\n;x")), max_size=80),
    st.integers(0, 3),
    st.integers(0, 3),
)
def test_a_pasted_block_applies_whole_or_not_at_all(qapp, text: str, row: int, col: int) -> None:
    from gui.views.cells import PasteError
    from gui.views.tables import ArrayModel

    model = ArrayModel("A")
    before = np.arange(16.0).reshape(4, 4)
    model.set_array(before)
    try:
        model.paste(row, col, text)
    except PasteError as exc:
        one_short_line(exc)
        np.testing.assert_array_equal(model.array(), before)  # nothing was pasted
        return
    assert np.isfinite(model.array()).all()


MTX_HEADERS = st.sampled_from(
    [
        "%%MatrixMarket matrix coordinate real general\n",
        "%%MatrixMarket matrix array real general\n",
        "%%MatrixMarket matrix coordinate real symmetric\n",
        "%%MatrixMarket matrix coordinate pattern general\n",
        "%%MatrixMarket matrix coordinate complex general\n",
        "",
    ]
)


@FUZZ
@given(MTX_HEADERS, st.text(alphabet=st.sampled_from(list("0123456789 .-e\n%")), max_size=120))
def test_any_mtx_file_loads_or_is_refused(tmp_path_factory, header: str, body: str) -> None:
    path = Path(tmp_path_factory.mktemp("mtx")) / "m.mtx"
    path.write_text(header + body, encoding="utf-8")
    _loads_or_refuses(path)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([".npy", ".csv", ".mtx"]))
def test_any_file_bytes_load_or_are_refused(tmp_path_factory, data: bytes, suffix: str) -> None:
    path = Path(tmp_path_factory.mktemp("bytes")) / f"m{suffix}"
    path.write_bytes(data)
    _loads_or_refuses(path)


@FUZZ
@given(
    st.lists(st.integers(0, 300_000), min_size=0, max_size=3),
    st.sampled_from(["<f8", "<f4", "<i8", "|b1", "<c16", "|O", "<U3"]),
)
def test_any_npy_header_loads_or_is_refused(tmp_path_factory, shape: list, descr: str) -> None:
    path = Path(tmp_path_factory.mktemp("npy")) / "m.npy"
    with path.open("wb") as fh:
        header = {"descr": descr, "fortran_order": False, "shape": tuple(shape)}
        np.lib.format.write_array_header_1_0(fh, header)
        fh.write(b"\0" * 64)
    _loads_or_refuses(path)


def _loads_or_refuses(path: Path) -> None:
    try:
        arr = load_matrix(path, "problem.A")
    except InputError as exc:
        one_short_line(exc)
        return
    assert arr.dtype == np.float64 and np.isfinite(arr).all()


@pytest.mark.skipif(not LONG, reason="the long run: DESCENT_LAB_FUZZ=long")
def test_the_long_run_is_configured() -> None:
    assert FUZZ.max_examples == 10_000
