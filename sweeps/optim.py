"""Optax optimisers by name, from an ``OptimConfig``."""

from __future__ import annotations

import optax

from sweeps.config import OptimConfig

OPTIMIZERS = {
    "adam": lambda c, lr: optax.adam(lr, b1=c.b1, b2=c.b2, eps=c.eps),
    "adamw": lambda c, lr: optax.adamw(lr, b1=c.b1, b2=c.b2, eps=c.eps, weight_decay=c.weight_decay),
    "sgd": lambda c, lr: optax.sgd(lr),
    "adagrad": lambda c, lr: optax.adagrad(lr, eps=c.eps),
}


def make(cfg: OptimConfig) -> optax.GradientTransformation:
    lr = cfg.lr if cfg.warmup_steps == 0 else optax.linear_schedule(0.0, cfg.lr, cfg.warmup_steps)
    return OPTIMIZERS[cfg.name](cfg, lr)
