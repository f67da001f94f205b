"""The specs shipped under sweeps/specs expand to the sweeps their comments describe, with
trial ids that stay as they are (ids name records on disk: a changed id re-runs a finished
sweep)."""

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from sweeps import spec as spec_mod, tasks

SPECS = Path(__file__).resolve().parent.parent / "sweeps" / "specs"
SYNTHETIC = sorted(p.name for p in SPECS.glob("*.yaml") if not p.name.startswith("ref_"))

# First two trial ids in expansion order, the number of trials, and a digest of all of
# them (sorted), per shipped synthetic spec.
IDS = {
    "quickstart.yaml": (("f502b432116f", "04f66bd2afc2"), 46, "3dcc8b7e096b3ef6"),
    "hstu_quick.yaml": (("667d936af45b", "ff6f0708c9a7"), 18, "4642b8610b919093"),
    "dlrm_vs_hstu_quick.yaml": (("cfaeded1d645", "adfe763e728f"), 17, "c600745971f42d64"),
    "dlrm_vs_hstu.yaml": (("9246b123aecc", "583777205089"), 90, "303ef1f0dc590c20"),
    "seed_study_quick.yaml": (("e41b262518a9", "a77f0cf1ad2b"), 37, "fe6633716cd3421e"),
    "seed_study.yaml": (("de50a2a31028", "167bb60c91fd"), 278, "ab04a3189b3ba37e"),
}


@pytest.mark.parametrize("name", sorted(IDS))
def test_shipped_spec_trial_ids_are_unchanged(name):
    first, count, digest = IDS[name]
    ids = [t.trial_id for t in spec_mod.expand(spec_mod.load(SPECS / name))]
    assert tuple(ids[:2]) == first
    assert len(ids) == count
    assert hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16] == digest


@pytest.mark.parametrize("name", SYNTHETIC)
def test_every_synthetic_spec_expands(name):
    trials = spec_mod.expand(spec_mod.load(SPECS / name))
    assert trials and len({t.config.trial_id for t in trials}) == len(trials)


def test_quickstart_plan_snapshot():
    trials = spec_mod.expand(spec_mod.load(SPECS / "quickstart.yaml"))
    # 7 + 5 + 6 points on the fixed-batch axes share the base point (2 seeds each: 18 x 2 - 2 x 2),
    # the data axis trains under the batch rule, so its 2^19 point is a trial of its own (7 x 2)
    assert len(trials) == 46
    per_axis = Counter(axis for t in trials for axis in t.axes)
    assert per_axis == {"horizontal": 14, "vertical": 10, "mlp": 12, "data": 14}


@pytest.mark.parametrize("name, decades, examples", [("dlrm_vs_hstu.yaml", 1.5, 2**19), ("dlrm_vs_hstu_quick.yaml", 0.5, 2**16)])
def test_dlrm_vs_hstu_isoflop_trials_hit_their_budgets_for_both_archs(name, decades, examples):
    trials = spec_mod.expand(spec_mod.load(SPECS / name))
    iso = [t for t in trials if "compute" in t.axes]
    budgets = {t.axes["compute"] for t in iso}
    assert max(budgets) / min(budgets) >= 10**decades - 1e-6
    for budget in budgets:
        at_budget = [t for t in iso if t.axes["compute"] == budget]
        assert {t.config.arch for t in at_budget} == {"dlrm", "hstu_rank"}
        for t in at_budget:
            flops = tasks.train_flops_per_example(t.config) * t.config.data.examples
            assert abs(flops - budget) / budget <= 0.1
    grown = [t for t in trials if "overall" in t.axes and "compute" not in t.axes]
    assert {t.config.arch for t in grown} == {"dlrm", "hstu_rank"}
    assert {t.config.data.examples for t in grown} == {examples}
