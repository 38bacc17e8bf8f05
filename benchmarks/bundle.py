"""Bundle benchmark: build time, one-folder size, tar.gz size, frozen start to first paint.

python benchmarks/bundle.py            build with build.spec, then measure
python benchmarks/bundle.py --no-build measure an existing dist/DescentLab

Writes the `## Bundle` section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist" / "DescentLab"
EXE = DIST / ("DescentLab.exe" if os.name == "nt" else "DescentLab")
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from report import cpu_model, write_section  # noqa: E402

from solver.core.threads import cores_available  # noqa: E402


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def build() -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            str(ROOT / "build.spec"),
            "--noconfirm",
            "--log-level",
            "WARN",
        ],
        cwd=ROOT,
        check=True,
    )
    return time.perf_counter() - t0


def first_paint_seconds(runs: int = 5) -> list[float]:
    """Wall time from process start to the app's first painted window (offscreen)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DESCENT_LAB_EXIT_AFTER_PAINT="1")
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(EXE)], stdout=subprocess.PIPE, text=True, env=env)
        for line in proc.stdout:
            if line.startswith("first-paint"):
                out.append(time.perf_counter() - t0)
                break
        proc.wait(timeout=60)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    build_s = None if args.no_build else build()
    size = folder_bytes(DIST)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "DescentLab.tar.gz"
        with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
            tar.add(DIST, arcname="DescentLab")
        tgz = archive.stat().st_size
    paints = first_paint_seconds()
    paint = statistics.median(paints) if paints else float("nan")
    mb = 1e6
    rows = [
        ("one-folder bundle (CPU torch)", f"{size / mb:.0f} MB", "≤ 650 MB"),
        ("tar.gz of the bundle", f"{tgz / mb:.0f} MB", "≤ 250 MB"),
        (
            "build time (2 cores)",
            "not rebuilt" if build_s is None else f"{build_s:.0f} s",
            "≤ 240 s",
        ),
        (
            "frozen start to first painted window (median of 5, offscreen)",
            f"{paint:.2f} s",
            "≤ 1.5 s",
        ),
    ]
    lines = [
        f"Measured {date.today().isoformat()} on {cores_available()} cores ({cpu_model()}), "
        f"no GPU, {platform.system()} {platform.machine()}, Python {platform.python_version()}.",
        f"Command: `python benchmarks/bundle.py{' --no-build' if args.no_build else ''}`.",
        "",
        "| what | measured | target |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
    ]
    write_section("Bundle", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
