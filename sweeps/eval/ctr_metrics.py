"""Ranking metrics on NumPy arrays: NE, log loss, AUC, calibration."""

from __future__ import annotations

import numpy as np

_EPS = 1e-7


def _entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return -(p * np.log(p) + (1 - p) * np.log1p(-p))


def log_loss(q: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy of predictions ``q`` against (possibly soft) labels ``y``."""
    q = np.clip(np.asarray(q, np.float64), _EPS, 1 - _EPS)
    y = np.asarray(y, np.float64)
    return float(np.mean(-(y * np.log(q) + (1 - y) * np.log1p(-q))))


def ne(q: np.ndarray, y: np.ndarray) -> float:
    """Normalized entropy (He et al. 2014): log loss over the entropy of the base rate."""
    return log_loss(q, y) / float(_entropy(np.mean(np.asarray(y, np.float64))))


def expected_ne(q: np.ndarray, p: np.ndarray) -> float:
    """NE scored against the true click probabilities ``p`` instead of sampled labels."""
    return ne(q, p)


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x``, ties sharing the mean of their ranks (``scipy.stats.rankdata``,
    without importing scipy.stats into every trial process: 1-2 s of start-up)."""
    x = np.asarray(x).ravel()
    order = np.argsort(x, kind="stable")
    xs = x[order]
    new_group = np.r_[True, xs[1:] != xs[:-1]]
    bounds = np.flatnonzero(np.r_[new_group, True])
    mean_rank = (bounds[:-1] + bounds[1:] + 1) / 2.0  # positions s..e-1 hold ranks s+1..e
    ranks = np.empty(x.size)
    ranks[order] = mean_rank[np.cumsum(new_group) - 1]
    return ranks


def auc(q: np.ndarray, y: np.ndarray) -> float:
    """ROC AUC of scores ``q`` for binary labels ``y`` (ties count one half)."""
    y = np.asarray(y) > 0.5
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = average_ranks(q)
    return float((r[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ctr_metrics(q: np.ndarray, label: np.ndarray, prob: np.ndarray | None = None) -> dict[str, float]:
    """All CTR metrics of one evaluation. ``ne`` is against ``prob`` when given (noise-free)."""
    out = {
        "ne_labels": ne(q, label),
        "logloss": log_loss(q, label),
        "auc": auc(q, label),
        "calibration": float(np.mean(q) / max(np.mean(label), _EPS)),
    }
    out["ne"] = expected_ne(q, prob) if prob is not None else out["ne_labels"]
    return out
