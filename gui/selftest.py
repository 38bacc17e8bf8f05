"""``--self-test``: prove a build works end to end, from source or frozen.

Opens the real main window (offscreen is fine), runs the real worker path on the seed's 3x3
system to convergence, checks the answer against the exact solution, checks that the bundled
resources load, prints ``SELFTEST PASS`` and returns 0; anything else prints
``SELFTEST FAIL: <reason>`` and returns 1. It writes only to a temporary folder.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

RUN_TIMEOUT_S = 60.0


class SelfTestError(Exception):
    pass


def _wait(app: QtWidgets.QApplication, done, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SelfTestError(f"timed out after {timeout:.0f} s waiting for {what}")
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.005)


def _check_resources() -> list[str]:
    from solver.core.resources import examples_dir, resource_path
    from solver.matrices import matrixio
    from solver.sessions import session

    icon = QtGui.QIcon(str(resource_path("icons", "descent-lab.png")))
    if icon.isNull():
        raise SelfTestError("the app icon does not load")
    a = matrixio.load_matrix(resource_path("matrices", "nos4.mtx"))
    if a.shape != (100, 100) or not np.allclose(a, a.T):
        raise SelfTestError(f"nos4.mtx read wrongly: shape {a.shape}")
    examples = sorted(examples_dir().glob("*.json"))
    if not examples:
        raise SelfTestError(f"no example sessions in {examples_dir()}")
    for path in examples:
        session.load(path)  # raises InputError naming the key if one is broken
    return [p.name for p in examples]


def _check_engine() -> int:
    """Every optimizer with every loss, a few updates each (``solver.headless``)."""
    from solver.headless import check_engine

    try:
        return check_engine()
    except RuntimeError as exc:
        raise SelfTestError(str(exc)) from exc


def _solve_in_window(app: QtWidgets.QApplication, tmp: Path) -> tuple[str, float]:
    from solver.core.resources import examples_dir

    from .mainwindow import MainWindow

    settings = QtCore.QSettings(str(tmp / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, data_dir=tmp, dialogs=False)
    finished: list[tuple[str, str]] = []
    model = win.model
    model.run_finished.connect(lambda _id, reason, msg: finished.append((reason, msg)))
    try:
        win.show()
        _wait(app, lambda: model.ready, 30, "the window to become ready")
        if not win.editor.load_session(examples_dir() / "seed-3x3.json"):
            raise SelfTestError(f"the example session was refused: {model.last_error}")
        if not win.live.start():
            raise SelfTestError(f"Run did not start: {model.last_error}")
        _wait(app, lambda: bool(finished), RUN_TIMEOUT_S, "the run to finish")
        reason, message = finished[0]
        if reason != "converged":
            raise SelfTestError(f"the run ended '{reason}': {message}")
        # The history's numpy trajectory, not the run's tensors: those belong to the worker.
        x = model.selected.history.trajectory()[1][-1]
        exact = np.linalg.solve(
            np.array([[1.0, 2, 0], [0, 1, 0], [0, 0, 1]]), np.array([1.0, 2, 3])
        )
        err = float(np.linalg.norm(x - exact))
        if not err < 1e-6:
            raise SelfTestError(f"x = {x.tolist()} is {err:.3g} away from {exact.tolist()}")
        for name in ("loss.png", "loss.svg"):  # the exporters load what a bundle may trim
            if not win.files.export_plot("loss", tmp / name) or (tmp / name).stat().st_size == 0:
                raise SelfTestError(f"exporting the loss plot as {name} failed: {model.last_error}")
        return message, err
    finally:
        win.shutdown()
        win.persistence.flush()  # before its temporary folder goes
        win.close()


def _check_estimates() -> float:
    """The iterative spectrum (ARPACK, the LU) and conjugate gradient that large matrices and
    the Compare tab use: modules a trimmed scipy might have left out."""
    from solver.insight.rates import cg_path
    from solver.matrices.spectra import estimate_sigma_max, estimate_sigma_min
    from solver.problems.linear import LinearSystem

    a = np.diag(np.linspace(1.0, 4.0, 50))
    hi, lo = estimate_sigma_max(a, None)[0], estimate_sigma_min(a, None)[0]
    if not (abs(hi - 4.0) < 1e-8 and abs(lo - 1.0) < 1e-8):
        raise SelfTestError(f"spectrum estimates {hi}, {lo} instead of 4 and 1")
    path = cg_path(LinearSystem(a, np.ones(50)), "energy", 1e-20)
    if path is None or path.error[-1] > 1e-8:
        raise SelfTestError("conjugate gradient did not converge")
    return hi / lo


def _check_threads() -> str:
    """The thread policy (``solver.core.threads``) came before torch and numpy loaded: in a
    frozen app nothing the bundle runs ahead of main.py (a runtime hook) may import them."""
    from solver.core import threads

    if threads.applied is None:
        raise SelfTestError("the thread policy was never applied")
    if threads.came_late:
        raise SelfTestError("the thread policy was applied after torch or numpy was imported")
    policy = ", ".join(f"{k}={v}" for k, v in sorted(threads.applied.items()))
    return f"threads: {threads.cores_available()} cores available; set {policy or 'nothing'}"


def run_self_test(app: QtWidgets.QApplication) -> int:
    t0 = time.perf_counter()
    try:
        threads_line = _check_threads()
        examples = _check_resources()
        combos = _check_engine()
        kappa = _check_estimates()
        with tempfile.TemporaryDirectory(prefix="descent-lab-selftest-") as tmp:
            message, err = _solve_in_window(app, Path(tmp))
        import torch

        print(threads_line)
        print(f"resources: {len(examples)} example sessions load; icon and .mtx read")
        print(f"engine: {combos} optimizer/loss combinations advance")
        print(f"estimates: Lanczos and conjugate gradient work (κ = {kappa:.4g})")
        print(
            f"window run: {message}; error to exact solution {err:.2e}; "
            "loss plot exported as PNG and SVG"
        )
        print(
            f"torch {torch.__version__}, frozen={bool(getattr(sys, 'frozen', False))}, "
            f"{time.perf_counter() - t0:.1f} s"
        )
    except Exception as exc:  # report every failure as one line: this is the check itself
        print(f"SELFTEST FAIL: {type(exc).__name__}: {exc}", flush=True)
        return 1
    print("SELFTEST PASS", flush=True)
    return 0
