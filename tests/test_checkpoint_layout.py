"""A checkpoint that does not fit the resuming run's state (here: saved with the tables
fused for table sharding, resumed with the tables apart) is not used but removed (it would
block the run's own saves at the same steps), and the trial's record says so instead of
silently training from step 0; a trial with a sparse embedding update resumes from its own
checkpoint bit for bit."""

from sweeps import spec as spec_mod
from sweeps.tasks import ctr
from sweeps.train import checkpoint, ctr as train

# tests/test_golden.py's tiny CTR shapes with its row-wise AdaGrad update: 64 steps, a
# checkpoint every 16 (the last at step 48).
TREE = {"model": {"embed_dim": 4, "rows": 256, "bottom_mlp": [8], "top_mlp": [8]}, "data": {"examples": 8192},
        "optim": {"lr": 0.01, "embeddings": "rowwise_adagrad"},
        "train": {"batch_size": 128, "chunk_steps": 8, "eval_points": 4, "checkpoint_every_steps": 16}}


def _train(sharding: str, where):
    tree = {**TREE, "train": {**TREE["train"], "sharding": sharding}}
    cfg = spec_mod.build_config("dlrm", 0, tree, "base")
    (res,) = train.train([cfg], ctr.model_config(cfg), ctr.world(ctr.WorldConfig()), checkpoint_path=where)
    return cfg, res


def test_a_checkpoint_of_another_layout_is_not_used_and_the_record_says_so(tmp_path):
    where = tmp_path / "trial"
    fused_cfg, fused = _train("table", where)  # one device: every table in one fused block
    assert checkpoint.latest_step(where) == 48 and "did not fit" not in fused.message
    apart_cfg, apart = _train("none", where)
    assert apart_cfg.trial_id == fused_cfg.trial_id  # sharding is a placement, not another trial
    assert "a checkpoint at step 48 did not fit this run's state" in apart.message
    assert "resumed" not in apart.message
    assert [c["step"] for c in apart.curve] == [16, 32, 48, 64] and apart.steps == 64
    _, again = _train("none", where)  # its own checkpoint now: resumed, nothing about a misfit
    assert "resumed from a checkpoint at step 48" in again.message and "did not fit" not in again.message
    # a row-wise sparse trial resumed bit for bit (its state is a NamedTuple, whose fields
    # Orbax's metadata orders by name: compared in tree order they never matched, and such
    # trials silently trained from step 0 on every resume)
    assert again.curve == apart.curve and again.final == apart.final
