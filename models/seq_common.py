"""Pieces shared by the sequential recommenders (HSTU, SASRec) and Stochastic Length.

Batch format: ``{"ids": [B, L] int (0 = pad), "timestamps": [B, L] int seconds}``;
right-padding is canonical but any layout works. Item ids are hashed into rows
``1..n_items-1`` (``1 + (id - 1) % (n_items - 1)``); row 0 is the pad row and is never
read for a real position. Positions are the rank of a real item among the real items of
its row (0 for the oldest), so left padding, right padding or longer arrays give the same
embeddings; histories longer than ``max_len`` must be truncated by the caller (ranks clip).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from models import init
from models.layers import MLP, mlp_flops, mlp_params

EPS = 1e-6


def layer_norm(x: jax.Array, eps: float = EPS) -> jax.Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + eps)


def l2_normalize(x: jax.Array, eps: float = EPS) -> jax.Array:
    """``x / max(|x|, eps)``, written so that the gradient at ``x = 0`` (pads) is finite."""
    return x * jax.lax.rsqrt(jnp.maximum((x * x).sum(-1, keepdims=True), eps * eps))


def hash_ids(ids: jax.Array, rows: int) -> jax.Array:
    return jnp.where(ids != 0, 1 + (ids - 1) % (rows - 1), 0)


def real_positions(valid_BxL: jax.Array, max_len: int) -> jax.Array:
    return jnp.clip(jnp.cumsum(valid_BxL, axis=1) - 1, 0, max_len - 1)


def last_real_index(valid_BxL: jax.Array) -> jax.Array:
    L = valid_BxL.shape[1]
    return L - 1 - jnp.argmax(valid_BxL[:, ::-1], axis=1)


def head_sizes(cfg) -> tuple[int, ...]:
    return (2 * cfg.d_model, *cfg.head_mlp, 1) if cfg.head_mlp else ()


def embedding_params(cfg) -> tuple[int, int]:
    """(item table, position table + head) parameter counts."""
    return cfg.n_items * cfg.d_model, cfg.max_len * cfg.d_model + mlp_params(head_sizes(cfg))


def io_flops(cfg) -> int:
    """Per example, outside the blocks: input scale, add and mask, output L2 norm and
    mask, head (elementwise counted as XLA does, approximately)."""
    L, D = cfg.max_len, cfg.d_model
    head = mlp_flops(head_sizes(cfg), final_relu=False) if cfg.head_mlp else 0
    return 24 * L * D + head


class SequentialRecommender(nnx.Module):
    """Common interface; a subclass sets up its blocks and defines ``encode``."""

    def _init_io(self, cfg, rngs: nnx.Rngs):
        self.cfg = cfg
        D = cfg.d_model
        normal = init.truncated_normal
        self.item_emb = nnx.Embed(cfg.n_items, D, embedding_init=normal(0.02), rngs=rngs)
        self.pos_emb = nnx.Embed(cfg.max_len, D, embedding_init=normal(math.sqrt(1.0 / D)), rngs=rngs)
        self.in_dropout = nnx.Dropout(cfg.dropout, rngs=rngs)
        self.head = MLP(head_sizes(cfg), final_relu=False, rngs=rngs) if cfg.head_mlp else None

    def embed(self, batch) -> jax.Array:
        ids_BxL = batch["ids"]
        valid_BxL = ids_BxL != 0
        x_BxLxD = self.item_emb(hash_ids(ids_BxL, self.cfg.n_items)) * math.sqrt(self.cfg.d_model)
        x_BxLxD = x_BxLxD + self.pos_emb(real_positions(valid_BxL, self.cfg.max_len))
        return self.in_dropout(x_BxLxD) * valid_BxL[..., None]

    def encode(self, x_BxLxD: jax.Array, batch) -> jax.Array:
        raise NotImplementedError

    def __call__(self, batch) -> jax.Array:
        """Per-position user embeddings ``[B, L, D]``, unit norm, zero at pads."""
        valid_BxL = batch["ids"] != 0
        y_BxLxD = self.encode(self.embed(batch), batch)
        return l2_normalize(y_BxLxD) * valid_BxL[..., None]

    def item_embeddings(self, ids: jax.Array | None = None) -> jax.Array:
        """L2-normalised item rows (all ``n_items``, row 0 = pad) or those of ``ids``."""
        table_NxD = self.item_emb.embedding[...]
        if ids is None:
            return l2_normalize(table_NxD)
        return l2_normalize(table_NxD[hash_ids(ids, self.cfg.n_items)])

    def user_embedding(self, batch) -> jax.Array:
        """``[B, D]``: the output at each row's last real position."""
        u_BxLxD = self(batch)
        last_B = last_real_index(batch["ids"] != 0)
        return jnp.take_along_axis(u_BxLxD, last_B[:, None, None], axis=1)[:, 0]

    def rank_logit(self, batch, target_ids: jax.Array) -> jax.Array:
        """Logit per target, ``target_ids`` of shape ``[B]`` or ``[B, M]``.

        With ``head_mlp`` the MLP maps ``[user, item]`` (both unit norm) to one logit;
        without it the logit is their cosine.
        """
        u_BxD = self.user_embedding(batch)
        v_BxMxD = self.item_embeddings(target_ids.reshape(target_ids.shape[0], -1))
        u_BxMxD = jnp.broadcast_to(u_BxD[:, None], v_BxMxD.shape)
        if self.head is None:
            out_BxM = (u_BxMxD * v_BxMxD).sum(-1)
        else:
            out_BxM = self.head(jnp.concatenate([u_BxMxD, v_BxMxD], axis=-1))[..., 0]
        return out_BxM.reshape(target_ids.shape)


def sl_target_length(alpha: float, max_len: int) -> int:
    return int(math.floor(max_len ** (alpha / 2) + 1e-9))


def sl_keep_probability(n, alpha: float, max_len: int):
    """Probability that a history of length ``n`` is kept whole."""
    n = np.asarray(n, dtype=np.float64)
    p = np.minimum(1.0, max_len**alpha / np.maximum(n, 1.0) ** 2)
    return np.where(n > sl_target_length(alpha, max_len), p, 1.0)


def stochastic_length(ids_BxL, timestamps_BxL, key, alpha: float, max_len: int):
    """Stochastic Length (Zhai et al. 2024, sec. 3.2), with ``N_c = max_len``.

    Let ``m = floor(max_len ** (alpha / 2))`` and ``n`` a row's number of real items.
    Rows with ``n <= m`` are untouched. A longer row is kept whole with probability
    ``max_len**alpha / n**2``; otherwise ``m`` of its items are drawn uniformly without
    replacement and kept in their original order. Output arrays keep the input shape,
    right-padded (0 ids, 0 timestamps), so ``E[n_out^2] <= 2 * max_len**alpha``.
    Deterministic given ``key``; jit-compatible with static ``alpha`` and ``max_len``.
    """
    B, L = ids_BxL.shape
    m = sl_target_length(alpha, max_len)
    valid_BxL = ids_BxL != 0
    n_B = valid_BxL.sum(1)
    key_keep, key_pick = jax.random.split(key)
    p_B = jnp.minimum(1.0, max_len**alpha / jnp.maximum(n_B, 1).astype(jnp.float32) ** 2)
    cut_B = (n_B > m) & (jax.random.uniform(key_keep, (B,)) >= p_B)
    score_BxL = jnp.where(valid_BxL, jax.random.uniform(key_pick, (B, L)), 2.0)
    rank_BxL = jnp.argsort(jnp.argsort(score_BxL, axis=1), axis=1)
    keep_BxL = valid_BxL & (~cut_B[:, None] | (rank_BxL < m))
    order_BxL = jnp.argsort(~keep_BxL, axis=1, stable=True)
    ids_out = jnp.take_along_axis(jnp.where(keep_BxL, ids_BxL, 0), order_BxL, axis=1)
    ts_out = jnp.take_along_axis(jnp.where(keep_BxL, timestamps_BxL, 0), order_BxL, axis=1)
    return ids_out, ts_out


def sl_expected_square_length(lengths, alpha: float, max_len: int) -> np.ndarray:
    """``E[n_out^2]`` per history under ``stochastic_length`` (exact)."""
    n = np.asarray(lengths, dtype=np.float64)
    p = sl_keep_probability(n, alpha, max_len)
    return p * n**2 + (1 - p) * float(sl_target_length(alpha, max_len)) ** 2
