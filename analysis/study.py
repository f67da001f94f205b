"""The seed table of a study (Ardalani et al. 2022): data, parameter and compute rows."""

from __future__ import annotations

import numpy as np

from analysis.load import axes_of, axis_points
from scaling import AxisData, SeedTable, seed_table
from sweeps.store import TrialRecord

# Which row of the seed table an axis belongs to, and the x it is measured in there.
ROW_OF_AXIS = {
    "data": ("data", "examples"),
    "horizontal": ("parameter", "params"),
    "vertical": ("parameter", "params"),
    "overarch": ("parameter", "params"),
    "mlp": ("parameter", "params"),
    "overall": ("parameter", "params"),
    "compute": ("compute", "flops"),
}


MIN_SEED_GROUPS = 5


def study_axes(records: list[TrialRecord], *, metric: str = "ne") -> dict[str, dict[str, AxisData]]:
    study: dict[str, dict[str, AxisData]] = {}
    for axis in axes_of(records):
        if axis not in ROW_OF_AXIS:
            continue
        kind, x = ROW_OF_AXIS[axis]
        pts = axis_points(records, axis, metric=metric, x=x)
        # Resampling whole seeds says little with few of them (2 seeds: 3 distinct resamples).
        groups = pts.seeds if np.unique(pts.seeds).size >= MIN_SEED_GROUPS else None
        study.setdefault(kind, {})[axis] = AxisData(pts.x, pts.y, groups)
    return study


def study_table(records: list[TrialRecord], *, metric: str = "ne", n_resamples: int = 200) -> SeedTable:
    from analysis.fits import bayes_floor, higher_is_better

    return seed_table(
        study_axes(records, metric=metric),
        higher_is_better=higher_is_better(metric),
        n_resamples=n_resamples,
        gamma_min=bayes_floor(records) if metric == "ne" else None,
    )
