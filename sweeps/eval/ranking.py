"""Full-ranking retrieval metrics: HR@K, NDCG@K and MRR over all items.

A query scores every item; the pad row 0 and the user's history items are removed from
the ranking, except the target itself. The target's rank is 1 + the number of remaining
items scoring at least as high (ties rank the target last, so a constant scorer gains
nothing), and a non-finite target score ranks last. Item ids are 1-based rows of the
score matrix.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

DEFAULT_KS = (10, 50, 200)


def _removed(B: int, N: int, target_B, history_BxH):
    rows_B = jnp.arange(B)
    removed_BxN = jnp.zeros((B, N), bool).at[rows_B[:, None], jnp.asarray(history_BxH)].set(True)
    return removed_BxN.at[:, 0].set(True).at[rows_B, target_B].set(False)


def target_ranks(scores_BxN, target_B, history_BxH):
    """1-based rank of each target among the items not in its history (JAX or NumPy in)."""
    scores_BxN = jnp.asarray(scores_BxN, jnp.float32)
    B, N = scores_BxN.shape
    target_B = jnp.asarray(target_B)
    removed_BxN = _removed(B, N, target_B, history_BxH)
    s_B = scores_BxN[jnp.arange(B), target_B]
    rank_B = ((scores_BxN >= s_B[:, None]) & ~removed_BxN).sum(1)
    return jnp.where(jnp.isfinite(s_B), rank_B, (~removed_BxN).sum(1)).astype(jnp.int32)


def target_logp(logits_BxN, target_B, history_BxH):
    """Log-probability of each target under a softmax over the items not in its history."""
    logits_BxN = jnp.asarray(logits_BxN, jnp.float32)
    B, N = logits_BxN.shape
    target_B = jnp.asarray(target_B)
    kept_BxN = jnp.where(_removed(B, N, target_B, history_BxH), -jnp.inf, logits_BxN)
    return logits_BxN[jnp.arange(B), target_B] - jax.nn.logsumexp(kept_BxN, axis=1)


def metrics_from_ranks(rank_B, ks=DEFAULT_KS, logp_B=None) -> dict[str, float]:
    """``hr@K`` (target in the top K), ``ndcg@K`` (1/log2(rank+1) within the top K) and
    ``mrr`` (mean 1/rank, untruncated), averaged over queries; with ``logp_B`` also ``nll``
    (mean negative log-probability of the targets)."""
    rank = np.asarray(rank_B, np.float64)
    out = {}
    for k in ks:
        hit = rank <= k
        out[f"hr@{k}"] = float(hit.mean())
        out[f"ndcg@{k}"] = float(np.where(hit, 1.0 / np.log2(rank + 1), 0.0).mean())
    out["mrr"] = float((1.0 / rank).mean())
    if logp_B is not None:
        out["nll"] = float(-np.mean(np.asarray(logp_B, np.float64)))
    return out


@jax.jit
def _ranks_by_dot(user_BxD, items_NxD, target_B, history_BxH):
    return target_ranks(user_BxD @ items_NxD.T, target_B, history_BxH)


def rank_by_dot(user_UxD, items_NxD, target_U, history_UxH, batch: int = 1024) -> np.ndarray:
    """Ranks under the scores ``user . item``, in fixed-size batches (one compilation)."""
    U = len(target_U)
    user_UxD = np.asarray(user_UxD, np.float32)
    out = []
    for i in range(0, U, batch):
        n = min(batch, U - i)
        u_BxD, t_B, h_BxH = (pad_rows(a[i : i + n], batch) for a in (user_UxD, target_U, history_UxH))
        out.append(np.asarray(_ranks_by_dot(u_BxD, items_NxD, t_B, h_BxH))[:n])
    return np.concatenate(out) if out else np.zeros(0, np.int32)


def pad_rows(a: np.ndarray, rows: int) -> np.ndarray:
    """``a`` with zero rows appended up to ``rows``."""
    return np.concatenate([a, np.zeros((rows - len(a), *a.shape[1:]), a.dtype)])


def popularity_scores(train_ids_UxT, n_items: int) -> np.ndarray:
    """Item counts in the training sequences (the popularity baseline's score), ``[n_items]``."""
    counts = np.bincount(np.asarray(train_ids_UxT).ravel(), minlength=n_items).astype(np.float64)
    counts[0] = 0
    return counts


def score_ranks(scores_UxN, target_U, history_UxH, batch: int = 1024) -> np.ndarray:
    """Ranks of explicit scores (a baseline: the same row for every user, or random rows)."""
    scores_UxN = np.asarray(scores_UxN, np.float32)
    U = len(target_U)
    if scores_UxN.ndim == 1:
        scores_UxN = np.broadcast_to(scores_UxN, (U, len(scores_UxN)))
    return np.concatenate(
        [np.asarray(target_ranks(scores_UxN[i : i + batch], target_U[i : i + batch], history_UxH[i : i + batch]))
         for i in range(0, U, batch)]
    )


def oracle_metrics(q, ks=DEFAULT_KS) -> dict[str, float]:
    """The true distribution's metrics on queries ``q`` (``sweeps.data.seq_world.Queries``):
    the floor of ``nll`` and the ceiling of HR@K, NDCG@K and MRR."""
    return metrics_from_ranks(q.oracle_rank, ks, q.oracle_logp)
