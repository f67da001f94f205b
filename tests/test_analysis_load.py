"""Loading trial records into the tidy table and picking the points of an axis (synthetic records)."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from analysis import load, synthetic, tabular
from sweeps import store


def _write(d, records):
    for r in records:
        store.write(d, r)
    return d


@pytest.fixture
def two_sweeps(tmp_path):
    a = synthetic.axis_records("horizontal", [1, 2, 4, 8], alpha=0.3, beta=1.0, gamma=0.6, sweep="a", seeds=(0, 1))
    a.append(synthetic.record(sweep="a", arch="dlrm", seed=0, axes={"horizontal": 16}, params=16000, examples=2**19,
                              metrics={}, status="failed", message="Traceback...\nValueError: boom"))
    b = synthetic.axis_records("data", [2**15, 2**16, 2**17], alpha=0.1, beta=2.0, gamma=0.6, sweep="b", arch="hstu_rank",
                               seeds=(0,))
    b.append(synthetic.record(sweep="b", arch="hstu_rank", seed=1, axes={"data": 2**18}, params=10, examples=2**18,
                              metrics={}, status="diverged", message="loss became nan at step 3"))
    return _write(tmp_path / "a", a), _write(tmp_path / "b", b)


def test_load_filters_finished_and_reads_several_sweeps(two_sweeps):
    recs = load.load_records(two_sweeps)
    assert len(recs) == 8 + 3 and all(r.status == "finished" for r in recs)
    every = load.load_records(two_sweeps, status=None)
    assert len(every) == 13
    bad = load.unfinished(every)
    assert [(r.sweep, r.status) for r in bad] == [("a", "failed"), ("b", "diverged")]
    with pytest.raises(FileNotFoundError):
        load.load_records([two_sweeps[0].parent / "nope"])


def test_trial_table_is_a_dataframe_with_one_row_per_trial_and_tidy_columns(two_sweeps):
    table = load.trial_table(load.load_records(two_sweeps, status=None))
    assert isinstance(table, pd.DataFrame) and len(table) == 13
    for col in ("sweep", "trial_id", "arch", "seed", "status", "axes", "x.horizontal", "x.data", "params",
                "train_flops", "examples", "ne", "message"):
        assert col in table.columns
    assert list(table["sweep"]) == ["a"] * 9 + ["b"] * 4  # sweep, then trial-id order
    h4 = table[table["x.horizontal"] == 4]
    assert len(h4) == 2 and set(h4["seed"]) == {0, 1}
    first = h4.iloc[0]
    assert first["params"] == 4000 and first["axes"] == "horizontal" and math.isnan(first["x.data"])
    assert first["ne"] == pytest.approx(1.0 * 4000**-0.3 + 0.6)
    assert first["train_flops"] == pytest.approx(6 * 4000 * 2**19)
    failed = table[table.status == "failed"]
    assert len(failed) == 1 and failed["message"].iloc[0] == "ValueError: boom" and math.isnan(failed["ne"].iloc[0])
    assert (table.arch == "hstu_rank").sum() == 4
    assert table["examples"].dtype == float and table["seed"].dtype == np.int64
    assert table.groupby("arch").size().to_dict() == {"dlrm": 9, "hstu_rank": 4}
    md = tabular.markdown(table, ["trial_id", "arch", "ne"], max_rows=2).splitlines()
    assert md[0] == "| trial_id | arch | ne |" and md[1] == "|---|---|---|" and len(md) == 4
    assert md[2].endswith(f" | {table['ne'].iloc[0]:.4g} |")
    failed_md = tabular.markdown(failed, ["status", "ne"]).splitlines()
    assert failed_md[2] == "| failed |  |"  # NaN shown as an empty cell
    assert load.trial_table([]).empty


def test_isoflop_trials_are_not_points_of_their_size_axis():
    plain = synthetic.axis_records("mlp", [4, 8, 16, 32], alpha=0.3, beta=1.0, gamma=0.6, seeds=(0,))
    iso = synthetic.isoflop_records("mlp", [1e10, 1e11], [4, 8, 16, 32, 64], E=0.55, A=7.2, a=0.3, B=20.0, b=0.3)
    assert load.axes_of(iso) == ["compute"]
    assert load.axes_of(plain + iso) == ["mlp", "compute"]
    pts = load.axis_points(plain + iso, "mlp", x="scale")
    np.testing.assert_array_equal(pts.x_mean, [4, 8, 16, 32])


def test_compute_axis_keeps_the_best_size_of_each_budget():
    budgets, sizes = [1e10, 1e11, 1e12], [4, 8, 16, 32, 64, 128]
    iso = synthetic.isoflop_records("mlp", budgets, sizes, E=0.55, A=7.2, a=0.3, B=20.0, b=0.3, seeds=(0, 1))
    pts = load.axis_points(iso, "compute", x="scale")
    np.testing.assert_array_equal(pts.x_mean, budgets)
    for c, y in zip(budgets, pts.y_mean):
        # Best over the same grid, computed from the law itself.
        best = min(0.55 + 7.2 / (s * 1000) ** 0.3 + 20.0 / round(c / (6 * s * 1000)) ** 0.3 for s in sizes)
        assert y == pytest.approx(best)
    assert len(pts.x) == 6  # both seeds of the best size



def test_a_schema_1_record_reads_its_bayes_ne_as_floor_ne():
    from analysis import fits

    rec = synthetic.record(sweep="s", arch="dlrm", seed=0, axes={"vertical": 8}, params=100, examples=1000,
                           metrics={"ne": 0.8}, floor_ne=0.71)
    old = {k: v for k, v in dataclasses.asdict(rec).items() if k not in ("floor_ne", "schema")}
    back = store.TrialRecord.from_dict({**old, "bayes_ne": 0.71})  # as written before schema 2
    assert back.floor_ne == 0.71 and back.schema == store.SCHEMA == 2
    assert back == rec and fits.record_floor([back]) == 0.71
