"""Packed trials (seeds and learning rates of one shape in one vmapped program) record
the same numbers as trials trained one by one."""

import pytest

from sweeps import packed, runner, spec as spec_mod, store
from sweeps.spec import PlannedTrial

TINY = {"embed_dim": 4, "rows": 64, "bottom_mlp": [8], "top_mlp": [8]}
SPEC = {
    "name": "packed",
    "arch": "dlrm",
    "seeds": [0, 1],
    "base": {"model": TINY, "data.examples": 8192, "train": {"batch_size": 512, "chunk_steps": 4, "eval_points": 2}},
    "grid": {"optim.lr": [0.01, 0.03]},
}


def _trial(seed=0, arch="dlrm", **over) -> PlannedTrial:
    base = {"model": TINY, "data": {"examples": 8192}} if arch == "dlrm" else {}
    return PlannedTrial(spec_mod.build_config(arch, seed, spec_mod.merge(base, over), "base"), {})


def test_a_packed_sweep_records_every_trial_with_its_one_by_one_numbers(tmp_path):
    spec = spec_mod.parse(SPEC)
    s = runner.run(spec, tmp_path, pack=True, log=lambda m: None)
    assert (s.total, s.finished) == (4, 4)
    packed_recs = {r.trial_id: r for r in store.read_all(tmp_path)}
    for t in spec_mod.expand(spec):
        alone, rec = runner.run_trial(t, "packed"), packed_recs[t.trial_id]
        assert "trained packed: 4 trials" in rec.message
        assert (rec.seed, rec.config["optim"]["lr"]) == (t.config.seed, t.config.optim.lr)
        assert [c["step"] for c in rec.curve] == [c["step"] for c in alone.curve]
        for a, b in zip(alone.curve, rec.curve):  # vmap batches the matmuls: rounding only
            assert b["ne"] == pytest.approx(a["ne"], rel=1e-6)
            assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-5)
    assert len({r.final_metrics["ne"] for r in packed_recs.values()}) == 4  # four distinct trials


def test_a_diverging_trial_in_a_pack_is_diverged_and_the_others_finish():
    pack = (_trial(0, optim={"name": "sgd", "lr": 0.05}), _trial(0, optim={"name": "sgd", "lr": 1e12}))
    ok, bad = runner.run_pack(pack, "t")
    assert ok.status == "finished"
    assert ok.final_metrics["ne"] == pytest.approx(runner.run_trial(pack[0], "t").final_metrics["ne"], rel=1e-6)
    alone = runner.run_trial(pack[1], "t")
    assert bad.status == alone.status == "diverged"
    assert bad.final_metrics == {} and bad.examples_seen == alone.examples_seen
    assert bad.message.startswith(alone.message)


def test_grouping_packs_seeds_and_learning_rates_of_one_shape_only():
    same = [_trial(s, optim={"lr": lr}) for s in (0, 1) for lr in (0.01, 0.03)]
    other_shape = _trial(0, model={"embed_dim": 8})
    other_data = _trial(0, data={"examples": 16384})
    other_optim = _trial(0, optim={"name": "sgd"})
    long = _trial(0, train={"checkpoint_every_steps": 4})  # 8 steps: checkpoints, trains alone
    packs = packed.group([*same, other_shape, other_data, other_optim, long])
    assert sorted(len(p) for p in packs) == [1, 1, 1, 1, 4]
    assert next(p for p in packs if len(p) == 4) == tuple(same)
    # never fewer packs than workers, so packing leaves no worker idle
    assert sorted(len(p) for p in packed.group(same, workers=2)) == [2, 2]
    # retrieval trials (their own trainer) are never packed
    seq = [_trial(s, arch="sasrec") for s in (0, 1)]
    assert [len(p) for p in packed.group(seq)] == [1, 1]


def test_packing_is_on_by_default_only_off_the_cpu(monkeypatch):
    monkeypatch.delenv("RECSCALE_PACK", raising=False)
    assert packed.worthwhile() is False  # this suite runs on the CPU
    monkeypatch.setenv("RECSCALE_PACK", "1")
    assert packed.worthwhile() is True
