"""Compiled programs: reused across trials of one shape, cached across processes, and
the bfloat16 mixed-precision option."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from sweeps import runner, spec as spec_mod
from sweeps.spec import PlannedTrial
from sweeps.tasks import ctr
from sweeps.train import ctr as train

TINY = {"embed_dim": 4, "rows": 64, "bottom_mlp": [8], "top_mlp": [8]}


def _trial(seed=0, **over) -> PlannedTrial:
    tree = spec_mod.merge({"model": TINY, "data": {"examples": 8192}, "train": {"batch_size": 512}}, over)
    return PlannedTrial(spec_mod.build_config("dlrm", seed, tree, "base"), {})


def test_a_second_trial_of_the_same_shapes_compiles_nothing():
    runner.run_trial(_trial(0), "t")
    again = runner.run_trial(_trial(1, optim={"lr": 0.003}, data={"examples": 16384}), "t")
    assert again.status == "finished" and again.compile_time_s == 0.0


CHILD = r"""
import json, sys
from sweeps import runner, spec as spec_mod
from sweeps.train import compile_cache
from sweeps.spec import PlannedTrial
tree = {"model": {"embed_dim": 3, "rows": 32, "bottom_mlp": [8], "top_mlp": [8]}, "data": {"examples": 4096},
        "train": {"batch_size": 512}}
rec = runner.run_trial(PlannedTrial(spec_mod.build_config("dlrm", 0, tree, "base"), {}), "t")
print(json.dumps({"status": rec.status, "dir": compile_cache.directory(), "compile_s": rec.compile_time_s}))
"""


def test_the_persistent_cache_serves_a_second_process(tmp_path):
    env = {**os.environ, "RECSCALE_COMPILE_CACHE": str(tmp_path / "xla")}

    def run():
        out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    first = run()
    entries = set(os.listdir(tmp_path / "xla"))
    assert first["status"] == "finished" and first["dir"] == str(tmp_path / "xla")
    assert len(entries) >= 1  # at least the training chunk program
    second = run()
    assert second["status"] == "finished"
    assert set(os.listdir(tmp_path / "xla")) == entries  # loaded, not compiled and written again


def test_bfloat16_trains_in_bf16_on_float32_master_weights():
    t = _trial(train={"batch_size": 512, "precision": "bfloat16"})
    cfg = t.config
    steps, bs = cfg.train.chunk_steps, cfg.train.batch_size  # the trial's own program, compiled once for both
    init, chunk, _ = train.program_set(ctr.model_config(cfg), "dlrm", cfg.optim, steps, bs, precision="bfloat16")
    state = init([0])
    w = ctr.world(ctr.WorldConfig())
    batches, active = train.chunk_arrays(w.train(steps * bs), 0, steps, bs, steps)
    lrs = np.full(steps, 0.01, np.float32)
    hlo = chunk.fn.lower(state, batches, active, lrs).as_text()
    dots = [line for line in hlo.splitlines() if "dot_general" in line]
    assert dots and all("bf16" in line for line in dots)  # every matmul in bf16
    state, _ = chunk(state, batches, active, lrs)
    assert {x.dtype for x in jax.tree.leaves(state) if jnp_floating(x)} == {np.dtype("float32")}

    low, full = runner.run_trial(t, "t"), runner.run_trial(_trial(), "t")
    assert low.status == "finished" and low.trial_id != full.trial_id
    assert low.final_metrics["ne"] == pytest.approx(full.final_metrics["ne"], abs=0.01)


def jnp_floating(x) -> bool:
    return np.issubdtype(x.dtype, np.floating)
