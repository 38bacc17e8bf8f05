"""The shipped examples beside their sources: where each one comes from, and the numbers that
source printed, so a finished run can be set against them.

The seed articles print very few numbers (most of their code and output is missing from the
texts), so most examples carry a ``note`` saying that nothing was printed instead of a number
someone would have had to invent. A ``Published`` number knows how to measure the same quantity
from what a finished run leaves behind: its session and its final ``x`` in the problem's shape.

Cheap to import: no torch at module level. Building an example's session (``Example.build``,
``example_of``) loads what the session needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .published import NO_NUMBER, UNTITLED, Example, Match, Published, Source

if TYPE_CHECKING:
    from .session import Session

# The seed articles, by file name (the seed texts), with the title the text itself gives. Two
# texts carry no title: they are named by their subject, marked ``UNTITLED``.
ARTICLE_000 = (
    "000_bd1796a27def8f2f.txt",
    "PyTorch Basics: Solving the Ax=b matrix equation with gradient descent",
)
ARTICLE_001 = ("001_53187395dd1d2c0f.txt", "Matrix operations with pytorch – optimizer – part 2")
ARTICLE_002 = (
    "002_9113f895fccdd985.txt",
    UNTITLED + "solving linear systems of equations, numpy then pytorch",
)
ARTICLE_003 = ("003_e2b5bc79c1a47294.txt", "Matrix operations with pytorch – optimizer – part 1")
ARTICLE_004 = ("004_2521ea2de6d732cd.txt", UNTITLED + "autograd in PyTorch")


def _product(session: Session, x: np.ndarray) -> np.ndarray:
    return x @ session.problem.M  # the inverse examples are X·M = I (side left)


def _polynomial_at_1_5(_session: Session, x: np.ndarray) -> float:
    return float(np.polyval(np.reshape(x, -1), 1.5))  # coefficients, highest power first


_IDENTITY_4 = tuple(tuple(float(i == j) for j in range(4)) for i in range(4))
_OUT_7 = """tensor([[     1.0000,      0.0000,     -0.0000,      0.0000],
[     0.0000,      1.0000,      0.0000,     -0.0000],
[    -0.0000,      0.0000,      1.0000,      0.0000],
[     0.0000,     -0.0000,      0.0000,      1.0000]],
grad_fn=<MmBackward>)"""

_SVD_SOURCE = Source(
    *ARTICLE_001,
    "the series outline: “An advanced section: SVD with pytorch optimizer”",
)
_SVD_NOTE = (
    f"{NO_NUMBER}: parts 1 and 2 of “Matrix operations with pytorch – optimizer” only announce "
    "the series' SVD part; no article shows an SVD example. The matrix, the loss and the "
    "optimizer settings are this app's choices."
)

EXAMPLES: dict[str, Example] = {
    e.key: e
    for e in [
        Example(
            "seed-3x3",
            "3×3 system A_MAT, B_VEC (gd from zeros)",
            Source(*ARTICLE_002, "numpy_impl() and its torch versions (the text has no headings)"),
            file="seed-3x3.json",
            preset="seed-3x3",
            note=(
                f"{NO_NUMBER}: its loops print the error every 10 iterations, but no output is "
                "shown and ALPHA (the step size) is never given a value. The step size 0.1 and "
                "the stop rule are this app's choices."
            ),
            claims=("The torch versions give results identical to the numpy loop (float64).",),
        ),
        Example(
            "seed-random-2x2",
            "Random 2×2, ‖Ax − b‖ loss",
            Source(
                *ARTICLE_000,
                "the text before the first heading; the stop rule under "
                "“What should the stopping condition be?”",
            ),
            file="seed-random-2x2.json",
            preset="seed-random-2x2",
            note=(
                f"{NO_NUMBER}: its code and outputs are missing from the text. The size, the "
                "seeds, the added identity, the step size and stop_loss are this app's choices."
            ),
            claims=("With step_size below stop_loss the run stops below stop_loss.",),
        ),
        Example(
            "seed-inverse-random",
            "Inverse of random 4×4 (manual_seed 314)",
            Source(
                *ARTICLE_001,
                "Calculate inverse of random matrix; printed under Inspect results (Out[7])",
            ),
            file="seed-inverse-random.json",
            preset="seed-inverse-random",
            published=(
                Published(
                    "X·M (approximate_inverse_1 @ M1)",
                    _OUT_7,
                    _IDENTITY_4,
                    4,
                    _product,
                    "this run's X times M",
                ),
            ),
            note="Out[7] prints X·M as the identity to 4 decimals; the signs of its zeros are "
            "rounding noise and are not compared.",
        ),
        Example(
            "seed-inverse-diagonal",
            "Inverse of diag(1, 2, 3, 4)",
            Source(*ARTICLE_001, "Calculate inverse of diagonal matrix"),
            file="seed-inverse-diagonal.json",
            preset="seed-inverse-diagonal",
            note=(
                f"{NO_NUMBER} for this matrix: its Out[8] repeats the random matrix's product "
                "(approximate_inverse_1 @ M1)."
            ),
            claims=(
                "Compare convergence speed: for the simple diagonal matrix it converges faster "
                "(it reaches any loss level in fewer iterations than the random matrix).",
            ),
        ),
        Example(
            "seed-puzzle",
            "Four-unknown puzzle (A+B=9, C−D=1, A+C=8, B−D=2)",
            Source(*ARTICLE_004, "Using Autograd to Solve a Math Puzzle"),
            file="seed-puzzle.json",
            preset="seed-puzzle",
            note=(
                f"{NO_NUMBER}: the equations and the solution it shows are missing from the "
                "text. The optimizer, step size and iterations are this app's choices."
            ),
            claims=(
                "There can be multiple solutions to this problem.",
                "The minimum possible square error is zero.",
            ),
        ),
        Example(
            "seed-polyfit",
            "Quadratic fit of x² + 2x + 3 (20 samples)",
            Source(*ARTICLE_004, "Using Autograd for Polynomial Regression"),
            file="seed-polyfit.json",
            preset="seed-polyfit",
            published=(
                Published(
                    "the polynomial at 1.5",
                    "8.25",
                    8.25,
                    2,
                    _polynomial_at_1_5,
                    "this run's fitted polynomial at 1.5",
                ),
            ),
            note=(
                "The text prints 8.25 for the polynomial used as a function, but names neither "
                "the polynomial nor the point: 8.25 is x² + 2x + 3 (the polynomial this example "
                "samples) at 1.5. This run's value is its fitted polynomial at 1.5. The sample "
                "points, the optimizer and its step size are this app's choices."
            ),
            claims=(
                "After 1,000 iterations the coefficients are very close to the polynomial's "
                "(the coefficients it printed are missing from the text).",
            ),
        ),
        Example(
            "matrix-gr_30_30",
            "gr_30_30 (900×900 Laplacian, real)",
            Source(None, "HB/gr_30_30, a real test matrix (resources/matrices/SOURCES.md)", ""),
            file="matrix-gr_30_30.json",
            preset="matrix-gr_30_30",
            note=(
                f"{NO_NUMBER}: no article has this example. b = A·1, so the exact solution is "
                "all ones and the error plot measures the distance to it."
            ),
        ),
        Example(
            "seed-svd-momentum",
            "SVD of random 5×4 (manual_seed 314), SGD with momentum",
            _SVD_SOURCE,
            preset="seed-svd-momentum",
            note=_SVD_NOTE,
        ),
        Example(
            "seed-svd-adam",
            "SVD of random 5×4 (manual_seed 314), Adam",
            _SVD_SOURCE,
            preset="seed-svd-adam",
            note=_SVD_NOTE,
        ),
        Example(
            "svd-square",
            "SVD of random 5×5 (manual_seed 315)",
            _SVD_SOURCE,
            preset="svd-square",
            note=_SVD_NOTE,
        ),
        Example(
            "svd-tall",
            "SVD of random 7×3 (manual_seed 316)",
            _SVD_SOURCE,
            preset="svd-tall",
            note=_SVD_NOTE,
        ),
        Example(
            "svd-wide",
            "SVD of random 3×7 (manual_seed 317)",
            _SVD_SOURCE,
            preset="svd-wide",
            note=_SVD_NOTE,
        ),
    ]
}

_built: dict[str, Session | None] = {}


def _session_of(example: Example) -> Session | None:
    if example.key not in _built:
        from solver.core.errors import InputError

        try:
            _built[example.key] = example.build()
        except (InputError, OSError):
            _built[example.key] = None  # a build without that file still runs the others
    return _built[example.key]


def changed_settings(session: Session, reference: Session) -> tuple[str, ...]:
    """The session-file settings (loss, optimizer, init, stop, dtype, device) that differ."""
    from .session import to_dict

    mine, theirs = to_dict(session), to_dict(reference)
    return tuple(k for k in mine if k not in ("version", "problem") and mine[k] != theirs[k])


def example_of(session: Session) -> Match | None:
    """The example whose problem ``session`` solves (its arrays and parameters, exactly), or
    None. Two examples on one matrix (the SVD ones) are told apart by their settings.

    The problem, not a name, decides: a session from the Examples or Presets menu, from File >
    Open or from the autosave is recognised alike, and one whose matrix was edited is not."""
    from solver.problems.kinds import same_problem

    best: Match | None = None
    for example in EXAMPLES.values():
        ref = _session_of(example)
        if ref is None or not same_problem(session.problem, ref.problem):
            continue
        m = Match(example, changed_settings(session, ref))
        if best is None or len(m.changed) < len(best.changed):
            best = m
    return best
