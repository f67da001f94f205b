"""Point saturation criterion for a power-law-plus-constant fit (no uncertainty).

The tables, ``recscale fit`` and the reports use the three-valued verdict of
:mod:`scaling.verdict` instead (bootstrap interval against a min gain, with its
probability): this yes/no criterion can flip on noise at 5-7 points. It remains for its
headroom and ``x_threshold`` arithmetic, and :func:`seed_spread`.

Criterion: the curve is **saturated** when, at the largest observed x, the fitted gain
from doubling x, ``beta * x_max**(-alpha) * (1 - 2**(-alpha))``, is below a noise floor.
The floor is ``noise`` when given (pass the seed-to-seed spread, e.g. from
:func:`seed_spread`), otherwise ``rel_threshold * |y(x_max)|`` (default 2e-4: a 0.02% change of the
metric, the order of gain that large recommender studies still count as a real win).

Also reported: the headroom ``(e(x_max) - gamma) / gamma`` (e is y, or 1 - y for a
higher-is-better metric; infinite when gamma is 0), and the x beyond which a doubling
gains less than the floor, ``(beta * (1 - 2**(-alpha)) / floor)**(1 / alpha)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from scaling.power_law import PowerLawFit
from scaling.validation import FitError

REL_THRESHOLD = 2e-4


@dataclass(frozen=True)
class Saturation:
    """Saturation verdict at the largest observed x; gains are metric improvements."""

    saturated: bool
    x_max: float
    gain_per_doubling: float
    threshold: float
    threshold_source: str
    headroom: float
    x_threshold: float
    doublings_left: float


def seed_spread(x: ArrayLike, y: ArrayLike) -> float | None:
    """Pooled within-x standard deviation of y over x values with replicates; None if none repeat."""
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    labels, index, counts = np.unique(xa, return_inverse=True, return_counts=True)
    if not np.any(counts > 1):
        return None
    means = np.bincount(index, weights=ya) / counts
    ss = float(np.sum((ya - means[index]) ** 2))
    return float(np.sqrt(ss / (xa.size - labels.size)))


def assess_saturation(fit: PowerLawFit, *, noise: float | None = None,
                      rel_threshold: float = REL_THRESHOLD) -> Saturation:
    """Apply the module's saturation criterion to ``fit`` at its largest observed x."""
    if noise is not None and not noise > 0:
        raise FitError(f"noise must be positive, got {noise}")
    if not rel_threshold > 0:
        raise FitError(f"rel_threshold must be positive, got {rel_threshold}")
    x_max = fit.x_max
    gain = float(fit.gain_per_doubling(x_max))
    if noise is not None:
        threshold, source = float(noise), "noise"
    else:
        threshold, source = rel_threshold * abs(float(fit.predict(x_max))), "relative"
    excess = float(fit.error(x_max)) - fit.gamma
    headroom = excess / fit.gamma if fit.gamma > 0 else float("inf")
    factor = 1.0 - 2.0 ** (-fit.alpha)
    if fit.alpha > 0 and factor > 0 and fit.beta > 0:
        log_x_threshold = (np.log(fit.beta) + np.log(factor) - np.log(threshold)) / fit.alpha
    else:
        log_x_threshold = -np.inf
    with np.errstate(over="ignore"):
        x_threshold = float(np.exp(log_x_threshold))
    doublings = float((log_x_threshold - np.log(x_max)) / np.log(2.0))
    return Saturation(saturated=gain < threshold, x_max=x_max, gain_per_doubling=gain, threshold=threshold,
                      threshold_source=source, headroom=headroom, x_threshold=x_threshold,
                      doublings_left=doublings)
