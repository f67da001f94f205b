"""Budget-aware training rules (sweeps/train/budget.py, applied by tasks.resolve_budget):
the batch follows the data budget with a minimum of steps, the warm-up is a fraction of
the trial's own steps, the resolved config holds the concrete numbers, and isoFLOP
budgets count the batch each trial really trains with. Planning only: nothing trains."""

import numpy as np
import pytest

from sweeps import spec as spec_mod, tasks
from sweeps.config import identity_dict
from sweeps.errors import SpecError
from sweeps.recipes import CTR_BATCH_RULE
from sweeps.train import optim
from sweeps.train.budget import BatchRule

DATA_AXIS = [2**k for k in range(14, 22)]  # the quickstart's data axis and an octave below


def _expand(arch: str, base: dict, **parts) -> list:
    return spec_mod.expand(spec_mod.parse({"name": "t", "arch": arch, "base": base, **parts}))


def test_the_rule_is_a_clipped_power_of_two_of_rows_per_min_steps():
    rule = BatchRule(min_steps=256, min_batch=64, max_batch=1024)
    assert [rule.batch(n) for n in (1, 16383, 16384, 32768, 65535, 262144, 10**9)] == [64, 64, 64, 128, 128, 1024, 1024]
    with pytest.raises(ValueError, match="powers of two"):
        BatchRule(min_steps=8, min_batch=48, max_batch=1024)


@pytest.mark.parametrize("arch, base, rows", [
    ("dlrm", {}, lambda c: c.data.examples),
    ("hstu_gen", {"data": {"name": "impression_world"}}, lambda c: c.data.examples // 128),
    ("hstu", {"train": {"epochs": 4}}, lambda c: c.data.examples * c.train.epochs),
])
def test_every_trial_of_a_data_axis_gets_at_least_its_minimum_steps(arch, base, rows):
    from sweeps import recipes

    rule = recipes.get(arch).BATCH_RULE
    values = DATA_AXIS if arch != "hstu" else [2**k for k in range(6, 13)]
    base = spec_mod.merge(base, {"train": {"batch_rule": "budget"}})
    trials = _expand(arch, base, axes={"data": values})
    assert sorted(t.config.data.examples for t in trials) == values
    batches = set()
    for t in trials:
        cfg, task = t.config, tasks.of(t.config.arch)
        bs = cfg.train.batch_size
        assert cfg.to_dict()["train"]["batch_size"] == bs  # the record holds the concrete number
        assert bs & (bs - 1) == 0 and rule.min_batch <= bs <= rule.max_batch
        if rows(cfg) >= rule.min_steps * rule.min_batch:
            assert task.total_steps(cfg) >= rule.min_steps, (cfg.data.examples, bs)
        batches.add(bs)
    assert max(batches) == rule.max_batch and len(batches) >= 3  # large budgets at the cap, small ones smaller


def test_ctr_batches_on_the_quickstart_data_axis_and_fixed_trials_unchanged():
    trials = _expand("dlrm", {"train": {"batch_rule": "budget"}}, axes={"data": DATA_AXIS})
    got = {t.config.data.examples: (t.config.train.batch_size, tasks.of("dlrm").total_steps(t.config)) for t in trials}
    assert got[2**15] == (16, 2048) and got[2**19] == (256, 2048) and got[2**21] == (1024, 2048)
    assert got[2**14] == (16, 1024)  # min_batch wins below min_steps * min_batch examples
    fixed = {t.config.data.examples: t for t in _expand("dlrm", {}, axes={"data": DATA_AXIS})}
    assert {t.config.train.batch_size for t in fixed.values()} == {1024}
    # batch_rule is not identity: where the rule gives the fixed batch, it is the same trial
    for t in trials:
        same = t.config.train.batch_size == 1024
        assert (t.trial_id == fixed[t.config.data.examples].trial_id) == same


def test_warmup_fraction_resolves_to_steps_of_the_trial_and_the_schedule_peaks_there():
    trials = _expand("dlrm", {"optim": {"warmup_frac": 0.1}}, axes={"data": [2**15, 2**20]})  # 32 and 1024 steps
    for t in trials:
        cfg = t.config
        total = tasks.of("dlrm").total_steps(cfg)
        assert cfg.optim.warmup_steps == round(0.1 * total) and cfg.to_dict()["optim"]["warmup_steps"] > 0
        lr = optim.learning_rates(cfg.optim, np.arange(total), total)
        assert int(np.argmax(lr)) == cfg.optim.warmup_steps - 1 and lr[-1] == pytest.approx(0.1 * cfg.optim.lr, rel=0.05)
    a, b = sorted(trials, key=lambda t: t.config.data.examples)
    assert b.config.optim.warmup_steps > a.config.optim.warmup_steps  # it follows the trial's length
    # part of a trial's identity only when set: trials without it keep their ids
    assert "warmup_frac" not in identity_dict(spec_mod.build_config("dlrm", 0, {}, "base").optim)
    assert identity_dict(a.config.optim)["warmup_frac"] == 0.1


def test_a_value_the_rule_would_override_is_an_error_naming_the_field():
    with pytest.raises(SpecError, match="train.batch_size.*batch_rule budget"):
        _expand("dlrm", {"train": {"batch_rule": "budget", "batch_size": 256}}, axes={"data": [2**15]})
    with pytest.raises(SpecError, match="warmup_steps.*disagrees with optim.warmup_frac"):
        _expand("dlrm", {"optim": {"warmup_frac": 0.1, "warmup_steps": 7}}, axes={"data": [2**15]})
    with pytest.raises(SpecError, match="batch_rule"):
        _expand("dlrm", {"train": {"batch_rule": "sometimes"}}, axes={"data": [2**15]})


def test_isoflop_budgets_count_the_batch_each_trial_trains_with():
    base = {"train": {"batch_rule": "budget"}, "model": {"embed_dim": 8, "rows": 512}}
    compute = {"budgets": [3e8, 3e9], "axis": "overall", "sizes": [0.5, 1, 2], "tolerance": 0.1}
    trials = _expand("dlrm", base, compute=compute)
    assert len({t.config.train.batch_size for t in trials}) >= 2
    for t in trials:
        cfg, task = t.config, tasks.of("dlrm")
        consumed = task.total_steps(cfg) * cfg.train.batch_size  # what the trainer reads
        assert task.examples_consumed(cfg) == consumed == cfg.data.examples
        flops = tasks.train_flops(cfg)
        assert abs(flops - t.axes["compute"]) / t.axes["compute"] <= 0.1
        assert cfg.train.batch_size == CTR_BATCH_RULE.batch(cfg.data.examples)
