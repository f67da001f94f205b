"""Three-valued saturation verdicts from bootstrap distributions, and the measured gain.

**Verdict.** The quantity judged is the gain per doubling at the largest observed x: the
improvement of the metric from ``x_max`` to ``2 * x_max`` under the fitted law. Its
bootstrap samples come in one or more *ensembles* (for an axis,
:mod:`scaling.axis_analysis` passes two: the power law + floor, which can express both a
saturating and a still-improving curve, and the law AICc prefers in each resample). The
interval is the union of the ensembles' ``level`` (default 95%) percentile intervals, so a
verdict must hold under every law in play. Against the threshold ``min_gain`` (metric
units, per doubling):

* ``saturated``     when the upper end of the interval is below ``min_gain``: the data
  rule out that a doubling buys ``min_gain``;
* ``not saturated`` when the lower end is above ``min_gain``;
* ``undetermined``  otherwise (the interval contains the threshold).

The share of the pooled resamples whose gain is below ``min_gain`` (``p_below``, printed
as ``P(gain < min) = ...``) goes with every verdict.

Measured error rates at quickstart noise (5-7 points, 2 seeds, seed spread 0.005-0.02,
1000 replicates per truth; ``tests/test_verdict_error_rates.py`` has the method)::

    truth            saturated  undetermined  not saturated
    saturating         0.149       0.848         0.003
    at threshold       0.011       0.966         0.023
    not saturating     0.000       0.249         0.751

**Default threshold** ``MIN_GAIN = 1e-3`` per doubling, in the metric's units. The CTR
literature treats a change of 0.001 in logloss or AUC as practically significant
(e.g. Wang et al. 2017, DCN; Song et al. 2019, AutoInt), and NE (logloss normalised by
the entropy of the base rate, ~0.5-1 here) is on that scale: a curve is saturated when a
further doubling of x is ruled out from buying a gain of that size. The threshold is an
effect size, not the noise: noisy data widen the interval (more ``undetermined``) rather
than move the threshold (the earlier criterion, gain against the seed spread, let a
noisier experiment call a curve saturated more easily). For metrics on another scale (HR@K of a few percent), pass
``min_gain`` explicitly (``--min-gain``).

**Measured gain.** Beside the law, the data: the change of the mean over seeds between
the two largest distinct x (positive: the metric got better), per doubling
(divided by ``log2(x_to / x_from)``), with its standard error from the pooled seed
spread ``s`` (:func:`scaling.saturation.seed_spread`), ``s * sqrt(1/n_to + 1/n_from) /
log2(x_to / x_from)``, when there are replicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from scaling.saturation import seed_spread
from scaling.validation import FitError

MIN_GAIN = 1e-3
LEVEL = 0.95
VERDICTS = ("saturated", "not saturated", "undetermined")


@dataclass(frozen=True)
class Verdict:
    """The saturation verdict at ``x_max``; gains are metric improvements per doubling."""

    verdict: str
    p_below: float
    gain: float
    lower: float
    upper: float
    min_gain: float
    level: float
    n_resamples: int
    x_max: float
    reason: str = ""

    @property
    def text(self) -> str:
        """``saturated (P(gain < min) = 0.99)``: the verdict with the share of resamples below the threshold."""
        if not self.n_resamples:
            return f"{self.verdict} ({self.reason})" if self.reason else self.verdict
        return f"{self.verdict} (P(gain < min) = {self.p_below:.2f})"

    def record(self) -> dict[str, object]:
        return {"verdict": self.verdict, "p_below": self.p_below, "gain_per_doubling": self.gain,
                "gain_interval": [self.lower, self.upper], "min_gain": self.min_gain, "level": self.level,
                "n_resamples": self.n_resamples, "x_max": self.x_max, "reason": self.reason}


def judge(gain: float, ensembles: Sequence[ArrayLike], *, min_gain: float = MIN_GAIN, level: float = LEVEL,
          x_max: float = float("nan")) -> Verdict:
    """The verdict of the module docstring from the point ``gain`` and the bootstrap ``ensembles``
    (sequences of gain samples; non-finite samples are dropped, an ensemble with fewer than 2
    is ignored)."""
    check_threshold(min_gain, level)
    sets = [s[np.isfinite(s)] for s in (np.asarray(e, dtype=float) for e in ensembles)]
    sets = [s for s in sets if s.size >= 2]
    if not sets:
        return undetermined("fewer than 2 usable bootstrap resamples", min_gain=min_gain, level=level, x_max=x_max)
    tail = 50.0 * (1.0 - level)
    bounds = np.array([np.percentile(s, [tail, 100.0 - tail]) for s in sets])
    lo, hi = float(bounds[:, 0].min()), float(bounds[:, 1].max())
    pooled = np.concatenate(sets)
    verdict = "saturated" if hi < min_gain else "not saturated" if lo > min_gain else "undetermined"
    return Verdict(verdict=verdict, p_below=float(np.mean(pooled < min_gain)), gain=float(gain), lower=lo, upper=hi,
                   min_gain=float(min_gain), level=float(level), n_resamples=int(pooled.size), x_max=float(x_max))


def undetermined(reason: str, *, min_gain: float = MIN_GAIN, level: float = LEVEL,
                 x_max: float = float("nan")) -> Verdict:
    """The verdict when no law could be judged: undetermined, saying why."""
    nan = float("nan")
    return Verdict(verdict="undetermined", p_below=nan, gain=nan, lower=nan, upper=nan, min_gain=float(min_gain),
                   level=float(level), n_resamples=0, x_max=float(x_max), reason=reason)


def check_threshold(min_gain: float, level: float) -> None:
    if not (np.isfinite(min_gain) and min_gain > 0):
        raise FitError(f"min_gain must be a positive number (metric units per doubling), got {min_gain}")
    if not 0.0 < level < 1.0:
        raise FitError(f"level must lie in (0, 1), got {level}")


@dataclass(frozen=True)
class MeasuredGain:
    """The observed change of the mean over seeds between the two largest distinct x."""

    x_from: float
    x_to: float
    gain: float
    per_doubling: float
    se: float | None
    seed_spread: float | None

    @property
    def text(self) -> str:
        se = f" ± {self.se:.2g}" if self.se is not None else " (one seed: no spread)"
        return f"{self.per_doubling:+.2g}{se}"

    def record(self) -> dict[str, object]:
        return {"x_from": self.x_from, "x_to": self.x_to, "gain": self.gain, "per_doubling": self.per_doubling,
                "se": self.se, "seed_spread": self.seed_spread}


def measured_gain(x: ArrayLike, y: ArrayLike, *, higher_is_better: bool = False) -> MeasuredGain:
    """The measured gain of the module docstring; FitError with fewer than 2 distinct x."""
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ux = np.unique(xa)
    if ux.size < 2:
        raise FitError("a measured gain needs at least 2 distinct x")
    x_from, x_to = float(ux[-2]), float(ux[-1])
    at_from, at_to = ya[xa == x_from], ya[xa == x_to]
    change = float(np.mean(at_to) - np.mean(at_from))
    gain = change if higher_is_better else -change
    doublings = float(np.log2(x_to / x_from))
    spread = seed_spread(xa, ya)
    se = None if spread is None else spread * float(np.sqrt(1 / at_to.size + 1 / at_from.size)) / doublings
    return MeasuredGain(x_from=x_from, x_to=x_to, gain=gain, per_doubling=gain / doublings, se=se, seed_spread=spread)

