"""How much of the impression world's click signal needs order and time gaps.

Two measurements on a set of users (``sweeps.data.impression_world.Users``):

* ``variance_shares``: the share of the logit's variance carried by each part of the
  teacher (and by the ordered parts together, covariances included);
* ``oracle_nes``: the expected NE (against the exact click probabilities) of oracles that
  see less than the teacher, each a logistic regression fitted on the users themselves
  (an optimistic reference, not a model):

  - ``floor``: the teacher itself;
  - ``unordered``: the static part, the user's exact base taste (``taste``) and the two
    unordered bags a DLRM sees (``v_i . mean`` of the last impressed and the last clicked
    items): everything but the order, the session boundaries and the time gaps;
  - ``static``: the static part and the taste only (no history at all);
  - ``base rate``: NE 1 by definition.
"""

from __future__ import annotations

import numpy as np

from sweeps.data.impression_world import ORDERED_PARTS, PART_NAMES, Users, _recent
from sweeps.eval.ctr_metrics import expected_ne


def variance_shares(users: Users) -> dict[str, float]:
    parts = users.parts.reshape(-1, len(PART_NAMES)).astype(np.float64)
    total = parts.sum(1).var()
    out = {name: float(parts[:, k].var() / total) for k, name in enumerate(PART_NAMES) if name != "base"}
    ordered = [PART_NAMES.index(n) for n in ORDERED_PARTS]
    out["ordered (together)"] = float(parts[:, ordered].sum(1).var() / total)
    return out


def _logistic(x_NxK: np.ndarray, p_N: np.ndarray, iters: int = 25) -> np.ndarray:
    """Newton's method for the logistic regression of the soft labels ``p`` on ``x``
    (with an intercept); the fitted probabilities."""
    x = np.concatenate([x_NxK, np.ones((len(x_NxK), 1))], 1)
    w = np.zeros(x.shape[1])
    for _ in range(iters):
        q = 1 / (1 + np.exp(-x @ w))
        hess = x.T @ (x * (q * (1 - q))[:, None]) + 1e-6 * np.eye(x.shape[1])
        w -= np.linalg.solve(hess, x.T @ (q - p_N))
    return 1 / (1 + np.exp(-x @ w))


def _bag_affinity(users: Users, item_f: np.ndarray, keep: np.ndarray, L: int) -> np.ndarray:
    """``v_i . mean(v of the bag)`` per impression (0 for an empty bag)."""
    pad = len(item_f)
    bag_UxTxL = _recent(users.item, keep, L, pad)
    f = np.concatenate([item_f, np.zeros((1, item_f.shape[1]), item_f.dtype)]).astype(np.float64)
    n = np.maximum((bag_UxTxL != pad).sum(-1), 1)
    mean_UxTxR = f[bag_UxTxL].sum(2) / n[..., None]
    return (mean_UxTxR * f[users.item]).sum(-1)


def oracle_nes(users: Users, item_f: np.ndarray, bag_len: int) -> dict[str, float]:
    p = users.prob.ravel().astype(np.float64)
    part = {n: users.parts[..., k].ravel().astype(np.float64) for k, n in enumerate(PART_NAMES)}
    history = _bag_affinity(users, item_f, np.ones(users.item.shape, bool), bag_len).ravel()
    clicked = _bag_affinity(users, item_f, users.click > 0, bag_len).ravel()
    static = np.stack([part["static"], part["taste"]], 1)
    return {
        "floor": expected_ne(p, p),
        "unordered": expected_ne(_logistic(np.concatenate([static, np.stack([history, clicked], 1)], 1), p), p),
        "static": expected_ne(_logistic(static, p), p),
        "base rate": 1.0,
    }
