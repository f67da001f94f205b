import textwrap

import pytest
import yaml

from recscale.cli import main
from sweeps import spec as spec_mod
from sweeps.errors import SpecError

GOOD = {
    "name": "t",
    "arch": "dlrm",
    "seeds": [0, 1],
    "base": {"model": {"embed_dim": 8}, "optim.lr": 0.01},
    "axes": {"horizontal": [4, 8], "data": [8192, 16384]},
}


def _with(path, value):
    raw = yaml.safe_load(yaml.safe_dump(GOOD))
    node = raw
    *parents, last = path
    for p in parents:
        node = node[p]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return raw


def test_expansion_dedupes_the_shared_base_point():
    trials = spec_mod.expand(spec_mod.parse(GOOD))
    # 2 axes x 2 values x 2 seeds, all distinct here
    assert len(trials) == 8
    assert len({t.trial_id for t in trials}) == 8
    spec = spec_mod.parse({**GOOD, "axes": {"horizontal": [8, 16], "data": [262144]}})
    trials = spec_mod.expand(spec)
    # embed_dim=8 with the default budget is the same trial as data=262144
    shared = [t for t in trials if len(t.axes) == 2]
    assert len(shared) == 2 and shared[0].axes == {"horizontal": 8, "data": 262144}


def test_dotted_and_nested_overrides_agree():
    a = spec_mod.expand(spec_mod.parse({**GOOD, "base": {"optim": {"lr": 0.01}, "model.embed_dim": 8}}))
    b = spec_mod.expand(spec_mod.parse(GOOD))
    assert [t.trial_id for t in a] == [t.trial_id for t in b]


def test_trial_ids_are_stable():
    t = spec_mod.expand(spec_mod.parse(GOOD))[0]
    assert t.config.trial_id == spec_mod.expand(spec_mod.parse(GOOD))[0].config.trial_id
    assert len(t.trial_id) == 12


MALFORMED = [
    (("colour",), "red", "colour"),
    (("arch",), "resnet", "arch"),
    (("axes", "diagonal"), [1, 2], "axes.diagonal"),
    (("axes", "horizontal"), [], "axes.horizontal"),
    (("axes", "horizontal"), [4, -8], "axes.horizontal[1]"),
    (("axes", "horizontal"), [4, 2.5], "axes.horizontal[1]"),
    (("base", "model"), {"embed_dim": "big"}, "base.model.embed_dim"),
    (("base", "model"), {"layers": 3}, "base.model.layers"),
    (("base", "optim"), {"lr": -1}, "base.optim.lr"),
    (("base", "widgets"), {}, "base.widgets"),
    (("base", "data"), {"name": "criteo"}, "base.data.name"),
    (("seeds",), "zero", "seeds"),
    (("name",), KeyError, "name"),
    (("axes",), KeyError, "axes"),
]


@pytest.mark.parametrize("path,value,field", MALFORMED)
def test_malformed_spec_names_the_field(path, value, field):
    with pytest.raises(SpecError) as e:
        spec_mod.expand(spec_mod.parse(_with(path, value)))
    assert e.value.field == field


@pytest.mark.parametrize("path,value,field", MALFORMED[:6])
def test_cli_exits_2_naming_the_field_before_training(tmp_path, capsys, path, value, field):
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(_with(path, value)))
    out = tmp_path / "runs"
    assert main(["sweep", "run", str(p), "--out", str(out)]) == 2
    assert field in capsys.readouterr().err
    assert not out.exists()


def test_cli_rejects_invalid_yaml_and_missing_file(tmp_path, capsys):
    p = tmp_path / "bad.yaml"
    p.write_text(textwrap.dedent("name: [unclosed\n"))
    assert main(["sweep", "run", str(p)]) == 2
    assert "not valid YAML" in capsys.readouterr().err
    assert main(["sweep", "run", str(tmp_path / "missing.yaml")]) == 2


def test_an_unknown_top_level_key_lists_each_known_key_once():
    with pytest.raises(SpecError) as e:
        spec_mod.parse({**GOOD, "colour": "red"})
    listed = str(e.value).split("expected one of ")[1].split(", ")
    assert len(listed) == len(set(listed)) and "base" in listed and "axes" in listed


def test_several_architectures_and_no_axes_give_one_trial_per_architecture_and_seed():
    raw = {"name": "ref", "arch": ["dlrm", "wide_deep"], "seeds": [0, 1], "base": {"data.examples": 4096}}
    trials = spec_mod.expand(spec_mod.parse(raw))
    assert sorted((t.config.arch, t.config.seed) for t in trials) == [("dlrm", 0), ("dlrm", 1), ("wide_deep", 0), ("wide_deep", 1)]
    assert all(t.axes == {} and t.config.data.examples == 4096 for t in trials)
    with pytest.raises(SpecError, match="varies nothing"):
        spec_mod.parse({**raw, "arch": "dlrm"})
