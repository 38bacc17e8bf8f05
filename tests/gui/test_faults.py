"""Faults injected where they happen for real: a NaN mid-run, an exception inside the
optimizer's step, the device running out of memory or failing, a full disk on export. Each
ends with a clear message, the history up to the fault kept, and the app still usable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import test_gui
import torch

import solver.run.engine
from solver import Run
from solver.run.engine import StopReason
from solver.run.history import History
from solver.sessions import presets

LONG = test_gui.LONG


def at(updates: int, fault):
    """An observer (``Run.observe``) that calls ``fault(run)`` as update ``updates + 1``
    begins: the run has ``updates`` updates behind it."""

    def observer(run: Run) -> None:
        if run.iteration == updates:
            fault(run)

    return observer


def every_run_observed(monkeypatch, observer) -> None:
    """Each run made from now on (by the window's worker too) observed by ``observer``."""
    made = Run.__init__

    def init(self, *args, **kwargs) -> None:
        made(self, *args, **kwargs)
        self.observe(before_update=observer)

    monkeypatch.setattr(Run, "__init__", init)


def nan_x(run) -> None:
    # What a blown-up update leaves. A reach-in on purpose: nothing public may spoil x.
    run._xd.fill_(float("nan"))


def broken_step(_run) -> None:
    raise RuntimeError("simulated fault inside the optimizer step")


def out_of_memory(_run) -> None:
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def endless_sgd():
    return presets.build("seed-3x3").replace(
        optimizer="sgd", optimizer_args={"momentum": 0.5}, max_iters=10**6, tol=0.0
    )


def test_a_nan_mid_run_stops_it_as_diverged_keeping_the_history() -> None:
    run = Run(presets.build("seed-3x3").replace(tol=0.0))
    run.observe(before_update=at(40, nan_x))
    run.advance()
    assert run.stop_reason is StopReason.DIVERGED and "diverged at iteration 41" in run.message
    assert len(run.history) == 42 and np.isfinite(run.history.loss[:41]).all()


@pytest.mark.parametrize(
    ("fault", "words"),
    [(broken_step, "simulated fault"), (out_of_memory, "out of memory on cpu")],
    ids=["exception", "out-of-memory"],
)
def test_a_fault_inside_the_step_ends_the_run_with_its_message(fault, words):
    run = Run(endless_sgd())
    run.observe(before_update=at(25, fault))
    run.advance()
    assert run.stop_reason is StopReason.ERROR and words in run.message
    assert len(run.history) == 26  # every update before the fault
    assert np.isfinite(run.history.loss).all()


def test_a_fault_in_the_window_is_shown_and_the_next_run_works(qtbot, window, monkeypatch):
    every_run_observed(monkeypatch, at(25, broken_step))
    window.editor.load_session(endless_sgd())
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG) as sig:
        assert window.live.start()
    assert sig.args[1] == "error" and "simulated fault" in window.model.last_error
    rec = window.model.selected
    assert len(rec.history) == 26 and rec.status.stop_reason == "error"
    monkeypatch.undo()
    window.editor.load_session(endless_sgd().replace(max_iters=50))
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG) as sig:
        assert window.live.start()
    assert sig.args[1] == "max_iters"
    assert [r.status.stop_reason for r in window.model.runs] == ["error", "max_iters"]


def test_a_nan_in_the_window_says_diverged_and_keeps_the_run(qtbot, window, monkeypatch):
    every_run_observed(monkeypatch, at(40, nan_x))
    window.editor.load_session(presets.build("seed-3x3").replace(tol=0.0))
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG) as sig:
        assert window.live.start()
    assert sig.args[1] == "diverged" and "diverged at iteration 41" in sig.args[2]
    assert len(window.model.selected.history) == 42


def test_a_device_that_fails_when_the_run_is_created_is_reported(qtbot, window, monkeypatch):
    def failing(_spec):
        raise RuntimeError("CUDA error: no CUDA-capable device is detected")

    monkeypatch.setattr(solver.run.engine, "resolve_device", failing)
    failed = []
    window.model.refused.connect(lambda title, text: failed.append(text))
    assert window.live.start()
    qtbot.waitUntil(lambda: bool(failed), timeout=LONG)
    assert "no CUDA-capable device" in failed[0]
    qtbot.waitUntil(lambda: window.model.state == "idle", timeout=LONG)
    monkeypatch.undo()
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        assert window.live.start()  # the app is still usable


def test_export_on_a_full_disk_is_refused_and_keeps_the_old_file(
    qtbot, window, monkeypatch, tmp_path: Path
):
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        assert window.live.start()
    out = tmp_path / "history.csv"
    out.write_text("an earlier export\n", encoding="utf-8")

    def full(self, path, derived=None):
        Path(path).write_text("iteration,loss\n0,", encoding="utf-8")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(History, "to_csv", full)
    assert not window.persistence.export_csv(out)
    assert "No space left" in window.model.last_error
    assert out.read_text(encoding="utf-8") == "an earlier export\n"
    assert not window.files.export_plot("loss", tmp_path / "missing" / "loss.png")
    assert "loss.png" in window.model.last_error
