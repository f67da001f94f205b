"""Several drivers on one sweep directory: each trial is claimed, trained and recorded once;
a driver killed with SIGKILL mid-trial is taken over from its checkpoint."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import yaml

from recscale import cli
from sweeps import claims, runner, spec as spec_mod, store
from sweeps.train import checkpoint

SPEC = {
    "name": "claims",
    "arch": "dlrm",
    "seeds": [0, 1],
    "base": {
        "model": {"embed_dim": 2, "rows": 64, "bottom_mlp": [4], "top_mlp": [4]},
        "data.examples": 8192,
        "train": {"batch_size": 32, "chunk_steps": 16, "eval_points": 2, "checkpoint_every_steps": 128},
    },
    "axes": {"data": [8192, 16384, 24576]},
}
TIMEOUT_S = 3.0  # claim timeout: a heartbeat every 0.75 s
FINISHED = re.compile(r"^\[\d+/\d+\] (\w+) .*: finished", re.M)


def _driver(spec_path, out):
    cmd = [sys.executable, "-m", "recscale.cli", "sweep", "run", str(spec_path), "--out", str(out),
           "--claim-timeout", str(TIMEOUT_S)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def three_drivers(tmp_path_factory):
    """A single driver on one directory, for reference; then three drivers started
    together on another; once one of them holds a claim whose checkpoint exists, it is
    killed with SIGKILL. (The reference goes first so that the drivers, started at once,
    load its programs from the run's compilation cache instead of each compiling them.)"""
    tmp = tmp_path_factory.mktemp("claims")
    spec_path, out = tmp / "spec.yaml", tmp / "shared"
    ref = tmp / "single"
    runner.run(spec_mod.parse(SPEC), ref, log=lambda line: None)
    spec_path.write_text(yaml.safe_dump(SPEC))
    procs = [_driver(spec_path, out) for _ in range(3)]
    by_pid = {p.pid: p for p in procs}
    victim = killed_trial = None
    deadline = time.time() + 300
    while victim is None and time.time() < deadline:
        for c in claims.read_all(out):
            if c.pid in by_pid and checkpoint.latest_step(checkpoint.path(out / "checkpoints", c.trial_id)):
                victim, killed_trial = by_pid[c.pid], c.trial_id
                os.kill(victim.pid, signal.SIGKILL)
                killed_at = time.time()
                break
        time.sleep(0.02)
    assert victim is not None, "no driver wrote a checkpoint"
    recorded_at_kill = store.has(out, killed_trial)
    outputs = {p.pid: p.communicate(timeout=300)[0] for p in procs}
    finished_at = time.time()
    return dict(out=out, ref=ref, outputs=outputs, victim=victim, killed_trial=killed_trial,
                recorded_at_kill=recorded_at_kill, takeover_s=finished_at - killed_at,
                codes={p.pid: p.returncode for p in procs})


def test_every_trial_is_trained_and_recorded_exactly_once(three_drivers):
    d = three_drivers
    assert not d["recorded_at_kill"], "the kill should land mid-trial"
    trained = {pid: FINISHED.findall(text) for pid, text in d["outputs"].items()}
    every = [t for ids in trained.values() for t in ids]
    planned = sorted(t.trial_id for t in spec_mod.expand(spec_mod.parse(SPEC)))
    assert sorted(every) == planned  # each trial finished by exactly one driver
    assert d["killed_trial"] not in trained[d["victim"].pid]
    print("trials trained per driver:", {pid: len(ids) for pid, ids in trained.items()},
          f"(killed: {d['victim'].pid}); takeover to the end: {d['takeover_s']:.1f}s")
    survivors = [pid for pid in d["codes"] if pid != d["victim"].pid]
    assert d["codes"][d["victim"].pid] == -signal.SIGKILL and all(d["codes"][pid] == 0 for pid in survivors), \
        {pid: d["outputs"][pid][-3000:] for pid in survivors}
    assert sum(f"took over {d['killed_trial']}" in d["outputs"][pid] for pid in survivors) == 1
    assert not claims.read_all(d["out"])  # every claim released
    assert not any(checkpoint.path(d["out"] / "checkpoints", t).exists() for t in planned)  # removed with the records


def test_the_killed_trial_resumes_from_its_checkpoint_and_records_equal_a_single_drivers(three_drivers):
    d = three_drivers
    shared = {r.trial_id: r for r in store.read_all(d["out"])}
    single = {r.trial_id: r for r in store.read_all(d["ref"])}
    assert sorted(shared) == sorted(single) and len(single) == 6
    assert "resumed from a checkpoint at step" in shared[d["killed_trial"]].message
    for tid, r in single.items():
        got = shared[tid]
        assert (got.status, got.examples_seen, got.final_metrics, got.curve) == \
            (r.status, r.examples_seen, r.final_metrics, r.curve), tid


def _holder(sweep_dir, trial_id):
    """A process that claims one trial and keeps the claim alive until it is killed."""
    code = ("import sys, time; from sweeps.claims import Claims; "
            f"c = Claims({str(sweep_dir)!r}, timeout={TIMEOUT_S}); assert c.acquire({trial_id!r}); "
            "print('held', flush=True); time.sleep(600)")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_a_live_claim_is_skipped_a_silent_one_taken_over_after_the_timeout_a_dead_one_at_once(tmp_path, capsys):
    spec = spec_mod.parse(SPEC)
    store.write_atomic(tmp_path / "spec.yaml", spec_mod.dump(spec))
    t1, t2 = (t.trial_id for t in spec_mod.expand(spec)[:2])
    hung, dead = _holder(tmp_path, t1), _holder(tmp_path, t2)
    events = []
    mine = claims.Claims(tmp_path, timeout=TIMEOUT_S, on_event=events.append)
    try:
        assert not mine.acquire(t1)  # live: another driver's heartbeat is fresh
        time.sleep(TIMEOUT_S / 2)
        assert not mine.acquire(t1)  # the holder's heartbeat kept it fresh past half the timeout
        held = {c.trial_id: c for c in claims.read_all(tmp_path)}
        c1, c2 = held[t1], held[t2]
        assert (c1.pid, c1.trial_id, c2.pid) == (hung.pid, t1, dead.pid) and c1.age() < TIMEOUT_S
        assert cli.main(["sweep", "status", str(tmp_path), "--claim-timeout", str(TIMEOUT_S)]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0].endswith("6 trials: finished 0, diverged 0, failed 0, running 2, remaining 4")
        assert any(line.startswith(f"  {t1}: running on {c1.host} pid {hung.pid} for ") for line in out[1:])

        os.kill(hung.pid, signal.SIGSTOP)  # alive but silent: a hung driver, or a lost host
        dead.kill()
        dead.wait()
        assert mine.acquire(t2)  # a dead pid on this host: taken over at once
        assert events[-1].startswith(f"took over {t2} from {c2.host} pid {dead.pid}") and "not running" in events[-1]
        last_beat = claims.read(claims.claims_dir(tmp_path) / f"{t1}.json").heartbeat  # the frozen holder's last
        while not mine.acquire(t1):
            assert time.time() < last_beat + TIMEOUT_S + 5, "a claim without heartbeat must be taken over after the timeout"
            time.sleep(0.1)
        assert time.time() - last_beat > TIMEOUT_S
        assert events[-1].startswith(f"took over {t1} from {c1.host} pid {hung.pid} (no heartbeat for ")
    finally:
        hung.kill()
        hung.wait()
    assert {c.trial_id: (c.driver, c.pid) for c in claims.read_all(tmp_path)} == \
        {t1: (mine.driver, os.getpid()), t2: (mine.driver, os.getpid())}
    other = claims.Claims(tmp_path, timeout=TIMEOUT_S)
    other.release(t1)  # not other's claim: left alone
    assert len(claims.read_all(tmp_path)) == 2
    mine.close()  # releases what it holds
    assert claims.read_all(tmp_path) == []
