"""The documents in the repository say what the code does: every session shown in
docs/SESSIONS.md is one the reader takes, and the README links only to files that exist."""

import json
import re
from pathlib import Path

import pytest

from solver.sessions import session

ROOT = Path(__file__).resolve().parent.parent
SESSIONS_DOC = ROOT / "docs" / "SESSIONS.md"


def _json_blocks(text: str) -> list[str]:
    return re.findall(r"```json\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("block", _json_blocks(SESSIONS_DOC.read_text(encoding="utf-8")))
def test_every_session_in_the_format_doc_is_read(block: str) -> None:
    # File references in the examples are relative to the shipped examples folder.
    s = session.loads(block, base=ROOT / "examples")
    assert session.to_dict(s)["version"] == 1
    assert json.loads(block)["problem"]["kind"] == s.problem.kind


def test_the_format_doc_names_every_top_level_key() -> None:
    text = SESSIONS_DOC.read_text(encoding="utf-8")
    for key in session._TOP_KEYS:
        assert f"`{key}" in text, key


def test_readme_links_point_inside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in readme
    for target in re.findall(r"\]\(([^)#]+)\)", readme):
        if "://" in target:
            continue
        assert (ROOT / target).exists(), target


def test_nothing_in_the_repository_refers_to_files_outside_it() -> None:
    """The design notes the project grew from live outside the repository; what the code and
    the docs rely on is written in docs/, so no text may send a reader there."""
    out = []
    for folder in ("solver", "gui", "tests", "benchmarks", "docs", ".ci"):
        for path in (ROOT / folder).rglob("*"):
            if (
                path.suffix not in (".py", ".md", "")
                or not path.is_file()
                or path == Path(__file__)
            ):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            out += [
                f"{path.relative_to(ROOT)}: {w}" for w in ("DESIGN.md", "../shared") if w in text
            ]
    for name in ("README.md", "main.py", "build.spec", "pyproject.toml"):
        text = (ROOT / name).read_text(encoding="utf-8")
        out += [f"{name}: {w}" for w in ("DESIGN.md", "../shared") if w in text]
    assert not out, out


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line for line in readme.splitlines() if line.startswith("python3 -m venv")]
    assert len(commands) == 2, commands  # launch, and test
    test_command = next(c for c in commands if "pytest" in c)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()
