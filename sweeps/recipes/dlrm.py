"""The DLRM recipe: model knobs and the scaling axes of Ardalani et al. (2022)."""

from __future__ import annotations

import dataclasses

from models import dlrm
from sweeps.config import checked
from sweeps.data.ctr_world import Field
from sweeps.recipes import (
    CTR_BATCH_RULE,
    Axis,
    check_activation,
    overall_axis,
    scaled,
    scaled_all,
    sparse_tables,
    widest_at,
)

TASK = "ctr"
BATCH_RULE = CTR_BATCH_RULE


@dataclasses.dataclass(frozen=True)
class ModelKnobs:
    embed_dim: int = checked(16)
    rows: int = checked(8192)  # rows per table, capped at the field's cardinality
    bottom_mlp: tuple[int, ...] = checked((64, 32))
    top_mlp: tuple[int, ...] = checked((64, 32))
    activation: str = checked("relu", check_activation)


def build(spec: ModelKnobs, n_dense: int, fields: tuple[Field, ...]) -> dlrm.Config:
    return dlrm.Config(
        n_dense=n_dense,
        **sparse_tables(spec.rows, fields),
        embed_dim=spec.embed_dim,
        bottom_mlp=spec.bottom_mlp,
        top_mlp=spec.top_mlp,
        activation=spec.activation,
    )


def _scale_mlps(width: int, base: ModelKnobs) -> dict:
    """Every MLP layer scaled so the widest is ``width``, keeping the base proportions."""
    widest = max(base.bottom_mlp + base.top_mlp)
    return {"model.bottom_mlp": widest_at(base.bottom_mlp, width, widest), "model.top_mlp": widest_at(base.top_mlp, width, widest)}


def _scale_top(width: int, base: ModelKnobs) -> dict:
    """The over-arch (top MLP) scaled so its widest layer is ``width``; the bottom MLP stays."""
    return {"model.top_mlp": widest_at(base.top_mlp, width)}


def _overall(s: float, base: ModelKnobs) -> dict:
    return {
        "model.embed_dim": scaled(base.embed_dim, s),
        "model.rows": scaled(base.rows, s),
        "model.bottom_mlp": scaled_all(base.bottom_mlp, s),
        "model.top_mlp": scaled_all(base.top_mlp, s),
    }


AXES = {
    "vertical": Axis("vertical", "embedding rows per table (hash size)", lambda v, base: {"model.rows": v}),
    "horizontal": Axis("horizontal", "embedding dimension", lambda v, base: {"model.embed_dim": v}),
    "overarch": Axis("overarch", "width of the widest over-arch (top MLP) layer, proportions kept", _scale_top),
    "mlp": Axis("mlp", "width of the widest MLP layer, bottom and top scaled together", _scale_mlps),
    "overall": overall_axis(_overall),
}
