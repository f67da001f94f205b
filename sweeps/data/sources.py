"""Real data sets by name: how each is prepared and fetched, and the sources trials read.

A spec names a data set in ``data.name``: the synthetic worlds (``ctr_world``,
``seq_world``) or a prepared real one: a canonical name below, or the name given with
``recscale data prepare SOURCE --from PATH --as NAME``. The CTR task reads ``RealCTR``
(the same interface as ``CTRWorld``: ``fields``, ``n_dense``, ``train(n)``, ``eval_set``,
``valid_set``),
the retrieval task ``RealSeq`` (``split(...)`` gives the same ``Split`` as the synthetic
sequential world).

Data budgets are prefixes: ``data.examples`` of a CTR trial is the first N training rows
(in time order); of a retrieval trial the first N users (by time of first rating) with at
least ``data.min_len`` ratings.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sweeps.data import criteo, prepared, ratings
from sweeps.data.ctr_world import Batch, Field
from sweeps.errors import InputError


@dataclasses.dataclass(frozen=True)
class Source:
    name: str
    kinds: tuple[str, ...]  # "ctr" and/or "seq"
    about: str
    urls: tuple[str, ...]  # the canonical download(s)
    md5: tuple[str | None, ...]  # the publisher's checksum of each url, where one is known
    prepare: Callable[..., Path]
    options: tuple[str, ...]  # prepare options it accepts


_ML = "https://files.grouplens.org/datasets/movielens/"
_TB = "https://storage.googleapis.com/criteo-cail-datasets/day_{}.gz"


def _ratings(source):
    return lambda path, name, **kw: ratings.prepare(source, path, name, **kw)


def _criteo(variant):
    return lambda path, name, **kw: criteo.prepare(variant, path, name, **kw)


_RATING_OPTIONS = ("core", "core_mode", "eval_rows")
# md5 of the MovieLens zips as GroupLens publishes them (also used by several dataset
# loaders); Amazon and Criteo publish no checksum, so their downloads are unverified
# unless the user passes one.
SOURCES = {
    s.name: s
    for s in (
        Source("ml-100k", ("seq", "ctr"), "MovieLens 100K (u.data)", (_ML + "ml-100k.zip",),
               ("0e33842e24a9c977be4e0107933c0723",), _ratings("ml-100k"), _RATING_OPTIONS),
        Source("ml-1m", ("seq", "ctr"), "MovieLens 1M (ratings.dat)", (_ML + "ml-1m.zip",),
               ("c4d9eecfca2ab87c1945afe126590906",), _ratings("ml-1m"), _RATING_OPTIONS),
        Source("ml-20m", ("seq", "ctr"), "MovieLens 20M (ratings.csv)", (_ML + "ml-20m.zip",),
               ("cd245b17a1ae2cc31bb14903e1204af3",), _ratings("ml-20m"), _RATING_OPTIONS),
        Source("books", ("seq", "ctr"), "Amazon Books ratings (ratings_Books.csv), 5-core",
               ("http://snap.stanford.edu/data/amazon/productGraph/categoryFiles/ratings_Books.csv",), (None,),
               _ratings("books"), _RATING_OPTIONS),
        Source("criteo-kaggle", ("ctr",), "Criteo Kaggle Display Advertising Challenge (train.txt)",
               ("https://go.criteo.net/criteo-research-kaggle-display-advertising-challenge-dataset.tar.gz",), (None,),
               _criteo("kaggle"), ("table_size", "ids", "eval_rows", "workers")),
        Source("criteo-terabyte", ("ctr",), "Criteo Terabyte click logs (day_0 ... day_23)",
               tuple(_TB.format(d) for d in range(24)), (None,) * 24, _criteo("terabyte"), ("table_size", "ids", "eval_rows", "workers")),
    )
}
SYNTHETIC = {"ctr": "ctr_world", "seq": "seq_world"}
_KIND_WORDS = {"ctr": "a CTR view", "seq": "user histories"}


def source(name: str) -> Source:
    if name not in SOURCES:
        raise InputError(f"unknown data set {name!r}; known: {', '.join(SOURCES)}")
    return SOURCES[name]


def _available(kind: str) -> str:
    names = [SYNTHETIC[kind], *(n for n, s in SOURCES.items() if kind in s.kinds)]
    names += [p.name for p in prepared.listing()[0] if p.name not in names and kind in p.meta.get("kinds", ())]
    return ", ".join(names)


def open_kind(name: str, kind: str) -> prepared.Prepared:
    """The prepared data set ``name`` with a ``kind`` view, or an error saying what to run."""
    try:
        p = prepared.open_prepared(name)
    except prepared.NotPrepared as e:
        if name in SOURCES:
            raise prepared.NotPrepared(
                f"{e}; run `recscale data prepare {name} --from PATH` with the downloaded file "
                f"(`recscale data download {name}` fetches it)"
            ) from None
        raise InputError(f"unknown data set {name!r}; available: {_available(kind)}") from None
    if kind not in p.meta.get("kinds", ()):
        raise InputError(f"data set {name!r} ({p.meta.get('source')}) has no {_KIND_WORDS[kind]}")
    return p


def name_problem(name: str, kind: str) -> str | None:
    """For config validation: why ``name`` cannot feed a ``kind`` trial, or None."""
    if name == SYNTHETIC[kind]:
        return None
    try:
        open_kind(name, kind)
    except InputError as e:
        return str(e)
    return None


def budget_problem(name: str, kind: str, examples: int, min_len: int = 0) -> str | None:
    """For config validation: why a budget of ``examples`` does not fit ``name``, or None
    (also None when the name itself is the problem: ``name_problem`` reports that)."""
    if name == SYNTHETIC[kind] or name_problem(name, kind):
        return None
    if kind == "ctr":
        have = ctr(name).n_train
        what = "training rows"
    else:
        if min_len < 3:
            return f"min_len must be >= 3 on a real data set (a training, a validation and a test item), got {min_len}"
        have = seq(name).n_users(min_len)
        what = f"users with at least {min_len} ratings"
    if examples > have:
        return f"examples {examples:,} exceeds the {have:,} {what} of {name!r}"
    return None


def _stamp(name: str) -> tuple:
    p = prepared.open_prepared(name)
    return str(p.path), p.meta.get("prepared_at"), (p.path / "COMPLETE").stat().st_mtime_ns


def ctr(name: str) -> RealCTR:
    return _ctr(name, _stamp(name))


def seq(name: str) -> RealSeq:
    return _seq(name, _stamp(name))


@functools.lru_cache(maxsize=8)
def _ctr(name: str, stamp: tuple) -> RealCTR:
    return RealCTR(open_kind(name, "ctr"))


@functools.lru_cache(maxsize=8)
def _seq(name: str, stamp: tuple) -> RealSeq:
    return RealSeq(open_kind(name, "seq"))


class RealCTR:
    """A prepared CTR data set, memory-mapped: ``train(n)`` and ``eval_set`` are views, so
    the trainer's per-chunk slices read only those rows from disk. There is no teacher:
    ``prob`` is the label (NE against it is NE on labels) and there is no floor."""

    def __init__(self, p: prepared.Prepared):
        self.prepared = p
        m = p.meta["ctr"]
        self.fields = tuple(Field(f["name"], int(f["cardinality"])) for f in m["fields"])
        self.n_dense = len(m["dense"])
        self.splits = {k: tuple(v) for k, v in m["splits"].items()}
        self.n_train = self.splits["train"][1] - self.splits["train"][0]
        self._eval = tuple(m["eval"])
        self._dense = np.asarray(p.array("ctr/dense"))
        self._label = np.asarray(p.array("ctr/label"))
        self._ids = {f.name: np.asarray(p.array(f"ctr/ids/{f.name}")) for f in self.fields}

    def rows(self, start: int, stop: int) -> Batch:
        label = self._label[start:stop]
        return Batch(self._dense[start:stop], {k: v[start:stop] for k, v in self._ids.items()}, label, label)

    def train(self, n: int) -> Batch:
        if n > self.n_train:
            raise InputError(f"{self.prepared.name}: a budget of {n:,} examples exceeds its {self.n_train:,} training rows")
        return self.rows(self.splits["train"][0], self.splits["train"][0] + n)

    @functools.cached_property
    def eval_set(self) -> Batch:
        return self.rows(*self._eval)

    @functools.cached_property
    def valid_set(self) -> Batch | None:
        """The first rows of the prepared validation split, as many as the eval set has (both
        preparers cut one from the evaluation period, disjoint from training and the test
        rows); None for a data set prepared without one."""
        if "valid" not in self.splits:
            return None
        start, stop = self.splits["valid"]
        return self.rows(start, min(stop, start + self._eval[1] - self._eval[0]))

    def describe(self) -> str:
        return describe(self.prepared)


class RealSeq:
    """A prepared sequential data set: users in order of arrival, each history by time."""

    def __init__(self, p: prepared.Prepared):
        self.prepared = p
        self.items = np.asarray(p.array("seq/items"))
        self.ts = np.asarray(p.array("seq/ts"))
        self.offsets = np.array(p.array("seq/offsets"))
        self.lengths = np.diff(self.offsets)
        self.n_items = int(p.meta["seq"]["n_items"])

    def n_users(self, min_len: int) -> int:
        return int((self.lengths >= min_len).sum())

    def users(self, n: int, max_len: int, min_len: int):
        """The first ``n`` users with at least ``min_len`` ratings, each keeping their most
        recent ``max_len`` ratings; right-padded like the synthetic world's ``SeqData``
        (no session starts and no oracle: those arrays are zero)."""
        # Imported here, not above: seq_world imports JAX, which `recscale data` does not need.
        from sweeps.data.seq_world import SeqData

        chosen = np.flatnonzero(self.lengths >= min_len)[:n]
        if len(chosen) < n:
            raise InputError(f"{self.prepared.name}: {n:,} users asked for, {len(chosen):,} have >= {min_len} ratings")
        length = np.minimum(self.lengths[chosen], max_len)
        T = int(length.max(initial=1))
        pos = np.arange(T)
        real = pos < length[:, None]
        idx = np.where(real, (self.offsets[chosen + 1] - length)[:, None] + pos, 0)
        ids = np.where(real, self.items[idx], 0).astype(np.int32)
        ts = np.where(real, self.ts[idx], 0).astype(np.int32)
        zeros = np.zeros(ids.shape, np.int32)
        return SeqData(ids, ts, length.astype(np.int32), zeros.astype(bool), zeros.astype(np.float32), zeros, self.n_items)

    def split(self, n: int, max_len: int, min_len: int):
        """The leave-one-out ``Split`` of ``users(n, max_len, min_len)``."""
        from sweeps.data.seq_world import leave_one_out

        return leave_one_out(self.users(n, max_len, min_len))

    def describe(self) -> str:
        return describe(self.prepared)


def describe(p: prepared.Prepared) -> str:
    """What a trial's record says about the data it read (a trial id covers only the name)."""
    m = p.meta
    return f"data: {p.name} ({m['source']}, prepared {m['prepared_at']}, options {m['options']})"
