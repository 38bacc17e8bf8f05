"""Optimizers by name: plain gradient descent plus torch.optim's, validated by their own code.

The names and labels are plain Python; torch is imported when an optimizer other than ``gd``
is validated or built, so a ``gd`` session is checked without loading it.
"""

from __future__ import annotations

import functools
import inspect
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import InputError

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
    if name not in OPTIMIZER_NAMES:
        raise InputError(
            "optimizer.name", f"unknown optimizer {name!r}; expected one of {OPTIMIZER_NAMES}"
        )
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr) or lr <= 0:
        raise InputError("optimizer.lr", f"expected a finite number > 0, got {lr!r}")
    allowed = {h.name: h.default for h in hyperparameters(name)}
    for key, value in extra.items():
        if key not in allowed:
            hint = f"; {name} takes {sorted(allowed)}" if allowed else f"; {name} takes only lr"
            raise InputError(f"optimizer.{key}", f"unknown key for {name}{hint}")
        default = allowed[key]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int | float):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            ok = ok and math.isfinite(value)
        elif isinstance(default, tuple):
            ok = isinstance(value, list | tuple) and all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in value
            )
        else:
            ok = value is None or isinstance(value, str | int | float)
        if not ok:
            raise InputError(
                f"optimizer.{key}", f"expected a value like {default!r}, got {value!r}"
            )
    if name == "gd":
        return
    # torch checks ranges itself (negative momentum, betas outside [0, 1), nesterov without
    # momentum ...); let it, and report its words against the key.
    import torch

    probe = torch.zeros(1, requires_grad=True)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in extra.items()}
    try:
        torch_optimizer_class(name)([probe], lr=lr, **kwargs)
    except (ValueError, TypeError, RuntimeError) as exc:
        key = next((k for k in extra if k in str(exc)), None) or (
            sorted(extra)[0] if len(extra) == 1 else "optimizer"
        )
        field = key if key == "optimizer" else f"optimizer.{key}"
        raise InputError(field, str(exc)) from None


def make_torch_optimizer(
    name: str, x: torch.Tensor, lr: float, extra: dict
) -> torch.optim.Optimizer:
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in extra.items()}
    cls = torch_optimizer_class(name)
    if "foreach" in inspect.signature(cls.__init__).parameters:
        # One parameter tensor: the per-tensor path skips the list bookkeeping of foreach.
        kwargs.setdefault("foreach", False)
    return cls([x], lr=lr, **kwargs)
