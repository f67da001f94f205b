"""A multi-host trial killed mid-run resumes from its checkpoint: two processes x two CPU
devices (``python -m sweeps.multihost``, gloo collectives), a row-sharded DLRM trial that
checkpoints every 16 of its 64 steps. Both processes are stopped (SIGSTOP) as soon as a
checkpoint is complete, so the kill lands mid-trial whatever the machine's speed, then
killed with SIGKILL and started again; the resumed trial must say where it resumed from and
end with the metrics of the same trial trained uninterrupted on one device.
"""

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sweeps import runner, spec as spec_mod, store
from sweeps.spec import PlannedTrial
from sweeps.train import checkpoint

# tests/test_checkpoint.py's trial (tests/test_golden.py's tiny CTR shapes): 64 steps, a
# checkpoint every 16. Sharding and checkpoint frequency are not part of a trial's identity,
# so the in-process reference below is the same trial id.
TREE = {"model": {"rows": 256, "bottom_mlp": [8], "top_mlp": [8]}, "data": {"examples": 8192},
        "optim": {"lr": 0.01}, "train": {"batch_size": 128, "chunk_steps": 8, "eval_points": 4}}
SPEC = {"name": "multihost", "arch": "dlrm", "seeds": [0],
        "base": {**TREE, "train": {**TREE["train"], "sharding": "row", "checkpoint_every_steps": 16}},
        "axes": {"horizontal": [4]}}
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(spec: Path, out: Path, logs: Path) -> list[subprocess.Popen]:
    port = _free_port()
    procs = []
    for i in (0, 1):
        cmd = [sys.executable, "-m", "sweeps.multihost", str(spec), "--out", str(out),
               "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2", "--process-id", str(i), "--local-devices", "2"]
        with open(logs / f"p{i}.log", "a") as log:
            procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
    return procs


def _logs(logs: Path) -> str:
    return "\n".join(p.read_text()[-2000:] for p in sorted(logs.glob("p*.log")))


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    root = tmp_path_factory.mktemp("multihost")
    spec, out, logs = root / "spec.yaml", root / "out", root / "logs"
    logs.mkdir()
    spec.write_text(yaml.safe_dump(SPEC))
    (trial,) = spec_mod.expand(spec_mod.load(spec))
    where = checkpoint.path(out / "checkpoints", trial.trial_id)

    procs = _start(spec, out, logs)
    deadline, step = time.monotonic() + 300, None
    try:
        while step is None:
            assert time.monotonic() < deadline, "no checkpoint within 300 s:\n" + _logs(logs)
            assert all(p.poll() is None for p in procs), "a process ended before its first checkpoint:\n" + _logs(logs)
            step = checkpoint.latest_step(where) if where.exists() else None
            time.sleep(0.02)
        for p in procs:
            p.send_signal(signal.SIGSTOP)
        stopped_at = checkpoint.latest_step(where)
        recorded_before_kill = list(store.read_all(out))
    finally:
        for p in procs:
            p.kill()  # SIGKILL
            p.wait()

    procs = _start(spec, out, logs)
    for p in procs:
        assert p.wait(timeout=300) == 0, _logs(logs)
    return {"trial": trial, "stopped_at": stopped_at, "recorded_before_kill": recorded_before_kill,
            "hosts": [list(store.read_all(out)), list(store.read_all(out / "hosts" / "1"))], "logs": _logs(logs)}


def test_the_kill_lands_mid_trial_and_the_trial_resumes_from_its_checkpoint(killed_and_resumed):
    r = killed_and_resumed
    assert r["stopped_at"] in (16, 32, 48) and r["recorded_before_kill"] == []
    assert "2 of 4 devices" in r["logs"]
    for records in r["hosts"]:
        (rec,) = records
        assert rec.trial_id == r["trial"].trial_id and rec.status == "finished", rec.message
        # it resumed from the step it was killed at or the checkpoint before (a save in flight is discarded)
        resumed = int(rec.message.split("resumed from a checkpoint at step ")[1].split()[0].rstrip(".;,"))
        assert resumed in (16, 32, 48) and resumed <= r["stopped_at"]
        assert [c["step"] for c in rec.curve] == [16, 32, 48, 64]


def test_the_resumed_multihost_trial_ends_with_the_uninterrupted_single_device_metrics(killed_and_resumed):
    r = killed_and_resumed
    ref = runner.run_trial(PlannedTrial(spec_mod.build_config("dlrm", 0, {**TREE, "model": {**TREE["model"], "embed_dim": 4}},
                                                              "base"), {}), "reference")
    assert ref.trial_id == r["trial"].trial_id and ref.status == "finished"
    (host0,), (host1,) = r["hosts"]
    assert host0.final_metrics == host1.final_metrics and host0.curve == host1.curve  # one program, two hosts
    # four devices in two processes against one: the sums of each step in another order only
    # (the tolerance of tests/test_sharding.py and tests/test_checkpoint.py across meshes)
    for key in ("ne", "logloss", "auc"):
        assert host0.final_metrics[key] == pytest.approx(ref.final_metrics[key], rel=1e-5), key
    for got, want in zip(host0.curve, ref.curve, strict=True):
        assert got["train_loss"] == pytest.approx(want["train_loss"], rel=1e-5)
