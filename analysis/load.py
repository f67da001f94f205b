"""Read trial records of one or several sweeps, and pick the points of one axis."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from sweeps import store
from sweeps.store import TrialRecord

X_VALUES: dict[str, Callable[[TrialRecord, str], float]] = {
    "scale": lambda r, axis: float(r.axes[axis]),
    "params": lambda r, axis: float(r.params["total"]),
    "embedding_params": lambda r, axis: float(r.params["embedding"]),
    "dense_params": lambda r, axis: float(r.params["dense"]),
    "flops": lambda r, axis: float(r.train_flops),
    "examples": lambda r, axis: float(r.examples_seen),
}


def load_records(sweep_dirs: Iterable[str | Path], *, status: str | None = "finished") -> list[TrialRecord]:
    """All records of the given sweeps; only those with ``status`` unless it is None."""
    out = []
    for d in sweep_dirs:
        if not Path(d).is_dir():
            raise FileNotFoundError(f"no sweep directory at {d}")
        out += [r for r in store.read_all(d) if status is None or r.status == status]
    return out


@dataclasses.dataclass(frozen=True)
class AxisPoints:
    """The points of one axis: every trial, and the mean over seeds at each x."""

    axis: str
    x_kind: str
    metric: str
    x: np.ndarray  # one entry per trial
    y: np.ndarray
    seeds: np.ndarray
    x_mean: np.ndarray  # one entry per distinct x, ascending
    y_mean: np.ndarray
    y_spread: np.ndarray  # standard deviation over seeds (0 for one seed)


def axes_of(records: Iterable[TrialRecord]) -> list[str]:
    order = ("horizontal", "vertical", "overarch", "mlp", "overall", "data", "compute")
    found = {a for r in records for a in r.axes}
    return [a for a in order if a in found] + sorted(found - set(order))


def axis_points(records: Iterable[TrialRecord], axis: str, *, metric: str = "ne", x: str = "scale") -> AxisPoints:
    if x not in X_VALUES:
        raise ValueError(f"unknown x {x!r}; expected one of {', '.join(X_VALUES)}")
    rows = [r for r in records if axis in r.axes and metric in r.final_metrics]
    xs = np.array([X_VALUES[x](r, axis) for r in rows], dtype=float)
    ys = np.array([r.final_metrics[metric] for r in rows], dtype=float)
    seeds = np.array([r.seed for r in rows], dtype=int)
    ux = np.unique(xs)
    ym = np.array([ys[xs == v].mean() for v in ux])
    ysd = np.array([ys[xs == v].std(ddof=1) if (xs == v).sum() > 1 else 0.0 for v in ux])
    return AxisPoints(axis, x, metric, xs, ys, seeds, ux, ym, ysd)
