"""A sweep killed with SIGKILL mid-trial resumes without losing or repeating trials (the
learning-rate variants of a ``select:`` among them, and the choice made from them)."""

import json
import os
import signal
import subprocess
import sys
import time

import yaml

from sweeps import runner, selection, spec as spec_mod, store
from sweeps.train import checkpoint

SPEC = {
    "name": "resume",
    "arch": "dlrm",
    "seeds": [0],
    "base": {"model": {"embed_dim": 4, "rows": 256, "bottom_mlp": [8], "top_mlp": [8]}, "data.examples": 65536},
    "axes": {"horizontal": [2, 4]},  # test_engine's tiny shapes: programs the run's compilation cache may hold
    "select": {"over": {"optim.lr": [0.003, 0.03]}, "by": "ne"},  # 2 points x 2 variants
}


def _run(spec, out, **kw):
    cmd = [sys.executable, "-m", "recscale.cli", "sweep", "run", str(spec), "--out", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def test_sigkill_mid_sweep_then_rerun_records_every_trial_once(tmp_path):
    spec = tmp_path / "resume.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    killed, clean = tmp_path / "killed", tmp_path / "clean"

    proc = _run(spec, killed)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(store.trials_dir(killed).glob("*.json"))) < 2:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {p.name: p.read_bytes() for p in store.trials_dir(killed).glob("*.json")}
    assert 2 <= len(before) < 4, "the kill should land mid-sweep"

    out, _ = _run(spec, killed).communicate(timeout=600)
    assert f"{len(before)} of 4 trials already recorded" in out
    assert out.count("finished ne=") == 4 - len(before)
    after = {p.name: p.read_bytes() for p in store.trials_dir(killed).glob("*.json")}
    assert len(after) == 4
    assert all(after[name] == data for name, data in before.items())  # finished trials untouched
    assert not list(store.trials_dir(killed).glob(".*.tmp"))

    runner.run(spec_mod.parse(SPEC), clean, log=lambda line: None)  # the uninterrupted reference, in this process
    resumed = {r.trial_id: r.final_metrics for r in store.read_all(killed)}
    uninterrupted = {r.trial_id: r.final_metrics for r in store.read_all(clean)}
    assert resumed == uninterrupted
    chosen = json.loads((killed / selection.FILE).read_text())
    assert chosen["chosen"] == 2 and chosen == json.loads((clean / selection.FILE).read_text())


LONG = {
    "name": "long",
    "arch": "dlrm",
    "seeds": [0],
    "base": {
        "model": {"embed_dim": 4, "rows": 256, "bottom_mlp": [8], "top_mlp": [8]},
        "data.examples": 262144,
        "train": {"checkpoint_every_steps": 32},  # batch 1024: 256 steps, test_engine's program for embed_dim 4
    },
    "axes": {"horizontal": [4]},
}


def _saved(ckpts):
    """A complete checkpoint step of some trial (Orbax renames a step's directory when it is whole)."""
    return ckpts.is_dir() and any(checkpoint.latest_step(d) for d in ckpts.iterdir())


def test_a_killed_long_trial_resumes_from_its_checkpoint(tmp_path):
    spec = tmp_path / "long.yaml"
    spec.write_text(yaml.safe_dump(LONG))
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = _run(spec, killed)
    ckpts = killed / "checkpoints"
    deadline = time.time() + 300
    while time.time() < deadline and not _saved(ckpts):
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)  # at the first checkpoint (step 32 of 256)
    proc.wait()
    assert _saved(ckpts), "no checkpoint written before the kill"
    assert not list(store.trials_dir(killed).glob("*.json"))

    out, _ = _run(spec, killed).communicate(timeout=600)
    (rec,) = store.read_all(killed)
    assert "resumed from a checkpoint at step" in rec.message
    assert rec.status == "finished" and rec.examples_seen == 262144
    assert not list(ckpts.iterdir())  # removed once the record is written

    runner.run(spec_mod.parse(LONG), clean, log=lambda line: None)
    (ref,) = store.read_all(clean)
    assert rec.final_metrics == ref.final_metrics
    assert [c["ne"] for c in rec.curve] == [c["ne"] for c in ref.curve]
