"""The Ray executor on a real local instance (one for the module): its records equal the
in-process ones, and a worker killed mid-trial is replaced: Ray runs the task again on
another worker, and the trial resumes from the checkpoint it left in the sweep's checkpoint
directory (a path every node would see), ending with the metrics of the same trial trained
uninterrupted.

The worker running the trial (process title ``ray::_call``) is found in /proc and killed
with SIGKILL right after its first checkpoint is complete.
"""

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from test_engine import TINY as ENGINE_TINY

from sweeps import executors, runner, spec as spec_mod, store
from sweeps.spec import PlannedTrial
from sweeps.train import checkpoint

# tests/test_engine.py's tiny sweep at two points: two trials, one per Ray worker.
MATCH = {**ENGINE_TINY, "axes": {"horizontal": [2, 4]}}

# tests/test_golden.py's tiny CTR shapes at 1024 steps, a checkpoint every 64: after the
# first one the worker has ~960 steps left, far more than the few ms from seeing the
# checkpoint to the kill.
TREE = {"model": {"embed_dim": 4, "rows": 256, "bottom_mlp": [8], "top_mlp": [8]}, "data": {"examples": 131072},
        "optim": {"lr": 0.01}, "train": {"batch_size": 128, "chunk_steps": 8, "eval_points": 4}}
SPEC = {"name": "ray_kill", "arch": "dlrm", "seeds": [0],
        "base": {**TREE, "model": {k: v for k, v in TREE["model"].items() if k != "embed_dim"},
                 "train": {**TREE["train"], "checkpoint_every_steps": 64}},
        "axes": {"horizontal": [4]}}


def _workers_running_a_trial() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(b"ray::_call"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@pytest.fixture(scope="module")
def ray_executor():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_AUTH_MODE", "disabled")
        executor = executors.RayExecutor(num_cpus=2)
        try:
            yield executor
        finally:
            executor.close()


def test_ray_executor_on_a_local_instance_matches_in_process(tmp_path, ray_executor):
    spec = spec_mod.parse(MATCH)
    runner.run(spec, tmp_path / "local", log=lambda m: None)
    runner.run(spec, tmp_path / "ray", executor=ray_executor, log=lambda m: None)
    local = {r.trial_id: r for r in store.read_all(tmp_path / "local")}
    ray_ = {r.trial_id: r for r in store.read_all(tmp_path / "ray")}
    assert local.keys() == ray_.keys() and len(local) == 2
    for tid, r in local.items():
        assert ray_[tid].final_metrics == r.final_metrics
        assert ray_[tid].curve == r.curve


@pytest.fixture(scope="module")
def killed_once(tmp_path_factory, ray_executor):
    out = tmp_path_factory.mktemp("ray_kill") / "sweep"
    spec = spec_mod.parse(SPEC)
    (trial,) = spec_mod.expand(spec)
    where = checkpoint.path(out / "checkpoints", trial.trial_id)
    result: dict = {}
    sweep = threading.Thread(target=lambda: result.update(summary=runner.run(
        spec, out, executor=ray_executor, log=lambda m: None, checkpoint_dir=out / "checkpoints")))
    sweep.start()
    deadline, pids = time.monotonic() + 300, []
    while not (pids and where.exists() and checkpoint.latest_step(where)):
        assert time.monotonic() < deadline and sweep.is_alive(), "the trial never checkpointed"
        pids = pids or _workers_running_a_trial()
        time.sleep(0.01)
    (pid,) = pids
    os.kill(pid, signal.SIGKILL)
    killed_at = checkpoint.latest_step(where)
    sweep.join(timeout=300)
    assert not sweep.is_alive()
    return {"trial": trial, "killed_at": killed_at, "summary": result["summary"], "records": list(store.read_all(out))}


def test_the_killed_trial_is_rerun_by_ray_and_resumes_from_its_checkpoint(killed_once):
    k = killed_once
    assert k["summary"].finished == 1 and k["summary"].failed == 0
    (rec,) = k["records"]
    assert rec.trial_id == k["trial"].trial_id and rec.status == "finished", rec.message
    resumed = int(rec.message.split("resumed from a checkpoint at step ")[1].split()[0].rstrip(".;,"))
    assert resumed % 64 == 0 and 64 <= resumed <= k["killed_at"] < 1024


def test_the_resumed_trial_ends_with_the_uninterrupted_metrics(killed_once):
    (rec,) = killed_once["records"]
    ref = runner.run_trial(PlannedTrial(spec_mod.build_config("dlrm", 0, TREE, "base"), {}), "reference")
    assert ref.trial_id == rec.trial_id
    # the same program on the same devices from a state restored bit for bit (tests/test_checkpoint.py),
    # on the same batches and learning rates: the same numbers, as the Ray run above
    assert [c["step"] for c in rec.curve] == [256, 512, 768, 1024]
    assert rec.curve == ref.curve and rec.final_metrics == ref.final_metrics
