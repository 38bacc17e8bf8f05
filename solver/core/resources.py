"""Find the files under resources/ both from a source checkout and inside the frozen app."""

from __future__ import annotations

import sys
from pathlib import Path

from .errors import InputError


def resource_root() -> Path:
    """The resources/ folder: beside the sources, or in the bundle's unpack folder."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource; InputError naming it when it is missing."""
    path = resource_root().joinpath(*parts)
    if not path.exists():
        raise InputError("resource", f"{'/'.join(parts)} is missing from {resource_root()}")
    return path


def examples_dir() -> Path:
    """The example sessions: examples/ in a checkout, bundled beside resources/ when frozen."""
    frozen = getattr(sys, "_MEIPASS", None)
    base = Path(frozen) if frozen else Path(__file__).resolve().parents[2]
    return base / "examples"
