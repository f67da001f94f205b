"""Plans and progress lines name a trial by its point and, under a ``select:``, its variant."""

import io

from sweeps import spec as spec_mod
from sweeps.plan import format_plan, plan
from sweeps.progress import Progress
from sweeps.spec import describe_trial
from sweeps.store import TrialRecord

SPEC = {
    "name": "variants", "arch": "dlrm", "seeds": [0],
    "base": {"model": {"embed_dim": 4, "rows": 64, "bottom_mlp": [8], "top_mlp": [8]}, "data": {"examples": 1024}},
    "select": {"over": {"optim.lr": [0.01, 0.003]}, "by": "ne"},
    "axes": {"horizontal": [4, 8]},
}


def _record(trial) -> TrialRecord:
    return TrialRecord(trial_id=trial.trial_id, sweep="s", arch="dlrm", seed=0, axes=trial.axes, config={},
                       status="finished", params={}, flops_per_example={}, train_flops=0.0, examples_seen=0,
                       final_metrics={"ne": 0.9}, best_metrics={}, curve=[], wall_time_s=1.0, compile_time_s=0.0,
                       throughput=0.0, metric_note="", versions={})


def test_a_variant_is_named_in_the_plan_and_in_the_progress_line():
    trials = spec_mod.expand(spec_mod.parse(SPEC))
    names = sorted(describe_trial(t) for t in trials)
    assert names == ["horizontal=4 | variant 0: optim.lr=0.01", "horizontal=4 | variant 1: optim.lr=0.003",
                     "horizontal=8 | variant 0: optim.lr=0.01", "horizontal=8 | variant 1: optim.lr=0.003"]
    text = format_plan(plan(trials))
    assert all(n in text for n in names)
    out = io.StringIO()
    p = Progress(out, live=False, every_s=1e9)
    p.begin(trials, {}, parallel=1)
    p.started(trials[1])
    p.finished(trials[1], _record(trials[1]))
    assert f"{trials[1].trial_id} {describe_trial(trials[1])} seed=0: finished ne=0.9000" in out.getvalue()


def test_a_trial_outside_any_select_is_its_point_alone():
    plain = {k: v for k, v in SPEC.items() if k != "select"}
    (trial,) = spec_mod.expand(spec_mod.parse({**plain, "axes": {"horizontal": [4]}}))
    assert describe_trial(trial) == "horizontal=4"
