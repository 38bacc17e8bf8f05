"""A long analysis stops when its caller cancels it, keeps nothing half-done, and a later
analysis of the same problem still works."""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest

from solver.core.errors import Cancelled, InputError
from solver.insight import analysis
from solver.problems.kinds import KINDS
from solver.problems.linear import FULL_SVD_LIMIT, Inverse, LinearSystem

N = 3000  # beyond FULL_SVD_LIMIT: iterative estimates, an LU, a direct solve


class CancelAt(threading.Event):
    """An event that reads as set from its ``at``-th check on: a cancel that lands at a
    known point, without timing."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.checks = at, 0
        self.checked = threading.Event()

    def is_set(self) -> bool:
        self.checks += 1
        if self.checks >= self.at:
            self.checked.set()
            return True
        return super().is_set()


@pytest.fixture(scope="module")
def big() -> np.ndarray:
    """I plus a rank-2 change: singular values 6, 0.1 and 1, so the estimates converge in a
    few passes and the answers are known (cond 60, L = 36)."""
    assert N > FULL_SVD_LIMIT
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((N, 2)))
    return np.eye(N) + 5 * np.outer(q[:, 0], q[:, 0]) - 0.9 * np.outer(q[:, 1], q[:, 1])


def system(a: np.ndarray) -> LinearSystem:
    return LinearSystem(a, a @ np.ones(a.shape[0]))


def assert_the_full_analysis(a: analysis.Analysis) -> None:
    assert a.cond == pytest.approx(60.0, rel=1e-6)
    assert a.lipschitz == pytest.approx(36.0, rel=1e-9)
    np.testing.assert_allclose(a.exact, 1.0, atol=1e-9)


def test_cancelled_is_not_bad_input() -> None:
    assert not issubclass(Cancelled, InputError) and issubclass(Cancelled, Exception)


def test_a_cancel_set_before_stops_at_once(big: np.ndarray) -> None:
    p, cancel = system(big), threading.Event()
    cancel.set()
    t0 = time.perf_counter()
    with pytest.raises(Cancelled):
        analysis.analyze(p, "half_sum_squares", 0.01, cancel)
    assert time.perf_counter() - t0 < 0.5  # nothing was computed
    with pytest.raises(Cancelled):
        analysis.analyze_linear(p, "half_sum_squares", 0.01, cancel)


class Recorder(threading.Event):
    """Never set; remembers, for each check, which stage of the analysis made it."""

    STAGES = ("normal", "estimate_sigma_min", "solve")

    def __init__(self) -> None:
        super().__init__()
        self.stages: list[str] = []

    def is_set(self) -> bool:
        frame, stage = sys._getframe(1), "between"
        while frame is not None:
            if frame.f_code.co_name in self.STAGES:
                stage = frame.f_code.co_name
                break
            frame = frame.f_back
        self.stages.append(stage)
        return False


@pytest.fixture(scope="module")
def checks(big: np.ndarray) -> dict[str, int]:
    """The numbers of the checks that fall where the test cancels: the third product of
    the Lanczos iteration for σmax, the second pass of the inverse iteration for σmin
    (after its LU) and the check between the spectrum and the solve."""
    rec = Recorder()
    analysis.analyze(system(big), "half_sum_squares", 0.01, rec)
    st = rec.stages
    lanczos = st.index("normal") + 3
    inverse = st.index("estimate_sigma_min") + 3
    between = next(i for i in range(inverse, len(st)) if st[i] == "between") + 1
    assert st[lanczos - 1] == "normal" and st[inverse - 1] == "estimate_sigma_min"
    return {"lanczos": lanczos, "inverse": inverse, "between": between}


@pytest.mark.parametrize("where", ["lanczos", "inverse", "between"])
def test_a_cancel_inside_the_iterations_raises_there_and_leaves_nothing_behind(
    big: np.ndarray, checks: dict[str, int], where: str
) -> None:
    at = checks[where]
    p, cancel = system(big), CancelAt(at)
    with pytest.raises(Cancelled):
        analysis.analyze(p, "half_sum_squares", 0.01, cancel)
    assert cancel.checks == at  # raised at the check that saw it, not later
    assert_the_full_analysis(analysis.analyze(p, "half_sum_squares", 0.01))


class Watched(threading.Event):
    """An ordinary event that also tells when the analysis has reached its first loop."""

    def __init__(self) -> None:
        super().__init__()
        self.checks = 0
        self.in_loop = threading.Event()

    def is_set(self) -> bool:
        self.checks += 1
        if self.checks >= 2:  # the second check is inside the first Lanczos product
            self.in_loop.set()
        return super().is_set()


def test_a_cancel_from_another_thread_ends_the_analysis_promptly(big: np.ndarray) -> None:
    p, cancel = system(big), Watched()
    outcome: list[Exception | None] = []

    def work() -> None:
        try:
            analysis.analyze(p, "half_sum_squares", 0.01, cancel)
            outcome.append(None)
        except Exception as exc:  # handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    assert cancel.in_loop.wait(30)
    t0 = time.perf_counter()
    cancel.set()
    worker.join(5.0)  # a hang detector: at worst one LU factorisation of 3000 x 3000
    assert not worker.is_alive()
    assert time.perf_counter() - t0 < 5.0
    assert len(outcome) == 1 and isinstance(outcome[0], Cancelled)
    assert_the_full_analysis(analysis.analyze(p, "half_sum_squares", 0.01))


def test_the_both_sides_inverse_estimate_is_cancellable() -> None:
    m = np.diag(np.linspace(1.0, 3.0, 40)) + 0.01  # n > 24: estimated by power iteration
    p, cancel = Inverse(m, "both"), CancelAt(4)
    with pytest.raises(Cancelled):
        analysis.analyze(p, "mse", None, cancel)
    assert cancel.checks == 4
    done = analysis.analyze(p, "mse", None)
    assert done.lipschitz > 0
    assert done.lipschitz == analysis.analyze(Inverse(m, "both"), "mse").lipschitz


def test_the_old_signature_still_works() -> None:
    p = KINDS["linear_system"].default_problem()
    a = analysis.analyze(p, "half_sum_squares")
    b = analysis.analyze(p, "half_sum_squares", 0.1)
    assert a.lr is None and b.lr == 0.1 and a.lipschitz == b.lipschitz
    with pytest.raises(ValueError, match="unknown loss"):
        analysis.analyze(p, "log_cosh")
