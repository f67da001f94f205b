"""Train CTR trials: K lanes (K = 1 for a lone trial) of one program, periodic evaluation.

A lane is a trial. Trials that differ only in seed and learning-rate schedule
(``optim.lr``, ``schedule``, ``final_lr_frac``, ``warmup_steps``) run the same program
on the same batches, so with K > 1 ``jax.vmap`` stacks their states on a leading axis
and trains them in one compiled program: one compile, one scan per chunk, one
evaluation call per eval point (the runner asks for it: ``sweeps.packed``). Each lane
keeps its own learning curve, divergence check and result; a pack's timings are split
evenly. A packed trial's numbers equal its lone numbers to float rounding (vmap batches
the matmuls).

A step is a core (``sweeps.train.core``): ``dense_core`` below, or the sparse row-wise
core of ``sweeps.train.sparse`` (``optim.embeddings``); ``sweeps.train.sharding`` places
a lone trial's program on a device mesh (``train.sharding``).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import models
from sweeps.config import TrialConfig, checked, non_negative
from sweeps.data.ctr_world import Batch, CTRWorld
from sweeps.eval import ctr_metrics as metrics
from sweeps.train import budget, lanes, optim, sharding, sparse
from sweeps.train.core import CompileOnce, Core, TrainResult, apply_update, program_optim_key, programs, scan_chunk
from sweeps.train.optim import OptimConfig

EVAL_BATCH = 8192


def _precision_check(name: str) -> str | None:
    return None if name in ("float32", "bfloat16") else f"expected float32 or bfloat16, got {name!r}"


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """A CTR trial's ``train:`` section."""

    batch_size: int = checked(1024)
    batch_rule: str = budget.batch_rule_field()  # "budget": the recipe's BATCH_RULE sets batch_size
    eval_points: int = checked(8)
    chunk_steps: int = checked(32)
    # How often a trial in progress is checkpointed (0: never); not part of the trial's identity.
    checkpoint_every_steps: int = dataclasses.field(default=2048, metadata={"check": non_negative, "identity": False})
    # How tables and batches are laid out over the devices (sweeps/train/sharding.py): none,
    # row or table. A placement, not a different trial: numbers agree to float rounding.
    sharding: str = dataclasses.field(default="none", metadata={"check": sharding.check, "identity": False})
    # Mixed precision for accelerators: "bfloat16" runs the training forward pass in bf16
    # over float32 master weights (``compute_cast``); slow on a CPU.
    precision: str = dataclasses.field(default="float32", metadata={"check": _precision_check, "identity": "when_set"})


def total_steps(examples: int, batch_size: int) -> int:
    """Optimiser steps of a trial: one pass over ``examples``, whole batches, at least one."""
    return max(1, examples // batch_size)


def _bce(logits: jax.Array, labels: jax.Array) -> jax.Array:
    return optax.sigmoid_binary_cross_entropy(logits.astype(jnp.float32), labels).mean()


def compute_cast(precision: str):
    """What the forward pass sees of the float32 master weights and inputs: themselves, or
    (``bfloat16``) a bfloat16 copy, so matmuls run in bf16 while the optimiser updates
    float32 weights with float32 gradients (the cast's transpose casts them back)."""
    if precision == "float32":
        return lambda tree: tree
    low = jnp.dtype(precision)
    return lambda tree: jax.tree.map(lambda x: x.astype(low) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)


def dense_core(module, model_cfg, optim_cfg: OptimConfig, loss, cast=lambda t: t) -> Core:
    """Every parameter, tables included, updated by the optax optimiser ``optim.name``."""
    tx = optim.make(optim_cfg)
    graphdef, _ = nnx.split(nnx.eval_shape(lambda: module.Model(model_cfg, rngs=nnx.Rngs(0))))

    def init(seed: int):
        params = nnx.state(module.Model(model_cfg, rngs=nnx.Rngs(seed)))
        return params, tx.init(params)

    def loss_fn(params, batch):
        return loss(nnx.merge(graphdef, cast(params))(cast(batch["inputs"])), batch["label"])

    def step(state, batch, lr):
        params, opt_state = state
        value, grads = jax.value_and_grad(loss_fn)(params, batch)
        return apply_update(tx, params, opt_state, grads, lr), value

    return Core(init, step, lambda state: nnx.merge(graphdef, state[0]))


def make_core(
    model_cfg, arch: str, optim_cfg: OptimConfig, sharding_mode: str = "none", precision: str = "float32"
) -> Core:
    module = models.get(arch)
    fuse = sharding.fuse_blocks(sharding_mode, optim_cfg.embeddings)
    cast = compute_cast(precision)
    if optim_cfg.embeddings == "dense":
        return dense_core(module, model_cfg, optim_cfg, _bce, cast)
    return sparse.build(module, model_cfg, optim_cfg, _bce, arch, fuse=fuse, cast=cast)


def program_set(
    model_cfg, arch: str, optim_cfg: OptimConfig, chunk: int, batch_size: int, sharding_mode: str = "none",
    precision: str = "float32", lanes: int = 1,
):
    """``(init, train_chunk, predict)`` for one model, batch shape and number of lanes,
    compiled once (``core.programs``). ``init`` takes a seed per lane."""
    return programs(_build, model_cfg, arch, program_optim_key(optim_cfg), chunk, batch_size, sharding_mode, precision, lanes)


def _build(model_cfg, arch: str, optim_cfg: OptimConfig, chunk: int, batch_size: int, sharding_mode: str, precision: str, lanes: int):
    """The programs of ``program_set``. ``batch_size`` and ``lanes`` are part of the key as
    the compiled shapes depend on them. With ``sharding_mode`` other than none (one lane
    only), the state and batches are placed on the mesh and the programs compiled for that
    placement. With ``precision`` bfloat16 the training forward pass runs in bf16
    (evaluation in float32).
    """
    core = make_core(model_cfg, arch, optim_cfg, sharding_mode, precision)

    def predict(state, inputs):
        return jax.nn.sigmoid(core.model(state)(inputs))

    # The state is donated: XLA then updates the tables in place instead of copying every
    # table (and its optimiser state) into fresh buffers on each call, a cost
    # proportional to the rows that sparse updates exist to avoid.
    if lanes > 1:
        def init(seeds: Sequence[int]):
            return jax.tree.map(lambda *xs: jnp.stack(xs), *[core.init(s) for s in seeds])

        chunk_fn = jax.vmap(scan_chunk(core), in_axes=(0, None, None, 0))
        predict_fn = jax.vmap(predict, in_axes=(0, None))
        return init, CompileOnce(jax.jit(chunk_fn, donate_argnums=0)), CompileOnce(jax.jit(predict_fn))
    if sharding_mode == "none":
        chunk_fn = jax.jit(scan_chunk(core), donate_argnums=0)
        return lambda seeds: core.init(seeds[0]), CompileOnce(chunk_fn), CompileOnce(jax.jit(predict))
    place = sharding.placement(jax.eval_shape(lambda: core.init(0)), batch_size)
    rep = place.replicated
    chunk_fn = jax.jit(
        scan_chunk(core), donate_argnums=0,
        in_shardings=(place.state, place.batches, rep, rep), out_shardings=(place.state, rep),
    )
    predict_fn = jax.jit(predict, in_shardings=(place.state, place.inputs), out_shardings=rep)
    return (
        lambda seeds: sharding.to_global(core.init(seeds[0]), place.state, place=True),
        sharding.Placed(CompileOnce(chunk_fn), (place.state, place.batches, rep, rep)),
        sharding.Placed(CompileOnce(predict_fn), (place.state, place.inputs)),
    )


def chunk_arrays(data: Batch, start: int, steps: int, batch_size: int, total_steps: int):
    """``steps`` batches starting at step ``start``; steps past the budget are padding."""
    rows = {"inputs": {"dense": data.dense, "ids": data.ids}, "label": data.label}
    return lanes.chunk_rows(rows, start, steps, batch_size, total_steps)


def _padded(inputs: dict, n: int) -> dict:
    return jax.tree.map(lambda a: np.concatenate([a, np.zeros((n - len(a), *a.shape[1:]), a.dtype)]), inputs)


def predictions(predict, state, eval_set: Batch) -> np.ndarray:
    """Click probabilities for the eval set in fixed-size batches (one compiled program for
    any size): [N], or [K, N] from a pack's predict."""
    parts = []
    for i in range(0, len(eval_set), EVAL_BATCH):
        part = eval_set.slice(i, i + EVAL_BATCH)
        parts.append(np.asarray(predict(state, _padded(part.as_inputs(), EVAL_BATCH)))[..., : len(part)])
    return np.concatenate(parts, axis=-1)


def scores(q: np.ndarray, eval_set: Batch) -> dict[str, float]:
    return metrics.ctr_metrics(q.astype(np.float64), eval_set.label, eval_set.prob.astype(np.float64))


def eval_steps(total_steps: int, points: int, chunk: int) -> list[int]:
    """Chunk-aligned steps at which to evaluate: about ``points`` evenly spaced, and the last."""
    n_chunks = math.ceil(total_steps / chunk)
    every = max(1, round(n_chunks / points))
    marks = {min(c * chunk, total_steps) for c in range(every, n_chunks + 1, every)}
    return sorted(marks | {total_steps})


def train(
    cfgs: Sequence[TrialConfig], model_cfg, world: CTRWorld, *, checkpoint_path: Path | None = None,
    on_progress: Callable[..., None] | Sequence[Callable[..., None] | None] | None = None,
) -> list[TrainResult]:
    """Train the trials ``cfgs`` (one, or several that share ``sweeps.packed.pack_key``) of
    ``model_cfg`` (an ``models.<arch>.Config``) as their configs say; one result per trial.
    The loop, its divergence rule, checkpoints (``checkpoint_path``, a lone trial only,
    every ``train.checkpoint_every_steps``) and progress (``on_progress``: one callback, or
    one per trial) are ``sweeps.train.lanes``'.
    Every evaluation scores the eval set and, where ``world`` has one (``valid_set``), the
    validation set with the same compiled predict (``EVAL_BATCH`` rows a call): a result's
    ``final`` and ``validation`` are the two sets' metrics of the final model (the last
    evaluation).
    """
    c0, k = cfgs[0], len(cfgs)
    bs, chunk = c0.train.batch_size, c0.train.chunk_steps
    total = total_steps(c0.data.examples, bs)
    data = world.train(total * bs)
    init, train_chunk, predict = program_set(
        model_cfg, c0.arch, c0.optim, chunk, bs, c0.train.sharding, c0.train.precision, k
    )

    valid_set = world.valid_set

    def evaluate(state, running):
        q = predictions(predict, state, world.eval_set).reshape(k, -1)
        qv = predictions(predict, state, valid_set).reshape(k, -1) if valid_set is not None else [None] * k
        return [
            lanes.with_validation(scores(q_lane, world.eval_set), None if v is None else scores(v, valid_set)) if on else None
            for q_lane, v, on in zip(q, qv, running)
        ]

    return lanes.run(
        k, init([c.seed for c in cfgs]), train_chunk, lanes.Schedule(total, chunk, bs, eval_steps(total, c0.train.eval_points, chunk)),
        batches_at=lambda step: chunk_arrays(data, step, chunk, bs, total),
        lrs_at=lambda step: np.stack([optim.learning_rates(c.optim, np.arange(step, step + chunk), total) for c in cfgs]),
        evaluate=evaluate, compiled_seconds=lambda: train_chunk.seconds + predict.seconds,
        checkpoint_path=checkpoint_path, trial_id=c0.trial_id, checkpoint_every=c0.train.checkpoint_every_steps,
        on_progress=on_progress,
    )
