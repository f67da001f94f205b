"""HSTU (Zhai et al. 2024, "Actions Speak Louder than Words") in Flax NNX.

One block on ``X``:  ``N = LayerNorm(X)`` (no affine, eps 1e-6);
``U, V, Q, K = split(SiLU(N @ W_uvqk))`` (one bias-free projection);
per head ``A = SiLU(Q K^T + rab) / n`` causal-masked, then ``A V``;
``Y = X + W_o(dropout(U * LayerNorm(A V)))`` (LayerNorm over all heads together).

Deviations from the reference code, each for padding invariance or clarity:
- ``n`` is, per query, the number of real positions it sees (itself and earlier real
  items), not the padded length: results do not depend on padding. Since LayerNorm(A V)
  follows, a per-query constant only matters through the LayerNorm epsilon; this choice
  keeps ``A V`` a mean of O(1) size however short the history.
- ``rab(i, j) = w_pos[p_i - p_j + max_len - 1] + w_time[bucket(t_i - t_j)]`` with ``p`` the
  rank among real items; one table pair per block, shared by its heads (as the reference).
  The reference buckets ``t_{i+1} - t_j`` (the next item's time), which reads a pad
  timestamp at the last real position; here the gap is between the two items themselves.
- ``bucket(dt) = floor(ln(max(|dt|, 1)) / 0.301)`` clamped to ``[0, n_time_buckets - 1]``.

Input ``item_emb * sqrt(d) + position_emb``, dropout; output L2-normalised per position.
``d_qk`` and ``d_v`` (per head) default to ``d_model // n_heads``, as in every preset.
Parameter split: ``embedding`` is the item table; ``dense`` everything else (positions,
blocks, relative biases, ranking head).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from models import init
from models.attention import pointwise_attention, pointwise_attention_fused
from models.seq_common import (
    SequentialRecommender,
    embedding_params,
    io_flops,
    layer_norm,
    real_positions,
    sl_expected_square_length,
)

ATTENTION = ("fused", "einsum")


@dataclasses.dataclass(frozen=True)
class Config:
    n_items: int  # embedding rows, row 0 = padding
    max_len: int = 200
    d_model: int = 50
    n_blocks: int = 2
    n_heads: int = 1
    d_qk: int | None = None
    d_v: int | None = None
    dropout: float = 0.2
    n_time_buckets: int = 128
    head_mlp: tuple[int, ...] = ()
    # "fused": models.attention.hstu_attention; "einsum": the plain pointwise_attention
    # over a gathered [B, 1, L, L] bias (same function, slower, kept as the baseline).
    attention: str = "fused"

    def __post_init__(self):
        if self.n_items < 2:
            raise ValueError("n_items must be >= 2 (row 0 is padding)")
        if self.attention not in ATTENTION:
            raise ValueError(f"attention must be one of {ATTENTION}, got {self.attention!r}")
        for name in ("d_qk", "d_v"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, self.d_model // self.n_heads)


PRESETS = {
    "ml-1m": dict(max_len=200, d_model=50, n_blocks=2, n_heads=1, d_qk=50, d_v=50, dropout=0.2),
    "ml-1m-large": dict(max_len=200, d_model=50, n_blocks=8, n_heads=2, d_qk=25, d_v=25, dropout=0.2),
    "ml-20m": dict(max_len=200, d_model=256, n_blocks=4, n_heads=4, d_qk=64, d_v=64, dropout=0.2),
    "ml-20m-large": dict(max_len=200, d_model=256, n_blocks=16, n_heads=8, d_qk=32, d_v=32, dropout=0.2),
    "books": dict(max_len=50, d_model=64, n_blocks=4, n_heads=4, d_qk=16, d_v=16, dropout=0.5),
    "books-large": dict(max_len=50, d_model=64, n_blocks=16, n_heads=8, d_qk=8, d_v=8, dropout=0.5),
}

TIME_BUCKET_DIVISOR = 0.301


def time_buckets(dt: jax.Array, n_buckets: int = 128) -> jax.Array:
    ln_dt = jnp.log(jnp.maximum(jnp.abs(dt).astype(jnp.float32), 1.0))
    return jnp.clip(jnp.floor(ln_dt / TIME_BUCKET_DIVISOR), 0, n_buckets - 1).astype(jnp.int32)


def toeplitz_indices(L: int, max_len: int) -> np.ndarray:
    """``[L, L]``: ``i - j + max_len - 1``, the position-bias index of items ranked ``i`` and
    ``j`` (clipped to the table: only pairs of ranks below ``max_len`` are ever read)."""
    r = np.arange(L)
    return np.clip(r[:, None] - r[None, :] + max_len - 1, 0, 2 * max_len - 2).astype(np.int32)


@jax.custom_vjp
def _lookup(table_T, idx):
    """``table_T[idx]``; its gradient is a segment sum (faster on CPU than XLA's
    scatter-add transpose of the gather)."""
    return table_T[idx]


def _lookup_fwd(table_T, idx):
    return table_T[idx], (idx, jnp.zeros_like(table_T))


def _lookup_bwd(res, g):
    idx, zeros_T = res
    return jax.ops.segment_sum(g.reshape(-1), idx.reshape(-1), zeros_T.shape[0]).astype(zeros_T.dtype), None


_lookup.defvjp(_lookup_fwd, _lookup_bwd)


def _uvqk_width(cfg: Config) -> int:
    return 2 * cfg.n_heads * (cfg.d_v + cfg.d_qk)


class Block(nnx.Module):
    def __init__(self, cfg: Config, *, rngs: nnx.Rngs):
        self.cfg = cfg
        normal = init.normal(0.02)
        self.uvqk = nnx.Param(normal(rngs.params(), (cfg.d_model, _uvqk_width(cfg))))
        self.out = init.linear(
            cfg.n_heads * cfg.d_v, cfg.d_model, kernel_init=init.xavier_uniform(), rngs=rngs
        )
        self.pos_bias = nnx.Param(normal(rngs.params(), (2 * cfg.max_len - 1,)))
        self.time_bias = nnx.Param(normal(rngs.params(), (cfg.n_time_buckets,)))
        self.dropout = nnx.Dropout(cfg.dropout, rngs=rngs if cfg.dropout else None)

    def __call__(self, x_BxLxD, rel_BxLxL, bucket_BxLxL, valid_BxL):
        cfg = self.cfg
        B, L, _ = x_BxLxD.shape
        H, HV = cfg.n_heads, cfg.n_heads * cfg.d_v
        h_BxLxW = jax.nn.silu(layer_norm(x_BxLxD) @ self.uvqk[...])
        splits = [HV, 2 * HV, 2 * HV + H * cfg.d_qk]
        u_BxLxHV, v_BxLxHV, q_BxLxHK, k_BxLxHK = jnp.split(h_BxLxW, splits, axis=-1)
        qkv = (q_BxLxHK.reshape(B, L, H, cfg.d_qk), k_BxLxHK.reshape(B, L, H, cfg.d_qk), v_BxLxHV.reshape(B, L, H, cfg.d_v))
        pos_bias_R, time_bias_T = self.pos_bias[...], self.time_bias[...]
        if cfg.attention == "fused":
            bias_BxLxL = _lookup(time_bias_T, bucket_BxLxL)
            if rel_BxLxL.shape[0] == 1:  # one position bias for the batch
                a_BxLxHxV = pointwise_attention_fused(*qkv, bias_BxLxL, valid_BxL, _lookup(pos_bias_R, rel_BxLxL[0]))
            else:
                bias_BxLxL = bias_BxLxL + _lookup(pos_bias_R, rel_BxLxL)
                a_BxLxHxV = pointwise_attention_fused(*qkv, bias_BxLxL, valid_BxL)
        else:
            bias_Bx1xLxL = (pos_bias_R[rel_BxLxL] + time_bias_T[bucket_BxLxL])[:, None]
            a_BxLxHxV = pointwise_attention(*qkv, bias_Bx1xLxL, valid_BxL)
        y_BxLxHV = u_BxLxHV * layer_norm(a_BxLxHxV.reshape(B, L, HV))
        return x_BxLxD + self.out(self.dropout(y_BxLxHV))


class Model(SequentialRecommender):
    def __init__(self, cfg: Config, *, rngs: nnx.Rngs):
        self._init_io(cfg, rngs)
        self.blocks = nnx.List([Block(cfg, rngs=rngs) for _ in range(cfg.n_blocks)])

    def encode(self, x_BxLxD, batch):
        valid_BxL = batch["ids"] != 0
        t_BxL = jnp.asarray(batch["timestamps"])
        if self.cfg.attention == "fused":
            return self._encode_compacted(x_BxLxD, t_BxL, valid_BxL)
        pos_BxL = real_positions(valid_BxL, self.cfg.max_len)
        rel_BxLxL = pos_BxL[:, :, None] - pos_BxL[:, None, :] + self.cfg.max_len - 1
        return self._blocks(x_BxLxD, rel_BxLxL, t_BxL, valid_BxL)

    def _blocks(self, x_BxLxD, rel_BxLxL, t_BxL, valid_BxL):
        bucket_BxLxL = time_buckets(t_BxL[:, :, None] - t_BxL[:, None, :], self.cfg.n_time_buckets)
        for block in self.blocks:
            x_BxLxD = block(x_BxLxD, rel_BxLxL, bucket_BxLxL, valid_BxL)
        return x_BxLxD

    def _encode_compacted(self, x_BxLxD, t_BxL, valid_BxL):
        """The blocks over each row's real items moved to the front (in order; the identity
        for right-padded rows), where an item's rank is its index, so the position bias is
        one Toeplitz [L, L] matrix shared by the batch; the outputs are moved back."""
        order_BxL = jnp.argsort(~valid_BxL, axis=1, stable=True)
        take = lambda a: jnp.take_along_axis(a, order_BxL.reshape(*order_BxL.shape, *[1] * (a.ndim - 2)), axis=1)
        rel_1xLxL = jnp.asarray(toeplitz_indices(x_BxLxD.shape[1], self.cfg.max_len))[None]
        y_BxLxD = self._blocks(take(x_BxLxD), rel_1xLxL, take(t_BxL), take(valid_BxL))
        back_BxL = jnp.argsort(order_BxL, axis=1)
        return jnp.take_along_axis(y_BxLxD, back_BxL[..., None], axis=1)


def block_params(cfg: Config) -> int:
    """Parameters of one ``Block``."""
    return (
        cfg.d_model * _uvqk_width(cfg)
        + cfg.n_heads * cfg.d_v * cfg.d_model
        + cfg.d_model
        + 2 * cfg.max_len
        - 1
        + cfg.n_time_buckets
    )


def param_counts(cfg: Config) -> dict[str, int]:
    embedding, other = embedding_params(cfg)
    dense = other + cfg.n_blocks * block_params(cfg)
    return {"embedding": embedding, "dense": dense, "total": embedding + dense}


# Elementwise ops per element as XLA's cost analysis counts them (fitted to CPU
# cost_analysis over a grid of sizes, rounded): per head and score (bias add, SiLU,
# mask select, divide); per block and score (causal/pad mask, visible count, bias
# gathers and add, and the rel/time-bucket arithmetic, which XLA re-fuses into every
# block); once per score (bucketing, ranks); per element of an [L, D] LayerNorm.
_HEAD_SCORE_OPS = 7
_BLOCK_SCORE_OPS = 15
_ONCE_SCORE_OPS = 9
_LN_OPS = 12


def attention_flops(cfg: Config, n) -> float:
    """FLOPs that grow as ``n^2`` for a sequence of ``n`` items: every block's ``Q K^T``
    and ``A V`` (2 per multiply-add) and its elementwise work on the scores."""
    H = cfg.n_heads
    per_block = 2 * H * (cfg.d_qk + cfg.d_v) + _HEAD_SCORE_OPS * H + _BLOCK_SCORE_OPS
    return cfg.n_blocks * per_block * np.asarray(n, dtype=np.float64) ** 2


def encoder_flops(cfg: Config) -> float:
    """Forward FLOPs of the blocks over ``max_len`` positions, attention included."""
    L, D = cfg.max_len, cfg.d_model
    HV, W = cfg.n_heads * cfg.d_v, _uvqk_width(cfg)
    per_block = (
        2 * L * D * W + 4 * L * W  # uvqk projection, SiLU
        + 2 * L * HV * D + L * D  # output projection, bias
        + _LN_OPS * L * (D + HV)  # LayerNorm(X), LayerNorm(A V)
        + L * HV + L * D  # gate, residual
    )
    return cfg.n_blocks * per_block + attention_flops(cfg, L) + _ONCE_SCORE_OPS * L * L


def forward_flops(cfg: Config) -> int:
    """Analytic forward FLOPs per example at ``max_len`` (training counts 3x): encoder
    and ranking head; scoring against items is left to the caller (it depends on the
    number of candidates). Matmuls count 2 per multiply-add; elementwise work counts as
    XLA's cost analysis does, approximately (constants above). Dropout is not counted
    (eval mode)."""
    return int(encoder_flops(cfg) + io_flops(cfg))


def expected_attention_flops(cfg: Config, lengths, alpha: float | None = None) -> float:
    """Mean per-example ``attention_flops`` over histories of the given real lengths,
    each processed at its own length, after Stochastic Length with ``alpha`` (None: no SL)."""
    n = np.asarray(lengths, dtype=np.float64)
    sq = n**2 if alpha is None else sl_expected_square_length(n, alpha, cfg.max_len)
    return float(np.mean(attention_flops(cfg, 1.0) * sq))
