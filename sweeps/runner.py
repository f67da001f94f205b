"""Run a sweep: plan it, skip trials already in the store, train the rest, write records."""

from __future__ import annotations

import dataclasses
import functools
import platform
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Callable

import models
from sweeps import claims, executors, packed, plan, selection, spec as spec_mod, store, tasks, tracking
from sweeps.progress import OnProgress, Progress
from sweeps.spec import SweepSpec
from sweeps.train import checkpoint
from sweeps.train.core import TrainResult, training_flops
from sweeps.trials import PlannedTrial


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("recscale", "jax", "flax", "optax", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


@dataclasses.dataclass(frozen=True)
class SweepSummary:
    sweep_dir: Path
    total: int
    skipped: int
    finished: int
    diverged: int
    failed: int
    retried: int = 0


def _common(trial: PlannedTrial, sweep: str, task) -> dict:
    cfg = trial.config
    return dict(
        trial_id=cfg.trial_id, sweep=sweep, arch=cfg.arch, seed=cfg.seed, axes=dict(trial.axes),
        config=cfg.to_dict(), metric_note=task.METRIC_NOTE, versions=versions(),
        selection=trial.selection.record() if trial.selection is not None else {},
    )


def _failed(trial: PlannedTrial, sweep: str, task, params: dict, flops: dict, seconds: float) -> store.TrialRecord:
    return store.TrialRecord(
        **_common(trial, sweep, task), status="failed", params=params, flops_per_example=flops, train_flops=0.0,
        examples_seen=0, final_metrics={}, best_metrics={}, curve=[], wall_time_s=seconds,
        compile_time_s=0.0, throughput=0.0, floor_ne=None, message=traceback.format_exc(),
    )


def _record(trial: PlannedTrial, sweep: str, task, params: dict, flops: dict, res: TrainResult, seconds: float):
    if res.forward_flops is not None:
        flops = {**flops, "forward_expected": res.forward_flops, "train_expected": training_flops(res.forward_flops)}
    return store.TrialRecord(
        **_common(trial, sweep, task),
        status=res.status,
        params=params,
        flops_per_example=flops,
        train_flops=float(flops.get("train_expected", flops["train"]) * res.examples_seen),
        examples_seen=res.examples_seen,
        final_metrics=res.final,
        best_metrics=res.selected,
        curve=list(res.curve),
        wall_time_s=seconds,
        compile_time_s=res.compile_seconds,
        throughput=res.examples_seen / max(res.train_seconds, 1e-9),
        floor_ne=res.floor,
        message=res.message,
        oracle_metrics=res.oracle or {},
        valid_metrics=res.validation or {},
    )


def _sizes(cfg):
    """The architecture's Config for a trial, its parameter counts and FLOPs per example."""
    model_cfg = tasks.model_config(cfg)
    fwd = models.get(cfg.arch).forward_flops(model_cfg)
    return model_cfg, models.get(cfg.arch).param_counts(model_cfg), {"forward": fwd, "train": training_flops(fwd)}


def run_trial(trial: PlannedTrial, sweep: str, checkpoint_dir: str | None = None,
              monitor: Callable[[PlannedTrial], OnProgress] | None = None) -> store.TrialRecord:
    """Train one planned trial and return its record; any exception becomes status ``failed``.

    With ``checkpoint_dir``, a long trial checkpoints there and resumes from its checkpoint;
    ``monitor(trial)`` gives the trainer's ``on_progress`` callback (``sweeps.progress``).
    """
    cfg = trial.config
    task = tasks.of(cfg.arch)
    t0 = time.perf_counter()
    params, flops = {}, {}
    try:
        model_cfg, params, flops = _sizes(cfg)
        ckpt = checkpoint.path(Path(checkpoint_dir), cfg.trial_id) if checkpoint_dir else None
        res = task.run(cfg, model_cfg, ckpt, on_progress=monitor(trial) if monitor is not None else None)
    except Exception:
        return _failed(trial, sweep, task, params, flops, time.perf_counter() - t0)
    return _record(trial, sweep, task, params, flops, res, time.perf_counter() - t0)


def run_pack(trials: tuple[PlannedTrial, ...], sweep: str, checkpoint_dir: str | None = None,
             monitor: Callable[[PlannedTrial], OnProgress] | None = None) -> list[store.TrialRecord]:
    """Records of a pack of trials (``packed.group``), trained together in one program by
    their task's ``run_packed`` when there are several; the wall time is split evenly. If
    packed training raises, the first trial is recorded as failed with the traceback and
    the others train one by one."""
    if len(trials) == 1:
        return [run_trial(trials[0], sweep, checkpoint_dir, monitor)]
    task = tasks.of(trials[0].config.arch)
    t0 = time.perf_counter()
    params, flops = {}, {}
    try:
        model_cfg, params, flops = _sizes(trials[0].config)
        results = task.run_packed([t.config for t in trials], model_cfg,
                                  [monitor(t) for t in trials] if monitor is not None else None)
    except Exception:
        first = _failed(trials[0], sweep, task, params, flops, time.perf_counter() - t0)
        return [first] + [run_trial(t, sweep, checkpoint_dir, monitor) for t in trials[1:]]
    wall = (time.perf_counter() - t0) / len(trials)
    return [_record(t, sweep, task, params, flops, r, wall) for t, r in zip(trials, results)]


class _LogStream:
    """Adapts a line callback to the stream that ``Progress`` writes to."""

    def __init__(self, log: Callable[[str], None]):
        self.log = log

    def write(self, text: str) -> None:
        if text.strip():
            self.log(text.rstrip("\n"))

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _estimates(trials: list[PlannedTrial], log: Callable[[str], None]) -> dict[str, float]:
    """The plan's seconds per trial, for the sweep's ETA; none if the plan cannot be made."""
    try:
        return {p.trial.trial_id: p.est_seconds for p in plan.plan(trials)}
    except Exception as e:  # noqa: BLE001 - an estimate must never stop a sweep; the trial will report the error
        log(f"no time estimates ({type(e).__name__}: {e}); the ETA follows the trials measured")
        return {}


def write_selection(sweep_dir: Path) -> dict[str, selection.GroupChoice]:
    """``sweep_dir/selection.json``: the choice per selection group, from every record there
    (none written when no record is a variant of a ``select:``)."""
    choices = selection.choose(store.read_all(sweep_dir))
    if choices:
        store.write_atomic(sweep_dir / selection.FILE, selection.to_json(choices))
    return choices


def _monitor(executor, progress: Progress, trials: list[PlannedTrial]):
    """How the trainers' progress reaches ``progress``: directly in this process, through
    the pool's queue from worker processes; Ray tasks report nothing until they end."""
    if isinstance(executor, executors.InProcess):
        return progress.monitor
    if not isinstance(executor, executors.ProcessPool):
        return None
    by_id, monitors = {t.trial_id: t for t in trials}, {}

    def sink(trial_id: str, unit: str, done: int, total: int, loss: float, examples: int) -> None:
        if trial_id not in progress.running:  # a late report of a trial already recorded is dropped
            return
        if trial_id not in monitors:
            monitors[trial_id] = progress.monitor(by_id[trial_id])
        monitors[trial_id](unit, done, total, loss=loss, examples=examples)

    return executor.relay(sink)


def run(
    spec: SweepSpec,
    sweep_dir: Path | str,
    *,
    executor: executors.InProcess | executors.ProcessPool | executors.RayExecutor | None = None,
    retries: int = 0,
    wandb: tracking.WandbConfig | None = None,
    log: Callable[[str], None] | None = None,
    progress: Progress | None = None,
    pack: bool | None = None,
    claim_timeout: float = claims.DEFAULT_TIMEOUT_S,
    checkpoint_dir: Path | str | None = None,
) -> SweepSummary:
    """Run every trial of ``spec`` that has no record in ``sweep_dir`` yet.

    A trial that raises is recorded as ``failed`` with its traceback and retried up to
    ``retries`` times; a diverged trial is final. Killing the sweep loses at most the
    trials in flight: a re-run skips every recorded trial. Several drivers may run on one
    ``sweep_dir`` at once: each claims a trial before training it and skips the trials
    others hold (``sweeps.claims``), waits for them at the end, and takes over a claim
    whose heartbeat is older than ``claim_timeout`` seconds. Under a ``select:``, each run
    ends by writing ``selection.json`` (``write_selection``), the choice per point so far. Checkpoints of trials in
    progress go to ``checkpoint_dir`` (default ``sweep_dir/checkpoints``; a shared path for
    the processes of a multi-host program or for Ray workers on several nodes). ``wandb`` (default: the
    spec's ``logging.wandb``) mirrors each record to wandb. With ``pack``, trials that
    differ only in seed and learning-rate schedule train together (``sweeps.packed``);
    the default packs on accelerators only, as on a CPU a vmapped step costs about as
    much as the steps it stacks (benchmarks/bench_packed.py), and with worker executors
    only when ``RECSCALE_PACK=1`` (probing the backend here would start it here).
    """
    sweep_dir = Path(sweep_dir)
    progress = progress or Progress(_LogStream(log) if log else sys.stdout, live=False if log else None)
    log = progress.message
    executor = executor or executors.InProcess()
    if pack is None:
        pack = packed.worthwhile(probe_backend=isinstance(executor, executors.InProcess))
    wandb = wandb if wandb is not None else spec.wandb
    planned = spec_mod.expand(spec)
    store.write_atomic(sweep_dir / "spec.yaml", spec_mod.dump(spec))
    pending = [t for t in planned if not store.has(sweep_dir, t.trial_id)]
    skipped = len(planned) - len(pending)
    if skipped:
        log(f"{skipped} of {len(planned)} trials already recorded in {sweep_dir}; skipping them")
    counts = {"finished": 0, "diverged": 0, "failed": 0}
    attempts: dict[str, int] = {}
    retried = 0
    held = claims.Claims(sweep_dir, timeout=claim_timeout, on_event=log)
    live = tracking.LiveRuns(sweep_dir, wandb, spec.name, warn=log) if wandb is not None else None
    if live is not None:
        progress.on_update = live.update
    progress.begin(pending, _estimates(pending, log), parallel=getattr(executor, "workers", 1))
    monitor = _monitor(executor, progress, pending)
    checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else sweep_dir / "checkpoints"
    fn = functools.partial(run_pack, sweep=spec.name, checkpoint_dir=str(checkpoint_dir), monitor=monitor)

    def claimed(units: list[tuple[PlannedTrial, ...]]):
        """The units as this driver claims them, when the executor asks for the next one."""
        for unit in units:
            mine = tuple(t for t in unit if not store.has(sweep_dir, t.trial_id) and held.acquire(t.trial_id))
            if mine:
                yield mine

    def started(unit: tuple[PlannedTrial, ...]) -> None:
        for trial in unit:
            progress.started(trial)

    waiting = False
    try:
        while pending:
            units = packed.group(pending, workers=getattr(executor, "workers", 1)) if pack else [(t,) for t in pending]
            trained = 0
            for trial, record in (
                (t, r) for unit, records in executor.run(fn, claimed(units), on_start=started) for t, r in zip(unit, records)
            ):
                trained += 1
                attempts[trial.trial_id] = attempts.get(trial.trial_id, 0) + 1
                if record.status == "failed" and attempts[trial.trial_id] <= retries:
                    retried += 1
                    log(f"retrying {trial.trial_id} ({attempts[trial.trial_id]}/{retries}): {record.message.strip().splitlines()[-1]}")
                    continue
                store.write(sweep_dir, record)
                held.release(trial.trial_id)
                checkpoint.remove(checkpoint.path(checkpoint_dir, trial.trial_id))
                counts[record.status] += 1
                if wandb is not None:
                    tracking.log_trial(record, sweep_dir, wandb, warn=log, run=live.pop(trial.trial_id))
                progress.finished(trial, record)
            done_elsewhere = [t for t in pending if store.has(sweep_dir, t.trial_id) and attempts.get(t.trial_id) is None]
            for t in done_elsewhere:
                progress.elsewhere(t)
            pending = [t for t in pending if not store.has(sweep_dir, t.trial_id)]
            if pending and not trained:  # every trial left is claimed by a live driver
                if not waiting:
                    log(f"waiting for {len(pending)} trial(s) claimed by other drivers")
                waiting = True
                time.sleep(held.heartbeat_s)
        choices = write_selection(sweep_dir)
        if choices:
            log(selection.summary(choices)[0])
    finally:
        held.close()
        progress.close()
        executor.close()
        if wandb is not None:
            tracking.close(warn=log)
    return SweepSummary(sweep_dir, len(planned), skipped, counts["finished"], counts["diverged"], counts["failed"], retried)
