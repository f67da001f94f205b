import json
import re

import pytest
import yaml

from recscale.cli import main
from sweeps import store

SPEC = {
    "name": "tiny",
    "arch": "dlrm",
    "seeds": [0],
    # test_engine's tiny shapes (embed_dim 2, 4, 8): programs the run's compilation cache may hold
    "base": {"model": {"embed_dim": 4, "rows": 256, "bottom_mlp": [8], "top_mlp": [8]}, "data.examples": 8192, "optim.lr": 0.01},
    "axes": {"data": [4096, 8192, 16384, 32768, 65536], "horizontal": [2, 4, 8]},
}


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    spec = root / "tiny.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    out = root / "runs" / "tiny"
    assert main(["sweep", "run", str(spec), "--out", str(out)]) == 0
    return spec, out


def test_every_trial_recorded_once_with_its_axes(swept):
    _, out = swept
    recs = list(store.read_all(out))
    assert len(recs) == 7  # 5 data points + 3 widths, embed_dim=4 at 8192 shared
    shared = [r for r in recs if len(r.axes) == 2]
    assert len(shared) == 1 and shared[0].axes == {"data": 8192, "horizontal": 4}
    assert all(r.status == "finished" for r in recs)
    r = recs[0]
    for key in ("trial_id", "config", "params", "flops_per_example", "train_flops", "curve", "versions", "floor_ne"):
        assert getattr(r, key) not in (None, {}, [])
    assert set(r.params) == {"embedding", "dense", "total"}
    assert r.versions["jax"] != "unknown"


def test_rerun_trains_nothing(swept, capsys):
    spec, out = swept
    before = {p.name: p.stat().st_mtime_ns for p in (out / "trials").iterdir()}
    assert main(["sweep", "run", str(spec), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "7 of 7 trials already recorded" in text
    assert {p.name: p.stat().st_mtime_ns for p in (out / "trials").iterdir()} == before


def test_fit_prints_the_table_and_plot_writes_a_png(swept, capsys):
    _, out = swept
    assert main(["fit", str(out)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"^data\s+5\s", text, re.M)
    assert "not fitted" in text and "horizontal" in text  # 3 points: a clear refusal, not a fit
    assert "floor NE of the eval set" in text
    assert main(["fit", str(out), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["axes"]
    data = next(r for r in rows if r["axis"] == "data")
    recs = list(store.read_all(out))
    assert data["alpha"] > 0 and data["gamma"] >= recs[0].floor_ne - 1e-9
    png = out / "scaling_ne.png"
    assert main(["plot", str(out)]) == 0
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fit_table_reports_cis_and_the_seed_table(swept, capsys):
    _, out = swept
    assert main(["fit", str(out), "--table", "--bootstrap", "50", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    data = next(r for r in res["axes"] if r["axis"] == "data")
    lo, hi = data["alpha_ci"]
    assert lo <= data["alpha"] <= hi
    # the horizontal axis has 3 points: the seed table says why it cannot be built
    assert "horizontal" in res["seed_table_error"] and "seed_table" not in res


def test_fit_of_missing_dir_exits_2(tmp_path):
    assert main(["fit", str(tmp_path / "nope")]) == 2


def test_a_malformed_data_thread_count_exits_2_before_anything_runs(tmp_path, monkeypatch, capsys):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    monkeypatch.setenv("RECSCALE_DATA_THREADS", "two")
    assert main(["sweep", "run", str(spec), "--out", str(tmp_path / "out")]) == 2
    assert "RECSCALE_DATA_THREADS must be a positive integer, got 'two'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_higher_is_better_metrics_are_recognised():
    from analysis.fits import higher_is_better

    assert all(higher_is_better(m) for m in ("auc", "hr@10", "ndcg@200", "mrr"))
    assert not any(higher_is_better(m) for m in ("ne", "ne_labels", "logloss", "nll"))


def test_several_architectures_are_fitted_apart(swept):
    import dataclasses

    from analysis import fits, load

    _, out = swept
    recs = load.load_records([out])
    twin = [dataclasses.replace(r, arch="wide_deep", trial_id=r.trial_id + "x") for r in recs]
    res = fits.fit_axes(recs + twin, n_boot=0)
    assert set(res) == {"dlrm:data", "dlrm:horizontal", "wide_deep:data", "wide_deep:horizontal"}
    assert len(res["dlrm:data"].points.x) == 5
