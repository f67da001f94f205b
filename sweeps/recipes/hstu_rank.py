"""The HSTU ranking recipe: HSTU on the CTR task, beside DLRM, on the same data and eval set.

Axes: ``horizontal`` = model width d (tokens and embeddings together, as in HSTU),
``vertical`` = embedding rows per table, ``mlp`` = depth (HSTU blocks), ``overarch`` = the
ranking head's widest layer (proportions kept), ``heads``, ``overall`` = width, depth,
rows and head together; ``data`` and ``compute`` as for every architecture. The history
length is the data's (``WorldConfig.history_len``), so there is no ``seq_len`` axis here.
"""

from __future__ import annotations

import dataclasses

from models import hstu_rank
from sweeps.config import checked
from sweeps.data.ctr_world import Field
from sweeps.recipes import (
    CTR_BATCH_RULE,
    check_activation,
    hstu_axes,
    sparse_tables,
)

TASK = "ctr"
BATCH_RULE = CTR_BATCH_RULE


@dataclasses.dataclass(frozen=True)
class ModelKnobs:
    d_model: int = checked(32)
    n_blocks: int = checked(2)
    n_heads: int = checked(2)
    rows: int = checked(8192)  # rows per table, capped at the field's cardinality
    dense_mlp: tuple[int, ...] = checked((64,))
    head_mlp: tuple[int, ...] = checked((64, 32))
    activation: str = checked("silu", check_activation)

    def __post_init__(self):
        if self.n_heads > 0 and self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of n_heads ({self.n_heads})")


def build(spec: ModelKnobs, n_dense: int, fields: tuple[Field, ...]) -> hstu_rank.Config:
    return hstu_rank.Config(
        n_dense=n_dense,
        **sparse_tables(spec.rows, fields),
        d_model=spec.d_model,
        n_blocks=spec.n_blocks,
        n_heads=spec.n_heads,
        dense_mlp=spec.dense_mlp,
        head_mlp=spec.head_mlp,
        activation=spec.activation,
    )


AXES = hstu_axes("embedding rows per table (hash size)")
