"""Train one CTR trial: a jitted ``lax.scan`` over chunks of steps, periodic evaluation.

Compiled programs are cached per (model config, optimiser, batch shape, layout), so trials
that differ only in seed, learning rate or data budget (replicates, the data axis) reuse
one compilation. A step is a *core* (``sparse_optim.Core``): ``dense_core`` below, or the
sparse row-wise core of ``sparse_optim`` (``optim.embeddings``); ``sweeps/packed.py``
vmaps the same chunk program over several trials and ``sweeps/sharding.py`` places it on
a device mesh (``train.sharding``).
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import math
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import models
from sweeps import checkpoint, compile_cache, metrics, optim, sharding, sparse_optim
from sweeps.config import OptimConfig, TrialConfig
from sweeps.data.ctr_world import Batch, CTRWorld

EVAL_BATCH = 8192
# The pack of trials being trained together (sweeps/packed.py), if any: ``train`` hands a
# trial of the pack to it instead of training the trial alone.
PACK: contextvars.ContextVar = contextvars.ContextVar("recscale_pack", default=None)


@dataclasses.dataclass(frozen=True)
class TrainResult:
    status: str  # "finished" | "diverged"
    steps: int
    examples_seen: int
    curve: tuple[dict, ...]
    final: dict
    best: dict
    train_seconds: float
    compile_seconds: float
    message: str = ""


class CompileOnce:
    """A jitted function compiled ahead of time on its first call; compile time is kept.

    The first compile of a process switches on the persistent compilation cache
    (``sweeps/compile_cache.py``), so other processes reuse what this one compiles."""

    def __init__(self, fn):
        self.fn, self.exe, self.seconds = fn, None, 0.0

    def __call__(self, *args):
        if self.exe is None:
            compile_cache.enable()
            t = time.perf_counter()
            self.exe = self.fn.lower(*args).compile()
            self.seconds += time.perf_counter() - t
        return self.exe(*args)


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


def program_optim_key(cfg: OptimConfig) -> OptimConfig:
    """Fields that do not change the compiled program are normalised away."""
    return dataclasses.replace(cfg, lr=1.0, schedule="constant", final_lr_frac=0.0, warmup_steps=0)


def programs(
    model_cfg, arch: str, optim_cfg: OptimConfig, chunk: int, batch_size: int, sharding_mode: str = "none",
    precision: str = "float32",
):
    return _programs(model_cfg, arch, program_optim_key(optim_cfg), chunk, batch_size, sharding_mode, precision)


def dense_core(module, model_cfg, optim_cfg: OptimConfig, loss, cast=lambda t: t) -> sparse_optim.Core:
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
        updates, opt_state = tx.update(grads, opt_state, params)
        updates = jax.tree.map(lambda u: lr * u, updates)
        return (optax.apply_updates(params, updates), opt_state), value

    return sparse_optim.Core(init, step, lambda state: nnx.merge(graphdef, state[0]))


def make_core(
    model_cfg, arch: str, optim_cfg: OptimConfig, sharding_mode: str = "none", precision: str = "float32"
) -> sparse_optim.Core:
    module = models.get(arch)
    fuse = sharding.fuse_blocks(sharding_mode, optim_cfg.embeddings)
    cast = compute_cast(precision)
    if optim_cfg.embeddings == "dense":
        return dense_core(module, model_cfg, optim_cfg, _bce, cast)
    return sparse_optim.build(module, model_cfg, optim_cfg, _bce, arch, fuse=fuse, cast=cast)


def scan_chunk(core: sparse_optim.Core):
    """``(state, batches, active, lrs) -> (state, losses)``: a scan of steps; inactive
    (padding) steps leave the state as it is."""

    def step(state, xs):
        batch, active, lr = xs
        return jax.lax.cond(active, lambda s: core.step(s, batch, lr), lambda s: (s, jnp.float32(0.0)), state)

    def train_chunk(state, batches, active, lrs):
        return jax.lax.scan(step, state, (batches, active, lrs))

    return train_chunk


@functools.lru_cache(maxsize=32)
def _programs(
    model_cfg, arch: str, optim_cfg: OptimConfig, chunk: int, batch_size: int, sharding_mode: str = "none",
    precision: str = "float32",
):
    """The init, train-chunk and predict functions for one model and batch shape.

    ``batch_size`` is part of the key because the chunk program is compiled for its shapes.
    With ``sharding_mode`` other than none, the state and batches are placed on the mesh
    (``sweeps/sharding.py``) and the programs are compiled for that placement. With
    ``precision`` bfloat16 the training forward pass runs in bf16 (evaluation in float32).
    """
    core = make_core(model_cfg, arch, optim_cfg, sharding_mode, precision)

    def predict(state, inputs):
        return jax.nn.sigmoid(core.model(state)(inputs))

    # The state is donated: XLA then updates the tables in place instead of copying every
    # table (and its optimiser state) into fresh buffers on each call, a cost
    # proportional to the rows that sparse updates exist to avoid.
    if sharding_mode == "none":
        chunk_fn = jax.jit(scan_chunk(core), donate_argnums=0)
        return core.init, CompileOnce(chunk_fn), CompileOnce(jax.jit(predict))
    place = sharding.placement(jax.eval_shape(lambda: core.init(0)), batch_size)
    rep = place.replicated
    chunk_fn = jax.jit(
        scan_chunk(core), donate_argnums=0,
        in_shardings=(place.state, place.batches, rep, rep), out_shardings=(place.state, rep),
    )
    predict_fn = jax.jit(predict, in_shardings=(place.state, place.inputs), out_shardings=rep)
    return (
        lambda seed: sharding.to_global(core.init(seed), place.state, place=True),
        sharding.Placed(CompileOnce(chunk_fn), (place.state, place.batches, rep, rep)),
        sharding.Placed(CompileOnce(predict_fn), (place.state, place.inputs)),
    )


def _chunk_arrays(data: Batch, start: int, steps: int, batch_size: int, total_steps: int):
    """``steps`` batches starting at step ``start``; steps past the budget are padding."""
    n_real = max(0, min(steps, total_steps - start))
    lo, hi = start * batch_size, (start + n_real) * batch_size
    pad = (steps - n_real) * batch_size

    def shape(a):
        if pad:
            a = np.concatenate([a, np.zeros((pad, *a.shape[1:]), a.dtype)])
        return a.reshape(steps, batch_size, *a.shape[1:])

    part = data.slice(lo, hi)
    batches = {
        "inputs": {"dense": shape(part.dense), "ids": {k: shape(v) for k, v in part.ids.items()}},
        "label": shape(part.label),
    }
    return batches, np.arange(steps) < n_real


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


def evaluate(predict, state, eval_set: Batch) -> dict[str, float]:
    return scores(predictions(predict, state, eval_set), eval_set)


def eval_steps(total_steps: int, points: int, chunk: int) -> list[int]:
    """Chunk-aligned steps at which to evaluate: about ``points`` evenly spaced, and the last."""
    n_chunks = math.ceil(total_steps / chunk)
    every = max(1, round(n_chunks / points))
    marks = {min(c * chunk, total_steps) for c in range(every, n_chunks + 1, every)}
    return sorted(marks | {total_steps})


def train(cfg: TrialConfig, model_cfg, world: CTRWorld, *, checkpoint_path: Path | None = None) -> TrainResult:
    """Train ``model_cfg`` (an ``models.<arch>.Config``) as ``cfg`` says; NaN/inf ends it as diverged.

    With ``checkpoint_path``, the state is saved every ``train.checkpoint_every_steps``
    steps and a checkpoint of the same trial found there is resumed from. Inside
    ``packed.packing(...)``, a trial of the pack is trained together with the others.
    """
    pack = PACK.get()
    if pack is not None and pack.takes(cfg):
        return pack.result(cfg, model_cfg, world)
    bs, chunk = cfg.train.batch_size, cfg.train.chunk_steps
    total_steps = max(1, cfg.data.examples // bs)
    data = world.train(total_steps * bs)
    init, train_chunk, predict = programs(model_cfg, cfg.arch, cfg.optim, chunk, bs, cfg.train.sharding, cfg.train.precision)
    compiled_before = train_chunk.seconds + predict.seconds
    state = init(cfg.seed)

    curve: list[dict] = []
    marks = eval_steps(total_steps, cfg.train.eval_points, chunk)
    step, status, message, recent = 0, "finished", "", []
    resumed_from = 0
    if checkpoint_path is not None:
        restored = checkpoint.load(checkpoint_path, cfg.trial_id, state)
        if restored is not None:
            step, state, header = restored
            curve, recent, resumed_from = header["curve"], header["recent"], step
    every = cfg.train.checkpoint_every_steps
    t_train = time.perf_counter()
    while step < total_steps:
        batches, active = _chunk_arrays(data, step, chunk, bs, total_steps)
        lrs = optim.learning_rates(cfg.optim, np.arange(step, step + chunk), total_steps)
        state, losses = train_chunk(state, batches, active, lrs)
        losses = np.asarray(losses)[active]
        step += int(active.sum())
        recent.append(float(losses.mean()))
        if not np.all(np.isfinite(losses)):
            status, message = "diverged", f"non-finite training loss at step <= {step}"
            break
        if step in marks:
            m = evaluate(predict, state, world.eval_set)
            curve.append({"step": step, "examples": step * bs, "train_loss": float(np.mean(recent)), **m})
            recent = []
            if not np.isfinite(m["ne"]) or not np.isfinite(m["logloss"]):
                status, message = "diverged", f"non-finite evaluation at step {step}"
                break
        if checkpoint_path is not None and every and step < total_steps and step // every > (step - chunk) // every:
            checkpoint.save(checkpoint_path, cfg.trial_id, step, state, {"curve": curve, "recent": recent})
    compile_s = train_chunk.seconds + predict.seconds - compiled_before
    train_s = time.perf_counter() - t_train - compile_s
    final = curve[-1] if curve and status == "finished" else {}
    best = min(curve, key=lambda r: r["ne"]) if curve and status == "finished" else {}
    if resumed_from:
        message = (message + "; " if message else "") + f"resumed from a checkpoint at step {resumed_from}"
    return TrainResult(status, step, step * bs, tuple(curve), final, best, train_s, compile_s, message)
