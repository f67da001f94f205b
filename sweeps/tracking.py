"""Mirror finished trial records to wandb. The local store stays the source of truth.

Each trial becomes one wandb run: group = the sweep, name = the trial id, config = the
resolved config plus where the trial lies on each axis, history = the learning curve
(x = examples seen) and, while the trial runs, its progress (``progress/*``: loss,
examples per second, the trial's and the sweep's ETA; x = ``progress/examples``),
summary = final metrics, params and FLOPs. Without an API key the
run is written offline under ``SWEEP_DIR/wandb`` (sync it later with ``wandb sync``).
A wandb failure is reported and never fails a trial.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable

from sweeps.store import TrialRecord


@dataclasses.dataclass(frozen=True)
class WandbConfig:
    project: str = "recscale"
    entity: str | None = None
    mode: str | None = None  # online | offline | disabled; default: offline unless a key is configured


def _mode(cfg: WandbConfig) -> str:
    if cfg.mode:
        return cfg.mode
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    return "online" if os.environ.get("WANDB_API_KEY") else "offline"


def _open(sweep_dir: Path, cfg: WandbConfig, *, sweep: str, trial_id: str, arch: str, config: dict, axes: dict):
    import wandb

    return wandb.init(
        project=cfg.project, entity=cfg.entity, group=sweep, name=trial_id, id=f"{sweep}-{trial_id}",
        job_type=arch, config={**config, "axes": axes}, dir=str(sweep_dir), mode=_mode(cfg),
        tags=[arch, *axes], reinit="finish_previous", resume="allow",
    )


def log_trial(record: TrialRecord, sweep_dir: Path, cfg: WandbConfig, *, warn: Callable[[str], None] = print,
              run=None) -> bool:
    """Mirror one record as one wandb run (``run``: the trial's live run, if open); False
    (with a warning) when wandb fails.

    History rows carry their own x (``examples`` for the curve, ``progress/examples`` for
    the live numbers, declared with ``define_metric``), so a curve logged after the live
    rows of the same run is kept."""
    try:
        if run is None:
            run = _open(sweep_dir, cfg, sweep=record.sweep, trial_id=record.trial_id, arch=record.arch,
                        config=record.config, axes=record.axes)
        run.tags = (*run.tags, record.status)
        run.define_metric("examples")
        for key in sorted({k for row in record.curve for k in row} - {"examples"}):
            run.define_metric(key, step_metric="examples")
        for row in record.curve:
            run.log(dict(row))
        run.summary.update(
            {
                "status": record.status,
                **{f"final/{k}": v for k, v in record.final_metrics.items()},
                **{f"best/{k}": v for k, v in record.best_metrics.items()},
                **{f"params/{k}": v for k, v in record.params.items()},
                "train_flops": record.train_flops,
                "examples_seen": record.examples_seen,
                "wall_time_s": record.wall_time_s,
            }
        )
        run.finish(exit_code=0 if record.status == "finished" else 1)
        return True
    except Exception as e:  # noqa: BLE001 - wandb must never fail a trial
        warn(f"wandb: could not log trial {record.trial_id}: {type(e).__name__}: {e}")
        return False


class LiveRuns:
    """The wandb runs of trials in progress: ``update`` (a ``sweeps.progress`` listener)
    opens a trial's run at its first report and logs ``progress/<name>`` (done, loss,
    examples per second, the trial's and the sweep's ETA); ``pop`` hands the run to
    :func:`log_trial` when the trial ends. A wandb failure is reported once and stops the
    mirror, never the trial."""

    def __init__(self, sweep_dir: Path, cfg: WandbConfig, sweep: str, *, warn: Callable[[str], None] = print):
        self.sweep_dir, self.cfg, self.sweep, self.warn = sweep_dir, cfg, sweep, warn
        self.runs: dict = {}
        self.broken = False

    def update(self, trial, numbers: dict) -> None:
        if self.broken:
            return
        tid = trial.trial_id
        try:
            if tid not in self.runs:
                c = trial.config
                run = self.runs[tid] = _open(self.sweep_dir, self.cfg, sweep=self.sweep, trial_id=tid, arch=c.arch,
                                             config=c.to_dict(), axes=dict(trial.axes))
                run.define_metric("progress/examples")
                run.define_metric("progress/*", step_metric="progress/examples")
            values = {f"progress/{k}": v for k, v in numbers.items() if isinstance(v, (int, float)) and v == v}
            self.runs[tid].log(values)
        except Exception as e:  # noqa: BLE001 - wandb must never fail a trial
            self.broken = True
            self.warn(f"wandb: live progress of {tid} stopped: {type(e).__name__}: {e}")

    def pop(self, trial_id: str):
        return self.runs.pop(trial_id, None)


def close(*, warn: Callable[[str], None] = print) -> None:
    """Flush and stop wandb's background service so every run is on disk."""
    try:
        import wandb

        wandb.teardown()
    except Exception as e:  # noqa: BLE001
        warn(f"wandb: teardown failed: {type(e).__name__}: {e}")
