"""Random control sequences against the real window: every control, in any order, at any
moment of a run, including closing the window and opening another on the same folder. After
every action the invariants hold: one worker thread or none, controls that match the state,
finished runs whose history matches their iteration count, and no Qt warning beyond the
offscreen platform's own."""

from __future__ import annotations

import random

import pytest
import test_gui
from PySide6 import QtCore, QtWidgets

from solver.sessions import presets

LONG = test_gui.LONG
ACTIONS_PER_RUN = 500
BENIGN = ("propagateSizeHints",)  # the offscreen platform says this on every window


def short(key: str, **kw):
    return presets.build(key).replace(max_iters=kw.pop("max_iters", 300), **kw)


def check(w, threads_before: int) -> None:
    m = w.model
    state = m.state
    assert (state != "idle") == w.act_stop.isEnabled()
    assert w.act_reset.isEnabled() == (m.selected is not None)
    if state == "idle":
        assert w.act_run.isEnabled() == m.can_run()
    live = [r for r in m.runs if r.live]
    assert len(live) <= 1 and (not live or live[0].id == m.live_id)
    for r in m.runs:
        if r.history is None:
            continue
        n = len(r.history)
        assert r.status.entries <= n
        if r.status.state == "finished" and r.status.stop_reason != "error":
            assert n == r.status.iteration + 1, (r.name, n, r.status)
    solver_threads = [t for t in w.findChildren(QtCore.QThread) if t.isRunning()]
    assert len(solver_threads) <= 1
    assert len(m.runs) <= 8 + sum(r.pinned for r in m.runs) + 1


@pytest.mark.parametrize("seed", [1, 2])
def test_random_actions_keep_every_invariant(qtbot, make_window, seed: int) -> None:
    rng = random.Random(seed)
    w = make_window()
    windows = [w]

    def pump() -> None:
        for _ in range(rng.randint(0, 3)):
            QtWidgets.QApplication.processEvents()

    def current():
        return windows[-1]

    def reopen() -> None:
        old = current()
        old.close()
        assert old.live.thread is None or old.live.thread.isFinished()
        windows.append(make_window())

    def select_random() -> None:
        m = current().model
        if m.runs:
            m.select(rng.choice(m.runs))

    def pin_random() -> None:
        m = current().model
        if m.runs:
            r = rng.choice(m.runs)
            m.pin(r, not r.pinned)

    def rename_random() -> None:
        m = current().model
        if m.runs:
            m.rename(rng.choice(m.runs), rng.choice(["a", "", "  ", "Run X", "ü" * 40]))

    def delete_random() -> None:
        m = current().model
        if m.runs:
            m.delete(rng.choice(m.runs))

    actions = [
        lambda: current().act_run.trigger(),
        lambda: current().act_pause.trigger(),
        lambda: current().act_step.trigger(),
        lambda: current().live.step(rng.randint(1, 50)),
        lambda: current().act_stop.trigger(),
        lambda: current().act_reset.trigger(),
        lambda: current().toolbar.set_speed(rng.choice([None, 2, 30, 1000])),
        lambda: current().editor.change({"lr": rng.choice([0.01, 0.1, 0.3, 5.0])}),
        lambda: current().editor.change({"lr": rng.choice([-1, 0, float("nan")])}),
        lambda: current().editor.load_session(short("seed-3x3")),
        lambda: current().editor.load_session(short("seed-inverse-diagonal")),
        lambda: current().editor.load_session(short("svd-tall", max_iters=200)),
        lambda: current().editor.load_session(short("seed-polyfit")),
        lambda: current().editor.switch_kind(
            rng.choice(["linear_system", "inverse", "polyfit", "svd"])
        ),
        lambda: current().editor.load_session("/nonexistent/session.json"),
        lambda: current().menus.act_undo.trigger(),
        lambda: current().menus.act_redo.trigger(),
        lambda: current().hyper.use_step.emit(rng.choice(["recommended", "optimal", "heavy_ball"])),
        lambda: current().menus.act_reset_layout.trigger(),
        select_random,
        pin_random,
        rename_random,
        delete_random,
    ]
    threads_before = QtCore.QThread.currentThread()
    for i in range(ACTIONS_PER_RUN):
        if i and i % 170 == 0:
            reopen()
        else:
            rng.choice(actions)()
        pump()
        check(current(), threads_before)

    # Whatever was left running stops, and then every run's record is complete.
    cur = current()
    cur.live.stop()
    qtbot.waitUntil(lambda: cur.model.state == "idle", timeout=LONG)
    qtbot.waitUntil(cur.live.worker.idle_event.is_set, timeout=LONG)
    QtWidgets.QApplication.processEvents()
    check(cur, threads_before)
    started = sum(x.model.runs_started for x in windows)
    assert started >= 20, f"only {started} runs started: the sequence did not exercise runs"


@pytest.fixture(autouse=True)
def no_qt_warnings(qtlog):
    yield
    bad = [
        r.message
        for r in qtlog.records
        if r.type in (QtCore.QtMsgType.QtWarningMsg, QtCore.QtMsgType.QtCriticalMsg)
        and not any(b in r.message for b in BENIGN)
    ]
    assert not bad, bad[:5]
