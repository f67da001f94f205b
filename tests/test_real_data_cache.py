"""The prepared-data cache (atomic, versioned, never read half-written), checksum
verification, the `recscale data` commands and spec validation against the cache."""

import json

import numpy as np
import pytest
import yaml

from recscale.cli import main
from sweeps.data import download, prepared, ratings, sources
from sweeps.errors import InputError

RATINGS = "".join(f"{u}::{10 + (u * i) % 7}::{1 + i % 5}::{100 * u + i}\n" for u in range(1, 5) for i in range(6))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(prepared.ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def raw(tmp_path):
    path = tmp_path / "ratings.dat"
    path.write_text(RATINGS)
    return path


def test_a_half_written_cache_is_never_used(cache, capsys):
    w = prepared.Writer("ml-1m")  # a prepare killed before commit leaves only its build directory
    w.append("seq/items", np.arange(5, dtype=np.int32))
    with pytest.raises(prepared.NotPrepared):
        prepared.open_prepared("ml-1m")
    assert sources.name_problem("ml-1m", "seq").startswith("data set 'ml-1m' is not prepared")
    assert main(["data", "list"]) == 0
    assert "ignored (incomplete or another format)" in capsys.readouterr().out
    (cache / "ml-1m" / "v1").mkdir()  # a copy that stopped before COMPLETE
    (cache / "ml-1m" / "v1" / "meta.json").write_text("{}")
    assert not prepared.is_prepared("ml-1m")


def test_a_failed_prepare_keeps_the_previous_copy(cache, raw, tmp_path):
    ratings.prepare("ml-1m", raw, "ml-1m")
    before = prepared.open_prepared("ml-1m").array("seq/items").copy()
    bad = tmp_path / "bad.dat"
    bad.write_text(RATINGS + "9::9\n")
    with pytest.raises(InputError, match="line 25"):
        ratings.prepare("ml-1m", bad, "ml-1m")
    np.testing.assert_array_equal(prepared.open_prepared("ml-1m").array("seq/items"), before)
    assert [p.name for p in (cache / "ml-1m").iterdir()] == ["v1"]


def test_preparing_again_replaces_the_copy_and_is_deterministic(cache, raw):
    ratings.prepare("ml-1m", raw, "ml-1m")
    first = {k: prepared.open_prepared("ml-1m").array(k).copy() for k in ("seq/items", "ctr/dense", "ctr/ids/user")}
    ratings.prepare("ml-1m", raw, "ml-1m")
    for k, v in first.items():
        np.testing.assert_array_equal(prepared.open_prepared("ml-1m").array(k), v)
    assert [p.name for p in (cache / "ml-1m").iterdir()] == ["v1"]


def test_a_trial_of_a_re_prepared_data_set_keeps_its_id_only_for_the_same_data(cache, raw, tmp_path):
    from sweeps import spec as spec_mod

    tree = {"data": {"name": "ml-1m", "examples": 4, "seq_len": 6, "min_len": 3}}
    trial_id = lambda: spec_mod.build_config("hstu", 0, tree, "base").trial_id  # noqa: E731
    ratings.prepare("ml-1m", raw, "ml-1m")
    first = trial_id()
    moved = tmp_path / "elsewhere.dat"
    moved.write_text(RATINGS)
    ratings.prepare("ml-1m", moved, "ml-1m")  # same data from another path, later
    assert trial_id() == first
    ratings.prepare("ml-1m", raw, "ml-1m", eval_rows=3)  # other options: other data
    assert trial_id() != first


def test_damaged_and_other_format_copies_are_refused(cache, raw):
    path = ratings.prepare("ml-1m", raw, "ml-1m")
    (path / "seq" / "items.bin").write_bytes(b"\0" * 4)
    with pytest.raises(InputError, match="damaged"):
        sources.seq("ml-1m")
    meta = json.loads((path / "meta.json").read_text())
    (path / "meta.json").write_text(json.dumps({**meta, "format": 0}))
    with pytest.raises(prepared.NotPrepared, match="format 0"):
        prepared.open_prepared("ml-1m")


def test_checksums_are_verified(tmp_path):
    archive = tmp_path / "ml-1m.zip"
    archive.write_bytes(b"not really a zip")
    md5, sha = download.digests(archive)
    got = download.fetch(archive.as_uri(), tmp_path / "dl", md5=md5)
    assert got.verified and got.path.read_bytes() == archive.read_bytes() and got.sha256 == sha
    assert download.fetch(archive.as_uri(), tmp_path / "dl", sha256=sha).verified  # present: verified, not fetched
    with pytest.raises(download.ChecksumError, match="MD5 checksum mismatch"):
        download.fetch(archive.as_uri(), tmp_path / "other", md5="0" * 32)
    assert list((tmp_path / "other").iterdir()) == []  # nothing half-downloaded is kept
    with pytest.raises(download.ChecksumError, match="SHA-256 checksum mismatch"):
        download.verify(archive, sha256="f" * 64)
    assert not download.fetch(archive.as_uri(), tmp_path / "unverified").verified
    with pytest.raises(InputError, match="download failed"):
        download.fetch((tmp_path / "missing.zip").as_uri(), tmp_path / "x")


def test_data_commands(cache, raw, capsys):
    assert main(["data", "prepare", "ml-1m", "--from", str(raw)]) == 0
    out = capsys.readouterr().out
    assert "prepared ml-1m" in out and "ratings 24, users 4" in out
    assert main(["data", "prepare", "ml-1m", "--from", str(raw), "--as", "ml-1m-core3", "--core", "3"]) == 0
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "ml-1m-core3" in out and str(cache) in out
    assert prepared.open_prepared("ml-1m-core3").meta["options"]["core"] == 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (["data", "prepare", "ml-1m", "--from", "{tmp}/missing.dat"], "missing.dat: no such file or directory"),
        (["data", "prepare", "ml-1m", "--from", "{raw}", "--table-size", "8"], "--table-size does not apply to ml-1m"),
        (["data", "prepare", "nope", "--from", "{raw}"], "unknown data set 'nope'"),
        (["data", "download", "ml-1m", "--days", "1"], "--days applies to criteo-terabyte only"),
    ],
)
def test_data_command_errors_exit_2(cache, raw, tmp_path, capsys, argv, message):
    argv = [a.format(tmp=tmp_path, raw=raw) for a in argv]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def spec_file(tmp_path, data):
    spec = {"name": "s", "arch": "hstu", "base": {"data": data, "model": {"d_model": 8, "max_len": 4}}, "axes": {"data": [2]}}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "ml-20m", "examples": 2}, "data set 'ml-20m' is not prepared"),
        ({"name": "ml-20m", "examples": 2}, "run `recscale data prepare ml-20m --from PATH`"),
        ({"name": "nope", "examples": 2}, "base.data.name: unknown data set 'nope'; available: seq_world, ml-100k"),
        ({"name": "criteo-kaggle", "examples": 2}, "data set 'criteo-kaggle' is not prepared"),
        ({"name": "ml-1m", "examples": 5, "min_len": 3}, "examples 5 exceeds the 4 users with at least 3 ratings of 'ml-1m'"),
        ({"name": "ml-1m", "examples": 2, "min_len": 2}, "min_len must be >= 3 on a real data set"),
    ],
)
def test_specs_naming_unusable_data_exit_2_before_training(cache, raw, tmp_path, capsys, data, message):
    ratings.prepare("ml-1m", raw, "ml-1m")
    assert main(["sweep", "plan", spec_file(tmp_path, data)]) == 2
    assert message in capsys.readouterr().err
