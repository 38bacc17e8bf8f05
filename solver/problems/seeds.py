"""The seed articles' worked examples as numbers: the 3×3 system and the four-unknown puzzle,
the inverse's and the series' matrices drawn from torch's generator, the quadratic fit's
samples. The presets (``solver.sessions.presets``) build their sessions from these, and each problem
kind its default problem (``solver.problems.kinds``), from below both. torch is imported only by the
examples that draw from its generator."""

from __future__ import annotations

import numpy as np

from .linear import LinearSystem

A_MAT = [[1, 2, 0], [0, 1, 0], [0, 0, 1]]
B_VEC = [1, 2, 3]
PUZZLE_A = [[1, 1, 0, 0], [0, 0, 1, -1], [1, 0, 1, 0], [0, 1, 0, -1]]  # A+B, C-D, A+C, B-D
PUZZLE_B = [9, 1, 8, 2]


def torch_rand(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """``torch.manual_seed(seed); torch.rand(shape)`` in float64, as the articles draw."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=gen).double().numpy()


def seed_3x3_problem() -> LinearSystem:
    """The numpy-vs-torch article's system (also the linear_system kind's default)."""
    return LinearSystem(np.array(A_MAT, float), np.array(B_VEC, float))


def seed_inverse_random_matrix() -> np.ndarray:
    """torch.manual_seed(314); torch.rand(4, 4), as the inverse article draws M."""
    return torch_rand((4, 4), 314)


def seed_polyfit_samples(seed: int = 314, samples: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Samples of x² + 2x + 3 (the article's poly1d([1, 2, 3])) at normal x scaled by 5."""
    xs = np.random.default_rng(seed).standard_normal(samples) * 5
    return xs, np.polyval([1.0, 2.0, 3.0], xs)


def seed_svd_matrix(seed: int = 314, shape: tuple[int, int] = (5, 4)) -> np.ndarray:
    """torch.manual_seed(seed); torch.rand(m, n): the series' matrix for its SVD part."""
    return torch_rand(shape, seed)
