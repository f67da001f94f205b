"""The sweep engine: failures, retries, process workers (and their progress), status, wandb mirroring."""

import io
import json
import re

import pytest
import yaml

from recscale.cli import main
from sweeps import executors, runner, spec as spec_mod, store
from sweeps.progress import Progress
from sweeps.train import ctr as train

TINY = {
    "name": "engine",
    "arch": "dlrm",
    "seeds": [0],
    "base": {"model": {"embed_dim": 4, "rows": 256, "bottom_mlp": [8], "top_mlp": [8]}, "data.examples": 4096, "train.eval_points": 2},
    "axes": {"horizontal": [2, 4, 8]},
}


def _spec(**over):
    return spec_mod.parse({**TINY, **over})


def test_a_raising_trial_is_failed_with_traceback_and_the_sweep_goes_on(tmp_path, monkeypatch):
    real = train.train

    def flaky(cfgs, model_cfg, world, **kw):
        if cfgs[0].model.embed_dim == 4:
            raise RuntimeError("injected fault")
        return real(cfgs, model_cfg, world, **kw)

    monkeypatch.setattr(train, "train", flaky)
    s = runner.run(_spec(), tmp_path, log=lambda m: None)
    assert (s.finished, s.failed) == (2, 1)
    failed = [r for r in store.read_all(tmp_path) if r.status == "failed"]
    assert len(failed) == 1 and "RuntimeError: injected fault" in failed[0].message
    assert "Traceback" in failed[0].message


def test_retries_rerun_a_failed_trial(tmp_path, monkeypatch):
    real, calls = train.train, {"n": 0}

    def fails_once(cfgs, model_cfg, world, **kw):
        if cfgs[0].model.embed_dim == 4 and calls["n"] == 0:
            calls["n"] += 1
            raise RuntimeError("transient")
        return real(cfgs, model_cfg, world, **kw)

    monkeypatch.setattr(train, "train", fails_once)
    s = runner.run(_spec(), tmp_path, retries=1, log=lambda m: None)
    assert (s.finished, s.failed, s.retried) == (3, 0, 1)
    assert len(list(store.read_all(tmp_path))) == 3


def test_process_workers_write_every_record_once_with_in_process_numbers(tmp_path):
    spec = _spec(seeds=[0, 1])
    runner.run(spec, tmp_path / "serial", log=lambda m: None)
    # two workers for six trials: each worker trains several, and each pays its own interpreter
    out = io.StringIO()
    runner.run(spec, tmp_path / "pool", executor=executors.ProcessPool(2), progress=Progress(out, live=False, every_s=0.0))
    serial = {r.trial_id: r for r in store.read_all(tmp_path / "serial")}
    pool = {r.trial_id: r for r in store.read_all(tmp_path / "pool")}
    assert len(serial) == 6 and serial.keys() == pool.keys()
    lines = out.getvalue().splitlines()
    for tid, r in serial.items():
        assert pool[tid].final_metrics == r.final_metrics
        assert pool[tid].curve == r.curve
        # the steps inside a worker's trial reach the driver's display (the pool's queue), before its line
        steps = [i for i, line in enumerate(lines) if line.startswith(f"  {tid}: step 4/4 (100%) loss ")]
        (done,) = [i for i, line in enumerate(lines) if re.match(rf"\[\d/6\] {tid} ", line)]
        assert len(steps) == 1 and steps[0] < done
    files = list((tmp_path / "pool" / "trials").iterdir())
    assert len(files) == 6 and all(json.loads(f.read_text())["trial_id"] == f.stem for f in files)


def test_status_counts_finished_and_remaining(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({**TINY, "axes": {"horizontal": [2]}}))
    out = tmp_path / "run"
    assert main(["sweep", "run", str(spec), "--out", str(out)]) == 0
    more = {**TINY, "axes": {"horizontal": [2, 4]}}
    (out / "spec.yaml").write_text(yaml.safe_dump(more))
    capsys.readouterr()
    assert main(["sweep", "status", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 trials: finished 1, diverged 0, failed 0, running 0, remaining 1" in text


def test_status_of_a_missing_sweep_exits_2(tmp_path):
    assert main(["sweep", "status", str(tmp_path / "nope")]) == 2


def _wandb_run_records(path):
    """The run records of a .wandb file (LevelDB-style log of protobuf records, 32 KiB blocks)."""
    import struct

    from wandb.proto import wandb_internal_pb2 as pb

    data, block = path.read_bytes(), 32768
    pos, buf, out = 7, b"", []
    while pos + 7 <= len(data):
        if block - pos % block < 7:
            pos += block - pos % block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        pos += 7
        if kind == 0 and length == 0:
            break
        buf += data[pos : pos + length]
        pos += length
        if kind in (1, 4):
            rec = pb.Record()
            rec.ParseFromString(buf)
            out.append(rec)
            buf = b""
    return out


def test_wandb_offline_runs_mirror_the_records(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    spec = _spec(axes={"horizontal": [2, 4]}, logging={"wandb": {"project": "recscale-test"}})
    runner.run(spec, tmp_path, log=lambda m: None)
    records = {r.trial_id: r for r in store.read_all(tmp_path)}
    files = sorted((tmp_path / "wandb").glob("offline-run-*/*.wandb"))
    assert len(files) == 2
    seen = set()
    for f in files:
        runs = [r.run for r in _wandb_run_records(f) if r.WhichOneof("record_type") == "run"]
        assert runs, f"no run record in {f}"
        run = runs[0]
        assert run.run_group == "engine"
        tid = run.run_id.removeprefix("engine-")
        config = {i.key: json.loads(i.value_json) for i in run.config.update if i.key != "_wandb"}
        assert config["model"] == records[tid].config["model"]
        assert config["axes"] == records[tid].axes
        seen.add(tid)
    assert seen == set(records)


def test_malformed_logging_section_names_the_field():
    with pytest.raises(Exception) as e:
        _spec(logging={"wandb": {"mode": "sometimes"}})
    assert "logging.wandb.mode" in str(e.value)
