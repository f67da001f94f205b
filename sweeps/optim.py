"""Optax optimisers by name, and learning-rate schedules over a trial's length.

The optimiser is built with a unit learning rate and the trainer scales its updates by
the scheduled rate of each step, fed in as data: trials that differ only in learning
rate, schedule or data budget share one compiled program.
"""

from __future__ import annotations

import math

import numpy as np
import optax

from sweeps.config import OptimConfig

OPTIMIZERS = {
    "adam": lambda c: optax.adam(1.0, b1=c.b1, b2=c.b2, eps=c.eps),
    "adamw": lambda c: optax.adamw(1.0, b1=c.b1, b2=c.b2, eps=c.eps, weight_decay=c.weight_decay),
    "sgd": lambda c: optax.sgd(1.0),
    "adagrad": lambda c: optax.adagrad(1.0, eps=c.eps),
}

# How embedding tables are updated (sweeps/sparse_optim.py): "dense" leaves them to the
# optimiser above; the others update only the rows a batch reads.
EMBEDDING_UPDATES = ("dense", "sgd", "rowwise_adagrad", "lazy_adam")


def _constant(t: np.ndarray, total: int) -> np.ndarray:
    return np.ones_like(t, dtype=np.float64)


def _cosine(t: np.ndarray, total: int) -> np.ndarray:
    return 0.5 * (1 + np.cos(np.pi * np.clip(t / max(total, 1), 0, 1)))


def _linear(t: np.ndarray, total: int) -> np.ndarray:
    return 1 - np.clip(t / max(total, 1), 0, 1)


SCHEDULES = {"constant": _constant, "cosine": _cosine, "linear": _linear}


def make(cfg: OptimConfig) -> optax.GradientTransformation:
    """The optimiser with unit learning rate (see ``learning_rates``)."""
    return OPTIMIZERS[cfg.name](cfg)


def learning_rates(cfg: OptimConfig, steps: np.ndarray, total_steps: int) -> np.ndarray:
    """The learning rate at each step: linear warm-up, then the schedule down to ``final_lr_frac``."""
    steps = np.asarray(steps, dtype=np.float64)
    warm = cfg.warmup_steps
    decay = SCHEDULES[cfg.schedule](steps - warm, total_steps - warm)
    lr = cfg.lr * (cfg.final_lr_frac + (1 - cfg.final_lr_frac) * decay)
    if warm:
        lr = np.where(steps < warm, cfg.lr * (steps + 1) / warm, lr)
    return lr.astype(np.float32)


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
