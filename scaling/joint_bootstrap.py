"""Bootstrap confidence intervals for the joint law (Besiroglu et al. 2024 report these).

Points (or whole replicate groups, when ``groups`` is given) are resampled with
replacement as per-point weights; each refit is one L-BFGS-B run warm-started from the
full-data optimum. Resamples with fewer than 2 distinct N or D are redrawn; refits that
do not converge are dropped and counted. Percentile intervals at ``level``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scaling.bootstrap import MAX_REDRAWS, collect_refits, percentile_interval, resample_weights
from scaling.joint import JointFit, as_joint_data, joint_resampler
from scaling.validation import FitError


@dataclass(frozen=True, eq=False)
class JointBootstrap:
    """Bootstrap samples of ``(E, A, B, a, b)`` and their percentile intervals."""

    fit: JointFit
    level: float
    n_resamples: int
    n_failed: int
    grouped: bool
    samples: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]

    def interval(self, name: str) -> tuple[float, float]:
        i = JointFit.param_names.index(name)
        return float(self.lower[i]), float(self.upper[i])

    def std(self, name: str) -> float:
        return float(np.std(self.samples[:, JointFit.param_names.index(name)], ddof=1))

    def n_opt_exponent_interval(self) -> tuple[float, float]:
        """Interval of ``b / (a + b)``, the growth exponent of N_opt when FLOPs per example ∝ N."""
        a, b = self.samples[:, 3], self.samples[:, 4]
        lo, hi = percentile_interval(b / (a + b), self.level)
        return float(lo), float(hi)


def bootstrap_joint(fit: JointFit, n: ArrayLike, d: ArrayLike, loss: ArrayLike, *, groups: ArrayLike | None = None,
                    n_resamples: int = 1000, level: float = 0.95, seed: int | None = 0) -> JointBootstrap:
    """Bootstrap ``fit`` (made from exactly these points) and return percentile intervals."""
    na, da, la = as_joint_data(n, d, loss)
    if la.size != fit.n_points:
        raise FitError(f"bootstrap needs the {fit.n_points} points the fit was made from, got {la.size}")
    if not 0.0 < level < 1.0 or n_resamples < 2:
        raise FitError("level must lie in (0, 1) and n_resamples be at least 2")
    g = None if groups is None else np.asarray(groups)
    if g is not None and (g.shape != la.shape or np.unique(g).size < 2):
        raise FitError("groups must give one replicate id per point and contain at least 2 distinct ids")
    refit = joint_resampler(fit, na, da, la)
    rng = np.random.default_rng(seed)
    samples, failed = collect_refits(refit, lambda: _draw(na, da, g, rng), n_resamples)
    lower, upper = percentile_interval(samples, level)
    return JointBootstrap(fit=fit, level=level, n_resamples=n_resamples, n_failed=failed, grouped=g is not None,
                          samples=samples, lower=lower, upper=upper)


def _draw(n: NDArray[np.float64], d: NDArray[np.float64], groups: NDArray | None,
          rng: np.random.Generator) -> NDArray[np.float64]:
    for _ in range(MAX_REDRAWS):
        w = resample_weights(n.size, groups, rng)
        if np.unique(n[w > 0]).size >= 2 and np.unique(d[w > 0]).size >= 2:
            return w
    raise FitError("resamples rarely contain 2 distinct n and d values; too few points or groups to bootstrap")
