"""Next-item retrieval (HSTU, SASRec) on the synthetic sequential world or a prepared real
data set with user histories (``data.name``: MovieLens, Books).

A trial's ``data.examples`` is the number of users (sequences), each visited once per
epoch; the final metrics are the test metrics of the epoch chosen on validation, the
selected metrics those validation ones.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import models
from sweeps import tasks
from sweeps.config import TrialConfig, checked
from sweeps.data import sources
from sweeps.data.seq_world import SeqConfig, leave_one_out, seq_world
from sweeps.eval import ranking
from sweeps.train import optim, seq as trainer
from sweeps.train.core import TrainResult, training_flops
from sweeps.train.optim import OptimConfig

HEADLINE = "ndcg@10"
METRIC_NOTE = (
    "final: test HR@K, NDCG@K, MRR (full ranking, history removed) and nll at the epoch chosen on "
    "validation; best: the validation metrics of that epoch"
)
SYNTHETIC = "seq_world"
PACKABLE = False


def _known_dataset(name: str) -> str | None:
    return None if name == SYNTHETIC else sources.name_problem(name, "seq")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """``name``: ``seq_world`` or a prepared real data set with user histories
    (``recscale data list``). On real data ``examples`` is the first N users (by their
    first rating) with at least ``min_len`` ratings, each keeping their latest ``seq_len``."""

    name: str = checked(SYNTHETIC, _known_dataset)
    world_seed: int = 0  # the synthetic world's; unused by real data sets
    examples: int = checked(1024)  # users (sequences); budgets are nested prefixes
    seq_len: int = checked(50)  # longest generated sequence (real data: latest ratings kept)
    min_len: int = checked(10)

    def __post_init__(self):
        if self.name != SYNTHETIC:
            problem = sources.budget_problem(self.name, "seq", self.examples, self.min_len)
            if problem:
                raise ValueError(problem)


@dataclasses.dataclass(frozen=True)
class AdamWConfig(OptimConfig):
    """The reference's AdamW: lr 1e-3, betas (0.9, 0.98), constant."""

    name: str = checked("adamw", optim.check_name)
    lr: float = checked(1e-3)
    schedule: str = checked("constant", optim.check_schedule)
    b2: float = 0.98


SECTIONS = {"data": DataConfig, "train": trainer.TrainConfig, "optim": AdamWConfig}


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What a retrieval recipe's ``build(spec, n_items)`` receives: the item vocabulary."""

    n_items: int  # item ids are 1..n_items-1; 0 pads


def _seq_config(cfg: TrialConfig) -> SeqConfig:
    return SeqConfig(seed=cfg.data.world_seed, max_len=cfg.data.seq_len, min_len=cfg.data.min_len)


def _is_synthetic(cfg: TrialConfig) -> bool:
    return cfg.data.name == SYNTHETIC


def inputs(cfg: TrialConfig) -> Inputs:
    if _is_synthetic(cfg):
        return Inputs(seq_world(_seq_config(cfg)).users(1).n_items)
    return Inputs(sources.seq(cfg.data.name).n_items)


def model_config(cfg: TrialConfig):
    return tasks.build_model(cfg, inputs(cfg))


def examples_consumed(cfg: TrialConfig, examples: int | None = None) -> int:
    """Sequences a trial trains on (with ``data.examples`` = ``examples`` users if given):
    every user once per epoch."""
    return cfg.train.epochs * (cfg.data.examples if examples is None else examples)


def batch_rows(cfg: TrialConfig, examples: int) -> int:
    """Users times epochs: the rule's minimum steps count over every epoch."""
    return examples * cfg.train.epochs


def total_steps(cfg: TrialConfig) -> int:
    """Every epoch visits each user once in whole (the last one partial) batches; the
    schedule spans all epochs (``sweeps.train.seq``)."""
    return cfg.train.epochs * trainer.steps_per_epoch(cfg.data.examples, cfg.train.batch_size)


# The planner's time model (``sweeps.plan``): a new model shape's compile, measured here
# at 7-11 s for the quick HSTU/SASRec shapes, and ``work_flops`` at its FLOP rate.
COMPILE_SECONDS = 8.0


def work_flops(cfg: TrialConfig, model_cfg) -> float:
    """Every FLOP a trial runs, for the planner's time estimate: its training FLOPs, the
    sampled-softmax logits of every training position (forward and backward: 3 x
    2·L·(negatives + 1)·d per sequence), and the full-ranking evaluations (validation after
    every epoch, test once: encoder forward plus 2·d·n_items per user). Measured on the quick
    HSTU and SASRec shapes, the logits add about 60% to the training FLOPs and the evaluations
    another 40%."""
    d, L = model_cfg.d_model, model_cfg.max_len
    consumed = examples_consumed(cfg)
    logits = training_flops(2 * L * (cfg.train.n_negatives + 1) * d) * consumed
    users = cfg.data.examples if not cfg.train.eval_users else min(cfg.train.eval_users, cfg.data.examples)
    forward = models.get(cfg.arch).forward_flops(model_cfg)
    evals = (cfg.train.epochs + 1) * users * (forward + 2 * d * model_cfg.n_items)
    return training_flops(forward) * consumed + logits + evals


def examples_for(cfg: TrialConfig, consumed: float) -> int:
    """The ``data.examples`` (users, in whole batches) that make a trial like ``cfg`` train
    on about ``consumed`` sequences over its epochs."""
    bs = tasks.batch_size(cfg, max(1, round(consumed / cfg.train.epochs)))
    return max(1, round(consumed / (bs * cfg.train.epochs))) * bs


def _split(cfg: TrialConfig):
    d = cfg.data
    if _is_synthetic(cfg):
        return leave_one_out(seq_world(_seq_config(cfg)).users(d.examples)), ""
    data = sources.seq(d.name)
    return data.split(d.examples, d.seq_len, d.min_len), data.describe()


def run(cfg: TrialConfig, model_cfg, checkpoint_path: Path | None, on_progress=None) -> TrainResult:
    split, note = _split(cfg)
    res = trainer.train(cfg.arch, cfg.seed, cfg.train, cfg.optim, model_cfg, split, on_progress=on_progress)
    curve = tuple({**row, "examples": row["step"] * cfg.train.batch_size} for row in res.curve)
    return dataclasses.replace(
        res, curve=curve, message="; ".join(m for m in (res.message, note) if m),
        forward_flops=_expected_forward_flops(cfg, model_cfg, split),
        oracle=ranking.oracle_metrics(split.test) if _is_synthetic(cfg) else None,
    )


def _expected_forward_flops(cfg: TrialConfig, model_cfg, split) -> float | None:
    """With Stochastic Length, the forward FLOPs per example if every history ran at its
    (subsampled) length: the attention terms that grow as n^2 follow E[n_out^2]."""
    if not cfg.train.sl_alpha:
        return None
    module = models.get(cfg.arch)
    lengths = (trainer.training_arrays(split, model_cfg.max_len)[2] != 0).sum(1)
    full = module.attention_flops(model_cfg, model_cfg.max_len)
    return module.forward_flops(model_cfg) - full + module.expected_attention_flops(model_cfg, lengths, cfg.train.sl_alpha)
