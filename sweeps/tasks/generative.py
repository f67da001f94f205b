"""Generative ranking (HSTU trained on whole impression sequences) on the impression world.

A trial reads the first ``data.examples`` training impressions of the world
(``sweeps.data.impression_world``) as whole user sequences, one pass, and is scored on
the same held-out impressions, with the same metrics, as a CTR trial on
``data.name: impression_world``: ``examples`` and FLOPs count labels (impressions), so
budgets compare with DLRM's per impression.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sweeps import tasks
from sweeps.config import TrialConfig, checked
from sweeps.data.impression_world import ImpressionConfig, impression_world
from sweeps.tasks import ctr
from sweeps.train import generative as trainer
from sweeps.train.core import TrainResult
from sweeps.train.optim import OptimConfig

HEADLINE = "ne"
METRIC_NOTE = ctr.METRIC_NOTE
SYNTHETIC = "impression_world"
PACKABLE = False


def _known(name: str) -> str | None:
    return None if name == SYNTHETIC else f"the generative task reads only {SYNTHETIC!r}, got {name!r}"


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """``examples``: the first N training impressions, as whole user sequences."""

    name: str = checked(SYNTHETIC, _known)
    world_seed: int = 0
    examples: int = checked(262_144)


SECTIONS = {"data": DataConfig, "train": trainer.TrainConfig, "optim": OptimConfig}


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What a generative recipe's ``build`` receives: table sizes and the sequence length."""

    item_rows: int
    category_rows: int
    context_rows: int
    segment_rows: int
    max_events: int


def _world(cfg: TrialConfig):
    return impression_world(ImpressionConfig(seed=cfg.data.world_seed))


def inputs(cfg: TrialConfig) -> Inputs:
    w = ImpressionConfig(seed=cfg.data.world_seed)
    world_cfg = w.seq.world
    return Inputs(world_cfg.n_items + 1, world_cfg.n_categories, world_cfg.n_contexts, w.n_segments, w.length)


def model_config(cfg: TrialConfig):
    return tasks.build_model(cfg, inputs(cfg))


def _length(cfg: TrialConfig) -> int:
    return ImpressionConfig(seed=cfg.data.world_seed).length


def batch_rows(cfg: TrialConfig, examples: int) -> int:
    """Whole sequences: a batch is made of users."""
    return examples // _length(cfg)


def total_steps(cfg: TrialConfig) -> int:
    return trainer.total_steps(cfg.data.examples, cfg.train.batch_size, _length(cfg))


def examples_consumed(cfg: TrialConfig, examples: int | None = None) -> int:
    """Labels a trial trains on: whole batches of whole sequences, at least one batch."""
    n = cfg.data.examples if examples is None else examples
    bs = tasks.batch_size(cfg, n)
    return trainer.total_steps(n, bs, _length(cfg)) * bs * _length(cfg)


def examples_for(cfg: TrialConfig, consumed: float) -> int:
    per_step = tasks.batch_size(cfg, max(1, round(consumed))) * _length(cfg)
    return max(1, round(consumed / per_step)) * per_step


def run(cfg: TrialConfig, model_cfg, checkpoint_path: Path | None, on_progress=None) -> TrainResult:
    world = _world(cfg)
    res = trainer.train(cfg, model_cfg, world, on_progress=on_progress, checkpoint_path=checkpoint_path)
    return dataclasses.replace(res, floor=ctr.floor_of(world.eval_set))
