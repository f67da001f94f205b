"""Expand a ``SweepSpec`` into planned trials, deduplicated by trial id.

A trial reached from several places (the base point lies on every axis) is planned once
and records every axis, grid key or budget it lies on. Under a ``select:``, every point
is planned once per variant and seed; its trials share a group id (a hash of the point's
config without the variants, whatever the seed) and each records its variant.
"""

from __future__ import annotations

import hashlib
import itertools
from typing import TYPE_CHECKING, Iterator

from sweeps import recipes, tasks
from sweeps.config import TrialConfig
from sweeps.errors import SpecError
from sweeps.store import grown_axis
from sweeps.trials import PlannedTrial, Variant, build_config, merge, nest

if TYPE_CHECKING:  # the spec's types; sweeps.spec imports this module
    from sweeps.spec import Part, Select, SweepSpec


def _axis_points(arch: str, part: Part, base: TrialConfig, prefix: str) -> Iterator[tuple[dict, dict, str]]:
    known = recipes.axes(arch)
    for axis, values in part.axes.items():
        if axis == "data" and part.bases:  # one data axis per labelled base, each grown from its base
            for label, size in part.bases.items():
                grown = known[label].overrides(size, base.model)
                for value in values:
                    over = {**grown, **known[axis].overrides(value, base.model)}
                    yield {grown_axis(axis, label): value}, over, f"{prefix}axes.data.from.{label}"
            continue
        for i, value in enumerate(values):
            yield {axis: value}, known[axis].overrides(value, base.model), f"{prefix}axes.{axis}[{i}]"


def _grid_points(part: Part, prefix: str) -> Iterator[tuple[dict, dict, str]]:
    keys = list(part.grid)
    if not keys:
        return
    for idx in itertools.product(*(range(len(part.grid[k])) for k in keys)):
        point = {k: part.grid[k][i] for k, i in zip(keys, idx)}
        yield point, dict(point), f"{prefix}grid[" + ",".join(map(str, idx)) + "]"


def _zip_points(part: Part, prefix: str) -> Iterator[tuple[dict, dict, str]]:
    n = len(next(iter(part.zip.values()))) if part.zip else 0
    for i in range(n):
        point = {k: v[i] for k, v in part.zip.items()}
        yield point, dict(point), f"{prefix}zip[{i}]"


def _compute_points(arch: str, part: Part, tree: dict, base: TrialConfig, prefix: str) -> Iterator[tuple[dict, dict, str]]:
    """Chinchilla approach 2: per budget C, every size with the data that make its training
    FLOPs (per example times the examples of every pass, ``examples_consumed``) hit C."""
    c = part.compute
    axis = recipes.axes(arch)[c.axis]
    task = tasks.of(arch)
    for bi, budget in enumerate(c.budgets):
        hits, smallest = 0, []
        for si, size in enumerate(c.sizes):
            overrides = axis.overrides(size, base.model)
            field = f"{prefix}compute.sizes[{si}]"
            cfg = _build(arch, base.seed, merge(tree, nest(overrides, field)), field)
            f = tasks.train_flops_per_example(cfg)
            examples = task.examples_for(cfg, budget / f)
            smallest.append(f * task.examples_consumed(cfg, task.examples_for(cfg, 0)))
            if abs(f * task.examples_consumed(cfg, examples) - budget) / budget > c.tolerance:
                continue
            hits += 1
            yield {"compute": budget, c.axis: size}, {**overrides, "data.examples": examples}, field
        if not hits:
            raise SpecError(
                f"{prefix}compute.budgets[{bi}]",
                f"no size of {c.axis} reaches {budget:g} training FLOPs within {c.tolerance:.0%} "
                f"(the smallest data budget costs {min(smallest):.3g} to {max(smallest):.3g} FLOPs)",
            )


def _reference_point(part: Part) -> Iterator[tuple[dict, dict, str]]:
    """A part that varies nothing is the base point itself (one trial per architecture)."""
    if not (part.axes or part.grid or part.zip or part.compute):
        yield {}, {}, "base"


def _build(arch: str, seed: int, tree: dict, field: str) -> TrialConfig:
    try:
        cfg = build_config(arch, seed, tree, "base")
        tasks.model_config(cfg)
        return cfg
    except SpecError as e:
        if e.field.startswith(field):
            raise
        raise SpecError(field, f"{e.field}: {e.problem}") from None
    except ValueError as e:
        raise SpecError(field, str(e)) from None


def _check_select(arch: str, sel: Select, tree: dict, seed: int) -> None:
    """Every value of every ``over`` key makes a valid trial (errors name ``select.over.KEY[i]``)."""
    for key, values in sel.over.items():
        for i, value in enumerate(values):
            field = f"{sel.field}.over.{key}[{i}]"
            _build(arch, seed, merge(tree, nest({key: value}, field)), field)


def _variants(arch: str, sel: Select | None, point_tree: dict, overrides: dict, seeds, field: str):
    """``(config, Variant or None)`` of every trial of one point: per variant, every seed."""
    if sel is None:
        return [(_build(arch, seed, point_tree, field), None) for seed in seeds]
    clash = sorted(set(sel.over) & set(overrides))
    if clash:
        raise SpecError(f"{sel.field}.over.{clash[0]}", f"also set by the point {field}; a key is a point's or a variant's, not both")
    point = hashlib.sha256(f"select:{build_config(arch, 0, point_tree, field).trial_id}".encode()).hexdigest()[:12]
    cfgs = [(i, v, _build(arch, seed, merge(point_tree, nest(v, field)), field))
            for i, v in enumerate(sel.variants()) for seed in seeds]
    members = tuple(c.trial_id for _, _, c in cfgs)
    return [(c, Variant(point, v, i, sel.by, sel.goal, members)) for i, v, c in cfgs]


def expand_spec(spec: SweepSpec) -> list[PlannedTrial]:
    planned: dict[str, PlannedTrial] = {}
    for arch in spec.archs:
        arch_tree = merge(spec.base, spec.per_arch.get(arch, {}))
        for part in spec.parts:
            prefix = f"{part.field}." if part.field else ""
            tree = merge(arch_tree, part.base)
            base = _build(arch, spec.seeds[0], tree, f"{prefix}base" if part.field else "base")
            if part.select is not None:
                _check_select(arch, part.select, tree, spec.seeds[0])
            points = itertools.chain(
                _axis_points(arch, part, base, prefix),
                _grid_points(part, prefix),
                _zip_points(part, prefix),
                _compute_points(arch, part, tree, base, prefix) if part.compute else (),
                _reference_point(part),
            )
            for membership, overrides, field in points:
                point_tree = merge(tree, nest(overrides, field))
                for cfg, variant in _variants(arch, part.select, point_tree, overrides, spec.seeds, field):
                    prev = planned.get(cfg.trial_id)
                    if prev is not None and prev.selection != variant:
                        where = part.select.field if part.select else field
                        raise SpecError(where, f"trial {cfg.trial_id} ({field}) is also planned by another part "
                                        "with a different select (or none); parts that share points need the same select")
                    planned[cfg.trial_id] = PlannedTrial(cfg, {**(prev.axes if prev else {}), **membership}, variant)
    return list(planned.values())
