"""Packed trials: replicate seeds and learning-rate variants of one shape trained together.

A small trial spends most of its time on fixed costs (compiling, dispatching one scan
per chunk, evaluation calls) rather than on arithmetic. Trials that differ only in seed
and in their learning-rate schedule (``optim.lr``, ``schedule``, ``final_lr_frac``,
``warmup_steps``) run the same program on the same batches, so ``jax.vmap`` stacks their
states on a leading axis and trains K of them in one compiled program: one compile, one
scan per chunk, one evaluation call per eval point. Each trial keeps its own learning
curve, divergence check and record; timings are the pack's split evenly.

The runner groups trials with ``group`` when ``runner.run(pack=True)``; by default only
on an accelerator (``worthwhile``): a small model is where packing pays, by filling a
device that one small trial leaves idle, but on a CPU a small DLRM step is already
compute-bound on its core and a vmapped step over K trials costs about K steps
(benchmarks/bench_packed.py measured 1.0-1.1x on 2 cores). Only CTR trials that never checkpoint (at most ``train.checkpoint_every_steps``
steps) are packed, at most ``MAX_PACK`` at a time and within ``PACK_PARAMS`` parameters
per pack. A packed trial's numbers equal its one-by-one numbers to float rounding (vmap
batches the matmuls; ``tests/test_packed.py`` checks them to 1e-5).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import time
from typing import Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

import models
from sweeps import optim, recipes, tasks, train
from sweeps.config import TrialConfig
from sweeps.spec import PlannedTrial

MAX_PACK = 16
PACK_PARAMS = 50_000_000  # parameters of all trials of a pack together (x3-4 with optimiser state)


def worthwhile(probe_backend: bool = True) -> bool:
    """Whether packing is the default here: ``RECSCALE_PACK=1``/``0`` if set (so the
    ``recscale`` command can choose), else on an accelerator backend and not on a CPU.

    Asking for the backend starts it (on a GPU, JAX then takes most of its memory), so a
    process that hands its trials to workers passes ``probe_backend=False``: no packing
    unless asked for."""
    env = os.environ.get("RECSCALE_PACK")
    if env in ("0", "1"):
        return env == "1"
    return probe_backend and jax.default_backend() != "cpu"


def pack_key(cfg: TrialConfig):
    """Trials with equal keys can share one program; None for a trial that trains alone."""
    if recipes.get(cfg.arch).TASK != "ctr" or cfg.train.sharding != "none":
        return None
    steps = max(1, cfg.data.examples // cfg.train.batch_size)
    every = cfg.train.checkpoint_every_steps
    if every and steps > every:
        return None  # long enough to checkpoint: trains alone and keeps its resumability
    return dataclasses.replace(cfg, seed=0, optim=train.program_optim_key(cfg.optim))


def _params(cfg: TrialConfig) -> int:
    task = tasks.get(recipes.get(cfg.arch).TASK)
    return models.get(cfg.arch).param_counts(task.model_config(cfg))["total"]


def group(trials: Iterable[PlannedTrial], *, workers: int = 1) -> list[tuple[PlannedTrial, ...]]:
    """Trials in packs (tuples; a lone trial is a pack of one), in first-seen order.

    With ``workers`` > 1, packs are split until there are at least as many as workers,
    so that packing never leaves a worker idle.
    """
    packs: dict = {}
    for t in trials:
        key = pack_key(t.config)
        packs.setdefault(key if key is not None else ("alone", t.trial_id), []).append(t)
    out: list[list[PlannedTrial]] = []
    for members in packs.values():
        size = min(MAX_PACK, max(1, PACK_PARAMS // max(1, _params(members[0].config))))
        out += [members[i : i + size] for i in range(0, len(members), size)]
    while len(out) < workers and max(len(p) for p in out) > 1:
        big = max(out, key=len)
        out.remove(big)
        out += [big[: len(big) // 2], big[len(big) // 2 :]]
    return [tuple(p) for p in out]


class Pack:
    """The trials of one pack; trains them all on the first ``result`` asked for."""

    def __init__(self, configs: Sequence[TrialConfig]):
        self.ids = {c.trial_id for c in configs}
        self.configs = list(configs)
        self.results: dict[str, train.TrainResult] | None = None
        self.broken = False  # packed training raised: the rest train one by one

    def takes(self, cfg: TrialConfig) -> bool:
        return len(self.configs) > 1 and not self.broken and cfg.trial_id in self.ids

    def result(self, cfg: TrialConfig, model_cfg, world) -> train.TrainResult:
        if self.results is None:
            try:
                self.results = train_many(self.configs, model_cfg, world)
            except Exception:
                self.broken = True
                raise
        return self.results.pop(cfg.trial_id)


@contextlib.contextmanager
def packing(configs: Sequence[TrialConfig]):
    """Within this block, ``train.train`` on any of ``configs`` trains them all at once."""
    token = train.PACK.set(Pack(configs))
    try:
        yield
    finally:
        train.PACK.reset(token)


@functools.lru_cache(maxsize=16)
def _programs(model_cfg, arch: str, optim_cfg, chunk: int, batch_size: int, k: int, precision: str = "float32"):
    """Init, train-chunk and predict over ``k`` stacked states (same batches, own rates).

    ``k`` is part of the key as the compiled shapes depend on it.
    """
    core = train.make_core(model_cfg, arch, optim_cfg, precision=precision)
    chunk_fn = jax.vmap(train.scan_chunk(core), in_axes=(0, None, None, 0))
    predict = jax.vmap(lambda state, inputs: jax.nn.sigmoid(core.model(state)(inputs)), in_axes=(0, None))

    def init(seeds: Sequence[int]):
        return jax.tree.map(lambda *xs: jnp.stack(xs), *[core.init(s) for s in seeds])

    return init, train.CompileOnce(jax.jit(chunk_fn, donate_argnums=0)), train.CompileOnce(jax.jit(predict))


@dataclasses.dataclass
class _Lane:
    curve: list
    recent: list
    status: str = "finished"
    message: str = ""
    steps: int = 0

    @property
    def running(self) -> bool:
        return self.status == "finished"


def train_many(cfgs: Sequence[TrialConfig], model_cfg, world) -> dict[str, train.TrainResult]:
    """Train trials that share ``pack_key`` in one vmapped program; results by trial id.

    Each lane follows ``train.train``: the same steps, evaluation marks and divergence
    rules; a diverged lane keeps running in the program but is no longer recorded.
    """
    c0, k = cfgs[0], len(cfgs)
    bs, chunk = c0.train.batch_size, c0.train.chunk_steps
    total_steps = max(1, c0.data.examples // bs)
    data = world.train(total_steps * bs)
    key = train.program_optim_key(c0.optim)
    init, train_chunk, predict = _programs(model_cfg, c0.arch, key, chunk, bs, k, c0.train.precision)
    compiled_before = train_chunk.seconds + predict.seconds
    state = init([c.seed for c in cfgs])
    marks = train.eval_steps(total_steps, c0.train.eval_points, chunk)
    lanes = [_Lane([], []) for _ in cfgs]
    step = 0
    t_train = time.perf_counter()
    while step < total_steps and any(lane.running for lane in lanes):
        batches, active = train._chunk_arrays(data, step, chunk, bs, total_steps)
        lrs = np.stack([optim.learning_rates(c.optim, np.arange(step, step + chunk), total_steps) for c in cfgs])
        state, losses = train_chunk(state, batches, active, lrs)
        losses = np.asarray(losses)[:, active]
        step += int(active.sum())
        for lane, lane_losses in zip(lanes, losses):
            if lane.running:
                lane.steps = step
                lane.recent.append(float(lane_losses.mean()))
                if not np.all(np.isfinite(lane_losses)):
                    lane.status, lane.message = "diverged", f"non-finite training loss at step <= {step}"
        if step in marks and any(lane.running for lane in lanes):
            q = train.predictions(predict, state, world.eval_set)
            for lane, q_lane in zip(lanes, q):
                if not lane.running:
                    continue
                m = train.scores(q_lane, world.eval_set)
                lane.curve.append({"step": step, "examples": step * bs, "train_loss": float(np.mean(lane.recent)), **m})
                lane.recent = []
                if not np.isfinite(m["ne"]) or not np.isfinite(m["logloss"]):
                    lane.status, lane.message = "diverged", f"non-finite evaluation at step {step}"
    compile_s = train_chunk.seconds + predict.seconds - compiled_before
    train_s = time.perf_counter() - t_train - compile_s
    note = f"trained packed: {k} trials in one vmapped program, timings split evenly"
    out = {}
    for cfg, lane in zip(cfgs, lanes):
        done = lane.status == "finished" and lane.curve
        final = lane.curve[-1] if done else {}
        best = min(lane.curve, key=lambda r: r["ne"]) if done else {}
        message = "; ".join(m for m in (lane.message, note) if m)
        out[cfg.trial_id] = train.TrainResult(
            lane.status, lane.steps, lane.steps * bs, tuple(lane.curve), final, best, train_s / k, compile_s / k, message
        )
    return out
