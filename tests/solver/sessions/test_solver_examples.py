"""The examples beside their sources: every shipped example names its source, every number a
source printed is reproduced by running the example, and the examples whose source printed no
number say so.

What the seeds print is tiny: Out[7] of the inverse article (X·M = I to 4 decimals), "8.25" of
the autograd article, and the tensors article's basics (below; its manual_seed(314) rand(2, 3)
is asserted by test_solver_seeds.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from solver import Run
from solver.core.resources import examples_dir
from solver.sessions import presets
from solver.sessions.examples import EXAMPLES, example_of
from solver.sessions.published import DIFFERS, MATCH, NO_NUMBER, Published, compare
from solver.sessions.session import to_dict

SVD_PRESETS = ("seed-svd-momentum", "seed-svd-adam", "svd-square", "svd-tall", "svd-wide")


def finished(key: str) -> tuple[object, np.ndarray, Run]:
    session = EXAMPLES[key].build()
    run = Run(session)
    run.advance()
    assert run.finished
    return session, run.x(), run


def test_every_shipped_example_is_catalogued_with_its_source() -> None:
    files = {p.name for p in examples_dir().glob("*.json")}
    assert files == {e.file for e in EXAMPLES.values() if e.file}
    assert set(SVD_PRESETS) <= set(EXAMPLES)
    for e in EXAMPLES.values():
        assert e.source.title and (e.source.section or e.source.article is None), e.key
        assert e.source.text() in e.tooltip()
        assert e.file is not None or e.preset in presets.PRESETS, e.key
        if e.source.article is not None:
            assert e.source.article[:3] in {"000", "001", "002", "003", "004"}
        # A source either printed numbers or the example says that it printed none.
        assert e.published or e.note.startswith(NO_NUMBER), e.key


def test_the_example_files_are_their_presets() -> None:
    for e in EXAMPLES.values():
        if e.file and e.preset and e.preset.startswith("seed-"):
            assert to_dict(e.build()) == to_dict(presets.build(e.preset)), e.key


@pytest.mark.parametrize("key", list(EXAMPLES))
def test_each_example_is_recognised_from_its_problem(key: str) -> None:
    session = EXAMPLES[key].build()
    found = example_of(session)
    assert found is not None and found.example.key == key and found.changed == ()
    # Changed settings are named; an edited problem is no longer the example.
    found = example_of(session.replace(max_iters=session.max_iters + 1))
    assert found.example.key == key and found.changed == ("stop",)


def test_an_edited_problem_is_not_an_example() -> None:
    s = EXAMPLES["seed-3x3"].build()
    a = s.problem.A.copy()
    a[0, 0] += 1
    from solver.problems.linear import LinearSystem

    assert example_of(s.with_problem(LinearSystem(a, s.problem.b))) is None


def test_inverse_random_reproduces_out_7() -> None:
    """Out[7]: approximate_inverse_1 @ M1 prints as the identity to 4 decimals."""
    session, x, run = finished("seed-inverse-random")
    assert run.iteration == 10000  # the article's loop: 10,000 updates, no early stop
    (c,) = compare(EXAMPLES["seed-inverse-random"], session, x)
    assert c.verdict == MATCH and abs(c.difference) < 5e-5 and c.tolerance == 5e-5
    product = x @ session.problem.M
    np.testing.assert_allclose(product, np.eye(4), atol=5e-5)
    assert np.all(np.abs(np.round(product, 4)) == np.eye(4))
    assert c.measured.count("1.0000") == 4 and "[1.0000, 0.0000" in c.published


def test_polyfit_prints_what_the_source_printed_and_the_fit_honestly() -> None:
    (p,) = EXAMPLES["seed-polyfit"].published
    assert p.printed == "8.25" and p.value == 8.25
    # 8.25 is the sampled polynomial x² + 2x + 3 at 1.5, and this example samples it.
    assert np.polyval([1, 2, 3], 1.5) == 8.25
    session = EXAMPLES["seed-polyfit"].build()
    xs, ys = session.problem.samples_x, session.problem.samples_y
    np.testing.assert_array_equal(ys, np.polyval([1.0, 2.0, 3.0], xs))
    assert p.measure(session, np.array([1.0, 2.0, 3.0])) == 8.25

    session, x, run = finished("seed-polyfit")
    (c,) = compare(EXAMPLES["seed-polyfit"], session, x)
    fitted = np.polyval(x, 1.5)
    assert c.measured == f"{fitted:.4f}"
    assert c.difference == pytest.approx(fitted - 8.25, abs=1e-12)
    # 1,000 NAdam steps leave the constant term short: an honest "differs", about 0.35 off.
    assert c.verdict == DIFFERS and c.difference == pytest.approx(-0.35, abs=0.05)


def test_a_run_with_no_finite_value_differs() -> None:
    session = EXAMPLES["seed-polyfit"].build()
    (c,) = compare(EXAMPLES["seed-polyfit"], session, np.array([np.nan, 1.0, 1.0]))
    assert c.verdict == DIFFERS and np.isnan(c.difference)


@pytest.mark.parametrize(
    "key",
    [
        "seed-3x3",
        "seed-random-2x2",
        "seed-inverse-diagonal",
        "seed-puzzle",
        "matrix-gr_30_30",
        *SVD_PRESETS,
    ],
)
def test_examples_whose_source_prints_no_number_say_so(key: str) -> None:
    e = EXAMPLES[key]
    assert e.published == () and e.note.startswith(NO_NUMBER)
    assert NO_NUMBER in e.tooltip()
    session = e.build()
    x = np.zeros(session.problem.unknown_shape)
    assert compare(e, session, x) == []


def test_the_diagonal_inverse_converges_faster_as_the_article_claims() -> None:
    assert any("converges faster" in c for c in EXAMPLES["seed-inverse-diagonal"].claims)
    *_, random_run = finished("seed-inverse-random")
    *_, diagonal_run = finished("seed-inverse-diagonal")
    for level in (1e-4, 1e-6, 1e-8, 1e-10):
        first = [int(np.argmax(r.history.loss < level)) for r in (random_run, diagonal_run)]
        assert all(r.history.loss.min() < level for r in (random_run, diagonal_run))
        assert first[1] < first[0], level


def test_the_catalogue_is_cheap_to_import() -> None:
    import subprocess
    import sys

    code = (
        "import sys, solver.sessions.examples; "
        "sys.exit(1 if {'torch', 'scipy', 'solver.sessions.session'} & set(sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_published_tolerance_is_half_the_last_printed_decimal() -> None:
    p = Published("p", "8.25", 8.25, 2, lambda _s, x: float(x[0]), "x")
    assert p.tolerance == 0.005


# -- the tensors article (003): printed numbers that are not sessions -----------------------


def test_the_tensors_articles_basics_reproduce() -> None:
    _123, _456 = torch.tensor([1, 2, 3]), torch.tensor([4, 5, 6])
    assert _123.tolist() == [1, 2, 3]
    assert (_123 * 7).tolist() == [7, 14, 21]
    # "14 + 25 + 3*6 = 32" in the text is 1*4 + 2*5 + 3*6: the dot product with [4, 5, 6].
    assert (_123 * _456).sum().item() == 32 and (_123 @ _456).item() == 32
    assert (7**5, 5 * 7**4, 3 * 5 * 7**4) == (16807, 12005, 36015)


def test_the_tensors_articles_gradients_of_x_times_y_to_the_fifth() -> None:
    x = torch.tensor(3.0, requires_grad=True)
    y = torch.tensor(7.0, requires_grad=True)
    z = x * y**5
    z.backward()
    assert x.grad == torch.tensor(16807.0)  # dz/dx = y**5
    assert y.grad == torch.tensor(36015.0)  # dz/dy = 5 x y**4
