"""Per-point selection without training: the ``select:`` grammar, its expansion and plan,
and the choice made from records (pure records: ties, divergence, incomplete groups)."""

import dataclasses
import json

import pytest
import yaml

from analysis import load
from recscale.cli import main
from sweeps import plan, selection, spec as spec_mod, store
from sweeps.errors import SpecError
from sweeps.store import TrialRecord

SPEC = {
    "name": "sel",
    "arch": "dlrm",
    "seeds": [0, 1],
    "base": {"model": {"embed_dim": 8}, "optim.lr": 0.01, "data.examples": 8192},
    "axes": {"horizontal": [4, 8]},
    "select": {"over": {"optim.lr": [0.003, 0.03], "optim.warmup_frac": [0.0, 0.05, 0.1]}, "by": "ne"},
}


def _spec(**changes):
    raw = {**yaml.safe_load(yaml.safe_dump(SPEC, sort_keys=False)), **changes}
    return spec_mod.parse({k: v for k, v in raw.items() if v is not None})


def test_every_point_trains_in_every_variant_and_seed():
    trials = spec_mod.expand(_spec())
    assert len(trials) == 2 * 6 * 2  # points x variants x seeds
    groups = {}
    for t in trials:
        groups.setdefault(t.selection.group, []).append(t)
    assert len(groups) == 2
    for members in groups.values():
        assert {t.axes["horizontal"] for t in members} == {members[0].axes["horizontal"]}
        # the variant is in the config, the selected keys are no axes
        assert {(t.config.optim.lr, t.config.optim.warmup_frac, t.config.seed) for t in members} == {
            (lr, f, s) for lr in (0.003, 0.03) for f in (0.0, 0.05, 0.1) for s in (0, 1)}
        assert all(set(t.axes) == {"horizontal"} for t in members)
        assert set(members[0].selection.members) == {t.trial_id for t in members}
        assert [t.selection.index for t in members if t.config.seed == 0] == list(range(6))
    first = next(t for t in trials if t.selection.index == 0)
    assert first.selection.variant == {"optim.lr": 0.003, "optim.warmup_frac": 0.0}
    # the group is the point: the same ids whatever the seeds or the order of parsing
    again = spec_mod.expand(_spec(seeds=[1, 0]))
    assert {t.selection.group for t in again} == set(groups)


def test_a_chain_part_inherits_replaces_or_drops_the_select():
    chain = [{"axes": {"data": [16384]}},
             {"axes": {"vertical": [64]}, "select": {"over": {"optim.lr": [0.1, 0.2]}, "by": "auc"}},
             {"axes": {"mlp": [8]}, "select": False}]
    trials = spec_mod.expand(_spec(chain=chain))
    by_axis = {}
    for t in trials:
        by_axis.setdefault(next(a for a in t.axes if a != "horizontal" or len(t.axes) == 1), []).append(t)
    assert len(by_axis["data"]) == 12 and {t.selection.by for t in by_axis["data"]} == {"ne"}
    assert len(by_axis["vertical"]) == 4 and {(t.selection.by, t.selection.goal) for t in by_axis["vertical"]} == {("auc", "max")}
    assert len(by_axis["mlp"]) == 2 and all(t.selection is None for t in by_axis["mlp"])


@pytest.mark.parametrize("select,field", [
    ({"over": {"optim.lr": [0.01, -1]}, "by": "ne"}, "select.over.optim.lr[1]"),
    ({"over": {"optim.lr": [0.01, 0.01]}, "by": "ne"}, "select.over.optim.lr"),
    ({"over": {"optim.lrr": [0.01]}, "by": "ne"}, "select.over.optim.lrr[0]"),
    ({"over": {"colour": [1]}, "by": "ne"}, "select.over.colour"),
    ({"over": {}, "by": "ne"}, "select.over"),
    ({"over": {"optim.lr": [0.01]}}, "select.by"),
    ({"by": "ne"}, "select.over"),
    ({"over": {"optim.lr": [0.01]}, "by": 3}, "select.by"),
    ({"over": {"optim.lr": [0.01]}, "by": "ne", "goal": "max"}, "select.goal"),
    ({"over": {"optim.lr": [0.01]}, "by": "calibration"}, "select.goal"),
    ({"over": {"optim.lr": [0.01]}, "by": "ne", "goal": "lowest"}, "select.goal"),
    ({"over": {"optim.lr": [0.01]}, "by": "ne", "when": 1}, "select.when"),
    ({"over": {"model.embed_dim": [4, 8]}, "by": "ne"}, "select.over.model.embed_dim"),  # the axis sets it
])
def test_select_errors_name_the_field(select, field):
    with pytest.raises(SpecError) as e:
        spec_mod.expand(_spec(select=select))
    assert e.value.field == field


def test_unknown_metrics_need_a_goal_and_chain_errors_name_the_part():
    assert {t.selection.goal for t in spec_mod.expand(_spec(select={**SPEC["select"], "by": "calib", "goal": "max"}))} == {"max"}
    with pytest.raises(SpecError) as e:
        spec_mod.parse({**SPEC, "chain": [{"axes": {"data": [16384]}, "select": {"over": {"optim.lr": [1]}}}]})
    assert e.value.field == "chain[0].select.by"
    # the base point is on both parts; its variant at the base lr would also be a plain trial
    with pytest.raises(SpecError) as e:
        spec_mod.expand(_spec(axes={"horizontal": [8]}, select={"over": {"optim.lr": [0.01, 0.03]}, "by": "ne"},
                              chain=[{"axes": {"data": [8192]}, "select": False}]))
    assert e.value.field == "chain[0].axes.data[0]"


def test_cli_plan_counts_variants_and_a_bad_select_exits_2(tmp_path, capsys):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(yaml.safe_dump(SPEC, sort_keys=False))
    assert main(["sweep", "plan", str(good)]) == 0
    out = capsys.readouterr().out
    assert "24 trials (2 points x 6 variants x 2 seeds)" in out
    assert "variant 5: optim.lr=0.03, optim.warmup_frac=0.1" in out
    plans = plan.plan(spec_mod.expand(_spec()))
    alone = plan.plan(spec_mod.expand(_spec(select=None)))
    # every variant is priced: same FLOPs per trial, six times the trials, compiles once per shape
    assert sum(p.train_flops for p in plans) == pytest.approx(6 * sum(p.train_flops for p in alone))
    bad.write_text(yaml.safe_dump({**SPEC, "select": {"over": {"optim.lr": [0.01]}, "by": "ne", "goal": "max"}}))
    out_dir = tmp_path / "runs"
    assert main(["sweep", "run", str(bad), "--out", str(out_dir)]) == 2
    assert "select.goal" in capsys.readouterr().err and not out_dir.exists()


# ---------------------------------------------------------------------------------------
# The choice, from records.


def rec(trial_id, index, seed, *, valid=None, final=None, status="finished", group="g1", n_variants=2, seeds=(0, 1),
        by="ne", goal="min", members=None):
    members = members or [f"{group}-{i}-{s}" for i in range(n_variants) for s in seeds]
    return TrialRecord(
        trial_id=trial_id, sweep="s", arch="dlrm", seed=seed, axes={"horizontal": 8}, config={}, status=status,
        params={"total": 1, "embedding": 0, "dense": 1}, flops_per_example={"forward": 1, "train": 3}, train_flops=3.0,
        examples_seen=1, final_metrics=final or {}, best_metrics={}, curve=[], wall_time_s=1.0, compile_time_s=0.0,
        throughput=1.0, metric_note="", versions={}, valid_metrics=valid or {},
        selection={"group": group, "variant": {"optim.lr": [0.01, 0.03, 0.1][index]}, "index": index, "by": by,
                   "goal": goal, "members": members})


def group_of(values, *, status=None, group="g1", by="ne", goal="min", eval_values=None):
    """Records of one group: ``values[i][s]`` the validation ``by`` of variant i, seed s."""
    status = status or {}
    out = []
    for i, seeds in enumerate(values):
        for s, v in enumerate(seeds):
            ev = eval_values[i][s] if eval_values else v
            out.append(rec(f"{group}-{i}-{s}", i, s, valid={by: v}, final={by: ev}, status=status.get((i, s), "finished"),
                           group=group, n_variants=len(values), seeds=range(len(seeds)), by=by, goal=goal))
    return out


def test_the_choice_is_made_on_validation_never_on_the_eval_set():
    # variant 1 is better on validation, variant 0 on the eval set: validation decides
    recs = group_of([[0.80, 0.80], [0.79, 0.79]], eval_values=[[0.70, 0.70], [0.90, 0.90]])
    c = selection.choose(recs)["g1"]
    assert c.status == "chosen" and c.chosen.index == 1 and c.chosen.mean == pytest.approx(0.79)
    swapped = group_of([[0.79, 0.79], [0.80, 0.80]], eval_values=[[0.90, 0.90], [0.70, 0.70]])
    assert selection.choose(swapped)["g1"].chosen.index == 0
    high = group_of([[0.30, 0.30], [0.31, 0.20]], by="ndcg@10", goal="max")
    assert selection.choose(high)["g1"].chosen.index == 0  # mean .30 beats .255


def test_one_variant_per_point_by_the_mean_over_seeds():
    # variant 1 wins seed 1 (0.84 < 0.86) but variant 0 has the better mean (0.85 < 0.855)
    c = selection.choose(group_of([[0.84, 0.86], [0.87, 0.84]]))["g1"]
    assert c.chosen.index == 0 and c.chosen.trials == ("g1-0-0", "g1-0-1")
    assert selection.chosen_ids({"g1": c}) == {"g1-0-0", "g1-0-1"}


def test_ties_go_to_the_first_listed_variant_whatever_the_record_order():
    recs = group_of([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    assert selection.choose(recs)["g1"].chosen.index == 0
    assert selection.choose(list(reversed(recs)))["g1"].chosen.index == 0


def test_diverged_failed_or_unmeasured_variants_are_never_chosen():
    recs = group_of([[0.1, 0.1], [0.8, 0.8], [0.9, 0.9]], status={(0, 1): "diverged", (1, 0): "failed"})
    c = selection.choose(recs)["g1"]
    assert c.chosen.index == 2 and "diverged" in c.variants[0].problem and "failed" in c.variants[1].problem
    # a trial without the validation metric (a task with no validation stream) is unusable too
    none = [dataclasses.replace(r, valid_metrics={}) for r in group_of([[0.5, 0.5], [0.6, 0.6]])]
    c = selection.choose(none)["g1"]
    assert c.status == "none" and c.chosen is None and "no validation 'ne'" in c.variants[0].problem
    dead = group_of([[0.5], [0.6]], status={(0, 0): "diverged", (1, 0): "diverged"})
    assert selection.choose(dead)["g1"].status == "none"


def test_a_group_with_trials_not_recorded_is_incomplete():
    recs = group_of([[0.5, 0.5], [0.4, 0.4]])
    c = selection.choose(recs[:3])["g1"]  # g1-1-1 not recorded yet
    assert c.status == "incomplete" and c.chosen is None and c.missing == ("g1-1-1",)
    assert not selection.chosen_ids(selection.choose(recs[:3]))


def test_load_keeps_chosen_variants_the_table_says_which(tmp_path):
    plain = dataclasses.replace(rec("plain", 0, 0, valid={"ne": 0.1}, final={"ne": 0.1}), selection={})
    recs = group_of([[0.6, 0.6], [0.5, 0.5]]) + group_of([[0.6, 0.6], [0.5, 0.5]], group="g2")[:3] + [plain]
    for r in recs:
        store.write(tmp_path, r)
    chosen = load.load_records([tmp_path])
    assert sorted(r.trial_id for r in chosen) == ["g1-1-0", "g1-1-1", "plain"]  # g2 incomplete: left out
    assert len(load.load_records([tmp_path], variants="all")) == 8
    # a trial that is no variant reads back exactly as written
    assert next(r for r in chosen if r.trial_id == "plain") == plain
    with pytest.raises(ValueError, match="variants"):
        load.load_records([tmp_path], variants="best")
    table = load.trial_table(load.load_records([tmp_path], variants="all"))
    assert table.set_index("trial_id")["chosen"].to_dict() == {
        "g1-0-0": False, "g1-0-1": False, "g1-1-0": True, "g1-1-1": True,
        "g2-0-0": False, "g2-0-1": False, "g2-1-0": False, "plain": True}
    row = table.set_index("trial_id").loc["g1-1-0"]
    assert row["group"] == "g1" and row["variant"] == "optim.lr=0.03"
    # unannotated records (read straight from the store) get the same column
    assert load.trial_table(store.read_all(tmp_path)).set_index("trial_id")["chosen"].sum() == 3
    doc = json.loads(selection.to_json(selection.choose(store.read_all(tmp_path))))
    assert (doc["groups"], doc["chosen"], doc["incomplete"]) == (2, 1, 1)
    assert doc["choices"]["g1"]["chosen"]["variant"] == {"optim.lr": 0.03}


def test_the_variants_of_a_point_share_one_pack():
    """LR and warm-up variants differ only in data fed to the program (``sweeps.packed``)."""
    from sweeps import packed

    trials = spec_mod.expand(_spec())
    packs = packed.group(trials)
    assert sorted(len(p) for p in packs) == [12, 12]
    assert all(len({t.selection.group for t in p}) == 1 for p in packs)
