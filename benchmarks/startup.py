"""Start-up benchmark: how soon does `python main.py` paint, and how soon does Run work?

    python benchmarks/startup.py [--launches 7] [--write]
    python benchmarks/startup.py --busy 2 [--launches 7]
    python benchmarks/startup.py --first-run [--launches 7]

Each launch is a fresh process in a fresh profile (HOME, XDG folders), started by this
script; the app prints ``first-paint`` when its window has painted and ``ready`` once Run
works (the solver loaded and the first session in: ``DESCENT_LAB_EXIT_WHEN_READY=1``), and
exits. Both are measured from the moment this script starts the process, offscreen and, when
Xvfb is installed, on a private X server. Medians of the launches, with the worst.

Also measured, for the floor under "ready": a bare ``python -c "import torch"`` in the same
way, to the moment torch is in, since the window cannot run before torch is imported.

``--write`` replaces the ``## Start-up`` section of docs/BENCHMARKS.md. ``--busy N``
measures the offscreen launches and the torch import quiet, then beside N busy processes
(``benchmarks/busy.py``), and prints the two side by side (no doc section).

``--first-run``: what a user who presses F5 the moment the window appears waits for. On a
private X server, F5 goes to the window as soon as it is mapped (``xdotool``); the app's run
log (``DESCENT_LAB_RUN_LOG``) says when the first run of the default problem finished and
when the plots were shown (they draw the finished run once built). Each launch prints the
seconds from the process's start to the window, the press, the finish and the plots.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from busy import add_busy_option, quiet_then_busy, side_by_side  # noqa: E402

from solver.core.threads import apply_env_policy, cores_available  # noqa: E402

# The launches set it themselves (main.py); the bare torch import, the floor, inherits it.
apply_env_policy()

PAINT_TARGET, READY_TARGET = 0.5, 1.5


def profile_env(home: str, extra_env: dict | None = None) -> dict[str, str]:
    """The environment of a launch in the fresh profile ``home`` (offscreen unless said)."""
    env = dict(
        os.environ,
        HOME=home,
        XDG_CONFIG_HOME=f"{home}/config",
        XDG_DATA_HOME=f"{home}/data",
        XDG_RUNTIME_DIR=home,
        **(extra_env or {}),
    )
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    # A launch as a user's: the app's modules read from their bytecode, which any earlier
    # launch wrote. With PYTHONDONTWRITEBYTECODE (set in some shells) each launch compiled
    # all of them again, ~0.1 s that the bundle and a second launch never pay.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def launch(extra_env: dict | None = None, until: str = "ready") -> dict[str, float]:
    """One ``python main.py`` in a fresh profile: seconds to each line it printed."""
    with tempfile.TemporaryDirectory() as home:
        env = profile_env(home, extra_env)
        env[
            "DESCENT_LAB_EXIT_WHEN_READY" if until == "ready" else "DESCENT_LAB_EXIT_AFTER_PAINT"
        ] = "1"
        t0 = time.time()
        p = subprocess.run(
            [sys.executable, str(ROOT / "main.py")],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        out = {}
        for line in p.stdout.splitlines():
            word, _, stamp = line.partition(" ")
            if word in ("first-paint", "ready"):
                out[word] = float(stamp) - t0
        if until not in out and not (until == "paint" and "first-paint" in out):
            raise RuntimeError(
                f"main.py exited {p.returncode}, printed {p.stdout!r}; stderr: {p.stderr[-3000:]}"
            )
        return out


def launches(n: int, extra_env: dict | None = None, until: str = "ready") -> list[dict]:
    return [launch(extra_env, until) for _ in range(n)]


# Prints when torch is in, as the app prints "ready": the process's end came ~0.35 s later
# here (torch's teardown at exit), which no launch of the app waits for.
TORCH_IMPORT = "import time, torch; print(time.time(), flush=True)"


def torch_import_times(n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.time()
        p = subprocess.run(
            [sys.executable, "-c", TORCH_IMPORT],
            check=True,
            timeout=120,
            capture_output=True,
            text=True,
        )
        out.append(float(p.stdout.split()[0]) - t0)
    return out


class PrivateX:
    """A private Xvfb for the xcb launches (``display`` None when Xvfb is not installed)."""

    def __enter__(self) -> PrivateX:
        self.display = None
        self.proc = None
        if shutil.which("Xvfb") is None:
            return self
        r, w = os.pipe()
        self.proc = subprocess.Popen(
            # -noreset: an X server resets when its last client leaves, and a launch that
            # connected meanwhile was refused ("cannot connect to the X display") 1 time in 8
            ["Xvfb", "-displayfd", str(w), "-noreset", "-screen", "0", "1600x1000x24"]
            + ["-nolisten", "tcp"],
            pass_fds=(w,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(w)
        ready, _, _ = select.select([r], [], [], 30)
        number = os.read(r, 64).decode().strip() if ready else ""
        self._pipe = r  # open while it runs: Xvfb's later write to a closed pipe ends it
        self.display = f":{number}" if number else None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            os.close(self._pipe)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def first_run(display: str) -> dict[str, float]:
    """One launch on ``display``: F5 as soon as the window is there; seconds from the start
    of the process to the window, to the press, to the end of the first run, and to the
    plots showing it."""
    with tempfile.TemporaryDirectory() as home:
        log = Path(home) / "runs.jsonl"
        env = profile_env(
            home,
            {"DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "DESCENT_LAB_RUN_LOG": str(log)},
        )
        t0 = time.time()
        app = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py")],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=(Path(home) / "stderr.txt").open("w"),
        )
        out: dict[str, float] = {}
        xdo = {"env": env, "capture_output": True, "text": True, "timeout": 30}
        try:
            while time.time() - t0 < 120 and "finished" not in out:
                if "window" not in out:
                    found = subprocess.run(
                        ["xdotool", "search", "--onlyvisible", "--name", "Descent Lab"], **xdo
                    ).stdout.split()
                    if found:
                        out["window"] = time.time() - t0
                        subprocess.run(["xdotool", "windowfocus", "--sync", found[0]], **xdo)
                        subprocess.run(["xdotool", "key", "F5"], **xdo)
                        out["pressed"] = time.time() - t0
                elif log.exists():
                    events = [json.loads(line) for line in log.read_text().splitlines()]
                    runs = [e for e in events if e["event"] == "run"]
                    plots = [e for e in events if e["event"] == "plots"]
                    if runs and plots:
                        out["finished"] = runs[0]["time"] - t0
                        out["iterations"] = runs[0]["iterations"]
                        # the plots drawn once built: the later of the two is when they show it
                        out["shown"] = max(runs[0]["time"], plots[0]["time"]) - t0
                time.sleep(0.01)  # another process's window and file: nothing to wait on
        finally:
            status = app.poll()
            app.terminate()  # SIGTERM quits the window like Ctrl+Q
            app.wait(60)
        if "finished" not in out:
            err = (Path(home) / "stderr.txt").read_text()[-2000:]
            raise RuntimeError(f"no run finished within 120 s: {out}, exit {status}, {err}")
        return out


def first_runs(n: int) -> int:
    with PrivateX() as x:
        if x.display is None or shutil.which("xdotool") is None:
            print("--first-run needs Xvfb and xdotool")
            return 2
        first_run(x.display)  # writes the app's bytecode, as a first launch does; not counted
        rows, failed = [], []
        for _ in range(n):
            try:
                rows.append(first_run(x.display))
            except RuntimeError as exc:  # said, and counted: a launch that never ran is news
                failed.append(str(exc))
    for why in failed:
        print(f"failed: {why}")
    for r in rows:
        print(
            f"window {r['window']:.2f} s, F5 {r['pressed']:.2f} s, "
            f"first run ({r['iterations']} iterations) finished {r['finished']:.2f} s, "
            f"on the plots {r['shown']:.2f} s"
        )
    print(f"F5 at first sight → first run finished: {summary([r['finished'] for r in rows])}")
    print(f"F5 at first sight → the plots show it: {summary([r['shown'] for r in rows])}")
    return 1 if failed else 0


def summary(values: list[float]) -> str:
    return f"**{statistics.median(values):.2f} s** median, {max(values):.2f} s worst"


def speeds(n: int) -> dict[str, float]:
    """Medians of ``n`` launches (offscreen) and bare torch imports, for ``--busy``."""
    rs = launches(n)
    return {
        "first paint, s": statistics.median(r["first-paint"] for r in rs),
        "Run works (ready), s": statistics.median(r["ready"] for r in rs),
        "import torch alone, s": statistics.median(torch_import_times(n)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--launches", type=int, default=7)
    ap.add_argument("--write", action="store_true", help="write the Start-up section of the docs")
    ap.add_argument("--first-run", action="store_true", help="F5 at first sight, on Xvfb")
    add_busy_option(ap)
    args = ap.parse_args()
    if args.first_run:
        return first_runs(args.launches)
    if args.busy is not None:
        launch()  # writes the app's bytecode, as a first launch does; not counted
        quiet, busy, load = quiet_then_busy(args.busy, lambda: speeds(args.launches))
        print(side_by_side("Start-up", quiet, busy, load))
        return 0
    started, load0 = time.time(), os.getloadavg()[0]
    rows: list[tuple[str, str, str, bool]] = []
    n = args.launches
    launch()  # writes the app's bytecode, as a first launch does; not counted
    torch_times = torch_import_times(n)
    print(f"python -c 'import torch': {', '.join(f'{t:.2f}' for t in torch_times)}")
    runs = {"offscreen": launches(n)}
    with PrivateX() as x:
        if x.display is not None:
            runs["Xvfb, xcb"] = launches(n, {"DISPLAY": x.display, "QT_QPA_PLATFORM": "xcb"})
    for where, rs in runs.items():
        paint = [r["first-paint"] for r in rs]
        ready = [r["ready"] for r in rs]
        print(f"{where}: first paint {', '.join(f'{t:.2f}' for t in paint)}")
        print(f"{where}: ready       {', '.join(f'{t:.2f}' for t in ready)}")
        med_p, med_r = statistics.median(paint), statistics.median(ready)
        rows.append(
            (
                f"`python main.py` → first painted window ({n} launches, {where})",
                summary(paint),
                f"≤ {PAINT_TARGET} s",
                med_p <= PAINT_TARGET,
            )
        )
        rows.append(
            (
                f"`python main.py` → Run works: solver loaded, first session in ({where})",
                summary(ready),
                f"≤ {READY_TARGET} s",
                med_r <= READY_TARGET,
            )
        )
    rows.append(
        (
            "floor under 'ready': `python -c 'import torch'` alone",
            summary(torch_times),
            "—",
            True,
        )
    )
    # What the app adds to torch's import: this machine's speed drifts by 20% within an
    # hour, and the floor with it; the difference compares across runs and machines.
    floor = statistics.median(torch_times)
    above = [statistics.median(r["ready"] for r in rs) - floor for rs in runs.values()]
    print(f"ready above the floor: {', '.join(f'{a:.2f}' for a in above)} s")
    rows.append(
        (
            "'ready' above that floor (median − median; " + ", ".join(runs) + ")",
            ", ".join(f"**{a:.2f} s**" for a in above),
            "—",
            True,
        )
    )
    ok = all(r[3] for r in rows)
    print("targets met" if ok else "targets NOT met")
    if args.write:
        write_doc(rows, started, load0)
    return 0


def write_doc(rows: list, started: float, load0: float) -> None:
    from benchmarks.report import cpu_model, write_section

    took = time.time() - started
    table = "\n".join(
        f"| {w} | {m} | {t} {'' if t == '—' else 'ok' if ok else '**missed**'} |"
        for w, m, t, ok in rows
    )
    body = f"""
Measured {time.strftime("%Y-%m-%d %H:%M", time.localtime(started))} on {cores_available()} cores \
({cpu_model()}), no GPU; Python {platform.python_version()}. Command: \
`python3 benchmarks/startup.py --write` ({took:.0f} s; 1-minute load average {load0:.2f} at \
the start, {os.getloadavg()[0]:.2f} at the end). Each launch is a fresh process in a fresh \
profile, after one uncounted launch that wrote the app's bytecode; times are from starting \
the process.

| what | measured | target |
|---|---|---|
{table}

The order of start-up (`gui/app.py`, `gui/loader.py`): a window of plain Qt widgets paints
first; then one thread imports the solver (torch) while the GUI thread stays free. Run is
live as soon as the solver is in; a Run or Step pressed before that is queued and starts
then. Only then does the GUI thread make the Python types of all of Qt's classes (~80 ms:
PySide makes them lazily, and pyqtgraph's import making them on the loader's thread while
the GUI thread made one crashed 4 launches in 150) and the loader import pyqtgraph, for the
plots; begun the moment the solver was in, that import took turns for the GIL with the
window's own start: launched alternately with the tree before (c57e423), 'ready' came at
1.61 and 1.63 s against 1.71 and 1.80 (torch's floor 1.32, then 1.42-1.47). Loading torch's
libraries in a thread of their own from the process start (a dlopen outside the GIL) was
tried: the dynamic loader's lock then held up Qt's libraries, the paint came 0.2 s later and
Run no sooner. Importing torch before the paint, or beside pyqtgraph, was tried: the imports
only take turns for the GIL, so the paint came 0.4 s later and Run no sooner. The Examples
panel compares the session with the catalogue only when it is on screen: building the
catalogue creates torch optimizers, whose first creation imports torch's compiler hooks (1.9
s here), which had been on the start-up path; the loader now imports them in the background
once the plots are in.

The solver's import runs with the cyclic collector off and with Python's own import
statement instead of PySide6's hook: inside the window torch's import took 1.11 s, 0.89 s
without the collector (each collection walked the ~250k objects torch had made so far) and
0.80 s without the hook too (it reads the source of every module imported after PySide6,
for feature switches this app never selects); 'ready' went from 1.49 to 1.17 s. The floor
row is a bare `import torch` to the moment it is in: its process ends ~0.35 s later
(torch's teardown), which no launch of the app waits for.
"""
    write_section("Start-up", body)


if __name__ == "__main__":
    sys.exit(main())
