"""Wukong (Zhang et al., ICML 2024, arXiv 2403.02545) in Flax NNX: stacked factorization machines.

Embedding layer: each sparse field looks its ids up (hashed modulo the table's rows) in its
own ``d``-wide table, multi-hot bags sum-pooled (as DLRM); the dense features go through an
MLP (its last layer linear) into ``n_dense_emb`` embeddings of the same ``d``. ``X_0`` is
``n_0 x d`` with ``n_0 = n_dense_emb + fields``, the dense embeddings first.

Interaction stack of ``n_layers`` layers, each from ``n`` to ``n_out = n_fm + n_lc``
embeddings::

    X_{i+1} = LayerNorm_d(concat(FMB(X_i), LCB(X_i)) + R X_i)

* FMB(X) = reshape(MLP(LayerNorm(flatten(X (X^T Y))))) to ``n_fm`` embeddings, with a
  learned ``n x fm_rank`` projection ``Y``: the optimised FM, ``O(n k d)`` instead of the
  ``O(n^2 d)`` of ``(X X^T) Y`` (``fm_naive``, the plain reference, gives the same numbers);
* LCB(X) = W_L X, ``n_lc`` linear recombinations of the embeddings;
* ``R`` is the identity where ``n == n_out`` and a learned ``n_out x n`` projection where
  the widths differ (the first layer, usually).

LayerNorms are over the embedding width ``d`` (per embedding) in the residual and over the
flattened FM output in the FMB, both with a learned scale and bias. The final (top) MLP maps
the flattened last layer (``n_out * d``) to one logit, its last layer starting at zero.

Parameter split: ``embedding`` is the id tables, ``dense`` everything else. The tables live
in ``tables``: the sparse-update protocol of ``models.dlrm`` reads them there, and the
trainer's sharding splits by rows what lies under that key.
"""

from __future__ import annotations

import dataclasses
import jax
import jax.numpy as jnp
from flax import nnx

from models import init
from models import dlrm
from models.layers import ACTIVATIONS, MLP, SparseInputs, mlp_flops, mlp_params


@dataclasses.dataclass(frozen=True)
class Config(SparseInputs):
    embed_dim: int = 16  # d
    n_dense_emb: int = 2  # embeddings the dense MLP produces
    dense_mlp: tuple[int, ...] = (64,)  # hidden layers of the dense MLP
    n_layers: int = 2  # l
    n_fm: int = 8  # n_F: FMB output embeddings
    n_lc: int = 8  # n_L: LCB output embeddings
    fm_rank: int = 8  # k: columns of the FM projection Y
    fmb_mlp: tuple[int, ...] = (64,)  # hidden layers of each FMB's MLP
    top_mlp: tuple[int, ...] = (64, 32)  # hidden layers of the final MLP
    embed_init: float = 0.05  # tables start U(-embed_init, embed_init), as DLRM
    activation: str = "relu"

    def __post_init__(self):
        super().__post_init__()
        for name in ("embed_dim", "n_dense_emb", "n_layers", "n_fm", "n_lc", "fm_rank"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}")

    @property
    def n_inputs(self) -> int:
        """n_0: embeddings entering the first layer."""
        return self.n_dense_emb + len(self.fields)

    @property
    def n_out(self) -> int:
        return self.n_fm + self.n_lc

    def layer_inputs(self) -> tuple[int, ...]:
        """Embeddings entering each layer: ``n_0``, then ``n_out`` for every later layer."""
        return (self.n_inputs,) + (self.n_out,) * (self.n_layers - 1)

    @property
    def dense_sizes(self) -> tuple[int, ...]:
        return (self.n_dense, *self.dense_mlp, self.n_dense_emb * self.embed_dim)

    def fmb_sizes(self, n: int) -> tuple[int, ...]:
        return (n * self.fm_rank, *self.fmb_mlp, self.n_fm * self.embed_dim)

    @property
    def top_sizes(self) -> tuple[int, ...]:
        return (self.n_out * self.embed_dim, *self.top_mlp, 1)


def fm(x_BxNxD: jax.Array, y_NxK: jax.Array) -> jax.Array:
    """The optimised FM ``X (X^T Y)``: ``[B, n, k]`` in O(n k d)."""
    xty_BxDxK = jnp.einsum("bnd,nk->bdk", x_BxNxD, y_NxK)
    return jnp.einsum("bnd,bdk->bnk", x_BxNxD, xty_BxDxK)


def fm_naive(x_BxNxD: jax.Array, y_NxK: jax.Array) -> jax.Array:
    """The plain reference ``(X X^T) Y``: every pairwise dot product first, O(n^2 d)."""
    dots_BxNxN = jnp.einsum("bnd,bmd->bnm", x_BxNxD, x_BxNxD)
    return jnp.einsum("bnm,mk->bnk", dots_BxNxN, y_NxK)


def _normal(std: float):
    return init.normal(std)


class Layer(nnx.Module):
    """One interaction layer, ``n`` embeddings in, ``cfg.n_out`` out."""

    def __init__(self, cfg: Config, n: int, *, rngs: nnx.Rngs):
        self.cfg = cfg
        d, k = cfg.embed_dim, cfg.fm_rank
        self.fm_proj = nnx.Param(_normal(n**-0.5)(rngs.params(), (n, k)))
        self.fm_norm = init.layer_norm(n * k, rngs=rngs)
        self.fmb = MLP(cfg.fmb_sizes(n), final_relu=False, activation=cfg.activation, rngs=rngs)
        self.lcb = nnx.Param(_normal(n**-0.5)(rngs.params(), (cfg.n_lc, n)))
        self.residual = nnx.Param(_normal(n**-0.5)(rngs.params(), (cfg.n_out, n))) if n != cfg.n_out else None
        self.norm = init.layer_norm(d, rngs=rngs)

    def __call__(self, x_BxNxD: jax.Array) -> jax.Array:
        cfg = self.cfg
        B = x_BxNxD.shape[0]
        dt = x_BxNxD.dtype
        fm_BxNxK = fm(x_BxNxD, self.fm_proj[...].astype(dt))
        h_BxFD = self.fmb(self.fm_norm(fm_BxNxK.reshape(B, -1)))
        fmb_BxFxD = h_BxFD.reshape(B, cfg.n_fm, cfg.embed_dim)
        lcb_BxLxD = jnp.einsum("ln,bnd->bld", self.lcb[...].astype(dt), x_BxNxD)
        res_BxMxD = x_BxNxD if self.residual is None else jnp.einsum("mn,bnd->bmd", self.residual[...].astype(dt), x_BxNxD)
        return self.norm(jnp.concatenate([fmb_BxFxD, lcb_BxLxD], axis=1) + res_BxMxD)


class Model(nnx.Module):
    def __init__(self, cfg: Config, *, rngs: nnx.Rngs):
        self.cfg = cfg
        self.dense = MLP(cfg.dense_sizes, final_relu=False, activation=cfg.activation, rngs=rngs)
        self.tables = nnx.List(
            [nnx.Embed(r, cfg.embed_dim, embedding_init=init.uniform(cfg.embed_init), rngs=rngs) for r in cfg.rows]
        )
        self.layers = nnx.List([Layer(cfg, n, rngs=rngs) for n in cfg.layer_inputs()])
        self.top = MLP(cfg.top_sizes, final_relu=False, zero_last=True, activation=cfg.activation, rngs=rngs)

    # The sparse-update protocol (see sweeps/train/sparse.py), DLRM's own methods: they read
    # only ``cfg.fields/rows/bags``, ``tables`` and ``_interact``, which this model shares.
    SPARSE_TABLES = "tables"
    row_ids = dlrm.Model.row_ids
    _pool = dlrm.Model._pool
    embed = dlrm.Model.embed
    from_rows = dlrm.Model.from_rows
    __call__ = dlrm.Model.__call__

    def inputs_x0(self, dense: jax.Array, embedded: list[jax.Array]) -> jax.Array:
        """``X_0``, ``[B, n_0, d]``: the dense embeddings, then one per sparse field."""
        cfg = self.cfg
        h_BxED = self.dense(dense)
        dense_BxExD = h_BxED.reshape(h_BxED.shape[0], cfg.n_dense_emb, cfg.embed_dim)
        sparse_BxFxD = jnp.stack([e.astype(h_BxED.dtype) for e in embedded], axis=1)
        return jnp.concatenate([dense_BxExD, sparse_BxFxD], axis=1)

    def _interact(self, dense: jax.Array, embedded: list[jax.Array]) -> jax.Array:
        x_BxNxD = self.inputs_x0(dense, embedded)
        for layer in self.layers:
            x_BxNxD = layer(x_BxNxD)
        return self.top(x_BxNxD.reshape(x_BxNxD.shape[0], -1))[:, 0]


def param_counts(cfg: Config) -> dict[str, int]:
    d, k, m = cfg.embed_dim, cfg.fm_rank, cfg.n_out
    embedding = sum(r * d for r in cfg.rows)
    layers = sum(
        n * k + 2 * n * k + mlp_params(cfg.fmb_sizes(n)) + cfg.n_lc * n + (m * n if n != m else 0) + 2 * d
        for n in cfg.layer_inputs()
    )
    dense = mlp_params(cfg.dense_sizes) + layers + mlp_params(cfg.top_sizes)
    return {"embedding": embedding, "dense": dense, "total": embedding + dense}


# Per element of a LayerNorm (mean, centre, square, variance, normalise, scale, shift), as
# XLA's cost analysis counts them; see tests/test_wukong.py.
_LN_OPS = 7


def layer_flops(cfg: Config, n: int) -> int:
    """Forward FLOPs per example of one interaction layer with ``n`` inputs."""
    d, k, m = cfg.embed_dim, cfg.fm_rank, cfg.n_out
    return (
        4 * n * d * k  # X^T Y, then X (X^T Y)
        + _LN_OPS * n * k
        + mlp_flops(cfg.fmb_sizes(n), final_relu=False)
        + 2 * cfg.n_lc * n * d
        + (2 * m * n * d if n != m else 0)
        + m * d  # the residual add
        + _LN_OPS * m * d
    )


def forward_flops(cfg: Config) -> int:
    """Analytic forward FLOPs per example (training counts 3x: forward plus backward)."""
    pooling = sum(max(b - 1, 0) * cfg.embed_dim for b in cfg.bags)
    return (
        mlp_flops(cfg.dense_sizes, final_relu=False)
        + pooling
        + sum(layer_flops(cfg, n) for n in cfg.layer_inputs())
        + mlp_flops(cfg.top_sizes, final_relu=False)
    )
