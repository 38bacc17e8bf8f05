"""The floating-point precisions a run may use (``session.dtype``): the one table of their
names and of what each means to numpy, to torch and to the rounding rules built on it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Precision:
    """One precision: its session name (numpy's and torch's name for it too)."""

    name: str
    numpy: type[np.floating]

    @property
    def eps(self) -> float:
        """The spacing of numbers just above 1: what one rounding may lose, relatively."""
        return float(np.finfo(self.numpy).eps)

    @property
    def max(self) -> float:
        """The largest finite number: a loss past it has overflowed."""
        return float(np.finfo(self.numpy).max)

    def torch(self) -> object:
        """torch's dtype (torch is imported here, not with this module: the window's
        start-up path reads the table before torch is in)."""
        import torch

        return getattr(torch, self.name)


# The window offers them in this order, the default first.
PRECISIONS: dict[str, Precision] = {
    p.name: p for p in (Precision("float64", np.float64), Precision("float32", np.float32))
}
DEFAULT = "float64"
NAMES = tuple(PRECISIONS)


def precision(name: str) -> Precision:
    """The precision called ``name`` (validated by the session already); the default for a
    name it does not know."""
    return PRECISIONS.get(name, PRECISIONS[DEFAULT])


def numpy_of(torch_dtype: object) -> type[np.floating]:
    """numpy's type for one of the precisions' torch dtypes."""
    return next(
        (p.numpy for p in PRECISIONS.values() if p.torch() == torch_dtype),
        PRECISIONS[DEFAULT].numpy,
    )
