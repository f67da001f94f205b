"""The loop every per-example trainer drives (CTR, generative ranking): K lanes of one
compiled chunk program, evaluations at chosen steps, divergence, checkpoints, progress.

A lane is a trial; K > 1 when packed trials share one vmapped program
(``sweeps.train.ctr``). The trainer supplies what differs: the batches of a chunk, the
learning rates, and how the lanes' states are evaluated. The loop owns the rest, once:
NaN/inf in a lane's training loss or evaluation ends that lane as diverged (it keeps
running in the program but is no longer recorded); with ``checkpoint_path`` (a lone
trial only) the state is saved every ``checkpoint_every`` steps and a checkpoint of the
same trial found there is resumed from; ``on_progress`` (``sweeps.progress.OnProgress``,
or one per lane) hears of every chunk with its lane's mean loss.

Where the data have a validation set, every evaluation also scores it: a curve row holds
the evaluation set's metrics and the validation set's under ``valid/`` keys. A lane's
``final`` metrics are its last evaluation, its ``validation`` the validation metrics of
that same evaluation (the reported point, what per-point selection chooses by), and its
``selected`` the evaluation at the mark with the lowest validation NE (early stopping on
validation; a diagnostic beside ``final``, never chosen on the evaluation set). Without
a validation set, ``validation`` is None and ``selected`` the last evaluation.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import jax
import numpy as np

from sweeps.train import checkpoint
from sweeps.train.core import TrainResult


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


VALID = "valid/"  # the prefix of a curve row's validation metrics


def with_validation(metrics: dict, valid: dict | None) -> dict:
    """A curve row's metrics: the evaluation set's, and the validation set's under ``valid/``."""
    return {**metrics, **{VALID + k: v for k, v in (valid or {}).items()}}


def split_validation(row: dict) -> tuple[dict, dict | None]:
    """A curve row as (everything but the validation metrics, the validation metrics or None)."""
    valid = {k[len(VALID):]: v for k, v in row.items() if k.startswith(VALID)}
    return {k: v for k, v in row.items() if not k.startswith(VALID)}, valid or None


def _chosen(curve: list[dict]) -> tuple[dict, dict, dict | None]:
    """(final, selected, validation) of a finished lane's curve (see the module's docstring)."""
    final, validation = split_validation(curve[-1])
    if validation is None:
        return final, final, None
    best = min(curve, key=lambda r: r[VALID + "ne"])
    return final, split_validation(best)[0], validation


@dataclasses.dataclass(frozen=True)
class Schedule:
    """How many steps, in chunks of how many, how many examples a step reads, and the
    steps after which the lanes are evaluated."""

    total: int
    chunk: int
    examples_per_step: int
    marks: Sequence[int]


def chunk_rows(rows: Any, start: int, steps: int, batch_size: int, total_steps: int) -> tuple[Any, np.ndarray]:
    """The ``steps`` batches of ``rows`` (a tree of arrays, one row per example) starting at
    step ``start``, each leaf shaped ``[steps, batch_size, ...]``, and which steps are real:
    steps past ``total_steps`` are zero padding."""
    n_real = max(0, min(steps, total_steps - start))
    lo, hi = start * batch_size, (start + n_real) * batch_size
    pad = (steps - n_real) * batch_size

    def shape(a):
        a = a[lo:hi]
        if pad:
            a = np.concatenate([a, np.zeros((pad, *a.shape[1:]), a.dtype)])
        return a.reshape(steps, batch_size, *a.shape[1:])

    return jax.tree.map(shape, rows), np.arange(steps) < n_real


def run(
    k: int, state: Any, train_chunk, sched: Schedule, *,
    batches_at: Callable[[int], tuple[Any, np.ndarray]],
    lrs_at: Callable[[int], np.ndarray],
    evaluate: Callable[[Any, list[bool]], list[dict | None]],
    compiled_seconds: Callable[[], float],
    checkpoint_path: Path | None = None, trial_id: str = "", checkpoint_every: int = 0,
    on_progress: Callable[..., None] | Sequence[Callable[..., None] | None] | None = None,
) -> list[TrainResult]:
    """Train ``k`` lanes from ``state`` (``train_chunk(state, batches, active, lrs)``).

    ``batches_at(step)``: the chunk starting at ``step`` and its active (non-padding)
    steps; ``lrs_at(step)``: the ``[k, chunk]`` learning rates; ``evaluate(state, running)``:
    per lane its metrics (with ``ne`` and ``logloss``; validation metrics under ``valid/``,
    ``with_validation``), None for lanes not running;
    ``compiled_seconds()``: the programs' compile time so far (this run's is split off).
    """
    if k > 1 and checkpoint_path is not None:
        raise ValueError("packed trials do not checkpoint")
    reports = list(on_progress) if isinstance(on_progress, (list, tuple)) else [on_progress] + [None] * (k - 1)
    total, chunk, per_step = sched.total, sched.chunk, sched.examples_per_step
    compiled_before = compiled_seconds()
    lanes = [_Lane([], []) for _ in range(k)]
    step = resumed_from = 0
    unused = None  # the step of a checkpoint of this trial that does not fit this run's state
    if checkpoint_path is not None:
        restored = checkpoint.load(checkpoint_path, trial_id, state)
        if restored is not None:
            step, state, header = restored
            lanes[0].curve, lanes[0].recent, resumed_from = header["curve"], header["recent"], step
        else:
            unused = checkpoint.latest_step(checkpoint_path)
            if unused is not None:  # it would block this run's saves at the same steps
                checkpoint.remove(checkpoint_path)
    t_train = time.perf_counter()
    while step < total and any(lane.running for lane in lanes):
        batches, active = batches_at(step)
        lrs = lrs_at(step)
        state, losses = train_chunk(state, batches, active, lrs if k > 1 else lrs[0])
        losses = np.asarray(losses).reshape(k, chunk)[:, active]
        step += int(active.sum())
        for lane, lane_losses in zip(lanes, losses):
            if lane.running:
                lane.steps = step
                lane.recent.append(float(lane_losses.mean()))
                if not np.all(np.isfinite(lane_losses)):
                    lane.status, lane.message = "diverged", f"non-finite training loss at step <= {step}"
        for report, lane_losses in zip(reports, losses):
            if report is not None:
                report("step", step, total, loss=float(lane_losses.mean()) if lane_losses.size else float("nan"),
                       examples=step * per_step)
        if step in sched.marks and any(lane.running for lane in lanes):
            for lane, m in zip(lanes, evaluate(state, [lane.running for lane in lanes])):
                if not lane.running:
                    continue
                lane.curve.append({"step": step, "examples": step * per_step, "train_loss": float(np.mean(lane.recent)), **m})
                lane.recent = []
                if not np.isfinite(m["ne"]) or not np.isfinite(m["logloss"]):
                    lane.status, lane.message = "diverged", f"non-finite evaluation at step {step}"
        every = checkpoint_every
        if checkpoint_path is not None and every and lanes[0].running and step < total and step // every > (step - chunk) // every:
            checkpoint.save(checkpoint_path, trial_id, step, state, {"curve": lanes[0].curve, "recent": lanes[0].recent})
    compile_s = compiled_seconds() - compiled_before
    train_s = time.perf_counter() - t_train - compile_s
    notes = [f"trained packed: {k} trials in one vmapped program, timings split evenly"] if k > 1 else []
    if resumed_from:
        notes.append(f"resumed from a checkpoint at step {resumed_from}")
    elif unused is not None:
        notes.append(f"a checkpoint at step {unused} did not fit this run's state (another layout, e.g. table "
                     "sharding on another device count), was removed, and the trial trained from step 0")
    out = []
    for lane in lanes:
        done = lane.status == "finished" and lane.curve
        final, selected, validation = _chosen(lane.curve) if done else ({}, {}, None)
        message = "; ".join(m for m in (lane.message, *notes) if m)
        out.append(TrainResult(
            lane.status, lane.steps, lane.steps * per_step, tuple(lane.curve), final, selected, train_s / k,
            compile_s / k, message, validation=validation,
        ))
    return out
