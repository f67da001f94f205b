"""Progress from packed trials: each lane its own line with its own loss. (From worker
processes: tests/test_engine.py's process-pool test.)"""

import io
import re

import pytest

from sweeps import runner, spec as spec_mod, store
from sweeps.progress import Progress

# tests/test_golden.py's tiny CTR shapes (programs the run's compilation cache may hold),
# two seeds (one pack): 16 steps in two chunks each
SPEC = {"name": "packed_progress", "arch": "dlrm", "seeds": [0, 1],
        "base": {"model": {"rows": 256, "bottom_mlp": [8], "top_mlp": [8]}, "data": {"examples": 2048},
                 "train": {"batch_size": 128, "chunk_steps": 8, "eval_points": 2}},
        "axes": {"horizontal": [4]}}


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
