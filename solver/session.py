"""Session files (JSON, version 1): everything needed to reproduce a run.

Unknown keys are errors naming the key; missing keys take the defaults of DESIGN.md.
"""

from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import optimizers
from .devices import resolve_device
from .errors import InputError
from .losses import LOSSES, check_applicable
from .matrixio import check_array, load_matrix
from .problems import SIDES, Inverse, LinearSystem, Polyfit

VERSION = 1
DTYPES = ("float32", "float64")
INIT_KINDS = ("zeros", "rand", "randn", "values")
PROBLEM_KINDS = ("linear_system", "inverse", "polyfit")

_PROBLEM_KEYS = {
    "linear_system": {"kind", "A", "b"},
    "inverse": {"kind", "M", "side"},
    "polyfit": {"kind", "x", "y", "degree"},
}
_TOP_KEYS = {"version", "problem", "loss", "optimizer", "init", "stop", "dtype", "device"}


@dataclass
class Session:
    """A validated session. ``problem`` is built; ``files`` remembers matrices read from disk."""

    problem: LinearSystem | Inverse
    loss: str = "half_sum_squares"
    optimizer: str = "gd"
    lr: float = 0.1
    optimizer_args: dict = field(default_factory=dict)
    init: str = "zeros"
    seed: int = 0
    init_values: np.ndarray | None = None
    max_iters: int = 1000
    tol: float = 0.0
    dtype: str = "float64"
    device: str = "cpu"
    files: dict[str, str] = field(default_factory=dict)  # problem key -> absolute path

    def replace(self, **changes: object) -> Session:
        """A copy with ``changes``, validated as a whole (the original is untouched)."""
        new = copy.copy(self)
        new.optimizer_args = dict(self.optimizer_args)
        new.files = dict(self.files)
        for k, v in changes.items():
            if not hasattr(new, k):
                raise AttributeError(k)
            setattr(new, k, v)
        # The problem object is already validated; only the settings go through the checks
        # (a round trip through JSON lists would cost seconds for a 2000 x 2000 matrix).
        return _with_settings(new.problem, _settings_dict(new), None, new.files)

    def with_problem(self, problem: LinearSystem | Inverse) -> Session:
        """The same settings on another (already validated) problem."""
        return _with_settings(problem, _settings_dict(self), None, {})


def _short(value: object) -> str:
    """A bounded description of a value for a message: never the repr of a huge matrix."""
    if isinstance(value, list | tuple | np.ndarray) and len(value) > 8:
        return f"a {type(value).__name__} of {len(value)} items"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def make(problem: LinearSystem | Inverse, **settings: object) -> Session:
    """A validated Session for ``problem`` with ``settings`` (Session field names)."""
    return Session(problem=problem).replace(**settings)


def _require(cond: bool, fld: str, msg: str) -> None:
    if not cond:
        raise InputError(fld, msg)


def _check_keys(obj: object, allowed: set[str], where: str) -> dict:
    _require(isinstance(obj, dict), where or "session", f"expected an object, got {_short(obj)}")
    for key in obj:
        if key not in allowed:
            name = f"{where}.{key}" if where else key
            raise InputError(name, f"unknown key; expected one of {sorted(allowed)}")
    return obj


def _array(value: object, fld: str, base: Path | None, files: dict, ndim: tuple) -> np.ndarray:
    if isinstance(value, dict):
        _check_keys(value, {"file"}, fld)
        _require("file" in value, f"{fld}.file", "missing; a file reference needs a path")
        ref = value["file"]
        _require(isinstance(ref, str) and ref, f"{fld}.file", f"expected a path, got {ref!r}")
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
        return check_array(arr, fld, ndim=ndim)
    raise InputError(fld, f"expected a list of numbers or {{'file': path}}, got {_short(value)}")


def _problem(obj: object, base: Path | None, files: dict) -> LinearSystem | Inverse:
    _require(isinstance(obj, dict), "problem", f"expected an object, got {_short(obj)}")
    kind = obj.get("kind", "linear_system")
    _require(
        kind in PROBLEM_KINDS,
        "problem.kind",
        f"unknown kind {kind!r}; expected one of {PROBLEM_KINDS}",
    )
    _check_keys(obj, _PROBLEM_KEYS[kind], "problem")
    for key in sorted(_PROBLEM_KEYS[kind] - {"kind", "side"}):
        _require(key in obj, f"problem.{key}", f"missing; a {kind} problem needs it")
    if kind == "linear_system":
        a = _array(obj["A"], "problem.A", base, files, (2,))
        b = _array(obj["b"], "problem.b", base, files, (1,))
        return LinearSystem(a, b)
    if kind == "inverse":
        side = obj.get("side", "left")
        _require(side in SIDES, "problem.side", f"unknown side {side!r}; expected one of {SIDES}")
        return Inverse(_array(obj["M"], "problem.M", base, files, (2,)), side)
    xs = _array(obj["x"], "problem.x", base, files, (1,))
    ys = _array(obj["y"], "problem.y", base, files, (1,))
    deg = obj["degree"]
    _require(
        isinstance(deg, int) and not isinstance(deg, bool) and 0 <= deg < xs.size,
        "problem.degree",
        f"expected an integer from 0 to {xs.size - 1} (below the {xs.size} samples), "
        f"got {deg!r}",
    )
    return Polyfit(xs, ys, deg)


def from_dict(data: object, base: Path | None = None) -> Session:
    """Validate a session dictionary (parsed JSON) and build its problem."""
    _check_keys(data, _TOP_KEYS, "")
    version = data.get("version", VERSION)
    _require(version == VERSION, "version", f"unsupported version {version!r}; expected {VERSION}")
    _require("problem" in data, "problem", "missing; a session needs a problem")
    files: dict[str, str] = {}
    problem = _problem(data["problem"], base, files)
    return _with_settings(problem, data, base, files)


def _with_settings(
    problem: LinearSystem | Inverse, data: dict, base: Path | None, files: dict[str, str]
) -> Session:
    """Validate every key but the problem against ``problem`` and build the Session."""
    loss = data.get("loss", "half_sum_squares")
    _require(loss in LOSSES, "loss", f"unknown loss {loss!r}; expected one of {sorted(LOSSES)}")

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
        ikind in INIT_KINDS, "init.kind", f"unknown kind {ikind!r}; expected one of {INIT_KINDS}"
    )
    init_keys = {"rand": {"seed"}, "randn": {"seed"}, "values": {"x"}}.get(ikind, set())
    _check_keys(init, {"kind", *init_keys}, "init")
    seed = init.get("seed", 0)
    _require(
        isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**63,
        "init.seed",
        f"expected an integer >= 0, got {seed!r}",
    )
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

    stop = _check_keys(data.get("stop", {}), {"max_iters", "tol"}, "stop")
    max_iters = stop.get("max_iters", 1000)
    _require(
        isinstance(max_iters, int) and not isinstance(max_iters, bool) and max_iters >= 0,
        "stop.max_iters",
        f"expected an integer >= 0, got {max_iters!r}",
    )
    tol = stop.get("tol", 0.0)
    _require(
        isinstance(tol, int | float) and not isinstance(tol, bool) and math.isfinite(tol)
        and tol >= 0,
        "stop.tol",
        f"expected a finite number >= 0, got {tol!r}",
    )

    dtype = data.get("dtype", "float64")
    _require(dtype in DTYPES, "dtype", f"unknown dtype {dtype!r}; expected one of {DTYPES}")
    device = data.get("device", "cpu")
    resolve_device(device)

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
        dtype=dtype,
        device=device,
        files=files,
    )
    check_applicable(loss, problem)
    return session


def problem_arrays(problem: LinearSystem | Inverse) -> dict[str, np.ndarray]:
    """The arrays a session file stores for ``problem``, by their key under "problem"."""
    if isinstance(problem, Inverse):
        return {"M": problem.M}
    if isinstance(problem, Polyfit):
        return {"x": problem.samples_x, "y": problem.samples_y}
    return {"A": problem.A, "b": problem.b}


def _problem_dict(s: Session, base: Path | None) -> dict:
    p = s.problem
    out: dict = {"kind": p.kind}
    for key, value in problem_arrays(p).items():
        if key in s.files:
            path = s.files[key]
            out[key] = {"file": os.path.relpath(path, base) if base else path}
        else:
            out[key] = value.tolist()
    if isinstance(p, Inverse):
        out["side"] = p.side
    elif isinstance(p, Polyfit):
        out["degree"] = p.degree
    return out


def to_dict(s: Session, base: Path | None = None) -> dict:
    """The JSON form of ``s``; file references are written relative to ``base``."""
    return {"version": VERSION, "problem": _problem_dict(s, base), **_settings_dict(s)}


def _settings_dict(s: Session) -> dict:
    init: dict = {"kind": s.init}
    if s.init in ("rand", "randn"):
        init["seed"] = s.seed
    elif s.init == "values":
        init["x"] = np.asarray(s.init_values).tolist()
    return {
        "loss": s.loss,
        "optimizer": {"name": s.optimizer, "lr": s.lr, **s.optimizer_args},
        "init": init,
        "stop": {"max_iters": s.max_iters, "tol": s.tol},
        "dtype": s.dtype,
        "device": s.device,
    }


def loads(text: str, base: Path | None = None) -> Session:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError("session", f"not valid JSON: {exc}") from None
    return from_dict(data, base)


def load(path: str | Path) -> Session:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("session", f"{path}: cannot read: {exc}") from None
    return loads(text, path.resolve().parent)


def save(s: Session, path: str | Path) -> None:
    """Write atomically: a crash mid-write never leaves a half session on disk."""
    path = Path(path)
    text = json.dumps(to_dict(s, path.resolve().parent), indent=2)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)
