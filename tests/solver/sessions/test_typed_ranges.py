"""A range or size the user types is checked before anything is built from it: "1-100000000"
in Plot x built a set of 10⁸ numbers (34 s, 8.9 GB) before its bounds were looked at, and a
preset's n of 100,000 asked for 80 GB of random numbers. Each check runs in a child process
bounded in time and memory, so a regression fails instead of exhausting the machine.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from test_reading import BOUND_S, ROOT


def in_child(body: str) -> str:
    """What ``body`` prints, run in a child limited to BOUND_S seconds and 1 GiB."""
    code = "import resource, sys\nresource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
    code += f"sys.path.insert(0, {str(ROOT)!r})\n" + textwrap.dedent(body)
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=BOUND_S, cwd=ROOT
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"did not return within {BOUND_S} s")
    assert done.returncode == 0, done.stderr[-800:]
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1-100000000", "component 100000000 does not exist; x has 3 components"),
        ("2, 1-100000000", "component 100000000 does not exist"),
        ("0-2", "component 0 does not exist"),
        ("3-1", "'3-1' runs backwards; write it 1-3"),
        ("-2", "'-2' is not a number or a range like 2-5"),
    ],
)
def test_plot_x_ranges_are_checked_before_they_are_expanded(text, words):
    out = in_child(
        f"""
        from gui.editing import track_indices
        from solver.sessions.presets import build
        try:
            print(track_indices(build("seed-3x3"), {text!r}))
        except ValueError as exc:
            print("REFUSED", exc)
        """
    )
    assert out.startswith("REFUSED") and words in out, out


def test_plot_x_counts_every_range_against_the_limit():
    out = in_child(
        """
        from gui.editing import PLOT_TRACK_MAX, track_indices
        from solver.sessions.presets import build
        s = build("poisson-2d")  # 100,000 unknowns
        for text in ("1-99999", "1-20, 41-60", "1-16, 17-32"):
            try:
                print(len(track_indices(s, text)))
            except ValueError as exc:
                print("REFUSED", exc)
        """
    )
    lines = out.splitlines()
    assert lines[0] == "REFUSED plot x: '1-99999' is 99,999 components; at most 32", out
    assert lines[1] == "REFUSED plot x: more than 32 components chosen", out
    assert lines[2] == "32", out


@pytest.mark.parametrize("key", ["random-cond", "random-spd", "hilbert"])
def test_a_generated_presets_size_is_checked_before_it_is_drawn(key):
    out = in_child(
        f"""
        from solver.core.errors import InputError
        from solver.sessions.presets import build
        for n in (100_000, 0):
            try:
                build({key!r}, n=n)
                print("BUILT", n)
            except InputError as exc:
                print("REFUSED", exc)
        print(build({key!r}, n=4).problem.A.shape)
        """
    )
    lines = out.splitlines()
    assert lines[0] == "REFUSED preset: n = 100000: n must be a whole number from 1 to 5,000", out
    assert lines[1].startswith("REFUSED preset: n = 0"), out
    assert lines[2] == "(4, 4)", out
