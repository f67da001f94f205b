"""Typed, frozen trial configuration, built from plain dicts at one boundary.

A trial's *resolved config* is the nested dict ``{"arch", "seed", "model", "data",
"optim", "train"}`` with every default filled in; its canonical JSON hashes to the
trial id.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import types
import typing
from typing import Any

from sweeps.errors import SpecError


def positive(v) -> str | None:
    vals = v if isinstance(v, tuple) else (v,)
    return None if all(x > 0 for x in vals) else f"must be positive, got {v!r}"


def non_negative(v) -> str | None:
    return None if v >= 0 else f"must be >= 0, got {v!r}"


def checked(default, check=positive):
    """A dataclass field whose value ``from_dict`` validates with ``check``."""
    return dataclasses.field(default=default, metadata={"check": check})


DATASETS = ("ctr_world",)  # the synthetic ones; real data sets: sweeps.data.sources
SYNTHETIC = ("ctr_world", "seq_world")


def _known_dataset(name: str) -> str | None:
    if name in DATASETS:
        return None
    from sweeps.data import sources

    return sources.name_problem(name, "ctr")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """``name``: ``ctr_world`` or a prepared real data set (``recscale data list``);
    ``examples``: the first N training examples (time order on real data)."""

    name: str = checked("ctr_world", _known_dataset)
    world_seed: int = 0  # the synthetic world's; unused by real data sets
    examples: int = checked(262_144)

    def __post_init__(self):
        if self.name not in DATASETS:
            from sweeps.data import sources

            problem = sources.budget_problem(self.name, "ctr", self.examples)
            if problem:
                raise ValueError(problem)


def optim_check(attr: str):
    def check(v):
        from sweeps import optim

        return getattr(optim, attr)(v)

    return check


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    name: str = checked("adam", optim_check("check_name"))
    lr: float = checked(1e-2)
    schedule: str = checked("cosine", optim_check("check_schedule"))
    final_lr_frac: float = checked(0.1, optim_check("fraction"))
    b1: float = 0.9
    b2: float = 0.999
    eps: float = checked(1e-8)
    weight_decay: float = checked(0.0, non_negative)
    warmup_steps: int = checked(0, non_negative)
    # How the embedding tables are updated: "dense" (by the optimiser above) or a sparse,
    # row-wise rule (sweeps/sparse_optim.py). Part of a trial's identity only when set, so
    # trials recorded before the field existed keep their ids.
    embeddings: str = dataclasses.field(
        default="dense", metadata={"check": optim_check("check_embeddings"), "identity": "when_set"}
    )


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    batch_size: int = checked(1024)
    eval_points: int = checked(8)
    chunk_steps: int = checked(32)
    # How often a trial in progress is checkpointed (0: never); not part of the trial's identity.
    checkpoint_every_steps: int = dataclasses.field(default=2048, metadata={"check": non_negative, "identity": False})
    # How tables and batches are laid out over the devices (sweeps/sharding.py): none, row
    # or table. A placement, not a different trial: numbers agree to float rounding.
    sharding: str = dataclasses.field(default="none", metadata={"check": lambda v: _sharding_check(v), "identity": False})
    # Mixed precision for accelerators: "bfloat16" runs the training forward pass in bf16
    # over float32 master weights (sweeps/train.py compute_cast); slow on a CPU.
    precision: str = dataclasses.field(
        default="float32", metadata={"check": lambda v: _precision_check(v), "identity": "when_set"}
    )


def _precision_check(name: str) -> str | None:
    return None if name in ("float32", "bfloat16") else f"expected float32 or bfloat16, got {name!r}"


def _sharding_check(mode: str) -> str | None:
    from sweeps import sharding

    return sharding.check(mode)


def _check_value(value: Any, tp: Any, field: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is bool:
        if not isinstance(value, bool):
            raise SpecError(field, f"expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            raise SpecError(field, f"expected an integer, got {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError(field, f"expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise SpecError(field, f"expected a string, got {value!r}")
        return value
    if origin is tuple:
        (inner, _ellipsis) = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise SpecError(field, f"expected a list, got {value!r}")
        return tuple(_check_value(v, inner, f"{field}[{i}]") for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if value is None else _check_value(value, args[0], field)
    raise TypeError(f"unsupported config type {tp!r} for {field}")


def from_dict(cls: type, data: Any, field: str) -> Any:
    """Build the frozen dataclass ``cls`` from ``data``, naming ``field`` in any error."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError(field, f"expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise SpecError(f"{field}.{unknown[0]}", f"unknown key; expected one of {', '.join(sorted(names))}")
    kwargs = {k: _check_value(v, hints[k], f"{field}.{k}") for k, v in data.items()}
    try:
        obj = cls(**kwargs)
    except SpecError:
        raise
    except (TypeError, ValueError) as e:
        raise SpecError(field, str(e)) from None
    for f in dataclasses.fields(cls):
        check = f.metadata.get("check")
        if check is not None:
            problem = check(getattr(obj, f.name))
            if problem:
                raise SpecError(f"{field}.{f.name}", problem)
    return obj


def as_dict(obj: Any) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(obj)))


def identity_dict(obj: Any) -> dict:
    """``as_dict`` without the fields that cannot change a trial's results, nor the fields
    added later (``identity: "when_set"``) while they keep their default."""
    d = as_dict(obj)
    for f in dataclasses.fields(obj):
        ident = f.metadata.get("identity")
        if ident is False or (ident == "when_set" and getattr(obj, f.name) == f.default):
            d.pop(f.name)
    return d


@dataclasses.dataclass(frozen=True)
class TrialConfig:
    """One trial, fully resolved. ``model`` is the architecture's recipe dataclass."""

    arch: str
    seed: int
    model: Any
    data: DataConfig
    optim: OptimConfig
    train: TrainConfig

    def to_dict(self) -> dict:
        return {
            "arch": self.arch,
            "seed": self.seed,
            "model": as_dict(self.model),
            "data": as_dict(self.data),
            "optim": as_dict(self.optim),
            "train": as_dict(self.train),
        }

    @functools.cached_property
    def trial_id(self) -> str:
        """A hash of the resolved config (computed once: it may read the prepared data's metadata)."""
        ident = {**self.to_dict(), "optim": identity_dict(self.optim), "train": identity_dict(self.train)}
        if self.data.name not in SYNTHETIC:
            # Re-preparing a data set under the same name with other options is other data.
            from sweeps.data import prepared

            ident["data_fingerprint"] = prepared.open_prepared(self.data.name).fingerprint()
        canon = json.dumps(ident, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()[:12]
