"""The window's analysis cache: a large problem analysed once is not analysed again by the
next window on the same data folder (a relaunch), and the cache lives in that folder."""

from __future__ import annotations

import os
import sys

import pytest
import test_gui

import gui.analysis
from solver.sessions import builders

LONG = test_gui.LONG


def analysed(qtbot, w) -> object:  # noqa: ANN001
    qtbot.waitUntil(
        lambda: w.model.analysis is not None and not isinstance(w.model.analysis, BaseException),
        timeout=LONG,
    )
    return w.model.analysis


def test_a_relaunch_on_the_same_large_problem_reads_its_analysis(qtbot, make_window, expensive):
    first = make_window()
    qtbot.waitUntil(lambda: first.model.ready, timeout=LONG)
    assert first.editor.load_session(builders.poisson(20, 30))
    lip = analysed(qtbot, first).lipschitz
    assert {"estimate_sigma_max", "estimate_sigma_min"} <= set(expensive)
    folder = first.persistence.data_dir / "analysis-cache"
    qtbot.waitUntil(lambda: len(list(folder.glob("*.npz"))) == 1, timeout=LONG)
    first.shutdown()
    expensive.clear()

    again = make_window()  # the same data folder: the next launch
    qtbot.waitUntil(lambda: again.model.ready, timeout=LONG)
    assert again.editor.load_session(builders.poisson(20, 30))  # a new, equal problem
    assert analysed(qtbot, again).lipschitz == lip
    assert expensive == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a nice value per thread")
def test_the_analysis_thread_yields_to_a_run(qtbot, make_window, monkeypatch):
    """A run's OpenMP threads stall on an analysis that competes with them as an equal; it
    runs at a lower priority instead (what it is measured at: its thread's nice value), but
    not the lowest, where the system may stop it holding the GIL the window waits for."""
    import threading

    import solver.insight.analysis_cache

    seen: list[int] = []
    real = solver.insight.analysis_cache.analyze_cached

    def noting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return real(*args, **kwargs)

    monkeypatch.setattr(solver.insight.analysis_cache, "analyze_cached", noting)
    w = make_window()
    qtbot.waitUntil(lambda: w.model.ready, timeout=LONG)
    assert w.editor.load_session(builders.poisson(20, 30))
    analysed(qtbot, w)
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert seen == [min(19, own + gui.analysis.ANALYSIS_NICE)]
    assert own < seen[0] < 19
