"""Per-point selection: which variant of each point a spec's ``select:`` keeps, from records.

A spec with ``select: {over: {optim.lr: [...]}, by: ne}`` trains every point in every
variant (the product of the ``over`` lists). The trials of one point, all its variants
and seeds, form a *selection group*; each trial records it (``TrialRecord.selection``:
the group's id, the trial's variant and its index in the product, ``by``, ``goal`` and
the ids of every trial of the group). The choice is made here, from records alone, so
it is the same after a resume, with several drivers or on an old sweep directory:

* a variant is scored by the mean over its seeds of ``valid_metrics[by]``, the metrics on
  the validation set, never the evaluation set (``final_metrics``); all seeds of a point
  therefore use one variant;
* a variant with a seed that diverged, failed or has no finite validation ``by`` is never
  chosen;
* a group with a trial not recorded yet is ``incomplete`` and nothing is chosen;
* ties (equal means) go to the variant listed first (lowest index in the product).

The direction of a metric is written once here (``goal_of``); ``analysis`` uses it too.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Iterable

from sweeps.store import TrialRecord

FILE = "selection.json"
LOWER_IS_BETTER = ("ne", "logloss", "nll", "loss")


def higher_is_better(metric: str) -> bool:
    """AUC, HR@K, NDCG@K and MRR improve upwards; NE, log loss, NLL and anything else downwards."""
    return metric in ("auc", "mrr") or metric.startswith(("hr@", "ndcg@", "mrr@"))


def goal_of(metric: str) -> str | None:
    """``"max"`` or ``"min"`` for a metric whose direction is known, else None."""
    if higher_is_better(metric):
        return "max"
    return "min" if metric in LOWER_IS_BETTER else None


def variant_label(variant: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else f"{k}={v}"
                     for k, v in variant.items())


@dataclasses.dataclass(frozen=True)
class VariantScore:
    """One variant of a group: its trials, its mean validation metric (None when unusable) and why not."""

    variant: dict[str, Any]
    index: int
    trials: tuple[str, ...]
    mean: float | None
    problem: str = ""


@dataclasses.dataclass(frozen=True)
class GroupChoice:
    """The outcome for one group: ``chosen``, ``incomplete`` or ``none`` (no usable variant)."""

    group: str
    by: str
    goal: str
    status: str
    variants: tuple[VariantScore, ...]
    missing: tuple[str, ...]  # trial ids of the group without a record
    chosen: VariantScore | None = None
    axes: dict[str, Any] = dataclasses.field(default_factory=dict)  # where the point lies (from its records)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _score(variant: dict, index: int, recs: list[TrialRecord], by: str) -> VariantScore:
    ids = tuple(r.trial_id for r in recs)
    values = []
    for r in recs:
        if r.status != "finished":
            return VariantScore(variant, index, ids, None, f"{r.trial_id} {r.status}")
        v = r.valid_metrics.get(by)
        if not isinstance(v, (int, float)) or not math.isfinite(v):
            return VariantScore(variant, index, ids, None, f"{r.trial_id} has no validation {by!r}")
        values.append(float(v))
    return VariantScore(variant, index, ids, sum(values) / len(values))


def _choose_group(group: str, recs: list[TrialRecord]) -> GroupChoice:
    first = recs[0].selection
    by, goal = first["by"], first["goal"]
    members = sorted({m for r in recs for m in r.selection["members"]})
    have = {r.trial_id for r in recs}
    missing = tuple(m for m in members if m not in have)
    by_variant: dict[int, list[TrialRecord]] = {}
    for r in recs:
        by_variant.setdefault(r.selection["index"], []).append(r)
    scores = tuple(_score(rs[0].selection["variant"], i, sorted(rs, key=lambda r: r.seed), by)
                   for i, rs in sorted(by_variant.items()))
    axes = dict(min(recs, key=lambda r: r.trial_id).axes)
    if missing:
        return GroupChoice(group, by, goal, "incomplete", scores, missing, None, axes)
    usable = [s for s in scores if s.mean is not None]
    if not usable:
        return GroupChoice(group, by, goal, "none", scores, missing, None, axes)
    sign = -1.0 if goal == "max" else 1.0
    best = min(usable, key=lambda s: (sign * s.mean, s.index))
    return GroupChoice(group, by, goal, "chosen", scores, missing, best, axes)


def choose(records: Iterable[TrialRecord]) -> dict[str, GroupChoice]:
    """Per selection group of ``records`` (records without ``selection`` are ignored), the choice."""
    groups: dict[str, list[TrialRecord]] = {}
    for r in sorted(records, key=lambda r: r.trial_id):
        if r.selection:
            groups.setdefault(r.selection["group"], []).append(r)
    return {g: _choose_group(g, recs) for g, recs in sorted(groups.items())}


def chosen_ids(choices: dict[str, GroupChoice]) -> set[str]:
    return {t for c in choices.values() if c.chosen is not None for t in c.chosen.trials}


def annotate(records: Iterable[TrialRecord]) -> list[TrialRecord]:
    """The records, each selection marked ``chosen: true/false`` (computed over these records
    where not marked yet); records without ``selection`` are returned as they are."""
    records = list(records)
    if all(not r.selection or "chosen" in r.selection for r in records):
        return records
    keep = chosen_ids(choose(records))
    return [dataclasses.replace(r, selection={**r.selection, "chosen": r.trial_id in keep})
            if r.selection and "chosen" not in r.selection else r for r in records]


def is_chosen(record: TrialRecord) -> bool:
    """Whether a record is kept by the fits: not a variant, or the chosen one (``annotate`` first)."""
    return not record.selection or bool(record.selection.get("chosen"))


def counts(choices: dict[str, GroupChoice]) -> dict[str, int]:
    return {s: sum(c.status == s for c in choices.values()) for s in ("chosen", "incomplete", "none")}


def to_json(choices: dict[str, GroupChoice]) -> str:
    return json.dumps({"groups": len(choices), **counts(choices), "choices": {g: c.to_dict() for g, c in choices.items()}},
                      indent=1, sort_keys=True)


def summary(choices: dict[str, GroupChoice]) -> list[str]:
    """Lines for ``sweep status`` and the runner's log: counts, then every group."""
    n = counts(choices)
    lines = [f"selection: {len(choices)} groups: chosen {n['chosen']}, incomplete {n['incomplete']}, "
             f"no usable variant {n['none']}"]
    for c in choices.values():
        where = variant_label(c.axes) or "base"
        if c.chosen is not None:
            what = f"chose {variant_label(c.chosen.variant)} (validation {c.by} {c.chosen.mean:.5g}, goal {c.goal})"
        elif c.status == "incomplete":
            what = f"incomplete: {len(c.missing)} trial(s) not recorded"
        else:
            what = "no usable variant: " + "; ".join(s.problem for s in c.variants)
        lines.append(f"  {c.group} [{where}]: {what}")
    return lines
