"""The Wide & Deep recipe: the same data and axes as DLRM (the deep MLP is its MLP)."""

from __future__ import annotations

import dataclasses

from models import wide_deep
from sweeps.config import checked
from sweeps.data.ctr_world import Field
from sweeps.recipes import CTR_BATCH_RULE, Axis, check_activation, overall_axis, scaled, scaled_all, sparse_tables, widest_at


def _check_crosses(crosses) -> str | None:
    return None if all(len(c) == 2 for c in crosses) else f"each cross must name two fields, got {crosses!r}"


TASK = "ctr"
BATCH_RULE = CTR_BATCH_RULE


@dataclasses.dataclass(frozen=True)
class ModelKnobs:
    embed_dim: int = checked(16)
    rows: int = checked(2048)  # rows per field, capped at the field's cardinality
    deep_mlp: tuple[int, ...] = checked((64, 32))
    crosses: tuple[tuple[str, ...], ...] = checked((("context", "category"), ("user", "item")), _check_crosses)
    cross_rows: int = checked(16384)
    activation: str = checked("relu", check_activation)


def build(spec: ModelKnobs, n_dense: int, fields: tuple[Field, ...]) -> wide_deep.Config:
    return wide_deep.Config(
        n_dense=n_dense,
        **sparse_tables(spec.rows, fields),
        embed_dim=spec.embed_dim,
        deep_mlp=spec.deep_mlp,
        crosses=tuple(tuple(c) for c in spec.crosses),
        cross_rows=spec.cross_rows,
        activation=spec.activation,
    )


AXES = {
    "vertical": Axis("vertical", "rows per field (hash size)", lambda v, base: {"model.rows": v}),
    "horizontal": Axis("horizontal", "embedding dimension", lambda v, base: {"model.embed_dim": v}),
    "mlp": Axis("mlp", "width of the widest deep-MLP layer", lambda v, base: {"model.deep_mlp": widest_at(base.deep_mlp, v)}),
    "overall": overall_axis(
        lambda s, base: {
            "model.embed_dim": scaled(base.embed_dim, s),
            "model.rows": scaled(base.rows, s),
            "model.deep_mlp": scaled_all(base.deep_mlp, s),
        }
    ),
}
