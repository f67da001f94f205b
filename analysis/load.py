"""Read trial records of one or several sweeps: a tidy table, and the points of one axis."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from sweeps import selection, store
from sweeps.store import TrialRecord, split_axis

X_VALUES: dict[str, Callable[[TrialRecord, str], float]] = {
    "scale": lambda r, axis: float(r.axes[axis]),
    "params": lambda r, axis: float(r.params["total"]),
    "embedding_params": lambda r, axis: float(r.params["embedding"]),
    "dense_params": lambda r, axis: float(r.params["dense"]),
    "flops": lambda r, axis: float(r.train_flops),
    "examples": lambda r, axis: float(r.examples_seen),
}
AXIS_ORDER = ("horizontal", "vertical", "overarch", "mlp", "overall", "data", "compute")
STATUSES = ("finished", "diverged", "failed")


VARIANTS = ("chosen", "all")


def load_records(sweep_dirs: Iterable[str | Path], *, status: str | None = "finished",
                 variants: str = "chosen") -> list[TrialRecord]:
    """All records of the given sweeps; only those with ``status`` unless it is None.

    Under a spec's ``select:`` each point trained in several variants; by default only
    the chosen variant of each point is kept (``sweeps.selection``: best mean validation
    metric over the seeds; a point whose variants are not all recorded, or have none
    usable, is left out). ``variants="all"`` keeps every variant. Either way each variant's
    ``selection`` says ``chosen: true/false``.
    """
    if variants not in VARIANTS:
        raise ValueError(f"unknown variants {variants!r}; expected one of {', '.join(VARIANTS)}")
    out = []
    for d in sweep_dirs:
        if not Path(d).is_dir():
            raise FileNotFoundError(f"no sweep directory at {d}")
        recs = selection.annotate(store.read_all(d))
        out += [r for r in recs if (status is None or r.status == status)
                and (variants == "all" or selection.is_chosen(r))]
    return out


def finished(records: Iterable[TrialRecord]) -> list[TrialRecord]:
    return [r for r in records if r.status == "finished"]


def unfinished(records: Iterable[TrialRecord]) -> list[TrialRecord]:
    """The trials that failed or diverged, in sweep and trial-id order."""
    return sorted((r for r in records if r.status != "finished"), key=lambda r: (r.sweep, r.trial_id))


# ---------------------------------------------------------------------------------------
# The tidy table: one row per trial.


TRIAL_COLUMNS = ("sweep", "trial_id", "arch", "seed", "status", "axes", "group", "variant", "chosen")


def trial_table(records: Iterable[TrialRecord]) -> pd.DataFrame:
    """The tidy table of ``records``: a pandas DataFrame, one row per trial, in sweep and trial-id order.

    Columns: ``sweep, trial_id, arch, seed, status, axes`` (the axes the trial lies on,
    comma-joined), ``group, variant, chosen`` (under a ``select:``: the point's group id,
    the variant as ``key=value, ...`` and whether it is the point's chosen variant; for a
    trial that is no variant ``""``, ``""`` and True), ``x.<axis>`` (its value on each axis, NaN off it), ``params,
    embedding_params, dense_params, flops_per_example, train_flops, examples``, one column
    per final metric, ``wall_time_s`` and ``message`` (the last line of a failure). Numbers
    are float (NaN where absent), ``seed`` is int. :func:`analysis.tabular.markdown`
    renders it.
    """
    recs = sorted(selection.annotate(records), key=lambda r: (r.sweep, r.trial_id))
    axes = axes_of(recs, include_compute_only=True)
    metrics = sorted({m for r in recs for m in r.final_metrics if m not in ("examples", "step")})
    nan = float("nan")
    rows = []
    for r in recs:
        lines = (r.message or "").strip().splitlines()
        row = {"sweep": r.sweep, "trial_id": r.trial_id, "arch": r.arch, "seed": r.seed, "status": r.status,
               "axes": ",".join(a for a in axes if a in r.axes), "group": r.selection.get("group", ""),
               "variant": selection.variant_label(r.selection.get("variant", {})), "chosen": selection.is_chosen(r)}
        for a in axes:
            v = r.axes.get(a)
            row[f"x.{a}"] = float(v) if isinstance(v, (int, float)) else nan
        row.update(params=float(r.params.get("total", nan)), embedding_params=float(r.params.get("embedding", nan)),
                   dense_params=float(r.params.get("dense", nan)),
                   flops_per_example=float(r.flops_per_example.get("train", nan)),
                   train_flops=float(r.train_flops or nan), examples=float(r.examples_seen or nan))
        row.update({m: float(r.final_metrics.get(m, nan)) for m in metrics})
        row.update(wall_time_s=float(r.wall_time_s), message=lines[-1] if lines else "")
        rows.append(row)
    columns = [*TRIAL_COLUMNS, *(f"x.{a}" for a in axes), "params", "embedding_params", "dense_params",
               "flops_per_example", "train_flops", "examples", *metrics, "wall_time_s", "message"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"seed": "int64", "chosen": bool}) if rows else frame


# ---------------------------------------------------------------------------------------
# The points of one axis.


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


def axes_of(records: Iterable[TrialRecord], *, include_compute_only: bool = False) -> list[str]:
    """The axes the records lie on, in the canonical order.

    An isoFLOP trial records the compute budget and the size axis it varies; it is not a
    point of that size axis (its data differ from the base point), so an axis seen only
    on compute trials is left out unless ``include_compute_only``.
    """
    found = set()
    for r in records:
        if "compute" in r.axes:
            found.add("compute")
            if not include_compute_only:
                continue
        found.update(r.axes)
    order = {a: i for i, a in enumerate(AXIS_ORDER)}
    # A data axis grown from a labelled base (``data@vertical``) follows the data axis.
    return sorted(found, key=lambda a: (order.get(split_axis(a)[0], len(order)), split_axis(a)[0], split_axis(a)[1] or ""))


def on_axis(records: Iterable[TrialRecord], axis: str) -> list[TrialRecord]:
    """The records that are points of ``axis``.

    For a size axis, isoFLOP trials are left out unless they also trained on the data of
    the axis' own points (then the trial is a genuine point of both). For ``compute``,
    each budget keeps the trials of its best size: the metric reached at that budget.
    """
    recs = [r for r in records if axis in r.axes]
    if axis == "compute":
        return best_per_budget(recs)
    own = {r.examples_seen for r in recs if "compute" not in r.axes}
    return [r for r in recs if "compute" not in r.axes or r.examples_seen in own]


def best_per_budget(records: list[TrialRecord], metric: str | None = None) -> list[TrialRecord]:
    """Per compute budget, every seed of the model size whose mean metric is best."""
    metric = metric or _default_metric(records)
    sign = -1.0 if selection.higher_is_better(metric) else 1.0
    out = []
    for budget in sorted({r.axes["compute"] for r in records}):
        at = [r for r in records if r.axes["compute"] == budget and metric in r.final_metrics]
        by_size: dict[tuple, list[TrialRecord]] = {}
        for r in at:
            by_size.setdefault(_size_key(r), []).append(r)
        if by_size:
            out += min(by_size.values(), key=lambda g: sign * np.mean([r.final_metrics[metric] for r in g]))
    return out


def _size_key(r: TrialRecord) -> tuple:
    return tuple(sorted((k, v) for k, v in r.axes.items() if k not in ("compute", "data")))


def _default_metric(records: list[TrialRecord]) -> str:
    names = {m for r in records for m in r.final_metrics}
    for m in ("ne", "ndcg@10", "hr@10", "auc"):
        if m in names:
            return m
    return sorted(names)[0] if names else "ne"


def axis_points(records: Iterable[TrialRecord], axis: str, *, metric: str = "ne", x: str = "scale") -> AxisPoints:
    if x not in X_VALUES:
        raise ValueError(f"unknown x {x!r}; expected one of {', '.join(X_VALUES)}")
    recs = [r for r in records if metric in r.final_metrics]
    chosen = best_per_budget([r for r in recs if axis in r.axes], metric) if axis == "compute" else on_axis(recs, axis)
    xs = np.array([X_VALUES[x](r, axis) for r in chosen], dtype=float)
    ys = np.array([r.final_metrics[metric] for r in chosen], dtype=float)
    return make_points(axis, x, metric, xs, ys, np.array([r.seed for r in chosen], dtype=int))


def make_points(axis: str, x_kind: str, metric: str, xs: np.ndarray, ys: np.ndarray, seeds: np.ndarray) -> AxisPoints:
    """The points of one axis from per-trial arrays: the means and spreads over seeds at each x."""
    ux = np.unique(xs)
    ym = np.array([ys[xs == v].mean() for v in ux])
    ysd = np.array([ys[xs == v].std(ddof=1) if (xs == v).sum() > 1 else 0.0 for v in ux])
    return AxisPoints(axis, x_kind, metric, xs, ys, seeds, ux, ym, ysd)
