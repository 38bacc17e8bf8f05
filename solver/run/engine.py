"""The Run: one gradient-descent solve, advanced step by step, a block, or until it stops.

Per update the loop does exactly one forward and one backward pass (autograd) and records the
new point; everything derived (residual norms, errors, the x trajectory) is computed in
batches of rows when a block is flushed into the History, off the per-iteration path.

On the CPU the loss of every iteration is read at once, so stop rules act on the very
iteration they name. On other devices (``lazy``) losses and points stay on the device and are
copied in blocks; a stop found in a block rewinds ``x`` to the row where it happened, so the
result is the same as an eager run.

Plain ``gd`` on a dense linear system on the CPU runs in chunks of a few ms, each a GIL-free
TorchScript call (``solver.run.fastpath``; ``chunks``) with the loop's numbers and stops; requests
are honoured between chunks. ``Run(..., fast_path=False)`` or ``FAST_PATH = False``: the loop.

A stop request is honoured between updates, and inside an L-BFGS update (one ``step`` may run
up to ``max_iter`` function evaluations) before its next function evaluation: that update is
abandoned and ``x`` put back where it began. A pause acts between updates only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from solver.insight.analysis import Analysis
from solver.problems.divergence import Watch
from solver.problems.kinds import check_loss, kind_of
from solver.problems.losses import LOSSES, loss_function
from solver.sessions.session import Session
from solver.settings.devices import resolve_device
from solver.settings.precisions import precision

from . import fastpath
from .block import Block
from .history import History
from .results import RunResults
from .scripted import ChunkFn
from .starts import initial_x
from .stops import StopReason, block_stop, eager_stop, finish_message
from .updates import StepAborted, Updates

# A block is also flushed after this long, so a reader never lags by more than ~1 frame.
BLOCK_SECONDS = 1 / 60

# Runs take the GIL-free fast path where it applies unless this (or ``fast_path=``) says no.
FAST_PATH = True
# Matrix work per update (multiply-adds, the GUI worker's measure) from which BLAS, without
# the GIL, dominates an update of the loop: at n = 1000 ~750 µs, ~80 µs of it Python (the
# whole update at n = 3), so ~90% is outside the GIL; at n = 500 (~225 µs) only ~65%.
GIL_FREE_WORK = 1_000_000

Observer = Callable[["Run"], None]  # see Run.observe


class Run(RunResults):
    """Drives one session. Not thread-safe except ``request_stop``/``request_pause``."""

    def __init__(
        self,
        session: Session,
        *,
        track: Sequence[int] | None = None,
        lazy: bool | None = None,
        fast_path: bool | None = None,
    ) -> None:
        """``fast_path``: False keeps the Python loop even where the fast path applies (None:
        the module flag ``FAST_PATH``)."""
        self.session = session
        self.problem = session.problem
        self.device = resolve_device(session.device)
        self.dtype = precision(session.dtype).torch()
        self.lazy = self.device.type != "cpu" if lazy is None else lazy
        # tol = 0 means no tolerance: rounding can take the energy loss just below zero.
        self.tol = session.tol
        self.max_iters = session.max_iters

        bound = self.problem.bind(self.device, self.dtype)
        self.tensors = bound.tensors  # the problem's, as bound: read them, never write
        self._residual = bound.residual
        check_loss(session.loss, self.problem)  # a Session made directly is not checked
        self._loss_fn = loss_function(session.loss, self.problem, bound.tensors)
        self._kind = kind_of(self.problem)
        self.exact = np.asarray(self._kind.exact(self.problem), np.float64).reshape(-1)
        self._derive_rnorm = LOSSES[session.loss].residual_norm  # ‖r‖ from the loss, or None
        # A sparse system in float64 takes ‖r‖ and ‖x − x*‖ from each forward pass: computed
        # again from the recorded rows they were a third mat-vec and two more passes over
        # 100,000 unknowns per update (0.6 ms of 1.9 on the Poisson preset). In float32 the
        # rows' float64 recomputation stays: it is the true residual of each iterate.
        at_forward = self.problem.sparse and self.dtype == torch.float64
        self._exact_t = torch.tensor(self.exact, device=self.device) if at_forward else None
        self._r_norm: torch.Tensor | None = None

        x0 = initial_x(session, self.dtype).to(self.device).contiguous().clone()
        self._x = x0.requires_grad_(True)
        self._xd = self._x.detach()  # same storage: updated in place without autograd
        self.n_unknowns = self._x.numel()
        if track is None:
            track = self._kind.default_track(self.problem)
        self.history = History(self.problem.unknown_names(), track)

        self.optimizer_name = session.optimizer
        self.iteration = 0  # updates applied so far; the history has iteration + 1 entries
        self._chunk_evals = 0  # gradients computed by the fast path's chunks
        self.stop_reason: StopReason | None = None
        self.message = ""
        self.elapsed = 0.0  # seconds spent inside advance()
        self._stop_flag = threading.Event()
        self._update = Updates(session, self._x, self._xd, self._evaluate, self._stop_flag)
        self._pause_flag = threading.Event()
        # the divergence rule on every recorded loss, when the session asks to stop
        self._watch = Watch(session.dtype, self._unstable) if session.stop_on_divergence else None

        # With the norms from the forward pass an eager block needs the tracked unknowns only
        self._narrow = self._exact_t is not None and not self.lazy
        self._block = Block(self._xd, self.lazy, self.history.tracked, self._narrow)
        self._analysis: Analysis | None = None
        self._fast = None
        self._before_update: list[Observer] = []  # see observe()
        self._before_evaluation: list[Observer] = []
        if FAST_PATH if fast_path is None else fast_path:
            narrow = (self._exact_t, self.history.tracked) if self._narrow else None
            self._fast = fastpath.plan(
                session, self.device, self.lazy, bound, self._block.x, narrow
            )
        # The first run in a process scripts the chunk (~50 ms) here, not in advance(), whose
        # time is reported as the run's.
        if self._fast is not None and self._fast.function() is None:
            self._fast = None

        self._forward()
        self._record()
        self._check_eager(self._block.losses[-1] if not self.lazy else None)
        self._flush()
        if self.stop_reason is None and self.max_iters == 0:
            self._finish(StopReason.MAX_ITERS)

    # -- set-up ------------------------------------------------------------------------------
    def _fast_chunk(self) -> ChunkFn | None:
        """The scripted chunk if this run takes the fast path now, else None."""
        if self._fast is None or self._before_update or self._before_evaluation:
            return None  # a chunk applies many updates in one call: none to observe one by one
        return self._fast.function()

    def observe(
        self,
        before_update: Observer | None = None,
        before_evaluation: Observer | None = None,
    ) -> None:
        """Call ``before_update(run)`` before each update (``run.iteration`` is the one it
        starts from) and ``before_evaluation(run)`` before each evaluation of the loss (one
        per update, several inside an L-BFGS update), on the thread that advances the run.
        An exception raised there ends the run as a fault inside the step would. An
        observed run goes update by update (the loop, never the fast path's chunks)."""
        if before_update is not None:
            self._before_update.append(before_update)
        if before_evaluation is not None:
            self._before_evaluation.append(before_evaluation)

    @property
    def chunks(self) -> fastpath.GdChunks | None:
        """The fast path's chunks while this run takes it (their ``share_core``), else None."""
        return self._fast if self._fast_chunk() is not None else None

    @property
    def releases_gil(self) -> bool:
        """True when this run's updates spend most of their time outside the GIL: it takes
        the fast path, or its matrix work per update is enough for BLAS (no GIL) to dominate."""
        shape = self.problem.unknown_shape
        work = self.problem.entries * (shape[1] if len(shape) == 2 else 1)
        return work >= GIL_FREE_WORK or self._fast_chunk() is not None

    # -- one iteration -----------------------------------------------------------------------
    def _forward(self) -> None:
        for hook in self._before_evaluation:
            hook(self)
        r = self._residual(self._x)
        self._loss_t = self._loss_fn(r, self._x)
        if self._exact_t is not None:
            self._r_norm = torch.linalg.vector_norm(r.detach())

    def _evaluate(self) -> torch.Tensor:
        """The loss at x with its graph, for an L-BFGS step's closure."""
        for hook in self._before_evaluation:
            hook(self)
        return self._loss_fn(self._residual(self._x), self._x)

    @property
    def _lr(self) -> float:
        return self._update.lr

    @property
    def grad_evals(self) -> int:
        """Gradients computed so far (an L-BFGS update computes several)."""
        return self._chunk_evals + self._update.evals

    def _apply_chunk(self, fn: ChunkFn, limit: int, deadline: float | None) -> int:
        """Up to ``limit`` updates in one GIL-free call, recorded as ``_record`` would; the
        stop rules act on the last row (a chunk ends at the first row that stops)."""
        row = len(self._block)
        k = self._fast.size(
            min(limit, self._block.size - row, self.max_iters - self.iteration), deadline
        )
        # a narrow block keeps a few unknowns: the point a divergence may rewind to is kept
        start = self._xd.clone() if self._narrow and self._watch is not None else None
        losses, self._loss_t = self._fast.apply(
            fn, self._x, self._xd, self._loss_t, self._lr, self.tol, k, row
        )
        if self._watch is not None and (j := self._watch.feed(losses)) is not None:
            if j + 1 < len(losses):  # certain before the chunk's end: back to that row
                losses = self._rewind_chunk(fn, start, row, j, losses)
        self._block.losses.extend(losses)
        if (norms := self._fast.take_norms()) is not None:
            self._block.norms.append(norms)
        self.iteration += len(losses)
        self._chunk_evals += len(losses)
        self._check_eager(losses[-1], watched=True)
        return len(losses)

    def _rewind_chunk(self, fn: ChunkFn, start: torch.Tensor | None, row: int,
                      j: int, losses: list[float]) -> list[float]:  # fmt: skip
        """Put ``x`` back at the chunk's row ``j``: from the block, which holds whole rows,
        or by applying the chunk again from its ``start`` up to that row (a narrow block)."""
        if start is None:
            self._xd.copy_(torch.from_numpy(self._block.x[row + j]).reshape(self._xd.shape))
            self._forward()
            return losses[: j + 1]
        self._xd.copy_(start)
        out, self._loss_t = self._fast.apply(
            fn, self._x, self._xd, self._loss_t, self._lr, self.tol, j + 1, row
        )
        return out

    def _record(self) -> None:
        norms = None
        if self._exact_t is not None:
            err = torch.linalg.vector_norm(self._xd.reshape(-1) - self._exact_t)
            norms = torch.stack([self._r_norm, err])
        self._block.record(self._xd, self._loss_t, norms)

    def _check_eager(self, value: float | None, watched: bool = False) -> bool:
        """Stop rules on the newest loss (eager mode); True when the run finished."""
        reason = None if value is None else eager_stop(value, self.tol, self._watch, watched)
        if reason is not None:
            self._flush()
            self._finish(reason)
        return reason is not None

    # -- driving -----------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.stop_reason is not None

    def request_stop(self) -> None:
        """Ask the run to finish (reason 'stopped') at the next iteration; any thread."""
        self._stop_flag.set()

    def request_pause(self) -> None:
        """Ask ``advance`` to return at the next iteration, unfinished; any thread."""
        self._pause_flag.set()

    def stop(self) -> None:
        """Finish now with reason 'stopped' (from the thread that drives the run)."""
        if not self.finished:
            self._flush()
            self._finish(StopReason.STOPPED)

    def advance(self, max_updates: int | None = None, max_seconds: float | None = None) -> int:
        """Apply up to ``max_updates`` updates (None: until a stop rule), for at most
        ``max_seconds``; returns the number applied. Returns early on a stop or pause request.
        """
        if self.finished:
            return 0
        # A pause requested before this call still counts (it is cleared on the way out), so
        # a request racing the start of a slice is not lost.
        t0 = time.perf_counter()
        deadline = None if max_seconds is None else t0 + max_seconds
        last_flush = t0
        done = 0
        try:
            chunk = self._fast_chunk()
            if chunk is None and self._loss_t.grad_fn is None:
                self._forward()  # a sparse chunk's loss has no graph for the loop to use
            while max_updates is None or done < max_updates:
                if self._stop_flag.is_set():
                    self._flush()
                    self._finish(StopReason.STOPPED)
                    break
                if self._pause_flag.is_set():
                    break
                if self.iteration >= self.max_iters:
                    self._flush()
                    self._finish(StopReason.MAX_ITERS)
                    break
                if chunk is not None:
                    left = self.max_iters if max_updates is None else max_updates - done
                    done += self._apply_chunk(chunk, left, deadline)
                    if self.finished:
                        break
                    now = time.perf_counter()
                    last_flush = self._flush_when_due(now, last_flush)
                    if self.finished or (deadline is not None and now >= deadline):
                        break
                    continue
                for hook in self._before_update:
                    hook(self)
                self._update(self._loss_t)
                self._forward()
                self.iteration += 1
                done += 1
                self._record()
                if not self.lazy and self._check_eager(self._block.losses[-1]):
                    break
                # the clock is read every 16 updates only, or when the block is full
                if done & 15 == 0 or self._block.full:
                    now = time.perf_counter()
                    last_flush = self._flush_when_due(now, last_flush)
                    if self.finished or (deadline is not None and now >= deadline):
                        break
            if not self.finished:
                self._flush()
                if self.iteration >= self.max_iters and self.stop_reason is None:
                    self._finish(StopReason.MAX_ITERS)
        except StepAborted:
            # x is back at the last recorded point; the optimizer's state is half-updated,
            # which is why an abandoned step ends the run rather than pausing it.
            self._flush()
            self._finish(StopReason.STOPPED)
        except torch.OutOfMemoryError as exc:
            self._fail(f"out of memory on {self.device}: {exc}".splitlines()[0])
        except RuntimeError as exc:
            self._fail(f"torch error on {self.device}: {exc}".splitlines()[0])
        finally:
            self._pause_flag.clear()
            fastpath.widen()  # a chunk that shared a core left this thread on one of them
            self.elapsed += time.perf_counter() - t0
        return done

    # -- blocks into the history -------------------------------------------------------------
    def _flush_when_due(self, now: float, last_flush: float) -> float:
        """Flush a full block, or one last flushed ``BLOCK_SECONDS`` ago; the time of the last
        flush."""
        if self._block.full or now - last_flush >= BLOCK_SECONDS:
            self._flush()
            return now
        return last_flush

    def _flush(self) -> None:
        if len(self._block) == 0:
            return
        losses, rows, norms, points = self._block.take()
        first = self.iteration - len(losses) + 1  # history index of the first row in the block
        # ‖x − x*‖ is finite exactly when every unknown is: a narrow block checks that
        finite_x = np.isfinite(norms[:, 1]) if self._narrow else np.isfinite(rows).all(axis=1)
        stop_at, reason = block_stop(losses, finite_x, self.tol, self._watch, self.lazy)
        if stop_at is not None:
            c = stop_at + 1
            losses, rows = losses[:c], rows[:c]
            norms = None if norms is None else norms[:c]
            if self.lazy and c < len(points):
                self._xd.copy_(points[stop_at].reshape(self._xd.shape))
            self.iteration = first + stop_at
        if self._derive_rnorm is not None:
            rnorm = self._derive_rnorm(losses, self.problem.n_residuals)
        elif norms is not None:
            rnorm = norms[:, 0]
        else:
            with np.errstate(all="ignore"):
                rnorm = np.linalg.norm(self.problem.residual_np(rows), axis=1)
        err = norms[:, 1] if norms is not None else self._errors(rows)
        self.history.append(
            losses, rnorm, err, rows if self._narrow else rows[:, self.history.tracked]
        )
        if reason is not None and not self.finished:
            self._finish(reason)

    def _finish(self, reason: StopReason) -> None:
        if self.stop_reason is not None:
            return
        self.stop_reason = reason
        last = float(self.history.loss[-1]) if len(self.history) else float("nan")
        verdict = None if self._watch is None else self._watch.verdict
        why = self._unstable() if reason is StopReason.DIVERGED and verdict is None else None
        self.message = finish_message(
            reason, self.iteration, last, self.tol, self.max_iters, verdict, why
        )

    def _fail(self, message: str) -> None:
        # Keep every update recorded before the fault, unless even that copy fails (no device)
        try:
            self._flush()
        except (RuntimeError, torch.OutOfMemoryError):
            self._block.clear()
        self.stop_reason = StopReason.ERROR
        self.message = message
