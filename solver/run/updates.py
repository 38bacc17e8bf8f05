"""One update of x by the session's optimizer: plain gd by hand (x ← x − lr·∇f, in place,
without autograd's bookkeeping), a ``torch.optim`` optimizer's step, or an L-BFGS step.

One L-BFGS step may evaluate the loss ``max_iter`` times (up to 1e8): a stop request is
checked before each evaluation, and the abandoned step's moves are undone (``StepAborted``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import torch

from solver.settings.optimizers import make_torch_optimizer


class StepAborted(Exception):
    """Raised inside an L-BFGS closure to abandon the update on a stop request. Not a
    RuntimeError, which the run reports as a torch failure."""


class Updates:
    """The session's optimizer on the leaf ``x`` (``xd``: its detached view, the same
    storage). ``evaluate()`` gives the loss at the current x with its graph (an L-BFGS
    step asks for it again and again); ``stop`` is the run's stop request. ``evals``
    counts the gradients computed, an abandoned step's included."""

    def __init__(
        self,
        session: object,
        x: torch.Tensor,
        xd: torch.Tensor,
        evaluate: Callable[[], torch.Tensor],
        stop: threading.Event,
    ) -> None:
        self.x, self.xd, self.lr = x, xd, session.lr
        self._evaluate, self._stop = evaluate, stop
        self.evals = 0
        self.opt: torch.optim.Optimizer | None = None
        if session.optimizer != "gd":
            self.opt = make_torch_optimizer(
                session.optimizer, x, session.lr, session.optimizer_args
            )
        steps = {"gd": self._gd, "lbfgs": self._lbfgs}
        self._step = steps.get(session.optimizer, self._torch)

    def __call__(self, loss: torch.Tensor) -> None:
        """One update from the point whose loss is ``loss``. Raises ``StepAborted`` (x put
        back) on a stop request inside an L-BFGS step."""
        self._step(loss)

    def _gd(self, loss: torch.Tensor) -> None:
        (g,) = torch.autograd.grad(loss, self.x)
        self.xd.sub_(g, alpha=self.lr)
        self.evals += 1

    def _torch(self, loss: torch.Tensor) -> None:
        (g,) = torch.autograd.grad(loss, self.x)
        self.x.grad = g
        self.opt.step()
        self.evals += 1

    def _lbfgs(self, _loss: torch.Tensor) -> None:
        start = self.xd.clone()

        def closure() -> torch.Tensor:
            if self._stop.is_set():
                raise StepAborted
            loss = self._evaluate()  # its observers first, as before each evaluation
            self.opt.zero_grad(set_to_none=False)
            loss.backward()
            self.evals += 1
            return loss

        try:
            self.opt.step(closure)
        except StepAborted:
            self.xd.copy_(start)
            raise
