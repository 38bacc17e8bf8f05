"""Session files whose matrix is read from .npy files big enough to load off the GUI thread,
for the benchmarks and the tests of opening them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def dense_session(folder: Path, n: int, name: str | None = None) -> Path:
    """The seed 3×3 session with a random, diagonally dominant n×n A and its b in .npy files
    beside it in ``folder``; returns the session's path (``name``, else session-N.json)."""
    rng = np.random.default_rng(0)
    np.save(folder / "A.npy", rng.standard_normal((n, n)) + n * np.eye(n))
    np.save(folder / "b.npy", rng.standard_normal(n))
    data = json.loads((ROOT / "examples" / "seed-3x3.json").read_text())
    data["problem"]["A"] = {"file": "A.npy"}
    data["problem"]["b"] = {"file": "b.npy"}
    path = folder / (name or f"session-{n}.json")
    path.write_text(json.dumps(data))
    return path
