"""The application model on its own (no widgets): runs added, selected, pinned, renamed,
deleted, evicted past eight, and greyed when the problem changes."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from gui.model import IDLE, KEEP_RUNS, AppModel  # noqa: E402
from gui.records import FINISHED, PAUSED, RUNNING, RunStatus  # noqa: E402
from solver.run.history import History  # noqa: E402
from solver.sessions import presets  # noqa: E402


@pytest.fixture
def model(qapp) -> AppModel:
    m = AppModel()
    m.set_session(presets.build(presets.DEFAULT_PRESET), label="3×3")
    m.set_ready()
    return m


def finish(m: AppModel, rec, reason: str = "converged") -> None:
    m.update_status(RunStatus(rec.id, FINISHED, 10, 11, reason, f"{reason}: done", 0.1, 10, 1e-9))


def test_a_new_run_is_live_selected_and_listed(qtbot, model):
    with qtbot.waitSignals([model.runs_changed, model.selection_changed, model.state_changed]):
        rec = model.add_run(model.session, None)
    assert model.runs == [rec] and model.selected is rec and model.live is rec
    assert model.state == "starting" and rec.colour and "Run 1" in rec.name
    h = History(["x1", "x2", "x3"])
    h.append(np.array([1.0]), np.array([1.0]), np.array([1.0]), np.zeros((1, 3)))
    model.run_created(rec.id, h)
    assert len(rec.history) == 1
    with pytest.raises(ValueError):
        rec.history.loss[0] = 5.0  # read only for every view
    model.update_status(RunStatus(rec.id, RUNNING, 5, 6))
    assert model.state == RUNNING
    model.update_status(RunStatus(rec.id, PAUSED, 7, 8))
    assert model.state == PAUSED
    with qtbot.waitSignal(model.run_finished) as sig:
        finish(model, rec)
    assert sig.args == [rec.id, "converged", "converged: done"]
    assert model.state == IDLE and model.runs == [rec]  # finished runs stay listed


def test_the_last_eight_runs_are_kept_plus_pinned_ones(model):
    first = model.add_run(model.session, None)
    finish(model, first)
    model.pin(first)
    made = [first]
    for _ in range(KEEP_RUNS + 3):
        rec = model.add_run(model.session, None)
        finish(model, rec)
        made.append(rec)
    assert first in model.runs  # pinned: kept past the last eight
    unpinned = [r for r in model.runs if not r.pinned]
    assert unpinned == made[-KEEP_RUNS:]
    model.pin(first, False)  # unpinned: the oldest goes
    assert first not in model.runs and len(model.runs) == KEEP_RUNS


def test_changing_the_problem_greys_older_runs(qtbot, model):
    old = model.add_run(model.session, None)
    finish(model, old)
    with qtbot.waitSignal(model.runs_changed):
        model.set_session(presets.build("seed-puzzle"))
    assert old.stale
    # A settings change on the same problem keeps runs current; the same values too.
    new = model.add_run(model.session, None)
    model.set_session(model.session.replace(lr=0.05), refill=False)
    assert not new.stale
    model.set_session(presets.build("seed-puzzle"))
    assert not new.stale and old.stale
    model.set_session(presets.build(presets.DEFAULT_PRESET))
    assert not old.stale and new.stale


def test_select_rename_delete(qtbot, model):
    a = model.add_run(model.session, None)
    finish(model, a)
    b = model.add_run(model.session, None)
    finish(model, b)
    with qtbot.waitSignal(model.selection_changed):
        model.select(a)
    assert model.selected is a
    assert model.rename(a, "  baseline ") and a.name == "baseline"
    assert not model.rename(a, "   ") and a.name == "baseline"
    assert "empty" in model.last_error
    with qtbot.waitSignal(model.selection_changed) as sig:
        model.delete(a)
    assert sig.args == [None] and model.runs == [b]


def test_deleting_the_live_run_asks_the_driver_to_stop_it(qtbot, model):
    rec = model.add_run(model.session, None)
    model.update_status(RunStatus(rec.id, RUNNING, 5, 6))
    with qtbot.waitSignal(model.live_discarded):
        model.delete(rec)
    assert model.state == IDLE and model.live is None
    model.update_status(RunStatus(rec.id, FINISHED, 9, 10, "stopped"))  # late: ignored
    assert model.runs == []


def test_the_inspected_iteration_is_clamped_and_reset_by_selection(qtbot, model):
    rec = model.add_run(model.session, None)
    h = History(["x1", "x2", "x3"])
    h.append(np.arange(5.0), np.ones(5), np.ones(5), np.zeros((5, 3)))
    model.run_created(rec.id, h)
    with qtbot.waitSignal(model.inspected_changed) as sig:
        model.inspect(99)
    assert sig.args == [4] and model.inspected == 4
    model.select(None)
    assert model.inspected is None


def test_a_failed_run_ends_with_reason_error_and_a_message(qtbot, model):
    rec = model.add_run(model.session, None)
    with qtbot.waitSignal(model.refused) as sig:
        model.run_failed(rec.id, "out of memory")
    assert rec.status.state == FINISHED and rec.status.stop_reason == "error"
    assert sig.args[1] == "out of memory" and model.state == IDLE
