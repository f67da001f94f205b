"""The seed table of a study (Ardalani et al. 2022): data, parameter and compute rows,
and how its form compares with the published one.

Rows and their x: ``data`` is the data axis against training examples (with data axes
grown from labelled bases, ``axes: {data: {from: {vertical: ...}}}``, one entry per base,
named by its axis, so the best-approach column says which growth gains most from data;
the plain data axis is ``data``, code D); ``parameter``
holds every parameter axis, each against the parameters its growth changes
(:data:`analysis.fits.DEFAULT_X`: dense parameters for MLP and over-arch, total parameters
for vertical, horizontal and overall); ``compute`` holds one entry per isoFLOP approach
(the size axis a spec's ``compute:`` part varies), each the metric reached at every budget
by its best size, against training FLOPs. ``x=`` puts every axis on one x instead. The
best-approach column ranks axes by the gain per doubling of their own x at their largest
x; for the compute row, what a doubling of compute buys when spent growing that axis.
Verdicts and laws: :mod:`scaling.table`.
"""

from __future__ import annotations

import dataclasses

from analysis.compute import best_by_approach
from analysis.fits import (
    AxisFit,
    analyse_points,
    axes_markdown as axes_md,
    evidence_markdown as evidence_md,
    higher_is_better,
    record_floor,
    x_label,
    x_of,
)
from analysis.load import AxisPoints, axes_of, axis_points
from scaling import AxisData, SeedTable, seed_table
from scaling.table import AxisResult, assemble
from scaling.verdict import MIN_GAIN
from sweeps.store import TrialRecord, split_axis

# Which row of the seed table an axis belongs to.
ROW_OF_AXIS = {"data": "data", "horizontal": "parameter", "vertical": "parameter", "overarch": "parameter",
               "mlp": "parameter", "overall": "parameter", "compute": "compute"}
# The published verdicts are yes/no; ours are three-valued.
PUBLISHED_VERDICT = {"saturated": "yes", "not saturated": "no"}

# The table as the brief's slides report it (Ardalani et al. 2022, NE = beta x^-alpha + gamma).
PUBLISHED = (
    {"scaling": "data", "alpha": "0.07", "beta": "0.09 - 0.12", "gamma": "0.97 - 0.98", "R^2": "0.999",
     "saturated": "no", "best approach": "V > H > O > M"},
    {"scaling": "parameter", "alpha": "(0, 0.5]", "beta": "0.4 - 7.6", "gamma": "0.97 - 1", "R^2": "0.9",
     "saturated": "yes", "best approach": "V ~ H ~ O ~ M"},
    {"scaling": "compute", "alpha": "0.11", "beta": "0.12 - 0.15", "gamma": "0.98", "R^2": "0.999",
     "saturated": "no", "best approach": "M > O > H"},
)


def study_points(records: list[TrialRecord], *, metric: str = "ne",
                 x: str | None = None) -> dict[str, dict[str, AxisPoints]]:
    """``{row kind: {axis or approach: points}}`` with x per :func:`analysis.fits.x_of`."""
    study: dict[str, dict[str, AxisPoints]] = {}
    for axis in axes_of(records):
        kind, label = split_axis(axis)
        if kind not in ROW_OF_AXIS or kind == "compute":
            continue
        # A data axis grown from the base labelled ``vertical`` is the data row's ``vertical`` approach.
        study.setdefault(ROW_OF_AXIS[kind], {})[label or axis] = axis_points(records, axis, metric=metric, x=x_of(axis, x))
    for (_arch, approach), best in best_by_approach(records, metric).items():
        study.setdefault("compute", {})[approach] = axis_points(best, "compute", metric=metric, x=x_of("compute", x))
    return study


def _axis_data(pts: AxisPoints) -> AxisData:
    return AxisData(pts.x, pts.y, x_label(pts.x_kind))


def study_table(records: list[TrialRecord], *, metric: str = "ne", n_resamples: int = 200,
                min_gain: float = MIN_GAIN, x: str | None = None) -> SeedTable:
    """The seed table; raises FitError naming the first axis that cannot be fitted."""
    points = study_points(records, metric=metric, x=x)
    return seed_table(
        {kind: {a: _axis_data(p) for a, p in axes.items()} for kind, axes in points.items()},
        higher_is_better=higher_is_better(metric), n_resamples=n_resamples, min_gain=min_gain,
        gamma_min=record_floor(records) if metric == "ne" else None,
    )


@dataclasses.dataclass(frozen=True)
class Study:
    """The seed table of the axes that could be fitted, their fits (points and analysis)
    keyed by (row kind, axis), and why any other axis was left out."""

    metric: str
    table: SeedTable | None
    fits: dict[tuple[str, str], AxisFit]
    skipped: dict[tuple[str, str], str]
    error: str = ""

    def row_fits(self, kind: str) -> dict[str, AxisFit]:
        return {axis: af for (k, axis), af in self.fits.items() if k == kind}


def build_study(records: list[TrialRecord], *, metric: str = "ne", n_resamples: int = 200,
                min_gain: float = MIN_GAIN, x: str | None = None) -> Study:
    """Like :func:`study_table`, but an axis that cannot be fitted is left out (and named in
    ``skipped``) instead of failing the whole table. ``records`` should hold one architecture."""
    higher = higher_is_better(metric)
    floor = record_floor(records) if metric == "ne" else None
    results: dict[str, list[AxisResult]] = {}
    fits, skipped = {}, {}
    for kind, axes in study_points(records, metric=metric, x=x).items():
        for axis, pts in axes.items():
            af = analyse_points(pts, higher=higher, floor=floor, n_boot=n_resamples, seed=0, min_gain=min_gain)
            if af.analysis is None:
                skipped[(kind, axis)] = af.error
                continue
            results.setdefault(kind, []).append(AxisResult(kind=kind, axis=axis, analysis=af.analysis))
            fits[(kind, axis)] = af
    if not results:
        return Study(metric, None, {}, skipped, "no axis has enough points for a fit")
    return Study(metric, assemble(results, min_gain=min_gain), fits, skipped)


def _tie_groups(text: str, keep: set[str]) -> list[frozenset[str]]:
    """``"M > O ~ H"`` -> [{M}, {O, H}], restricted to the codes in ``keep``."""
    groups = [frozenset(c.strip() for c in part.split("~")) & keep for part in text.split(">")]
    return [g for g in groups if g]


def _saturation_agreement(row, published: str) -> str:
    """``agrees`` / ``differs`` for firm verdicts; ``undetermined`` when ours is not firm.
    A mixed row differs when any of its firm verdicts contradicts the published one."""
    verdicts = list(row.verdicts) or [row.verdict]
    firm = {PUBLISHED_VERDICT[v] for v in verdicts if v in PUBLISHED_VERDICT}
    if firm - {published}:
        return "differs"
    return "agrees" if firm and "undetermined" not in verdicts else "undetermined"


def compare_form(table: SeedTable | None) -> list[dict[str, str]]:
    """Row by row, the saturation verdict and best-approach order next to the published ones,
    each judged ``agrees``, ``differs``, ``undetermined`` (ours is not firm) or ``not
    measured``. Approaches are compared on the codes both tables rank; ties (``~``) must
    match as well as the order."""
    ours = {row.kind: row for row in table.rows} if table is not None else {}
    out = []
    for pub in PUBLISHED:
        kind, row = pub["scaling"], ours.get(pub["scaling"])
        item = {"scaling": kind, "published saturated": pub["saturated"], "published best": pub["best approach"]}
        if row is None:
            item.update({"ours saturated": "-", "ours best": "-", "saturation": "not measured", "approaches": "not measured"})
            out.append(item)
            continue
        item["ours saturated"], item["ours best"] = row.cells["saturated? [P(gain < min)]"], row.cells["best approach"]
        item["saturation"] = _saturation_agreement(row, pub["saturated"])
        codes = {c.strip() for c in row.cells["best approach"].replace(">", "~").split("~")}
        common = codes & {c.strip() for c in pub["best approach"].replace(">", "~").split("~")}
        if row.cells["best approach"] == "-" or len(common) < 2:
            item["approaches"] = "not measured"
        else:
            same = _tie_groups(row.cells["best approach"], common) == _tie_groups(pub["best approach"], common)
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


def axes_markdown(table: SeedTable) -> str:
    """Per axis of the table: x, the chosen law with 95% CIs, the verdict with its numbers (:func:`analysis.fits.axes_markdown`)."""
    return axes_md((r.kind, r.axis, r.analysis) for r in table.axes)


def evidence_markdown(table: SeedTable) -> str:
    """Per axis and law: the numbers or why not identified, AICc and leave-largest-out error."""
    return evidence_md((r.kind, r.axis, r.analysis) for r in table.axes)


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
