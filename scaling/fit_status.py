"""Whether an axis' chosen law can be read as its scaling law: ``fits``, ``flat`` or ``not identified``.

A law's numbers are a result only when the law explains the points. An axis **fits** when
its chosen law (:mod:`scaling.axis_analysis`) has R^2 >= ``R2_MIN`` (0.95) and no parameter
on a search limit: the exponent at an end of its grid (:mod:`scaling.batch_fit`), or the
floor gamma of the power law + floor at its lower bound (its point estimate at the lower
end of its bootstrap interval, which only a bound puts there). Otherwise the axis carries
an explicit verdict with its reason:

* **flat**: the metric shows no trend over the axis' range. The least-squares slope of the
  metric on log2 x (every trial, seeds included; residual standard error, t with n - 2
  degrees of freedom) has a ``level`` interval that contains 0. The reason gives the
  gain per doubling with that interval, and says whether gains of ``min_gain`` per
  doubling are ruled out (the interval's upper end below it) or only not detected: a
  flat axis with a wide interval is a measurement too noisy to tell, and says so;
* **not identified**: there is a trend, but no law fits it well enough to be read (R^2
  below ``R2_MIN``, or a parameter on a search limit, or no law identified at all); the
  reason names which, with the trend beside it.

Why the slope for flatness: a point-by-point test (every mean against the others) spends
its power on the shape; the question here is whether growing the axis moves the metric at
all, which is one number, the average gain per doubling over the range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from scaling.axis_analysis import AxisAnalysis
from scaling.verdict import LEVEL

R2_MIN = 0.95
STATUSES = ("fits", "flat", "not identified")


@dataclass(frozen=True)
class Trend:
    """The average improvement of the metric per doubling of x over the axis' range."""

    per_doubling: float
    lower: float
    upper: float
    level: float
    doublings: float  # log2(x_max / x_min)

    @property
    def text(self) -> str:
        return f"{self.per_doubling:+.2g} [{self.lower:+.2g}, {self.upper:+.2g}] per doubling"


@dataclass(frozen=True)
class FitStatus:
    """How an axis' law may be read, and why."""

    status: str  # one of STATUSES
    reason: str
    trend: Trend | None

    @property
    def text(self) -> str:
        return self.status if not self.reason else f"{self.status}: {self.reason}"

    def record(self) -> dict[str, object]:
        t = self.trend
        return {"status": self.status, "reason": self.reason,
                "trend": None if t is None else {"per_doubling": t.per_doubling, "interval": [t.lower, t.upper],
                                                 "level": t.level, "doublings": t.doublings}}


def trend(x, y, *, higher_is_better: bool = False, level: float = LEVEL) -> Trend | None:
    """The module's slope test; None with fewer than 3 trials or 2 distinct x."""
    lx, ya = np.log2(np.asarray(x, dtype=float)), np.asarray(y, dtype=float)
    if ya.size < 3 or np.unique(lx).size < 2:
        return None
    dx = lx - lx.mean()
    slope = float(dx @ (ya - ya.mean()) / (dx @ dx))
    resid = ya - ya.mean() - slope * dx
    se = float(np.sqrt(resid @ resid / (ya.size - 2) / (dx @ dx)))
    half = float(stats.t.ppf(0.5 + level / 2, ya.size - 2)) * se
    gain = slope if higher_is_better else -slope
    return Trend(per_doubling=gain, lower=gain - half, upper=gain + half, level=level, doublings=float(np.ptp(lx)))


def gamma_at_lower_bound(a: AxisAnalysis) -> bool:
    """The chosen law is the power law + floor with its floor on the lower bound."""
    if a.chosen != "power_law":
        return False
    f = a.fit
    return bool(f.params) and f.params["gamma"] <= f.intervals["gamma"][0] + 1e-12


def limits(a: AxisAnalysis) -> list[str]:
    """The chosen law's parameters on a search limit, in words."""
    out = []
    if a.fit is not None and a.fit.law != "log_linear" and bool(a.fit.batch.at_limit[0]):
        out.append("the exponent at its search limit")
    if gamma_at_lower_bound(a):
        out.append("the floor gamma at its lower bound")
    return out


def fit_status(a: AxisAnalysis, *, r2_min: float = R2_MIN, level: float = LEVEL) -> FitStatus:
    """The module's reading of ``a``."""
    t = trend(a.x, a.y, higher_is_better=a.higher_is_better, level=level)
    problems = []
    if a.fit is None:
        problems.append("no law identified")
    else:
        if not a.fit.r2 >= r2_min:
            problems.append(f"R^2 {a.fit.r2:.3f} < {r2_min:g}")
        problems += limits(a)
    if not problems:
        return FitStatus("fits", "", t)
    if t is not None and t.lower <= 0 <= t.upper:
        min_gain = a.verdict.min_gain
        told = (f"gains of {min_gain:g} per doubling are ruled out" if t.upper < min_gain
                else f"too noisy to rule out gains of {min_gain:g} per doubling")
        return FitStatus("flat", f"no trend over {t.doublings:.1f} doublings: {t.text}, {t.level:.0%}; {told}", t)
    trend_text = "" if t is None else f" (trend {t.text}, {t.level:.0%})"
    return FitStatus("not identified", "; ".join(problems) + trend_text, t)
