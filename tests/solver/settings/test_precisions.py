"""One table of the precisions a run may use (``solver.settings.precisions``): what a session takes,
what the window offers, what the engine computes in and the rounding rules it uses."""

from __future__ import annotations

import numpy as np
import pytest

from solver.core.errors import InputError
from solver.run.engine import Run
from solver.sessions import presets
from solver.sessions import session as sessions
from solver.settings.precisions import NAMES, PRECISIONS, numpy_of, precision


@pytest.mark.parametrize("name", NAMES)
def test_each_precision_runs_in_what_it_names(name: str) -> None:
    s = presets.build("seed-3x3").replace(dtype=name, max_iters=5)
    run = Run(s)
    run.advance()
    assert run.dtype == precision(name).torch()
    assert numpy_of(run.dtype) is PRECISIONS[name].numpy
    assert precision(name).eps == np.finfo(PRECISIONS[name].numpy).eps


def test_a_precision_outside_the_table_is_refused_naming_them() -> None:
    s = presets.build("seed-3x3")
    with pytest.raises(InputError) as caught:
        sessions.from_dict(sessions.to_dict(s) | {"dtype": "float16"}, None)
    assert "float16" in str(caught.value) and all(n in str(caught.value) for n in NAMES)


def test_the_window_offers_the_tables_precisions_default_first(window) -> None:
    combo = window.hyper.dtype
    assert [combo.itemText(i) for i in range(combo.count())] == list(NAMES)
    assert NAMES[0] == window.model.session.dtype  # the default problem's
