"""The seed table of a study (Ardalani et al. 2022): data, parameter and compute rows,
and how its form compares with the published one.

Rows and their x: ``data`` is the data axis against training examples; ``parameter``
holds every parameter axis (vertical, horizontal, over-arch, MLP, overall) against total
parameters; ``compute`` holds one entry per isoFLOP approach (the size axis a spec's
``compute:`` part varies), each the metric reached at every budget by its best size,
against training FLOPs. The best-approach column of the compute row thus ranks the
approaches by what a doubling of compute buys when it is spent growing that axis.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from analysis.compute import best_by_approach
from analysis.fits import AxisFit, bayes_floor, higher_is_better
from analysis.load import AxisPoints, axes_of, axis_points
from scaling import AxisData, FitError, SeedTable, fit_power_law, seed_table
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

# The table as the brief's slides report it (Ardalani et al. 2022, NE = beta x^-alpha + gamma).
PUBLISHED = (
    {"scaling": "data", "alpha": "0.07", "beta": "0.09 - 0.12", "gamma": "0.97 - 0.98", "R^2": "0.999",
     "saturated": "no", "best approach": "V > H > O > M"},
    {"scaling": "parameter", "alpha": "(0, 0.5]", "beta": "0.4 - 7.6", "gamma": "0.97 - 1", "R^2": "0.9",
     "saturated": "yes", "best approach": "V ~ H ~ O ~ M"},
    {"scaling": "compute", "alpha": "0.11", "beta": "0.12 - 0.15", "gamma": "0.98", "R^2": "0.999",
     "saturated": "no", "best approach": "M > O > H"},
)


def study_points(records: list[TrialRecord], *, metric: str = "ne") -> dict[str, dict[str, AxisPoints]]:
    """``{row kind: {axis or approach: points}}`` with x in the row's unit."""
    study: dict[str, dict[str, AxisPoints]] = {}
    for axis in axes_of(records):
        if axis not in ROW_OF_AXIS or axis == "compute":
            continue
        kind, x = ROW_OF_AXIS[axis]
        study.setdefault(kind, {})[axis] = axis_points(records, axis, metric=metric, x=x)
    for (arch, approach), best in best_by_approach(records, metric).items():
        study.setdefault("compute", {})[approach] = axis_points(best, "compute", metric=metric, x="flops")
    return study


def _axis_data(pts: AxisPoints) -> AxisData:
    # Resampling whole seeds says little with few of them (2 seeds: 3 distinct resamples).
    groups = pts.seeds if np.unique(pts.seeds).size >= MIN_SEED_GROUPS else None
    return AxisData(pts.x, pts.y, groups)


def study_axes(records: list[TrialRecord], *, metric: str = "ne") -> dict[str, dict[str, AxisData]]:
    return {kind: {a: _axis_data(p) for a, p in axes.items()} for kind, axes in study_points(records, metric=metric).items()}


def study_table(records: list[TrialRecord], *, metric: str = "ne", n_resamples: int = 200) -> SeedTable:
    """The seed table; raises FitError naming the first axis that cannot be fitted."""
    return seed_table(
        study_axes(records, metric=metric),
        higher_is_better=higher_is_better(metric),
        n_resamples=n_resamples,
        gamma_min=bayes_floor(records) if metric == "ne" else None,
    )


@dataclasses.dataclass(frozen=True)
class Study:
    """The seed table of the axes that could be fitted, their fits (with points and
    bootstrap) keyed by (row kind, axis), and why any other axis was left out."""

    metric: str
    table: SeedTable | None
    fits: dict[tuple[str, str], AxisFit]
    skipped: dict[tuple[str, str], str]
    error: str = ""

    def row_fits(self, kind: str) -> dict[str, AxisFit]:
        return {axis: af for (k, axis), af in self.fits.items() if k == kind}


def build_study(records: list[TrialRecord], *, metric: str = "ne", n_resamples: int = 200) -> Study:
    """Like :func:`study_table`, but an axis that cannot be fitted is left out (and named in
    ``skipped``) instead of failing the whole table. ``records`` should hold one architecture."""
    higher = higher_is_better(metric)
    floor = bayes_floor(records) if metric == "ne" else None
    points, skipped = {}, {}
    for kind, axes in study_points(records, metric=metric).items():
        for axis, pts in axes.items():
            try:
                fit_power_law(pts.x, pts.y, gamma_min=floor, higher_is_better=higher)
            except FitError as e:
                skipped[(kind, axis)] = str(e)
                continue
            points.setdefault(kind, {})[axis] = pts
    if not points:
        return Study(metric, None, {}, skipped, "no axis has enough points for a fit")
    try:
        table = seed_table({k: {a: _axis_data(p) for a, p in v.items()} for k, v in points.items()},
                           higher_is_better=higher, n_resamples=n_resamples, gamma_min=floor)
    except FitError as e:
        return Study(metric, None, {}, skipped, str(e))
    fits = {(r.kind, r.axis): AxisFit(points[r.kind][r.axis], r.fit, boot=r.bootstrap) for r in table.axes}
    return Study(metric, table, fits, skipped)


def _tie_groups(text: str, keep: set[str]) -> list[frozenset[str]]:
    """``"M > O ~ H"`` -> [{M}, {O, H}], restricted to the codes in ``keep``."""
    groups = [frozenset(c.strip() for c in part.split("~")) & keep for part in text.split(">")]
    return [g for g in groups if g]


def compare_form(table: SeedTable | None) -> list[dict[str, str]]:
    """Row by row, the saturation verdict and best-approach order next to the published ones,
    each judged ``agrees``, ``differs`` or ``not measured``. Approaches are compared on the
    codes both tables rank; ties (``~``) must match as well as the order."""
    ours = {row.kind: row for row in table.rows} if table is not None else {}
    out = []
    for pub in PUBLISHED:
        kind, row = pub["scaling"], ours.get(pub["scaling"])
        item = {"scaling": kind, "published saturated": pub["saturated"], "published best": pub["best approach"]}
        if row is None:
            item.update({"ours saturated": "-", "ours best": "-", "saturation": "not measured", "approaches": "not measured"})
            out.append(item)
            continue
        item["ours saturated"], item["ours best"] = row.saturated, row.best_approach
        item["saturation"] = "agrees" if row.saturated == pub["saturated"] else "differs"
        codes = {c.strip() for c in row.best_approach.replace(">", "~").split("~")}
        common = codes & {c.strip() for c in pub["best approach"].replace(">", "~").split("~")}
        if row.best_approach == "-" or len(common) < 2:
            item["approaches"] = "not measured"
        else:
            same = _tie_groups(row.best_approach, common) == _tie_groups(pub["best approach"], common)
            item["approaches"] = "agrees" if same else "differs"
        out.append(item)
    return out


def published_markdown() -> str:
    cols = list(PUBLISHED[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(row[c] for c in cols) + " |" for row in PUBLISHED]
    return "\n".join(lines) + "\n"


def comparison_markdown(rows: list[dict[str, str]]) -> str:
    cols = ["scaling", "ours saturated", "published saturated", "saturation", "ours best", "published best", "approaches"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(row[c] for c in cols) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _ci(boot, name: str, fmt: str = ".3g") -> str:
    lo, hi = boot.interval(name)
    return f"[{lo:{fmt}}, {hi:{fmt}}]"


def axes_markdown(table: SeedTable) -> str:
    """Per axis of the table: the law with 95% CIs, R^2 and the saturation verdict with its numbers."""
    cols = ["row", "axis", "n", "alpha", "95% CI", "beta", "gamma", "95% CI", "R^2", "saturated", "gain/doubling",
            "floor", "doublings left", "notes"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for r in table.axes:
        f, sat = r.fit, r.saturation
        cells = [r.kind, r.axis, str(f.n_points), f"{f.alpha:.3f}", _ci(r.bootstrap, "alpha"), f"{f.beta:.3g}",
                 f"{f.gamma:.4f}", _ci(r.bootstrap, "gamma", ".4f"), f"{f.r2:.3f}", "yes" if sat.saturated else "no",
                 f"{sat.gain_per_doubling:.2g}", f"{sat.threshold:.2g} ({sat.threshold_source})",
                 f"{sat.doublings_left:.1f}", "; ".join(f.warnings)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def form_summary(rows: list[dict[str, str]]) -> str:
    """The comparison of :func:`compare_form` in words, one line per row of the table."""
    out = []
    for row in rows:
        kind = row["scaling"]
        if row["saturation"] == "not measured":
            out.append(f"- {kind}: not measured here (no {kind} axis could be fitted).")
            continue
        sat = (f"saturation {row['saturation']} (ours {row['ours saturated']}, published {row['published saturated']})")
        if row["approaches"] == "not measured":
            order = f"the order of approaches is not measured (ours: {row['ours best']}, published {row['published best']})"
        else:
            order = f"the order of approaches {row['approaches']} (ours {row['ours best']}, published {row['published best']})"
        out.append(f"- {kind}: {sat}; {order}.")
    return "\n".join(out)
