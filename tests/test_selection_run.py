"""Per-point selection end to end: a real sweep of learning-rate variants through
``sweeps.runner``, chosen on the validation stream, never on the evaluation set."""

import dataclasses
import io
import json
import math

import pytest

from analysis import load
from recscale.cli import main
from sweeps import runner, selection, spec as spec_mod, store
from sweeps.progress import Progress

LRS = (0.001, 0.03)
SPEC = {
    "name": "select_run",
    "arch": "dlrm",
    "seeds": [0, 1],
    "base": {"model": {"embed_dim": 4, "rows": 256, "bottom_mlp": [8], "top_mlp": [8]}, "data.examples": 16384,
             "train.eval_points": 1},
    "select": {"over": {"optim.lr": list(LRS)}, "by": "ne"},
}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("select") / "sweep"
    summary = runner.run(spec_mod.parse(SPEC), out, pack=False, progress=Progress(io.StringIO()))
    return out, summary


def _mean_valid(records, lr):
    return sum(r.valid_metrics["ne"] for r in records if r.config["optim"]["lr"] == lr) / 2


def test_every_variant_is_recorded_and_the_best_on_validation_is_chosen(sweep):
    out, summary = sweep
    assert (summary.total, summary.finished) == (4, 4)
    recs = list(store.read_all(out))
    assert {(r.config["optim"]["lr"], r.seed) for r in recs} == {(lr, s) for lr in LRS for s in (0, 1)}
    assert len({r.selection["group"] for r in recs}) == 1
    for r in recs:
        # the validation stream is other data than the evaluation set: other numbers
        assert math.isfinite(r.valid_metrics["ne"]) and r.valid_metrics["ne"] != r.final_metrics["ne"]
    best = min(LRS, key=lambda lr: _mean_valid(recs, lr))
    doc = json.loads((out / selection.FILE).read_text())
    (choice,) = doc["choices"].values()
    assert choice["status"] == "chosen" and choice["chosen"]["variant"] == {"optim.lr": best}
    assert choice["chosen"]["mean"] == pytest.approx(_mean_valid(recs, best), rel=1e-12)
    kept = load.load_records([out])
    assert sorted((r.config["optim"]["lr"], r.seed) for r in kept) == [(best, 0), (best, 1)]
    assert len(load.load_records([out], variants="all")) == 4


def test_the_eval_set_never_chooses(sweep, tmp_path):
    """The same real records with the eval metrics of the variants swapped, so that the eval
    set favours the other variant: the choice does not move."""
    out, _ = sweep
    recs = list(store.read_all(out))
    best = min(LRS, key=lambda lr: _mean_valid(recs, lr))
    other = next(lr for lr in LRS if lr != best)
    by_key = {(r.config["optim"]["lr"], r.seed): r for r in recs}
    for (lr, seed), r in by_key.items():
        swapped = by_key[(other if lr == best else best, seed)].final_metrics
        worse = {**swapped, "ne": swapped["ne"] + (1.0 if lr == best else -1.0)}  # eval: the chosen one is far worse
        store.write(tmp_path, dataclasses.replace(r, final_metrics=worse))
    moved = list(store.read_all(tmp_path))
    assert min(LRS, key=lambda lr: sum(r.final_metrics["ne"] for r in moved if r.config["optim"]["lr"] == lr)) == other
    assert {r.config["optim"]["lr"] for r in load.load_records([tmp_path])} == {best}
    # a re-run trains nothing, and writes the same choice from the records
    again = runner.run(spec_mod.parse(SPEC), tmp_path, pack=False, progress=Progress(io.StringIO()))
    assert (again.skipped, again.finished) == (4, 0)
    (choice,) = json.loads((tmp_path / selection.FILE).read_text())["choices"].values()
    assert choice["chosen"]["variant"] == {"optim.lr": best}


def test_sweep_status_shows_the_choice(sweep, capsys):
    out, _ = sweep
    assert main(["sweep", "status", str(out)]) == 0
    text = capsys.readouterr().out
    best = min(LRS, key=lambda lr: _mean_valid(list(store.read_all(out)), lr))
    assert "selection: 1 groups: chosen 1, incomplete 0" in text and f"chose optim.lr={best:g}" in text
