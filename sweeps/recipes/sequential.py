"""What the HSTU and SASRec recipes share: data, training and model knobs, and the axes.

Axes (declared here for both): ``horizontal`` = model width d, ``vertical`` = item-id
embedding rows (ids hashed beyond them), ``mlp`` = depth (blocks), ``heads``, ``seq_len``
= the longest history the model reads, ``overall`` = width and depth together, ``data`` =
users (sequences).
"""

from __future__ import annotations

import dataclasses

from sweeps.config import OptimConfig, checked, non_negative, optim_check
from sweeps.recipes import Axis, multiple_of, overall_axis, scaled

TASK = "retrieval"


def _known_dataset(name: str) -> str | None:
    if name == "seq_world":
        return None
    from sweeps.data import sources

    return sources.name_problem(name, "seq")


@dataclasses.dataclass(frozen=True)
class SeqDataConfig:
    """``name``: ``seq_world`` or a prepared real data set with user histories
    (``recscale data list``). On real data ``examples`` is the first N users (by their
    first rating) with at least ``min_len`` ratings, each keeping their latest ``seq_len``."""

    name: str = checked("seq_world", _known_dataset)
    world_seed: int = 0  # the synthetic world's; unused by real data sets
    examples: int = checked(1024)  # users (sequences); budgets are nested prefixes
    seq_len: int = checked(50)  # longest generated sequence (real data: latest ratings kept)
    min_len: int = checked(10)

    def __post_init__(self):
        if self.name != "seq_world":
            from sweeps.data import sources

            problem = sources.budget_problem(self.name, "seq", self.examples, self.min_len)
            if problem:
                raise ValueError(problem)


@dataclasses.dataclass(frozen=True)
class SeqTrainConfig:
    batch_size: int = checked(128)
    epochs: int = checked(10)
    n_negatives: int = checked(128)
    temperature: float = checked(0.05)
    chunk_steps: int = checked(8)
    eval_users: int = checked(0, non_negative)  # 0: every user
    select: str = "ndcg@10"
    # Stochastic Length (Zhai et al. 2024): 0 is off, else the exponent alpha in (1, 2].
    sl_alpha: float = checked(0.0, lambda a: None if a == 0 or 1 < a <= 2 else f"expected 0 (off) or a value in (1, 2], got {a!r}")


@dataclasses.dataclass(frozen=True)
class SeqOptimConfig(OptimConfig):
    """The reference's AdamW: lr 1e-3, betas (0.9, 0.98), constant."""

    name: str = checked("adamw", optim_check("check_name"))
    lr: float = checked(1e-3)
    schedule: str = checked("constant", optim_check("check_schedule"))
    b2: float = 0.98


SECTIONS = {"data": SeqDataConfig, "train": SeqTrainConfig, "optim": SeqOptimConfig}


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    d_model: int = checked(32)
    n_blocks: int = checked(2)
    n_heads: int = checked(2)
    max_len: int = checked(50)
    rows: int = checked(100_000)  # item-id embedding rows (ids hashed beyond), capped at the items
    dropout: float = 0.2


def common_config(spec: ModelSpec, n_items: int) -> dict:
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
