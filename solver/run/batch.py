"""Many runs of one problem at once: B settings of the optimizer, one tensor computation per
iteration (the sweeps of a step-size map are written on it).

x is a (B, …) tensor, one run per row; a linear system's products are one matrix-matrix
product for all runs (a sparse A's too), an inverse's one batched product. Each run's loss is
the single run's torch form applied to its own row (``torch.func.vmap``), and the gradients
of all runs come from one backward pass: the runs are independent, so the gradient of their
summed losses is each run's own.

The optimizers are written out from ``torch.optim``'s update rules (gd; sgd with momentum,
dampening and Nesterov; Adam; RMSprop; Adagrad, each without weight decay), with every
numeric setting a per-run tensor: a map varies them across the batch. Each run stops on its
own, on the single run's rules (its loss below its tolerance; a loss or x that is not finite;
the iteration limit) and is frozen from then on. The divergence watch's early verdict
(``solver.problems.divergence``) is not applied here: a run diverges when it overflows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from solver.core.errors import InputError
from solver.matrices import kernels
from solver.problems.kinds import check_loss
from solver.problems.losses import LOSSES, energy_offset, loss_function
from solver.sessions.session import Session
from solver.settings.devices import resolve_device
from solver.settings.precisions import precision

from .starts import initial_x
from .stops import StopReason

# The settings each optimizer takes per run, with torch's defaults (its other settings are
# the session's, the same for every run).
SETTINGS: dict[str, dict[str, float]] = {
    "gd": {},
    "sgd": {"momentum": 0.0, "dampening": 0.0},
    "adam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    "rmsprop": {"alpha": 0.99, "eps": 1e-8},
    "adagrad": {"eps": 1e-10},
}


# Each run's loss from its residual rows f (runs × entries), for the losses the fast path
# knows by code (``solver.run.scripted._loss``): half sum, sum, mean of squares, ‖r‖.
ROW_FORMS = {
    0: lambda f: 0.5 * (f * f).sum(dim=1),
    1: lambda f: (f * f).sum(dim=1),
    2: lambda f: (f * f).sum(dim=1) / f.shape[1],
    3: lambda f: torch.linalg.vector_norm(f, dim=1),
}


# dℓ/dr of each row for those losses, from the rows r and their losses ℓ
SLOPES = {
    0: lambda r, _loss: r,
    1: lambda r, _loss: 2 * r,
    2: lambda r, _loss: (2 / r.shape[1]) * r,
    3: lambda r, loss: r / loss[:, None],
}


@dataclass(frozen=True)
class BatchResult:
    """What each of B runs did."""

    iterations: np.ndarray  # (B,) updates applied
    stop_reason: tuple[StopReason, ...]
    losses: np.ndarray  # (B, T + 1) loss at every iteration; nan after a run stopped
    x: np.ndarray  # (B, *unknown_shape) the final x of each run

    def loss_of(self, run: int) -> np.ndarray:
        """Run ``run``'s losses, one per iteration from its start to its stop."""
        return self.losses[run, : self.iterations[run] + 1]


def _per_run(values: object, b: int, name: str) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64).reshape(-1)
    if a.size == 1:
        a = np.full(b, float(a[0]))
    if a.size != b:
        raise InputError(name, f"has {a.size} values for {b} runs")
    if not np.isfinite(a).all():
        raise InputError(name, "every value must be a finite number")
    return a


class BatchRun:
    """``session``'s problem, loss, start, precision, device and stop rules, run once per
    entry of ``settings``: per-run values of ``lr``, ``tol`` and the optimizer's settings in
    ``SETTINGS`` (a value given once applies to every run); the optimizer's other settings
    (Nesterov, say) are the session's."""

    def __init__(self, session: Session, settings: Mapping[str, object], runs: int) -> None:
        name = session.optimizer
        if name not in SETTINGS:
            raise InputError(
                "optimizer.name",
                f"{name} cannot run in a batch; expected one of {sorted(SETTINGS)}",
            )
        if session.problem.kind == "svd":
            raise InputError("problem.kind", "svd problems cannot run in a batch")
        check_loss(session.loss, session.problem)
        unknown = set(settings) - {"lr", "tol", *SETTINGS[name]}
        if unknown:
            raise InputError("settings", f"{name} takes no per-run {', '.join(sorted(unknown))}")
        self.session, self.runs = session, runs
        self.device = resolve_device(session.device)
        self.dtype = precision(session.dtype).torch()
        args = dict(session.optimizer_args)
        given = {"lr": session.lr, "tol": session.tol}
        for key, default in SETTINGS[name].items():
            given[key] = args.get(key, default)
        if name == "adam" and "betas" in args:
            given["beta1"], given["beta2"] = args["betas"]
        given.update(settings)
        self.settings = {k: _per_run(v, runs, k) for k, v in given.items()}
        self.nesterov = bool(args.get("nesterov", False))
        self.max_iters = session.max_iters

        problem = session.problem
        bound = problem.bind(self.device, self.dtype)
        code = LOSSES[session.loss].fast_code
        linear = problem.kind != "inverse"
        # A linear system's gradient written out where the loss is one of the fast path's or
        # the energy: no graph to build each iteration, autograd's own expression (the same
        # numbers but for the order of a sum). Other losses: each run's torch form under vmap.
        self._gradient: object = None
        if linear:
            self._residual, adjoint = self._linear_operator(problem)
        else:
            self._residual = bound.residual  # x @ M and M @ x broadcast over the runs
        if code in ROW_FORMS:  # one loss per row without vmap's overhead
            form, slope = ROW_FORMS[code], SLOPES[code]
            self._loss = lambda r, _x: form(r.reshape(r.shape[0], -1))
            if linear:
                self._gradient = lambda r, _x, loss: adjoint(slope(r, loss))
        elif session.loss == "energy" and linear:
            b, offset = bound.tensors["b"], energy_offset(problem)
            self._loss = lambda r, x: 0.5 * (x * (r - b)).sum(dim=1) + offset
            # ∇(½xᵀAx − bᵀx) = ½Aᵀx + ½(Ax − b) − ½b, as the sparse chunk writes it
            self._gradient = lambda r, x, _loss: adjoint(0.5 * x) + 0.5 * (r - b)
        else:
            self._loss = torch.func.vmap(loss_function(session.loss, problem, bound.tensors))
        x0 = initial_x(session, self.dtype).to(self.device)
        self.x = x0.expand(runs, *x0.shape).clone()

    def _linear_operator(self, problem: object) -> tuple[object, object]:
        """R = X Aᵀ − b and H ↦ H A for all runs at once: one matrix-matrix product each (a
        sparse one for a sparse A)."""
        b = torch.tensor(np.asarray(problem.b), dtype=self.dtype, device=self.device)
        if problem.sparse:
            a = kernels.torch_csr(problem.A, self.device, self.dtype)
            at = kernels.torch_csr(problem.A.T.tocsr(), self.device, self.dtype)
            return (
                lambda x: torch.sparse.mm(a, x.T).T - b,
                lambda h: torch.sparse.mm(at, h.T).T,
            )
        a = torch.tensor(np.asarray(problem.A), dtype=self.dtype, device=self.device)
        return (lambda x: x @ a.T - b), (lambda h: h @ a)

    def _tensor(self, key: str) -> torch.Tensor:
        v = torch.tensor(self.settings[key], dtype=self.dtype, device=self.device)
        return v.reshape(-1, *([1] * (self.x.dim() - 1)))

    def run(self) -> BatchResult:
        """Every run to its stop. A run that stops leaves the batch: the next iterations
        compute only the runs still going."""
        b, x = self.runs, self.x
        live = np.arange(b)  # the runs still going
        per = {k: self._tensor(k) for k in self.settings if k != "tol"}
        tol = torch.tensor(self.settings["tol"], dtype=torch.float64)
        state: dict[str, torch.Tensor] = {}
        iterations = np.zeros(b, np.int64)
        reasons: list[StopReason | None] = [None] * b
        final = np.empty((b, *x.shape[1:]))
        losses: list[np.ndarray] = []
        step = 0
        written = self._gradient is not None
        while True:
            x.requires_grad_(not written)
            r = self._residual(x)
            loss = self._loss(r, x)
            value = loss.detach().to("cpu", torch.float64)
            row = np.full(b, np.nan)
            row[live] = value.numpy()
            losses.append(row)
            finite = (
                torch.isfinite(value)
                & torch.isfinite(x.detach().reshape(len(live), -1)).all(dim=1).cpu()
            )
            t = tol[live]
            converged = finite & (t > 0) & (value < t)
            stop = ~finite | converged
            if step >= self.max_iters:
                stop[:] = True
            if bool(stop.any()):
                xs = x.detach().cpu().numpy()
                for i in torch.nonzero(stop).flatten().tolist():
                    j = live[i]
                    reasons[j] = (
                        StopReason.DIVERGED
                        if not finite[i]
                        else StopReason.CONVERGED
                        if converged[i]
                        else StopReason.MAX_ITERS
                    )
                    final[j] = xs[i]
            going = ~stop
            if not bool(going.any()):
                break
            if written:
                g = self._gradient(r, x, loss)
            else:
                (g,) = torch.autograd.grad(loss.sum(), x)
            with torch.no_grad():
                if not bool(going.all()):
                    keep = going.to(self.device)
                    live, x, g = live[going.numpy()], x.detach()[keep], g[keep]
                    per = {k: v[keep] for k, v in per.items()}
                    state = {k: v[keep] for k, v in state.items()}
                step += 1
                x = x.detach() - self._step(g, per, state, step)
            iterations[live] += 1
        return BatchResult(iterations, tuple(reasons), np.stack(losses, axis=1), final)

    def _step(
        self, g: torch.Tensor, per: dict[str, torch.Tensor], state: dict, step: int
    ) -> torch.Tensor:
        """What each run subtracts from its x at update ``step`` (torch.optim's rules)."""
        name, lr = self.session.optimizer, per["lr"]
        if name == "gd":
            return lr * g
        if name == "sgd":
            mu, damp = per["momentum"], per["dampening"]
            buf = g.clone() if step == 1 else mu * state["buf"] + (1 - damp) * g
            state["buf"] = buf
            return lr * (g + mu * buf if self.nesterov else buf)
        if name == "adam":
            b1, b2, eps = per["beta1"], per["beta2"], per["eps"]
            m = state.get("m", torch.zeros_like(g)) * b1 + (1 - b1) * g
            v = state.get("v", torch.zeros_like(g)) * b2 + (1 - b2) * g * g
            state["m"], state["v"] = m, v
            c1, c2 = 1 - b1**step, 1 - b2**step
            return (lr / c1) * m / (v.sqrt() / c2.sqrt() + eps)
        if name == "rmsprop":
            sq = state.get("sq", torch.zeros_like(g)) * per["alpha"] + (1 - per["alpha"]) * g * g
            state["sq"] = sq
            return lr * g / (sq.sqrt() + per["eps"])
        acc = state.get("acc", torch.zeros_like(g)) + g * g  # adagrad
        state["acc"] = acc
        return lr * g / (acc.sqrt() + per["eps"])
