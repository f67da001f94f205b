"""The generative HSTU ranking recipe (``models.hstu_gen``) on the generative task.

Axes: ``horizontal`` = model width d, ``vertical`` = item rows, ``mlp`` = depth (HSTU
blocks), ``heads``, ``overarch`` = the ranking head's widest layer, ``overall`` = width,
depth, item rows and head together; ``data`` and ``compute`` as for every architecture.
The sequence length is the world's (``ImpressionConfig.length``).
"""

from __future__ import annotations

import dataclasses

from models import hstu_gen
from sweeps.config import checked
from sweeps.recipes import check_activation, hstu_axes
from sweeps.train.budget import BatchRule

TASK = "generative"
# Batches count whole sequences (128 impressions each): 16 where the budget allows, at
# least 64 steps down to 128 sequences.
BATCH_RULE = BatchRule(min_steps=64, min_batch=2, max_batch=16)


@dataclasses.dataclass(frozen=True)
class ModelKnobs:
    d_model: int = checked(32)
    n_blocks: int = checked(2)
    n_heads: int = checked(2)
    rows: int = checked(8192)  # item rows, capped at the world's items
    head_mlp: tuple[int, ...] = checked((32,))
    activation: str = checked("silu", check_activation)

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of n_heads ({self.n_heads})")


def build(spec: ModelKnobs, item_rows: int, category_rows: int, context_rows: int, segment_rows: int,
          max_events: int) -> hstu_gen.Config:
    return hstu_gen.Config(
        item_rows=min(spec.rows, item_rows), category_rows=category_rows, context_rows=context_rows,
        segment_rows=segment_rows, max_events=max_events, d_model=spec.d_model, n_blocks=spec.n_blocks,
        n_heads=spec.n_heads, head_mlp=spec.head_mlp, activation=spec.activation,
    )


AXES = hstu_axes("item embedding rows (hash size)")
