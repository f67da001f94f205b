"""Sharded embedding tables on 8 simulated CPU devices: the same losses as one device,
and each device holds only its share of the tables.

XLA_FLAGS must be set before jax is imported, and other tests import it first, so the
training runs in a fresh interpreter that prints its measurements as JSON.
"""

import json
import os
import subprocess
import sys

import pytest

from sweeps import spec as spec_mod
from sweeps.errors import SpecError
from sweeps.train import ctr as train

CHILD = r"""
import json, os
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
import jax, numpy as np
from sweeps import runner, spec as spec_mod
from sweeps.train import ctr as train, sharding
from sweeps.spec import PlannedTrial
from sweeps.tasks import ctr

# tests/test_golden.py's tiny CTR shapes (and tests/test_checkpoint.py's): the run's
# compilation cache may already hold the single-device programs, and the 8-device
# row-sharded one is tests/test_checkpoint.py's
MODEL = {"embed_dim": 4, "rows": 256, "bottom_mlp": [8], "top_mlp": [8]}
out = {"devices": jax.device_count()}
for emb, mode in [("dense", "row"), ("rowwise_adagrad", "table")]:
    curves = {}
    for m in ("none", mode):
        tree = {"model": MODEL, "data": {"examples": 4096}, "optim": {"lr": 0.01, "embeddings": emb},
                "train": {"batch_size": 128, "chunk_steps": 8, "eval_points": 4, "sharding": m}}
        t = PlannedTrial(spec_mod.build_config("dlrm", 0, tree, "base"), {})
        rec = runner.run_trial(t, "sharding")
        assert rec.status == "finished", rec.message
        curves[m] = [(c["train_loss"], c["ne"]) for c in rec.curve]
    # the state after one chunk: where do the table leaves live?
    cfg = t.config
    init, chunk, _ = train.program_set(ctr.model_config(cfg), "dlrm", cfg.optim, 8, 128, mode)
    w = ctr.world(ctr.WorldConfig())
    batches, active = train.chunk_arrays(w.train(8 * 128), 0, 8, 128, 8)
    state, _ = chunk(init([0]), batches, active, np.full(8, 0.01, np.float32))
    leaves = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]:
        if sharding._is_table(path):
            shards = leaf.addressable_shards
            leaves.append({"shape": list(leaf.shape), "shard_rows": [s.data.shape[0] for s in shards],
                           "devices": len({s.device for s in shards})})
    out[mode] = {"curves": curves, "table_leaves": leaves}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def sharded():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8"}
    res = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["row", "table"])
def test_sharded_training_gives_the_single_device_losses(sharded, mode):
    assert sharded["devices"] == 8
    single, split = sharded[mode]["curves"]["none"], sharded[mode]["curves"][mode]
    assert len(single) == len(split) == 4
    for (loss_a, ne_a), (loss_b, ne_b) in zip(single, split):
        assert loss_b == pytest.approx(loss_a, rel=1e-5)  # sums in another order only
        assert ne_b == pytest.approx(ne_a, rel=1e-5)


def test_row_sharding_leaves_an_eighth_of_every_table_on_each_device(sharded):
    leaves = sharded["row"]["table_leaves"]
    # dense Adam: the 5 tables, and their two moments
    assert len(leaves) == 15
    for leaf in leaves:
        rows = leaf["shape"][0]
        assert leaf["devices"] == 8 and leaf["shard_rows"] == [rows // 8] * 8


def test_table_sharding_puts_whole_tables_on_each_device(sharded):
    # 5 tables of at most 256 rows fused into 8 blocks of 256 rows: one whole table on
    # each of 5 devices; the row-wise Adagrad accumulator is laid out the same way
    leaves = sharded["table"]["table_leaves"]
    assert [leaf["shape"][0] for leaf in leaves] == [8 * 256, 8 * 256]
    for leaf in leaves:
        assert leaf["devices"] == 8 and leaf["shard_rows"] == [256] * 8


def test_table_sharding_without_a_sparse_update_is_a_clear_error():
    cfg = spec_mod.build_config("dlrm", 0, {"train": {"sharding": "table"}}, "base")
    with pytest.raises(SpecError, match="train.sharding"):
        train.make_core(None, "dlrm", cfg.optim, cfg.train.sharding)
    with pytest.raises(SpecError, match="train.sharding"):
        spec_mod.build_config("dlrm", 0, {"train": {"sharding": "diagonal"}}, "base")
