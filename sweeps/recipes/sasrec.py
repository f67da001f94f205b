"""The SASRec recipe: the HSTU recipe's knobs and axes on the SASRec baseline."""

from models import sasrec
from sweeps.recipes.sequential import AXES, BATCH_RULE, TASK, ModelKnobs, common_config

__all__ = ["AXES", "BATCH_RULE", "TASK", "ModelKnobs", "build"]


def build(spec: ModelKnobs, n_items: int) -> sasrec.Config:
    return sasrec.Config(**common_config(spec, n_items))
