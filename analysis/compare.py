"""Architecture comparison: the metric against training FLOPs and against parameters for
every architecture in the records, the law fitted to each one's frontier (the best it
reached at or below each x), and where two laws cross.

Against parameters only the trials at each architecture's base data size count (see
:func:`at_base_data`). Crossings are searched from a tenth of the smallest to ten times the largest x any
architecture reached; each is marked ``observed`` when it lies where both architectures
have trials, and is an extrapolation otherwise.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from typing import Iterable

import numpy as np
from scipy.optimize import brentq

from analysis.compute import X_LABELS, Frontier, frontier
from analysis.fits import higher_is_better
from scaling import FitError
from sweeps.store import TrialRecord

PREFERRED_METRICS = ("ne", "logloss", "auc", "ndcg@10", "hr@10", "mrr")
EXTEND = 10.0


@dataclasses.dataclass(frozen=True)
class Crossing:
    """Two fitted laws meet at ``x`` (metric ``value``); which one is better on either side."""

    x: float
    value: float
    better_below: str
    better_above: str
    observed: bool


@dataclasses.dataclass(frozen=True, eq=False)
class Comparison:
    """All architectures against one x (``flops`` or ``params``)."""

    x_kind: str
    metric: str
    frontiers: dict[str, Frontier]
    crossings: tuple[Crossing, ...]
    notes: tuple[str, ...]


def common_metric(records: Iterable[TrialRecord]) -> str:
    """A metric every architecture in the records reports (NE first when they all have it)."""
    by_arch: dict[str, set[str]] = {}
    for r in records:
        by_arch.setdefault(r.arch, set()).update(r.final_metrics)
    if not by_arch:
        raise FitError("no finished trials to compare")
    shared = set.intersection(*by_arch.values()) - {"examples", "step", "train_loss"}
    for m in PREFERRED_METRICS:
        if m in shared:
            return m
    if not shared:
        raise FitError(f"the architectures share no metric ({', '.join(sorted(by_arch))})")
    return sorted(shared)[0]


def compare(records: Iterable[TrialRecord], *, metric: str | None = None, x: str = "flops",
            n_boot: int = 200) -> Comparison:
    recs = [r for r in records if r.status == "finished"]
    metric = metric or common_metric(recs)
    fronts, notes = {}, []
    for arch in sorted({r.arch for r in recs}):
        mine = [r for r in recs if r.arch == arch]
        if x != "flops":
            mine, examples = at_base_data(mine)
            notes.append(f"{arch}: against {X_LABELS.get(x, x)}, the {len(mine)} trials trained on {examples:,} examples")
        try:
            fronts[arch] = frontier(mine, metric=metric, x=x, label=arch, n_boot=n_boot)
        except FitError as e:
            notes.append(f"{arch}: {e}")
            continue
        notes += [f"{arch}: {w}" for w in fronts[arch].frontier.warnings]
    return Comparison(x, metric, fronts, crossings(fronts, metric), tuple(notes))


def at_base_data(records: list[TrialRecord]) -> tuple[list[TrialRecord], int]:
    """The trials trained on the most common data size of the model-size trials.

    Against parameters a frontier over trials with different data would credit a small
    model with what its extra data bought (isoFLOP trials give small models the most
    examples), so the comparison holds data fixed, as the parameter axes do.
    """
    sized = [r for r in records if "compute" not in r.axes and "data" not in r.axes] or records
    examples = Counter(r.examples_seen for r in sized).most_common(1)[0][0]
    return [r for r in records if r.examples_seen == examples], examples


def compare_archs(records: Iterable[TrialRecord], *, metric: str | None = None, n_boot: int = 200) -> dict[str, Comparison]:
    """The comparison against training FLOPs and against parameters."""
    recs = list(records)
    return {x: compare(recs, metric=metric, x=x, n_boot=n_boot) for x in ("flops", "params")}


def crossings(fronts: dict[str, Frontier], metric: str) -> tuple[Crossing, ...]:
    sign = -1.0 if higher_is_better(metric) else 1.0  # sign * metric: lower is better
    out = []
    for (a, fa), (b, fb) in itertools.combinations(fronts.items(), 2):
        if fa.fit is None or fb.fit is None:
            continue
        lo = min(fa.x.min(), fb.x.min()) / EXTEND
        hi = max(fa.x.max(), fb.x.max()) * EXTEND

        def diff(v, fa=fa, fb=fb) -> float:  # < 0: a better
            return float(sign * (fa.fit.predict(v) - fb.fit.predict(v)))

        grid = np.geomspace(lo, hi, 2000)
        d = np.array([diff(v) for v in grid])
        for i in np.flatnonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0):
            xc = brentq(diff, grid[i], grid[i + 1])
            below_a = d[i] < 0
            both = (max(fa.x.min(), fb.x.min()), min(fa.x.max(), fb.x.max()))
            out.append(Crossing(x=float(xc), value=float(fa.fit.predict(xc)), better_below=a if below_a else b,
                                better_above=b if below_a else a, observed=bool(both[0] <= xc <= both[1])))
    return tuple(sorted(out, key=lambda c: c.x))


def _at(fr: Frontier, x: float) -> float:
    return float(fr.fit.predict(x)) if fr.fit is not None else float("nan")


def conclusion(cmp: Comparison) -> str:
    """The comparison in words: who is better where, how fast each still improves, crossings."""
    what = X_LABELS.get(cmp.x_kind, cmp.x_kind)
    direction = "higher" if higher_is_better(cmp.metric) else "lower"
    fitted = {a: f for a, f in cmp.frontiers.items() if f.fit is not None}
    lines = [f"Against {what} ({cmp.metric}, {direction} is better):"]
    for a in cmp.frontiers:
        if a not in fitted:
            lines.append(f"- {a}: no law could be fitted to its frontier.")
    if len(cmp.frontiers) < 2:
        lines.append("- only one architecture in the records; nothing to compare.")
        return "\n".join(lines)
    if len(fitted) < 2:
        # No pair of laws: compare what the trials reached, up to the x every architecture reached.
        upto = min(f.x.max() for f in cmp.frontiers.values())
        best = {a: f.frontier.values[f.frontier.flops <= upto] for a, f in cmp.frontiers.items()}
        seen = {a: float(v[-1]) for a, v in best.items() if v.size}
        ranked = sorted(seen, key=seen.get, reverse=higher_is_better(cmp.metric))
        if ranked:
            values = ", ".join(f"{a} {seen[a]:.4g}" for a in ranked)
            lines.append(f"- observed, the best trial at or below {upto:.3g} {what}: {values}: {ranked[0]} is ahead.")
        return "\n".join(lines)
    lo = max(f.x.min() for f in fitted.values())
    hi = min(f.x.max() for f in fitted.values())
    if lo > hi:
        lines.append(f"- the architectures' {what} ranges do not overlap; any comparison is an extrapolation.")
        hi = max(f.x.max() for f in fitted.values())
    ranked = sorted(fitted, key=lambda a: _at(fitted[a], hi), reverse=higher_is_better(cmp.metric))
    values = ", ".join(f"{a} {_at(fitted[a], hi):.4g}" for a in ranked)
    lines.append(f"- at {hi:.3g} {what} (the most both reached) the fitted laws give {values}: {ranked[0]} is ahead.")
    gains = ", ".join(f"{a} {float(fitted[a].fit.gain_per_doubling(hi)):.3g}" for a in ranked)
    lines.append(f"- gain per doubling of {what} there: {gains}.")
    if not cmp.crossings:
        span = (min(f.x.min() for f in fitted.values()) / EXTEND, max(f.x.max() for f in fitted.values()) * EXTEND)
        lines.append(f"- the laws do not cross between {span[0]:.3g} and {span[1]:.3g} {what}.")
    for c in cmp.crossings:
        where = "inside the range both reached" if c.observed else "an extrapolation beyond the trials"
        lines.append(f"- the laws cross at {c.x:.3g} {what} ({cmp.metric} {c.value:.4g}, {where}): "
                     f"below it {c.better_below} is better, above it {c.better_above}.")
    return "\n".join(lines)
