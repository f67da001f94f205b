"""Run a sweep: plan it, skip trials already in the store, train the rest, write records."""

from __future__ import annotations

import dataclasses
import platform
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Callable

import models
from sweeps import recipes, spec as spec_mod, store, train
from sweeps.data.ctr_world import WorldConfig, world
from sweeps.spec import PlannedTrial, SweepSpec

METRIC_NOTE = (
    "ne: expected log loss under the teacher's click probabilities over the entropy of their mean "
    "(label-noise free); ne_labels, logloss, auc, calibration: against the sampled labels"
)


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


def run_trial(trial: PlannedTrial, sweep: str) -> store.TrialRecord:
    """Train one planned trial and return its record; an exception becomes status ``failed``."""
    cfg = trial.config
    w = world(WorldConfig(seed=cfg.data.world_seed))
    module = models.get(cfg.arch)
    model_cfg = recipes.get(cfg.arch).build(cfg.model, w.cfg.n_dense, w.fields)
    fwd = module.forward_flops(model_cfg)
    t0 = time.perf_counter()
    try:
        res = train.train(cfg, model_cfg, w)
    except Exception:
        res, message = None, traceback.format_exc()
    wall = time.perf_counter() - t0
    common = dict(
        trial_id=cfg.trial_id,
        sweep=sweep,
        arch=cfg.arch,
        seed=cfg.seed,
        axes=dict(trial.axes),
        config=cfg.to_dict(),
        params=module.param_counts(model_cfg),
        flops_per_example={"forward": fwd, "train": 3 * fwd},
        wall_time_s=wall,
        bayes_ne=w.bayes_ne,
        metric_note=METRIC_NOTE,
        versions=versions(),
    )
    if res is None:
        return store.TrialRecord(
            **common, status="failed", train_flops=0.0, examples_seen=0, final_metrics={},
            best_metrics={}, curve=[], compile_time_s=0.0, throughput=0.0, message=message,
        )
    return store.TrialRecord(
        **common,
        status=res.status,
        train_flops=float(3 * fwd * res.examples_seen),
        examples_seen=res.examples_seen,
        final_metrics=res.final,
        best_metrics=res.best,
        curve=list(res.curve),
        compile_time_s=res.compile_seconds,
        throughput=res.examples_seen / max(res.train_seconds, 1e-9),
        message=res.message,
    )


def run(spec: SweepSpec, sweep_dir: Path | str, *, log: Callable[[str], None] = print) -> SweepSummary:
    sweep_dir = Path(sweep_dir)
    planned = spec_mod.expand(spec)
    todo = [t for t in planned if not store.has(sweep_dir, t.trial_id)]
    skipped = len(planned) - len(todo)
    if skipped:
        log(f"{skipped} of {len(planned)} trials already recorded in {sweep_dir}; skipping them")
    counts = {"finished": 0, "diverged": 0, "failed": 0}
    t_start = time.perf_counter()
    for k, trial in enumerate(todo, 1):
        record = run_trial(trial, spec.name)
        store.write(sweep_dir, record)
        counts[record.status] += 1
        where = ", ".join(f"{a}={v:g}" for a, v in trial.axes.items())
        ne = record.final_metrics.get("ne")
        elapsed = time.perf_counter() - t_start
        eta = elapsed / k * (len(todo) - k)
        log(
            f"[{k}/{len(todo)}] {record.trial_id} {where} seed={record.seed}: {record.status}"
            + (f" ne={ne:.4f}" if ne is not None else "")
            + f" ({record.wall_time_s:.1f}s, eta {eta:.0f}s)"
        )
    return SweepSummary(sweep_dir, len(planned), skipped, counts["finished"], counts["diverged"], counts["failed"])
