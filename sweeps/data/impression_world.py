"""Impressions with clicks, a CTR view of the sequential world: order and time carry signal.

Each user is a user of ``SeqWorld`` (``sweeps.data.seq_world``): its time-ordered stream of
``length`` items, drawn from the latent taste (base taste, interests that return after
sessions, drift, continuity with the previous item), are the impressions the user is
shown, with their timestamps. Every user has the same number of impressions, so a
generative model's sequences need no padding. Each impression gets a click, drawn
Bernoulli from a known probability ``p = sigmoid(logit)``:

``logit = base + static + taste + session + return + continuity`` where, with ``v`` the
CTR world's item factors (``item_f``) and ``.`` a dot product,

* ``static``: per-id biases of the item, the user's segment and the context (hour of the
  week of the timestamp) and a context x category cross (the CTR world's tables) -- what
  an id-based model learns from one impression;
* ``taste``: ``w_taste * u . v_i`` with ``u`` the user's base taste in the sequential world,
  visible only through the items the user is shown (an unordered bag suffices);
* ``session``: ``w_session * mean(v of the items clicked earlier in this session) . v_i``;
* ``return``: ``w_return * mean(v of the items clicked in the session return_period
  sessions back) . v_i`` (the sequential world's interests return after that many
  sessions);
* ``continuity``: ``w_continuity * v_prev . v_i`` with the previous impression of the same
  session.

The last three need the order of the impressions, the clicks (action tokens) and the
session boundaries, which only the time gaps reveal (minutes inside a session, about a
day between). ``sweeps.eval.impression_signal`` measures the mix. With the defaults
(two blocks, 65k impressions): the logit's variance is 20% static, 16% taste, 48% the
ordered parts together (session 19%, return 7%, continuity 7%, with covariances); the
expected NE of the teacher (the floor) is 0.655, of an oracle that knows the static part,
the exact taste and the unordered bags of the last 16 impressed and clicked items 0.782,
and of one with the static part and the taste only 0.840. The CTR is about 0.35.

The floor. ``prob`` is the exact click probability; it conditions on the item, segment,
context, the user's base taste, the user's earlier impressions and clicks and the true
session boundaries. Everything but the base taste and the boundaries is in a model's
input; the taste is revealed by the history (the items are draws from it) and the
boundaries by the gaps (a one-hour threshold recovers 99.9% of them), so the floor NE (``expected_ne(p, p)`` on the eval set) is a
bound no model beats in expectation, reachable only in the limit of a long history.

Splits. Training users are the sequential world's users ``0, 1, ...``; a budget of ``D``
impressions is the first ``D`` of the user-major stream (whole users, then a prefix of
the next). Evaluation users are a disjoint, fixed set (blocks from ``EVAL_BLOCK``): their
last ``eval_tail`` impressions are scored, the earlier ones are their history. Validation
users (``valid_users``, 256 by default: 8,192 scored impressions) are another disjoint set
(blocks from ``VALID_BLOCK``), scored the same way: what per-point selection chooses on,
never reported as a trial's score. Training would reach the evaluation blocks only past
2^28 users.

Determinism, by construction: a block of ``BLOCK`` users is a pure function of (seed,
block): the sequential world's block (itself deterministic) and ``default_rng([seed,
IMP_TAG, block])`` for the clicks and segments. The dot products are exact (operands on
the grid of ``seq_world.on_grid``, integer products and sums in float64), so no BLAS,
thread count or summation order changes a bit.

Speed. Blocks are generated side by side on threads (``blocks.map_blocks``, one per
core or ``RECSCALE_DATA_THREADS``), each with NumPy's OpenBLAS on one thread; the bits
depend on neither. 1M training impressions (``train(1_000_000)``, 31 blocks), measured on
the quiet 2-core machine, cold processes, two rounds: 22.0-24.0 s single-threaded before,
14.7-15.4 s on 2 threads after (20.8-22.7 s on 1), with the same sha256 of every array; two
processes generating side by side run 1.9x as fast as one, so the work scales with cores.
A step of a block (256 users) is a ``256 x 97 x 1000`` exact float64 product (1.7 ms),
the exponential over the 1000 items (0.7 ms), the two-level draw (0.4 ms) and the masking
and bookkeeping (about 1 ms): the full softmax over the items is the floor of this design,
about 4.5 ms per 256 impressions per core.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from sweeps.data.blocks import map_blocks
from sweeps.data.ctr_world import Batch, Field, WorldConfig
from sweeps.data.seq_world import BLOCK, GRID_BITS, SeqConfig, SeqWorld, on_grid

IMP_TAG = 4_242
EVAL_BLOCK = 1 << 20  # eval users are blocks EVAL_BLOCK, EVAL_BLOCK + 1, ... (disjoint from training)
VALID_BLOCK = 1 << 21  # validation users: blocks VALID_BLOCK, ... (disjoint from both)
_UNIT = 2.0 ** (-2 * GRID_BITS)
_HOUR = 3600


@dataclasses.dataclass(frozen=True)
class ImpressionConfig:
    seed: int = 0
    length: int = 128  # impressions per user
    n_segments: int = 64
    bag_len: int = 16  # the CTR view's bags: the last ``bag_len`` impressed / clicked items
    eval_users: int = 512
    valid_users: int = 256
    eval_tail: int = 32
    base_logit: float = -3.2
    w_taste: float = 0.8
    w_session: float = 0.8
    w_return: float = 0.6
    w_continuity: float = 0.4
    segment_scale: float = 0.3

    def __post_init__(self):
        if not 0 < self.eval_tail < self.length:
            raise ValueError("need 0 < eval_tail < length")
        if self.eval_users % BLOCK or self.valid_users % BLOCK:
            raise ValueError(f"eval_users and valid_users must be multiples of {BLOCK}")
        if self.eval_users // BLOCK > VALID_BLOCK - EVAL_BLOCK:
            raise ValueError("eval_users would reach the validation blocks")

    @property
    def seq(self) -> SeqConfig:
        return SeqConfig(seed=self.seed, world=WorldConfig(seed=self.seed), max_len=self.length, min_len=self.length)


@dataclasses.dataclass(frozen=True)
class Users:
    """Users' impression streams, ``[U, T]`` (``segment`` ``[U]``): ``item`` 0-based world
    items, ``ts`` int32 seconds, ``click`` 0/1, ``prob`` the exact click probability,
    ``context`` hour of the week, ``category``; ``parts`` ``[U, T, 6]`` the logit's terms
    (static, taste, session, return, continuity, base) in that order."""

    item: np.ndarray
    ts: np.ndarray
    click: np.ndarray
    prob: np.ndarray
    context: np.ndarray
    category: np.ndarray
    segment: np.ndarray
    parts: np.ndarray

    def __len__(self) -> int:
        return len(self.segment)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self))

    def head(self, n: int) -> Users:
        return Users(*(a[:n] for a in self.arrays()))


PART_NAMES = ("static", "taste", "session", "return", "continuity", "base")
ORDERED_PARTS = ("session", "return", "continuity")


def _dot(a_grid: np.ndarray, b_grid: np.ndarray) -> np.ndarray:
    """Exact dot product of grid operands (integer float64), in logit units."""
    return (a_grid * b_grid).sum(-1) * _UNIT


class ImpressionWorld:
    def __init__(self, cfg: ImpressionConfig = ImpressionConfig()):
        self.cfg = cfg
        self.seq = SeqWorld(cfg.seq)
        self.ctr = self.seq.ctr
        self.n_items = self.ctr.cfg.n_items
        self.v_grid_NxR = on_grid(self.ctr.item_f)
        rng = np.random.default_rng([cfg.seed, IMP_TAG])
        self.segment_bias = (rng.standard_normal(cfg.n_segments) * cfg.segment_scale).astype(np.float32)
        self._train: Users | None = None

    def block(self, b: int) -> Users:
        """Block ``b``'s users: a pure function of (seed, b)."""
        return map_blocks(self._block, [b])[0]

    def _block(self, b: int) -> Users:
        c, w = self.cfg, self.ctr
        seq = self.seq._block(b)
        base_UxR = self.seq._init_users(b)[0]
        rng = np.random.default_rng([c.seed, IMP_TAG, b])
        segment_U = rng.integers(0, c.n_segments, BLOCK).astype(np.int32)
        u_click_UxT = rng.random((BLOCK, c.length))
        U, T, P = BLOCK, c.length, c.seq.return_period
        item_UxT = seq.ids[:, :T].astype(np.int32) - 1
        ts_UxT = seq.ts[:, :T]
        new_UxT = seq.start[:, :T]
        context_UxT = ((ts_UxT // _HOUR) % w.cfg.n_contexts).astype(np.int32)
        category_UxT = w.item_category[item_UxT].astype(np.int32)
        static_UxT = (
            w.bias["item"][item_UxT] + w.bias["context"][context_UxT] + w.cross[context_UxT, category_UxT]
            + self.segment_bias[segment_U][:, None]
        ).astype(np.float64)
        u_grid_UxR = on_grid(base_UxR)
        R = u_grid_UxR.shape[1]
        sess_UxR, sess_n = np.zeros((U, R)), np.zeros(U)
        ring_UxPxR, ring_n_UxP = np.zeros((U, P, R)), np.zeros((U, P))
        n_sess = np.zeros(U, np.int64)
        rows = np.arange(U)
        parts = np.zeros((U, T, len(PART_NAMES)))
        click, prob = np.zeros((U, T), np.float32), np.zeros((U, T), np.float32)
        prev_grid_UxR = np.zeros((U, R))
        for t in range(T):
            new = new_UxT[:, t]
            if t > 0 and new.any():  # close the session: push it into the ring, start afresh
                slot = n_sess[new] % P
                ring_UxPxR[rows[new], slot] = sess_UxR[new]
                ring_n_UxP[rows[new], slot] = sess_n[new]
                sess_UxR[new], sess_n[new] = 0.0, 0.0
            n_sess += new
            v_UxR = self.v_grid_NxR[item_UxT[:, t]]
            back = n_sess % P  # session n_sess - P (1-based) sits in this slot once n_sess > P
            has_back = (n_sess > P) & (ring_n_UxP[rows, back] > 0)
            ret_mean = ring_UxPxR[rows, back] / np.maximum(ring_n_UxP[rows, back], 1)[:, None]
            p = parts[:, t]
            p[:, 0] = static_UxT[:, t]
            p[:, 1] = c.w_taste * _dot(u_grid_UxR, v_UxR)
            p[:, 2] = c.w_session * _dot(sess_UxR, v_UxR) / np.maximum(sess_n, 1)
            p[:, 3] = c.w_return * np.where(has_back, _dot(ret_mean, v_UxR), 0.0)
            p[:, 4] = c.w_continuity * np.where(new, 0.0, _dot(prev_grid_UxR, v_UxR))
            p[:, 5] = c.base_logit
            q = 1.0 / (1.0 + np.exp(-p.sum(1)))
            y = u_click_UxT[:, t] < q
            prob[:, t], click[:, t] = q, y
            sess_UxR[y] += v_UxR[y]
            sess_n += y
            prev_grid_UxR = v_UxR
        return Users(item_UxT, ts_UxT.astype(np.int32), click, prob, context_UxT, category_UxT, segment_U,
                     parts.astype(np.float32))

    def _blocks(self, bs) -> Users:
        got = map_blocks(self._block, bs)
        return Users(*(np.concatenate(a) for a in zip(*(g.arrays() for g in got))))

    def users(self, n: int) -> Users:
        """The first ``n`` training users; the longest prefix asked for is kept."""
        have = 0 if self._train is None else len(self._train)
        if n > have:
            new = self._blocks(range(have // BLOCK, -(-n // BLOCK)))
            self._train = new if self._train is None else Users(*(np.concatenate(p) for p in zip(self._train.arrays(), new.arrays())))
        return self._train.head(n)

    @functools.cached_property
    def eval_users(self) -> Users:
        return self._blocks(range(EVAL_BLOCK, EVAL_BLOCK + self.cfg.eval_users // BLOCK))

    @functools.cached_property
    def valid_users(self) -> Users:
        return self._blocks(range(VALID_BLOCK, VALID_BLOCK + self.cfg.valid_users // BLOCK))

    def users_for(self, impressions: int) -> int:
        """Training users whose streams hold the first ``impressions`` impressions."""
        return -(-impressions // self.cfg.length)

    # ---- the CTR view: one impression per example --------------------------------------
    @property
    def fields(self) -> tuple[Field, ...]:
        w, c = self.ctr.cfg, self.cfg
        return (
            Field("segment", c.n_segments, 1.0),
            Field("item", self.n_items + 1, 1.1),
            Field("category", w.n_categories, 1.0),
            Field("context", w.n_contexts, 0.8),
            Field("history", self.n_items + 1, 1.1, bag=c.bag_len),
            Field("clicked", self.n_items + 1, 1.1, bag=c.bag_len),
        )

    n_dense = 2  # log gap since the previous impression, log position in the stream

    def ctr_batch(self, users: Users, t0: int = 0) -> Batch:
        """Every impression of ``users`` from position ``t0`` on, user-major, as CTR examples."""
        return ctr_examples(users, self.n_items, self.cfg.bag_len, t0)

    def train(self, n: int) -> Batch:
        """The first ``n`` training impressions (user-major), in a fixed shuffled order: each
        impression has a fixed random key and a budget is sorted by it, so any two
        impressions keep their relative order in every budget that holds both."""
        batch = self.ctr_batch(self.users(self.users_for(n)))
        return _take(batch.slice(0, n), self.train_order(n))

    def train_order(self, n: int) -> np.ndarray:
        """The order in which ``train(n)`` presents the first ``n`` impressions."""
        per_block = BLOCK * self.cfg.length
        keys = [np.random.default_rng([self.cfg.seed, IMP_TAG, b, 1]).random(per_block) for b in range(-(-n // per_block))]
        return np.argsort(np.concatenate(keys)[:n], kind="stable")

    @functools.cached_property
    def eval_set(self) -> Batch:
        return self.ctr_batch(self.eval_users, self.cfg.length - self.cfg.eval_tail)

    @functools.cached_property
    def valid_set(self) -> Batch:
        """The validation users' last ``eval_tail`` impressions, as the eval set's."""
        return self.ctr_batch(self.valid_users, self.cfg.length - self.cfg.eval_tail)


def _take(b: Batch, idx: np.ndarray) -> Batch:
    return Batch(b.dense[idx], {k: v[idx] for k, v in b.ids.items()}, b.label[idx], b.prob[idx])


def _recent(values_UxT: np.ndarray, keep_UxT: np.ndarray, L: int, pad: int) -> np.ndarray:
    """``[U, T, L]``: per position, the last ``L`` values strictly before it where ``keep``
    (most recent first), ``pad`` where there are fewer."""
    U, T = values_UxT.shape
    out = np.full((U, T, L), pad, np.int32)
    buf = np.full((U, L), pad, np.int32)
    for t in range(T):
        out[:, t] = buf
        k = keep_UxT[:, t]
        buf[k] = np.concatenate([values_UxT[k, t, None], buf[k, :-1]], 1)
    return out


def ctr_examples(users: Users, n_items: int, bag_len: int, t0: int = 0) -> Batch:
    U, T = users.item.shape
    history = _recent(users.item, np.ones((U, T), bool), bag_len, n_items)
    clicked = _recent(users.item, users.click > 0, bag_len, n_items)
    gap = np.diff(users.ts, prepend=users.ts[:, :1], axis=1).astype(np.float64)
    dense = np.stack([np.log1p(gap) / 10.0, np.broadcast_to(np.log1p(np.arange(T)) / 5.0, (U, T))], -1)
    sl = slice(t0, T)
    flat = lambda a: np.ascontiguousarray(a[:, sl]).reshape(U * (T - t0), *a.shape[2:])  # noqa: E731
    ids = {
        "segment": np.repeat(users.segment, T - t0),
        "item": flat(users.item), "category": flat(users.category), "context": flat(users.context),
        "history": flat(history), "clicked": flat(clicked),
    }
    return Batch(flat(dense).astype(np.float32), ids, flat(users.click), flat(users.prob))


@functools.lru_cache(maxsize=4)
def impression_world(cfg: ImpressionConfig = ImpressionConfig()) -> ImpressionWorld:
    return ImpressionWorld(cfg)
