"""Typed, frozen trial configuration, built from plain dicts at one boundary.

The sections themselves are declared where they are used: the model's by each recipe
(``sweeps.recipes``), data/train/optim by each task (``sweeps.tasks``) from the
trainers' own (``sweeps.train``); this module has the checks and the trial's identity.

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

from sweeps.data import prepared
from sweeps.errors import SpecError


def positive(v) -> str | None:
    vals = v if isinstance(v, tuple) else (v,)
    return None if all(x > 0 for x in vals) else f"must be positive, got {v!r}"


def non_negative(v) -> str | None:
    return None if v >= 0 else f"must be >= 0, got {v!r}"


def checked(default, check=positive):
    """A dataclass field whose value ``from_dict`` validates with ``check``."""
    return dataclasses.field(default=default, metadata={"check": check})


# The synthetic data sets, generated from their config; any other name is a prepared
# real data set (``sweeps.data.sources``), identified by what was prepared.
SYNTHETIC = ("ctr_world", "seq_world", "impression_world")


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
    """One trial, fully resolved. ``model`` is the architecture's recipe dataclass (its
    ``ModelKnobs``), ``data``, ``optim`` and ``train`` the sections its task declares
    (``sweeps.tasks``)."""

    arch: str
    seed: int
    model: Any
    data: Any
    optim: Any
    train: Any

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
            ident["data_fingerprint"] = prepared.open_prepared(self.data.name).fingerprint()
        canon = json.dumps(ident, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()[:12]
