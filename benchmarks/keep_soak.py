"""Keep soak: launch after launch on one profile, nothing the user made is ever lost.

    python benchmarks/keep_soak.py [--launches 200] [--seed 1]

Every launch is a real ``gui.app.run_app`` (the window, its start-up, its quit path) in one
profile shared by all of them, offscreen. Each one

1. reads what it restored: the session's fingerprint (its settings and every array, inline)
   and any "could not be restored" refusal;
2. does random actions: presets, the user's own session and matrix files (bigger than the
   autosave keeps inline, so they are stored beside it), runs, stops, undo and redo, edits;
3. records the fingerprint of the session it holds, then quits in one of the ways a user
   or the desktop does: Quit, Quit while a run is being created, SIGTERM.

Between launches the soak edits, replaces or deletes the user's files. One launch in five
is a pair: a second instance on the same profile; the first one quits last, so its session
is the one the next launch must restore.

A launch *loses* something when the next one restores a session other than the one the last
quitter held, when a restore is refused, when an autosave is moved aside, or when a launch
exits with a status other than 0; and at the end, a piece or temporary file beside the autosave
that no autosave names is one that piles up. The soak prints one line per launch that lost something
and a summary; it exits 1 when any did. Results go in docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from startup import profile_env  # noqa: E402

LAUNCH_TIMEOUT_S = 180
USER_N = 110  # 12,100 entries: above the autosave's inline limit, so A is a file beside it
QUIT_MODES = ("quit", "quit-while-starting", "sigterm")


def fingerprint(s: object) -> str:
    """The session as its file would say it with every array inline: equal sessions, equal
    fingerprints, wherever their matrices were read from."""
    from solver.sessions.session import to_dict

    text = json.dumps(to_dict(s, files={}), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- the child: one launch -----------------------------------------------------------------
def child(args: argparse.Namespace) -> int:
    from PySide6 import QtCore, QtWidgets

    app = QtWidgets.QApplication(sys.argv[:1])
    rng = random.Random(args.seed)
    user = Path(args.user)
    report = Path(args.report)
    notes: list[str] = []
    state: dict = {"win": None, "restored": None, "done": False}

    def write_report(**fields: object) -> None:
        old = json.loads(report.read_text()) if report.exists() else {}
        old.update(fields)
        tmp = report.with_name(report.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(old))
        os.replace(tmp, report)

    def answer_boxes() -> None:
        # What a user in a hurry does with every box: discard unsaved changes, close the rest.
        for w in QtWidgets.QApplication.topLevelWidgets():
            if isinstance(w, QtWidgets.QMessageBox) and w.isVisible():
                discard = w.button(QtWidgets.QMessageBox.Discard)
                (discard.click if discard is not None else w.accept)()

    def actions(win) -> list:
        from solver.sessions import presets

        def short(key: str) -> object:
            return presets.build(key).replace(max_iters=rng.choice([50, 300, 3000]))

        return [
            lambda: win.act_run.trigger(),
            lambda: win.act_stop.trigger(),
            lambda: win.act_pause.trigger(),
            lambda: win.live.step(rng.randint(1, 20)),
            lambda: win.menus.act_undo.trigger(),
            lambda: win.menus.act_redo.trigger(),
            lambda: win.editor.change({"lr": rng.choice([0.01, 0.05, 0.2])}),
            lambda: win.editor.change({"max_iters": rng.choice([100, 2000, 10**9])}),
            lambda: win.editor.load_session(short(rng.choice(["seed-3x3", "seed-polyfit"]))),
            lambda: win.editor.load_session(str(user / "problem.json")),
            lambda: win.editor.import_matrix(str(user / "A.npy")),
            lambda: win.editor.switch_kind(rng.choice(["linear_system", "inverse"])),
        ]

    def quit_now(win) -> None:
        fp = fingerprint(win.model.session)
        mode = args.quit
        write_report(held=fp, quit=mode, refused=notes)
        if mode == "sigterm":
            os.kill(os.getpid(), signal.SIGTERM)
        elif mode == "quit-while-starting":
            win.act_run.trigger()
            win.menus.act_quit.trigger()
        else:
            win.menus.act_quit.trigger()

    def drive() -> None:
        from gui.mainwindow import MainWindow

        answer_boxes()
        win = state["win"]
        if win is None:
            found = [w for w in app.topLevelWidgets() if isinstance(w, MainWindow)]
            if not found:
                return
            win = state["win"] = found[0]
            win.model.refused.connect(lambda title, text: notes.append(f"{title}: {text}"))
        if state["done"] or not win.model.ready or win.model.session is None:
            return
        if state["restored"] is None:
            data = win.persistence.data_dir
            aside = sorted(p.name for p in data.glob("*unrestorable*")) if data.exists() else []
            state["restored"] = fingerprint(win.model.session)
            write_report(restored=state["restored"], aside=aside, refused_at_start=list(notes))
            state["left"] = rng.randint(3, 25)
            return
        if args.begin and not Path(args.begin).exists():
            return  # a pair: both restore the same autosave before either writes one
        if state["left"] > 0:
            state["left"] -= 1
            rng.choice(actions(win))()
            return
        if args.go and not Path(args.go).exists():
            write_report(waiting=True)
            return  # the second instance of a pair: the soak says when to quit
        state["done"] = True
        # Outside this slot: a quit that asks about unsaved changes opens a modal box, and
        # Qt never fires a timer again while its own slot is still running.
        QtCore.QTimer.singleShot(0, lambda: quit_now(win))

    timer = QtCore.QTimer()
    timer.timeout.connect(drive)
    timer.start(40)
    from gui.app import run_app

    status = run_app(argparse.Namespace(session=None, self_test=False))
    return status


# -- the soak: many launches ------------------------------------------------------------------
def edit_user_files(user: Path, rng: random.Random) -> str:
    """What a user does to their files between two launches."""
    import numpy as np

    a = user / "A.npy"
    choice = rng.choice(["keep", "keep", "edit", "reshape", "delete"])
    if choice == "delete":
        a.unlink(missing_ok=True)
        return "deleted A.npy"
    if choice == "keep" and a.exists():
        return ""
    n = USER_N if choice != "reshape" else USER_N + rng.choice([-1, 1])
    m = np.random.default_rng(rng.randrange(2**32)).standard_normal((n, n)) / n
    np.save(a, m + np.eye(n))
    session = {
        "version": 1,
        "problem": {"kind": "linear_system", "A": {"file": "A.npy"}, "b": [1.0] * n},
        "optimizer": {"name": "gd", "lr": 0.2},
        "stop": {"max_iters": 500},
    }
    (user / "problem.json").write_text(json.dumps(session))
    return f"wrote A.npy ({n}×{n})"


def launch(
    home: str, user: Path, seed: int, quit: str, report: Path, go: str = "", begin: str = ""
) -> subprocess.Popen:
    env = profile_env(home, {"PYTHONFAULTHANDLER": "1"})
    cmd = [sys.executable, __file__, "--child", "--seed", str(seed), "--user", str(user)]
    cmd += ["--report", str(report), "--quit", quit] + (["--go", go] if go else [])
    cmd += ["--begin", begin] if begin else []
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_restored(reports: list[Path], procs: list[subprocess.Popen]) -> None:
    """Until every launch of a pair has read what it restored (or ended)."""
    end = time.monotonic() + LAUNCH_TIMEOUT_S
    while time.monotonic() < end:
        ready = [
            p.poll() is not None or (r.exists() and "restored" in json.loads(r.read_text()))
            for r, p in zip(reports, procs, strict=True)
        ]
        if all(ready):
            return
        time.sleep(0.05)  # polling another process's file: there is no signal to wait on


def finish(p: subprocess.Popen) -> tuple[int, str]:
    try:
        _out, err = p.communicate(timeout=LAUNCH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        p.kill()
        _out, err = p.communicate()
        return -9, f"hung: killed after {LAUNCH_TIMEOUT_S} s\n" + err
    return p.returncode, err


def soak(launches: int, seed: int) -> int:
    rng = random.Random(seed)
    lost: list[str] = []
    expected: str | None = None
    done = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as home:
        user = Path(home) / "user"
        user.mkdir()
        edit_user_files(user, random.Random(0))
        while done < launches:
            edit = edit_user_files(user, rng)
            pair = rng.random() < 0.2 and launches - done >= 2
            reports = [Path(home) / f"report-{done}-{k}.json" for k in range(2 if pair else 1)]
            go = str(Path(home) / f"go-{done}") if pair else ""
            begin = str(Path(home) / f"begin-{done}") if pair else ""
            mode = rng.choice(QUIT_MODES)
            first = launch(home, user, rng.randrange(10**6), mode, reports[0], begin=begin)
            if pair:
                second = launch(home, user, rng.randrange(10**6), "quit", reports[1], go, begin)
                wait_restored(reports, [first, second])
                Path(begin).touch()
                # The first quits as soon as it is done; the second waits to be told, so it
                # quits last and its session is the one the next launch restores.
                results = [finish(first)]
                Path(go).touch()
                results.append(finish(second))
            else:
                results = [finish(first)]
            for k, (status, err) in enumerate(results):
                done += 1
                rep = json.loads(reports[k].read_text()) if reports[k].exists() else {}
                what = f"launch {done} ({rep.get('quit', '?')}{', pair' if pair else ''})"
                problems = []
                if status != 0:
                    tail = " | ".join(err.strip().splitlines()[-3:])
                    problems.append(f"exit status {status}: {tail}")
                if expected is not None and rep.get("restored") != expected:
                    problems.append(f"restored {rep.get('restored')}, expected {expected}")
                bad = [n for n in rep.get("refused_at_start", []) if "restored" in n.lower()]
                if rep.get("aside") or bad:
                    problems.append(f"autosave refused: {bad or rep.get('aside')}")
                if problems:
                    lost.append(f"{what} after '{edit or 'no edit'}': " + "; ".join(problems))
                    print(lost[-1], flush=True)
            last = reports[-1]  # the last to quit
            held = json.loads(last.read_text()).get("held") if last.exists() else None
            # A launch that never got to quit holds nothing new: the restore must be as before.
            expected = held or expected
            if done % 20 < (2 if pair else 1):
                print(f"{done} launches, {len(lost)} lost", flush=True)
        left = leftovers(Path(home) / "data")
    took = time.perf_counter() - started
    print(f"keep soak: {done} launches in {took:.0f} s, {len(lost)} lost something")
    print(f"files left beside the autosave that none names: {left or 'none'}")
    return 1 if lost or left else 0


def leftovers(data: Path) -> list[str]:
    """Autosave pieces and temporary files that no autosave in the profile names."""
    named: set[str] = set()
    files = list(data.rglob("last-session*"))
    for f in files:
        if f.suffix == ".json" and ".tmp" not in f.name:
            named |= {Path(v).name for v in _file_refs(json.loads(f.read_text()))}
    return sorted(f.name for f in files if f.suffix != ".json" and f.name not in named) + sorted(
        f.name for f in files if ".tmp" in f.name
    )


def _file_refs(obj: object) -> list[str]:
    if isinstance(obj, dict):
        own = [obj["file"]] if isinstance(obj.get("file"), str) else []
        return own + [r for v in obj.values() for r in _file_refs(v)]
    if isinstance(obj, list):
        return [r for v in obj for r in _file_refs(v)]
    return []


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--launches", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--user", help=argparse.SUPPRESS)
    ap.add_argument("--report", help=argparse.SUPPRESS)
    ap.add_argument("--quit", choices=QUIT_MODES, default="quit", help=argparse.SUPPRESS)
    ap.add_argument("--go", default="", help=argparse.SUPPRESS)
    ap.add_argument("--begin", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    return soak(args.launches, args.seed)


if __name__ == "__main__":
    sys.exit(main())
