"""A sweep: one session run at every cell of a grid of one or two of its settings, in batches
(``solver.run.batch``), with the measured rate of each cell beside the rate the spectrum
predicts where the theory applies (a quadratic loss, gd or the plain heavy ball).

The spec is a session and its axes, each a session key with its values::

    {"version": 1, "session": {...} or "path/to/session.json",
     "axes": [{"key": "optimizer.lr", "from": 0.01, "to": 1.0, "count": 40, "scale": "log"},
              {"key": "optimizer.momentum", "values": [0.0, 0.5, 0.9]}]}
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solver.core.errors import InputError, short
from solver.insight import rates
from solver.insight.analysis import analyze
from solver.problems.linear import LinearSystem
from solver.sessions import session as sessions

from .batch import SETTINGS, BatchResult, BatchRun

VERSION = 1
MAX_CELLS = 10**6
BATCH_CELLS = 4096  # cells per batch: a batch keeps every loss of each of its runs
# The session keys an axis may name, and the batch's name for each.
AXIS_KEYS = {
    "optimizer.lr": "lr",
    "stop.tol": "tol",
    "optimizer.momentum": "momentum",
    "optimizer.dampening": "dampening",
    "optimizer.betas.0": "beta1",
    "optimizer.betas.1": "beta2",
    "optimizer.eps": "eps",
    "optimizer.alpha": "alpha",
}
CSV_COLUMNS = ("iterations", "stop_reason", "final_loss", "measured_rate", "predicted_rate")


@dataclass(frozen=True)
class Axis:
    key: str  # the session's dotted key
    values: np.ndarray


@dataclass(frozen=True)
class Spec:
    session: sessions.Session
    axes: tuple[Axis, ...]

    @property
    def cells(self) -> int:
        return math.prod(len(a.values) for a in self.axes)

    def grid(self) -> dict[str, np.ndarray]:
        """Each axis's value at every cell, the first axis varying slowest."""
        mesh = np.meshgrid(*(a.values for a in self.axes), indexing="ij")
        return {a.key: m.reshape(-1) for a, m in zip(self.axes, mesh, strict=True)}


def _number(value: object, field: str) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value):
        raise InputError(field, f"expected a finite number, got {short(value)}")
    return float(value)


def _axis(data: object, i: int, optimizer: str) -> Axis:
    field = f"axes[{i}]"
    if not isinstance(data, Mapping):
        raise InputError(field, f"expected an object with a key and its values, got {short(data)}")
    key = data.get("key")
    if key not in AXIS_KEYS:
        raise InputError(
            f"{field}.key",
            f"{short(key)} is not a setting a sweep varies; one of {list(AXIS_KEYS)}",
        )
    if AXIS_KEYS[key] not in {"lr", "tol", *SETTINGS.get(optimizer, {})}:
        raise InputError(f"{field}.key", f"{key}: the optimizer {optimizer} has no such setting")
    if "values" in data:
        values = data["values"]
        if not isinstance(values, list) or not values:
            raise InputError(f"{field}.values", "expected a non-empty list of numbers")
        return Axis(
            key, np.array([_number(v, f"{field}.values[{j}]") for j, v in enumerate(values)])
        )
    lo, hi = _number(data.get("from"), f"{field}.from"), _number(data.get("to"), f"{field}.to")
    count = data.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InputError(
            f"{field}.count", f"expected a whole number of 1 or more, got {short(count)}"
        )
    if lo > hi:
        raise InputError(f"{field}.to", f"the range {lo:g} to {hi:g} runs backwards")
    if count > 1 and lo == hi:
        raise InputError(f"{field}.to", f"the range {lo:g} to {hi:g} is empty")
    scale = data.get("scale", "linear")
    if scale not in ("linear", "log"):
        raise InputError(f"{field}.scale", f"expected 'linear' or 'log', got {short(scale)}")
    if scale == "log":
        if lo <= 0:
            raise InputError(
                f"{field}.from", f"a log axis cannot reach {lo:g}: it must stay above 0"
            )
        return Axis(key, np.geomspace(lo, hi, count))
    return Axis(key, np.linspace(lo, hi, count))


def read_spec(data: object, base: Path | None = None) -> Spec:
    """Validate a sweep spec (parsed JSON); a session given by path is read relative to
    ``base``. Raises InputError naming the key."""
    if not isinstance(data, Mapping):
        raise InputError("", f"a sweep spec is a JSON object, got {short(data)}")
    unknown = set(data) - {"version", "session", "axes"}
    if unknown:
        raise InputError(sorted(unknown)[0], "unknown key; a spec has version, session, axes")
    if data.get("version", VERSION) != VERSION:
        raise InputError("version", f"unsupported version {short(data.get('version'))}")
    given = data.get("session")
    if isinstance(given, str):
        path = Path(given) if base is None else base / given
        s = sessions.load(path)
    elif isinstance(given, Mapping):
        s = sessions.from_dict(given, base)
    else:
        raise InputError("session", "expected a session object or a session file's path")
    axes_data = data.get("axes")
    if not isinstance(axes_data, list) or not 1 <= len(axes_data) <= 2:
        raise InputError("axes", "expected a list of one or two axes")
    axes = tuple(_axis(a, i, s.optimizer) for i, a in enumerate(axes_data))
    if len(axes) == 2 and axes[0].key == axes[1].key:
        raise InputError("axes[1].key", f"{axes[1].key} is already the first axis")
    spec = Spec(s, axes)
    if spec.cells > MAX_CELLS:
        raise InputError("axes", f"{spec.cells:,} cells; a sweep takes at most {MAX_CELLS:,}")
    # the batch refuses what it cannot run (an optimizer, a kind) before any cell runs
    BatchRun(s, {AXIS_KEYS[a.key]: a.values[:1] for a in axes}, 1)
    return spec


@dataclass(frozen=True)
class Cell:
    settings: dict[str, float]  # axis key -> value
    iterations: int
    stop_reason: str
    final_loss: float
    measured_rate: float | None
    predicted_rate: float | None


class Theory:
    """The rate each cell's settings predict from the spectrum, where it applies: a
    quadratic loss with gd or the heavy ball (sgd with momentum, no dampening or Nesterov)."""

    def __init__(self, s: sessions.Session) -> None:
        args = s.optimizer_args
        plain = not args.get("nesterov") and not args.get("dampening")
        fits = s.optimizer == "gd" or (s.optimizer == "sgd" and plain)
        self.session = s
        self.applies = fits and s.loss in rates.QUADRATIC and isinstance(s.problem, LinearSystem)
        self._analysis = analyze(s.problem, s.loss, s.lr) if self.applies else None
        if self._analysis is not None and self._analysis.lipschitz is None:
            self.applies, self._analysis = False, None

    def rate(self, settings: Mapping[str, float]) -> float | None:
        if not self.applies:
            return None
        s = self.session
        lr = settings.get("optimizer.lr", s.lr)
        args = dict(s.optimizer_args)
        if "optimizer.momentum" in settings:
            args["momentum"] = settings["optimizer.momentum"]
        return self._analysis.rate_for(s.optimizer, lr, args)


def run_sweep(spec: Spec, done: Callable[[list[Cell], int], None] | None = None) -> list[Cell]:
    """Every cell of ``spec``, in batches of ``BATCH_CELLS``; ``done(cells, of)`` after each
    batch with the cells so far."""
    s, grid = spec.session, spec.grid()
    theory = Theory(s)
    f_star = None
    if isinstance(s.problem, LinearSystem) and s.loss in rates.RATED:
        a, b = rates.product_matrix(s.problem), np.asarray(s.problem.b, float)
        exact = np.asarray(s.problem.exact, float)
        f_star = rates.loss_value(s.loss, a, b, exact, exact)
    cells: list[Cell] = []
    total = spec.cells
    for start in range(0, total, BATCH_CELLS):
        part = {k: v[start : start + BATCH_CELLS] for k, v in grid.items()}
        n = len(next(iter(part.values())))
        result = BatchRun(s, {AXIS_KEYS[k]: v for k, v in part.items()}, n).run()
        cells += _cells(result, part, theory, f_star, s.loss in rates.QUADRATIC)
        if done is not None:
            done(cells, total)
    return cells


def _cells(
    result: BatchResult,
    part: Mapping[str, np.ndarray],
    theory: Theory,
    f_star: float | None,
    quadratic: bool,
) -> list[Cell]:
    out = []
    for j in range(len(result.iterations)):
        settings = {k: float(v[j]) for k, v in part.items()}
        loss = result.loss_of(j)
        finite = loss[np.isfinite(loss)]
        measured = None if f_star is None else rates.measured_rate(loss, f_star, quadratic)
        out.append(
            Cell(
                settings,
                int(result.iterations[j]),
                result.stop_reason[j].value,
                float(finite[-1]) if finite.size else math.nan,
                measured,
                theory.rate(settings),
            )
        )
    return out


def write_csv(spec: Spec, cells: list[Cell], path: Path) -> None:
    """One row per cell: each axis's key, then ``CSV_COLUMNS`` (empty where no number);
    whole or not at all."""
    from solver.core.atomic import replacing

    keys = [a.key for a in spec.axes]

    def text(v: float | None) -> str:
        return "" if v is None or not math.isfinite(v) else repr(float(v))

    with replacing(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([*keys, *CSV_COLUMNS])
        for c in cells:
            w.writerow(
                [
                    *(repr(c.settings[k]) for k in keys),
                    c.iterations,
                    c.stop_reason,
                    text(c.final_loss),
                    text(c.measured_rate),
                    text(c.predicted_rate),
                ]
            )


def summary(spec: Spec, cells: list[Cell], elapsed: float) -> dict:
    """The sweep's JSON line: cells, time, iterations summed, the best cell, the theory."""
    converged = [c for c in cells if c.stop_reason == "converged"]
    best = min(converged, key=lambda c: c.iterations) if converged else None
    return {
        "cells": len(cells),
        "elapsed_s": elapsed,
        "total_iterations": int(sum(c.iterations for c in cells)),
        "best": None if best is None else {**best.settings, "iterations": best.iterations},
        "theory": Theory(spec.session).applies if cells else False,
    }
