"""MovieLens and Amazon Books rating files in their real formats: user histories, the
leave-one-out split, the 5-core filter and the CTR view, checked exactly on hand-made data."""

import re
import zipfile

import numpy as np
import pytest

from sweeps.data import prepared, ratings, sources
from sweeps.data.rawtext import ArchiveError, DataFormatError

# (user, movie, rating, time): duplicate timestamps (user 1: movies 10 and 11 at t=100;
# user 3: 11 and 12 at t=40) keep their order in the file.
ROWS = [(1, 10, 5, 100), (1, 11, 3, 100), (2, 10, 4, 50), (2, 12, 2, 60), (2, 13, 5, 70),
        (1, 12, 4, 90), (3, 14, 4, 20), (3, 10, 1, 30), (3, 11, 5, 40), (3, 12, 5, 40)]


def ml_text(sep, crlf_rows=(2,)):
    return "".join(sep.join(map(str, r)) + ("\r\n" if i in crlf_rows else "\n") for i, r in enumerate(ROWS))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(prepared.ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def ml1m(tmp_path):
    raw = tmp_path / "ratings.dat"
    raw.write_text(ml_text("::"))
    ratings.prepare("ml-1m", raw, "ml-1m")
    return sources.seq("ml-1m")


def test_histories_by_time_users_by_arrival(tmp_path, cache):
    data = ml1m(tmp_path)
    # users arrive 3 (t=20), 2 (t=50), 1 (t=90); movie ids are kept.
    assert data.prepared.meta["seq"] == {"n_items": 15, "max_length": 4}
    assert data.items.tolist() == [14, 10, 11, 12, 10, 12, 13, 12, 10, 11]
    assert data.ts.tolist() == [20, 30, 40, 40, 50, 60, 70, 90, 100, 100]
    assert data.offsets.tolist() == [0, 4, 7, 10]
    assert data.prepared.array("seq/user_ids").tolist() == [3, 2, 1]


def test_leave_one_out_split(tmp_path, cache):
    s = ml1m(tmp_path).split(3, max_len=10, min_len=3)
    assert s.n_items == 15
    assert s.train_ids.tolist() == [[14, 10], [10, 0], [12, 0]]
    assert s.train_ts.tolist() == [[20, 30], [50, 0], [90, 0]]
    assert s.train_length.tolist() == [2, 1, 1]
    assert s.valid.target.tolist() == [11, 12, 10]
    assert s.valid.history_ids.tolist() == [[14, 10], [10, 0], [12, 0]]
    assert s.test.target.tolist() == [12, 13, 11]
    assert s.test.history_ids.tolist() == [[14, 10, 11], [10, 12, 0], [12, 10, 0]]
    assert s.test.history_ts.tolist() == [[20, 30, 40], [50, 60, 0], [90, 100, 0]]
    assert s.train_ts.dtype == np.int32 and s.test.history_ids.dtype == np.int32


def test_seq_len_keeps_the_latest_and_budgets_are_prefixes(tmp_path, cache):
    data = ml1m(tmp_path)
    s = data.split(3, max_len=3, min_len=3)
    assert s.train_ids.tolist() == [[10], [10], [12]]  # user 3 keeps 10, 11, 12
    assert s.test.target.tolist() == [12, 13, 11]
    assert data.n_users(4) == 1 and data.n_users(3) == 3
    assert data.users(1, 10, 4).ids.tolist() == [[14, 10, 11, 12]]  # min_len skips users 2 and 1
    small, big = data.users(2, 10, 3), data.users(3, 10, 3)
    np.testing.assert_array_equal(small.ids, big.ids[:2])


def test_ctr_view(tmp_path, cache):
    ml1m(tmp_path)
    c = sources.ctr("ml-1m")
    rows = c.rows(0, 10)  # all ratings by time, ties in file order
    assert rows.ids["user"].tolist() == [3, 3, 3, 3, 2, 2, 2, 1, 1, 1]
    assert rows.ids["item"].tolist() == [14, 10, 11, 12, 10, 12, 13, 12, 10, 11]
    assert rows.label.tolist() == [1, 0, 1, 1, 1, 0, 1, 1, 1, 0]  # rating >= 4
    user_prior = [0, 1, 2, 3, 0, 1, 2, 0, 1, 2]
    item_prior = [0, 0, 0, 0, 1, 1, 0, 2, 2, 1]
    np.testing.assert_array_equal(rows.dense, np.log1p(np.array([user_prior, item_prior], float).T).astype(np.float32))
    assert [(f.name, f.cardinality) for f in c.fields] == [("user", 4), ("item", 15)]
    assert c.splits == {"train": (0, 8), "valid": (8, 9), "test": (9, 10)}
    assert c.valid_set.ids["item"].tolist() == [10] and c.eval_set.ids["item"].tolist() == [11]  # split rows 8 and 9


def same_arrays(a, b):
    for key in ("seq/items", "seq/ts", "seq/offsets", "ctr/dense", "ctr/label", "ctr/ids/item"):
        np.testing.assert_array_equal(a.array(key), b.array(key))


def test_every_movielens_format_gives_the_same_arrays(tmp_path, cache):
    ml1m(tmp_path)
    (tmp_path / "u.data").write_text(ml_text("\t"))
    ratings.prepare("ml-100k", tmp_path / "u.data", "ml-100k")
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\r\n" + ml_text(",", crlf_rows=range(10)))
    ratings.prepare("ml-20m", tmp_path / "ratings.csv", "ml-20m")
    with zipfile.ZipFile(tmp_path / "ml-1m.zip", "w") as z:
        z.writestr("ml-1m/movies.dat", "1::Toy Story (1995)::Animation\n")
        z.writestr("ml-1m/ratings.dat", ml_text("::"))
    ratings.prepare("ml-1m", tmp_path / "ml-1m.zip", "from-zip")
    for name in ("ml-100k", "ml-20m", "from-zip"):
        same_arrays(prepared.open_prepared("ml-1m"), prepared.open_prepared(name))


def test_half_star_ratings(tmp_path, cache):
    stars = ["3.5", "4.0", "4.5", "0.5", "5", "4", "3.9", "10.0", "1", "4.25"]
    (tmp_path / "ratings.csv").write_text("".join(f"1,{i + 1},{r},{10 + i}\n" for i, r in enumerate(stars)))
    ratings.prepare("ml-20m", tmp_path / "ratings.csv", "ml-20m")
    assert sources.ctr("ml-20m").rows(0, 10).label.tolist() == [0, 1, 1, 0, 1, 1, 0, 1, 0, 1]


def books_text():
    """U1-U4 rate B001-B005 and A999; U5 rates B001-B005; U6 rates B001-B003 and A999.
    A999 has 5 ratings in the file, but one is U6's, who has only 4."""
    rows = []
    for u in range(1, 7):
        items = ["B001", "B002", "B003", "B004", "B005", "A999"][: 6 if u <= 4 else 5] if u <= 5 else ["B001", "B002", "B003", "A999"]
        rows += [(f"U{u}", item) for item in items]
    return "".join(f"{u},{i},{4.0 if n % 2 else 2.0},{1000 + 10 * n}\n" for n, (u, i) in enumerate(rows))


@pytest.mark.parametrize(
    "mode, items, lengths",
    [
        # one pass: A999 keeps its 4 remaining ratings (counted 5 on the whole file) and is item 1
        ("reference", [2, 3, 4, 5, 6, 1], [6, 6, 6, 6, 5]),
        # until stable: A999 falls to 4 ratings and is removed too
        ("iterative", [1, 2, 3, 4, 5], [5, 5, 5, 5, 5]),
    ],
)
def test_books_5_core(tmp_path, cache, mode, items, lengths):
    (tmp_path / "ratings_Books.csv").write_text(books_text())
    ratings.prepare("books", tmp_path / "ratings_Books.csv", "books", core_mode=mode)
    data = sources.seq("books")
    assert np.diff(data.offsets).tolist() == lengths  # U6 is gone either way
    assert data.items[: len(items)].tolist() == items  # U1's history, in time order
    assert data.prepared.array("seq/user_ids").tolist() == [0, 1, 2, 3, 4]
    assert data.n_items == len(items) + 1
    assert data.prepared.meta["counts"]["items"] == len(items)


@pytest.mark.parametrize(
    "text, where",
    [
        ("1::10::5::100\n1::11::3\n", "line 2: expected 4 '::'-separated fields"),
        ("1::10::5::100\n1:11::3::100\n", "line 2: expected 4 '::'-separated fields"),
        ("1::10::5::100\n\n1::11::3::1e9\n", "line 3, field 4 (timestamp): expected an integer, got '1e9'"),
        ("1::10::5::100\n1::0::3::100\n", "line 2, field 2 (item): expected an id in [1, 2^31)"),
        ("1::10::five::100\n", "line 1, field 3 (rating): expected a number, got 'five'"),
        ("1::10::5::-100\n", "line 1, field 4 (timestamp): expected a Unix time in seconds"),
    ],
)
def test_malformed_ratings(tmp_path, cache, text, where):
    (tmp_path / "ratings.dat").write_text(text)
    with pytest.raises(DataFormatError, match=re.escape(f"ratings.dat, {where}")):
        ratings.prepare("ml-1m", tmp_path / "ratings.dat", "ml-1m")
    assert not prepared.is_prepared("ml-1m")


def test_truncated_zip(tmp_path, cache):
    with zipfile.ZipFile(tmp_path / "ml-1m.zip", "w") as z:
        z.writestr("ml-1m/ratings.dat", ml_text("::") * 100)
    data = (tmp_path / "ml-1m.zip").read_bytes()
    (tmp_path / "ml-1m.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match="ml-1m.zip: truncated or corrupt archive"):
        ratings.prepare("ml-1m", tmp_path / "ml-1m.zip", "ml-1m")
