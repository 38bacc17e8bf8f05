"""Ready-made sessions: the Presets menu, every worked example of the seed articles plus
classic test matrices. Each ``Preset`` names its builder (``solver.sessions.builders``), its
tunable parameters and whether building it is heavy enough to go on a thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from solver.core.errors import InputError

from . import session as sessions
from .builders import (
    always_heavy,
    dense_heavy,
    hilbert,
    matrix_file,
    poisson,
    random_conditioned,
    random_spd,
    seed_3x3,
    seed_inverse_diagonal,
    seed_inverse_random,
    seed_polyfit,
    seed_puzzle,
    seed_random_2x2,
    seed_svd_adam,
    seed_svd_momentum,
    svd_random,
)


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    description: str
    build: Callable[..., sessions.Session]
    params: dict = field(default_factory=dict)  # tunable parameters and their defaults
    # Whether building it (with these parameters) takes long enough that a window must not
    # wait for it: a 3000 × 3000 random-cond took 8 s, the 900 × 900 gr_30_30 0.26 s.
    heavy: Callable[..., bool] = field(default=lambda **_: False)


PRESETS: dict[str, Preset] = {
    p.key: p
    for p in [
        Preset(
            "seed-3x3",
            "3×3 system A_MAT, B_VEC (gd from zeros)",
            "The numpy-vs-torch article's system; gd iterates match a numpy loop.",
            seed_3x3,
        ),
        Preset(
            "seed-random-2x2",
            "Random 2×2, ‖Ax − b‖ loss",
            "The first article: random A, b and x, the L2 norm (not squared) as loss, "
            "stop below stop_loss.",
            seed_random_2x2,
            {"seed": 314},
        ),
        Preset(
            "seed-inverse-random",
            "Inverse of random 4×4 (manual_seed 314)",
            "X·M = I by SGD with momentum 0.9, lr 0.9, mse loss.",
            seed_inverse_random,
        ),
        Preset(
            "seed-inverse-diagonal",
            "Inverse of diag(1, 2, 3, 4)",
            "The same method on a diagonal matrix: converges faster.",
            seed_inverse_diagonal,
        ),
        Preset(
            "seed-puzzle",
            "Four-unknown puzzle (A+B=9, C−D=1, A+C=8, B−D=2)",
            "Rank 3: many solutions. From zeros, gd finds the minimum-norm one.",
            seed_puzzle,
        ),
        Preset(
            "seed-polyfit",
            "Quadratic fit of x² + 2x + 3 (20 samples)",
            "Least-squares polynomial coefficients by NAdam.",
            seed_polyfit,
            {"seed": 314, "samples": 20},
        ),
        Preset(
            "seed-svd-momentum",
            "SVD of random 5×4 (manual_seed 314), SGD with momentum",
            "U diag(d²) Vᵀ ≈ M by SGD lr 0.9, momentum 0.9, 20,000 iterations, svd_mse loss.",
            seed_svd_momentum,
        ),
        Preset(
            "seed-svd-adam",
            "SVD of random 5×4 (manual_seed 314), Adam",
            "The same factorisation by Adam (default lr 0.001, weight decay 1e-5).",
            seed_svd_adam,
        ),
        Preset(
            "svd-square",
            "SVD of random 5×5 (manual_seed 315)",
            "A square matrix, SGD with momentum.",
            lambda: svd_random("square"),
        ),
        Preset(
            "svd-tall",
            "SVD of random 7×3 (manual_seed 316)",
            "A tall matrix, SGD with momentum.",
            lambda: svd_random("tall"),
        ),
        Preset(
            "svd-wide",
            "SVD of random 3×7 (manual_seed 317)",
            "A wide matrix: its transpose is factored; SGD with momentum.",
            lambda: svd_random("wide"),
        ),
        Preset(
            "random-cond",
            "Random n×n with chosen condition number",
            "Singular values log-spaced from 1 to 1/cond.",
            random_conditioned,
            {"n": 10, "cond": 100.0, "seed": 0},
            dense_heavy,
        ),
        Preset(
            "hilbert",
            "Hilbert matrix",
            "Notoriously ill-conditioned.",
            hilbert,
            {"n": 5},
            dense_heavy,
        ),
        Preset(
            "random-spd",
            "Random SPD (energy loss)",
            "½xᵀAx − bᵀx converges with κ, not κ².",
            random_spd,
            {"n": 10, "seed": 0, "cond": 50.0},
            dense_heavy,
        ),
        Preset(
            "matrix-gr_30_30",
            "gr_30_30 (900×900 Laplacian, real)",
            "SuiteSparse HB/gr_30_30, b = A·1.",
            lambda: matrix_file("gr_30_30"),
            heavy=always_heavy,
        ),
        Preset(
            "matrix-nos4",
            "nos4 (100×100 SPD, real)",
            "SuiteSparse HB/nos4, b = A·1.",
            lambda: matrix_file("nos4"),
        ),
        Preset(
            "matrix-west0067",
            "west0067 (67×67 nonsymmetric, real)",
            "SuiteSparse HB/west0067, b = A·1.",
            lambda: matrix_file("west0067"),
        ),
        Preset(
            "matrix-1138_bus",
            "1138_bus (1138×1138 SPD power network, sparse)",
            "SuiteSparse HB/1138_bus, b = A·1, held sparse (0.3 % filled); κ ≈ 8.6·10⁶.",
            lambda: matrix_file("1138_bus"),
        ),
        Preset(
            "matrix-nos7",
            "nos7 (729×729 SPD, κ ≈ 2.4·10⁹)",
            "SuiteSparse HB/nos7 (a finite-difference diffusion problem), b = A·1.",
            lambda: matrix_file("nos7"),
            heavy=always_heavy,
        ),
        Preset(
            "poisson-2d",
            "2-D Poisson, 250×400 grid (100,000 unknowns, sparse)",
            "The 5-point Laplacian with Dirichlet boundary, generated; b = A·1, energy loss.",
            poisson,
            {"rows": 250, "cols": 400},
            always_heavy,
        ),
        Preset(
            "matrix-lp_afiro",
            "lp_afiro (27×51, minimum norm, real)",
            "LPnetlib/lp_afiro: under-determined; from zeros gd reaches the minimum-norm solution.",
            lambda: matrix_file("lp_afiro"),
        ),
    ]
}

DEFAULT_PRESET = "seed-3x3"


def heavy(key: str, **params: object) -> bool:
    """Whether ``build(key, **params)`` is long work (so not for a window's own thread);
    an unknown key is not: ``build`` refuses it at once."""
    p = PRESETS.get(key)
    return p is not None and bool(p.heavy(**params))


def build(key: str, **params: object) -> sessions.Session:
    if key not in PRESETS:
        raise InputError("preset", f"unknown preset {key!r}; expected one of {sorted(PRESETS)}")
    p = PRESETS[key]
    unknown = set(params) - set(p.params)
    if unknown:
        raise InputError("preset", f"{key} takes {sorted(p.params)}, not {sorted(unknown)}")
    return p.build(**params)
