"""Optax optimisers by name, and learning-rate schedules over a trial's length.

The optimiser is built with a unit learning rate and the trainer scales its updates by
the scheduled rate of each step, fed in as data: trials that differ only in learning
rate, schedule or data budget share one compiled program.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import optax

from sweeps.config import checked, non_negative

OPTIMIZERS = {
    "adam": lambda c: optax.adam(1.0, b1=c.b1, b2=c.b2, eps=c.eps),
    "adamw": lambda c: optax.adamw(1.0, b1=c.b1, b2=c.b2, eps=c.eps, weight_decay=c.weight_decay),
    "sgd": lambda c: optax.sgd(1.0),
    "adagrad": lambda c: optax.adagrad(1.0, eps=c.eps),
}

# How embedding tables are updated (sweeps/train/sparse.py): "dense" leaves them to the
# optimiser above; the others update only the rows a batch reads.
EMBEDDING_UPDATES = ("dense", "sgd", "rowwise_adagrad", "lazy_adam")


def _constant(t: np.ndarray, total: int) -> np.ndarray:
    return np.ones_like(t, dtype=np.float64)


def _cosine(t: np.ndarray, total: int) -> np.ndarray:
    return 0.5 * (1 + np.cos(np.pi * np.clip(t / max(total, 1), 0, 1)))


def _linear(t: np.ndarray, total: int) -> np.ndarray:
    return 1 - np.clip(t / max(total, 1), 0, 1)


SCHEDULES = {"constant": _constant, "cosine": _cosine, "linear": _linear}


def check_name(name: str) -> str | None:
    return None if name in OPTIMIZERS else f"unknown optimiser {name!r}; expected one of {', '.join(OPTIMIZERS)}"


def check_embeddings(name: str) -> str | None:
    if name in EMBEDDING_UPDATES:
        return None
    return f"unknown embedding update {name!r}; expected one of {', '.join(EMBEDDING_UPDATES)}"


def check_schedule(name: str) -> str | None:
    return None if name in SCHEDULES else f"unknown schedule {name!r}; expected one of {', '.join(SCHEDULES)}"


def fraction(v: float) -> str | None:
    return None if 0 <= v <= 1 and math.isfinite(v) else f"must be within [0, 1], got {v!r}"


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    """A trial's ``optim:`` section. A task may subclass it to change the defaults
    (``sweeps.tasks.retrieval``: the reference's AdamW)."""

    name: str = checked("adam", check_name)
    lr: float = checked(1e-2)
    schedule: str = checked("cosine", check_schedule)
    final_lr_frac: float = checked(0.1, fraction)
    b1: float = 0.9
    b2: float = 0.999
    eps: float = checked(1e-8)
    weight_decay: float = checked(0.0, non_negative)
    warmup_steps: int = checked(0, non_negative)
    # Warm-up as a fraction of the trial's steps: > 0 sets warmup_steps to round(frac *
    # steps) when the trial is resolved (``sweeps.train.budget``; the two must agree).
    warmup_frac: float = dataclasses.field(default=0.0, metadata={"check": fraction, "identity": "when_set"})
    # How the embedding tables are updated: "dense" (by the optimiser above) or a sparse,
    # row-wise rule (sweeps/train/sparse.py). Part of a trial's identity only when set, so
    # trials recorded before the field existed keep their ids.
    embeddings: str = dataclasses.field(default="dense", metadata={"check": check_embeddings, "identity": "when_set"})


def make(cfg: OptimConfig) -> optax.GradientTransformation:
    """The optimiser with unit learning rate (see ``learning_rates``)."""
    return OPTIMIZERS[cfg.name](cfg)


def learning_rates(cfg: OptimConfig, steps: np.ndarray, total_steps: int) -> np.ndarray:
    """The learning rate at each step: linear warm-up over ``warmup_steps`` (a resolved
    trial's, ``warmup_frac`` included), then the schedule down to ``final_lr_frac`` over the
    rest of ``total_steps``, the trial's own length."""
    steps = np.asarray(steps, dtype=np.float64)
    warm = cfg.warmup_steps
    decay = SCHEDULES[cfg.schedule](steps - warm, total_steps - warm)
    lr = cfg.lr * (cfg.final_lr_frac + (1 - cfg.final_lr_frac) * decay)
    if warm:
        lr = np.where(steps < warm, cfg.lr * (steps + 1) / warm, lr)
    return lr.astype(np.float32)

