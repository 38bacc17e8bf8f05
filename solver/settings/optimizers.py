"""Optimizers by name: plain gradient descent plus torch.optim's, validated by their own code.

The names and labels are plain Python; torch is imported when an optimizer other than ``gd``
is validated or built, so a ``gd`` session is checked without loading it.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING

from solver.core import limits
from solver.core.errors import InputError, is_finite_number, short

# L-BFGS arguments that count something: at least 1 (0 or less leaves x where it is, or fails
# inside the step).
_COUNTS = {"max_iter", "max_eval", "history_size"}

if TYPE_CHECKING:
    import torch

# name -> the torch.optim class's name; "gd" is the seeds' hand loop, not a torch optimizer.
_TORCH_CLASSES = {
    "sgd": "SGD",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "nadam": "NAdam",
    "lbfgs": "LBFGS",
}
OPTIMIZER_NAMES = ("gd", *_TORCH_CLASSES)

# Arguments that are implementation switches, not hyperparameters a user tunes here.
_HIDDEN = {"params", "lr", "foreach", "fused", "capturable", "differentiable", "maximize"}

OPTIMIZER_LABELS = {
    "gd": "Gradient descent (x ← x − lr·∇L)",
    "sgd": "SGD (momentum, Nesterov)",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "nadam": "NAdam",
    "lbfgs": "L-BFGS",
}


@dataclass(frozen=True)
class Hyperparameter:
    name: str
    default: object


def torch_optimizer_class(name: str) -> type[torch.optim.Optimizer]:
    """The torch.optim class of optimizer ``name`` (not ``gd``)."""
    import torch

    return getattr(torch.optim, _TORCH_CLASSES[name])


def hyperparameters(name: str) -> list[Hyperparameter]:
    """The tunable arguments of optimizer ``name`` (besides lr), with torch's defaults."""
    return list(_hyperparameters(name))


@functools.cache
def _hyperparameters(name: str) -> tuple[Hyperparameter, ...]:
    # Every session edit validates the optimizer; reading a signature each time is waste.
    if name == "gd":
        return ()
    cls = torch_optimizer_class(name)
    out = []
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name in _HIDDEN or p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out.append(Hyperparameter(p.name, p.default))
    return tuple(out)


def validate(name: str, lr: object, extra: dict) -> None:
    """Raise InputError naming the key if the optimizer would reject these settings."""
    if not isinstance(name, str) or name not in OPTIMIZER_NAMES:
        raise InputError(
            "optimizer.name", f"unknown optimizer {short(name)}; expected one of {OPTIMIZER_NAMES}"
        )
    limits.LR.check(lr)
    allowed = {h.name: h.default for h in hyperparameters(name)}
    for key, value in extra.items():
        if key not in allowed:
            hint = f"; {name} takes {sorted(allowed)}" if allowed else f"; {name} takes only lr"
            raise InputError(f"optimizer.{key}", f"unknown key for {name}{hint}")
        default = allowed[key]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int | float):
            ok = is_finite_number(value)
            if ok and key in _COUNTS:
                ok = isinstance(value, int) and value >= 1
        elif isinstance(default, tuple):
            # as many numbers as torch's default has (Adam's betas: two)
            ok = (
                isinstance(value, list | tuple)
                and len(value) == len(default)
                and all(is_finite_number(v) for v in value)
            )
        else:
            ok = value is None or isinstance(value, str | int | float)
        if key == "momentum" and isinstance(value, int | float) and not isinstance(value, bool):
            limits.MOMENTUM.check(value)  # a number: its range is the table's
        if not ok:
            want = "an integer >= 1" if key in _COUNTS else f"a value like {default!r}"
            raise InputError(f"optimizer.{key}", f"expected {want}, got {short(value)}")
    if name == "gd":
        return
    # torch checks ranges itself (negative momentum, betas outside [0, 1), nesterov without
    # momentum ...); let it, and report its words against the key.
    import torch

    # float64: a float32 probe would refuse a learning rate beyond 3.4e38 that a float64 run takes
    probe = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in extra.items()}

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = ((probe - 1.0) ** 2).sum()
        loss.backward()
        return loss

    # One step on a tiny quadratic too: some settings fail only inside step() (an unknown
    # line search, an L-BFGS history of 0), which would otherwise end a run mid-way.
    try:
        opt = torch_optimizer_class(name)([probe], lr=lr, **kwargs)
        opt.step(closure) if name == "lbfgs" else (closure(), opt.step())
    except (ValueError, TypeError, RuntimeError, IndexError, KeyError) as exc:
        key = next((k for k in extra if k in str(exc)), None) or (
            sorted(extra)[0] if len(extra) == 1 else "optimizer"
        )
        field = key if key == "optimizer" else f"optimizer.{key}"
        raise InputError(
            field, short(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__
        ) from None


def make_torch_optimizer(
    name: str, x: torch.Tensor, lr: float, extra: dict
) -> torch.optim.Optimizer:
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in extra.items()}
    cls = torch_optimizer_class(name)
    if "foreach" in inspect.signature(cls.__init__).parameters:
        # One parameter tensor: the per-tensor path skips the list bookkeeping of foreach.
        kwargs.setdefault("foreach", False)
    return cls([x], lr=lr, **kwargs)
