"""Sparse, row-wise embedding updates: a step costs O(batch x dim), not O(rows x dim).

With a dense optimiser the gradient of an embedding table is a full ``rows x dim`` array
(mostly zeros) and the optimiser reads and writes every element of the table and of its
state on every step. Here the trainer gathers the rows a batch reads *outside* the
differentiated function, differentiates with respect to those gathered rows only, sums
the gradients of duplicate ids, and updates just those rows of the table and of its
optimiser state with a scatter. The dense part of the model keeps the optax optimiser
named by ``optim.name``.

``optim.embeddings`` selects the rule for the tables:

* ``dense`` (default): the tables are ordinary parameters of ``optim.name``;
* ``sgd``: ``w[r] -= lr * g[r]``, the same numbers as dense SGD;
* ``rowwise_adagrad``: one accumulator per row, ``G[r] += mean_d g[r,d]^2`` and
  ``w[r] -= lr * g[r] / sqrt(G[r] + eps)`` (DLRM/FBGEMM practice: 1/dim of Adagrad's
  state; starts at optax's 0.1, so with dim 1 it is exactly ``optax.adagrad``);
* ``lazy_adam``: Adam moments kept per element but updated only for the rows a batch
  reads (TensorFlow's LazyAdam, PyTorch's SparseAdam); bias correction counts global
  steps. Where every row is read on every step it is exactly ``optax.adam``; elsewhere
  unseen rows keep their moments instead of drifting on stale momentum. No weight decay
  is applied to the tables.

A model supports sparse updates by exposing the protocol of ``models.dlrm.Model``:
``SPARSE_TABLES`` (the attribute holding a list of ``nnx.Embed``), ``row_ids(ids)`` (per
table, the rows each example reads) and ``from_rows(inputs, rows)`` (the logits given the
gathered rows). Any other model trains with ``embeddings: dense`` only.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from sweeps.errors import SpecError
from sweeps.train import optim
from sweeps.train.core import Core, apply_update
from sweeps.train.optim import OptimConfig

ADAGRAD_INIT = 0.1  # optax.adagrad's initial accumulator, so dim 1 matches it exactly


class SparseState(NamedTuple):
    rest: Any  # nnx.State of every parameter that is not a sparse table
    tables: tuple[jax.Array, ...]  # the stored arrays (see ``Layout``)
    dense_opt: Any  # optax state of ``rest``
    table_opt: tuple[Any, ...]  # per table, the row-wise optimiser state
    count: jax.Array  # steps taken (Adam's bias correction)


class Layout(NamedTuple):
    """Where each of the model's tables is stored: ``where[i] = (array, row offset)``.

    ``separate``: one array per table. ``fused``: every table in one array, grouped in
    ``n`` equal blocks of whole tables, so that sharding its rows over ``n`` devices puts
    whole tables on each device (table-wise sharding); a sparse update of a fused array
    is one scatter for all tables.
    """

    rows: tuple[int, ...]  # rows of each stored array
    where: tuple[tuple[int, int], ...]

    @staticmethod
    def separate(rows: tuple[int, ...]) -> "Layout":
        return Layout(tuple(rows), tuple((i, 0) for i in range(len(rows))))

    @staticmethod
    def fused(rows: tuple[int, ...], n: int) -> "Layout":
        # Greedy: largest table first, onto the least-loaded block; blocks padded to the fullest.
        load, place = [0] * n, {}
        for i in sorted(range(len(rows)), key=lambda i: -rows[i]):
            k = min(range(n), key=lambda k: load[k])
            place[i], load[k] = (k, load[k]), load[k] + rows[i]
        block = max(load)
        return Layout((n * block,), tuple((0, k * block + off) for k, off in (place[i] for i in range(len(rows)))))


def supports(model: nnx.Module) -> bool:
    return all(hasattr(model, a) for a in ("SPARSE_TABLES", "row_ids", "from_rows"))


def unique_rows(idx: jax.Array, g: jax.Array, n_rows: int) -> tuple[jax.Array, jax.Array]:
    """Distinct rows among ``idx`` and their summed gradients, padded to ``idx.size``.

    Padding rows are ``n_rows`` (out of range: scatters with ``mode="drop"`` skip them)
    with zero gradient. Costs a sort of the batch's ids, nothing proportional to the table.
    """
    flat = idx.reshape(-1)
    rows, inv = jnp.unique(flat, size=flat.shape[0], fill_value=n_rows, return_inverse=True)
    summed = jax.ops.segment_sum(g.reshape(flat.shape[0], -1), inv.reshape(-1), num_segments=flat.shape[0])
    return rows, summed


def _get(a: jax.Array, rows: jax.Array) -> jax.Array:
    return a.at[rows].get(mode="fill", fill_value=0)


def _sgd(cfg: OptimConfig):
    def init(table):
        return ()

    def update(table, state, idx, g, lr, count):
        # Duplicate ids need no merging: a scatter-add sums them, as the dense gradient does.
        flat = idx.reshape(-1)
        return table.at[flat].add(-lr * g.reshape(flat.shape[0], -1), mode="drop"), state

    return init, update


def _rowwise_adagrad(cfg: OptimConfig):
    def init(table):
        return jnp.full(table.shape[:1], ADAGRAD_INIT, table.dtype)

    def update(table, acc, idx, g, lr, count):
        rows, g = unique_rows(idx, g, table.shape[0])
        a = _get(acc, rows) + jnp.mean(g * g, axis=-1)
        scale = jnp.where(a > 0, jax.lax.rsqrt(a + cfg.eps), 0.0)
        return table.at[rows].add(-lr * (g * scale[:, None]), mode="drop"), acc.at[rows].set(a, mode="drop")

    return init, update


def _lazy_adam(cfg: OptimConfig):
    b1, b2 = cfg.b1, cfg.b2

    # Both moments of a row side by side in one [rows, 2, dim] array: one gather and one
    # scatter per step instead of two of each, on what is a random access per row read.
    def init(table):
        return jnp.zeros((table.shape[0], 2, *table.shape[1:]), table.dtype)

    def update(table, moments, idx, g, lr, count):
        rows, g = unique_rows(idx, g, table.shape[0])
        old = _get(moments, rows)
        # The same expressions, in the same order, as optax.scale_by_adam.
        mu = (1 - b1) * g + b1 * old[:, 0]
        nu = (1 - b2) * (g**2) + b2 * old[:, 1]
        mu_hat = mu / (1 - b1**count).astype(mu.dtype)
        nu_hat = nu / (1 - b2**count).astype(nu.dtype)
        step = mu_hat / (jnp.sqrt(nu_hat) + cfg.eps)
        table = table.at[rows].add(lr * -step, mode="drop")
        return table, moments.at[rows].set(jnp.stack([mu, nu], axis=1), mode="drop")

    return init, update


RULES = {"sgd": _sgd, "rowwise_adagrad": _rowwise_adagrad, "lazy_adam": _lazy_adam}


def build(
    module, model_cfg, optim_cfg: OptimConfig, loss: Callable, arch: str, fuse: int = 0, cast=lambda t: t
) -> Core:
    """The training core that updates ``module.Model``'s tables row-wise by ``optim_cfg.embeddings``.

    ``fuse`` > 0 stores the tables fused in ``fuse`` blocks (``Layout.fused``); ``cast``
    is applied to what the forward pass reads (mixed precision, ``ctr.compute_cast``).
    """
    abstract = nnx.eval_shape(lambda: module.Model(model_cfg, rngs=nnx.Rngs(0)))
    if not supports(abstract):
        raise SpecError(
            "optim.embeddings",
            f"{arch!r} does not support sparse embedding updates ({optim_cfg.embeddings!r}); use 'dense'",
        )
    attr = abstract.SPARSE_TABLES

    def is_table(path, value) -> bool:
        return path[0] == attr

    graphdef, tables_like, _ = nnx.split(abstract, is_table, ...)
    # Leaves of the tables' state come in nnx's key order; keep the model's table order.
    paths = [p for p, _ in jax.tree_util.tree_flatten_with_path(tables_like)[0]]
    order = [p[1].key for p in paths]
    treedef = jax.tree.structure(tables_like)
    tx = optim.make(optim_cfg)
    rule_init, rule_update = RULES[optim_cfg.embeddings](optim_cfg)

    table_rows = [leaf.shape[0] for leaf in jax.tree.leaves(tables_like)]
    rows = [table_rows[order.index(i)] for i in range(len(order))]
    layout = Layout.fused(tuple(rows), fuse) if fuse else Layout.separate(tuple(rows))

    def per_table(arrays) -> list[jax.Array]:
        return [arrays[a][o : o + r] if fuse else arrays[a] for (a, o), r in zip(layout.where, rows)]

    def tables_state(arrays):
        tables = per_table(arrays)
        return jax.tree.unflatten(treedef, [tables[i] for i in order])

    def split(model):
        _, tab, rest = nnx.split(model, is_table, ...)
        tables = [None] * len(order)
        for i, leaf in zip(order, jax.tree.leaves(tab)):
            tables[i] = leaf
        if not fuse:
            return rest, tuple(tables)
        fused = jnp.zeros((layout.rows[0], tables[0].shape[1]), tables[0].dtype)
        for (_, o), t in zip(layout.where, tables):
            fused = fused.at[o : o + t.shape[0]].set(t)
        return rest, (fused,)

    def init(seed: int) -> SparseState:
        rest, arrays = split(module.Model(model_cfg, rngs=nnx.Rngs(seed)))
        return SparseState(
            rest, arrays, tx.init(rest), tuple(rule_init(t) for t in arrays), jnp.zeros((), jnp.int32)
        )

    def model_of(state: SparseState) -> nnx.Module:
        return nnx.merge(graphdef, tables_state(state.tables), state.rest)

    def step(state: SparseState, batch: dict, lr: jax.Array):
        tabs = tables_state(state.tables)
        idx = model_of(state).row_ids(batch["inputs"]["ids"])
        # ids in the stored arrays' rows (a fused array holds every table at its offset)
        idx = [i + o if o else i for i, (_, o) in zip(idx, layout.where)]
        gathered = [jnp.take(state.tables[a], i, axis=0) for i, (a, _) in zip(idx, layout.where)]

        def loss_fn(rest, rows):
            # The tables enter only through ``rows``: nothing here has a table-sized gradient.
            model = nnx.merge(graphdef, tabs, cast(rest))
            return loss(model.from_rows(cast(batch["inputs"]), cast(rows)), batch["label"])

        value, (g_rest, g_rows) = jax.value_and_grad(loss_fn, argnums=(0, 1))(state.rest, gathered)
        rest, dense_opt = apply_update(tx, state.rest, state.dense_opt, g_rest, lr)
        count = state.count + 1
        tables, table_opt = list(state.tables), list(state.table_opt)
        for a in range(len(layout.rows)):
            mine = [k for k, (b, _) in enumerate(layout.where) if b == a]
            ids = jnp.concatenate([idx[k].reshape(-1) for k in mine])
            g = jnp.concatenate([g_rows[k].reshape(-1, g_rows[k].shape[-1]) for k in mine])
            tables[a], table_opt[a] = rule_update(tables[a], table_opt[a], ids, g, lr, count)
        return SparseState(rest, tuple(tables), dense_opt, tuple(table_opt), count), value

    return Core(init, step, model_of)
