"""HSTU as a CTR ranking model: the history is a sequence, the candidate item its last token.

It reads the same inputs as DLRM (``{"dense": [B, F], "ids": {field: [B] or [B, bag]}}``),
so the two train on the same examples and are scored on the same held-out set.

Tokens, in order (``L = n_context + history_len + 1``):

* one *contextual* token per one-hot field other than the item (user, category, context
  on the synthetic CTR world) and one for the dense features (``dense_mlp`` maps them to
  ``d_model``), as the reference puts contextual features ahead of the sequence;
* the history bag's items, one token each, looked up in the *item* table (history and
  candidate share their embeddings, as in a generative recommender); other bag fields
  are sum-pooled into one contextual token each;
* the candidate item.

Token embeddings are scaled by ``sqrt(d_model)`` and a learned per-slot position
embedding is added; the HSTU blocks of ``models.hstu`` run over the tokens (causal, so
the candidate's token sees everything and no earlier token sees the candidate; no time
bias, the CTR data has no timestamps); the candidate's output, layer-normalised, goes
through the ranking head (``head_mlp``, the over-arch) to one logit. With no item field
(e.g. Criteo) there is no candidate token and the last token is read.

Ids are hashed modulo each table's rows (as DLRM). Parameter split: ``embedding`` is the
id tables, ``dense`` everything else. Every slot is a real token, so no padding arises.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping

import jax
import jax.numpy as jnp
from flax import nnx

from models import hstu, init
from models.layers import ACTIVATIONS, MLP, SparseInputs, mlp_flops, mlp_params
from models.seq_common import layer_norm


@dataclasses.dataclass(frozen=True)
class Config(SparseInputs):
    d_model: int = 32
    n_blocks: int = 2
    n_heads: int = 2
    dense_mlp: tuple[int, ...] = (64,)
    head_mlp: tuple[int, ...] = (64, 32)
    activation: str = "silu"
    item_field: str = "item"
    history_field: str = "history"

    def __post_init__(self):
        super().__post_init__()
        if self.history_field in self.fields and self.item_field not in self.fields:
            raise ValueError(f"history field {self.history_field!r} needs the item field {self.item_field!r}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not a multiple of n_heads {self.n_heads}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}")

    @property
    def context_fields(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if f not in (self.item_field, self.history_field))

    @property
    def history_len(self) -> int:
        return self.bags[self.fields.index(self.history_field)] if self.history_field in self.fields else 0

    @property
    def has_candidate(self) -> bool:
        return self.item_field in self.fields

    @property
    def n_tokens(self) -> int:
        return 1 + len(self.context_fields) + self.history_len + int(self.has_candidate)

    @property
    def dense_sizes(self) -> tuple[int, ...]:
        return (self.n_dense, *self.dense_mlp, self.d_model)

    @property
    def head_sizes(self) -> tuple[int, ...]:
        return (self.d_model, *self.head_mlp, 1)

    @property
    def table_fields(self) -> tuple[str, ...]:
        """Fields with a table of their own (the history reads the item table)."""
        return tuple(f for f in self.fields if f != self.history_field or not self.has_candidate)

    def encoder(self) -> hstu.Config:
        """The blocks' config: ``n_tokens`` positions, one (unused) time bucket, no dropout."""
        return hstu.Config(
            n_items=2, max_len=self.n_tokens, d_model=self.d_model, n_blocks=self.n_blocks,
            n_heads=self.n_heads, dropout=0.0, n_time_buckets=1,
        )


class Model(nnx.Module):
    def __init__(self, cfg: Config, *, rngs: nnx.Rngs):
        self.cfg = cfg
        D = cfg.d_model
        normal = init.truncated_normal
        rows = dict(zip(cfg.fields, cfg.rows))
        self.tables = nnx.Dict(
            {f: nnx.Embed(rows[f], D, embedding_init=normal(0.02), rngs=rngs) for f in cfg.table_fields}
        )
        self.dense = MLP(cfg.dense_sizes, final_relu=False, activation=cfg.activation, rngs=rngs)
        self.pos_emb = nnx.Param(normal(math.sqrt(1.0 / D))(rngs.params(), (cfg.n_tokens, D)))
        enc = cfg.encoder()
        self.blocks = nnx.List([hstu.Block(enc, rngs=rngs) for _ in range(cfg.n_blocks)])
        self.head = MLP(cfg.head_sizes, final_relu=False, zero_last=True, activation=cfg.activation, rngs=rngs)

    def _lookup(self, field: str, ids: jax.Array) -> jax.Array:
        table_field = self.cfg.item_field if field == self.cfg.history_field and self.cfg.has_candidate else field
        return self.tables[table_field](ids % self.cfg.rows[self.cfg.fields.index(table_field)])

    def tokens(self, inputs: Mapping) -> jax.Array:
        """``[B, n_tokens, D]``: contextual tokens, history, candidate (before scaling)."""
        cfg, ids = self.cfg, inputs["ids"]
        ctx = [self.dense(inputs["dense"])]
        for f in cfg.context_fields:
            e = self._lookup(f, ids[f])
            ctx.append(e.sum(axis=1) if cfg.bags[cfg.fields.index(f)] else e)
        parts = [jnp.stack(ctx, axis=1)]
        if cfg.history_len:
            parts.append(self._lookup(cfg.history_field, ids[cfg.history_field]))
        if cfg.has_candidate:
            parts.append(self._lookup(cfg.item_field, ids[cfg.item_field])[:, None])
        return jnp.concatenate(parts, axis=1)

    def __call__(self, inputs: Mapping) -> jax.Array:
        cfg = self.cfg
        x_BxLxD = self.tokens(inputs) * math.sqrt(cfg.d_model) + self.pos_emb[...]
        B, L, _ = x_BxLxD.shape
        pos_L = jnp.arange(L)
        rel_1xLxL = (pos_L[:, None] - pos_L[None, :] + L - 1)[None]
        bucket_1xLxL = jnp.zeros((1, L, L), jnp.int32)
        valid_BxL = jnp.ones((B, L), bool)
        for block in self.blocks:
            x_BxLxD = block(x_BxLxD, rel_1xLxL, bucket_1xLxL, valid_BxL)
        return self.head(layer_norm(x_BxLxD[:, -1]))[:, 0]


def param_counts(cfg: Config) -> dict[str, int]:
    D = cfg.d_model
    embedding = sum(cfg.rows[cfg.fields.index(f)] * D for f in cfg.table_fields)
    dense = (
        mlp_params(cfg.dense_sizes)
        + cfg.n_tokens * D
        + cfg.n_blocks * hstu.block_params(cfg.encoder())
        + mlp_params(cfg.head_sizes)
    )
    return {"embedding": embedding, "dense": dense, "total": embedding + dense}


# Per token element outside the blocks: embedding scale and position add, as XLA counts.
_TOKEN_OPS = 2


def forward_flops(cfg: Config) -> int:
    """Analytic forward FLOPs per example (training counts 3x): dense token, bag pooling,
    the HSTU blocks over ``n_tokens`` (attention terms included), readout LayerNorm, head."""
    D, L = cfg.d_model, cfg.n_tokens
    pooling = sum(max(cfg.bags[cfg.fields.index(f)] - 1, 0) * D for f in cfg.context_fields)
    return int(
        mlp_flops(cfg.dense_sizes, final_relu=False)
        + pooling
        + _TOKEN_OPS * L * D
        + hstu.encoder_flops(cfg.encoder())
        + hstu._LN_OPS * D
        + mlp_flops(cfg.head_sizes, final_relu=False)
    )


def attention_share(cfg: Config) -> float:
    """Fraction of the forward FLOPs in the terms that grow as ``n_tokens^2``."""
    enc = cfg.encoder()
    return float(hstu.attention_flops(enc, enc.max_len) / forward_flops(cfg))

