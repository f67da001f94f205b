"""Compute scaling from trial records: the compute frontier and the isoFLOP parabolas.

An isoFLOP trial (a spec's ``compute:`` part) records its budget under ``compute`` and the
size it was given under its size axis (the *approach*: ``mlp``, ``overarch``, ...); the
trials of one architecture and approach form one isoFLOP study (Chinchilla approach 2).
The frontier is taken over every finished trial, whatever it varied.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

import numpy as np

from analysis.fits import higher_is_better
from analysis.load import X_VALUES, best_per_budget
from scaling import Bootstrap, ComputeFrontier, FitError, IsoFlopAnalysis, PowerLawFit, bootstrap, compute_frontier, isoflop_analysis
from sweeps.store import TrialRecord

X_LABELS = {"flops": "training FLOPs", "params": "parameters", "examples": "training examples",
            "dense_params": "dense parameters", "embedding_params": "embedding parameters"}
# The parameters an isoFLOP approach grows. In DLRM the embedding tables hold most of the
# parameters, so a grid of MLP widths spans only a few percent of the total: against total
# parameters its points bunch up and the parabola in ln N is ill-conditioned.
APPROACH_PARAMS = {"mlp": "dense_params", "overarch": "dense_params", "horizontal": "embedding_params",
                   "vertical": "embedding_params"}


@dataclasses.dataclass(frozen=True, eq=False)
class Frontier:
    """Every trial of one set as (x, metric), its frontier (best metric at or below each x)
    with the law fitted to it, and that law's bootstrap (None when it could not be made)."""

    label: str
    x_kind: str
    metric: str
    x: np.ndarray
    y: np.ndarray
    frontier: ComputeFrontier
    boot: Bootstrap | None

    @property
    def fit(self):
        return self.frontier.fit


def frontier(records: Iterable[TrialRecord], *, metric: str, x: str = "flops", label: str = "",
             n_boot: int = 200, seed: int = 0) -> Frontier:
    """The frontier of ``metric`` over ``x`` (``flops`` or ``params``; any key of ``X_VALUES``
    but ``scale``). Raises FitError when no trial has the metric."""
    recs = [r for r in records if metric in r.final_metrics]
    if not recs:
        raise FitError(f"no finished trial has the metric {metric!r}")
    xs = np.array([X_VALUES[x](r, "") for r in recs], dtype=float)
    ys = np.array([r.final_metrics[metric] for r in recs], dtype=float)
    fr = compute_frontier(xs, ys, higher_is_better=higher_is_better(metric))
    boot = None
    if n_boot and isinstance(fr.fit, PowerLawFit):
        try:
            boot = bootstrap(fr.fit, fr.flops, fr.values, n_resamples=n_boot, seed=seed)
        except FitError:
            boot = None  # the curve is still drawn, without a band
    return Frontier(label or ",".join(sorted({r.arch for r in recs})), x, metric, xs, ys, fr, boot)


def _size_axes(r: TrialRecord) -> list[str]:
    return [a for a in r.axes if a not in ("compute", "data")]


def compute_groups(records: Iterable[TrialRecord]) -> dict[tuple[str, str], list[TrialRecord]]:
    """IsoFLOP trials by (architecture, approach), in sorted order.

    A trial that is also a point of other approaches (the base model is a size of every
    approach's grid, so at one budget the parts plan the same trial) belongs to each of
    them; an axis counts as an approach when some trial varies it alone.
    """
    recs = [r for r in records if "compute" in r.axes]
    approaches = {_size_axes(r)[0] if _size_axes(r) else "compute" for r in recs if len(_size_axes(r)) <= 1}
    groups: dict[tuple[str, str], list[TrialRecord]] = {}
    for r in recs:
        mine = [a for a in _size_axes(r) if a in approaches] or sorted(_size_axes(r))[:1] or ["compute"]
        for approach in mine:
            groups.setdefault((r.arch, approach), []).append(r)
    return dict(sorted(groups.items()))


def best_by_approach(records: Iterable[TrialRecord], metric: str) -> dict[tuple[str, str], list[TrialRecord]]:
    """Per (architecture, approach): every seed of the best size at each budget."""
    return {k: best_per_budget(v, metric) for k, v in compute_groups(records).items()}


# Sizes per budget that the parabola sees, centred on the best observed size: a parabola in
# ln N only describes the curve near its optimum, and a grid spanning 30x in width also
# holds the flat, saturated end, which bends the fit concave ("no minimum").
WINDOW = 5


@dataclasses.dataclass(frozen=True, eq=False)
class IsoFlop:
    """One isoFLOP study: per trial its size (in ``x_kind``), metric and nominal budget, and
    whether the parabola of its budget used it (``used``, see ``WINDOW``)."""

    arch: str
    approach: str
    metric: str
    x_kind: str
    sizes: np.ndarray
    values: np.ndarray
    budgets: np.ndarray
    used: np.ndarray
    analysis: IsoFlopAnalysis

    @property
    def label(self) -> str:
        return f"{self.arch}:{self.approach}"


def window_mask(sizes: np.ndarray, values: np.ndarray, budgets: np.ndarray, *, higher: bool, window: int) -> np.ndarray:
    """Per budget, the ``window`` distinct sizes around the one with the best mean metric
    (shifted inwards at the edges of the grid); every point when ``window`` is 0."""
    if window <= 0:
        return np.ones(sizes.shape, dtype=bool)
    keep = np.zeros(sizes.shape, dtype=bool)
    for budget in np.unique(budgets):
        at = budgets == budget
        grid = np.unique(sizes[at])
        means = np.array([values[at & (sizes == s)].mean() for s in grid])
        best = int(np.argmax(means) if higher else np.argmin(means))
        lo = min(max(0, best - window // 2), max(0, grid.size - window))
        keep |= at & np.isin(sizes, grid[lo:lo + window])
    return keep


def isoflops(records: Iterable[TrialRecord], *, metric: str, x: str = "auto",
             window: int = WINDOW) -> tuple[list[IsoFlop], list[str]]:
    """The isoFLOP study of every (architecture, approach), and the reasons any could not be made.

    Model size is measured in ``x``; ``auto`` takes the parameters the approach grows
    (``APPROACH_PARAMS``: dense for MLP and over-arch, embedding for the embedding axes,
    total otherwise). Each budget's parabola is fitted to ``window`` sizes around its best."""
    out, notes = [], []
    higher = higher_is_better(metric)
    for (arch, approach), recs in compute_groups(records).items():
        recs = [r for r in recs if metric in r.final_metrics]
        kind = APPROACH_PARAMS.get(approach, "params") if x == "auto" else x
        sizes = np.array([X_VALUES[kind](r, approach) for r in recs], dtype=float)
        values = np.array([r.final_metrics[metric] for r in recs], dtype=float)
        budgets = np.array([float(r.axes["compute"]) for r in recs])
        used = window_mask(sizes, values, budgets, higher=higher, window=window)
        try:
            analysis = isoflop_analysis(sizes[used], values[used], budgets[used], higher_is_better=higher)
        except FitError as e:
            notes.append(f"{arch}:{approach}: {e}")
            continue
        out.append(IsoFlop(arch, approach, metric, kind, sizes, values, budgets, used, analysis))
    return out, notes
