"""What importing the solver costs: describing work (errors, kinds, sessions, presets, the
analysis) loads neither torch nor scipy, and no part of the solver ever loads Qt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import solver

ROOT = Path(__file__).resolve().parents[2]
QT = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")


def python(code: str) -> str:
    """Run ``code`` in a fresh interpreter from the repository root; its stdout."""
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.mark.parametrize(
    "imports",
    [
        "import solver",
        "import solver.core.errors, solver.sessions.session, solver.problems.kinds",
        "import solver.sessions.presets, solver.insight.analysis, solver.problems.linear, "
        "solver.problems.losses, solver.settings.devices, solver.settings.optimizers, "
        "solver.matrices.matrixio, solver.run.history, solver.core.resources",
        "from solver import InputError, Cancelled, KINDS, kind_of, Session, LinearSystem",
    ],
)
def test_describing_work_loads_neither_torch_nor_scipy(imports: str) -> None:
    out = python(
        f"{imports}\nimport sys\nprint(sorted(m for m in ('torch', 'scipy') if m in sys.modules))"
    )
    assert out == "[]"


def test_a_gd_session_on_the_cpu_is_validated_and_switched_without_torch() -> None:
    out = python(
        "import sys\n"
        "from solver.sessions import session\n"
        "from solver.insight.analysis import analyze\n"
        "from solver.problems.kinds import KINDS\n"
        "s = session.load('examples/seed-3x3.json')\n"
        "s = s.replace(lr=0.2).with_problem(KINDS['polyfit'].default_problem())\n"
        "analyze(s.problem, s.loss, s.lr)\n"
        "print('torch' in sys.modules)\n"
    )
    assert out == "False"


def test_the_lazy_names_resolve_to_their_modules() -> None:
    from solver.core import errors
    from solver.problems import kinds
    from solver.run import engine
    from solver.sessions import session

    assert set(solver.__all__) <= set(dir(solver))
    for name in solver.__all__:
        assert getattr(solver, name) is not None, name
    assert solver.Run is engine.Run and solver.Session is session.Session
    assert solver.Cancelled is errors.Cancelled and solver.KINDS is kinds.KINDS
    with pytest.raises(AttributeError):
        solver.NoSuchName  # noqa: B018


def test_running_loads_torch() -> None:
    out = python(
        "import sys, solver\n"
        "from solver.sessions import session\n"
        "run = solver.Run(session.load('examples/seed-3x3.json').replace(max_iters=3))\n"
        "run.advance()\n"
        "print('torch' in sys.modules, run.iteration)\n"
    )
    assert out == "True 3"


def test_importing_the_solver_loads_no_qt() -> None:
    out = python(
        "import importlib, pkgutil, sys\n"
        "import solver\n"
        "for m in pkgutil.walk_packages(solver.__path__, 'solver.'):\n"
        "    importlib.import_module(m.name)\n"
        f"qt = sorted(n for n in sys.modules if n.split('.')[0] in {QT!r})\n"
        "print(len(sys.modules), qt)\n"
    )
    count, qt = out.split(" ", 1)
    assert int(count) > 100  # the imports really happened (torch alone brings hundreds)
    assert qt == "[]"
