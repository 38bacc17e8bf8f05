"""Descent Lab's solver: gradient descent on linear problems with torch autograd.

Pure Python, torch and numpy; it never imports Qt, so it runs, tests and benchmarks alone.
"""

from .analysis import Analysis, analyze
from .devices import DeviceInfo, list_devices, resolve_device
from .engine import Run, StopReason
from .errors import InputError
from .history import History
from .problems import Inverse, LinearSystem, Polyfit
from .session import Session

__all__ = [
    "Analysis",
    "DeviceInfo",
    "History",
    "InputError",
    "Inverse",
    "LinearSystem",
    "Polyfit",
    "Run",
    "Session",
    "StopReason",
    "analyze",
    "list_devices",
    "resolve_device",
]
