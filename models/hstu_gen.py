"""HSTU trained generatively for ranking (Zhai et al. 2024, sec. 2-3): a user's impressions
are one causal sequence of interleaved item and action tokens, and the action at every
impression is a label of the same pass.

Tokens (``L = 1 + 2 * max_events``): one contextual token (the user's segment) ahead of
the sequence, then per impression ``i`` an item token ``Φ_i`` (item + category + context
embeddings) and an action token ``a_i`` (click embedding + the item's embedding: the
action on that item). The click at impression ``i`` is predicted from the output at
``Φ_i``, which the causal mask lets see the contextual token and ``Φ_0, a_0, ...,
Φ_(i-1), a_(i-1), Φ_i`` and nothing later, so ``a_i`` never leaks into its own label.

Tokens are scaled by ``sqrt(d_model)`` plus a learned position embedding; the HSTU
blocks of ``models.hstu`` run over them with relative position biases (by rank among real
tokens) and time-gap biases (the log buckets of ``hstu.time_buckets``; the contextual
token carries the first impression's time). The outputs at the item tokens,
layer-normalised, go through the ranking head (``head_mlp``) to one logit each.

Batch: ``item``, ``category``, ``context``, ``ts``, ``click`` ``[B, T]``, ``valid`` ``[B, T]``
(real impressions; any layout) and ``segment`` ``[B]``. Ids are hashed modulo the rows.
FLOPs are per label: a sequence's forward FLOPs over its ``max_events`` labels.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping

import jax
import jax.numpy as jnp
from flax import nnx

from models import hstu, init
from models.layers import ACTIVATIONS, MLP, mlp_flops, mlp_params
from models.seq_common import layer_norm, real_positions

TABLES = ("item", "category", "context", "segment", "action")


@dataclasses.dataclass(frozen=True)
class Config:
    item_rows: int
    category_rows: int
    context_rows: int
    segment_rows: int
    max_events: int = 128
    d_model: int = 32
    n_blocks: int = 2
    n_heads: int = 2
    head_mlp: tuple[int, ...] = (32,)
    activation: str = "silu"
    n_time_buckets: int = 128
    dropout: float = 0.0

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not a multiple of n_heads {self.n_heads}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}")

    @property
    def n_tokens(self) -> int:
        return 1 + 2 * self.max_events

    @property
    def rows(self) -> dict[str, int]:
        return {"item": self.item_rows, "category": self.category_rows, "context": self.context_rows,
                "segment": self.segment_rows, "action": 2}

    @property
    def head_sizes(self) -> tuple[int, ...]:
        return (self.d_model, *self.head_mlp, 1)

    def encoder(self, n_tokens: int | None = None) -> hstu.Config:
        return hstu.Config(
            n_items=2, max_len=n_tokens or self.n_tokens, d_model=self.d_model, n_blocks=self.n_blocks,
            n_heads=self.n_heads, dropout=self.dropout, n_time_buckets=self.n_time_buckets,
        )


class Model(nnx.Module):
    def __init__(self, cfg: Config, *, rngs: nnx.Rngs):
        self.cfg = cfg
        D = cfg.d_model
        normal = init.truncated_normal
        self.tables = nnx.Dict({f: nnx.Embed(cfg.rows[f], D, embedding_init=normal(0.02), rngs=rngs) for f in TABLES})
        self.pos_emb = nnx.Param(normal(math.sqrt(1.0 / D))(rngs.params(), (cfg.n_tokens, D)))
        self.blocks = nnx.List([hstu.Block(cfg.encoder(), rngs=rngs) for _ in range(cfg.n_blocks)])
        self.head = MLP(cfg.head_sizes, final_relu=False, zero_last=True, activation=cfg.activation, rngs=rngs)

    def _emb(self, field: str, ids: jax.Array) -> jax.Array:
        return self.tables[field](ids % self.cfg.rows[field])

    def item_tokens(self, batch: Mapping) -> jax.Array:
        """``[B, T, D]``: the item tokens Φ (before scaling)."""
        return self._emb("item", batch["item"]) + self._emb("category", batch["category"]) + self._emb("context", batch["context"])

    def tokens(self, batch: Mapping):
        """``(x [B, L, D], valid [B, L], ts [B, L])`` for ``L = 1 + 2T`` tokens: the
        contextual token, then Φ_0, a_0, Φ_1, a_1, ..."""
        item_BxTxD = self.item_tokens(batch)
        action_BxTxD = self._emb("action", batch["click"].astype(jnp.int32)) + self._emb("item", batch["item"])
        B, T, D = item_BxTxD.shape
        events = jnp.stack([item_BxTxD, action_BxTxD], 2).reshape(B, 2 * T, D)
        x = jnp.concatenate([self._emb("segment", batch["segment"])[:, None], events], 1)
        valid_BxT = jnp.asarray(batch["valid"], bool)
        valid = jnp.concatenate([jnp.ones((B, 1), bool), jnp.repeat(valid_BxT, 2, axis=1)], 1)
        ts_BxT = jnp.asarray(batch["ts"])
        first_B = jnp.min(jnp.where(valid_BxT, ts_BxT, jnp.iinfo(ts_BxT.dtype).max), 1)
        ts = jnp.concatenate([jnp.where(valid_BxT.any(1), first_B, 0)[:, None], jnp.repeat(ts_BxT, 2, axis=1)], 1)
        return x, valid, ts

    def encode(self, x_BxLxD, valid_BxL, ts_BxL):
        """The blocks over scaled tokens; returns every token's output ``[B, L, D]``."""
        pos_BxL = real_positions(valid_BxL, self.cfg.n_tokens)
        x_BxLxD = (x_BxLxD * math.sqrt(self.cfg.d_model) + self.pos_emb[...][pos_BxL]) * valid_BxL[..., None]
        n = self.cfg.n_tokens
        rel_BxLxL = pos_BxL[:, :, None] - pos_BxL[:, None, :] + n - 1
        bucket_BxLxL = hstu.time_buckets(ts_BxL[:, :, None] - ts_BxL[:, None, :], self.cfg.n_time_buckets)
        for block in self.blocks:
            x_BxLxD = block(x_BxLxD, rel_BxLxL, bucket_BxLxL, valid_BxL)
        return x_BxLxD

    def readout(self, h_BxNxD: jax.Array) -> jax.Array:
        return self.head(layer_norm(h_BxNxD))[..., 0]

    def __call__(self, batch: Mapping) -> jax.Array:
        """Click logits ``[B, T]``, one per impression (garbage at pads: mask them)."""
        h_BxLxD = self.encode(*self.tokens(batch))
        return self.readout(h_BxLxD[:, 1::2])


def param_counts(cfg: Config) -> dict[str, int]:
    embedding = sum(cfg.rows.values()) * cfg.d_model
    dense = cfg.n_tokens * cfg.d_model + cfg.n_blocks * hstu.block_params(cfg.encoder()) + mlp_params(cfg.head_sizes)
    return {"embedding": embedding, "dense": dense, "total": embedding + dense}


# Per token element outside the blocks (table sums, interleave, scale, position add, mask),
# as XLA's cost analysis counts them (fitted, see tests/test_hstu_gen.py).
_TOKEN_OPS = 5


def sequence_flops(cfg: Config) -> float:
    """Forward FLOPs of one sequence of ``max_events`` impressions."""
    L, D, T = cfg.n_tokens, cfg.d_model, cfg.max_events
    return (
        _TOKEN_OPS * L * D
        + hstu.encoder_flops(cfg.encoder())
        + T * (hstu._LN_OPS * D + mlp_flops(cfg.head_sizes, final_relu=False))
    )


def forward_flops(cfg: Config) -> int:
    """Analytic forward FLOPs per label (a sequence's over its ``max_events`` labels;
    training counts 3x)."""
    return int(sequence_flops(cfg) / cfg.max_events)


# ---- M-FALCON: many candidates against one encoding of the history ----------------------
def _uvqk(block: hstu.Block, x_BxNxD: jax.Array):
    cfg = block.cfg
    HV = cfg.n_heads * cfg.d_v
    h = jax.nn.silu(layer_norm(x_BxNxD) @ block.uvqk[...])
    return jnp.split(h, [HV, 2 * HV, 2 * HV + cfg.n_heads * cfg.d_qk], axis=-1)


def encode_history(model: Model, history: Mapping):
    """One pass over the history; per block its keys and values (the cache), with the
    history tokens' positions, times, validity and the number of real tokens."""
    x, valid_BxL, ts_BxL = model.tokens(history)
    cfg, B, L = model.cfg, x.shape[0], x.shape[1]
    H = cfg.n_heads
    pos_BxL = real_positions(valid_BxL, cfg.n_tokens)
    x = (x * math.sqrt(cfg.d_model) + model.pos_emb[...][pos_BxL]) * valid_BxL[..., None]
    n = cfg.n_tokens
    rel = pos_BxL[:, :, None] - pos_BxL[:, None, :] + n - 1
    bucket = hstu.time_buckets(ts_BxL[:, :, None] - ts_BxL[:, None, :], cfg.n_time_buckets)
    cache = []
    for block in model.blocks:
        _, v, _, k = _uvqk(block, x)
        cache.append((k.reshape(B, L, H, -1), v.reshape(B, L, H, -1)))
        x = block(x, rel, bucket, valid_BxL)
    return cache, pos_BxL, ts_BxL, valid_BxL


def score_encoded(model: Model, encoded, cand: Mapping) -> jax.Array:
    """Logits ``[B, M]`` of candidates (``item``, ``category``, ``context``, ``ts`` ``[B, M]``),
    each placed as the next item token after the history: it attends to the history's
    cached keys and values and to itself, never to the other candidates."""
    cache, pos_BxL, ts_BxL, valid_BxL = encoded
    cfg = model.cfg
    n = cfg.n_tokens
    n_real_B = valid_BxL.sum(1)
    pos_c_B = jnp.minimum(n_real_B, n - 1)
    x = model.item_tokens(cand) * math.sqrt(cfg.d_model) + model.pos_emb[...][pos_c_B][:, None]
    B, M, _ = x.shape
    H = cfg.n_heads
    rel_BxL = pos_c_B[:, None] - pos_BxL + n - 1
    ts_c = jnp.asarray(cand["ts"])
    bucket_BxMxL = hstu.time_buckets(ts_c[:, :, None] - ts_BxL[:, None, :], cfg.n_time_buckets)
    for block, (k_h, v_h) in zip(model.blocks, cache):
        u, v, q, k = (a.reshape(B, M, H, -1) for a in _uvqk(block, x))
        pos_b, time_b = block.pos_bias[...], block.time_bias[...]
        s_hist = jnp.einsum("bmhk,bjhk->bhmj", q, k_h) + (pos_b[rel_BxL][:, None] + time_b[bucket_BxMxL])[:, None]
        a_hist = jnp.where(valid_BxL[:, None, None], jax.nn.silu(s_hist), 0.0)
        s_self = jnp.einsum("bmhk,bmhk->bhm", q, k) + pos_b[n - 1] + time_b[0]
        out = jnp.einsum("bhmj,bjhv->bmhv", a_hist, v_h) + jnp.einsum("bhm,bmhv->bmhv", jax.nn.silu(s_self), v)
        out = out / (n_real_B + 1).astype(out.dtype)[:, None, None, None]
        y = u.reshape(B, M, -1) * layer_norm(out.reshape(B, M, -1))
        x = x + block.out(block.dropout(y))
    return model.readout(x)


def score_candidates(model: Model, history: Mapping, cand: Mapping, micro_batch: int = 64) -> jax.Array:
    """M-FALCON: the history encoded once, the candidates scored in micro-batches of
    ``micro_batch`` against it; ``[B, M]`` logits."""
    encoded = encode_history(model, history)
    M = cand["item"].shape[1]
    parts = [score_encoded(model, encoded, {k: v[:, i : i + micro_batch] for k, v in cand.items()})
             for i in range(0, M, micro_batch)]
    return jnp.concatenate(parts, 1)


def score_one(model: Model, history: Mapping, cand: Mapping) -> jax.Array:
    """The reference: one candidate ``[B]`` appended to the history as its next impression,
    read at its item token by the ordinary generative forward pass."""
    B, T = history["item"].shape
    last = {k: jnp.asarray(cand[k])[:, None] for k in ("item", "category", "context", "ts")}
    batch = {k: jnp.concatenate([jnp.asarray(history[k]), last[k]], 1) for k in last}
    batch["click"] = jnp.concatenate([jnp.asarray(history["click"]), jnp.zeros((B, 1), jnp.asarray(history["click"]).dtype)], 1)
    batch["valid"] = jnp.concatenate([jnp.asarray(history["valid"], bool), jnp.ones((B, 1), bool)], 1)
    batch["segment"] = history["segment"]
    return model(batch)[:, T]
