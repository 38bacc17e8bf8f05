"""Descent Lab's solver: gradient descent on linear problems with torch autograd.

Pure Python, torch and numpy; it never imports Qt, so it runs, tests and benchmarks alone.

``import solver`` is cheap: the names below are imported from their modules on first use
(PEP 562), and torch loads only when a run, an optimizer or a device needs it. The modules
that describe work (``errors``, ``kinds``, ``session``, ``presets``, ``analysis``) do not
load it.
"""

from __future__ import annotations

import importlib

# name -> the module that defines it. Deliberately no import statements for them, not even
# for type checkers: a static import of the engine here would count as one for every
# importer of the package in the import contracts.
_LAZY = {
    "Analysis": "insight.analysis",
    "analyze": "insight.analysis",
    "DeviceInfo": "settings.devices",
    "list_devices": "settings.devices",
    "resolve_device": "settings.devices",
    "Run": "run.engine",
    "StopReason": "run.engine",
    "Cancelled": "core.errors",
    "InputError": "core.errors",
    "History": "run.history",
    "KINDS": "problems.kinds",
    "kind_of": "problems.kinds",
    "Inverse": "problems.linear",
    "LinearSystem": "problems.linear",
    "Polyfit": "problems.linear",
    "Session": "sessions.session",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'solver' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
