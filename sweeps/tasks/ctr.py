"""Click-through-rate prediction (DLRM, Wide & Deep, HSTU ranking) on the synthetic CTR
world or a prepared real data set (``data.name``: Criteo, or the CTR view of MovieLens /
Books). A trial makes one pass over its first ``data.examples`` training examples."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np

from sweeps import tasks
from sweeps.config import TrialConfig, checked
from sweeps.data import sources
from sweeps.data.ctr_world import Field, WorldConfig, world
from sweeps.data.impression_world import ImpressionConfig, impression_world
from sweeps.eval import ctr_metrics
from sweeps.train import ctr as trainer
from sweeps.train.core import TrainResult
from sweeps.train.optim import OptimConfig

HEADLINE = "ne"
METRIC_NOTE = (
    "ne: on the synthetic world, expected log loss under the teacher's click probabilities over the entropy "
    "of their mean (label-noise free); on a real data set (no teacher) ne equals ne_labels; "
    "ne_labels, logloss, auc, calibration: against the labels"
)
SYNTHETIC = "ctr_world"
IMPRESSIONS = "impression_world"  # the CTR view of the impression world (sweeps/data/impression_world.py)
PACKABLE = True  # trials of one shape can train together (``run_packed``)


def _known_dataset(name: str) -> str | None:
    return None if name in (SYNTHETIC, IMPRESSIONS) else sources.name_problem(name, "ctr")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """``name``: ``ctr_world``, ``impression_world`` or a prepared real data set (``recscale data list``);
    ``examples``: the first N training examples (time order on real data)."""

    name: str = checked(SYNTHETIC, _known_dataset)
    world_seed: int = 0  # the synthetic world's; unused by real data sets
    examples: int = checked(262_144)

    def __post_init__(self):
        if self.name not in (SYNTHETIC, IMPRESSIONS):
            problem = sources.budget_problem(self.name, "ctr", self.examples)
            if problem:
                raise ValueError(problem)


SECTIONS = {"data": DataConfig, "train": trainer.TrainConfig, "optim": OptimConfig}


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What a CTR recipe's ``build(spec, n_dense, fields)`` receives: the data's dense
    features and sparse fields."""

    n_dense: int
    fields: tuple[Field, ...]


def _is_synthetic(cfg: TrialConfig) -> bool:
    return cfg.data.name in (SYNTHETIC, IMPRESSIONS)


def _data(cfg: TrialConfig):
    if cfg.data.name == IMPRESSIONS:
        return impression_world(ImpressionConfig(seed=cfg.data.world_seed))
    return world(WorldConfig(seed=cfg.data.world_seed)) if _is_synthetic(cfg) else sources.ctr(cfg.data.name)


def inputs(cfg: TrialConfig) -> Inputs:
    if cfg.data.name == IMPRESSIONS:
        w = impression_world(ImpressionConfig(seed=cfg.data.world_seed))
        return Inputs(w.n_dense, w.fields)
    if _is_synthetic(cfg):
        w = WorldConfig(seed=cfg.data.world_seed)
        return Inputs(w.n_dense, w.fields)
    data = sources.ctr(cfg.data.name)
    return Inputs(data.n_dense, data.fields)


def model_config(cfg: TrialConfig):
    return tasks.build_model(cfg, inputs(cfg))


def batch_rows(cfg: TrialConfig, examples: int) -> int:
    return examples


def total_steps(cfg: TrialConfig) -> int:
    return trainer.total_steps(cfg.data.examples, cfg.train.batch_size)


def examples_consumed(cfg: TrialConfig, examples: int | None = None) -> int:
    """Training examples a trial reads (with ``data.examples`` = ``examples`` if given): one
    pass, in whole batches of the batch size for that budget (``tasks.batch_size``)."""
    n = cfg.data.examples if examples is None else examples
    bs = tasks.batch_size(cfg, n)
    return trainer.total_steps(n, bs) * bs


def examples_for(cfg: TrialConfig, consumed: float) -> int:
    """The ``data.examples`` that make a trial like ``cfg`` read about ``consumed`` examples."""
    bs = tasks.batch_size(cfg, max(1, round(consumed)))
    return max(1, round(consumed / bs)) * bs


def floor(cfg: TrialConfig, data) -> float | None:
    """On the synthetic world, the NE of its teacher's own click probabilities on the eval
    set (the Bayes NE: no model does better in expectation); no floor on real data."""
    return floor_of(data.eval_set) if _is_synthetic(cfg) else None


def floor_of(eval_set) -> float:
    """The NE of the teacher's own probabilities on an eval set."""
    p = eval_set.prob.astype(np.float64)
    return ctr_metrics.expected_ne(p, p)


def _finish(res: TrainResult, cfg: TrialConfig, data) -> TrainResult:
    note = "" if _is_synthetic(cfg) else data.describe()
    return dataclasses.replace(res, floor=floor(cfg, data), message="; ".join(m for m in (res.message, note) if m))


def run(cfg: TrialConfig, model_cfg, checkpoint_path: Path | None, on_progress=None) -> TrainResult:
    data = _data(cfg)
    (res,) = trainer.train([cfg], model_cfg, data, checkpoint_path=checkpoint_path, on_progress=on_progress)
    return _finish(res, cfg, data)


def run_packed(cfgs: Sequence[TrialConfig], model_cfg, on_progress=None) -> list[TrainResult]:
    """Trials that share ``sweeps.packed.pack_key`` trained together in one program
    (``on_progress``: None, or one callback per trial)."""
    data = _data(cfgs[0])
    return [_finish(r, cfgs[0], data) for r in trainer.train(cfgs, model_cfg, data, on_progress=on_progress)]
