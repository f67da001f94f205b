"""Golden numbers: what a refactor of the engine, the trainers or the recipes must not change.

Losses and metrics are float32 training on whatever CPU runs the suite, whose XLA/BLAS
kernels differ from machine to machine in the last bits; 16 steps of Adam keep those
differences near 1e-6 relative, so ``RTOL`` = 1e-4 leaves a margin of about 100 while a
changed step, batch order, initialisation or learning rate moves these numbers by 1e-3
or more (the dense and row-wise runs below differ by 4e-4 at step 16).
"""

import pytest

from sweeps import runner, spec as spec_mod
from sweeps.spec import PlannedTrial

RTOL = 1e-4

TINY_CTR = {
    "model": {"embed_dim": 4, "rows": 256, "bottom_mlp": [8], "top_mlp": [8]},
    "data": {"examples": 2048},
    "train": {"batch_size": 128, "chunk_steps": 8, "eval_points": 2},
}

# Per evaluation (after each chunk of 8 steps): step, mean training loss of the chunk,
# NE, log loss and AUC on the eval set.
CTR = {
    "dense": (
        "c424cea3640f",
        [
            (8, 0.6808110475540161, 1.0010414760592408, 0.6685345130682672, 0.5296625354367122),
            (16, 0.6577908396720886, 0.9975314648770888, 0.6661976549882636, 0.5449833700059338),
        ],
    ),
    "rowwise_adagrad": (
        "4567c54fcd45",
        [
            (8, 0.68079674243927, 1.0015340428936832, 0.6688866284910301, 0.5277940379631758),
            (16, 0.6580289006233215, 0.9983463151823172, 0.6667490698131553, 0.5429219746814022),
        ],
    ),
}


@pytest.mark.parametrize("embeddings", sorted(CTR))
def test_tiny_dlrm_chunks_give_the_golden_losses_and_metrics(embeddings):
    trial_id, rows = CTR[embeddings]
    tree = spec_mod.merge(TINY_CTR, {"optim": {"embeddings": embeddings}} if embeddings != "dense" else {})
    cfg = spec_mod.build_config("dlrm", 0, tree, "base")
    assert cfg.trial_id == trial_id
    rec = runner.run_trial(PlannedTrial(cfg, {}), "golden")
    assert rec.status == "finished"
    got = [(c["step"], c["train_loss"], c["ne"], c["logloss"], c["auc"]) for c in rec.curve]
    assert [g[0] for g in got] == [r[0] for r in rows]
    for g, r in zip(got, rows):
        assert g[1:] == pytest.approx(r[1:], rel=RTOL)


TINY_SEQ = {
    "model": {"d_model": 16, "n_blocks": 1, "n_heads": 2, "max_len": 20, "dropout": 0.2},
    "data": {"examples": 256, "seq_len": 20, "min_len": 10},
    "train": {"batch_size": 64, "epochs": 2, "n_negatives": 32, "eval_users": 128},
}

# Two epochs of 4 steps: per epoch the mean training loss and the validation nll (full
# softmax, a continuous metric: HR/NDCG count 128 users and a near-tie could flip them),
# then the test nll of the chosen epoch. The sequential world is exact by construction
# (sweeps/data/seq_world.py), so only the training's float32 rounding varies by machine.
SEQ = {
    "hstu": ("2ee5cb13ff89", [(10.245715141296387, 15.406255887821317), (9.088095664978027, 15.118216376751661)], 15.544647213071585),
    "sasrec": ("cbb78ba7e5cd", [(9.921024322509766, 14.759880110621452), (9.173943519592285, 14.100526409223676)], 14.124967869371176),
}


@pytest.mark.parametrize("arch", sorted(SEQ))
def test_tiny_retrieval_epochs_give_the_golden_losses(arch):
    trial_id, epochs, test_nll = SEQ[arch]
    cfg = spec_mod.build_config(arch, 0, TINY_SEQ, "base")
    assert cfg.trial_id == trial_id
    rec = runner.run_trial(PlannedTrial(cfg, {}), "golden")
    assert rec.status == "finished" and rec.examples_seen == 2 * 256
    assert [c["epoch"] for c in rec.curve] == [1, 2]
    for c, (loss, nll) in zip(rec.curve, epochs):
        assert (c["train_loss"], c["nll"]) == pytest.approx((loss, nll), rel=RTOL)
    assert rec.final_metrics["nll"] == pytest.approx(test_nll, rel=RTOL)
