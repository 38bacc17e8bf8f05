"""The architecture as checked rules: the engine is Qt-free, views never reach the worker,
only the worker holds a Run, and the window paints before torch is imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    """pyproject's [tool.importlinter] contracts (direct and indirect imports)."""
    code = (
        "import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(no_cache=True))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_the_window_modules_import_neither_torch_nor_pyqtgraph():
    code = (
        "import sys, gui.app, gui.mainwindow, gui.model, gui.live; "
        "bad = [m for m in ('torch', 'pyqtgraph', 'scipy') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_module_is_over_500_lines():
    big = [
        (p.relative_to(ROOT), n)
        for p in [*ROOT.glob("gui/**/*.py"), *ROOT.glob("solver/*.py")]
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500
    ]
    assert not big, big


def test_nothing_terminates_a_thread():
    hits = [
        p.relative_to(ROOT)
        for p in [*ROOT.glob("gui/**/*.py"), ROOT / "main.py"]
        if ".terminate()" in p.read_text(encoding="utf-8")
    ]
    assert not hits, hits
