"""What the HSTU and SASRec recipes share: the model knobs and the axes (their data,
training and optimiser sections are the retrieval task's, ``sweeps.tasks.retrieval``).

Axes (declared here for both): ``horizontal`` = model width d, ``vertical`` = item-id
embedding rows (ids hashed beyond them), ``mlp`` = depth (blocks), ``heads``, ``seq_len``
= the longest history the model reads, ``overall`` = width and depth together, ``data`` =
users (sequences).
"""

from __future__ import annotations

import dataclasses

from sweeps.config import checked
from sweeps.recipes import Axis, multiple_of, overall_axis, scaled
from sweeps.train.budget import BatchRule

TASK = "retrieval"
# Batches of 128 users (the reference's) where the budget allows; at least 128 steps over
# all epochs down to 2,048 user-epochs.
BATCH_RULE = BatchRule(min_steps=128, min_batch=16, max_batch=128)


@dataclasses.dataclass(frozen=True)
class ModelKnobs:
    d_model: int = checked(32)
    n_blocks: int = checked(2)
    n_heads: int = checked(2)
    max_len: int = checked(50)
    rows: int = checked(100_000)  # item-id embedding rows (ids hashed beyond), capped at the items
    dropout: float = 0.2


def common_config(spec: ModelKnobs, n_items: int) -> dict:
    return dict(
        n_items=min(spec.rows + 1, n_items), max_len=spec.max_len, d_model=spec.d_model,
        n_blocks=spec.n_blocks, n_heads=spec.n_heads, dropout=spec.dropout,
    )


AXES = {
    "horizontal": Axis("horizontal", "model width d", lambda v, base: {"model.d_model": v}),
    "vertical": Axis("vertical", "item-id embedding rows", lambda v, base: {"model.rows": v}),
    "mlp": Axis("mlp", "depth (blocks)", lambda v, base: {"model.n_blocks": v}),
    "heads": Axis("heads", "attention heads", lambda v, base: {"model.n_heads": v}),
    "seq_len": Axis("seq_len", "longest history the model reads", lambda v, base: {"model.max_len": v}),
    "overall": overall_axis(
        lambda s, base: {
            "model.d_model": multiple_of(base.d_model * s, base.n_heads),
            "model.n_blocks": scaled(base.n_blocks, s),
        }
    ),
}
