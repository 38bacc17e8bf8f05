"""The window's analysis cache: a large problem analysed once is not analysed again by the
next window on the same data folder (a relaunch), and the cache lives in that folder."""

from __future__ import annotations

import pytest
import test_gui

import solver.problems
from solver import presets

LONG = test_gui.LONG
make_window = test_gui.make_window


@pytest.fixture
def expensive(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The costly analysis steps as they run (through the names the problems call them by)."""
    ran: list[str] = []
    for name in ("estimate_sigma_max", "estimate_sigma_min", "sparse_lu"):
        real = getattr(solver.problems, name)

        def counted(*args, _name=name, _real=real, **kwargs):  # noqa: ANN002, ANN003, ANN202
            ran.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(solver.problems, name, counted)
    return ran


def analysed(qtbot, w) -> object:  # noqa: ANN001
    qtbot.waitUntil(
        lambda: w.model.analysis is not None and not isinstance(w.model.analysis, BaseException),
        timeout=LONG,
    )
    return w.model.analysis


def test_a_relaunch_on_the_same_large_problem_reads_its_analysis(qtbot, make_window, expensive):
    first = make_window()
    qtbot.waitUntil(lambda: first.model.ready, timeout=LONG)
    assert first.editor.load_session(presets.poisson(20, 30))
    lip = analysed(qtbot, first).lipschitz
    assert {"estimate_sigma_max", "estimate_sigma_min"} <= set(expensive)
    folder = first.persistence.data_dir / "analysis-cache"
    qtbot.waitUntil(lambda: len(list(folder.glob("*.npz"))) == 1, timeout=LONG)
    first.shutdown()
    expensive.clear()

    again = make_window()  # the same data folder: the next launch
    qtbot.waitUntil(lambda: again.model.ready, timeout=LONG)
    assert again.editor.load_session(presets.poisson(20, 30))  # a new, equal problem
    assert analysed(qtbot, again).lipschitz == lip
    assert expensive == []
