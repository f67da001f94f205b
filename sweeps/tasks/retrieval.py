"""Next-item retrieval on the synthetic sequential world (HSTU, SASRec).

A trial's ``data.examples`` is the number of users (sequences); the final metrics are the
test metrics of the epoch chosen on validation, the best metrics those validation ones.
"""

from __future__ import annotations

from pathlib import Path

from sweeps import recipes, train_seq
from sweeps.config import TrialConfig
from sweeps.data.seq_world import SeqConfig, leave_one_out, seq_world
from sweeps.tasks import Outcome

HEADLINE = "ndcg@10"
METRIC_NOTE = (
    "final: test HR@K, NDCG@K, MRR (full ranking, history removed) and nll at the epoch chosen on "
    "validation; best: the validation metrics of that epoch"
)


def _seq_config(cfg: TrialConfig) -> SeqConfig:
    return SeqConfig(seed=cfg.data.world_seed, max_len=cfg.data.seq_len, min_len=cfg.data.min_len)


def model_config(cfg: TrialConfig):
    n_items = seq_world(_seq_config(cfg)).users(1).n_items
    return recipes.get(cfg.arch).build(cfg.model, n_items)


def run(cfg: TrialConfig, model_cfg, checkpoint_path: Path | None) -> Outcome:
    split = leave_one_out(seq_world(_seq_config(cfg)).users(cfg.data.examples))
    t = cfg.train
    seq_cfg = train_seq.SeqTrainConfig(
        arch=cfg.arch, seed=cfg.seed, epochs=t.epochs, batch_size=t.batch_size, n_negatives=t.n_negatives,
        temperature=t.temperature, optim=cfg.optim, chunk_steps=t.chunk_steps,
        eval_users=t.eval_users or None, select=t.select,
    )
    res = train_seq.train(seq_cfg, model_cfg, split)
    curve = tuple({**row, "examples": row["step"] * t.batch_size} for row in res.curve)
    return Outcome(
        res.status, res.sequences_seen, curve, res.test, res.valid, res.train_seconds, res.compile_seconds,
        message=res.message,
    )
