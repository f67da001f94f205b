"""The reference specs (sweeps/specs/ref_*.yaml) run end to end on generated files in
each real format, at tiny sizes: the spec's data set, optimiser and loss settings are kept;
the model, the budget and the epochs are shrunk."""

import copy
import gzip
from pathlib import Path

import numpy as np
import pytest
import yaml

from recscale.cli import main
from sweeps import store
from sweeps.data import criteo, prepared, ratings

SPECS = Path(__file__).resolve().parent.parent / "sweeps" / "specs"


def ratings_lines(rng, n_users, n_items, sep, *, string_ids=False, half_stars=False):
    lines = []
    for u in range(1, n_users + 1):
        items = rng.choice(n_items, size=int(rng.integers(7, 11)), replace=False) + 1
        for i in items:
            stars = rng.integers(1, 11) / 2 if half_stars else int(rng.integers(1, 6))
            user, item = (f"A{u:05d}X", f"{i:010d}") if string_ids else (u, i)
            lines.append(f"{user}{sep}{item}{sep}{stars}{sep}{int(rng.integers(9e8, 1.2e9))}")
    return lines


def criteo_lines(rng, n):
    out = []
    for _ in range(n):
        dense = ["" if rng.random() < 0.2 else str(int(rng.integers(-1, 500))) for _ in range(13)]
        cats = ["" if rng.random() < 0.1 else f"{int(rng.integers(0, 2**32)):08x}" for _ in range(26)]
        out.append("\t".join([str(int(rng.random() < 0.3)), *dense, *cats]))
    return out


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """Generated raw files in every format, prepared once for the module."""
    root = tmp_path_factory.mktemp("real")
    mp = pytest.MonkeyPatch()
    mp.setenv(prepared.ENV, str(root / "cache"))
    rng = np.random.default_rng(0)
    (root / "u.data").write_text("\n".join(ratings_lines(rng, 24, 12, "\t")) + "\n")
    (root / "ratings.dat").write_text("\r\n".join(ratings_lines(rng, 24, 12, "::")) + "\r\n")
    csv = ratings_lines(rng, 24, 12, ",", half_stars=True)
    (root / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + "\n".join(csv) + "\n")
    (root / "ratings_Books.csv").write_text("\n".join(ratings_lines(rng, 24, 12, ",", string_ids=True)) + "\n")
    for source, file in (("ml-100k", "u.data"), ("ml-1m", "ratings.dat"), ("ml-20m", "ratings.csv"), ("books", "ratings_Books.csv")):
        ratings.prepare(source, root / file, source)
    (root / "train.txt").write_text("\n".join(criteo_lines(rng, 7 * 24)) + "\n")
    criteo.prepare("kaggle", root / "train.txt", "criteo-kaggle")
    days = root / "days"
    days.mkdir()
    for d in (0, 1, 23):
        with gzip.open(days / f"day_{d}.gz", "wt") as f:
            f.write("\n".join(criteo_lines(rng, 48)) + "\n")
    criteo.prepare("terabyte", days, "criteo-terabyte", table_size=1 << 20)
    yield root
    mp.undo()


TINY_SEQ = {
    "data": {"examples": 16, "seq_len": 7, "min_len": 7},
    "model": {"d_model": 8, "n_blocks": 1, "n_heads": 1, "max_len": 6, "rows": 11, "dropout": 0.2},  # one program for all
    "train": {"batch_size": 8, "epochs": 1, "n_negatives": 4},
}
TINY_CTR = {
    "data": {"examples": 64},
    "model": {"embed_dim": 4, "rows": 2, "bottom_mlp": [8], "top_mlp": [8]},
    "train": {"batch_size": 16, "eval_points": 1},
}


def shrink(name: str, tiny: dict, tmp_path: Path, axes: dict, data_name: str | None = None) -> Path:
    spec = yaml.safe_load((SPECS / name).read_text())
    for section, values in tiny.items():
        spec["base"][section] = {**spec["base"].get(section, {}), **copy.deepcopy(values)}
    if data_name:
        spec["base"]["data"]["name"] = data_name
    spec.pop("zip", None)
    spec["axes"] = axes
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec))
    return path


def run(spec: Path, tmp_path: Path):
    out = tmp_path / "runs" / spec.stem
    assert main(["sweep", "run", str(spec), "--out", str(out)]) == 0
    recs = list(store.read_all(out))
    assert recs and all(r.status == "finished" for r in recs), [r.message for r in recs]
    return recs


@pytest.mark.parametrize(
    "spec, data_name",
    [("ref_ml1m.yaml", None), ("ref_ml20m.yaml", None), ("ref_books.yaml", None), ("ref_ml1m.yaml", "ml-100k")],
)
def test_reference_retrieval_specs_run(cache, tmp_path, spec, data_name):
    recs = run(shrink(spec, TINY_SEQ, tmp_path, {"data": [16]}, data_name), tmp_path)
    assert {r.arch for r in recs} == {"hstu", "sasrec"}
    for r in recs:
        assert r.config["data"]["name"] == (data_name or r.config["data"]["name"])
        assert r.config["optim"]["lr"] == 0.001 and r.config["train"]["temperature"] == 0.05
        assert 0 <= r.final_metrics["ndcg@10"] <= 1 and np.isfinite(r.final_metrics["nll"])
        assert f"data: {r.config['data']['name']} (" in r.message
        assert r.examples_seen == 16


@pytest.mark.parametrize(
    "spec, data_name",
    [("ref_criteo_kaggle.yaml", None), ("ref_criteo_terabyte.yaml", None), ("ref_criteo_kaggle.yaml", "ml-20m")],
)
def test_reference_ctr_specs_run(cache, tmp_path, spec, data_name):
    recs = run(shrink(spec, TINY_CTR, tmp_path, {"data": [32, 64]}, data_name), tmp_path)
    assert sorted(r.examples_seen for r in recs) == [32, 64]
    for r in recs:
        assert r.floor_ne is None  # no teacher on real data
        assert r.final_metrics["ne"] == r.final_metrics["ne_labels"]
        assert set(r.valid_metrics) == set(r.final_metrics) - {"step", "examples", "train_loss"}  # the validation split
        assert r.config["optim"]["name"] == "sgd" and r.config["optim"]["lr"] == 0.1
