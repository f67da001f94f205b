"""Sweep specs: YAML in, a validated list of planned trials out.

A spec grows one architecture along one or more axes, one axis at a time from a shared
base point (the design of the seed study)::

    name: quickstart
    arch: dlrm
    seeds: [0, 1]
    base:                 # nested or dotted keys of the trial config
      model: {embed_dim: 16, rows: 4096}
      optim.lr: 0.01
    axes:
      horizontal: [2, 4, 8, 16, 32, 64]
      data: [32768, 131072, 524288]

Every error names the field (``axes.horizontal[2]``, ``base.model.embed_dim``) and is
raised before anything trains.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import yaml

from sweeps import recipes
from sweeps.config import DataConfig, OptimConfig, TrainConfig, TrialConfig, from_dict
from sweeps.errors import SpecError
from sweeps.tracking import WandbConfig

TOP_KEYS = ("name", "description", "arch", "seeds", "base", "axes", "logging")
SECTIONS = {"model": None, "data": DataConfig, "optim": OptimConfig, "train": TrainConfig}


@dataclasses.dataclass(frozen=True)
class PlannedTrial:
    config: TrialConfig
    axes: dict[str, float]  # every axis (and its scale value) this trial lies on

    @property
    def trial_id(self) -> str:
        return self.config.trial_id


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    name: str
    arch: str
    seeds: tuple[int, ...]
    base: dict[str, Any]
    axes: dict[str, tuple[float, ...]]
    description: str = ""
    wandb: WandbConfig | None = None


def _nest(flat: dict[str, Any], field: str) -> dict[str, Any]:
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
            value = _nest(value, f"{field}.{key}")
            node[parts[-1]] = _merge(node.get(parts[-1], {}), value)
        else:
            node[parts[-1]] = value
    return out


def _merge(a: dict, b: dict) -> dict:
    out = copy.deepcopy(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def parse(raw: Any, source: str = "spec") -> SweepSpec:
    if not isinstance(raw, dict):
        raise SpecError(source, "a spec must be a YAML mapping")
    unknown = sorted(set(raw) - set(TOP_KEYS))
    if unknown:
        raise SpecError(unknown[0], f"unknown key; expected one of {', '.join(TOP_KEYS)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name or "/" in name:
        raise SpecError("name", f"expected a non-empty name without '/', got {name!r}")
    arch = raw.get("arch")
    try:
        recipe_axes = recipes.axes(arch) if isinstance(arch, str) else None
    except KeyError as e:
        raise SpecError("arch", str(e.args[0])) from None
    if recipe_axes is None:
        raise SpecError("arch", f"expected an architecture name, got {arch!r}")
    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise SpecError("seeds", f"expected a non-empty list of non-negative integers, got {seeds!r}")
    base = raw.get("base") or {}
    if not isinstance(base, dict):
        raise SpecError("base", f"expected a mapping, got {base!r}")
    base = _nest(base, "base")
    for section in base:
        if section not in SECTIONS:
            raise SpecError(f"base.{section}", f"unknown section; expected one of {', '.join(SECTIONS)}")
    axes = raw.get("axes")
    if not isinstance(axes, dict) or not axes:
        raise SpecError("axes", "expected a mapping of axis name to a list of values")
    parsed_axes = {}
    for axis, values in axes.items():
        if axis not in recipe_axes:
            raise SpecError(f"axes.{axis}", f"unknown axis for {arch}; expected one of {', '.join(sorted(recipe_axes))}")
        if not isinstance(values, list) or not values:
            raise SpecError(f"axes.{axis}", "expected a non-empty list of values")
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                raise SpecError(f"axes.{axis}[{i}]", f"expected a positive number, got {v!r}")
            if recipe_axes[axis].integer and not float(v).is_integer():
                raise SpecError(f"axes.{axis}[{i}]", f"expected an integer, got {v!r}")
        if len(set(values)) != len(values):
            raise SpecError(f"axes.{axis}", "values must be distinct")
        parsed_axes[axis] = tuple(int(v) if recipe_axes[axis].integer else float(v) for v in values)
    description = raw.get("description", "")
    return SweepSpec(name, arch, tuple(seeds), base, parsed_axes, str(description), _wandb(raw.get("logging")))


def _wandb(logging: Any) -> WandbConfig | None:
    """``logging: {wandb: true}`` or ``logging: {wandb: {project, entity, mode}}``."""
    if logging is None:
        return None
    if not isinstance(logging, dict):
        raise SpecError("logging", f"expected a mapping, got {logging!r}")
    unknown = sorted(set(logging) - {"wandb"})
    if unknown:
        raise SpecError(f"logging.{unknown[0]}", "unknown key; expected wandb")
    value = logging.get("wandb")
    if value is None or value is False:
        return None
    if value is True:
        return WandbConfig()
    cfg = from_dict(WandbConfig, value, "logging.wandb")
    if cfg.mode not in (None, "online", "offline", "disabled"):
        raise SpecError("logging.wandb.mode", f"expected online, offline or disabled, got {cfg.mode!r}")
    return cfg


def dump(spec: SweepSpec) -> str:
    """The spec as YAML that ``parse`` reads back to the same spec."""
    raw = {
        "name": spec.name,
        "description": spec.description,
        "arch": spec.arch,
        "seeds": list(spec.seeds),
        "base": spec.base,
        "axes": {k: list(v) for k, v in spec.axes.items()},
    }
    if spec.wandb is not None:
        raw["logging"] = {"wandb": dataclasses.asdict(spec.wandb)}
    return yaml.safe_dump(raw, sort_keys=False)


def load(path: str | Path) -> SweepSpec:
    path = Path(path)
    if not path.is_file():
        raise SpecError(str(path), "no such spec file")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise SpecError(str(path), f"not valid YAML: {e}") from None
    return parse(raw, str(path))


def build_config(arch: str, seed: int, tree: dict[str, Any], field: str) -> TrialConfig:
    recipe = recipes.get(arch)
    sections = {
        name: from_dict(cls or recipe.ModelSpec, tree.get(name), f"{field}.{name}")
        for name, cls in SECTIONS.items()
    }
    return TrialConfig(arch=arch, seed=seed, **sections)


def expand(spec: SweepSpec) -> list[PlannedTrial]:
    """All trials of a spec, deduplicated by trial id (a base point shared by axes runs once)."""
    base_cfg = build_config(spec.arch, spec.seeds[0], spec.base, "base")
    recipe_axes = recipes.axes(spec.arch)
    planned: dict[str, PlannedTrial] = {}
    for axis, values in spec.axes.items():
        for i, value in enumerate(values):
            field = f"axes.{axis}[{i}]"
            overrides = recipe_axes[axis].overrides(value, base_cfg.model)
            tree = _merge(spec.base, _nest(overrides, field))
            for seed in spec.seeds:
                try:
                    cfg = build_config(spec.arch, seed, tree, "base")
                except SpecError as e:
                    raise SpecError(field, f"{e.field}: {e.problem}") from None
                tid = cfg.trial_id
                prev = planned.get(tid)
                memberships = {**(prev.axes if prev else {}), axis: value}
                planned[tid] = PlannedTrial(cfg, memberships)
    return list(planned.values())
