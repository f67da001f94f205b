"""Wide & Deep (Cheng et al. 2016) in Flax NNX.

``logit = wide(x) + deep(x)``. The *wide* part is linear: one weight per (hashed) id of
every sparse field, one per (hashed) id pair of every configured cross, multi-hot bags
summed, plus a linear map of the dense features. The *deep* part concatenates the dense
features with every field's embedding (bags sum-pooled) and runs an MLP to one logit.
Both are trained jointly on the same loss.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import jax
import jax.numpy as jnp
from flax import nnx

from models import init
from models.layers import MLP, SparseInputs, mlp_flops, mlp_params

_CROSS_PRIME = 1_000_003


@dataclasses.dataclass(frozen=True)
class Config(SparseInputs):
    embed_dim: int = 16
    deep_mlp: tuple[int, ...] = (64, 32)
    crosses: tuple[tuple[str, str], ...] = ()  # pairs of one-hot fields crossed in the wide part
    cross_rows: int = 4096
    embed_init: float = 0.05
    activation: str = "relu"

    def __post_init__(self):
        super().__post_init__()
        for a, b in self.crosses:
            for f in (a, b):
                if f not in self.fields or self.bags[self.fields.index(f)]:
                    raise ValueError(f"cross ({a}, {b}): {f!r} is not a one-hot field")

    @property
    def deep_sizes(self) -> tuple[int, ...]:
        return (self.n_dense + len(self.fields) * self.embed_dim, *self.deep_mlp, 1)


class Model(nnx.Module):
    def __init__(self, cfg: Config, *, rngs: nnx.Rngs):
        self.cfg = cfg
        zeros = init.zeros
        self.wide_ids = nnx.List([nnx.Embed(r, 1, embedding_init=zeros, rngs=rngs) for r in cfg.rows])
        self.wide_crosses = nnx.List([nnx.Embed(cfg.cross_rows, 1, embedding_init=zeros, rngs=rngs) for _ in cfg.crosses])
        self.wide_dense = init.linear(cfg.n_dense, 1, kernel_init=zeros, rngs=rngs)
        self.tables = nnx.List(
            [nnx.Embed(r, cfg.embed_dim, embedding_init=init.uniform(cfg.embed_init), rngs=rngs) for r in cfg.rows]
        )
        self.deep = MLP(cfg.deep_sizes, final_relu=False, zero_last=True, activation=cfg.activation, rngs=rngs)

    def _lookup(self, tables, ids: Mapping[str, jax.Array]) -> list[jax.Array]:
        out = []
        for name, rows, bag, table in zip(self.cfg.fields, self.cfg.rows, self.cfg.bags, tables):
            e = table(ids[name] % rows)
            out.append(e.sum(axis=1) if bag else e)
        return out

    def __call__(self, inputs: Mapping) -> jax.Array:
        ids, dense_BxF = inputs["ids"], inputs["dense"]
        wide_B = self.wide_dense(dense_BxF)[:, 0] + sum(w[:, 0] for w in self._lookup(self.wide_ids, ids))
        for (a, b), table in zip(self.cfg.crosses, self.wide_crosses):
            cross_id = (ids[a].astype(jnp.uint32) * _CROSS_PRIME + ids[b].astype(jnp.uint32)) % self.cfg.cross_rows
            wide_B = wide_B + table(cross_id.astype(jnp.int32))[:, 0]
        deep_in = jnp.concatenate([dense_BxF, *self._lookup(self.tables, ids)], axis=1)
        return wide_B + self.deep(deep_in)[:, 0]


def param_counts(cfg: Config) -> dict[str, int]:
    embedding = sum(cfg.rows) * (cfg.embed_dim + 1) + len(cfg.crosses) * cfg.cross_rows
    dense = mlp_params(cfg.deep_sizes) + cfg.n_dense + 1
    return {"embedding": embedding, "dense": dense, "total": embedding + dense}


def forward_flops(cfg: Config) -> int:
    """Per example: the deep MLP, bag pooling, and the wide part's multiply-adds."""
    pooling = sum(max(b - 1, 0) * (cfg.embed_dim + 1) for b in cfg.bags)
    wide = 2 * cfg.n_dense + len(cfg.fields) + 2 * len(cfg.crosses)
    return mlp_flops(cfg.deep_sizes, final_relu=False) + pooling + wide + 1
