"""Click-through-rate prediction on the synthetic CTR world (DLRM, Wide & Deep)."""

from __future__ import annotations

from pathlib import Path

from sweeps import recipes, train
from sweeps.config import TrialConfig
from sweeps.data.ctr_world import WorldConfig, world
from sweeps.tasks import Outcome

HEADLINE = "ne"
METRIC_NOTE = (
    "ne: expected log loss under the teacher's click probabilities over the entropy of their mean "
    "(label-noise free); ne_labels, logloss, auc, calibration: against the sampled labels"
)


def model_config(cfg: TrialConfig):
    w = WorldConfig(seed=cfg.data.world_seed)
    return recipes.get(cfg.arch).build(cfg.model, w.n_dense, w.fields)


def run(cfg: TrialConfig, model_cfg, checkpoint_path: Path | None) -> Outcome:
    w = world(WorldConfig(seed=cfg.data.world_seed))
    res = train.train(cfg, model_cfg, w, checkpoint_path=checkpoint_path)
    return Outcome(
        res.status, res.examples_seen, res.curve, res.final, res.best, res.train_seconds, res.compile_seconds,
        floor=w.bayes_ne, message=res.message,
    )
