"""The progress of a trial mirrored to wandb (offline): the live numbers and, after them, the
learning curve in the same run."""

import io
import json

from test_engine import _wandb_run_records  # the .wandb file reader of the engine's wandb test

from sweeps import runner, spec as spec_mod, tasks, tracking
from sweeps.progress import Progress
from sweeps.train import ctr

SPEC = {
    "name": "live",
    "arch": "dlrm",
    "base": {"model": {"embed_dim": 2, "rows": 64, "bottom_mlp": [4], "top_mlp": [4]}, "data.examples": 2048,
             "train": {"batch_size": 64, "chunk_steps": 8, "eval_points": 2}},
    "axes": {"horizontal": [1]},
}


def _history(path):
    rows = []
    for rec in _wandb_run_records(path):
        if rec.WhichOneof("record_type") == "history":
            rows.append({"/".join(i.nested_key) or i.key: json.loads(i.value_json) for i in rec.history.item})
    return rows


def test_live_progress_and_the_curve_land_in_the_trials_one_run(tmp_path, monkeypatch, ctr_world):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    (trial,) = spec_mod.expand(spec_mod.parse(SPEC))
    live = tracking.LiveRuns(tmp_path, tracking.WandbConfig(project="recscale-test"), "live")
    progress = Progress(io.StringIO(), every_s=1e9, on_update=live.update)
    progress.begin([trial])
    progress.started(trial)
    ctr.train([trial.config], tasks.model_config(trial.config), ctr_world, on_progress=progress.monitor(trial))
    record = runner.run_trial(trial, "live")
    assert tracking.log_trial(record, tmp_path, tracking.WandbConfig(project="recscale-test"), run=live.pop(trial.trial_id))
    tracking.close()
    (path,) = sorted((tmp_path / "wandb").glob("offline-run-*/*.wandb"))  # one run for the trial
    rows = _history(path)
    live_rows = [r for r in rows if "progress/done" in r]
    curve_rows = [r for r in rows if "ne" in r]
    assert [r["progress/done"] for r in live_rows] == list(range(8, 33, 8))  # 32 steps, a report per 8
    assert [r["progress/examples"] for r in live_rows] == [64 * s for s in range(8, 33, 8)]
    assert all(r["progress/total"] == 32 and r["progress/loss"] > 0 for r in live_rows)
    assert "progress/examples_per_s" not in live_rows[0] and live_rows[-1]["progress/eta_s"] == 0
    assert [(r["examples"], r["ne"]) for r in curve_rows] == [(c["examples"], c["ne"]) for c in record.curve]
    assert rows.index(curve_rows[0]) > rows.index(live_rows[-1])  # the curve follows the live rows, none dropped
