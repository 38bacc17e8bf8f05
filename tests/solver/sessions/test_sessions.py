"""Session files: what round-trips, what files they may reference, and what is refused."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse
import torch

from solver import InputError, Run
from solver.core.resources import resource_path
from solver.matrices.matrixio import load_matrix
from solver.problems.linear import LinearSystem
from solver.sessions import session as sessions

VALID = {
    "version": 1,
    "problem": {"kind": "linear_system", "A": [[1, 2, 0], [0, 1, 0], [0, 0, 1]], "b": [1, 2, 3]},
    "loss": "half_sum_squares",
    "optimizer": {"name": "gd", "lr": 0.1},
    "init": {"kind": "zeros"},
    "stop": {"max_iters": 1000, "tol": 0.0},
    "dtype": "float64",
    "device": "cpu",
}


def valid() -> dict:
    return copy.deepcopy(VALID)


# -- round trips -----------------------------------------------------------------------------
ROUND_TRIPS = {
    "linear": {
        **VALID,
        "loss": "mse",
        "dtype": "float32",
        "optimizer": {
            "name": "adam",
            "lr": 0.01,
            "betas": [0.8, 0.99],
            "weight_decay": 0.001,
            "amsgrad": True,
        },
        "init": {"kind": "values", "x": [0.5, -1.0, 2.0]},
        "stop": {"max_iters": 77, "tol": 1e-9},
    },
    "inverse": {
        "version": 1,
        "problem": {"kind": "inverse", "M": [[2, 1], [0.5, 3]], "side": "both"},
        "optimizer": {"name": "sgd", "lr": 0.5, "momentum": 0.9, "nesterov": True},
        "init": {"kind": "rand", "seed": 314},
    },
    "polyfit": {
        "problem": {"kind": "polyfit", "x": [0, 1, 2, 3], "y": [1, 2, 5, 10], "degree": 2},
        "loss": "sum_squares",
        "optimizer": {"name": "lbfgs", "lr": 1, "history_size": 5},
        "init": {"kind": "randn", "seed": 7},
    },
}


@pytest.mark.parametrize("case", list(ROUND_TRIPS))
def test_save_then_load_gives_the_same_session(case: str, tmp_path: Path) -> None:
    first = sessions.from_dict(copy.deepcopy(ROUND_TRIPS[case]))
    sessions.save(first, tmp_path / "s.json")
    again = sessions.load(tmp_path / "s.json")

    assert sessions.to_dict(again) == sessions.to_dict(first)
    for key in (
        "loss",
        "optimizer",
        "lr",
        "optimizer_args",
        "init",
        "seed",
        "max_iters",
        "tol",
        "dtype",
        "device",
    ):
        assert getattr(again, key) == getattr(first, key), key
    np.testing.assert_array_equal(again.problem.matrix(), first.problem.matrix())
    assert again.problem.kind == first.problem.kind
    # And they run identically.
    r1, r2 = Run(first.replace(max_iters=20)), Run(again.replace(max_iters=20))
    r1.advance()
    r2.advance()
    np.testing.assert_array_equal(r1.history.loss, r2.history.loss)


def test_round_trip_keeps_the_values_typed(tmp_path: Path) -> None:
    s = sessions.from_dict(copy.deepcopy(ROUND_TRIPS["linear"]))
    sessions.save(s, tmp_path / "s.json")
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["optimizer"] == {
        "name": "adam",
        "lr": 0.01,
        "betas": [0.8, 0.99],
        "weight_decay": 0.001,
        "amsgrad": True,
    }
    assert data["init"] == {"kind": "values", "x": [0.5, -1.0, 2.0]}
    assert data["stop"] == {"max_iters": 77, "tol": 1e-9, "divergence": True}
    assert data["version"] == 1
    assert not (tmp_path / "s.json.tmp").exists()  # written atomically


def test_missing_keys_take_the_documented_defaults() -> None:
    s = sessions.from_dict({"problem": {"A": [[2.0]], "b": [4.0]}})
    assert (s.loss, s.optimizer, s.lr, s.init, s.max_iters, s.tol, s.dtype, s.device) == (
        "half_sum_squares",
        "gd",
        0.1,
        "zeros",
        1000,
        0.0,
        "float64",
        "cpu",
    )
    assert s.problem.kind == "linear_system"


def test_replace_validates_and_leaves_the_original_alone() -> None:
    s = sessions.from_dict(valid())
    with pytest.raises(InputError) as err:
        s.replace(lr=-1.0)
    assert err.value.field == "optimizer.lr"
    assert s.lr == 0.1
    t = s.replace(lr=0.2, max_iters=5)
    assert (t.lr, t.max_iters, s.lr, s.max_iters) == (0.2, 5, 0.1, 1000)


# -- matrices from files ---------------------------------------------------------------------
def test_a_symmetric_mtx_file_expands_to_the_full_matrix(tmp_path: Path) -> None:
    a = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 2.0], [0.0, 2.0, 5.0]])
    scipy.io.mmwrite(str(tmp_path / "a.mtx"), scipy.sparse.coo_matrix(a), symmetry="symmetric")
    assert "symmetric" in (tmp_path / "a.mtx").read_text().splitlines()[0]
    data = valid()
    data["problem"]["A"] = {"file": "a.mtx"}
    s = sessions.from_dict(data, base=tmp_path)
    np.testing.assert_array_equal(s.problem.A, a)
    assert s.files == {"A": str((tmp_path / "a.mtx").resolve())}


def test_a_shipped_symmetric_matrix_loads_whole() -> None:
    # nos4 stores only its lower triangle: 347 entries for a 100 x 100 matrix.
    a = load_matrix(resource_path("matrices", "nos4.mtx"))
    assert a.shape == (100, 100)
    np.testing.assert_array_equal(a, a.T)
    assert np.count_nonzero(np.tril(a)) == 347
    assert np.count_nonzero(a) == 2 * 347 - 100
    assert np.all(np.linalg.eigvalsh(a) > 0)


def test_csv_and_npy_files_load(tmp_path: Path) -> None:
    a = np.array([[1.5, -2.0], [0.25, 4.0], [1e-3, 7.0]])
    np.savetxt(tmp_path / "a.csv", a, delimiter=",")
    np.save(tmp_path / "b.npy", np.array([1.0, 2.0, 3.0]))
    s = sessions.from_dict(
        {"problem": {"A": {"file": "a.csv"}, "b": {"file": "b.npy"}}}, base=tmp_path
    )
    np.testing.assert_array_equal(s.problem.A, a)
    np.testing.assert_array_equal(s.problem.b, [1.0, 2.0, 3.0])


def test_a_column_vector_file_is_accepted_as_b(tmp_path: Path) -> None:
    np.savetxt(tmp_path / "b.csv", np.array([[1.0], [2.0], [3.0]]), delimiter=",")
    data = valid()
    data["problem"]["b"] = {"file": "b.csv"}
    s = sessions.from_dict(data, base=tmp_path)
    np.testing.assert_array_equal(s.problem.b, [1.0, 2.0, 3.0])


class _Payload:
    """Unpickling this would create a file: the proof that a .npy ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (str(self.marker), "w"))


def test_a_pickled_npy_is_refused_and_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    np.save(tmp_path / "a.npy", np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    data = valid()
    data["problem"]["A"] = {"file": "a.npy"}
    with pytest.raises(InputError) as err:
        sessions.from_dict(data, base=tmp_path)
    assert err.value.field == "problem.A.file"
    assert "allow_pickle=False" in str(err.value)
    assert not marker.exists()


def test_file_references_are_saved_relative_to_the_session(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "sessions" / "mine").mkdir(parents=True)
    a = np.array([[2.0, 0.0], [0.0, 4.0]])
    np.save(tmp_path / "data" / "a.npy", a)
    (tmp_path / "data" / "s.json").write_text(
        json.dumps({"problem": {"A": {"file": "a.npy"}, "b": [1.0, 1.0]}})
    )

    s = sessions.load(tmp_path / "data" / "s.json")
    target = tmp_path / "sessions" / "mine" / "copy.json"
    sessions.save(s, target)
    saved = json.loads(target.read_text())
    assert saved["problem"]["A"] == {"file": "../../data/a.npy"}
    assert saved["problem"]["b"] == [1.0, 1.0]  # typed-in values stay inline
    np.testing.assert_array_equal(sessions.load(target).problem.A, a)


def test_a_sparse_session_keeps_its_matrix_beside_it_in_a_small_file(tmp_path: Path) -> None:
    from solver.sessions import builders

    s = builders.poisson(60, 70)  # 4,200 unknowns, 20,740 stored entries
    path = tmp_path / "poisson.json"
    sessions.save(s, path)
    saved = json.loads(path.read_text())
    assert saved["problem"]["A"] == {"file": "poisson.A.npz"}
    assert saved["problem"]["storage"] == "sparse"
    # b on one line, not one number per line (it was 20 bytes a number and a line each)
    assert len(path.read_text().splitlines()) < 40
    assert path.stat().st_size < 8 * s.problem.b.size
    assert (tmp_path / "poisson.A.npz").stat().st_size < 16 * s.problem.A.nnz
    assert not list(tmp_path.glob("*.tmp*"))
    again = sessions.load(path)
    assert again.problem.sparse and (again.problem.A != s.problem.A).nnz == 0
    np.testing.assert_array_equal(again.problem.b, s.problem.b)
    assert (again.loss, again.lr, again.max_iters) == (s.loss, s.lr, s.max_iters)
    # saved again elsewhere it refers to that file, not a copy
    (tmp_path / "sub").mkdir()
    sessions.save(again, tmp_path / "sub" / "copy.json")
    copied = json.loads((tmp_path / "sub" / "copy.json").read_text())
    assert copied["problem"]["A"] == {"file": "../poisson.A.npz"}


def test_a_dense_matrix_is_saved_a_row_per_line(tmp_path: Path) -> None:
    a = np.random.default_rng(3).standard_normal((30, 30))
    s = sessions.make(LinearSystem(a, np.ones(30)), lr=0.01)
    sessions.save(s, tmp_path / "s.json")
    lines = (tmp_path / "s.json").read_text().splitlines()
    assert len(lines) < 30 + 30
    assert sum(line.count(",") >= 29 for line in lines) == 31  # the 30 rows and b, whole
    again = sessions.load(tmp_path / "s.json")
    np.testing.assert_array_equal(again.problem.A, a)  # every digit kept


def test_a_small_sparse_matrix_stays_inline(tmp_path: Path) -> None:
    a = scipy.sparse.csr_array(scipy.sparse.eye(3000) * 4.0)  # 3,000 stored entries
    s = sessions.make(LinearSystem(a, np.ones(3000)), lr=0.1)
    sessions.save(s, tmp_path / "s.json")
    saved = json.loads((tmp_path / "s.json").read_text())
    assert set(saved["problem"]["A"]) == {"shape", "rows", "cols", "values"}
    assert list(tmp_path.iterdir()) == [tmp_path / "s.json"]
    assert (sessions.load(tmp_path / "s.json").problem.A != a).nnz == 0


# -- refused sessions ------------------------------------------------------------------------
def _set(path: str, value: object) -> Callable[[dict, Path], dict]:
    """A mutation of the valid session: set the dotted ``path`` to ``value``."""

    def mutate(data: dict, tmp: Path) -> dict:
        *parents, last = path.split(".")
        node = data
        for p in parents:
            node = node[p]
        node[last] = value
        return data

    return mutate


def _file(name: str, content: str | None) -> Callable[[dict, Path], dict]:
    def mutate(data: dict, tmp: Path) -> dict:
        if content is not None:
            (tmp / name).write_text(content)
        data["problem"]["A"] = {"file": name}
        return data

    return mutate


def _drop(key: str) -> Callable[[dict, Path], dict]:
    def mutate(data: dict, tmp: Path) -> dict:
        del data[key]
        return data

    return mutate


NAN = float("nan")
BAD = [
    ("unknown top-level key", _set("colour", "blue"), "colour", "unknown key"),
    (
        "unknown optimizer key",
        _set("optimizer.momentum", 0.9),
        "optimizer.momentum",
        "unknown key for gd",
    ),
    ("lr zero", _set("optimizer.lr", 0), "optimizer.lr", "> 0"),
    ("lr negative", _set("optimizer.lr", -1e-3), "optimizer.lr", "> 0"),
    ("lr not a number", _set("optimizer.lr", "fast"), "optimizer.lr", "> 0"),
    ("lr a boolean", _set("optimizer.lr", True), "optimizer.lr", "> 0"),
    ("max_iters negative", _set("stop.max_iters", -1), "stop.max_iters", ">= 0"),
    ("max_iters fractional", _set("stop.max_iters", 10.5), "stop.max_iters", "integer"),
    ("tol negative", _set("stop.tol", -1e-9), "stop.tol", ">= 0"),
    ("unknown stop key", _set("stop.patience", 3), "stop.patience", "unknown key"),
    ("b too short", _set("problem.b", [1, 2]), "problem.b", "2 entries but A has 3 rows"),
    (
        "NaN entry",
        _set("problem.A", [[1, NAN, 0], [0, 1, 0], [0, 0, 1]]),
        "problem.A",
        "entry [0, 1] is nan",
    ),
    ("infinite entry", _set("problem.b", [1, math.inf, 3]), "problem.b", "entry [1] is inf"),
    (
        "non-numeric entry",
        _set("problem.A", [[1, "two", 0], [0, 1, 0], [0, 0, 1]]),
        "problem.A",
        "expected numbers",
    ),
    (
        "ragged rows",
        _set("problem.A", [[1, 2, 0], [0, 1], [0, 0, 1]]),
        "problem.A",
        "equal-length rows",
    ),
    ("empty matrix", _set("problem.A", [[]]), "problem.A", "is empty"),
    ("matrix as a number", _set("problem.A", 5), "problem.A", "expected a list of numbers"),
    ("3-D matrix", _set("problem.A", [[[1]]]), "problem.A", "2-D"),
    (
        "non-square M",
        _set("problem", {"kind": "inverse", "M": [[1, 2, 3], [4, 5, 6]]}),
        "problem.M",
        "must be square",
    ),
    (
        "singular M",
        _set("problem", {"kind": "inverse", "M": [[1, 2], [2, 4]]}),
        "problem.M",
        "singular",
    ),
    (
        "unknown side",
        _set("problem", {"kind": "inverse", "M": [[1]], "side": "top"}),
        "problem.side",
        "unknown side",
    ),
    ("unknown problem kind", _set("problem.kind", "eigen"), "problem.kind", "unknown kind"),
    ("unknown problem key", _set("problem.M", [[1]]), "problem.M", "unknown key"),
    ("missing b", _set("problem", {"A": [[1]]}), "problem.b", "missing"),
    ("missing problem", _drop("problem"), "problem", "missing"),
    ("unknown loss", _set("loss", "log_cosh"), "loss", "unknown loss 'log_cosh'"),
    (
        "unknown optimizer",
        _set("optimizer", {"name": "adadelta", "lr": 1}),
        "optimizer.name",
        "unknown optimizer 'adadelta'",
    ),
    ("unknown device", _set("device", "tpu"), "device", "unknown device"),
    ("unavailable cuda", _set("device", "cuda:0"), "device", "unavailable"),
    ("unknown dtype", _set("dtype", "float16"), "dtype", "unknown dtype"),
    ("missing file", _file("absent.mtx", None), "problem.A.file", "no such file"),
    (
        "malformed mtx",
        _file("bad.mtx", "%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1.0\n"),
        "problem.A.file",
        "says 2 entries, but the file has 1",
    ),
    ("not a matrix market file", _file("bad.mtx", "hello\n"), "problem.A.file", "cannot read"),
    (
        "bad csv cell",
        _file("a.csv", "1,2,0\n0,x,0\n0,0,1\n"),
        "problem.A.file",
        "'x' is not a number",
    ),
    ("unsupported file type", _file("a.txt", "1 2\n"), "problem.A.file", "unsupported file type"),
    (
        "extra key in file reference",
        _set("problem.A", {"file": "a.csv", "sheet": 1}),
        "problem.A.sheet",
        "unknown key",
    ),
    ("bad version", _set("version", 2), "version", "unsupported version 2"),
    ("energy on non-SPD", _set("loss", "energy"), "loss", "symmetric"),
    (
        "polyfit degree too large",
        _set("problem", {"kind": "polyfit", "x": [0, 1, 2], "y": [1, 2, 3], "degree": 3}),
        "problem.degree",
        "from 0 to 2",
    ),
    (
        "polyfit x and y differ",
        _set("problem", {"kind": "polyfit", "x": [0, 1, 2], "y": [1, 2], "degree": 1}),
        "problem.y",
        "2 samples but x has 3",
    ),
    (
        "init values wrong size",
        _set("init", {"kind": "values", "x": [1, 2]}),
        "init.x",
        "2 values but the problem has 3 unknowns",
    ),
    ("init values missing", _set("init", {"kind": "values"}), "init.x", "missing"),
    ("unknown init kind", _set("init", {"kind": "ones"}), "init.kind", "unknown kind"),
    ("negative seed", _set("init", {"kind": "rand", "seed": -1}), "init.seed", ">= 0"),
    ("seed for zeros", _set("init", {"kind": "zeros", "seed": 3}), "init.seed", "unknown key"),
    (
        "nesterov without momentum",
        _set("optimizer", {"name": "sgd", "lr": 0.1, "nesterov": True}),
        "optimizer.nesterov",
        "Nesterov momentum requires a momentum",
    ),
    (
        "negative momentum",
        _set("optimizer", {"name": "sgd", "lr": 0.1, "momentum": -0.5}),
        "optimizer.momentum",
        ">= 0 and at most",
    ),
    (
        "betas out of range",
        _set("optimizer", {"name": "adam", "lr": 0.1, "betas": [1.5, 0.999]}),
        "optimizer.betas",
        "Invalid beta parameter at index 0",
    ),
    (
        "momentum as text",
        _set("optimizer", {"name": "sgd", "lr": 0.1, "momentum": "high"}),
        "optimizer.momentum",
        "expected a value like 0",
    ),
    ("optimizer not an object", _set("optimizer", "gd"), "optimizer", "expected an object"),
]


@pytest.mark.parametrize(
    ("mutate", "field", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_a_bad_session_is_refused_naming_the_key(
    mutate: Callable[[dict, Path], dict], field: str, words: str, tmp_path: Path
) -> None:
    if field == "device" and words == "unavailable" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    data = mutate(valid(), tmp_path)
    with pytest.raises(InputError) as err:
        sessions.from_dict(data, base=tmp_path)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")  # the one-line report names the key
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_there_are_enough_bad_sessions() -> None:
    assert len(BAD) >= 15 and len({b[0] for b in BAD}) == len(BAD)


def test_broken_json_names_the_session(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        sessions.loads('{"problem": ')
    assert err.value.field == "session" and "not valid JSON" in str(err.value)
    with pytest.raises(InputError) as err:
        sessions.load(tmp_path / "nowhere.json")
    assert err.value.field == "session" and "cannot read" in str(err.value)
    with pytest.raises(InputError) as err:
        sessions.loads("[1, 2]")
    assert err.value.field == "session"
