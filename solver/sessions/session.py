"""Session files (JSON, version 1): everything needed to reproduce a run.

Unknown keys are errors naming the key; missing keys take the defaults listed in docs/SESSIONS.md.

A Session never changes: its problem's arrays, its initial values and its mappings are
read-only, and ``replace``/``with_problem`` return new, validated sessions. Importing this
module does not load torch: a ``gd`` session on the CPU is validated without it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from solver.core import limits
from solver.core.errors import InputError, key_text, short
from solver.core.fileguard import SESSION_MAX_BYTES, read_text
from solver.matrices.matrixio import STORAGES, check_array, load_matrix, load_operator
from solver.problems.kinds import KINDS, check_loss, kind_of
from solver.problems.linear import Problem
from solver.problems.losses import LOSSES
from solver.settings import optimizers
from solver.settings.devices import check_device
from solver.settings.precisions import NAMES

VERSION = 1
DTYPES = tuple(sorted(NAMES))  # as the refusal lists them
INIT_KINDS = ("zeros", "rand", "randn", "values")
PROBLEM_KINDS = tuple(KINDS)

_TOP_KEYS = {"version", "problem", "loss", "optimizer", "init", "stop", "dtype", "device"}


class ReadOnlyDict(dict):
    """A dict that refuses every change: a session's mappings are part of the session.
    ``dict(d)`` is an editable copy."""

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError("a session never changes; make a new one with Session.replace")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _refuse

    def __reduce__(self) -> tuple:
        return (ReadOnlyDict, (dict(self),))

    def __copy__(self) -> ReadOnlyDict:
        return self

    def __deepcopy__(self, memo: dict) -> ReadOnlyDict:
        return ReadOnlyDict(copy.deepcopy(dict(self), memo))


@dataclass(frozen=True, eq=False)
class Session:
    """A validated session. ``problem`` is built; ``files`` remembers matrices read from disk.

    Frozen, and compared by identity (comparing arrays has no single truth value).
    """

    problem: Problem
    loss: str = "half_sum_squares"
    optimizer: str = "gd"
    lr: float = 0.1
    optimizer_args: Mapping[str, object] = field(default_factory=dict)
    init: str = "zeros"
    seed: int = 0
    init_values: np.ndarray | None = None
    max_iters: int = 1000
    tol: float = 0.0
    # stop as soon as a divergence is certain (``solver.problems.divergence``), not at the overflow
    stop_on_divergence: bool = True
    dtype: str = "float64"
    device: str = "cpu"
    files: Mapping[str, str] = field(default_factory=dict)  # problem key -> absolute path

    def __post_init__(self) -> None:
        for arr in kind_of(self.problem).arrays_of(self.problem).values():
            if isinstance(arr, np.ndarray):  # a sparse one's arrays are read-only already
                arr.flags.writeable = False
        if self.init_values is not None:
            values = np.array(self.init_values, dtype=np.float64)  # private: the caller's stays
            values.flags.writeable = False
            object.__setattr__(self, "init_values", values)
        # Lists (betas) become tuples, so that no part of the session can be edited in place.
        args = {k: tuple(v) if isinstance(v, list) else v for k, v in self.optimizer_args.items()}
        object.__setattr__(self, "optimizer_args", ReadOnlyDict(args))
        object.__setattr__(self, "files", ReadOnlyDict(self.files))

    def __reduce__(self) -> tuple:
        # Rebuilt through __init__, so that a copy (or an unpickled session) is frozen too.
        return (_rebuild, (_fields(self),))

    def replace(self, **changes: object) -> Session:
        """A new session with ``changes``, validated as a whole (this one is untouched)."""
        values = _fields(self)
        for k in changes:
            if k not in values:
                raise AttributeError(k)
        values.update(changes)
        # The problem object is already validated; only the settings go through the checks
        # (a round trip through JSON lists would cost seconds for a 2000 x 2000 matrix).
        return _with_settings(values["problem"], _settings(values), None, dict(values["files"]))

    def with_problem(self, problem: Problem, **changes: object) -> Session:
        """The same settings (but ``changes``, Session field names) on another (already
        validated) problem; no file references."""
        values = _fields(self)
        values.update(changes)
        return _with_settings(problem, _settings(values), None, {})


def _fields(s: Session) -> dict[str, object]:
    return {f.name: getattr(s, f.name) for f in dataclasses.fields(s)}


def _rebuild(values: dict[str, object]) -> Session:
    return Session(**values)


_short = short


def make(problem: Problem, **settings: object) -> Session:
    """A validated Session for ``problem`` with ``settings`` (Session field names); the
    loss defaults to the one the problem's kind takes by default."""
    return Session(problem=problem, loss=kind_of(problem).default_loss).replace(**settings)


def _require(cond: bool, fld: str, msg: str) -> None:
    if not cond:
        raise InputError(fld, msg)


def _check_keys(obj: object, allowed: set[str], where: str) -> dict:
    _require(isinstance(obj, dict), where or "session", f"expected an object, got {_short(obj)}")
    for key in obj:
        if key not in allowed:
            name = f"{where}.{key_text(key)}" if where else key_text(key)
            raise InputError(name, f"unknown key; expected one of {sorted(allowed)}")
    return obj


_COORDINATE_KEYS = {"shape", "rows", "cols", "values"}


def _coordinates(value: dict, fld: str) -> object:
    """A sparse matrix written inline: {"shape": [m, n], "rows", "cols" (1-based, as the
    window and Matrix Market count), "values"}."""
    import scipy.sparse as sp

    from solver.matrices.sparseio import check_sparse

    _check_keys(value, _COORDINATE_KEYS, fld)
    for key in sorted(_COORDINATE_KEYS):
        _require(key in value, f"{fld}.{key}", "missing; an inline sparse matrix needs it")
    shape = value["shape"]
    _require(
        isinstance(shape, list)
        and len(shape) == 2
        and all(limits.SPARSE_SIZE.holds(d) for d in shape),
        f"{fld}.shape",
        f"expected [rows, columns] of positive integers, got {_short(shape)}",
    )
    cols = {}
    for key in ("rows", "cols", "values"):
        try:
            cols[key] = np.asarray(value[key], dtype=np.int64 if key != "values" else np.float64)
        except (ValueError, TypeError, OverflowError):
            raise InputError(f"{fld}.{key}", "expected a list of numbers") from None
        _require(cols[key].ndim == 1, f"{fld}.{key}", "expected a flat list of numbers")
    n = len(cols["values"])
    for key in ("rows", "cols"):
        _require(
            len(cols[key]) == n,
            f"{fld}.{key}",
            f"has {len(cols[key])} entries but values has {n}; they must match",
        )
        top = shape[0] if key == "rows" else shape[1]
        bad = np.flatnonzero((cols[key] < 1) | (cols[key] > top))
        _require(
            not bad.size,
            f"{fld}.{key}[{bad[0] if bad.size else 0}]",
            f"{cols[key][bad[0]] if bad.size else 0} is outside 1..{top}",
        )
    m = sp.coo_array((cols["values"], (cols["rows"] - 1, cols["cols"] - 1)), shape=tuple(shape))
    return check_sparse(m, fld)


def _array(
    value: object,
    fld: str,
    base: Path | None,
    files: dict,
    ndim: tuple,
    storage: str | None = None,
) -> np.ndarray:
    """An array of the problem from its JSON form. ``storage`` (the problem's matrix only):
    "auto", "dense" or "sparse", and the matrix may be sparse."""
    if isinstance(value, dict) and storage is not None and "file" not in value:
        return _stored(_coordinates(value, fld), storage, fld)
    if isinstance(value, dict) and storage is not None:
        _check_keys(value, {"file"}, fld)
        ref = value["file"]
        _require(isinstance(ref, str) and ref, f"{fld}.file", f"expected a path, got {_short(ref)}")
        path = Path(ref)
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        arr = load_operator(path, f"{fld}.file", storage)
        files[fld.split(".", 1)[1]] = str(path.resolve())
        return arr if not isinstance(arr, np.ndarray) else check_array(arr, fld, ndim=ndim)
    if isinstance(value, dict):
        _check_keys(value, {"file"}, fld)
        _require("file" in value, f"{fld}.file", "missing; a file reference needs a path")
        ref = value["file"]
        _require(isinstance(ref, str) and ref, f"{fld}.file", f"expected a path, got {_short(ref)}")
        path = Path(ref)
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        arr = load_matrix(path, f"{fld}.file")
        files[fld.split(".", 1)[1]] = str(path.resolve())
        if arr.ndim == 2 and ndim == (1,) and 1 in arr.shape:
            arr = arr.reshape(-1)
        return check_array(arr, fld, ndim=ndim)
    if isinstance(value, list | tuple):
        try:
            arr = np.array(value, dtype=np.float64)
        except (ValueError, TypeError):
            raise InputError(
                fld, "expected numbers in equal-length rows (a list of lists of numbers)"
            ) from None
        except OverflowError:
            raise InputError(
                fld, "an entry is too large for a float (at most about 1.8e308)"
            ) from None
        return (
            _stored(check_array(arr, fld, ndim=ndim), storage, fld)
            if storage
            else check_array(arr, fld, ndim=ndim)
        )
    raise InputError(fld, f"expected a list of numbers or {{'file': path}}, got {_short(value)}")


def _stored(arr: object, storage: str, fld: str) -> object:
    """``arr`` held as ``storage`` asks: inline lists are dense and inline coordinates
    sparse unless the session says otherwise."""
    from solver.matrices.sparseio import check_sparse, is_sparse

    if storage == "sparse" and not is_sparse(arr):
        import scipy.sparse as sp

        return check_sparse(sp.csr_array(arr), fld)
    if storage == "dense" and is_sparse(arr):
        return check_array(arr.toarray(), fld, ndim=(2,))
    return arr


def _problem(obj: object, base: Path | None, files: dict) -> Problem:
    _require(isinstance(obj, dict), "problem", f"expected an object, got {_short(obj)}")
    name = obj.get("kind", "linear_system")
    _require(
        isinstance(name, str) and name in KINDS,
        "problem.kind",
        f"unknown kind {_short(name)}; expected one of {PROBLEM_KINDS}",
    )
    kind = KINDS[name]
    sparse_key = kind.sparse_key  # the array that may be held sparse ("storage")
    extra = {"storage"} if sparse_key else set()
    _check_keys(
        obj,
        {"kind", *extra, *(a.key for a in kind.arrays), *(p.key for p in kind.params)},
        "problem",
    )
    storage = obj.get("storage", "auto")
    _require(
        storage in STORAGES,
        "problem.storage",
        f"unknown storage {_short(storage)}; expected one of {STORAGES}",
    )
    needed = [a.key for a in kind.arrays] + [p.key for p in kind.params if p.required]
    for key in sorted(needed):
        _require(key in obj, f"problem.{key}", f"missing; a {name} problem needs it")
    # Parameters with a list of choices are checked before any (perhaps large) array is read.
    params = kind.check_params({p.key: obj[p.key] for p in kind.params if p.key in obj})
    arrays = {
        a.key: _array(
            obj[a.key],
            f"problem.{a.key}",
            base,
            files,
            (a.ndim,),
            storage if a.key == sparse_key else None,
        )
        for a in kind.arrays
    }
    return kind.build(arrays, params)


def from_dict(data: object, base: Path | None = None) -> Session:
    """Validate a session dictionary (parsed JSON) and build its problem."""
    _check_keys(data, _TOP_KEYS, "")
    version = data.get("version", VERSION)
    _require(
        version == VERSION, "version", f"unsupported version {_short(version)}; expected {VERSION}"
    )
    _require("problem" in data, "problem", "missing; a session needs a problem")
    files: dict[str, str] = {}
    problem = _problem(data["problem"], base, files)
    return _with_settings(problem, data, base, files)


def _with_settings(
    problem: Problem, data: Mapping, base: Path | None, files: dict[str, str]
) -> Session:
    """Validate every key but the problem against ``problem`` and build the Session."""
    loss = data.get("loss", kind_of(problem).default_loss)
    _require(
        isinstance(loss, str) and loss in LOSSES,
        "loss",
        f"unknown loss {_short(loss)}; expected one of {sorted(LOSSES)}",
    )

    opt_obj = data.get("optimizer", {"name": "gd", "lr": 0.1})
    _require(isinstance(opt_obj, dict), "optimizer", f"expected an object, got {_short(opt_obj)}")
    opt = dict(opt_obj)
    name = opt.pop("name", "gd")
    lr = opt.pop("lr", 0.1)
    optimizers.validate(name, lr, opt)

    init = data.get("init", {"kind": "zeros"})
    _require(isinstance(init, dict), "init", f"expected an object, got {_short(init)}")
    ikind = init.get("kind", "zeros")
    _require(
        ikind in INIT_KINDS,
        "init.kind",
        f"unknown kind {_short(ikind)}; expected one of {INIT_KINDS}",
    )
    init_keys = {"rand": {"seed"}, "randn": {"seed"}, "values": {"x"}}.get(ikind, set())
    _check_keys(init, {"kind", *init_keys}, "init")
    seed = init.get("seed", 0)
    limits.SEED.check(seed)
    values = None
    if ikind == "values":
        _require("x" in init, "init.x", "missing; init kind 'values' needs x")
        values = _array(init["x"], "init.x", base, {}, (1, 2))
        want = int(np.prod(problem.unknown_shape))
        _require(
            values.size == want,
            "init.x",
            f"has {values.size} values but the problem has {want} unknowns {problem.unknown_shape}",
        )
        values = values.reshape(problem.unknown_shape)

    stop = _check_keys(data.get("stop", {}), {"max_iters", "tol", "divergence"}, "stop")
    max_iters = stop.get("max_iters", 1000)
    limits.MAX_ITERS.check(max_iters)
    tol = stop.get("tol", 0.0)
    limits.TOL.check(tol)
    divergence = stop.get("divergence", True)  # sessions from before the key stopped late
    _require(
        isinstance(divergence, bool),
        "stop.divergence",
        f"expected true or false (stop when divergence is certain), got {_short(divergence)}",
    )

    dtype = data.get("dtype", "float64")
    _require(
        isinstance(dtype, str) and dtype in DTYPES,
        "dtype",
        f"unknown dtype {_short(dtype)}; expected one of {DTYPES}",
    )
    _require(
        dtype != "float32" or limits.LR_FLOAT32.holds(lr),
        "optimizer.lr",
        f"{_short(lr)} is beyond float32; a float32 session's lr is at most "
        f"{limits.LR_FLOAT32.hi:.8g}",
    )
    device = data.get("device", "cpu")
    check_device(device)

    session = Session(
        problem=problem,
        loss=loss,
        optimizer=name,
        lr=float(lr),
        optimizer_args=opt,
        init=ikind,
        seed=seed,
        init_values=values,
        max_iters=max_iters,
        tol=float(tol),
        stop_on_divergence=divergence,
        dtype=dtype,
        device=device,
        files=files,
    )
    check_loss(loss, problem)
    return session


def problem_arrays(problem: Problem) -> dict[str, np.ndarray]:
    """The arrays a session file stores for ``problem``, by their key under "problem"."""
    return kind_of(problem).arrays_of(problem)


def _problem_dict(s: Session, base: Path | None, files: Mapping[str, str]) -> dict:
    kind = kind_of(s.problem)
    out: dict = {"kind": kind.name}
    for key, value in kind.arrays_of(s.problem).items():
        if key in files:
            path = files[key]
            out[key] = {"file": os.path.relpath(path, base) if base else path}
        elif isinstance(value, np.ndarray):
            out[key] = value.tolist()
        else:  # sparse: its coordinates, 1-based
            coo = value.tocoo()
            out[key] = {
                "shape": [int(d) for d in value.shape],
                "rows": (coo.row.astype(np.int64) + 1).tolist(),
                "cols": (coo.col.astype(np.int64) + 1).tolist(),
                "values": coo.data.tolist(),
            }
    if getattr(s.problem, "sparse", False):
        out["storage"] = "sparse"
    out.update(kind.params_of(s.problem))
    return out


def to_dict(s: Session, base: Path | None = None, files: Mapping[str, str] | None = None) -> dict:
    """The JSON form of ``s``; file references (``s.files``, or ``files`` when given) are
    written relative to ``base``."""
    refs = s.files if files is None else files
    return {"version": VERSION, "problem": _problem_dict(s, base, refs), **_settings(_fields(s))}


def _settings(values: Mapping[str, object]) -> dict:
    """The settings part of a session file, from Session field values."""
    init: dict = {"kind": values["init"]}
    if values["init"] in ("rand", "randn"):
        init["seed"] = values["seed"]
    elif values["init"] == "values":
        init["x"] = np.asarray(values["init_values"]).tolist()
    return {
        "loss": values["loss"],
        "optimizer": {"name": values["optimizer"], "lr": values["lr"], **values["optimizer_args"]},
        "init": init,
        "stop": {
            "max_iters": values["max_iters"],
            "tol": values["tol"],
            "divergence": values["stop_on_divergence"],
        },
        "dtype": values["dtype"],
        "device": values["device"],
    }


def loads(text: str, base: Path | None = None) -> Session:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError("session", f"not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError("session", "nested too deeply to be a session") from None
    return from_dict(data, base)


def load(path: str | Path) -> Session:
    path = Path(path)
    text = read_text(path, "session", SESSION_MAX_BYTES, "session")  # only a regular file
    return loads(text, path.resolve().parent)


def save(s: Session, path: str | Path, beside: bool = True) -> None:
    """Write atomically: a crash or full disk never leaves a half session or a temporary file.

    ``beside``: a large sparse matrix without a file of its own is written beside the
    session and referenced (``session_text.write_beside``); the autosave, which writes its
    pieces itself, says False. The JSON is compact (``session_text.dumps``)."""
    from solver.core.atomic import replacing

    from .session_text import dumps, write_beside

    path = Path(path)
    files = write_beside(s.problem, s.files, path) if beside else s.files
    text = dumps(to_dict(s, path.resolve().parent, files))
    with replacing(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
