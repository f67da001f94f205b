"""Rating logs (MovieLens 100K / 1M / 20M, Amazon Books) as user histories and a CTR view.

Raw formats (one rating per line: user, item, rating, Unix time in seconds):

* ``ml-100k``: ``u.data``, tab-separated;
* ``ml-1m``: ``ratings.dat``, ``::``-separated;
* ``ml-20m``: ``ratings.csv``, comma-separated, a header line ``userId,movieId,rating,timestamp``;
* ``books``: Amazon's ``ratings_Books.csv``, comma-separated, no header, string ids
  (user, ASIN) and ratings such as ``4.0``.

Preparation follows the HSTU reference (generative-recommenders, ``preprocessor.py``):

* MovieLens keeps its movie ids (ML-1M: 3,706 rated movies, largest id 3,952), so an
  item's id is its movie id and the model has ``max id + 1`` rows (row 0 is padding).
* Books keeps ratings whose user and item each have at least 5 ratings (counted on the
  whole file), then users left with at least 5 (``core_mode="reference"``, one pass, as
  the reference; it reports 695,762 items). ``core_mode="iterative"`` repeats the filter
  until every user and item has at least ``core`` ratings (the strict k-core). Items
  are then numbered 1..n in the sorted order of their ASINs, users 0..u-1 likewise.
* A user's history is sorted by time; ratings with the same timestamp keep their order
  in the file (the reference's unstable sort leaves that order undefined).

Users are stored in the order of their first rating (ties: smaller user id first), so a
budget of N users is the first N users to arrive: a prefix of the time-ordered stream.

The CTR view (for DLRM / Wide & Deep): every rating, sorted by time (ties in file
order), with label ``rating >= 4``, sparse fields ``user`` and ``item`` and two dense
features known before the rating: ``log(1 + earlier ratings by this user)`` and
``log(1 + earlier ratings of this item)``. Its split is by time: the first 80% of the
stream trains, the next 10% validates, the last 10% tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sweeps.data import rawtext
from sweeps.data.prepared import Writer
from sweeps.errors import InputError

COLUMNS = ("user", "item", "rating", "timestamp")
TS_LIMIT = 2**31  # timestamps are int32 seconds in a trial (until 2038)
DEFAULT_EVAL_ROWS = 1 << 20


@dataclasses.dataclass(frozen=True)
class RatingsFormat:
    file: str
    sep: bytes
    string_ids: bool = False
    header: bytes | None = None
    core: int = 0  # minimum ratings per user and per item (0: no filter)


FORMATS = {
    "ml-100k": RatingsFormat("u.data", b"\t"),
    "ml-1m": RatingsFormat("ratings.dat", b"::"),
    "ml-20m": RatingsFormat("ratings.csv", b",", header=b"userId,movieId,rating,timestamp"),
    "books": RatingsFormat("ratings_Books.csv", b",", string_ids=True, core=5),
}


@dataclasses.dataclass(frozen=True)
class Ratings:
    """Parsed ratings in file order (ids raw: int64, or bytes for string ids)."""

    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    ts: np.ndarray


def parse(source: str, fmt: RatingsFormat, path: Path) -> tuple[Ratings, rawtext.RawFile]:
    path = Path(path)
    files = rawtext.find_files(path, lambda n: n == fmt.file or (path.is_file() and n == path.name))
    if len(files) != 1:
        raise InputError(f"{path}: expected {source}'s {fmt.file} (or the archive holding it), found {len(files)} candidates")
    raw = files[0]
    parts = []
    sep = b"\t" if fmt.sep == b"::" else fmt.sep  # two-byte '::' becomes one byte; a lone ':' then fails to parse
    for first, block in rawtext.blocks(raw):
        if fmt.sep == b"::":
            block = block.replace(b"::", b"\t")
        if first == 1 and fmt.header and block.split(b"\n", 1)[0].rstrip(b"\r") == fmt.header:
            block = block[block.index(b"\n") :]  # keep the newline: line numbers stay right
        f = rawtext.split(raw.name, first, block, sep, COLUMNS, "'::'" if fmt.sep == b"::" else None)
        if fmt.string_ids:
            user, item = f.strings(0), f.strings(1)
        else:
            user, item = f.ints(0), f.ints(1)
            for col, ids in ((0, user), (1, item)):
                if (ids < 1).any() or (ids >= TS_LIMIT).any():
                    f.fail(int(np.argmax((ids < 1) | (ids >= TS_LIMIT))), col, "expected an id in [1, 2^31)")
        ts = f.ints(3)
        if ((ts < 0) | (ts >= TS_LIMIT)).any():
            f.fail(int(np.argmax((ts < 0) | (ts >= TS_LIMIT))), 3, "expected a Unix time in seconds in [0, 2^31)")
        parts.append(Ratings(user, item, f.decimals(2).astype(np.float32), ts))
    if not parts or sum(len(p.ts) for p in parts) == 0:
        raise InputError(f"{raw.name}: no ratings")
    return Ratings(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("user", "item", "rating", "ts"))), raw


def k_core(user: np.ndarray, item: np.ndarray, k: int, iterative: bool) -> np.ndarray:
    """Rows kept by the k-core filter (``user``/``item``: dense codes 0..n-1).

    Not iterative (the reference): keep rows whose user and item each have >= k rows in
    the whole data, then rows of users left with >= k. Iterative: repeat until every
    remaining user and item has >= k rows."""
    keep = np.ones(len(user), bool)
    if k <= 1:
        return keep
    while True:
        u_count = np.bincount(user[keep], minlength=user.max() + 1)
        i_count = np.bincount(item[keep], minlength=item.max() + 1)
        new = keep & (u_count[user] >= k) & (i_count[item] >= k)
        if not iterative:
            return new & (np.bincount(user[new], minlength=user.max() + 1)[user] >= k)
        if (new == keep).all():
            return keep
        keep = new


def _prior_counts(key: np.ndarray) -> np.ndarray:
    """For each row (in stream order), how many earlier rows have the same key."""
    n = len(key)
    idx = np.argsort(key, kind="stable")
    sk = key[idx]
    first = np.concatenate([[True], sk[1:] != sk[:-1]])
    group_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    out = np.empty(n, np.int64)
    out[idx] = np.arange(n) - group_start
    return out


def prepare(
    source: str, path: Path, name: str, *, core: int | None = None, core_mode: str = "reference",
    eval_rows: int = DEFAULT_EVAL_ROWS, base: Path | None = None, progress: Callable[[str], None] | None = None,
) -> Path:
    fmt = FORMATS[source]
    core = fmt.core if core is None else core
    if core_mode not in ("reference", "iterative"):
        raise InputError(f"core mode must be 'reference' or 'iterative', got {core_mode!r}")
    r, raw = parse(source, fmt, path)
    if progress:
        progress(f"{raw.name}: {len(r.ts):,} ratings")
    user_raw, user = np.unique(r.user, return_inverse=True)
    item_raw, item = np.unique(r.item, return_inverse=True)
    keep = k_core(user, item, core, core_mode == "iterative")
    if not keep.any():
        raise InputError(f"{raw.name}: no ratings left after the {core}-core filter")
    r = Ratings(*(a[keep] for a in (r.user, r.item, r.rating, r.ts)))
    user_raw, user = np.unique(r.user, return_inverse=True)
    item_raw, item = np.unique(r.item, return_inverse=True)
    user_id = user if fmt.string_ids else user_raw[user]  # books: codes in sorted order; ML: raw ids
    item_id = item + 1 if fmt.string_ids else item_raw[item]
    n = len(r.ts)
    order = np.arange(n)

    # Users by first rating (ties: smaller id); histories by time, ties in file order.
    first_ts = np.full(len(user_raw), np.iinfo(np.int64).max)
    np.minimum.at(first_ts, user, r.ts)
    codes_by_arrival = np.lexsort((np.arange(len(user_raw)), first_ts))
    rank = np.empty_like(codes_by_arrival)
    rank[codes_by_arrival] = np.arange(len(rank))
    seq = np.lexsort((order, r.ts, rank[user]))
    lengths = np.bincount(rank[user], minlength=len(user_raw))
    stream = np.lexsort((order, r.ts))
    label = (r.rating[stream] >= 4).astype(np.float32)
    dense = np.log1p(np.stack([_prior_counts(user[stream]), _prior_counts(item[stream])], 1)).astype(np.float32)
    n_train, n_valid = int(n * 0.8), int(n * 0.1)
    test = [n_train + n_valid, n]
    if n_train == 0 or n_valid == 0 or test[0] == n:
        raise InputError(f"{raw.name}: too few ratings ({n}) for a time split into training, validation and test")
    user_ids = (np.arange(len(user_raw)) if fmt.string_ids else user_raw)[codes_by_arrival]

    with Writer(name, base) as w:
        w.append("seq/items", item_id[seq].astype(np.int32))
        w.append("seq/ts", r.ts[seq].astype(np.int64))
        w.append("seq/offsets", np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
        w.append("seq/user_ids", user_ids.astype(np.int64))
        w.append("ctr/dense", dense)
        w.append("ctr/label", label)
        w.append("ctr/ids/user", user_id[stream].astype(np.int32))
        w.append("ctr/ids/item", item_id[stream].astype(np.int32))
        meta = {
            "source": source,
            "kinds": ["seq", "ctr"],
            "raw": [raw.describe()],
            "options": {"core": core, "core_mode": core_mode, "eval_rows": eval_rows},
            "counts": {"ratings": n, "users": len(user_raw), "items": len(item_raw), "positives": int(label.sum())},
            "seq": {"n_items": int(item_id.max()) + 1, "max_length": int(lengths.max())},
            "ctr": {
                "fields": [
                    {"name": "user", "cardinality": int(user_id.max()) + 1},
                    {"name": "item", "cardinality": int(item_id.max()) + 1},
                ],
                "dense": ["log1p_user_prior", "log1p_item_prior"],
                "splits": {"train": [0, n_train], "valid": [n_train, test[0]], "test": test},
                "eval": [test[0], min(n, test[0] + eval_rows)],
            },
        }
        return w.commit(meta)
