"""SASRec (Kang & McAuley 2018) in Flax NNX, with the same interface as ``models.hstu``.

Input ``item_emb * sqrt(d) + position_emb`` (positions = rank among real items), dropout;
``n_blocks`` pre-LayerNorm blocks ``x += dropout(MHA(LN(x)))``, ``x += FFN(LN(x))`` with
causal softmax attention over real positions only and a ReLU FFN ``d -> d_ff -> d``
(dropout after each of its layers); a final LayerNorm; output L2-normalised per position.
Differences from the original: pre-LN residuals on ``x`` (the original adds the attention
output to the normalised query), and no dropout on the attention weights.
Parameter split: ``embedding`` is the item table; ``dense`` everything else.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from models import init
from models.attention import softmax_attention
from models.seq_common import SequentialRecommender, embedding_params, io_flops, sl_expected_square_length


@dataclasses.dataclass(frozen=True)
class Config:
    n_items: int  # embedding rows, row 0 = padding
    max_len: int = 200
    d_model: int = 50
    n_blocks: int = 2
    n_heads: int = 1
    d_ff: int | None = None  # FFN hidden width, default d_model
    dropout: float = 0.2
    head_mlp: tuple[int, ...] = ()

    def __post_init__(self):
        if self.n_items < 2:
            raise ValueError("n_items must be >= 2 (row 0 is padding)")
        if self.d_model % self.n_heads:
            raise ValueError("d_model must be divisible by n_heads")
        if self.d_ff is None:
            object.__setattr__(self, "d_ff", self.d_model)


PRESETS = {
    "ml-1m": dict(max_len=200, d_model=50, n_blocks=2, n_heads=1, d_ff=50, dropout=0.2),
    "ml-20m": dict(max_len=200, d_model=256, n_blocks=4, n_heads=4, d_ff=256, dropout=0.2),
    "books": dict(max_len=50, d_model=64, n_blocks=4, n_heads=4, d_ff=64, dropout=0.5),
}

_LN_EPS = 1e-6


class Block(nnx.Module):
    def __init__(self, cfg: Config, *, rngs: nnx.Rngs):
        D = cfg.d_model
        self.cfg = cfg
        self.ln_attn = init.layer_norm(D, epsilon=_LN_EPS, rngs=rngs)
        self.qkv = init.linear(D, 3 * D, rngs=rngs)
        self.out = init.linear(D, D, rngs=rngs)
        self.ln_ffn = init.layer_norm(D, epsilon=_LN_EPS, rngs=rngs)
        self.ff1 = init.linear(D, cfg.d_ff, rngs=rngs)
        self.ff2 = init.linear(cfg.d_ff, D, rngs=rngs)
        self.dropout = nnx.Dropout(cfg.dropout, rngs=rngs)

    def __call__(self, x_BxLxD, valid_BxL):
        B, L, D = x_BxLxD.shape
        H = self.cfg.n_heads
        q_BxLxD, k_BxLxD, v_BxLxD = jnp.split(self.qkv(self.ln_attn(x_BxLxD)), 3, axis=-1)
        heads = lambda t: t.reshape(B, L, H, D // H)
        a_BxLxD = softmax_attention(heads(q_BxLxD), heads(k_BxLxD), heads(v_BxLxD), valid_BxL).reshape(B, L, D)
        x_BxLxD = x_BxLxD + self.dropout(self.out(a_BxLxD))
        h_BxLxF = self.dropout(jax.nn.relu(self.ff1(self.ln_ffn(x_BxLxD))))
        return x_BxLxD + self.dropout(self.ff2(h_BxLxF))


class Model(SequentialRecommender):
    def __init__(self, cfg: Config, *, rngs: nnx.Rngs):
        self._init_io(cfg, rngs)
        self.blocks = nnx.List([Block(cfg, rngs=rngs) for _ in range(cfg.n_blocks)])
        self.ln_final = init.layer_norm(cfg.d_model, epsilon=_LN_EPS, rngs=rngs)

    def encode(self, x_BxLxD, batch):
        valid_BxL = batch["ids"] != 0
        for block in self.blocks:
            x_BxLxD = block(x_BxLxD, valid_BxL)
        return self.ln_final(x_BxLxD)


def param_counts(cfg: Config) -> dict[str, int]:
    D, F = cfg.d_model, cfg.d_ff
    embedding, other = embedding_params(cfg)
    block = 2 * D + (3 * D * D + 3 * D) + (D * D + D) + 2 * D + (D * F + F) + (F * D + D)
    dense = other + cfg.n_blocks * block + 2 * D
    return {"embedding": embedding, "dense": dense, "total": embedding + dense}


# Elementwise ops per element as XLA's cost analysis counts them (fitted to CPU
# cost_analysis over a grid of sizes, rounded): per head and score (scale, mask
# selects, max, subtract, sum, divide); per block and score (causal/pad mask); per
# element of an [L, D] LayerNorm with affine.
_HEAD_SCORE_OPS = 7
_BLOCK_SCORE_OPS = 5
_LN_OPS = 10


def attention_flops(cfg: Config, n) -> float:
    """FLOPs that grow as ``n^2`` for a sequence of ``n`` items: every block's ``Q K^T``
    and ``A V`` (2 per multiply-add) and its elementwise work on the scores."""
    H = cfg.n_heads
    per_block = 4 * cfg.d_model + _HEAD_SCORE_OPS * H + _BLOCK_SCORE_OPS
    return cfg.n_blocks * per_block * np.asarray(n, dtype=np.float64) ** 2


def forward_flops(cfg: Config) -> int:
    """Analytic forward FLOPs per example at ``max_len`` (training counts 3x): encoder
    and ranking head, not the scoring against items. Matmuls count 2 per multiply-add;
    elementwise work counts as XLA's cost analysis does, approximately (constants above).
    Dropout is not counted (eval mode)."""
    L, D, F = cfg.max_len, cfg.d_model, cfg.d_ff
    per_block = (
        2 * L * D * 3 * D + 3 * L * D  # qkv projection
        + 2 * L * D * D + L * D  # output projection
        + 2 * L * D * F + 2 * L * F  # ff1, ReLU
        + 2 * L * F * D + L * D  # ff2
        + 2 * _LN_OPS * L * D + 2 * L * D  # two LayerNorms, two residuals
    )
    return int(cfg.n_blocks * per_block + attention_flops(cfg, L) + _LN_OPS * L * D + io_flops(cfg))


def expected_attention_flops(cfg: Config, lengths, alpha: float | None = None) -> float:
    """Mean per-example ``attention_flops`` over histories of the given real lengths,
    each processed at its own length, after Stochastic Length with ``alpha`` (None: no SL)."""
    n = np.asarray(lengths, dtype=np.float64)
    sq = n**2 if alpha is None else sl_expected_square_length(n, alpha, cfg.max_len)
    return float(np.mean(attention_flops(cfg, 1.0) * sq))
