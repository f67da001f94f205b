"""Train a generative ranking trial: batches of whole user sequences, every impression a
label of one causal pass (``models.hstu_gen``), periodic evaluation on the held-out tail
impressions of the evaluation users.

The step is the CTR trainer's dense core (``sweeps.train.ctr.dense_core``) with a masked
binary cross-entropy over the labels of a batch; chunks of steps run through
``core.scan_chunk``, compiled once per shape (``core.programs``). One pass over the
sequences; ``examples`` counts labels (impressions), the unit of the CTR task's examples,
so budgets and FLOPs compare with DLRM's per impression.
"""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import models
from sweeps.config import TrialConfig, checked
from sweeps.data.impression_world import ImpressionWorld, Users
from sweeps.train import optim
from sweeps.train.core import CompileOnce, TrainResult, program_optim_key, programs, scan_chunk
from sweeps.train.ctr import dense_core, eval_steps, scores

EVAL_SEQUENCES = 64


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """A generative trial's ``train:`` section; ``batch_size`` counts sequences (users)."""

    batch_size: int = checked(16)
    eval_points: int = checked(8)
    chunk_steps: int = checked(8)


def total_steps(examples: int, batch_size: int, length: int) -> int:
    """One pass over ``examples // length`` whole sequences, whole batches, at least one."""
    return max(1, examples // length // batch_size)


def _masked_bce(logits_BxT, label):
    loss = optax.sigmoid_binary_cross_entropy(logits_BxT.astype(jnp.float32), label["click"])
    w = label["valid"].astype(jnp.float32)
    return (loss * w).sum() / jnp.maximum(w.sum(), 1.0)


def sequences(users: Users) -> dict:
    """The model's batch arrays for ``users``, every impression real."""
    return {
        "item": users.item, "category": users.category, "context": users.context, "ts": users.ts,
        "click": users.click.astype(np.int32), "valid": np.ones(users.item.shape, bool), "segment": users.segment,
    }


def _build(model_cfg, arch: str, optim_cfg, chunk: int, batch_size: int):
    core = dense_core(models.get(arch), model_cfg, optim_cfg, _masked_bce)

    def predict(state, batch):
        return jax.nn.sigmoid(core.model(state)(batch))

    return core.init, CompileOnce(jax.jit(scan_chunk(core), donate_argnums=0)), CompileOnce(jax.jit(predict))


def _chunk(seqs: dict, step: int, chunk: int, bs: int, total: int):
    n_real = max(0, min(chunk, total - step))
    lo, hi = step * bs, (step + n_real) * bs
    pad = (chunk - n_real) * bs

    def shape(a):
        a = a[lo:hi]
        if pad:
            a = np.concatenate([a, np.zeros((pad, *a.shape[1:]), a.dtype)])
        return a.reshape(chunk, bs, *a.shape[1:])

    arrays = {k: shape(v) for k, v in seqs.items()}
    label = {"click": arrays["click"].astype(np.float32), "valid": arrays["valid"]}
    return {"inputs": arrays, "label": label}, np.arange(chunk) < n_real


def eval_predictions(predict, state, users: Users, tail: int) -> np.ndarray:
    """Click probabilities of the last ``tail`` impressions of each user, user-major (the
    order of the CTR view's ``eval_set``)."""
    seqs = sequences(users)
    out = []
    for i in range(0, len(users), EVAL_SEQUENCES):
        part = {k: v[i : i + EVAL_SEQUENCES] for k, v in seqs.items()}
        n = len(part["segment"])
        if n < EVAL_SEQUENCES:
            part = {k: np.concatenate([v, np.zeros((EVAL_SEQUENCES - n, *v.shape[1:]), v.dtype)]) for k, v in part.items()}
        out.append(np.asarray(predict(state, part))[:n, -tail:])
    return np.concatenate(out).reshape(-1)


def train(cfg: TrialConfig, model_cfg, world: ImpressionWorld, on_progress=None) -> TrainResult:
    """One pass; ``on_progress("step", done, total, loss=, examples=)`` after every chunk
    when given (``sweeps.progress``)."""
    bs, chunk, T = cfg.train.batch_size, cfg.train.chunk_steps, world.cfg.length
    total = total_steps(cfg.data.examples, bs, T)
    seqs = sequences(world.users(total * bs))
    init, train_chunk, predict = programs(_build, model_cfg, cfg.arch, program_optim_key(cfg.optim), chunk, bs)
    compiled_before = train_chunk.seconds + predict.seconds
    state = init(cfg.seed)
    eval_users, eval_set = world.eval_users, world.eval_set
    marks = eval_steps(total, cfg.train.eval_points, chunk)
    curve, recent, step, status, message = [], [], 0, "finished", ""
    t0 = time.perf_counter()
    while step < total and status == "finished":
        batches, active = _chunk(seqs, step, chunk, bs, total)
        lrs = optim.learning_rates(cfg.optim, np.arange(step, step + chunk), total)
        state, losses = train_chunk(state, batches, active, lrs)
        losses = np.asarray(losses)[active]
        step += int(active.sum())
        recent.append(float(losses.mean()))
        if on_progress is not None:
            on_progress("step", step, total, loss=recent[-1], examples=step * bs * T)
        if not np.all(np.isfinite(losses)):
            status, message = "diverged", f"non-finite training loss at step <= {step}"
        elif step in marks:
            q = eval_predictions(predict, state, eval_users, world.cfg.eval_tail)
            m = scores(q, eval_set)
            curve.append({"step": step, "examples": step * bs * T, "train_loss": float(np.mean(recent)), **m})
            recent = []
            if not np.isfinite(m["ne"]) or not np.isfinite(m["logloss"]):
                status, message = "diverged", f"non-finite evaluation at step {step}"
    compile_s = train_chunk.seconds + predict.seconds - compiled_before
    train_s = time.perf_counter() - t0 - compile_s
    done = status == "finished" and curve
    return TrainResult(
        status, step, step * bs * T, tuple(curve), curve[-1] if done else {},
        min(curve, key=lambda r: r["ne"]) if done else {}, train_s, compile_s, message,
    )
