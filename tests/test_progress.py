"""Sweep progress: plain lines in a log, a live rich display on a terminal, steps inside a
trial from the CTR trainer, and the sweep's ETA from the plan's estimates."""

import dataclasses
import io
import re

import numpy as np
import pytest

from sweeps import runner, spec as spec_mod, store, tasks
from sweeps.progress import Progress
from sweeps.store import TrialRecord
from sweeps.train import ctr

TINY = {
    "name": "progress",
    "arch": "dlrm",
    # tests/test_golden.py's tiny CTR shapes: embed_dim 4's programs may be in the run's cache already
    "base": {"model": {"embed_dim": 4, "rows": 256, "bottom_mlp": [8], "top_mlp": [8]}, "data.examples": 2048,
             "train": {"batch_size": 128, "chunk_steps": 8}},
    "axes": {"horizontal": [4, 8]},
}


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_when_not_a_terminal(tmp_path):
    out = io.StringIO()
    runner.run(spec_mod.parse(TINY), tmp_path, progress=Progress(out))
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["[1/2]", "[2/2]"]
    assert all(re.search(r" eta \d+m\d\ds$", line) for line in lines) and "\r" not in out.getvalue()
    assert lines[-1].endswith(" eta 0m00s")


def test_live_rich_display_on_a_terminal(tmp_path):
    out = _Tty()
    runner.run(spec_mod.parse(TINY), tmp_path, progress=Progress(out))
    text = out.getvalue()
    assert "\x1b[" in text and "sweep" in text  # rich redraws the sweep's bar in place
    assert "[1/2]" in text and "[2/2]" in text  # the lines of finished trials above it


def test_the_ctr_trainer_reports_every_chunk_with_loss_throughput_and_eta(ctr_world):
    (trial,) = spec_mod.expand(spec_mod.parse({**TINY, "axes": {"horizontal": [4]}}))
    cfg = dataclasses.replace(trial.config, data=dataclasses.replace(trial.config.data, examples=4096))
    out = io.StringIO()
    progress = Progress(out, every_s=0.0)
    progress.begin([trial])
    progress.started(trial)
    heard = []
    progress.on_update = lambda t, numbers: heard.append(numbers)
    (res,) = ctr.train([cfg], tasks.model_config(cfg), ctr_world, on_progress=progress.monitor(trial))
    total = ctr.total_steps(4096, 128)
    assert [h["done"] for h in heard] == list(range(8, total + 1, 8))  # one report per chunk of 8 steps
    assert all(h["unit"] == "step" and h["total"] == total and h["examples"] == h["done"] * 128 for h in heard)
    # The losses reported are the chunk means; the curve's train_loss at each evaluation is
    # the mean of the chunk means since the previous one (equal chunks: the plain mean).
    by_step = {h["done"]: h["loss"] for h in heard}
    prev = 0
    for row in res.curve:
        chunk_losses = [by_step[s] for s in range(prev + 8, row["step"] + 1, 8)]
        assert row["train_loss"] == pytest.approx(np.mean(chunk_losses), rel=1e-6)
        prev = row["step"]
    assert np.isnan(heard[0]["examples_per_s"]) and heard[0]["eta_s"] is None  # the first report times nothing
    assert all(h["examples_per_s"] > 0 and h["eta_s"] >= 0 for h in heard[1:])
    assert heard[-1]["eta_s"] == 0.0
    lines = out.getvalue().splitlines()
    assert len(lines) == len(heard)
    assert re.fullmatch(rf"  {trial.trial_id}: step {total}/{total} \(100%\) loss \d\.\d{{4}}, [\d,]+ ex/s, eta 0m00s"
                        r" \| sweep eta 0m00s", lines[-1])


def test_the_sweep_eta_scales_the_plan_estimates_by_measured_over_estimated():
    trials = spec_mod.expand(spec_mod.parse({**TINY, "axes": {"horizontal": [1, 2, 3, 4]}}))
    a, b, c, d = (t.trial_id for t in trials)
    p = Progress(io.StringIO(), every_s=1e9)
    p.begin(trials, {a: 10.0, b: 20.0, c: 30.0, d: 40.0}, parallel=2)
    assert p.eta_seconds() == pytest.approx(100.0 / 2)  # nothing measured: the plan's word
    record = TrialRecord(trial_id=a, sweep="s", arch="dlrm", seed=0, axes={}, config={}, status="finished",
                         params={}, flops_per_example={}, train_flops=0.0, examples_seen=0, final_metrics={},
                         best_metrics={}, curve=[], wall_time_s=25.0, compile_time_s=0.0, throughput=0.0,
                         metric_note="", versions={})
    p.started(trials[0])
    p.finished(trials[0], record)  # took 25 s for an estimated 10: the rest are 2.5x slower
    assert p.eta_seconds() == pytest.approx(2.5 * 90.0 / 2)
    p.started(trials[1])
    on_b = p.monitor(trials[1])
    on_b("step", 10, 100, loss=0.5, examples=640)
    assert p.eta_seconds() == pytest.approx(2.5 * 90.0 / 2)  # b reported once: no rate yet
    p.running[b].eta_s = 4.0  # as if b measured its own rate: its ETA replaces its estimate
    assert p.eta_seconds() == pytest.approx((4.0 + 2.5 * 70.0) / 2)
    p.elsewhere(trials[2])  # recorded by another driver
    assert p.eta_seconds() == pytest.approx((4.0 + 2.5 * 40.0) / 2)


def test_a_retrieval_trial_reports_every_epoch_through_the_runner(tmp_path):
    raw = {
        "name": "seq_progress", "arch": "sasrec",
        "base": {"model": {"d_model": 8, "n_blocks": 1, "n_heads": 1, "max_len": 16},
                 "data": {"examples": 128, "seq_len": 16, "min_len": 5},
                 "train": {"batch_size": 32, "epochs": 3, "n_negatives": 16}},
        "axes": {"horizontal": [8]},
    }
    progress = Progress(io.StringIO(), every_s=0.0)
    heard = []
    progress.on_update = lambda t, numbers: heard.append(numbers)
    runner.run(spec_mod.parse(raw), tmp_path, progress=progress)
    (rec,) = store.read_all(tmp_path)
    assert [(h["unit"], h["done"], h["total"]) for h in heard] == [("epoch", e, 3) for e in (1, 2, 3)]
    assert [h["loss"] for h in heard] == [row["train_loss"] for row in rec.curve]
    assert heard[-1]["examples"] == rec.examples_seen
