"""The HSTU recipe: next-item retrieval on the sequential world (see ``sequential``)."""

from models import hstu
from sweeps.recipes.sequential import AXES, BATCH_RULE, TASK, ModelKnobs, common_config

__all__ = ["AXES", "BATCH_RULE", "TASK", "ModelKnobs", "build"]


def build(spec: ModelKnobs, n_items: int) -> hstu.Config:
    return hstu.Config(**common_config(spec, n_items))
