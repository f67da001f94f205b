"""Train HSTU or SASRec for next-item retrieval on a leave-one-out split.

Loss: sampled softmax at every real position (autoregressive). The logits are the cosines
of the position's user embedding with its next item and with ``n_negatives`` item ids drawn
uniformly per step (shared by the batch's positions, which keeps the [B, L, M] logits cheap;
a negative equal to the target is masked), divided by ``temperature``. AdamW (the
reference's lr 1e-3, betas 0.9/0.98); the learning rate is fed to the step as data.

Each epoch visits every training user once in a seeded order, as a jitted ``lax.scan`` over
chunks of steps; after it the validation targets are ranked against all items (history
removed, ``sweeps.eval.ranking``) with the model in eval mode (no dropout). The epoch with the
best validation ``select`` metric is kept and only its parameters are scored on the test
targets. Besides HR/NDCG/MRR, ``nll`` is the target's full-softmax negative log-likelihood
over the same items at the training temperature (comparable to ``Split.oracle``'s floor).
Histories longer than the model's ``max_len`` keep their most recent items. A non-finite
training loss ends the run as "diverged". The step is a core (``sweeps.train.core``)
driven by the same chunk scan as the CTR trainer's.

With Stochastic Length the batches are bucketed by length (``bucketed_chunk``): each step runs
its short rows at the subsampled width and only its long rows at ``max_len``, with the loss of
the unsplit batch (up to float rounding; dropout draws its masks per part), so the FLOPs SL
saves are saved in wall time too; the chunk program is compiled once per part shape (a few).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import models
from models.seq_common import sl_target_length, stochastic_length
from sweeps.config import checked, non_negative
from sweeps.data.seq_world import Queries, Split
from sweeps.eval import ranking as retrieval
from sweeps.train import budget, optim
from sweeps.train.core import CompileOnce, Core, TrainResult, apply_update, program_optim_key, programs, scan_chunk
from sweeps.train.optim import OptimConfig

EVAL_BATCH = 256


def _sl_check(a: float) -> str | None:
    return None if a == 0 or 1 < a <= 2 else f"expected 0 (off) or a value in (1, 2], got {a!r}"


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """A retrieval trial's ``train:`` section."""

    batch_size: int = checked(128)
    batch_rule: str = budget.batch_rule_field()  # "budget": the recipe's BATCH_RULE sets batch_size
    epochs: int = checked(10)
    n_negatives: int = checked(128)
    temperature: float = checked(0.05)
    chunk_steps: int = checked(8)
    eval_users: int = checked(0, non_negative)  # evaluate on the first users only (0: every user)
    select: str = "ndcg@10"
    # Stochastic Length (Zhai et al. 2024): 0 is off, else the exponent alpha in (1, 2].
    sl_alpha: float = checked(0.0, _sl_check)


def _program_key(cfg: TrainConfig) -> TrainConfig:
    """Fields that do not change the compiled programs are normalised away."""
    return dataclasses.replace(cfg, epochs=1, eval_users=0, select="", sl_alpha=0.0, batch_rule="fixed")


def steps_per_epoch(users: int, batch_size: int) -> int:
    """Optimiser steps of one epoch: every training user once, the last batch partial."""
    return -(-users // batch_size)


def _windows(ids_UxT, ts_UxT, n_U, width: int):
    """The last ``width`` items of each sequence (first ``n`` real), right-padded."""
    start_U = np.maximum(n_U - width, 0)
    idx_UxW = start_U[:, None] + np.arange(width)[None]
    real_UxW = idx_UxW < n_U[:, None]
    idx_UxW = np.minimum(idx_UxW, ids_UxT.shape[1] - 1)
    take = lambda a: np.where(real_UxW, np.take_along_axis(a, idx_UxW, 1), 0).astype(np.int32)
    return take(ids_UxT), take(ts_UxT)


def training_windows(split: Split, max_len: int):
    """The last ``max_len + 1`` training items of each user (inputs plus their next items)."""
    return _windows(split.train_ids, split.train_ts, split.train_length, max_len + 1)


def _next_item_arrays(ids_UxW, ts_UxW):
    has_next_UxL = ids_UxW[:, 1:] != 0
    return ids_UxW[:, :-1] * has_next_UxL, ts_UxW[:, :-1] * has_next_UxL, ids_UxW[:, 1:]


def training_arrays(split: Split, max_len: int):
    """Inputs ``ids``/``ts`` and next-item ``target`` ``[U, max_len]`` (0 where none)."""
    return _next_item_arrays(*training_windows(split, max_len))


def stochastic_length_arrays(windows, seed: int, epoch: int, alpha: float, max_len: int):
    """An epoch's training arrays after Stochastic Length: each user's window is subsampled
    (``models.seq_common.stochastic_length``) and its next items re-read from the kept
    items, so every kept item's target is the next kept one."""
    key = jax.random.fold_in(jax.random.key(seed), epoch)
    ids, ts = stochastic_length(jnp.asarray(windows[0]), jnp.asarray(windows[1]), key, alpha, max_len + 1)
    return _next_item_arrays(np.asarray(ids), np.asarray(ts))


def query_arrays(q: Queries, max_len: int, hist_width: int):
    n_U = (q.history_ids != 0).sum(1)
    ids_UxL, ts_UxL = _windows(q.history_ids, q.history_ts, n_U, max_len)
    pad = hist_width - q.history_ids.shape[1]
    return ids_UxL, ts_UxL, q.target.astype(np.int32), np.pad(q.history_ids, ((0, 0), (0, pad))).astype(np.int32)


def program_set(model_cfg, arch: str, cfg: TrainConfig, optim_cfg: OptimConfig, n_items: int, hist_width: int):
    """``(init, train_chunk, rank)`` for one model and batch shape, compiled once (``core.programs``)."""
    return programs(_build, model_cfg, arch, _program_key(cfg), program_optim_key(optim_cfg), n_items, hist_width)


def _core(module, model_cfg, cfg: TrainConfig, optim_cfg: OptimConfig, n_items: int) -> Core:
    """Sampled softmax at every real position under AdamW-style ``optim_cfg``; the state is
    (params, dropout rng state, optimiser state) and a batch carries its step's ``key``."""
    tx = optim.make(optim_cfg)
    shape = nnx.eval_shape(lambda: module.Model(model_cfg, rngs=nnx.Rngs(0)))
    shape.train()
    g_train = nnx.graphdef(shape)
    shape.eval()
    g_eval = nnx.graphdef(shape)

    def init(seed: int):
        model = module.Model(model_cfg, rngs=nnx.Rngs(seed))
        model.train()
        _, params, rng_state = nnx.split(model, nnx.Param, ...)
        return params, rng_state, tx.init(params)

    def nll_sum(model, part, neg_M):
        """Summed sampled-softmax NLL and count over a part's real targets."""
        u_BxLxD = model({"ids": part["ids"], "timestamps": part["ts"]})
        target_BxL = part["target"]
        pos_BxL = (u_BxLxD * model.item_embeddings(target_BxL)).sum(-1)
        neg_BxLxM = u_BxLxD @ model.item_embeddings(neg_M).T
        neg_BxLxM = jnp.where(neg_M == target_BxL[..., None], -jnp.inf, neg_BxLxM)
        logits_BxLx1M = jnp.concatenate([pos_BxL[..., None], neg_BxLxM], -1) / cfg.temperature
        nll_BxL = jax.nn.logsumexp(logits_BxLx1M, -1) - logits_BxLx1M[..., 0]
        real_BxL = target_BxL != 0
        return jnp.where(real_BxL, nll_BxL, 0.0).sum(), real_BxL.sum()

    def loss_fn(params, rng_state, batch):
        """Mean NLL over the batch's real targets; a length-bucketed batch (``parts``, see
        ``bucketed_chunk``) sums its parts, so it gives the loss of the batch it splits."""
        model = nnx.merge(g_train, params, jax.tree.map(lambda a: a, rng_state))  # fresh, mutable here
        neg_M = jax.random.randint(batch["key"], (cfg.n_negatives,), 1, n_items)
        sums = [nll_sum(model, part, neg_M) for part in batch.get("parts", (batch,))]
        loss = sum(t for t, _ in sums) / jnp.maximum(sum(n for _, n in sums), 1)
        return loss, nnx.state(model, nnx.RngState)

    def step(state, batch, lr):
        params, rng_state, opt_state = state
        (loss, rng_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, rng_state, batch)
        params, opt_state = apply_update(tx, params, opt_state, grads, lr)
        return (params, rng_state, opt_state), loss

    return Core(init, step, lambda state: nnx.merge(g_eval, state[0], state[1]))


def _build(model_cfg, arch: str, cfg: TrainConfig, optim_cfg: OptimConfig, n_items: int, hist_width: int):
    core = _core(models.get(arch), model_cfg, cfg, optim_cfg, n_items)
    scan = scan_chunk(core)
    all_items_N = jnp.arange(n_items)

    @jax.jit
    def train_chunk(state, key, batches, steps, active, lrs):
        keys = jax.vmap(lambda s: jax.random.fold_in(key, s))(steps)
        return scan(state, {**batches, "key": keys}, active, lrs)

    @jax.jit
    def rank(state, ids_BxL, ts_BxL, target_B, history_BxH):
        model = core.model(state)
        u_BxD = model.user_embedding({"ids": ids_BxL, "timestamps": ts_BxL})
        scores_BxN = u_BxD @ model.item_embeddings(all_items_N).T
        ranks_B = retrieval.target_ranks(scores_BxN, target_B, history_BxH)
        return ranks_B, retrieval.target_logp(scores_BxN / cfg.temperature, target_B, history_BxH)

    return core.init, PerShape(train_chunk), CompileOnce(rank)


class PerShape:
    """A ``CompileOnce`` per shape of the arguments (a length-bucketed epoch has a few)."""

    def __init__(self, fn):
        self.fn, self.compiled = fn, {}

    @property
    def seconds(self) -> float:
        return sum(c.seconds for c in self.compiled.values())

    def __call__(self, *args):
        key = tuple(np.shape(a) for a in jax.tree.leaves(args))
        if key not in self.compiled:
            self.compiled[key] = CompileOnce(self.fn)
        return self.compiled[key](*args)


def short_width(alpha: float, max_len: int) -> int:
    """Width of the short part of a Stochastic-Length batch: the subsampled length (of the
    ``max_len + 1`` windows) rounded up to a multiple of 8, at most ``max_len``."""
    return min(max_len, -(-sl_target_length(alpha, max_len + 1) // 8) * 8)


def bucketed_chunk(batch: dict, width: int) -> dict:
    """A chunk's ``[C, B, L]`` batches split by length, for the same loss at less cost: a short
    part ``[C, B, width]`` (every row cut to ``width``, the longer rows blanked) and a long part
    holding the longer rows moved to the front, ``[C, B // 2^k, L]`` with the smallest ``k <= 3``
    that holds every step's (no long part when there is none). Rows are right-padded, so the
    cut drops only padding; the steps' losses are those of ``batch`` up to float rounding."""
    long_CxB = (batch["ids"] != 0).sum(-1) > width
    short = {k: np.where(long_CxB[..., None], 0, a[..., :width]) for k, a in batch.items()}
    B, most = long_CxB.shape[1], int(long_CxB.sum(1).max())
    if most == 0:
        return {"parts": (short,)}
    cap = min(B // f for f in (8, 4, 2, 1) if B // f >= most)
    order_Cxcap = np.argsort(~long_CxB, axis=1, kind="stable")[:, :cap]
    kept_Cxcap = np.take_along_axis(long_CxB, order_Cxcap, 1)
    long = {k: np.where(kept_Cxcap[..., None], np.take_along_axis(a, order_Cxcap[..., None], 1), 0) for k, a in batch.items()}
    return {"parts": (short, long)}


def _evaluate(rank, state, arrays, batch: int, ks) -> dict[str, float]:
    U = len(arrays[2])
    ranks, logps = [], []
    for i in range(0, U, batch):
        n = min(batch, U - i)
        part = [retrieval.pad_rows(a[i : i + n], batch) for a in arrays]
        r, lp = rank(state, *part)
        ranks.append(np.asarray(r)[:n])
        logps.append(np.asarray(lp)[:n])
    return retrieval.metrics_from_ranks(np.concatenate(ranks), ks, np.concatenate(logps))


def _epoch_chunks(cfg: TrainConfig, seed: int, epoch: int, train_arrays, n_steps: int):
    """The epoch's batches as ``[chunks, chunk_steps, B, L]`` arrays and active flags."""
    U = len(train_arrays[0])
    B, C = cfg.batch_size, cfg.chunk_steps
    n_chunks = -(-n_steps // C)
    order = np.random.default_rng([seed, epoch]).permutation(U)
    order = np.concatenate([order, np.full(n_chunks * C * B - U, -1)])
    real = order >= 0
    shaped = [
        np.where(real[:, None], a[np.maximum(order, 0)], 0).reshape(n_chunks, C, B, -1) for a in train_arrays
    ]
    active = (np.arange(n_chunks * C) < n_steps).reshape(n_chunks, C)
    return shaped, active


def train(
    arch: str, seed: int, cfg: TrainConfig, optim_cfg: OptimConfig, model_cfg, split: Split, *,
    eval_batch: int = EVAL_BATCH, ks: tuple[int, ...] = retrieval.DEFAULT_KS,
    on_progress: Callable[..., None] | None = None,
) -> TrainResult:
    """Train ``model_cfg`` (``models.hstu.Config`` or ``models.sasrec.Config``) on ``split``.

    ``final`` holds the test metrics of the epoch chosen on validation ``cfg.select``,
    ``selected`` and ``validation`` that epoch's validation metrics; ``examples_seen``
    counts sequences.
    ``on_progress`` (``sweeps.progress.OnProgress``) hears of every finished epoch.
    """
    L = model_cfg.max_len
    hist_width = split.test.history_ids.shape[1]
    init, train_chunk, rank = program_set(model_cfg, arch, cfg, optim_cfg, split.n_items, hist_width)
    compiled_before = train_chunk.seconds + rank.seconds
    windows = training_windows(split, L)
    train_arrays = _next_item_arrays(*windows)
    E = len(split.valid) if not cfg.eval_users else min(cfg.eval_users, len(split.valid))
    valid_arrays = query_arrays(split.valid.head(E), L, hist_width)
    per_epoch = steps_per_epoch(len(train_arrays[0]), cfg.batch_size)
    total_steps = cfg.epochs * per_epoch

    state = init(seed)
    base_key = jax.random.key(seed)
    curve: list[dict] = []
    best, best_epoch, best_state = -np.inf, 0, None
    step, status, message, positions, sequences = 0, "finished", "", 0, 0
    t0 = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        if cfg.sl_alpha:
            train_arrays = stochastic_length_arrays(windows, seed, epoch, cfg.sl_alpha, L)
        shaped, active = _epoch_chunks(cfg, seed, epoch, train_arrays, per_epoch)
        losses = []
        for c in range(len(active)):
            steps = step + np.arange(len(active[c]))
            lrs = optim.learning_rates(optim_cfg, steps, total_steps)
            batch = {"ids": shaped[0][c], "ts": shaped[1][c], "target": shaped[2][c]}
            if cfg.sl_alpha:
                batch = bucketed_chunk(batch, short_width(cfg.sl_alpha, L))
            state, loss = train_chunk(state, base_key, batch, steps.astype(np.int32), active[c], lrs)
            losses.append(np.asarray(loss)[active[c]])
            targets = shaped[2][c][active[c]] != 0
            positions += int(targets.sum())
            sequences += int(targets.any(-1).sum())
            step += int(active[c].sum())
            if not np.all(np.isfinite(losses[-1])):
                status, message = "diverged", f"non-finite training loss at step <= {step}"
                break
        if status == "diverged":
            break
        m = _evaluate(rank, state, valid_arrays, eval_batch, ks)
        curve.append({"epoch": epoch, "step": step, "train_loss": float(np.concatenate(losses).mean()), **m})
        if on_progress is not None:
            on_progress("epoch", epoch, cfg.epochs, loss=curve[-1]["train_loss"], examples=sequences)
        if m[cfg.select] > best:
            best, best_epoch, best_state = m[cfg.select], epoch, state

    valid, test = {}, {}
    if status == "finished":
        valid = {k: v for k, v in curve[best_epoch - 1].items() if k not in ("epoch", "step", "train_loss")}
        test_arrays = query_arrays(split.test.head(E), L, hist_width)
        test = _evaluate(rank, best_state, test_arrays, eval_batch, ks)
    compile_s = train_chunk.seconds + rank.seconds - compiled_before
    train_s = time.perf_counter() - t0 - compile_s
    return TrainResult(
        status, step, sequences, tuple(curve), test, valid, train_s, compile_s, message,
        selected_epoch=best_epoch if status == "finished" else None, positions_seen=positions,
        validation=valid or None,
    )
