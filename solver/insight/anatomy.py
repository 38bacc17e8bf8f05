"""What one step did: the gradient autograd computes at an iterate, the closed-form gradient of
the chosen loss beside it, and the step the optimizer actually took.

For a problem linear in its unknowns the residual is r = K(x) − c, and every loss here is a
function of r (the energy aside), so its gradient is Kᵀ applied to the loss's derivative in r:
``Aᵀr`` for ½‖r‖², ``2Aᵀr`` for ‖r‖², ``Aᵀr/‖r‖`` for ‖r‖, ``Aᵀsign(r)`` for ‖r‖₁, ``2Aᵀr/m``
for the mean square, and ``Ax − b`` for the energy ½xᵀAx − bᵀx. Autograd knows none of
this: the two agree to rounding when the engine's loss is the loss it says it is.

The autograd gradient is recomputed from the recorded iterate with the run's own loss and
residual (``Problem.bind``, ``losses.loss_function``) in the run's dtype, on the CPU: the
same number the run's ``x.grad`` held there, without touching the run's tensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from solver.problems.linear import Inverse, LinearSystem, Problem
from solver.problems.losses import LOSSES, SLACK, loss_function
from solver.settings.precisions import PRECISIONS, precision

_ADJOINT_TEXT = {"left": "{v}Mᵀ", "right": "Mᵀ{v}", "both": "({v}Mᵀ + Mᵀ{v})/2"}


def gradient_formula(loss: str, problem: Problem) -> str | None:
    """The closed-form gradient of ``loss`` in words ("Aᵀr", "2Aᵀr/m"), or None where none is
    written here (the svd series' loss)."""
    if loss == "energy":
        return "Ax − b" if isinstance(problem, LinearSystem) else None
    found = LOSSES.get(loss)
    if found is None or found.derivative is None:
        return None
    if not isinstance(problem, LinearSystem | Inverse):
        return None
    head, tail = found.gradient_text
    r, m = ("r", "m") if isinstance(problem, LinearSystem) else ("R", "N")
    v = found.derivative_text.format(r=r)
    core = f"Aᵀ{v}" if isinstance(problem, LinearSystem) else _ADJOINT_TEXT[problem.side]
    if core.endswith("/2") and head.startswith("2"):  # 2·(…)/2 reads as (…)
        core, head = core[: -len("/2")], head[1:]
    return head.format(K=core.format(v=v)) + tail.format(r=r, m=m)


def closed_form_gradient(loss: str, problem: Problem, x: np.ndarray) -> np.ndarray | None:
    """The gradient of ``loss`` at the flat iterate ``x`` by its formula, flat; None where
    ``gradient_formula`` is None."""
    if gradient_formula(loss, problem) is None:
        return None
    x = np.asarray(x, np.float64).reshape(-1)
    r = problem.residual_np(x[None, :])[0]
    if loss == "energy":
        return r  # Ax − b
    g = LOSSES[loss].derivative(r, problem.n_residuals)
    if isinstance(problem, LinearSystem):
        return problem.A.T @ g
    n, m = problem.n, problem.M
    gm = g.reshape(n, n)
    if problem.side == "left":  # R = XM − I
        out = gm @ m.T
    elif problem.side == "right":  # R = MX − I
        out = m.T @ gm
    else:
        out = 0.5 * (gm @ m.T + m.T @ gm)
    return out.reshape(-1)


def autograd_gradient(session: object, x: np.ndarray) -> tuple[float, np.ndarray]:
    """(loss, gradient) at the flat iterate ``x`` by autograd, as the run computes them."""
    import torch

    problem = session.problem
    dtype = precision(session.dtype).torch()
    bound = problem.bind(torch.device("cpu"), dtype)
    fn = loss_function(session.loss, problem, bound.tensors)
    xt = torch.tensor(np.asarray(x, np.float64).reshape(problem.unknown_shape), dtype=dtype)
    xt.requires_grad_(True)
    value = fn(bound.residual(xt), xt)
    (g,) = torch.autograd.grad(value, xt)
    return float(value.detach()), g.detach().to(torch.float64).numpy().reshape(-1).copy()


@dataclass(frozen=True, eq=False)
class StepAnatomy:
    """One iteration, taken apart. Arrays are flat, over all unknowns."""

    iteration: int
    x: np.ndarray  # the iterate x_k
    loss: float
    autograd: np.ndarray  # ∇f(x_k) by autograd: what x.grad held
    formula: str | None  # the closed form's name, or None
    closed_form: np.ndarray | None
    step: np.ndarray | None  # x_{k+1} − x_k, None when x_{k+1} is not known (yet)
    plain_step: np.ndarray  # −lr·∇f(x_k): the step plain gd would have taken
    optimizer: str
    dtype: str = "float64"  # the run's precision: its rounding is the scale of `difference`

    @property
    def rounding(self) -> bool:
        """Whether autograd and the formula differ by no more than rounding in ``dtype``."""
        d = self.difference
        return d is not None and d <= 1e3 * float(np.finfo(self.dtype).eps)

    @property
    def difference(self) -> float | None:
        """max |autograd − closed form|, relative to the gradient's size."""
        if self.closed_form is None:
            return None
        scale = float(np.max(np.abs(self.closed_form), initial=0.0)) or 1.0
        return float(np.max(np.abs(self.autograd - self.closed_form), initial=0.0)) / scale

    @property
    def step_ratio(self) -> float | None:
        """‖step taken‖ / ‖−lr·∇f‖ (1 for plain gd; momentum, Adam and L-BFGS differ)."""
        if self.step is None:
            return None
        plain = float(np.linalg.norm(self.plain_step))
        return float(np.linalg.norm(self.step)) / plain if plain > 0 else None

    @property
    def alignment(self) -> float | None:
        """cos of the angle between the step taken and −∇f (1: straight downhill)."""
        if self.step is None:
            return None
        a, b = float(np.linalg.norm(self.step)), float(np.linalg.norm(self.plain_step))
        if a == 0 or b == 0:
            return None
        return float(self.step @ self.plain_step) / (a * b)


def step_anatomy(
    session: object, iteration: int, x: np.ndarray, x_next: np.ndarray | None
) -> StepAnatomy:
    """Take apart iteration ``iteration`` of a run of ``session``, from its iterate ``x`` and
    the next one ``x_next`` (None when the run has not gone further)."""
    x = np.asarray(x, np.float64).reshape(-1)
    loss, grad = autograd_gradient(session, x)
    step = None if x_next is None else np.asarray(x_next, np.float64).reshape(-1) - x
    return StepAnatomy(
        iteration=iteration,
        x=x,
        loss=loss,
        autograd=grad,
        formula=gradient_formula(session.loss, session.problem),
        closed_form=closed_form_gradient(session.loss, session.problem, x),
        step=step,
        plain_step=-session.lr * grad,
        optimizer=session.optimizer,
        dtype=session.dtype,
    )


def gradient_floor(loss: str, problem: Problem, dtype: str) -> float | None:
    """How far rounding alone moves an entry of the gradient of ``loss`` computed in
    ``dtype``: ``SLACK`` units in the last place of its terms, whose size is the gradient's
    at x = 0 (nothing cancels there; near x* its terms AᵀAx and Aᵀb are as large and cancel).
    None where no closed form is written (``gradient_formula``) or the gradient at 0 is 0."""
    known = PRECISIONS.get(dtype)
    eps = None if known is None else known.eps
    n = int(np.prod(problem.unknown_shape))
    g = None if eps is None else closed_form_gradient(loss, problem, np.zeros(n))
    size = 0.0 if g is None else float(np.max(np.abs(g), initial=0.0))
    return SLACK * eps * size if size > 0 and math.isfinite(size) else None
