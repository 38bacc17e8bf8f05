"""A race: every optimizer from the same start, each with its recommended settings, ranked by
the gradient evaluations it needed to bring the loss below the tolerance.

Recommended settings: plain gd at the fastest fixed step 2/(μ+L) (1/L where μ = 0), SGD as
the optimal heavy ball (lr = 4/(√L+√μ)², momentum = ((√κ−1)/(√κ+1))²; gd's step with
momentum 0.9 where μ = 0), and torch's documented defaults for the others (their defaults
are what their authors recommend; the spectrum says nothing about adaptive methods).
"""

from __future__ import annotations

from dataclasses import dataclass

from solver.settings.optimizers import OPTIMIZER_NAMES

RACE_MAX_ITERS = 20_000  # per entrant at most: a method that needs more has lost anyway
RACE_SECONDS = 4.0  # per entrant: the window stops one that takes longer (it has lost)
# torch's defaults (torch.optim, 2.13), named here so the race says what it ran
TORCH_DEFAULT_LR = {
    "adam": 1e-3,
    "adamw": 1e-3,
    "rmsprop": 1e-2,
    "adagrad": 1e-2,
    "nadam": 2e-3,
    "lbfgs": 1.0,
}


@dataclass(frozen=True)
class Entrant:
    optimizer: str
    lr: float
    args: dict
    why: str  # where the settings come from


def race_tolerance(session: object, start_loss: float, f_star: float = 0.0) -> float:
    """The finish line: the session's tolerance, or 1e-10 of the way from the start's loss
    down to the minimum when it has none."""
    if session.tol > 0:
        return session.tol
    return f_star + 1e-10 * max(start_loss - f_star, 0.0) if start_loss > f_star else 1e-12


def entrants(analysis: object) -> list[Entrant]:
    """One entrant per optimizer, with its recommended settings (see the module's note)."""
    lip = getattr(analysis, "lipschitz", None)
    safe = 1.0 / lip if lip else 1e-2
    out = []
    for name in OPTIMIZER_NAMES:
        if name == "gd":
            opt = getattr(analysis, "optimal_lr", None)
            lr = opt or safe
            out.append(Entrant("gd", lr, {}, "2/(μ+L)" if opt else "1/L"))
        elif name == "sgd":
            hb = getattr(analysis, "heavy_ball", None)
            if hb:
                out.append(Entrant("sgd", hb[0], {"momentum": hb[1]}, "optimal heavy ball"))
            else:
                out.append(Entrant("sgd", safe, {"momentum": 0.9}, "1/L, momentum 0.9"))
        else:
            out.append(Entrant(name, TORCH_DEFAULT_LR[name], {}, "torch's defaults"))
    return out


def race_sessions(session: object, analysis: object, tol: float) -> list[tuple[Entrant, object]]:
    """The entrants' sessions: the same problem, loss, start, precision and device, each
    allowed ten times the iterations plain gd is predicted to need (2,000 to 20,000)."""
    predicted = getattr(analysis, "iterations_for", lambda _f: None)(1e-10)
    budget = RACE_MAX_ITERS if predicted is None else 10 * predicted
    budget = int(min(max(budget, 2_000), RACE_MAX_ITERS))
    out = []
    for e in entrants(analysis):
        s = session.replace(
            optimizer=e.optimizer,
            lr=e.lr,
            optimizer_args=e.args,
            tol=tol,
            max_iters=budget,
        )
        out.append((e, s))
    return out


def ranking(results: list[tuple[str, int, bool]]) -> list[tuple[int | None, str, int, bool]]:
    """(place, name, gradient evaluations, reached) from (name, evaluations, reached): the
    ones that reached the tolerance by their evaluations, then the others (no place)."""
    done = sorted((r for r in results if r[2]), key=lambda r: (r[1], r[0]))
    rest = [r for r in results if not r[2]]
    out: list[tuple[int | None, str, int, bool]] = [
        (i + 1, n, ev, True) for i, (n, ev, _) in enumerate(done)
    ]
    return out + [(None, n, ev, False) for n, ev, _ in rest]


def describe(place: int | None, name: str, evals: int, reached: bool) -> str:
    if not reached:
        return f"{name}: not at the tolerance after {evals:,}"
    return f"{place}. {name}: {evals:,} gradient evaluations"


def summary(ranked: list[tuple[int | None, str, int, bool]]) -> str:
    """The ranking in a few lines: the placed entrants one per line, the rest on one."""
    lines = [describe(*r) for r in ranked if r[0] is not None]
    rest = [describe(*r) for r in ranked if r[0] is None]
    if rest:
        lines.append("Not at the tolerance within their budget: " + "; ".join(rest))
    return "\n".join(lines)
