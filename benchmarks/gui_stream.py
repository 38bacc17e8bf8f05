"""GUI streaming benchmark: does the live window cost the solver, and does it stay smooth?

    python benchmarks/gui_stream.py [--seconds 1.5] [--pairs 6] [--write] [--busy N]

``--write`` replaces the ``## GUI`` section of docs/BENCHMARKS.md with the results.
``--busy N`` measures the solver speeds, redraws and stalls quiet, then beside N busy
processes (``benchmarks/busy.py``), and prints the two side by side (no doc section).

Measured in one process with the window shown (offscreen platform unless QT_QPA_PLATFORM
is set), as ratios so a shared, noisy machine still gives comparable numbers:

* solver iterations/s with the window vs headless ``Run.advance`` (same session, same
  tracked components), at n = 3 and n = 2000, alternating headless and windowed runs;
* the longest event-loop stall during a flat-out run (gaps of a 1 ms QTimer, measured in
  separate segments: its thousand Python calls a second would tax the ratio above);
* Stop pressed -> worker idle (``worker.idle_event``) and -> the window told (signal);
* redraws per second of each plot on screen during those windowed segments;
* frames per second of the loss plot holding 1,000,000 points (decimate + setData + paint).

Start-up (first paint, Run ready) is measured by ``benchmarks/startup.py``.

Targets (docs/BENCHMARKS.md): >= 0.85x at both n with every visible plot redrawn >= 30 times a
second, stall <= 50 ms, Stop -> idle <= 100 ms + one iteration, >= 30 fps at 1M points.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from solver.core.threads import apply_env_policy, cores_available  # noqa: E402

apply_env_policy()  # the app's thread policy, before torch and numpy load (main.py does alike)

import numpy as np  # noqa: E402
from busy import add_busy_option, quiet_then_busy, side_by_side  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402


def make_session(n: int):
    from solver.insight.analysis import analyze
    from solver.problems.linear import LinearSystem
    from solver.sessions import presets

    base = presets.build("seed-3x3")
    if n == 3:
        return base.replace(max_iters=10**9, tol=0.0)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)) / np.sqrt(n) + 3 * np.eye(n)
    problem = LinearSystem(a, a @ np.ones(n))
    lr = analyze(problem, "half_sum_squares").recommended_lr
    s = base.with_problem(problem)
    return s.replace(lr=float(lr), max_iters=10**9, tol=0.0)


def wait(app: QtWidgets.QApplication, seconds: float, until=None) -> bool:
    """Run the event loop for ``seconds`` (or until ``until()``, checked every 20 ms). A
    plain wait runs no Python at all meanwhile, so it does not tax the solver thread."""
    loop = QtCore.QEventLoop()
    if until is None:
        QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()
        return True
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        if until():
            return True
        QtCore.QTimer.singleShot(20, loop.quit)
        loop.exec()
    return until()


class StallMeter(QtCore.QObject):
    """A 1 ms timer; the longest gap between its ticks is the worst event-loop stall."""

    def __init__(self) -> None:
        super().__init__()
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.PreciseTimer)
        self.timer.setInterval(1)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.gaps: list[float] = []

    def start(self) -> None:
        self.last = time.perf_counter()
        self.gaps = []
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self.last)
        self.last = now


def open_window(prefix: str):  # noqa: ANN201 - (QApplication, MainWindow)
    """The app's window at 1440x900 with settings and data in a fresh temporary folder."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    from gui.app import configure_application
    from gui.mainwindow import MainWindow

    configure_application(app)
    QtCore.QStandardPaths.setTestModeEnabled(True)
    tmp = tempfile.mkdtemp(prefix=prefix)
    settings = QtCore.QSettings(f"{tmp}/settings.ini", QtCore.QSettings.IniFormat)
    win = MainWindow(settings, f"{tmp}/data", dialogs=False)
    win.resize(1440, 900)
    win.show()
    return app, win


def close_window(app, win) -> None:
    """Stop the window's run, let the worker see it, and close the window."""
    win.live.stop()
    wait(app, 5, lambda: win.model.state != "running")
    win.close()


def live_run(app, win, session) -> None:
    """Start ``session`` flat out in the window and let it warm up."""
    win.editor.load_session(session)
    win.toolbar.set_speed(None)
    assert win.live.start(), win.model.last_error
    wait(app, 30, lambda: done_updates(win) > 0)
    wait(app, 0.3)


def done_updates(win) -> int:
    """Updates the shown run has applied, from its history (exact, not frame-rate status)."""
    rec = win.model.selected
    return -1 if rec is None or rec.history is None else len(rec.history) - 1


def paired_ratios(app, win, session, track, seconds: float, pairs: int) -> dict:
    """Alternate headless and windowed segments of ``seconds``; a load spike on this shared
    machine then hits both sides of a pair alike. The window's run pauses while the
    headless one goes, so the two never compete for the cores."""
    from solver.run.engine import Run

    head = Run(session, track=track)
    head.advance(max_seconds=0.3)  # warm-up: allocator, caches
    live_run(app, win, session)
    out = {"head": [], "live": [], "ratio": [], "fps": [], "busy": [], "plots": []}
    for _ in range(pairs):
        win.live.pause()
        wait(app, 10, lambda: win.model.state == "paused")
        i0, t0 = head.iteration, time.perf_counter()
        head.advance(max_seconds=seconds)
        h = (head.iteration - i0) / (time.perf_counter() - t0)
        win.live.resume()
        wait(app, 10, lambda: win.model.state == "running")
        wait(app, 0.1)
        i0, t0 = done_updates(win), time.perf_counter()
        f0, b0 = win.live.frames.frame_stats()
        drawn0 = dict(win.plots.redraws)
        wait(app, seconds)
        dt = time.perf_counter() - t0
        live = (done_updates(win) - i0) / dt
        f1, b1 = win.live.frames.frame_stats()
        out["head"].append(h)
        out["live"].append(live)
        out["ratio"].append(live / h)
        out["fps"].append((f1 - f0) / dt)
        out["busy"].append((b1 - b0) / dt)
        drawn = win.plots.redraws
        out["plots"].append({k: (v - drawn0.get(k, 0)) / dt for k, v in drawn.items()})
    return out


def longest_stall(app, win, session, seconds: float) -> float:
    meter = StallMeter()
    live_run(app, win, session)
    meter.start()
    wait(app, seconds)
    meter.stop()
    return max(meter.gaps) if meter.gaps else float("nan")


def stop_latency(app, win) -> tuple[float, float, float]:
    """(Stop -> worker idle, Stop -> window told, one iteration) in seconds, mid-run."""
    rec = win.model.selected
    told = []
    win.model.run_finished.connect(lambda *_: told.append(time.perf_counter()))
    t0 = time.perf_counter()
    win.live.stop()
    run_idle = win.live.worker.idle_event.wait(5)
    t_idle = time.perf_counter() - t0
    wait(app, 5, lambda: bool(told))
    st = rec.status
    per_iter = st.elapsed / max(st.iteration, 1)
    assert run_idle and st.stop_reason == "stopped", st.message
    return t_idle, told[0] - t0, per_iter


def loss_plot_fps(app, win, points: int, seconds: float) -> float:
    """Redraws per second of the loss plot following a run of ``points`` iterations."""
    from gui.views.plotkit import shown_rows
    from gui.views.plots import RunSource
    from solver.run.history import History

    h = History(["x1", "x2", "x3"])
    k = np.arange(points)
    loss = np.exp(-k / (points / 30)) * (1 + 0.3 * np.sin(k / 50.0)) + 1e-12
    chunk = 65536
    for s in range(0, points, chunk):
        e = min(points, s + chunk)
        c = e - s
        h.append(
            loss[s:e], np.sqrt(2 * loss[s:e]), loss[s:e] ** 0.5, np.zeros((c, 3)) + loss[s:e, None]
        )
    src = RunSource(h, np.zeros(3), ["x1", "x2", "x3"], (3,), lambda x: x)
    win.model.select(None)
    win.plots.set_source(src)
    plot = win.plots.plot("loss").widget
    frames = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        s, e, pts = shown_rows(plot, len(h))
        win.plots.plot("loss").curve.setData(*h.envelope("loss", s, e, pts))
        plot.viewport().repaint()
        app.processEvents()
        frames += 1
    return frames / (time.perf_counter() - t0)


def plot_rates(r: dict) -> dict[str, float]:
    """Redraws a second of each plot on screen (those drawn at all: the svd and heat-map
    tabs stay hidden), medians over ``paired_ratios``' segments."""
    names = sorted({k for p in r["plots"] for k, v in p.items() if v > 0})
    return {k: statistics.median(p.get(k, 0.0) for p in r["plots"]) for k in names}


def window_speeds(app, win, seconds: float, pairs: int) -> dict[str, float]:
    """What ``--busy`` compares, per n: the solver's speeds, the redraws and the stalls."""
    from gui.editing import PLOT_TRACK_LIMIT
    from solver.run.history import default_tracked

    out: dict[str, float] = {}
    for n in (3, 2000):
        session = make_session(n)
        track = default_tracked(n, PLOT_TRACK_LIMIT).tolist()
        r = paired_ratios(app, win, session, track, seconds, pairs)
        out[f"n = {n}: headless it/s"] = statistics.median(r["head"])
        out[f"n = {n}: window it/s"] = statistics.median(r["live"])
        out[f"n = {n}: window ÷ headless"] = statistics.median(r["ratio"])
        out[f"n = {n}: redraws/s, slowest plot"] = min(plot_rates(r).values(), default=0.0)
        out[f"n = {n}: longest stall, ms"] = 1e3 * longest_stall(app, win, session, seconds)
        win.live.stop()
        wait(app, 5, lambda: win.model.state != "running")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=1.5, help="length of each segment")
    ap.add_argument("--pairs", type=int, default=6, help="headless/window pairs per n")
    ap.add_argument("--write", action="store_true", help="write the GUI section of the docs")
    add_busy_option(ap)
    args = ap.parse_args()
    if args.busy is not None:
        app, win = open_window("gui-bench-")
        wait(app, 30, lambda: win.model.ready)
        measure = lambda: window_speeds(app, win, args.seconds, args.pairs)  # noqa: E731
        quiet, busy, load = quiet_then_busy(args.busy, measure)
        close_window(app, win)
        print(side_by_side("GUI", quiet, busy, load))
        return 0
    started = time.time()
    load0 = os.getloadavg()[0]

    import torch

    from gui.editing import PLOT_TRACK_LIMIT
    from solver.matrices import kernels
    from solver.run.history import default_tracked

    app, win = open_window("gui-bench-")
    wait(app, 0.5)

    rows: list[tuple[str, str, str, bool]] = []  # what, measured, target, met
    notes: list[str] = []
    for n in (3, 2000):
        session = make_session(n)
        track = default_tracked(n, PLOT_TRACK_LIMIT).tolist()
        r = paired_ratios(app, win, session, track, args.seconds, args.pairs)
        w = win.live.worker  # asked now: the run is still live (its mode goes with it)
        how = {
            "parked": "parked for each frame",
            "shared": "shared a core with each frame (one thread while it drew)",
            "beside": "ran beside the frames",
            "one thread": "ran on one thread beside the frames (other processes held a core)",
        }[w.policy.mode]
        ratio = statistics.median(r["ratio"])
        head, live = statistics.median(r["head"]), statistics.median(r["live"])
        fps, busy = statistics.median(r["fps"]), statistics.median(r["busy"])
        per_plot = plot_rates(r)
        slowest = min(per_plot.values()) if per_plot else 0.0
        print(
            f"n={n}: headless {head:,.0f} it/s, window {live:,.0f} it/s, ratio {ratio:.2f} "
            f"(pairs: {', '.join(f'{x:.2f}' for x in r['ratio'])}); plots redrawn "
            f"{fps:.0f}/s, GUI busy {100 * busy:.0f}% of the time; per plot "
            + ", ".join(f"{k} {v:.0f}/s" for k, v in per_plot.items()),
            flush=True,
        )
        stops = [stop_latency(app, win)]
        stalls = []
        for _ in range(3):
            stalls.append(longest_stall(app, win, session, args.seconds))
            stops.append(stop_latency(app, win))
        stall = max(stalls)
        print(
            f"   longest event-loop stall {stall * 1e3:.1f} ms "
            f"({', '.join(f'{x * 1e3:.0f}' for x in stalls)} ms)",
            flush=True,
        )
        worst = max(stops, key=lambda t: t[0] - t[2])
        told = max(t[1] for t in stops)
        print(
            f"   stop -> worker idle: worst {worst[0] * 1e3:.1f} ms with one iteration "
            f"{worst[2] * 1e3:.2f} ms; -> window told: worst {told * 1e3:.1f} ms",
            flush=True,
        )
        rows += [
            (
                f"solver it/s with the window ÷ headless, n = {n}",
                f"**{ratio:.2f}×** ({live:,.0f} ÷ {head:,.0f} it/s; pairs "
                f"{min(r['ratio']):.2f}–{max(r['ratio']):.2f})",
                "≥ 0.85×",
                ratio >= 0.85,
            ),
            (
                f"redraws per second of every visible plot, flat-out run, n = {n}",
                f"**{slowest:.0f}/s** slowest ("
                + ", ".join(f"{k} {v:.0f}" for k, v in per_plot.items())
                + ")",
                "≥ 30/s",
                slowest >= 30,
            ),
            (
                f"longest event-loop stall, flat-out run, n = {n}",
                f"**{stall * 1e3:.0f} ms** (3 runs: {', '.join(f'{x * 1e3:.0f}' for x in stalls)})",
                "≤ 50 ms",
                stall <= 0.05,
            ),
            (
                f"Stop → worker idle, n = {n} (4 stops)",
                f"**{worst[0] * 1e3:.1f} ms** worst (one iteration {worst[2] * 1e3:.2f} ms); "
                f"window told within {told * 1e3:.0f} ms",
                "≤ 100 ms + one iteration",
                all(t[0] <= 0.1 + t[2] for t in stops),
            ),
        ]
        notes.append(
            f"n = {n}: {fps:.0f} frames a second during the paired segments, the GUI thread "
            f"busy {100 * busy:.0f}% of the time; the solver {how}, on "
            + ("numpy's" if kernels.NUMPY_FASTER.get(torch.float64) else "torch's")
            + " mat-vecs."
        )

    fps = loss_plot_fps(app, win, 1_000_000, 3.0)
    print(f"loss plot with 1,000,000 points: {fps:.1f} frames/s", flush=True)
    rows.append(
        (
            "loss plot holding 1,000,000 points: decimate + setData + paint",
            f"**{fps:.0f} frames/s**",
            "≥ 30 frames/s",
            fps >= 30,
        )
    )
    platform_name = os.environ["QT_QPA_PLATFORM"]
    print(
        f"machine: {cores_available()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, QT_QPA_PLATFORM={platform_name}"
    )
    win.close()
    ok = all(r[3] for r in rows)
    print("targets met" if ok else "targets NOT met")
    if args.write:
        write_doc(rows, notes, started, load0, platform_name, args)
    return 0


def write_doc(rows, notes, started: float, load0: float, platform_name: str, args) -> None:
    import torch
    from pyqtgraph import __version__ as pg_version
    from PySide6 import __version__ as pyside_version

    from benchmarks.report import cpu_model, write_section

    took = time.time() - started
    table = "\n".join(f"| {w} | {m} | {t} {'ok' if ok else '**missed**'} |" for w, m, t, ok in rows)
    cmd = "python3 benchmarks/gui_stream.py --write"
    body = f"""
Measured {time.strftime("%Y-%m-%d %H:%M", time.localtime(started))} on {cores_available()} cores \
({cpu_model()}), no GPU; Python {platform.python_version()}, PySide6 {pyside_version}, \
pyqtgraph {pg_version}, torch {torch.__version__} ({torch.get_num_threads()} threads); \
QT_QPA_PLATFORM={platform_name}, window 1440×900 with all plots visible. Command: `{cmd}` \
({took:.0f} s; 1-minute load average {load0:.2f} at the start, {os.getloadavg()[0]:.2f} at \
the end).

| what | measured | target |
|---|---|---|
{table}

How: throughput is measured in {args.pairs} alternating pairs of {args.seconds:g} s segments \
(headless `Run.advance` in the same process, then the window's run; the window's run is \
paused while the headless one goes), and the ratio is the median of the pairs' ratios. The \
stall meter (a 1 ms QTimer) runs in separate segments, since its thousand Python calls a \
second would tax the ratio. Stop latency is from `stop()` to the worker's idle event.
{chr(10).join("- " + n for n in notes)}

Design that holds these (see `gui/gil.py`, `gui/frames.py`, `solver/run/fastpath.py`): every \
visible plot is drawn in every frame, and frames come at their own pace while a run goes (not at \
the pace of the solver's status reports, which halved them). Plain gd on a small dense system \
runs its updates in TorchScript chunks of ~8 ms that release the GIL, so it is never parked: the \
window draws beside it on the other core, using up to 60% of that core. A larger one on those \
chunks (n = 2000: 2-thread mat-vecs) shares a core with each frame: the frame asks for a chunk on \
one thread lasting 1.3 times its expected cost and waits, without the GIL, until it has begun; it \
then draws on the other core while the solver goes on at about half speed, wanting the GIL back \
only once the frame is over, and frames take up to 22% of the wall clock. Only where A's products \
round alike on one thread and on two (at n = 700 here Aᵀ r did not), so the window's run stays \
the headless one bit for bit. Other runs are parked (the worker waits on a condition, without the \
GIL) for each frame's data pull and paints, while the problem is GIL-bound or its 2-thread BLAS \
would be stalled by a frame on one of the two cores (below 2·10⁷ multiply-adds per update); \
frames then take at most 11% of the wall clock, counted from the moment the solver is parked, and \
a gd chunk of long updates holds one update, so parking waits ~2 ms. Parked, n = 2000 drew 21 \
frames a second at 0.88×; sharing, 37–47 at 0.87–0.94×. Everything a run's progress changes is \
drawn inside a frame: the worker's status reports are applied at the next frame (the status bar, \
the Runs table and the timeline then relayout and repaint there), and a frame ends one event-loop \
hop after the plots' scenes have posted their paints. Before, both happened between frames, \
beside the solver and against it for the GIL: at n = 2000 that was more GUI time than the frames \
themselves, and none of it counted in their budget. Drawing beside a 2-thread BLAS solver instead \
gave 23 frames a second at 0.64×, and narrowing its BLAS to one thread while a frame draws slowed \
both sides (each of the solver's bits of Python between BLAS calls waits for the GIL the frame \
holds: 115–146 against 290 it/s, the frame's Python 1.2–1.8× slower): what made sharing work is \
the whole frame in one GIL-free chunk that has begun before the frame takes the GIL. Measured \
traps on the way: a full garbage collection of the ~230k objects torch, Qt and pyqtgraph leave \
behind took 150 ms in whichever thread tripped it (fixed by `gc.freeze()` once the window is \
ready); pyqtgraph's axis grid cost ~20 ms per range change (removed); axes replayed a QPicture on \
every paint (now painted once into a pixmap cache, and ranges grow in steps); a Python \
`paintEvent` on the main window cost a GIL wait per repaint (now an event filter that removes \
itself after the first paint); lines wider than 1 px go through Qt's path stroker, 3-4× slower to \
paint (the x, error and residual curves are 1 px; the 2 px loss line is drawn as four 1 px lines \
a pixel apart, 0.05 against 0.43 ms); pyqtgraph's curve items recompute their bounds through \
nanmin/nanmax and a pixel mapping whenever Qt asks for them, over half of a frame of the twelve x \
curves (`gui/views/curves.py`: bounds kept once per update, the x components drawn by one item, \
log axes without the data item's dataset pipeline, an unpainted item to auto-range on); any item \
that moved queued a view-box auto-range pass at the next paint, even curves excluded from it (now \
only the range keeper's item does); a status-bar label whose size may change relaid the whole \
window out at each new text (now fixed-size, widened when a text needs it). Start-up is in the \
next section.
"""
    write_section("GUI", body)


if __name__ == "__main__":
    sys.exit(main())
