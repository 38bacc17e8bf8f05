"""The architecture as checked rules: the engine is Qt-free, views never reach the worker,
only the worker holds a Run, and the window paints before torch is imported."""

from __future__ import annotations

import ast
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


def test_no_module_is_over_400_lines():
    """A module a newcomer reads in one sitting: past 400 lines it holds two concerns."""
    big = [
        (p.relative_to(ROOT), n)
        for p in [*ROOT.glob("gui/**/*.py"), *ROOT.glob("solver/**/*.py")]
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    ]
    assert not big, big


def test_nothing_terminates_a_thread():
    hits = [
        p.relative_to(ROOT)
        for p in [*ROOT.glob("gui/**/*.py"), ROOT / "main.py"]
        if ".terminate()" in p.read_text(encoding="utf-8")
    ]
    assert not hits, hits


def _imports(path: Path) -> list[ast.AST]:
    """Every import statement in ``path``, at any depth (inside functions and
    ``TYPE_CHECKING`` blocks too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """The modules of solver/ and gui/ and those of them each one imports, anywhere in it."""
    paths = {_module_name(p): p for p in [*ROOT.glob("solver/**/*.py"), *ROOT.glob("gui/**/*.py")]}
    graph: dict[str, set[str]] = {m: set() for m in paths}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(path):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [base, *(f"{base}.{a.name}" for a in node.names)]
            graph[name] |= {t for t in targets if t in graph and t != name}
    return graph


def test_no_circle_of_imports_even_through_a_function_level_import():
    """Arrows only point down: no module imports one that imports it back, directly or
    round a circle, also where the import sits inside a function (which the contracts,
    reading the whole graph, count too, but which once hid three circles)."""
    graph = import_graph()
    done: set[str] = set()
    circles = []

    def walk(m: str, path: list[str]) -> None:
        for n in sorted(graph[m]):
            if n in path:
                circles.append([*path[path.index(n) :], n])
            elif n not in done:
                walk(n, [*path, n])
        done.add(m)

    for m in sorted(graph):
        if m not in done:
            walk(m, [m])
    assert not circles, circles[:5]


def test_nothing_outside_the_worker_builds_a_run_however_it_imports_it():
    """Only ``gui.worker`` makes a ``solver.run.engine.Run``: not through ``from solver import
    Run`` (the package's lazy name, which the contracts cannot see), an alias, or
    ``solver.Run`` / ``engine.Run`` on a module."""
    found = []
    for path in ROOT.glob("gui/**/*.py"):
        if path.name == "worker.py" and path.parent.name == "gui":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {"solver", "solver.run.engine", "engine"}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in ("solver", "solver.run.engine"):
                found += [(path.name, node.lineno) for a in node.names if a.name == "Run"]
                modules |= {a.asname or a.name for a in node.names if a.name == "engine"}
            elif isinstance(node, ast.Import):
                modules |= {a.asname or a.name for a in node.names if a.name.startswith("solver")}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "Run"
                and ast.unparse(node.value) in modules
            ):
                found.append((path.name, node.lineno))
    assert not found, found
