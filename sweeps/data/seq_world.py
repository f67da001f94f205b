"""Synthetic next-item sequences with a known generative process, in the CTR world.

The users, items, latent factors (``user_f``, ``item_f``) and Zipf item popularity are
those of ``CTRWorld``: the ranking task and the retrieval task tell one story. User ``u``
is CTR user ``u`` (beyond the world's users, fresh users are drawn from the same factor
distribution). Item ``i`` of the world is id ``i + 1`` here (0 is padding).

The generative process of one user
----------------------------------
* **Interests.** ``n_interests`` interest vectors ``z_k`` (same factor distribution as
  the items) and a Dirichlet preference over them. The taste at step t is
  ``h_t = sqrt(w_base) u + sqrt(w_interest) z_{c_t} + sqrt(w_drift) d_t``: the CTR user
  vector ``u``, the active interest ``c_t`` and a slow AR(1) drift ``d_t`` (coefficient
  ``drift_phi`` per step, in the ``drift_rank`` leading factors).
* **Sessions and time.** Each step starts a new session with probability ``p_break``.
  Gaps are log-normal: minutes within a session, about a day (heavy-tailed, clipped at
  ``max_gap_days``) between sessions. Timestamps are int32 seconds.
* **Long-range returns.** At a session start the active interest becomes the one of
  ``return_period`` sessions ago with probability ``p_return``, stays with ``p_stay``,
  and is otherwise redrawn from the preference. Predicting it needs the history tens of
  items back and the session boundaries, which only the time gaps reveal.
* **Choice.** The next item is drawn, without repeats, from
  ``softmax(item_f . h_t / tau + pop_weight * log_pop + continuity * item_f . item_f[prev])``
  over the items not yet consumed; at a session start ``continuity`` is 0 and the
  popularity weight is ``pop_weight_start`` (sessions open on popular items).
* **Lengths.** Each user keeps the first ``n`` steps, ``n`` log-uniform in
  ``[min_len, max_len]``.

Why it scales: the taste has the CTR world's spectrum (factor variances decay as a power),
so wider embeddings recover more of it; the interests and their return schedule are
per-user and inferred in context, so longer histories and deeper models help; the Zipf
tail needs more users (data) to learn its items.

Determinism, by construction: users come in blocks of ``BLOCK`` and each block is
generated on its own, with arrays of the same shapes whatever else is asked for. Block ``b``
draws its user-level values from ``default_rng([seed, b, 0])`` and its step-t values from
``default_rng([seed, b, t+1])``, so each sequence is a pure function of (seed, user index),
a budget of U users is bit for bit the first U users of any larger budget, on any number of
threads (``blocks.map_blocks``), in any order of
requests, and a larger ``max_len`` lengthens sequences without changing their first items.
The one matrix product (the choice logits) is computed exactly: its operands are rounded
to a grid of ``2**-GRID_BITS`` and multiplied in float64, where every product and every
partial sum of the grid values is representable, so the result does not depend on the BLAS
build, its kernels, its thread count or its summation order (``exact_logits``).

The floor: the true next-item distribution is known at each step, so ``oracle_logp`` (log
probability of the item drawn) and ``oracle_rank`` (its rank under the true distribution)
are recorded. They condition on the latent state (drift, interest, session break), which a
model cannot see, so no model beats them in expectation: evaluation
(``sweeps.eval.ranking.oracle_metrics``) reports them as the floor (log-likelihood) and
ceiling (HR@K, NDCG@K, MRR).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from sweeps.data.blocks import map_blocks
from sweeps.data.ctr_world import CTRWorld, WorldConfig, factor_sd, world as ctr_world

BLOCK = 256
_DAY = 86_400.0


@dataclasses.dataclass(frozen=True)
class SeqConfig:
    seed: int = 0
    world: WorldConfig = WorldConfig()
    max_len: int = 200
    min_len: int = 20
    n_interests: int = 4
    w_base: float = 0.35
    w_interest: float = 0.5
    w_drift: float = 0.15
    drift_rank: int = 16
    drift_phi: float = 0.98
    tau: float = 0.35
    pop_weight: float = 0.6
    pop_weight_start: float = 1.0
    continuity: float = 1.5
    p_break: float = 0.15
    p_return: float = 0.5
    p_stay: float = 0.2
    return_period: int = 3
    gap_within_s: float = 180.0
    gap_within_sigma: float = 1.0
    gap_between_s: float = _DAY
    gap_between_sigma: float = 1.2
    max_gap_days: float = 30.0

    def __post_init__(self):
        if not 3 <= self.min_len <= self.max_len:
            raise ValueError("need 3 <= min_len <= max_len (a train, a valid and a test item)")
        if self.max_len > self.world.n_items:
            raise ValueError("max_len exceeds the number of items (no repeats)")
        if self.p_return + self.p_stay > 1:
            raise ValueError("p_return + p_stay must be <= 1")
        if self.return_period < 1 or self.n_interests < 1 or not 0 < self.drift_rank <= self.world.rank:
            raise ValueError("need return_period >= 1, n_interests >= 1 and 0 < drift_rank <= world.rank")


@dataclasses.dataclass(frozen=True)
class SeqData:
    """Users' sequences, right-padded: ``ids_UxT`` (1-based items, 0 = pad), ``ts_UxT``
    (int32 seconds), ``length_U``, ``start_UxT`` (session starts), ``oracle_logp_UxT`` and
    ``oracle_rank_UxT`` (the drawn item under the true distribution; 0 at pads)."""

    ids: np.ndarray
    ts: np.ndarray
    length: np.ndarray
    start: np.ndarray
    oracle_logp: np.ndarray
    oracle_rank: np.ndarray
    n_items: int  # embedding rows a model needs: world items + the pad row

    def __len__(self) -> int:
        return len(self.length)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return self.ids, self.ts, self.length, self.start, self.oracle_logp, self.oracle_rank

    def head(self, n: int) -> SeqData:
        return SeqData(*(a[:n] for a in self.arrays()), self.n_items)


@dataclasses.dataclass(frozen=True)
class Queries:
    """Evaluation queries: ``history_ids``/``history_ts`` ``[U, H]`` right-padded, ``target [U]``."""

    history_ids: np.ndarray
    history_ts: np.ndarray
    target: np.ndarray
    oracle_logp: np.ndarray
    oracle_rank: np.ndarray

    def __len__(self) -> int:
        return len(self.target)

    def head(self, n: int) -> Queries:
        return Queries(*(getattr(self, f.name)[:n] for f in dataclasses.fields(self)))


@dataclasses.dataclass(frozen=True)
class Split:
    """Leave-one-out: per user, the last item is test, the second-to-last validation and the
    rest training (``train_ids``/``train_ts`` hold only those, right-padded)."""

    train_ids: np.ndarray
    train_ts: np.ndarray
    train_length: np.ndarray
    valid: Queries
    test: Queries
    n_items: int


def _queries(data: SeqData, cut: int) -> Queries:
    """History = the first ``length - cut`` items, target = the next one."""
    T = data.ids.shape[1]
    n_U = data.length - cut
    keep_UxT = np.arange(T)[None] < n_U[:, None]
    rows = np.arange(len(data))
    return Queries(
        np.where(keep_UxT, data.ids, 0)[:, : T - cut],
        np.where(keep_UxT, data.ts, 0)[:, : T - cut],
        data.ids[rows, n_U],
        data.oracle_logp[rows, n_U],
        data.oracle_rank[rows, n_U],
    )


def leave_one_out(data: SeqData) -> Split:
    test, valid = _queries(data, 1), _queries(data, 2)
    return Split(valid.history_ids, valid.history_ts, data.length - 2, valid, test, data.n_items)


def _log_popularity(w: CTRWorld) -> np.ndarray:
    pmf = np.diff(w.cdf["item"], prepend=0.0)
    log_pop = np.empty(w.cfg.n_items)
    log_pop[w.perm["item"]] = np.log(pmf)
    return log_pop


class SeqWorld:
    """The sequences of one ``SeqConfig``; the longest prefix of users asked for is kept."""

    def __init__(self, cfg: SeqConfig = SeqConfig()):
        self.cfg = cfg
        self.ctr = ctr_world(cfg.world)
        self.sd_R = factor_sd(cfg.world).astype(np.float32)
        self.item_f_NxR = self.ctr.item_f
        self.log_pop_N = _log_popularity(self.ctr).astype(np.float32)
        self.f_grid_R1xN = on_grid(np.concatenate([self.item_f_NxR, self.log_pop_N[:, None]], 1).T)
        self.f_bound = float(np.abs(self.f_grid_R1xN).sum(0).max())
        self._data: SeqData | None = None

    @property
    def n_items(self) -> int:
        return self.cfg.world.n_items + 1

    def users(self, n: int) -> SeqData:
        have = 0 if self._data is None else len(self._data)
        if n > have:
            new = map_blocks(self._block, range(have // BLOCK, -(-n // BLOCK)))
            parts = new if self._data is None else [self._data, *new]
            self._data = SeqData(*(np.concatenate(a) for a in zip(*(p.arrays() for p in parts))), self.n_items)
        return self._data.head(n)

    def _init_users(self, b: int):
        """Block ``b``'s per-user values: base taste, interests, preference, length, start time."""
        c, R, K = self.cfg, self.cfg.world.rank, self.cfg.n_interests
        rng = np.random.default_rng([c.seed, b, 0])
        fresh_BxR = rng.standard_normal((BLOCK, R)) * self.sd_R
        z_BxKxR = rng.standard_normal((BLOCK, K, R)) * self.sd_R
        pref_BxK = rng.dirichlet(np.ones(K), BLOCK)
        log_len = rng.uniform(np.log(c.min_len), np.log(c.max_len + 1), BLOCK)
        t0_B = rng.uniform(0, 365 * _DAY, BLOCK)
        u = np.arange(b * BLOCK, (b + 1) * BLOCK)
        known = u < c.world.n_users
        base_BxR = np.where(known[:, None], self.ctr.user_f[np.minimum(u, c.world.n_users - 1)], fresh_BxR)
        length_B = np.clip(np.floor(np.exp(log_len)), c.min_len, c.max_len).astype(np.int32)
        return base_BxR, z_BxKxR, np.cumsum(pref_BxK, 1), length_B, t0_B

    def _step_draws(self, b: int, t: int):
        """Block ``b``'s step-``t`` randomness: uniforms (break, kind, pick, choice), a gap
        normal, drift noise."""
        rng = np.random.default_rng([self.cfg.seed, b, t + 1])
        return rng.random((BLOCK, 4)), rng.standard_normal(BLOCK), rng.standard_normal((BLOCK, self.cfg.drift_rank))

    def _block(self, b: int) -> SeqData:
        c = self.cfg
        base_UxR, z_UxKxR, pref_cdf_UxK, length_U, t0_U = self._init_users(b)
        base_UxR = (base_UxR * (np.sqrt(c.w_base) / c.tau)).astype(np.float32)
        z_UxKxR = (z_UxKxR * (np.sqrt(c.w_interest) / c.tau)).astype(np.float32)
        U, T, N, R, Dr = BLOCK, c.max_len, c.world.n_items, c.world.rank, c.drift_rank
        rows = np.arange(U)
        item_f_NxR = self.item_f_NxR
        sd_drift = self.sd_R[:Dr]
        ids, ts, start = (np.zeros((U, T), np.int32) for _ in range(3))
        logp, rank = np.zeros((U, T), np.float32), np.zeros((U, T), np.int32)
        logit_UxN = np.empty((U, N), np.float32)
        seen_UxN = np.zeros((U, N), bool)
        q_UxR1 = np.empty((U, R + 1), np.float32)
        drift_UxDr = np.zeros((U, Dr))
        sessions_UxT = np.zeros((U, T), np.int64)
        n_sess_U = np.zeros(U, np.int64)
        active_U = np.zeros(U, np.int64)
        prev_U = np.zeros(U, np.int64)
        clock_U = t0_U.copy()
        mu_in, mu_out = np.log(c.gap_within_s), np.log(c.gap_between_s)
        for t in range(T):
            u_Ux4, g_U, e_UxDr = self._step_draws(b, t)
            new_U = (u_Ux4[:, 0] < c.p_break) | (t == 0)
            picked_U = (u_Ux4[:, 2:3] > pref_cdf_UxK).sum(1)
            back_U = sessions_UxT[rows, np.maximum(n_sess_U - c.return_period, 0)]
            can_return_U = n_sess_U >= c.return_period
            kind_U = u_Ux4[:, 1]
            chosen_U = np.where(
                can_return_U & (kind_U < c.p_return), back_U,
                np.where((t > 0) & (kind_U >= 1 - c.p_stay), active_U, picked_U),
            )
            active_U = np.where(new_U, chosen_U, active_U)
            sessions_UxT[rows[new_U], n_sess_U[new_U]] = active_U[new_U]
            n_sess_U += new_U

            gap_U = np.where(new_U, np.exp(mu_out + c.gap_between_sigma * g_U), np.exp(mu_in + c.gap_within_sigma * g_U))
            clock_U = clock_U + (t > 0) * np.minimum(gap_U, c.max_gap_days * _DAY)

            drift_UxDr = c.drift_phi * drift_UxDr + np.sqrt(1 - c.drift_phi**2) * e_UxDr * sd_drift
            cont_U = np.where(new_U, 0.0, c.continuity).astype(np.float32)
            np.add(base_UxR, z_UxKxR[rows, active_U], out=q_UxR1[:, :R])
            q_UxR1[:, :Dr] += drift_UxDr * (np.sqrt(c.w_drift) / c.tau)
            q_UxR1[:, :R] += cont_U[:, None] * item_f_NxR[prev_U]
            q_UxR1[:, R] = np.where(new_U, c.pop_weight_start, c.pop_weight)
            exact_logits(q_UxR1, self.f_grid_R1xN, out=logit_UxN, f_bound=self.f_bound)
            np.copyto(logit_UxN, -np.inf, where=seen_UxN)  # no repeats: the items consumed so far
            logit_UxN -= logit_UxN.max(1, keepdims=True)
            p_UxN = np.exp(logit_UxN, out=logit_UxN)
            item_U, log_total_U = _sample(p_UxN, u_Ux4[:, 3])
            drawn_U = p_UxN[rows, item_U]
            logp[:, t] = np.log(drawn_U) - log_total_U
            scored_U = (t >= length_U - 2) & (t < length_U)
            rank[scored_U, t] = (p_UxN[scored_U] >= drawn_U[scored_U, None]).sum(1)  # ties rank it last
            ids[:, t], ts[:, t], start[:, t] = item_U + 1, clock_U, new_U
            seen_UxN[rows, item_U] = True
            prev_U = item_U

        real_UxT = np.arange(T)[None] < length_U[:, None]
        return SeqData(
            ids * real_UxT, ts * real_UxT, length_U, start.astype(bool) & real_UxT,
            logp * real_UxT, rank * real_UxT, self.n_items,
        )


GRID_BITS = 16


def on_grid(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to the nearest multiple of ``2**-GRID_BITS``, as float64 integers of
    that unit."""
    return np.rint(np.asarray(x, np.float64) * 2.0**GRID_BITS)


def exact_logits(q_UxK: np.ndarray, f_grid_KxN: np.ndarray, out: np.ndarray, f_bound: float | None = None) -> np.ndarray:
    """``q @ f`` with both operands on the grid (``f`` already through ``on_grid``), exactly.
    ``f_bound``: the largest column sum of ``|f_grid|``, when the caller keeps it.

    Grid values are integers in float64; each product and every partial sum of them is an
    integer below 2**53 (checked), hence representable, so any order of summation, any
    blocking and any fused multiply-add give the same bits. The grid (1.5e-5) is far below
    float32 rounding of the logits' scale (about 10), so the world's law is unchanged.
    """
    q_grid_UxK = on_grid(q_UxK)
    if f_bound is None:
        f_bound = np.abs(f_grid_KxN).sum(0).max()
    bound = np.abs(q_grid_UxK).max() * f_bound
    if not bound < 2.0**53:
        raise ArithmeticError(f"logit operands too large for an exact product (bound {bound:.3g})")
    return np.multiply(q_grid_UxK @ f_grid_KxN, 2.0 ** (-2 * GRID_BITS), out=out, casting="same_kind")


def _sample(p_UxN: np.ndarray, u_U: np.ndarray, groups: int = 50):
    """Inverse-CDF draw from unnormalised ``p`` (zero at seen items) with uniforms ``u``,
    in two levels (items ``g, g + groups, ...`` form group ``g``); returns the items and
    ``log(sum p)``."""
    U, N = p_UxN.shape
    W = -(-N // groups)
    p_UxWxG = (p_UxN if W * groups == N else np.pad(p_UxN, ((0, 0), (0, W * groups - N)))).reshape(U, W, groups)
    cum_UxG = np.cumsum(p_UxWxG.astype(np.float64).sum(1), 1)  # the same sums as sum(dtype=), without buffering
    x_U = u_U * cum_UxG[:, -1]
    rows = np.arange(U)
    g_U = np.minimum((cum_UxG < x_U[:, None]).sum(1), groups - 1)
    below_U = np.where(g_U > 0, cum_UxG[rows, g_U - 1], 0.0)
    cum_UxW = np.cumsum(p_UxWxG[rows, :, g_U], 1, dtype=np.float64)
    item_U = np.minimum(np.minimum((cum_UxW < (x_U - below_U)[:, None]).sum(1), W - 1) * groups + g_U, N - 1)
    bad_U = p_UxN[rows, item_U] <= 0
    item_U[bad_U] = np.argmax(p_UxN[bad_U], 1)
    return item_U, np.log(cum_UxG[:, -1])


@functools.lru_cache(maxsize=4)
def seq_world(cfg: SeqConfig = SeqConfig()) -> SeqWorld:
    return SeqWorld(cfg)
