"""Golden numbers: what a refactor of the engine, the trainers or the recipes must not change.

Losses and metrics are float32 training on whatever CPU runs the suite, whose XLA/BLAS
kernels differ from machine to machine in the last bits; 16 steps of Adam keep those
differences near 1e-6 relative, so ``RTOL`` = 1e-4 leaves a margin of about 100 while a
changed step, batch order, initialisation or learning rate moves these numbers by 1e-3
or more (the dense and row-wise runs below differ by 4e-4 at step 16).
"""

import pytest
import tiny

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


# The tiny trial the sequential tests share (tests/tiny.py), so its compile is shared too:
# two epochs of 4 steps. Per epoch the mean training loss and the validation nll (full
# softmax, a continuous metric: HR/NDCG count 128 users and a near-tie could flip them),
# then the test nll of the chosen epoch. The sequential world is exact by construction
# (sweeps/data/seq_world.py), so only the training's float32 rounding varies by machine.
SEQ = {
    "hstu": ("b6c3bb927168", [(11.823501586914062, 18.425538325682282), (8.035224914550781, 17.84960899502039)], 18.2508380766958),
    "sasrec": ("20bca177cc74", [(11.424100875854492, 16.937837993726134), (8.303245544433594, 15.299013458192348)], 16.603042613714933),
}


@pytest.mark.parametrize("arch", sorted(SEQ))
def test_tiny_retrieval_epochs_give_the_golden_losses(arch):
    trial_id, epochs, test_nll = SEQ[arch]
    cfg = spec_mod.build_config(arch, 0, tiny.RETRIEVAL, "base")
    assert cfg.trial_id == trial_id
    rec = runner.run_trial(PlannedTrial(cfg, {}), "golden")
    assert rec.status == "finished" and rec.examples_seen == 2 * tiny.DATA["examples"]
    assert [c["epoch"] for c in rec.curve] == [1, 2]
    for c, (loss, nll) in zip(rec.curve, epochs):
        assert (c["train_loss"], c["nll"]) == pytest.approx((loss, nll), rel=RTOL)
    assert rec.final_metrics["nll"] == pytest.approx(test_nll, rel=RTOL)
