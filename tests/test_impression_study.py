"""The generative_ranking study: its spec compares the three architectures fairly, and a
generative trial resumes from its checkpoint. The quick variant's records (FLOPs per label,
every trial learning) are checked in tests/test_notebooks.py, on the run notebook 02 makes."""

from pathlib import Path

import pytest

from sweeps import spec as spec_mod, tasks

SPECS = Path(__file__).resolve().parent.parent / "sweeps" / "specs"
ARCHS = {"dlrm", "hstu_gen", "hstu_rank"}


@pytest.fixture(scope="module")
def trials():
    """The full study's planned trials."""
    return spec_mod.expand(spec_mod.load(SPECS / "generative_ranking.yaml"))


def test_full_spec_grows_all_three_and_holds_compute_over_one_and_a_half_decades(trials):
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


def test_full_spec_gives_every_architecture_the_same_learning_rates_and_a_warm_up_that_scales_with_the_run(trials):
    """Fairness of the optimiser: every point of every architecture is trained at each rate
    of one grid and chosen on validation NE, and no HSTU run is mostly warm-up (16 fixed
    steps were most of the 5-125 steps of some runs in the first run of this study)."""
    grid = {t.config.optim.lr for t in trials}
    assert len(grid) >= 3
    groups: dict = {}
    for t in trials:
        assert t.selection is not None and t.selection.by == "ne"
        assert t.config.optim.lr == t.selection.variant["optim.lr"]
        groups.setdefault(t.selection.group, set()).add((t.config.seed, t.config.optim.lr))
    seeds = {t.config.seed for t in trials}
    assert all(g == {(s, lr) for s in seeds for lr in grid} for g in groups.values())
    for t in trials:
        steps = tasks.of(t.config.arch).total_steps(t.config)
        assert t.config.optim.warmup_steps <= max(1, round(0.05 * steps)), (t.config.arch, steps)


def test_a_generative_trial_resumes_from_its_checkpoint_to_the_uninterrupted_numbers(tmp_path):
    """The generative trainer runs on the shared lane loop, checkpoints included: a run that
    finds the checkpoint a previous run left at step 48 of 64 trains only the rest and ends
    with the uninterrupted run's curve and metrics (one program, one machine: exactly)."""
    import dataclasses

    from sweeps.tasks import generative

    (trial,) = [t for t in spec_mod.expand(spec_mod.load(SPECS / "generative_ranking_quick.yaml")) if t.config.arch == "hstu_gen"]
    cfg = dataclasses.replace(trial.config, train=dataclasses.replace(trial.config.train, checkpoint_every_steps=16))
    model_cfg = tasks.model_config(cfg)
    ckpt = tmp_path / "ckpt"
    plain = generative.run(trial.config, model_cfg, None)
    first = generative.run(cfg, model_cfg, ckpt)
    assert ckpt.is_dir() and first.final == plain.final  # checkpointing changes no number
    # the final model also scored on the validation users, under the metric names of final
    assert set(plain.validation) == set(plain.final) - {"step", "examples", "train_loss"}
    assert plain.validation["ne"] != plain.final["ne"] and abs(plain.validation["ne"] - plain.final["ne"]) < 0.05
    resumed = generative.run(cfg, model_cfg, ckpt)
    assert "resumed from a checkpoint at step 48" in resumed.message
    assert resumed.final == first.final and resumed.curve == first.curve and resumed.steps == first.steps == 64
    assert resumed.validation == first.validation
