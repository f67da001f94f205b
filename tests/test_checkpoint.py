"""Orbax checkpoints across meshes: a trial saved row-sharded on 8 simulated CPU devices is
restored bit for bit on 4 devices (row-sharded, a quarter of each table per device) and
on one, and the resumed trial ends with the uninterrupted trial's metrics.

XLA_FLAGS must be set before jax is imported, so each mesh runs in a fresh interpreter
that prints what it measured as JSON.
"""

import json
import os
import subprocess
import sys

import pytest

CHILD = r"""
import hashlib, json, sys
from pathlib import Path
import jax, numpy as np
from sweeps import spec as spec_mod
from sweeps.spec import PlannedTrial
from sweeps.tasks import ctr
from sweeps.train import checkpoint, ctr as train, sharding

where, modes = Path(sys.argv[1]), sys.argv[2].split(",")
out = {"devices": jax.device_count()}
for mode in modes:
    # tests/test_golden.py's tiny CTR shapes, and tests/test_sharding.py's: programs the run may have compiled
    tree = {"model": {"embed_dim": 4, "rows": 256, "bottom_mlp": [8], "top_mlp": [8]}, "data": {"examples": 8192},
            "optim": {"lr": 0.01}, "train": {"batch_size": 128, "chunk_steps": 8, "eval_points": 4, "sharding": mode,
                                             "checkpoint_every_steps": 16}}
    cfg = spec_mod.build_config("dlrm", 0, tree, "base")
    model_cfg, world = ctr.model_config(cfg), ctr.world(ctr.WorldConfig())
    init = train.program_set(model_cfg, "dlrm", cfg.optim, 8, 128, mode)[0]
    step, state, meta = checkpoint.load(where, cfg.trial_id, init([0])) or (None, None, None)
    digest = None if state is None else hashlib.sha256(b"".join(np.asarray(x).tobytes() for x in jax.tree.leaves(state))).hexdigest()
    rows = [[s.data.shape[0] for s in leaf.addressable_shards] for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]
            if sharding._is_table(path)] if state is not None else []
    (res,) = train.train([cfg], model_cfg, world, checkpoint_path=where)
    out[mode] = {"restored_step": step, "digest": digest, "table_shard_rows": rows, "message": res.message,
                 "curve": list(res.curve), "final": res.final}
    if not step:  # the uninterrupted run: the digest of its last checkpoint, read back on this mesh
        step, state, _ = checkpoint.load(where, cfg.trial_id, init([0]))
        out[mode].update(saved_step=step, saved_digest=hashlib.sha256(b"".join(np.asarray(x).tobytes() for x in jax.tree.leaves(state))).hexdigest())
print(json.dumps(out))
"""


def _child(devices: int, where, modes: str) -> dict:
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    res = subprocess.run([sys.executable, "-c", CHILD, str(where), modes], capture_output=True, text=True, env=env,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def across_meshes(tmp_path_factory):
    where = tmp_path_factory.mktemp("ckpt") / "trial"
    saved = _child(8, where, "row")  # trains through, leaving its checkpoint at step 48 of 64
    resumed = _child(4, where, "row,none")  # resumes from it twice: row-sharded on 4 devices, then on one
    return saved, resumed


def test_a_checkpoint_saved_on_8_devices_restores_bit_for_bit_on_4_and_on_1(across_meshes):
    saved, resumed = across_meshes
    assert saved["devices"] == 8 and resumed["devices"] == 4
    s = saved["row"]
    assert s["restored_step"] is None and s["saved_step"] == 48  # 64 steps, saved every 16, not at the end
    for mode in ("row", "none"):
        r = resumed[mode]
        assert r["restored_step"] == 48 and r["digest"] == s["saved_digest"], mode
        assert "resumed from a checkpoint at step 48" in r["message"]
    # row-sharded on 4 devices: each holds a quarter of every table (dense Adam: 5 tables and 2 moments each)
    rows = resumed["row"]["table_shard_rows"]
    assert len(rows) == 15 and all(len(r) == 4 and len(set(r)) == 1 for r in rows)
    assert resumed["none"]["table_shard_rows"] == [[n] for n in (r[0] * 4 for r in rows)]  # whole tables on one device


def test_the_resumed_trial_ends_with_the_uninterrupted_metrics(across_meshes):
    saved, resumed = across_meshes
    full = saved["row"]["curve"]
    for mode in ("row", "none"):
        curve = resumed[mode]["curve"]
        assert [c["step"] for c in curve] == [c["step"] for c in full] == [16, 32, 48, 64]
        assert curve[:3] == full[:3]  # up to the checkpoint: its own record of the curve
        # After it, the same state trained on another mesh: sums in another order only
        # (the tolerance of tests/test_sharding.py for 8 devices against one).
        for key in ("train_loss", "ne", "logloss", "auc", "valid/ne", "valid/auc"):
            assert curve[3][key] == pytest.approx(full[3][key], rel=1e-5), (mode, key)
        # the trial's final metrics are the last row's evaluation-set half (its valid/ half is the validation)
        assert resumed[mode]["final"] == {k: v for k, v in curve[3].items() if not k.startswith("valid/")}
