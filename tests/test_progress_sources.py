"""Progress from where trials train away from the plain loop: from worker processes (with
``--workers N`` each trial's steps, loss and ETA reach the driver's display through the
pool's queue, before the trial's own line), and from packed trials (each lane its own
line with its own loss)."""

import io
import re

import pytest

from sweeps import executors, runner, spec as spec_mod, store
from sweeps.progress import Progress

# tests/test_golden.py's tiny CTR shapes (programs the run's compilation cache may hold),
# two seeds: 16 steps in two chunks each
SPEC = {"name": "pool_progress", "arch": "dlrm", "seeds": [0, 1],
        "base": {"model": {"rows": 256, "bottom_mlp": [8], "top_mlp": [8]}, "data": {"examples": 2048},
                 "train": {"batch_size": 128, "chunk_steps": 8, "eval_points": 2}},
        "axes": {"horizontal": [4]}}


def test_steps_inside_worker_trials_reach_the_driver(tmp_path):
    out = io.StringIO()
    summary = runner.run(spec_mod.parse(SPEC), tmp_path, executor=executors.ProcessPool(2),
                         progress=Progress(out, live=False, every_s=0.0))
    assert summary.finished == 2
    lines = out.getvalue().splitlines()
    for rec in store.read_all(tmp_path):
        steps = [i for i, line in enumerate(lines) if line.startswith(f"  {rec.trial_id}: step ")]
        (done,) = [i for i, line in enumerate(lines) if re.match(rf"\[\d/2\] {rec.trial_id} ", line)]
        # both chunks reported (8/16 and 16/16), with the loss, before the trial's line
        assert [re.search(r"step (\d+)/16", lines[i]).group(1) for i in steps] == ["8", "16"]
        assert all("loss " in lines[i] and "eta" in lines[i] for i in steps) and max(steps) < done


def _step_lines(text: str, trial_id: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(f"  {trial_id}: step ")]


def test_each_trial_of_a_pack_reports_its_own_steps_and_loss(tmp_path):
    out = io.StringIO()
    summary = runner.run(spec_mod.parse(SPEC), tmp_path, pack=True, progress=Progress(out, live=False, every_s=0.0))
    assert summary.finished == 2
    recs = sorted(store.read_all(tmp_path), key=lambda r: r.seed)
    assert all("trained packed: 2 trials" in r.message for r in recs)
    losses = []
    for rec in recs:
        lines = _step_lines(out.getvalue(), rec.trial_id)
        assert [re.search(r"step (\d+)/16", line).group(1) for line in lines] == ["8", "16"]
        losses.append([float(re.search(r"loss ([0-9.]+)", line).group(1)) for line in lines])
        # the reported loss is the lane's: the mean of its chunk (its curve's train_loss at step 16 is that mean)
        assert losses[-1][1] == pytest.approx(rec.curve[-1]["train_loss"], abs=5e-5)
    assert losses[0] != losses[1]  # two seeds, two lanes, two losses
