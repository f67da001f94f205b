"""Next-item retrieval (HSTU, SASRec) on the synthetic sequential world or a prepared real
data set with user histories (``data.name``: MovieLens, Books).

A trial's ``data.examples`` is the number of users (sequences); the final metrics are the
test metrics of the epoch chosen on validation, the best metrics those validation ones.
"""

from __future__ import annotations

from pathlib import Path

import models
from sweeps import recipes, train_seq
from sweeps.config import TrialConfig
from sweeps.data import sources
from sweeps.data.seq_world import SeqConfig, leave_one_out, seq_world
from sweeps.tasks import Outcome

HEADLINE = "ndcg@10"
METRIC_NOTE = (
    "final: test HR@K, NDCG@K, MRR (full ranking, history removed) and nll at the epoch chosen on "
    "validation; best: the validation metrics of that epoch"
)


def _seq_config(cfg: TrialConfig) -> SeqConfig:
    return SeqConfig(seed=cfg.data.world_seed, max_len=cfg.data.seq_len, min_len=cfg.data.min_len)


def _is_synthetic(cfg: TrialConfig) -> bool:
    return cfg.data.name == "seq_world"


def model_config(cfg: TrialConfig):
    if _is_synthetic(cfg):
        n_items = seq_world(_seq_config(cfg)).users(1).n_items
    else:
        n_items = sources.seq(cfg.data.name).n_items
    return recipes.get(cfg.arch).build(cfg.model, n_items)


def _split(cfg: TrialConfig):
    d = cfg.data
    if _is_synthetic(cfg):
        return leave_one_out(seq_world(_seq_config(cfg)).users(d.examples)), ""
    data = sources.seq(d.name)
    return data.split(d.examples, d.seq_len, d.min_len), data.describe()


def run(cfg: TrialConfig, model_cfg, checkpoint_path: Path | None) -> Outcome:
    split, note = _split(cfg)
    t = cfg.train
    seq_cfg = train_seq.SeqTrainConfig(
        arch=cfg.arch, seed=cfg.seed, epochs=t.epochs, batch_size=t.batch_size, n_negatives=t.n_negatives,
        temperature=t.temperature, optim=cfg.optim, chunk_steps=t.chunk_steps,
        eval_users=t.eval_users or None, select=t.select, sl_alpha=t.sl_alpha or None,
    )
    res = train_seq.train(seq_cfg, model_cfg, split)
    curve = tuple({**row, "examples": row["step"] * t.batch_size} for row in res.curve)
    return Outcome(
        res.status, res.sequences_seen, curve, res.test, res.valid, res.train_seconds, res.compile_seconds,
        message="; ".join(m for m in (res.message, note) if m), forward_flops=_expected_forward_flops(cfg, model_cfg, split),
        oracle=split.oracle("test") if _is_synthetic(cfg) else None,
    )


def _expected_forward_flops(cfg: TrialConfig, model_cfg, split) -> float | None:
    """With Stochastic Length, the forward FLOPs per example if every history ran at its
    (subsampled) length: the attention terms that grow as n^2 follow E[n_out^2]."""
    if not cfg.train.sl_alpha:
        return None
    module = models.get(cfg.arch)
    lengths = (train_seq.training_arrays(split, model_cfg.max_len)[2] != 0).sum(1)
    full = module.attention_flops(model_cfg, model_cfg.max_len)
    return module.forward_flops(model_cfg) - full + module.expected_attention_flops(model_cfg, lengths, cfg.train.sl_alpha)
