"""Packed trials: which replicate seeds and learning-rate variants of one shape train together.

A small trial spends most of its time on fixed costs (compiling, dispatching one scan
per chunk, evaluation calls) rather than on arithmetic. Trials that differ only in seed
and in their learning-rate schedule (``optim.lr``, ``schedule``, ``final_lr_frac``,
``warmup_steps``) run the same program on the same batches, so the CTR trainer trains K
of them as K lanes of one compiled program (``sweeps.train.ctr``): one compile, one scan
per chunk, one evaluation call per eval point.

The runner groups trials with ``group`` when ``runner.run(pack=True)`` and hands each
pack to its task's ``run_packed``; by default only on an accelerator (``worthwhile``): a
small model is where packing pays, by filling a device that one small trial leaves idle,
but on a CPU a small DLRM step is already compute-bound on its core and a vmapped step
over K trials costs about K steps (benchmarks/bench_packed.py measured 1.0-1.1x on 2
cores). Only trials of a packable task (CTR) that never checkpoint (at most
``train.checkpoint_every_steps`` steps) are packed, at most ``MAX_PACK`` at a time and within ``PACK_PARAMS`` parameters
per pack. A packed trial's numbers equal its one-by-one numbers to float rounding (vmap
batches the matmuls; ``tests/test_packed.py`` checks them to 1e-5).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Iterable

import jax

import models
from sweeps import tasks
from sweeps.config import TrialConfig
from sweeps.train import ctr
from sweeps.train.core import program_optim_key
from sweeps.trials import PlannedTrial

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
    if not tasks.of(cfg.arch).PACKABLE or cfg.train.sharding != "none":
        return None
    steps = ctr.total_steps(cfg.data.examples, cfg.train.batch_size)
    every = cfg.train.checkpoint_every_steps
    if every and steps > every:
        return None  # long enough to checkpoint: trains alone and keeps its resumability
    return dataclasses.replace(cfg, seed=0, optim=program_optim_key(cfg.optim))


def _params(cfg: TrialConfig) -> int:
    return models.get(cfg.arch).param_counts(tasks.model_config(cfg))["total"]


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
