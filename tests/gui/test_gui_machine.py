"""The live run fits what the machine gives (``gui.machine``): the mode a run lives with the
frames in, chosen from the cores this process may use and those the other processes leave
free, and changed while the run goes as the load changes (``GilPolicy.fit``)."""

from __future__ import annotations

import statistics
import time

import pytest
import test_gui
import test_gui_worker
from test_gui_worker import big_endless, last

from gui import machine
from gui.machine import (
    BESIDE,
    ONE_THREAD,
    PARK_LIMIT,
    PARKED,
    SHARED,
    UNPARKED_LIMIT,
    Machine,
    frame_mode,
)
from gui.records import RUNNING

worker, on_torch = test_gui_worker.worker, test_gui_worker.on_torch
LONG = 60_000
SMALL, MID = UNPARKED_LIMIT // 2, 4_000_000  # n = 3-ish on the chunks; n = 2000


@pytest.mark.parametrize(
    ("work", "releases", "can_share", "cores", "spare", "mode"),
    [
        # a quiet 2-core machine: as the window always did
        (SMALL, True, False, 2, 2.0, BESIDE),
        (MID, True, True, 2, 2.0, SHARED),
        (MID, True, False, 2, 2.0, PARKED),
        (SMALL, False, False, 2, 2.0, PARKED),  # the Python loop holds the GIL
        (PARK_LIMIT, True, False, 2, 2.0, BESIDE),  # an update longer than a frame
        # one core (affinity or quota): nothing runs beside a frame, it takes the run's turn
        (SMALL, True, False, 1, 1.0, PARKED),
        (MID, True, True, 1, 1.0, PARKED),
        (PARK_LIMIT, True, False, 1, 1.0, BESIDE),
        # two cores, another process on one of them: one thread, beside the frames
        (MID, True, True, 2, 1.0, ONE_THREAD),
        (MID, True, True, 2, 0.0, ONE_THREAD),
        (MID, True, True, 2, 1.6, SHARED),  # a little background use is no reason
        (MID, True, False, 2, 0.0, PARKED),  # its numbers would change on one thread
        (SMALL, True, False, 2, 0.0, BESIDE),  # on one thread already
        # many cores, one busy neighbour: still cores for both threads of the frame and run
        (MID, True, True, 16, 15.0, SHARED),
    ],
)
def test_frame_mode_from_the_measured_machine(
    work: int, releases: bool, can_share: bool, cores: int, spare: float, mode: str
) -> None:
    assert frame_mode(work, releases, can_share, cores, spare) == mode


def test_machine_measures_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(machine.SPARE_ENV, "0.5")
    assert Machine().spare() == 0.5
    monkeypatch.delenv(machine.SPARE_ENV)
    m = Machine()
    assert m.fixed is None and 0.0 <= m.spare() <= m.cores


def test_machine_says_a_bad_hook_value_and_measures(monkeypatch, capsys) -> None:
    monkeypatch.setenv(machine.SPARE_ENV, "lots")
    m = Machine()
    assert m.fixed is None
    assert "DESCENT_LAB_SPARE_CORES='lots' is not a number" in capsys.readouterr().out


def _sharing_run(qtbot, w):  # noqa: ANN001, ANN202 - the run's chunks
    import torch

    if torch.get_num_threads() < 2:
        pytest.skip("torch has one thread here: there is no core to share")
    w.start(1, big_endless())
    qtbot.waitUntil(lambda: last(w) is not None and last(w).iteration > 0, timeout=LONG)
    if w.policy.mode != SHARED:
        pytest.skip("A's products round differently on one thread here: parked instead")
    return w.policy.fitted[3]


def test_a_run_goes_to_one_thread_while_the_machine_is_busy_and_back(
    qtbot,
    worker,
    on_torch,
) -> None:
    chunks = _sharing_run(qtbot, worker)
    assert worker.policy.fit(0.5) == ONE_THREAD
    assert chunks.one_thread and not worker.policy.park and not worker.policy.shares
    assert worker.policy.sharing_chunks is None  # frames do not hold it: it runs beside them
    before = chunks.shared_updates
    qtbot.waitUntil(lambda: chunks.shared_updates > before + 2, timeout=LONG)
    assert last(worker).state == RUNNING
    assert worker.policy.fit(2.0) == SHARED
    assert not chunks.one_thread and worker.policy.shares and worker.policy.sharing_chunks is chunks
    worker.stop()
    qtbot.waitUntil(lambda: worker.policy.mode == PARKED, timeout=LONG)


def test_no_change_of_mode_while_a_frame_holds_the_run(
    qtbot,
    worker,
    on_torch,
) -> None:
    """A hold and its release must see one mode: the change waits for the next fit."""
    chunks = _sharing_run(qtbot, worker)
    with worker.frame_window(0.01):
        assert worker.policy.fit(0.0) == SHARED and not chunks.one_thread
    assert worker.policy.fit(0.0) == ONE_THREAD


class _Load:
    def __init__(self, spare: float) -> None:
        self.value = spare

    def spare(self) -> float:
        return self.value


def test_the_window_fits_its_run_to_the_load_between_frames(qtbot, window, on_torch) -> None:
    import torch

    if torch.get_num_threads() < 2:
        pytest.skip("torch has one thread here: there is no core to share")
    load = _Load(2.0)
    window.live.frames.machine = load
    window.editor.load_session(big_endless())
    assert window.live.start(), window.model.last_error
    test_gui.wait_state(qtbot, window, "running")
    w = window.live.worker
    qtbot.waitUntil(lambda: w.policy.fitted is not None, timeout=LONG)
    if not w.policy.fitted[2]:
        pytest.skip("A's products round differently on one thread here: parked instead")
    qtbot.waitUntil(lambda: w.policy.mode == SHARED, timeout=LONG)
    load.value = 0.8  # another process took a core
    qtbot.waitUntil(lambda: w.policy.mode == ONE_THREAD, timeout=LONG)
    load.value = 2.0
    qtbot.waitUntil(lambda: w.policy.mode == SHARED, timeout=LONG)
    window.live.stop()


def test_frames_come_less_often_while_the_machine_is_busy(qtbot, window, monkeypatch) -> None:
    """With no core left free a frame beside the solver takes from it: frames then come at
    most BUSY_FPS a second (from one start to the next), and as their cost allows again once
    the cores come back."""

    from gui import frames as frames_mod

    # few enough that a frame's own cost never paces them so: the cap alone does
    monkeypatch.setattr(frames_mod, "BUSY_FPS", 5)
    load = _Load(0.5)
    live = window.live
    live.frames.machine = load
    window.editor.load_session(test_gui_worker.endless())
    paces: list[tuple[float, float, float, float]] = []
    ends: list[tuple[float, float]] = []

    def ending() -> None:
        spare, w = load.value, live.worker
        share = frames_mod.FRAME_SHARE_BESIDE if not w.policy.park else frames_mod.FRAME_SHARE
        paces.append((spare, live.frames.next_frame_in, live.frames.frame_cost, share))
        ends.append((spare, time.perf_counter()))

    live.frames.frame_ended.connect(ending)
    assert live.start(), window.model.last_error
    test_gui.wait_state(qtbot, window, "running")
    qtbot.waitUntil(lambda: len(paces) >= 6, timeout=LONG)
    load.value = 2.0
    qtbot.waitUntil(lambda: sum(p[0] == 2.0 for p in paces) >= 6, timeout=LONG)
    live.stop()
    test_gui.wait_state(qtbot, window, "idle")
    running = paces[1:-1]
    for spare, gap, cost, share in running:
        if spare < machine.ONE_THREAD_BELOW:
            # the frame's own time counts in its period: the gap after it is at most that
            assert gap <= min(frames_mod.MAX_GAP, max(1.0 / 5, cost / share)), paces
        else:
            pace = min(frames_mod.MAX_GAP, max(1.0 / frames_mod.MAX_FPS, cost / share))
            # read just after the frame's end: a little less is fine
            assert 0.9 * pace - 0.005 <= gap <= pace, paces
    pairs = zip(ends[1:-1], ends[2:], strict=True)
    busy = [b[1] - a[1] for a, b in pairs if a[0] < 1.0 and b[0] < 1.0]
    assert busy and statistics.median(busy) >= 0.9 / 5, ends
    quiet = [(gap, cost / share) for spare, gap, cost, share in running if spare == 2.0]
    assert quiet
    if max(paced for _, paced in quiet) < 0.15:  # frames cheap enough to tell the two apart
        assert max(gap for gap, _ in quiet) < 0.9 / 5 - 0.005, paces
