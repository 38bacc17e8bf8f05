"""The start-up loader's order: the solver, then, once the window has taken the solver up
(Run works), pyqtgraph; and a quit waits for pyqtgraph's import, which creates Qt objects on
the loader's thread, instead of shutting the window down under it.

The imports are stand-ins that meet the test at events; nothing waits on time.
"""

from __future__ import annotations

import threading

import pytest

from gui import loader as loader_mod
from gui.loader import StartupLoader

WAIT = 30.0


@pytest.fixture
def imports(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Stand-ins for the three start-up steps: each records what the loader knew then."""
    seen: dict = {"order": [], "plots_go": threading.Event(), "plots_begun": threading.Event()}

    def solver() -> None:
        seen["order"].append("solver")

    def plots() -> None:
        seen["taken_at_plots"] = seen["loader"]._solver_taken.is_set()
        seen["order"].append("plots")
        seen["plots_begun"].set()
        assert seen["plots_go"].wait(WAIT)

    monkeypatch.setattr(loader_mod, "preload_solver", solver)
    monkeypatch.setattr(loader_mod, "preload_plots", plots)
    monkeypatch.setattr(loader_mod, "warm_optimizers", lambda: seen["order"].append("warm"))
    return seen


def test_the_plots_are_imported_once_the_window_has_taken_the_solver(imports, monkeypatch):
    monkeypatch.setattr(loader_mod, "SOLVER_TAKE_WAIT", WAIT)
    ld = imports["loader"] = StartupLoader()
    solver_in = threading.Event()
    ld.when("solver", lambda _r: solver_in.set())
    ld.start()
    assert solver_in.wait(WAIT)
    ld.solver_taken()  # what the window does once Run works
    imports["plots_go"].set()
    assert ld.wait_plots(WAIT)
    assert imports["taken_at_plots"], "pyqtgraph was imported before the window took the solver"
    assert imports["order"][:2] == ["solver", "plots"]


def test_the_plots_come_anyway_when_the_window_never_says(imports, monkeypatch):
    monkeypatch.setattr(loader_mod, "SOLVER_TAKE_WAIT", 0.0)
    ld = imports["loader"] = StartupLoader()
    ld.start()
    imports["plots_go"].set()
    assert ld.wait_plots(WAIT)
    assert imports["order"][:2] == ["solver", "plots"]


def test_a_quit_during_the_plots_import_waits_for_it(imports, monkeypatch):
    monkeypatch.setattr(loader_mod, "SOLVER_TAKE_WAIT", WAIT)
    ld = imports["loader"] = StartupLoader()
    ld.start()
    # a quit before the window took the solver: the plots' import begins at once...
    assert not ld.wait_plots(0.0)
    assert imports["plots_begun"].wait(WAIT)
    assert not ld.wait_plots(0.0)  # ...and the quit waits while it goes
    imports["plots_go"].set()
    assert ld.wait_plots(WAIT)


def test_a_loader_never_started_has_nothing_to_wait_for() -> None:
    assert StartupLoader().wait_plots(0.0)
