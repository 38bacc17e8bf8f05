"""Test set-up shared by every module: the GUI tests run offscreen, in a process configured
exactly as the app configures itself (``solver.core.threads.apply_env_policy``, then
``gui.process.configure_process``)."""

from __future__ import annotations

import os

from solver.core.threads import apply_env_policy, cores_available

# First, before any test module imports torch or numpy: the app's thread policy
# (``solver.core.threads``), so tests run with the threads the app has.
apply_env_policy()
# The window's run fits the machine's load as measured (``gui.machine``); tests run on
# machines whose load comes and goes, so theirs sees every core free unless a test says.
os.environ.setdefault("DESCENT_LAB_SPARE_CORES", str(cores_available()))

import pytest  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_configure(config) -> None:  # noqa: ANN001 - pytest's hook signature
    try:
        from gui.process import configure_process
    except ImportError:  # the solver-only tests run without Qt installed
        return
    configure_process()


@pytest.fixture(scope="session", autouse=True)
def _isolated_paths():
    """Every test, whichever module it is in: anything that asks QStandardPaths (the data
    folder, the crash log's folder) gets a test location, never the user's."""
    try:
        from PySide6 import QtCore
    except ImportError:  # the solver-only tests run without Qt installed
        yield
        return
    QtCore.QStandardPaths.setTestModeEnabled(True)
    yield


@pytest.fixture
def make_window(qtbot, tmp_path):  # noqa: ANN001, ANN201 - pytest's fixtures
    """``make_window(dialogs=False, **kw)``: a shown MainWindow with its own QSettings file
    and data folder under ``tmp_path``; shut down and flushed after the test."""
    from PySide6 import QtCore

    from gui.mainwindow import MainWindow

    made = []

    def make(dialogs: bool = False, **kw) -> MainWindow:  # noqa: ANN003
        settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.IniFormat)
        w = MainWindow(settings, tmp_path / "data", dialogs=dialogs, **kw)
        qtbot.addWidget(w)
        w.resize(1280, 800)
        w.show()
        qtbot.waitExposed(w)
        made.append(w)
        return w

    yield make
    for w in made:
        w.shutdown()
        w.persistence.flush()


@pytest.fixture
def window(make_window):  # noqa: ANN001, ANN201 - pytest's fixtures
    """One window from ``make_window``."""
    return make_window()


@pytest.fixture
def expensive(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the costly analysis steps as they run: Lanczos for σmax and σmin, and
    the sparse LU of the exact reference (counted through the names the problems call)."""
    import solver.problems.base  # the solver-only tests' conftest stays light
    import solver.problems.linear

    ran: list[str] = []
    # each through the module that calls it: the spectra's estimates in the problems' base,
    # the sparse LU in the linear problems
    for module, name in (
        (solver.problems.base, "estimate_sigma_max"),
        (solver.problems.base, "estimate_sigma_min"),
        (solver.problems.linear, "sparse_lu"),
    ):
        real = getattr(module, name)

        def counted(*args, _name=name, _real=real, **kwargs):  # noqa: ANN002, ANN003, ANN202
            ran.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    return ran
