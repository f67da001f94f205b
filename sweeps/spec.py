"""Sweep specs: YAML in, a validated ``SweepSpec`` out (expansion lives in ``sweeps.expand``).

Grammar (see the README for examples)::

    name: study              # the sweep directory is runs/<name>
    include: base.yaml       # optional: a spec this one extends (this file wins)
    arch: dlrm               # or a list: [dlrm, wide_deep]
    seeds: [0, 1]            # replicate seeds of every trial
    base: {...}              # shared base point, nested or dotted keys
    per_arch: {wide_deep: {model.deep_mlp: [64, 32]}}   # overrides for one architecture
    axes: {horizontal: [...], data: [...]}               # one axis at a time from the base
    axes: {data: {from: {vertical: 4096, mlp: 128}, values: [...]}}   # data axes from labelled bases
    grid: {model.embed_dim: [8, 16], optim.lr: [0.003, 0.01]}   # product of lists
    zip: {model.embed_dim: [8, 16], model.rows: [512, 1024]}   # paired lists
    compute: {budgets: [1e11, 1e12], axis: overall, sizes: [0.5, 1, 2], tolerance: 0.05}
    select: {over: {optim.lr: [0.003, 0.01]}, by: ne}    # every point in every variant; keep the best on validation
    chain: [{grid: ...}, {axes: ...}]                    # further parts, each with its own base (and select)
    logging: {wandb: {project: NAME}}

A data axis grown ``from`` labelled bases grows each base (the part's base moved along that
axis to that value) along data, and its trials record the axis as ``data@<label>``. A
``select:`` (top level: every part; a chain part's own replaces it, ``select: false`` drops
it) trains each point once per variant and records which group and variant each trial
is; ``sweeps.selection`` chooses per point on the validation metric ``by``.

Every error names the field (``axes.horizontal[2]``, ``base.model.embed_dim``) and is
raised before anything trains.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any

import yaml

from sweeps import recipes, selection
from sweeps.config import from_dict
from sweeps.errors import SpecError
from sweeps.expand import expand_spec
from sweeps.tracking import WandbConfig
from sweeps.trials import SECTIONS, PlannedTrial, build_config, merge, nest

__all__ = ["PlannedTrial", "SweepSpec", "build_config", "dump", "expand", "load", "merge", "nest", "parse"]

TOP_KEYS = ("name", "description", "include", "arch", "seeds", "base", "per_arch", "logging", "chain")
PART_KEYS = ("base", "axes", "grid", "zip", "compute", "select")
SELECT_KEYS = ("over", "by", "goal")


def describe_point(axes: dict[str, Any]) -> str:
    """``key=value, ...`` of a point's axes, written as a variant is (``selection.variant_label``)."""
    return selection.variant_label(axes)


def describe_trial(trial: PlannedTrial) -> str:
    """Where a trial lies, for plans and progress lines: its point, and under a ``select:``
    which variant it is (``horizontal=8 | variant 1: optim.lr=0.003``)."""
    where = describe_point(trial.axes)
    if trial.selection is not None:
        where += f" | variant {trial.selection.index}: {selection.variant_label(trial.selection.variant)}"
    return where


@dataclasses.dataclass(frozen=True)
class ComputeBudgets:
    """IsoFLOP budgets: per budget, every size of ``axis`` with the examples that hit it."""

    budgets: tuple[float, ...]
    axis: str
    sizes: tuple[float, ...]
    tolerance: float = 0.05


@dataclasses.dataclass(frozen=True)
class Select:
    """Per-point selection: every point trains in each variant (the product of the ``over``
    lists, in their order); the variant best on the validation metric ``by`` (``goal``:
    min or max) is the point's value."""

    over: dict[str, tuple[Any, ...]]
    by: str
    goal: str
    field: str  # where in the spec it lives (``select``, ``chain[1].select``)

    def variants(self) -> list[dict[str, Any]]:
        keys = list(self.over)
        return [dict(zip(keys, values)) for values in itertools.product(*(self.over[k] for k in keys))]


@dataclasses.dataclass(frozen=True)
class Part:
    """One block of trials: its own base overrides and any of axes, grid, zip, compute."""

    base: dict[str, Any]
    axes: dict[str, tuple[float, ...]]
    grid: dict[str, tuple[Any, ...]]
    zip: dict[str, tuple[Any, ...]]
    compute: ComputeBudgets | None
    field: str  # where in the spec this part lives, for error messages
    select: Select | None = None
    bases: dict[str, float] = dataclasses.field(default_factory=dict)  # the data axis' labelled bases (axis -> value)


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    name: str
    archs: tuple[str, ...]
    seeds: tuple[int, ...]
    base: dict[str, Any]
    per_arch: dict[str, dict[str, Any]]
    parts: tuple[Part, ...]
    description: str = ""
    wandb: WandbConfig | None = None
    raw: dict = dataclasses.field(default_factory=dict, compare=False)

    @property
    def arch(self) -> str:
        return self.archs[0]


def _mapping(value: Any, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SpecError(field, f"expected a mapping, got {value!r}")
    return value


def _overrides(value: Any, field: str) -> dict:
    tree = nest(_mapping(value, field), field)
    for section in tree:
        if section not in SECTIONS:
            raise SpecError(f"{field}.{section}", f"unknown section; expected one of {', '.join(SECTIONS)}")
    return tree


def _number_list(values: Any, field: str, *, integer: bool) -> tuple:
    if not isinstance(values, list) or not values:
        raise SpecError(field, "expected a non-empty list of values")
    for i, v in enumerate(values):
        if isinstance(v, str):
            try:
                v = float(v)
            except ValueError:
                raise SpecError(f"{field}[{i}]", f"expected a positive number, got {v!r}") from None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise SpecError(f"{field}[{i}]", f"expected a positive number, got {v!r}")
        if integer and not float(v).is_integer():
            raise SpecError(f"{field}[{i}]", f"expected an integer, got {v!r}")
    out = tuple(int(float(v)) if integer else float(v) for v in values)
    if len(set(out)) != len(out):
        raise SpecError(field, "values must be distinct")
    return out


def _size_axis(axis: Any, field: str, axes_by_arch: dict[str, dict], *, size_only: bool = False) -> bool:
    """Check that ``axis`` is an axis of every architecture (a model-size axis with
    ``size_only``); return whether its values are integers."""
    missing = [a for a, known in axes_by_arch.items() if axis not in known]
    if missing or (size_only and axis in ("data", "compute")):
        known = sorted(set.intersection(*(set(k) for k in axes_by_arch.values())) - ({"data", "compute"} if size_only else set()))
        who = f"for {missing[0]}" if missing else "to grow a base along"
        raise SpecError(field, f"unknown axis {who}; expected one of {', '.join(known)}")
    return all(known[axis].integer for known in axes_by_arch.values())


def _keys(raw: dict, field: str, allowed, required) -> None:
    """``raw`` has only ``allowed`` keys and every ``required`` one; errors name the key."""
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise SpecError(f"{field}.{unknown[0]}", f"unknown key; expected one of {', '.join(allowed)}")
    for key in required:
        if key not in raw:
            raise SpecError(f"{field}.{key}", "missing")


def _data_from(value: dict, field: str, axes_by_arch: dict[str, dict]) -> tuple[tuple, dict[str, float]]:
    """``{from: {axis: value}, values: [...]}``: the data values and the labelled bases."""
    _keys(value, field, ("from", "values"), ("from", "values"))
    bases = _mapping(value["from"], f"{field}.from")
    if not bases:
        raise SpecError(f"{field}.from", "expected a mapping of axis: value, one labelled base per axis")
    out = {}
    for axis, size in bases.items():
        integer = _size_axis(axis, f"{field}.from.{axis}", axes_by_arch, size_only=True)
        try:
            out[axis] = _number_list([size], f"{field}.from.{axis}", integer=integer)[0]
        except SpecError as e:
            raise SpecError(f"{field}.from.{axis}", e.problem) from None
    return _number_list(value["values"], f"{field}.values", integer=True), out


def _axes(value: Any, field: str, axes_by_arch: dict[str, dict]) -> tuple[dict[str, tuple], dict[str, float]]:
    out, bases = {}, {}
    for axis, values in _mapping(value, field).items():
        integer = _size_axis(axis, f"{field}.{axis}", axes_by_arch)
        if axis == "data" and isinstance(values, dict):
            out[axis], bases = _data_from(values, f"{field}.data", axes_by_arch)
            continue
        out[axis] = _number_list(values, f"{field}.{axis}", integer=integer)
    return out, bases


def _select(value: Any, field: str) -> Select | None:
    raw = _mapping(value, field)
    _keys(raw, field, SELECT_KEYS, ("over", "by"))
    over = _lists(raw["over"], f"{field}.over")
    if not over:
        raise SpecError(f"{field}.over", "expected a mapping of dotted config keys to lists of values")
    for key, values in over.items():
        if len(set(map(repr, values))) != len(values):
            raise SpecError(f"{field}.over.{key}", "values must be distinct")
    by = raw["by"]
    if not isinstance(by, str) or not by:
        raise SpecError(f"{field}.by", f"expected a metric name, got {by!r}")
    known, goal = selection.goal_of(by), raw.get("goal")
    if goal is not None and goal not in ("min", "max"):
        raise SpecError(f"{field}.goal", f"expected min or max, got {goal!r}")
    if goal is None and known is None:
        raise SpecError(f"{field}.goal", f"missing: whether higher or lower {by!r} is better is not known; give min or max")
    if goal is not None and known is not None and goal != known:
        raise SpecError(f"{field}.goal", f"{by!r} is better when {'higher' if known == 'max' else 'lower'}; goal {goal} contradicts it")
    return Select(over, by, goal or known, field)


def _lists(value: Any, field: str) -> dict[str, tuple]:
    out = {}
    for key, values in _mapping(value, field).items():
        if not isinstance(values, list) or not values:
            raise SpecError(f"{field}.{key}", "expected a non-empty list of values")
        nest({key: values[0]}, field)
        if key.split(".")[0] not in SECTIONS:
            raise SpecError(f"{field}.{key}", f"expected a dotted config key under {', '.join(SECTIONS)}")
        out[key] = tuple(tuple(v) if isinstance(v, list) else v for v in values)
    return out


def _compute(value: Any, field: str, axes_by_arch: dict[str, dict]) -> ComputeBudgets | None:
    if value is None:
        return None
    raw = _mapping(value, field)
    _keys(raw, field, ("budgets", "axis", "sizes", "tolerance"), ("budgets", "axis", "sizes"))
    axis = raw["axis"]
    if axis in ("data", "compute") or not all(axis in known for known in axes_by_arch.values()):
        raise SpecError(f"{field}.axis", f"expected a model-size axis of every architecture, got {axis!r}")
    tol = raw.get("tolerance", 0.05)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol < 1:
        raise SpecError(f"{field}.tolerance", f"expected a fraction in (0, 1), got {tol!r}")
    integer = all(known[axis].integer for known in axes_by_arch.values())
    return ComputeBudgets(
        _number_list(raw["budgets"], f"{field}.budgets", integer=False),
        axis,
        _number_list(raw["sizes"], f"{field}.sizes", integer=integer),
        float(tol),
    )


def _part(raw: dict, field: str, axes_by_arch: dict[str, dict], *, top: bool, select: Select | None = None) -> Part:
    keys = set(PART_KEYS) | (set(TOP_KEYS) if top else set())
    unknown = sorted(set(raw) - keys)
    if unknown:
        where = f"{field}.{unknown[0]}" if field else unknown[0]
        raise SpecError(where, f"unknown key; expected one of {', '.join(sorted(keys))}")
    prefix = f"{field}." if field else ""
    if raw.get("select") is False:
        select = None
    elif raw.get("select") is not None:
        select = _select(raw["select"], f"{prefix}select")
    axes, bases = _axes(raw.get("axes"), f"{prefix}axes", axes_by_arch)
    part = Part(
        base={} if top else _overrides(raw.get("base"), f"{prefix}base"),
        axes=axes,
        grid=_lists(raw.get("grid"), f"{prefix}grid"),
        zip=_lists(raw.get("zip"), f"{prefix}zip"),
        compute=_compute(raw.get("compute"), f"{prefix}compute", axes_by_arch),
        field=field,
        select=select,
        bases=bases,
    )
    if part.zip and len({len(v) for v in part.zip.values()}) > 1:
        raise SpecError(f"{prefix}zip", "all lists must have the same length")
    return part


def _archs(value: Any) -> tuple[str, ...]:
    names = value if isinstance(value, list) else [value]
    if not names or not all(isinstance(a, str) for a in names):
        raise SpecError("arch", f"expected an architecture name or a list of them, got {value!r}")
    for a in names:
        try:
            recipes.get(a)
        except KeyError as e:
            raise SpecError("arch", str(e.args[0])) from None
    return tuple(names)


def parse(raw: Any, source: str = "spec") -> SweepSpec:
    if not isinstance(raw, dict):
        raise SpecError(source, "a spec must be a YAML mapping")
    keys = TOP_KEYS + tuple(k for k in PART_KEYS if k not in TOP_KEYS)
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise SpecError(unknown[0], f"unknown key; expected one of {', '.join(keys)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name or "/" in name:
        raise SpecError("name", f"expected a non-empty name without '/', got {name!r}")
    archs = _archs(raw.get("arch"))
    axes_by_arch = {a: recipes.axes(a) for a in archs}
    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise SpecError("seeds", f"expected a non-empty list of non-negative integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise SpecError("seeds", "seeds must be distinct")
    per_arch = {}
    for arch, overrides in _mapping(raw.get("per_arch"), "per_arch").items():
        if arch not in archs:
            raise SpecError(f"per_arch.{arch}", f"not an architecture of this spec ({', '.join(archs)})")
        per_arch[arch] = _overrides(overrides, f"per_arch.{arch}")
    parts = [_part(raw, "", axes_by_arch, top=True)]
    select = parts[0].select
    chain = raw.get("chain") or []
    if not isinstance(chain, list):
        raise SpecError("chain", f"expected a list of sweep parts, got {chain!r}")
    for i, sub in enumerate(chain):
        parts.append(_part(_mapping(sub, f"chain[{i}]"), f"chain[{i}]", axes_by_arch, top=False, select=select))
    varied = [p for p in parts if p.axes or p.grid or p.zip or p.compute]
    tuned = [p for p in parts if p.select]
    if not varied and not tuned and len(archs) == 1:
        raise SpecError("axes", "the spec varies nothing: give axes, grid, zip, compute, select or chain (or several architectures)")
    # Nothing varied: one point per architecture, the base (in every variant of a select).
    parts = varied or tuned[:1] or parts[:1]
    return SweepSpec(
        name=name,
        archs=archs,
        seeds=tuple(seeds),
        base=_overrides(raw.get("base"), "base"),
        per_arch=per_arch,
        parts=tuple(parts),
        description=str(raw.get("description", "")),
        wandb=_wandb(raw.get("logging")),
        raw={k: v for k, v in raw.items() if k != "include"},
    )


def _wandb(logging: Any) -> WandbConfig | None:
    """``logging: {wandb: true}`` or ``logging: {wandb: {project, entity, mode}}``."""
    logging = _mapping(logging, "logging")
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
    """The spec as YAML (includes resolved) that ``parse`` reads back to the same spec."""
    return yaml.safe_dump(spec.raw, sort_keys=False)


def _read(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    if not path.is_file():
        raise SpecError(str(path), "no such spec file")
    if path.resolve() in seen:
        raise SpecError("include", f"{path} includes itself")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise SpecError(str(path), f"not valid YAML: {e}") from None
    if isinstance(raw, dict) and "include" in raw:
        inc = raw["include"]
        if not isinstance(inc, str):
            raise SpecError("include", f"expected a path, got {inc!r}")
        parent = _read(path.parent / inc, (*seen, path.resolve()))
        raw = merge(parent, {k: v for k, v in raw.items() if k != "include"})
    return raw


def load(path: str | Path) -> SweepSpec:
    path = Path(path)
    return parse(_read(path), str(path))


def expand(spec: SweepSpec) -> list[PlannedTrial]:
    """All planned trials of a spec (see ``sweeps.expand``)."""
    return expand_spec(spec)

