"""Recipes: per architecture, the user-facing model knobs and how each scaling axis moves them.

A recipe module ``sweeps/recipes/<arch>.py`` exposes ``TASK`` (the task it trains on,
``sweeps.tasks``), ``ModelKnobs`` (a frozen dataclass of the knobs a spec may set under
``model:``), ``build(spec, **inputs) -> models.<arch>.Config`` (``inputs``: the fields of
its task's ``Inputs``, e.g. ``n_dense, fields`` for CTR, ``n_items`` for retrieval),
``AXES`` (axis name -> ``Axis``) and ``BATCH_RULE`` (``sweeps.train.budget.BatchRule``:
how its batch size follows the data budget in a trial with ``train.batch_rule: budget``).
The ``data`` axis is shared by every architecture.
Adding an architecture is a model module (``models/``) and a recipe module here.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from types import ModuleType
from typing import Any, Callable

import models
from models.layers import ACTIVATIONS
from sweeps.train.budget import BatchRule

# The CTR recipes' batch rule: batch 1024 (the trainer's default) from 2^21 examples up,
# halved per octave below, so every budget from 2^15 to 2^21 trains the same 2048 steps.
# Measured on the quickstart's DLRM (Adam 0.01, cosine; NE, mean of 2 seeds): at a fixed
# budget NE keeps falling with the steps up to 2048 (2^18 examples: 0.813 at 256 steps,
# 0.786 at 512, 0.749 at 2048), so a data axis whose points train different numbers of
# steps measures the optimiser's step count with the data. Over 2^15-2^21 the power law
# + floor fits the data axis with R^2 0.925 at a fixed batch 1024 (32-2048 steps), 0.886
# with at least 256 steps, 0.913 with at least 512, and 0.981 with 2048 steps everywhere.
CTR_BATCH_RULE = BatchRule(min_steps=2048, min_batch=16, max_batch=1024)


@dataclasses.dataclass(frozen=True)
class Axis:
    """A named rule mapping a scale value (and the base model spec) to dotted overrides."""

    name: str
    doc: str
    overrides: Callable[[Any, Any], dict[str, Any]]
    integer: bool = True


def sparse_tables(rows: int, fields) -> dict[str, tuple]:
    """Field names, rows per table (``rows`` capped at each field's cardinality) and bag lengths."""
    return {
        "fields": tuple(f.name for f in fields),
        "rows": tuple(min(rows, f.cardinality) for f in fields),
        "bags": tuple(f.bag for f in fields),
    }


def scaled(value: float, factor: float) -> int:
    """``value * factor`` rounded, at least 1."""
    return max(1, round(value * factor))


def scaled_all(sizes: tuple[int, ...], factor: float) -> tuple[int, ...]:
    return tuple(scaled(w, factor) for w in sizes)


def widest_at(sizes: tuple[int, ...], width: int, widest: int | None = None) -> tuple[int, ...]:
    """``sizes`` rescaled so that ``widest`` (default: their maximum) becomes ``width``."""
    widest = widest or max(sizes)
    return tuple(max(1, round(width * w / widest)) for w in sizes)


def multiple_of(value: float, k: int) -> int:
    """``value`` rounded to a multiple of ``k``, at least ``k`` (widths split over heads)."""
    return max(k, round(value / k) * k)


def check_activation(name: str) -> str | None:
    return None if name in ACTIVATIONS else f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}"


def overall_axis(overrides: Callable[[float, Any], dict[str, Any]]) -> Axis:
    """Compound scaling: the value multiplies every size knob of the base point together."""
    return Axis("overall", "every size knob times the value (1 = the base point)", overrides, integer=False)


def hstu_axes(rows_doc: str) -> dict[str, Axis]:
    """The axes of a ranking HSTU's recipe (knobs ``d_model``, ``n_heads``, ``n_blocks``,
    ``rows``, ``head_mlp``); ``rows_doc`` says what its embedding rows are."""

    def width(d: float, base) -> dict:
        return {"model.d_model": multiple_of(d, base.n_heads)}

    def overall(s: float, base) -> dict:
        return {
            **width(base.d_model * s, base),
            "model.n_blocks": scaled(base.n_blocks, s),
            "model.rows": scaled(base.rows, s),
            "model.head_mlp": scaled_all(base.head_mlp, s),
        }

    return {
        "horizontal": Axis("horizontal", "model width d (rounded to a multiple of the heads)", width),
        "vertical": Axis("vertical", rows_doc, lambda v, base: {"model.rows": v}),
        "mlp": Axis("mlp", "depth (HSTU blocks)", lambda v, base: {"model.n_blocks": v}),
        "overarch": Axis("overarch", "width of the ranking head's widest layer, proportions kept",
                         lambda v, base: {"model.head_mlp": widest_at(base.head_mlp, v)}),
        "heads": Axis("heads", "attention heads", lambda v, base: {"model.n_heads": v}),
        "overall": overall_axis(overall),
    }


COMMON_AXES = {
    "data": Axis("data", "training examples (a prefix of the training stream)", lambda v, base: {"data.examples": v}),
}


def get(arch: str) -> ModuleType:
    models.get(arch)
    try:
        return importlib.import_module(f"sweeps.recipes.{arch}")
    except ModuleNotFoundError:
        raise KeyError(f"architecture {arch!r} has no sweep recipe yet; recipes exist for: {', '.join(available())}") from None


def available() -> list[str]:
    return [a for a in models.ARCHITECTURES if importlib.util.find_spec(f"sweeps.recipes.{a}") is not None]


def axes(arch: str) -> dict[str, Axis]:
    return {**COMMON_AXES, **get(arch).AXES}
