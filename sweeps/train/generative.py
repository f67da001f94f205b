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
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

import models
from sweeps.config import TrialConfig, checked, non_negative
from sweeps.data.impression_world import ImpressionWorld, Users
from sweeps.train import budget, lanes, optim
from sweeps.train.core import CompileOnce, TrainResult, program_optim_key, programs, scan_chunk
from sweeps.train.ctr import dense_core, eval_steps, scores

EVAL_SEQUENCES = 64


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """A generative trial's ``train:`` section; ``batch_size`` counts sequences (users)."""

    batch_size: int = checked(16)
    batch_rule: str = budget.batch_rule_field()  # "budget": the recipe's BATCH_RULE sets batch_size
    eval_points: int = checked(8)
    chunk_steps: int = checked(8)
    # How often a trial in progress is checkpointed (0: never); not part of the trial's identity.
    checkpoint_every_steps: int = dataclasses.field(default=512, metadata={"check": non_negative, "identity": False})


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
    arrays, active = lanes.chunk_rows(seqs, step, chunk, bs, total)
    label = {"click": arrays["click"].astype(np.float32), "valid": arrays["valid"]}
    return {"inputs": arrays, "label": label}, active


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


def train(cfg: TrialConfig, model_cfg, world: ImpressionWorld, on_progress=None,
          checkpoint_path: Path | None = None) -> TrainResult:
    """One pass over whole sequences on the loop of ``sweeps.train.lanes`` (one lane):
    its divergence rule, progress after every chunk (``on_progress``) and, with
    ``checkpoint_path``, checkpoints every ``train.checkpoint_every_steps`` steps. Every
    evaluation scores the evaluation users and the validation users (``valid_users``, the
    same compiled predict): ``final`` and ``validation`` are the final model's (the last
    evaluation's) metrics on each."""
    bs, chunk, T = cfg.train.batch_size, cfg.train.chunk_steps, world.cfg.length
    total = total_steps(cfg.data.examples, bs, T)
    seqs = sequences(world.users(total * bs))
    init, train_chunk, predict = programs(_build, model_cfg, cfg.arch, program_optim_key(cfg.optim), chunk, bs)
    tail = world.cfg.eval_tail

    def evaluate(state, running):
        score = lambda users, labels: scores(eval_predictions(predict, state, users, tail), labels)  # noqa: E731
        return [lanes.with_validation(score(world.eval_users, world.eval_set), score(world.valid_users, world.valid_set))]

    (res,) = lanes.run(
        1, init(cfg.seed), train_chunk, lanes.Schedule(total, chunk, bs * T, eval_steps(total, cfg.train.eval_points, chunk)),
        batches_at=lambda step: _chunk(seqs, step, chunk, bs, total),
        lrs_at=lambda step: optim.learning_rates(cfg.optim, np.arange(step, step + chunk), total)[None],
        evaluate=evaluate, compiled_seconds=lambda: train_chunk.seconds + predict.seconds,
        checkpoint_path=checkpoint_path, trial_id=cfg.trial_id, checkpoint_every=cfg.train.checkpoint_every_steps,
        on_progress=on_progress,
    )
    return res
