"""Best scaling approach: rank axes by the quality gained per doubling.

For each axis (a per-axis fit with its bootstrap, x in a common unit such as parameters
or FLOPs), the gain is the metric improvement from ``x_ref`` to ``2 * x_ref`` under the
fitted law, with its bootstrap percentile interval. ``x_ref`` defaults to the largest x
that every axis has reached (the smallest of the axes' largest x). Axes are sorted by
gain, best first; two neighbours are joined by ``>`` when their intervals do not overlap
and by ``~`` (a tie) when they do, rendered as e.g. ``V > H > O ~ M``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from scaling.bootstrap import Bootstrap, percentile_interval
from scaling.validation import FitError

AXIS_CODES = {
    "vertical": "V", "horizontal": "H", "overarch": "O", "over_arch": "O", "over-arch": "O",
    "mlp": "M", "all_mlp": "M", "overall": "A", "data": "D", "compute": "C",
}


def axis_code(axis: str) -> str:
    """Single-letter code of a scaling axis (V, H, O, M, A, D, C); unknown names are kept whole."""
    return AXIS_CODES.get(axis.lower(), axis)


@dataclass(frozen=True)
class AxisGain:
    """Metric improvement per doubling of x at the reference point, with its interval."""

    axis: str
    code: str
    gain: float
    lower: float
    upper: float


@dataclass(frozen=True)
class ApproachRanking:
    """Axes best first, the relation (``>`` or ``~``) between each neighbouring pair."""

    x_ref: float
    gains: tuple[AxisGain, ...]
    relations: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def text(self) -> str:
        parts = [self.gains[0].code]
        for relation, gain in zip(self.relations, self.gains[1:]):
            parts += [relation, gain.code]
        return " ".join(parts)


def rank_axes(boots: Mapping[str, Bootstrap], *, x_ref: float | None = None) -> ApproachRanking:
    """Rank axes by gain per doubling at ``x_ref``; ties where bootstrap intervals overlap."""
    if not boots:
        raise FitError("rank_axes needs at least one axis")
    ref = min(b.fit.x_max for b in boots.values()) if x_ref is None else float(x_ref)
    if not ref > 0:
        raise FitError(f"x_ref must be positive, got {ref}")
    gains, notes = [], []
    for axis, boot in boots.items():
        if not boot.fit.x_min <= ref <= boot.fit.x_max:
            notes.append(f"x_ref {ref:.3g} lies outside the observed x of axis {axis}; its gain is extrapolated")
        lo, hi = percentile_interval(boot.gain_per_doubling_samples(ref), boot.level)
        gains.append(AxisGain(axis=axis, code=axis_code(axis), gain=float(boot.fit.gain_per_doubling(ref)),
                              lower=float(lo), upper=float(hi)))
    return order_gains(gains, x_ref=ref, warnings=notes)


def order_gains(gains: list[AxisGain], *, x_ref: float = float("nan"), warnings: list[str] = ()) -> ApproachRanking:
    """Sort axis gains best first; ``>`` where neighbouring intervals separate, ``~`` where they overlap.

    ``x_ref`` is NaN when each gain is taken at its own axis' largest x (the seed table's
    rows, whose axes may be measured in different x: a doubling is unit-free)."""
    if not gains:
        raise FitError("ranking needs at least one axis")
    ordered = sorted(gains, key=lambda g: g.gain, reverse=True)
    relations = tuple("~" if worse.upper >= better.lower else ">" for better, worse in zip(ordered, ordered[1:]))
    return ApproachRanking(x_ref=x_ref, gains=tuple(ordered), relations=relations, warnings=tuple(warnings))
