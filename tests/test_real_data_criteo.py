"""Criteo Kaggle and Terabyte files in their real format, prepared and checked exactly."""

import gzip
import io
import re
import tarfile

import numpy as np
import pytest

from sweeps.data import criteo, prepared, sources
from sweeps.data.rawtext import ArchiveError, DataFormatError

HASHES = ["68fd1e64", "80e26c9b", "fb936136", "7b4723c4", "25c83c98", "7e0ccccf", "de7995b8", "1f89b562", "a73ee510",
          "a8cd5504", "b2cb9c98", "37c9c164", "2824a5f6", "1adce6ef", "8ba8b39a", "891b62e7", "e5ba7672", "f54016b9",
          "21ddcdc9", "b1252a9d", "07b5194c", "0000000a", "3a171ecb", "c5c50484", "e8b83407", "9727dd16"]


def line(label, ints, cats, end="\n"):
    return "\t".join([str(label), *ints, *cats]) + end


# Awkward on purpose: empty dense and categorical fields, a negative count, Windows line
# endings, upper-case hex, an empty line, and no newline after the last line.
LINES = [
    line(1, ["1", "-2", "", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"], HASHES),
    line(0, [""] * 13, [""] * 26, end="\r\n"),
    line(0, ["0"] * 13, [h.upper() for h in HASHES[::-1]], end="\r\n"),
    "\n",
    *[line(i % 2, [str(i)] + [""] * 12, [HASHES[i % 26]] + [""] * 25) for i in range(3, 15)],
]
TEXT = "".join(LINES).rstrip("\n")  # 15 examples over 16 lines


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(prepared.ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_kaggle_arrays_are_exact(tmp_path, cache):
    raw = tmp_path / "train.txt"
    raw.write_bytes(TEXT.encode())
    criteo.prepare("kaggle", raw, "criteo-kaggle", table_size=1000, ids="hashed")
    data = sources.ctr("criteo-kaggle")
    rows = data.rows(0, 15)
    assert rows.label.tolist() == [1, 0, 0] + [i % 2 for i in range(3, 15)]
    assert rows.label is rows.prob  # no teacher: NE is against the labels
    expected = np.log1p(np.array([1, 0, 0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])).astype(np.float32)  # -2 and "" are 0
    np.testing.assert_array_equal(rows.dense[0], expected)
    np.testing.assert_array_equal(rows.dense[1], np.zeros(13, np.float32))
    assert rows.dense[5, 0] == np.float32(np.log1p(5.0))
    for j, h in enumerate(HASHES):
        field = f"C{j + 1}"
        assert rows.ids[field][0] == int(h, 16) % 1000
        assert rows.ids[field][1] == 0  # empty: hash 0
        assert rows.ids[field][2] == int(HASHES[25 - j], 16) % 1000
    assert [f.cardinality for f in data.fields] == [1000] * 26 and data.n_dense == 13
    # 15 lines in DLRM's 7 days: [3, 2, 2, 2, 2, 2, 2]; day 7 halves: test then validation.
    assert data.splits == {"train": (0, 13), "test": (13, 14), "valid": (14, 15)}
    assert data.n_train == 13 and len(data.eval_set) == 1
    np.testing.assert_array_equal(data.train(5).ids["C1"], rows.ids["C1"][:5])


def test_dense_ids_renumber_each_field_in_hash_order(tmp_path, cache):
    raw = tmp_path / "train.txt"
    raw.write_bytes(TEXT.encode())
    criteo.prepare("kaggle", raw, "criteo-kaggle")  # Kaggle's default: hash % 2^30, then renumbered
    data = sources.ctr("criteo-kaggle")
    c1 = [int(h, 16) % 2**30 for h in [HASHES[0], "0", HASHES[25]] + [HASHES[i % 26] for i in range(3, 15)]]
    order = sorted(set(c1))
    assert data.rows(0, 15).ids["C1"].tolist() == [order.index(v) for v in c1]
    assert data.fields[0].cardinality == len(order)
    assert data.fields[1].cardinality == 3  # C2: HASHES[1], empty, HASHES[24]; the rest empty


def test_the_downloaded_archive_gives_the_same_arrays(tmp_path, cache):
    archive = tmp_path / "dac.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        for name, text in (("readme.txt", "Criteo"), ("train.txt", TEXT)):
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            t.addfile(info, io.BytesIO(text.encode()))
    (tmp_path / "train.txt").write_bytes(TEXT.encode())
    criteo.prepare("kaggle", archive, "from-archive")
    criteo.prepare("kaggle", tmp_path / "train.txt", "from-text")
    a, b = sources.ctr("from-archive"), sources.ctr("from-text")
    np.testing.assert_array_equal(a.rows(0, 15).dense, b.rows(0, 15).dense)
    for f in a.fields:
        np.testing.assert_array_equal(a.rows(0, 15).ids[f.name], b.rows(0, 15).ids[f.name])


def test_terabyte_days_in_order_and_the_last_day_split_in_half(tmp_path, cache):
    days = tmp_path / "days"
    days.mkdir()
    day = lambda d, n: "".join(line(0, [str(d)] + [""] * 12, [""] * 26) for _ in range(n))
    (days / "day_0").write_text(day(0, 3))
    with gzip.open(days / "day_1.gz", "wt") as f:
        f.write(day(1, 2))
    with gzip.open(days / "day_23.gz", "wt") as f:
        f.write(day(23, 5))
    (days / "notes.txt").write_text("not a day file")
    criteo.prepare("terabyte", days, "criteo-terabyte", table_size=64)
    data = sources.ctr("criteo-terabyte")
    first = np.expm1(data.rows(0, 10).dense[:, 0]).round().astype(int).tolist()
    assert first == [0, 0, 0, 1, 1, 23, 23, 23, 23, 23]
    assert data.splits == {"train": (0, 5), "test": (5, 8), "valid": (8, 10)}
    assert data.prepared.meta["options"]["ids"] == "hashed" and data.fields[0].cardinality == 64


@pytest.mark.parametrize(
    "bad, where",
    [
        (line(1, ["1"] * 13, HASHES[:25]), "line 3: expected 40 tab-separated fields"),
        (line(2, ["1"] * 13, HASHES), "line 3, field 1 (label): expected the label 0 or 1, got '2'"),
        (line(0, ["1", "1x"] + ["1"] * 11, HASHES), "line 3, field 3 (I2): expected an integer, got '1x'"),
        (line(0, ["1"] * 13, HASHES[:2] + ["zz12"] + HASHES[3:]), "line 3, field 17 (C3): expected a hexadecimal value"),
    ],
)
def test_a_malformed_line_names_the_line_and_field_and_nothing_is_prepared(tmp_path, cache, bad, where):
    raw = tmp_path / "train.txt"
    raw.write_text(LINES[0] + LINES[1] + bad + LINES[4])
    with pytest.raises(DataFormatError, match=re.escape(f"train.txt, {where}")):
        criteo.prepare("kaggle", raw, "criteo-kaggle")
    assert not prepared.is_prepared("criteo-kaggle")
    assert list((cache / "criteo-kaggle").iterdir()) == []  # the partial copy is removed


def test_truncated_archives_are_reported(tmp_path, cache):
    full = gzip.compress(TEXT.encode() * 50)
    (tmp_path / "day_0.gz").write_bytes(full[: len(full) // 2])
    with pytest.raises(ArchiveError, match="truncated or corrupt"):
        criteo.prepare("terabyte", tmp_path / "day_0.gz", "t")
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as t:
        info = tarfile.TarInfo("train.txt")
        info.size = len(TEXT.encode() * 50)
        t.addfile(info, io.BytesIO(TEXT.encode() * 50))
    (tmp_path / "dac.tar.gz").write_bytes(tgz.getvalue()[:-200])
    with pytest.raises(ArchiveError, match="dac.tar.gz: truncated or corrupt"):
        criteo.prepare("kaggle", tmp_path / "dac.tar.gz", "k")
    assert not prepared.is_prepared("k") and not prepared.is_prepared("t")


def test_a_missing_file_is_a_clear_error(tmp_path, cache):
    from sweeps.errors import InputError

    with pytest.raises(InputError, match="no such file or directory"):
        criteo.prepare("kaggle", tmp_path / "nope.txt", "k")


def test_many_blocks_and_parallel_workers_give_the_same_arrays(tmp_path, cache, monkeypatch):
    raw = tmp_path / "train.txt"
    raw.write_bytes((TEXT + "\n").encode() * 40)  # 600 examples over 640 lines
    criteo.prepare("kaggle", raw, "one")
    monkeypatch.setattr(criteo, "BLOCK_BYTES", 2048)  # about 8 lines a block
    criteo.prepare("kaggle", raw, "blocks")
    criteo.prepare("kaggle", raw, "parallel", workers=2)
    one = sources.ctr("one")
    for name in ("blocks", "parallel"):
        other = sources.ctr(name)
        np.testing.assert_array_equal(other.rows(0, 600).dense, one.rows(0, 600).dense)
        for f in one.fields:
            np.testing.assert_array_equal(other.rows(0, 600).ids[f.name], one.rows(0, 600).ids[f.name])
        assert other.splits == one.splits
    raw.write_bytes((TEXT + "\n").encode() * 30 + b"1\t2\n" + (TEXT + "\n").encode())
    with pytest.raises(DataFormatError, match=re.escape("train.txt, line 481: expected 40 tab-separated fields")):
        criteo.prepare("kaggle", raw, "parallel", workers=2)
    assert sources.ctr("parallel").splits == one.splits  # the failed run left the earlier copy alone
