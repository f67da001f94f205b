"""A trial from a config tree: dotted keys nested, trees merged, the tree resolved into a
typed ``TrialConfig`` with the sections its architecture's task declares; a planned trial
is such a config, the axes it lies on and, under a ``select:``, its variant."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from sweeps import recipes, tasks
from sweeps.config import TrialConfig, from_dict
from sweeps.errors import SpecError

SECTIONS = ("model", "data", "optim", "train")


@dataclasses.dataclass(frozen=True)
class Variant:
    """Where a trial stands in a spec's ``select:``: its group (the point it is a variant
    of, seeds together), its variant and that variant's index in the product of the
    ``over`` lists, the metric chosen by and its goal, and every trial id of the group."""

    group: str
    variant: dict[str, Any]
    index: int
    by: str
    goal: str
    members: tuple[str, ...]

    def record(self) -> dict[str, Any]:
        """As ``TrialRecord.selection`` holds it."""
        return {**dataclasses.asdict(self), "members": list(self.members)}


@dataclasses.dataclass(frozen=True)
class PlannedTrial:
    config: TrialConfig
    axes: dict[str, Any]  # every axis or swept key (and its value) this trial lies on
    selection: Variant | None = None  # set when the trial is a variant of a ``select:``

    @property
    def trial_id(self) -> str:
        return self.config.trial_id


def nest(flat: dict[str, Any], field: str) -> dict[str, Any]:
    """Expand dotted keys (``optim.lr: 0.01``) into nested dicts."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if not isinstance(key, str):
            raise SpecError(f"{field}.{key}", "keys must be strings")
        parts = key.split(".")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise SpecError(f"{field}.{key}", "conflicts with a non-mapping value")
        if isinstance(value, dict):
            node[parts[-1]] = merge(node.get(parts[-1], {}), nest(value, f"{field}.{key}"))
        else:
            node[parts[-1]] = value
    return out


def merge(a: dict, b: dict) -> dict:
    out = copy.deepcopy(a)
    for k, v in b.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def build_config(arch: str, seed: int, tree: dict[str, Any], field: str) -> TrialConfig:
    """The typed config of ``arch`` at ``seed`` from a nested tree of overrides; errors
    name ``field`` and the key."""
    classes = {"model": recipes.get(arch).ModelKnobs, **tasks.of(arch).SECTIONS}
    sections = {name: from_dict(classes[name], tree.get(name), f"{field}.{name}") for name in SECTIONS}
    return tasks.resolve_budget(TrialConfig(arch=arch, seed=seed, **sections))
