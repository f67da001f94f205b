"""DLRM (Naumov et al. 2019) in Flax NNX.

Dense features go through a bottom MLP to a vector of the embedding width (its last
layer linear, so a narrow width cannot lose the dense signal to dead ReLUs); each sparse
field looks its ids up (hashed modulo the table's rows) in its own table, multi-hot bags
sum-pooled; the dot interaction takes all pairwise dot products among those F+1 vectors
(strict lower triangle) and concatenates them with the dense vector; the over-arch (top)
MLP maps that to one logit.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from models import init
from models.layers import MLP, SparseInputs, mlp_flops, mlp_params


@dataclasses.dataclass(frozen=True)
class Config(SparseInputs):
    embed_dim: int = 16
    bottom_mlp: tuple[int, ...] = (64, 32)
    top_mlp: tuple[int, ...] = (64, 32)
    # Embeddings start U(-embed_init, embed_init). The reference DLRM's 1/sqrt(rows) is so
    # small for large tables that the dot interactions start near zero and runs become
    # seed-sensitive (measured: NE spread across seeds 0.012 vs 0.002 with 0.05).
    embed_init: float = 0.05
    activation: str = "relu"  # relu (the reference) | silu | gelu

    @property
    def n_vectors(self) -> int:
        return len(self.fields) + 1

    @property
    def n_pairs(self) -> int:
        return self.n_vectors * (self.n_vectors - 1) // 2

    @property
    def bottom_sizes(self) -> tuple[int, ...]:
        return (self.n_dense, *self.bottom_mlp, self.embed_dim)

    @property
    def top_sizes(self) -> tuple[int, ...]:
        return (self.embed_dim + self.n_pairs, *self.top_mlp, 1)


class Model(nnx.Module):
    def __init__(self, cfg: Config, *, rngs: nnx.Rngs):
        self.cfg = cfg
        self.bottom = MLP(cfg.bottom_sizes, final_relu=False, activation=cfg.activation, rngs=rngs)
        self.tables = nnx.List(
            [
                nnx.Embed(r, cfg.embed_dim, embedding_init=init.uniform(cfg.embed_init), rngs=rngs)
                for r in cfg.rows
            ]
        )
        self.top = MLP(cfg.top_sizes, final_relu=False, zero_last=True, activation=cfg.activation, rngs=rngs)

    # The sparse-update protocol (see sweeps/sparse_optim.py): the trainer gathers the rows
    # itself (``row_ids`` then ``tables[i][ids]``), differentiates ``from_rows`` with
    # respect to the gathered rows only and updates just those rows of each table.
    # ``__call__`` is ``from_rows`` on the rows the tables look up.
    SPARSE_TABLES = "tables"

    def row_ids(self, ids: Mapping[str, jax.Array]) -> list[jax.Array]:
        """Per table, the rows each example reads: [B] for one-hot fields, [B, L] for bags."""
        return [ids[name] % rows for name, rows in zip(self.cfg.fields, self.cfg.rows)]

    def _pool(self, rows: list[jax.Array]) -> list[jax.Array]:
        return [e.sum(axis=1) if bag else e for e, bag in zip(rows, self.cfg.bags)]

    def embed(self, ids: Mapping[str, jax.Array]) -> list[jax.Array]:
        return self._pool([table(i) for table, i in zip(self.tables, self.row_ids(ids))])

    def from_rows(self, inputs: Mapping, rows: list[jax.Array]) -> jax.Array:
        """The logits given the looked-up rows of every table (``rows[i]``: ids shape + [dim])."""
        return self._interact(inputs["dense"], self._pool(rows))

    def __call__(self, inputs: Mapping) -> jax.Array:
        return self._interact(inputs["dense"], self.embed(inputs["ids"]))

    def _interact(self, dense: jax.Array, embedded: list[jax.Array]) -> jax.Array:
        x_BxD = self.bottom(dense)
        # nnx.Embed returns its param dtype; the interaction runs in the dense part's
        # compute dtype (bf16 under mixed precision, else a no-op)
        z_BxVxD = jnp.stack([x_BxD, *(e.astype(x_BxD.dtype) for e in embedded)], axis=1)
        pairs_BxP = pairwise_dots(z_BxVxD)
        return self.top(jnp.concatenate([x_BxD, pairs_BxP], axis=1))[:, 0]


@jax.custom_vjp
def pairwise_dots(z_BxVxD: jax.Array) -> jax.Array:
    """The dot products of every pair of the V vectors (strict lower triangle, row-major): [B, V(V-1)/2].

    Its gradient is one batched matmul, ``(G + G^T) z`` with G the pairs' gradient laid
    into the triangle by a gather, instead of autodiff's scatter into [B, V, V] and the
    two matmuls of the einsum's transpose (measured: the interaction's forward and
    backward in half the time at the Criteo-Kaggle shape; the same numbers to rounding).
    """
    return _pairs(z_BxVxD)


def _tril_flat(v: int) -> np.ndarray:
    li, lj = np.tril_indices(v, k=-1)
    return li * v + lj


def _pairs(z_BxVxD):
    b, v, _ = z_BxVxD.shape
    dots = jnp.einsum("bvd,bwd->bvw", z_BxVxD, z_BxVxD).reshape(b, v * v)
    return jnp.take(dots, _tril_flat(v), axis=1)


def _pairs_fwd(z_BxVxD):
    return _pairs(z_BxVxD), z_BxVxD


def _pairs_bwd(z_BxVxD, g_BxP):
    b, v, _ = z_BxVxD.shape
    li, lj = np.tril_indices(v, k=-1)
    sym = np.full(v * v, len(li))  # the diagonal reads the appended zero
    sym[li * v + lj] = sym[lj * v + li] = np.arange(len(li))
    padded = jnp.concatenate([g_BxP, jnp.zeros((b, 1), g_BxP.dtype)], axis=1)
    g_sym_BxVxV = jnp.take(padded, sym, axis=1).reshape(b, v, v)
    return (jnp.einsum("bvw,bwd->bvd", g_sym_BxVxV, z_BxVxD).astype(z_BxVxD.dtype),)


pairwise_dots.defvjp(_pairs_fwd, _pairs_bwd)


def pairwise_dots_reference(z_BxVxD: jax.Array) -> jax.Array:
    """``pairwise_dots`` as plain autodiff sees it (einsum, triangle; its gradient a scatter
    and two matmuls): the reference its parity test and the step profile compare with."""
    li, lj = np.tril_indices(z_BxVxD.shape[1], k=-1)
    return jnp.einsum("bvd,bwd->bvw", z_BxVxD, z_BxVxD)[:, li, lj]


def param_counts(cfg: Config) -> dict[str, int]:
    embedding = sum(r * cfg.embed_dim for r in cfg.rows)
    dense = mlp_params(cfg.bottom_sizes) + mlp_params(cfg.top_sizes)
    return {"embedding": embedding, "dense": dense, "total": embedding + dense}


def forward_flops(cfg: Config) -> int:
    """Analytic forward FLOPs per example (training counts 3x: forward plus backward)."""
    d = cfg.embed_dim
    pooling = sum(max(b - 1, 0) * d for b in cfg.bags)
    interaction = 2 * cfg.n_vectors**2 * d
    return (
        mlp_flops(cfg.bottom_sizes, final_relu=False)
        + pooling
        + interaction
        + mlp_flops(cfg.top_sizes, final_relu=False)
    )
