"""The updates of a run not yet in its History: each one's loss and point and, where the
forward pass gives them (a sparse float64 system), its ‖r‖ and ‖x − x*‖.

On the CPU (eager) a loss is a float and a point a row of one numpy array, the whole x or
only the tracked unknowns (``narrow``: a row of 100,000 was 800 KB copied per update, for 12
numbers kept). Elsewhere (lazy) both stay tensors on the device until the block is taken.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

# Rows per block: bounded by count and by bytes of x copied per block.
BLOCK_ROWS = 256
BLOCK_BYTES = 8 * 2**20


class Taken(NamedTuple):
    losses: np.ndarray  # float64, one per update
    rows: np.ndarray  # float64 points, one row per update (the tracked unknowns if narrow)
    norms: np.ndarray | None  # (‖r‖, ‖x − x*‖) per update, where the forward pass gave them
    points: list  # lazy: the points as device tensors (a stop rewinds x to one of them)


class Block:
    """One block of updates, filled by ``record`` (or a fast-path chunk, which writes
    ``x``, ``losses`` and ``norms`` itself) and emptied by ``take``."""

    def __init__(self, xd: torch.Tensor, lazy: bool, tracked: np.ndarray, narrow: bool) -> None:
        self.lazy, self.narrow, self.tracked = lazy, narrow, tracked
        width = len(tracked) if narrow else xd.numel()
        self.size = int(max(1, min(BLOCK_ROWS, BLOCK_BYTES // (8 * max(width, 1)))))
        self.x = None if lazy else np.empty((self.size, width))  # eager: the points
        self._x_flat = None if lazy else xd.reshape(-1).numpy()  # x's own storage
        self.losses: list = []  # lazy: loss tensors; eager: floats
        self.points: list = []  # lazy: detached clones of x
        self.norms: list[torch.Tensor] = []  # per update (2,), or a chunk's (k, 2)

    def __len__(self) -> int:
        return len(self.losses)

    @property
    def full(self) -> bool:
        return len(self.losses) >= self.size

    def record(self, xd: torch.Tensor, loss: torch.Tensor, norms: torch.Tensor | None) -> None:
        """Keep the update that left x at ``xd`` with ``loss`` (and its ``norms``)."""
        if norms is not None:
            self.norms.append(norms)
        if self.lazy:
            self.losses.append(loss.detach())
            self.points.append(xd.reshape(-1).clone())
        else:
            x = self._x_flat
            self.x[len(self.losses)] = x[self.tracked] if self.narrow else x
            self.losses.append(loss.item())

    def take(self) -> Taken:
        """The block as float64 arrays, and the block emptied (an eager block's rows are a
        view of its array: read them before the next ``record``)."""
        c = len(self.losses)
        if self.lazy:
            losses = torch.stack(self.losses).to("cpu", torch.float64).numpy()
            rows = torch.stack(self.points).to("cpu", torch.float64).numpy()
        else:
            losses = np.asarray(self.losses, dtype=np.float64)
            rows = self.x[:c]
        norms = None
        if self.norms:
            parts = [t.reshape(-1, 2) for t in self.norms]  # a loop's rows, a chunk's block
            norms = torch.cat(parts).to("cpu", torch.float64).numpy()
        taken = Taken(losses, rows, norms, self.points)
        self.clear()
        return taken

    def clear(self) -> None:
        self.losses, self.points, self.norms = [], [], []
