"""The SASRec recipe: the HSTU recipe's knobs and axes on the SASRec baseline."""

from models import sasrec
from sweeps.recipes.sequential import AXES, TASK, ModelSpec, common_config

__all__ = ["AXES", "TASK", "ModelSpec", "build"]


def build(spec: ModelSpec, n_items: int) -> sasrec.Config:
    return sasrec.Config(**common_config(spec, n_items))
