
from sweeps import runner, spec as spec_mod
from sweeps.spec import PlannedTrial
from sweeps.train.lanes import VALID

TINY_MODEL = {"embed_dim": 8, "rows": 2048, "bottom_mlp": [32, 16], "top_mlp": [32]}


def _trial(**over) -> PlannedTrial:
    tree = spec_mod.merge({"model": TINY_MODEL, "data": {"examples": 65536}, "optim": {"lr": 0.01}}, over)
    return PlannedTrial(spec_mod.build_config("dlrm", 0, tree, "base"), {"data": tree["data"]["examples"]})


def test_training_lowers_ne_well_below_one():
    rec = runner.run_trial(_trial(), "t")
    assert rec.status == "finished"
    assert rec.final_metrics["ne"] < 0.93
    assert rec.final_metrics["auc"] > 0.65
    assert rec.final_metrics["ne"] > rec.floor_ne
    # the learning curve goes down
    assert rec.curve[-1]["ne"] < rec.curve[0]["ne"]
    assert rec.examples_seen == 65536
    assert rec.train_flops == 3 * rec.flops_per_example["forward"] * 65536
    assert rec.curve[-1]["examples"] == 65536


def test_a_ctr_trial_reports_validation_beside_final_with_the_same_metrics():
    """``validation`` (the record's ``valid_metrics``): the final model on the validation
    stream, under the names of ``final``; ``selected``: the evaluation at the lowest
    validation NE, so nothing is chosen on the evaluation set."""
    rec = runner.run_trial(_trial(), "t")
    final, valid = rec.final_metrics, rec.valid_metrics
    metrics = {k for k in final if k not in ("step", "examples", "train_loss")}
    assert set(valid) == metrics and {"ne", "logloss", "auc"} <= metrics
    assert valid["ne"] != final["ne"] and abs(valid["ne"] - final["ne"]) < 0.05  # other examples, same world
    assert all(VALID + "ne" in row for row in rec.curve) and len(rec.curve) > 1
    assert valid == {k[len(VALID):]: v for k, v in rec.curve[-1].items() if k.startswith(VALID)}
    best = min(rec.curve, key=lambda r: r[VALID + "ne"])
    assert rec.best_metrics == {k: v for k, v in best.items() if not k.startswith(VALID)}


def test_same_config_and_seed_gives_same_numbers():
    a = runner.run_trial(_trial(data={"examples": 16384}), "t")
    b = runner.run_trial(_trial(data={"examples": 16384}), "t")
    assert a.final_metrics == b.final_metrics
    assert [c["ne"] for c in a.curve] == [c["ne"] for c in b.curve]


def test_a_huge_learning_rate_is_recorded_as_diverged():
    rec = runner.run_trial(_trial(optim={"name": "sgd", "lr": 1e12}), "t")
    assert rec.status == "diverged"
    assert rec.final_metrics == {}
    assert "non-finite" in rec.message


def test_trials_differing_only_in_batch_size_each_train():
    a = runner.run_trial(_trial(data={"examples": 8192}, train={"batch_size": 512}), "t")
    b = runner.run_trial(_trial(data={"examples": 8192}, train={"batch_size": 256}), "t")
    assert a.status == b.status == "finished"
    assert a.curve[-1]["step"] == 16 and b.curve[-1]["step"] == 32
