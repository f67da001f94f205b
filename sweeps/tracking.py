"""Mirror finished trial records to wandb. The local store stays the source of truth.

Each trial becomes one wandb run: group = the sweep, name = the trial id, config = the
resolved config plus where the trial lies on each axis, history = the learning curve
(step = examples seen), summary = final metrics, params and FLOPs. Without an API key the
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


def log_trial(record: TrialRecord, sweep_dir: Path, cfg: WandbConfig, *, warn: Callable[[str], None] = print) -> bool:
    """Mirror one record as one wandb run; False (with a warning) when wandb fails."""
    try:
        import wandb

        run = wandb.init(
            project=cfg.project,
            entity=cfg.entity,
            group=record.sweep,
            name=record.trial_id,
            id=f"{record.sweep}-{record.trial_id}",
            job_type=record.arch,
            config={**record.config, "axes": record.axes},
            dir=str(sweep_dir),
            mode=_mode(cfg),
            tags=[record.arch, record.status, *record.axes],
            reinit="finish_previous",
        )
        for row in record.curve:
            run.log({k: v for k, v in row.items() if k != "examples"}, step=int(row["examples"]))
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


def close(*, warn: Callable[[str], None] = print) -> None:
    """Flush and stop wandb's background service so every run is on disk."""
    try:
        import wandb

        wandb.teardown()
    except Exception as e:  # noqa: BLE001
        warn(f"wandb: teardown failed: {type(e).__name__}: {e}")
