"""Click-through-rate prediction (DLRM, Wide & Deep) on the synthetic CTR world or a
prepared real data set (``data.name``: Criteo, or the CTR view of MovieLens / Books)."""

from __future__ import annotations

from pathlib import Path

from sweeps import recipes, train
from sweeps.config import DATASETS, TrialConfig
from sweeps.data import sources
from sweeps.data.ctr_world import WorldConfig, world
from sweeps.tasks import Outcome

HEADLINE = "ne"
METRIC_NOTE = (
    "ne: on the synthetic world, expected log loss under the teacher's click probabilities over the entropy "
    "of their mean (label-noise free); on a real data set (no teacher) ne equals ne_labels; "
    "ne_labels, logloss, auc, calibration: against the labels"
)


def _is_synthetic(cfg: TrialConfig) -> bool:
    return cfg.data.name in DATASETS


def model_config(cfg: TrialConfig):
    if _is_synthetic(cfg):
        w = WorldConfig(seed=cfg.data.world_seed)
        return recipes.get(cfg.arch).build(cfg.model, w.n_dense, w.fields)
    data = sources.ctr(cfg.data.name)
    return recipes.get(cfg.arch).build(cfg.model, data.n_dense, data.fields)


def run(cfg: TrialConfig, model_cfg, checkpoint_path: Path | None) -> Outcome:
    if _is_synthetic(cfg):
        data, note = world(WorldConfig(seed=cfg.data.world_seed)), ""
    else:
        data = sources.ctr(cfg.data.name)
        note = data.describe()
    res = train.train(cfg, model_cfg, data, checkpoint_path=checkpoint_path)
    message = "; ".join(m for m in (res.message, note) if m)
    return Outcome(
        res.status, res.examples_seen, res.curve, res.final, res.best, res.train_seconds, res.compile_seconds,
        floor=data.bayes_ne, message=message,
    )
