"""Spec grammar: grid, zip, chain, include, several architectures, isoFLOP budgets."""

import json
import subprocess
import sys

import pytest
import yaml

from sweeps import spec as spec_mod
from sweeps.errors import SpecError
from sweeps.tasks import train_flops_per_example

STUDY = {
    "name": "grammar",
    "arch": ["dlrm", "wide_deep"],
    "seeds": [0, 1],
    "base": {"model": {"embed_dim": 8, "rows": 512}, "data.examples": 16384},
    "per_arch": {"wide_deep": {"model.deep_mlp": [32]}},
    "grid": {"model.embed_dim": [4, 8], "optim.lr": [0.003, 0.01]},
    "chain": [
        {"zip": {"model.embed_dim": [2, 16], "model.rows": [128, 1024]}},
        {"base": {"optim.lr": 0.003}, "axes": {"vertical": [64, 256]}},
    ],
}

# (arch, seed, membership, embed_dim, rows, lr) of every planned trial, in order.
SNAPSHOT = [
    ("dlrm", 0, {"model.embed_dim": 4, "optim.lr": 0.003}, 4, 512, 0.003),
    ("dlrm", 1, {"model.embed_dim": 4, "optim.lr": 0.003}, 4, 512, 0.003),
    ("dlrm", 0, {"model.embed_dim": 4, "optim.lr": 0.01}, 4, 512, 0.01),
    ("dlrm", 1, {"model.embed_dim": 4, "optim.lr": 0.01}, 4, 512, 0.01),
    ("dlrm", 0, {"model.embed_dim": 8, "optim.lr": 0.003}, 8, 512, 0.003),
    ("dlrm", 1, {"model.embed_dim": 8, "optim.lr": 0.003}, 8, 512, 0.003),
    ("dlrm", 0, {"model.embed_dim": 8, "optim.lr": 0.01}, 8, 512, 0.01),
    ("dlrm", 1, {"model.embed_dim": 8, "optim.lr": 0.01}, 8, 512, 0.01),
    ("dlrm", 0, {"model.embed_dim": 2, "model.rows": 128}, 2, 128, 0.01),
    ("dlrm", 1, {"model.embed_dim": 2, "model.rows": 128}, 2, 128, 0.01),
    ("dlrm", 0, {"model.embed_dim": 16, "model.rows": 1024}, 16, 1024, 0.01),
    ("dlrm", 1, {"model.embed_dim": 16, "model.rows": 1024}, 16, 1024, 0.01),
    ("dlrm", 0, {"vertical": 64}, 8, 64, 0.003),
    ("dlrm", 1, {"vertical": 64}, 8, 64, 0.003),
    ("dlrm", 0, {"vertical": 256}, 8, 256, 0.003),
    ("dlrm", 1, {"vertical": 256}, 8, 256, 0.003),
]


def _rows(trials):
    return [
        (t.config.arch, t.config.seed, t.axes, t.config.model.embed_dim, t.config.model.rows, t.config.optim.lr)
        for t in trials
    ]


def test_grid_zip_chain_expansion_snapshot():
    trials = spec_mod.expand(spec_mod.parse(STUDY))
    dlrm = [t for t in trials if t.config.arch == "dlrm"]
    assert _rows(dlrm) == SNAPSHOT
    wd = [t for t in trials if t.config.arch == "wide_deep"]
    assert len(wd) == len(SNAPSHOT) and all(t.config.model.deep_mlp == (32,) for t in wd)
    assert len({t.trial_id for t in trials}) == 2 * len(SNAPSHOT)


def test_trial_ids_are_stable_across_processes():
    here = [t.trial_id for t in spec_mod.expand(spec_mod.parse(STUDY))]
    code = (
        "import json, sys; from sweeps import spec; "
        "print(json.dumps([t.trial_id for t in spec.expand(spec.parse(json.loads(sys.argv[1])))]))"
    )
    out = subprocess.run([sys.executable, "-c", code, json.dumps(STUDY)], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == here


def test_include_extends_a_base_spec(tmp_path):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump({"arch": "dlrm", "base": {"model.embed_dim": 8, "optim.lr": 0.003}}))
    (tmp_path / "study.yaml").write_text(
        yaml.safe_dump({"include": "base.yaml", "name": "inc", "base": {"optim.lr": 0.01}, "axes": {"horizontal": [4, 8]}})
    )
    spec = spec_mod.load(tmp_path / "study.yaml")
    trials = spec_mod.expand(spec)
    assert [t.config.model.embed_dim for t in trials] == [4, 8]
    assert {t.config.optim.lr for t in trials} == {0.01}
    assert spec_mod.parse(yaml.safe_load(spec_mod.dump(spec))) == spec


ISO = {
    "name": "iso",
    "arch": "dlrm",
    "base": {"model": {"rows": 512}},
    "compute": {"budgets": [2e10, 6e10, 2e11], "axis": "horizontal", "sizes": [2, 4, 8, 16, 32], "tolerance": 0.05},
}


def test_isoflop_candidates_hit_their_budget_within_tolerance():
    trials = spec_mod.expand(spec_mod.parse(ISO))
    assert {t.axes["compute"] for t in trials} == {2e10, 6e10, 2e11}
    for t in trials:
        flops = train_flops_per_example(t.config) * t.config.data.examples
        assert abs(flops - t.axes["compute"]) / t.axes["compute"] <= 0.05
        assert t.config.data.examples % t.config.train.batch_size == 0
    per_budget = {}
    for t in trials:
        per_budget.setdefault(t.axes["compute"], []).append((t.axes["horizontal"], t.config.data.examples))
    for pairs in per_budget.values():
        sizes, examples = zip(*sorted(pairs))
        assert list(examples) == sorted(examples, reverse=True)  # bigger models see fewer examples
        assert len(pairs) >= 3


MALFORMED = [
    ({**ISO, "compute": {**ISO["compute"], "budgets": [1e3]}}, "compute.budgets[0]"),
    ({**ISO, "compute": {**ISO["compute"], "axis": "data"}}, "compute.axis"),
    ({**ISO, "compute": {**ISO["compute"], "tolerance": 2}}, "compute.tolerance"),
    ({**ISO, "compute": {"budgets": [1e10], "axis": "horizontal"}}, "compute.sizes"),
    ({**STUDY, "chain": [{"zip": {"model.embed_dim": [2, 4], "model.rows": [1]}}]}, "chain[0].zip"),
    ({**STUDY, "grid": {"widgets.size": [1, 2]}}, "grid.widgets.size"),
    ({**STUDY, "chain": [{"axes": {"heads": [1, 2]}}]}, "chain[0].axes.heads"),
    ({**STUDY, "per_arch": {"hstu": {}}}, "per_arch.hstu"),
    ({**STUDY, "seeds": [0, 0]}, "seeds"),
    ({**STUDY, "chain": [{"colour": 1}]}, "chain[0].colour"),
    ({"name": "x", "arch": "dlrm"}, "axes"),
]


@pytest.mark.parametrize("raw,field", MALFORMED)
def test_malformed_grammar_names_the_field(raw, field):
    with pytest.raises(SpecError) as e:
        spec_mod.expand(spec_mod.parse(raw))
    assert e.value.field == field, str(e.value)
