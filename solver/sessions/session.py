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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from solver.core import limits
from solver.core.errors import InputError, short
from solver.core.fileguard import SESSION_MAX_BYTES, read_text
from solver.problems.kinds import check_loss, kind_of
from solver.problems.linear import Problem
from solver.problems.losses import LOSSES
from solver.settings import optimizers
from solver.settings.devices import check_device
from solver.settings.precisions import NAMES

from .problem_json import check_keys, problem_dict, read_array, read_problem, require

VERSION = 1
DTYPES = tuple(sorted(NAMES))  # as the refusal lists them
INIT_KINDS = ("zeros", "rand", "randn", "values")

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


def from_dict(data: object, base: Path | None = None) -> Session:
    """Validate a session dictionary (parsed JSON) and build its problem."""
    check_keys(data, _TOP_KEYS, "")
    version = data.get("version", VERSION)
    require(
        version == VERSION, "version", f"unsupported version {_short(version)}; expected {VERSION}"
    )
    require("problem" in data, "problem", "missing; a session needs a problem")
    files: dict[str, str] = {}
    problem = read_problem(data["problem"], base, files)
    return _with_settings(problem, data, base, files)


def _with_settings(
    problem: Problem, data: Mapping, base: Path | None, files: dict[str, str]
) -> Session:
    """Validate every key but the problem against ``problem`` and build the Session."""
    loss = data.get("loss", kind_of(problem).default_loss)
    require(
        isinstance(loss, str) and loss in LOSSES,
        "loss",
        f"unknown loss {_short(loss)}; expected one of {sorted(LOSSES)}",
    )

    opt_obj = data.get("optimizer", {"name": "gd", "lr": 0.1})
    require(isinstance(opt_obj, dict), "optimizer", f"expected an object, got {_short(opt_obj)}")
    opt = dict(opt_obj)
    name = opt.pop("name", "gd")
    lr = opt.pop("lr", 0.1)
    optimizers.validate(name, lr, opt)

    init = data.get("init", {"kind": "zeros"})
    require(isinstance(init, dict), "init", f"expected an object, got {_short(init)}")
    ikind = init.get("kind", "zeros")
    require(
        ikind in INIT_KINDS,
        "init.kind",
        f"unknown kind {_short(ikind)}; expected one of {INIT_KINDS}",
    )
    init_keys = {"rand": {"seed"}, "randn": {"seed"}, "values": {"x"}}.get(ikind, set())
    check_keys(init, {"kind", *init_keys}, "init")
    seed = init.get("seed", 0)
    limits.SEED.check(seed)
    values = None
    if ikind == "values":
        require("x" in init, "init.x", "missing; init kind 'values' needs x")
        values = read_array(init["x"], "init.x", base, {}, (1, 2))
        want = int(np.prod(problem.unknown_shape))
        require(
            values.size == want,
            "init.x",
            f"has {values.size} values but the problem has {want} unknowns {problem.unknown_shape}",
        )
        values = values.reshape(problem.unknown_shape)

    stop = check_keys(data.get("stop", {}), {"max_iters", "tol", "divergence"}, "stop")
    max_iters = stop.get("max_iters", 1000)
    limits.MAX_ITERS.check(max_iters)
    tol = stop.get("tol", 0.0)
    limits.TOL.check(tol)
    divergence = stop.get("divergence", True)  # sessions from before the key stopped late
    require(
        isinstance(divergence, bool),
        "stop.divergence",
        f"expected true or false (stop when divergence is certain), got {_short(divergence)}",
    )

    dtype = data.get("dtype", "float64")
    require(
        isinstance(dtype, str) and dtype in DTYPES,
        "dtype",
        f"unknown dtype {_short(dtype)}; expected one of {DTYPES}",
    )
    require(
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


def to_dict(s: Session, base: Path | None = None, files: Mapping[str, str] | None = None) -> dict:
    """The JSON form of ``s``; file references (``s.files``, or ``files`` when given) are
    written relative to ``base``."""
    refs = s.files if files is None else files
    problem = problem_dict(s.problem, base, refs)
    return {"version": VERSION, "problem": problem, **_settings(_fields(s))}


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
