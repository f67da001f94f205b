"""The generative_ranking study: its spec compares the three architectures fairly, and its
quick variant runs with records that carry FLOPs per label, every trial learning."""

from pathlib import Path

import pytest

from models import hstu_gen
from sweeps import runner, spec as spec_mod, store, tasks

SPECS = Path(__file__).resolve().parent.parent / "sweeps" / "specs"
ARCHS = {"dlrm", "hstu_gen", "hstu_rank"}


def test_full_spec_grows_all_three_and_holds_compute_over_one_and_a_half_decades():
    trials = spec_mod.expand(spec_mod.load(SPECS / "generative_ranking.yaml"))
    iso = [t for t in trials if "compute" in t.axes]
    budgets = {t.axes["compute"] for t in iso}
    assert max(budgets) / min(budgets) >= 10**1.5
    for budget in budgets:
        at = [t for t in iso if t.axes["compute"] == budget]
        assert {t.config.arch for t in at} == ARCHS
        for t in at:
            flops = tasks.train_flops_per_example(t.config) * tasks.of(t.config.arch).examples_consumed(t.config)
            assert abs(flops - budget) / budget <= 0.15
    assert {t.config.data.name for t in trials} == {"impression_world"}
    assert {t.config.seed for t in trials} == {0, 1}
    grown = [t for t in trials if "compute" not in t.axes]
    assert {t.config.arch for t in grown} == ARCHS and len({t.config.data.examples for t in grown}) == 1


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("generative_ranking_quick")
    summary = runner.run(spec_mod.load(SPECS / "generative_ranking_quick.yaml"), out, log=lambda m: None)
    return summary, list(store.read_all(out))


def test_quick_study_runs_and_every_trial_learns(quick):
    summary, records = quick
    assert summary.finished == len(records) == summary.total
    assert {r.arch for r in records} == ARCHS
    floors = {r.floor_ne for r in records}
    assert len(floors) == 1  # one eval set for all three
    for r in records:
        assert r.status == "finished", r.message
        assert r.floor_ne < r.final_metrics["ne"] < 1, (r.arch, r.final_metrics)
        assert r.train_flops == pytest.approx(r.flops_per_example["train"] * r.examples_seen)


def test_generative_records_count_flops_per_label(quick):
    _, records = quick
    (gen,) = [r for r in records if r.arch == "hstu_gen"]
    cfg = spec_mod.expand(spec_mod.load(SPECS / "generative_ranking_quick.yaml"))
    (trial,) = [t for t in cfg if t.config.arch == "hstu_gen"]
    model_cfg = tasks.model_config(trial.config)
    assert gen.flops_per_example["forward"] == hstu_gen.forward_flops(model_cfg)
    # per label: a whole sequence's forward FLOPs over its labels, and labels = impressions trained on
    assert gen.flops_per_example["forward"] == pytest.approx(hstu_gen.sequence_flops(model_cfg) / model_cfg.max_events, abs=1)
    assert gen.examples_seen % model_cfg.max_events == 0


def test_a_generative_trial_resumes_from_its_checkpoint_to_the_uninterrupted_numbers(quick, tmp_path):
    """The generative trainer runs on the shared lane loop, checkpoints included: a run that
    finds the checkpoint a previous run left at step 48 of 64 trains only the rest and ends
    with the uninterrupted run's curve and metrics (one program, one machine: exactly)."""
    import dataclasses

    from sweeps.tasks import generative

    _, records = quick
    (gen,) = [r for r in records if r.arch == "hstu_gen"]
    (trial,) = [t for t in spec_mod.expand(spec_mod.load(SPECS / "generative_ranking_quick.yaml")) if t.config.arch == "hstu_gen"]
    cfg = dataclasses.replace(trial.config, train=dataclasses.replace(trial.config.train, checkpoint_every_steps=16))
    model_cfg = tasks.model_config(cfg)
    ckpt = tmp_path / "ckpt"
    first = generative.run(cfg, model_cfg, ckpt)
    assert ckpt.is_dir() and first.final == gen.final_metrics  # checkpointing changes no number
    resumed = generative.run(cfg, model_cfg, ckpt)
    assert "resumed from a checkpoint at step 48" in resumed.message
    assert resumed.final == first.final and resumed.curve == first.curve and resumed.steps == first.steps == 64
