"""A self-contained Markdown report of one or several sweeps, with its PNGs beside it.

Sections: the trials; under a spec's ``select:``, the variant chosen per point (every
variant is counted among the trials and listed if it failed or diverged; the fits use the
chosen ones only); per architecture the seed table next to the published one, the
per-axis laws (chosen by AICc and leave-largest-out error) with their three-valued
saturation verdicts, the evidence for each law and the best-approach ranking; the per-axis
table of ``recscale fit``; compute (frontier, isoFLOP);
the architecture comparison when the records hold several; the figures; the trials that
failed or diverged.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Iterable

from matplotlib.figure import Figure

from analysis import compare, compute, fits, load, plots, plots_compute, study
from scaling import FitError
from scaling.verdict import MIN_GAIN
from sweeps import selection
from sweeps.errors import InputError
from sweeps.store import TrialRecord

REPORT_NAME = "report.md"


def md_table(columns: list[str], rows: Iterable[Iterable[object]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "/").replace("\n", " ") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


class _Writer:
    """Collects Markdown and saves figures beside it (file names are the report's links)."""

    def __init__(self, out_dir: Path, dpi: int):
        self.out_dir, self.dpi, self.parts, self.figures = out_dir, dpi, [], []

    def add(self, text: str) -> None:
        self.parts.append(text.rstrip() + "\n")

    def figure(self, fig: Figure, name: str, caption: str) -> None:
        fig.savefig(self.out_dir / name, dpi=self.dpi)
        self.figures.append(name)
        self.add(f"![{caption}]({name})\n\n*{caption}*\n")


def write_report(sweep_dirs: Iterable[str | Path], out_dir: str | Path, *, metric: str | None = None,
                 n_boot: int = 200, dpi: int = 100, min_gain: float = MIN_GAIN) -> Path:
    """Write ``out_dir/report.md`` and its figures; return the report's path.

    Sweeps are named by their path relative to the report's directory, never by an
    absolute path of the machine that wrote it. Raises InputError when a directory is
    missing or holds no finished trial.
    """
    dirs = [Path(d) for d in sweep_dirs]
    for d in dirs:
        if not (d / "trials").is_dir():
            raise InputError(f"no sweep at {d} (no trials/ directory)")
    records = load.load_records(dirs, status=None, variants="all")
    done = load.finished(r for r in records if selection.is_chosen(r))
    if not done:
        raise InputError(f"no finished trials in {', '.join(map(str, dirs))}")
    try:
        metric = metric or compare.common_metric(done)
    except FitError as e:
        raise InputError(str(e)) from None
    if not any(metric in r.final_metrics for r in done):
        raise InputError(f"no finished trial reports the metric {metric!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    w = _Writer(out, dpi)
    floor = fits.record_floor(done) if metric == "ne" else None
    archs = sorted({r.arch for r in done})

    w.add(f"# recscale report: {', '.join(d.name for d in dirs)}\n")
    w.add(_overview([relative_to(d, out) for d in dirs], records, metric, floor))
    if any(r.selection for r in records):
        w.add(_selection(records))
    for i, arch in enumerate(archs):
        _study_section(w, [r for r in done if r.arch == arch], arch, metric, floor, n_boot, len(archs) > 1, i == 0,
                       min_gain)
    _fits_section(w, done, metric, floor, n_boot, min_gain)
    _compute_section(w, done, metric, n_boot)
    if len(archs) > 1:
        _comparison_section(w, done, metric, n_boot)
    w.add("## Learning curves\n")
    w.figure(plots.learning_curves(done, metric=metric), "learning_curves.png", f"{metric} during training, every trial")
    w.add(_failures(records))
    path = out / REPORT_NAME
    path.write_text("\n".join(w.parts))
    return path


def _repository(where: Path) -> Path | None:
    """The nearest directory at or above ``where`` holding ``.git``, if any."""
    return next((d for d in (where, *where.parents) if (d / ".git").exists()), None)


def relative_to(path: Path, base: Path) -> str:
    """``path`` as seen from directory ``base`` (POSIX separators), or its name where no
    relative path exists (another drive) or where ``base`` is in a git repository and
    ``path`` is not in it (a path out of the repository would name the machine's layout):
    a report never holds an absolute machine path."""
    path, base = Path(path).resolve(), Path(base).resolve()
    repo = _repository(base)
    if repo is not None and not path.is_relative_to(repo):
        return path.name
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:
        return path.name


def _overview(dirs: list[str], records: list[TrialRecord], metric: str, floor: float | None) -> str:
    counts = Counter((r.arch, r.status) for r in records)
    archs = sorted({a for a, _ in counts})
    rows = [[a, *(counts.get((a, s), 0) for s in load.STATUSES)] for a in archs]
    text = f"Sweeps: {', '.join(f'`{d}`' for d in dirs)}. Metric: **{metric}**"
    text += f" (Bayes-optimal NE of the eval set, the floor: {floor:.4f}).\n\n" if floor is not None else ".\n\n"
    return "## Trials\n\n" + text + md_table(["arch", *load.STATUSES], rows)


def _study_section(w: _Writer, recs: list[TrialRecord], arch: str, metric: str, floor: float | None,
                   n_boot: int, several: bool, first: bool, min_gain: float) -> None:
    w.add(f"## Seed table: {arch}\n")
    s = study.build_study(recs, metric=metric, n_resamples=max(n_boot, 20), min_gain=min_gain)
    for (kind, axis), why in s.skipped.items():
        w.add(f"- left out {kind} / {axis}: {why}")
    if s.table is None:
        w.add(f"No seed table: {s.error}\n")
        return
    w.add("Ours (x per axis as stated: dense parameters for MLP and over-arch, total parameters for the embedding "
          "and overall axes, each compute approach at its best size per budget; the law of each axis chosen by "
          "AICc and leave-largest-out error):\n\n" + s.table.markdown() + "\n" + s.table.caption() + "\n")
    if first:
        w.add("Published (Ardalani et al. 2022, as the brief reports it; Meta data, so only the *form* compares):\n\n"
              + study.published_markdown())
    w.add("Form, row by row:\n\n" + study.comparison_markdown(study.compare_form(s.table)))
    w.add("Form, in words:\n\n" + study.form_summary(study.compare_form(s.table)) + "\n")
    w.add(f"### Per-axis laws and saturation verdicts\n\nSaturated / not saturated: the {s.table.level:.0%} "
          "bootstrap interval of the gain per doubling at the largest x lies wholly below / above the min gain "
          f"({s.table.min_gain:g}, metric units); undetermined: it straddles it. P(gain < min): the share of "
          "resamples below. Measured: the change of the mean over seeds over the last step of x, per doubling, "
          "± its standard error. Reading: *fits* when the chosen law has R^2 >= 0.95 and no parameter on a "
          "search limit; otherwise *flat* (the 95% interval of the average gain per doubling over the whole "
          "range contains 0) or *not identified* (a trend no law fits well enough), with the reason; a law's "
          "numbers are read as a scaling law only where it fits.\n\n" + study.axes_markdown(s.table))
    w.add("### Which law, by evidence\n\n" + study.evidence_markdown(s.table))
    w.add("### Best approach\n")
    for row in s.table.rows:
        mine = [r for r in s.table.axes if r.kind == row.kind]
        if len(mine) < 2:
            w.add(f"- {row.kind}: one axis, nothing to rank.")
            continue
        gains = ", ".join(f"{r.axis} {r.analysis.verdict.gain:.2g} [{r.analysis.verdict.lower:.2g}, "
                          f"{r.analysis.verdict.upper:.2g}]" for r in mine)
        w.add(f"- {row.kind}: **{row.cells['best approach']}** (gain per doubling of each axis' x at its largest x: "
              f"{gains})")
    prefix = f"{arch}_" if several else ""
    params = s.row_fits("parameter")
    if params:
        w.figure(plots.parameter_panels(params, floor_ne=floor, title=f"{arch}: parameter scaling"),
                 f"{prefix}parameter_scaling.png", f"{arch}: the four parameter-scaling schemes, each against its x")
    for kind, xlabel in (("data", "training examples"), ("compute", "training FLOPs")):
        row = s.row_fits(kind)
        if row:
            w.figure(plots.law_figure(row, xlabel=xlabel, title=f"{arch}: {kind} scaling", floor_ne=floor),
                     f"{prefix}{kind}_scaling.png", f"{arch}: {kind} scaling with the chosen law and 95% band")


def _fits_section(w: _Writer, recs: list[TrialRecord], metric: str, floor: float | None, n_boot: int,
                  min_gain: float) -> None:
    axis_fits = fits.fit_axes(recs, metric=metric, n_boot=n_boot, min_gain=min_gain)
    w.add("## Per-axis fits (`recscale fit`: every trial, x per axis as stated)\n")
    w.add("```\n" + fits.format_table(axis_fits, floor) + "\n```\n")
    if axis_fits:
        w.figure(plots.scaling_panels(axis_fits, floor_ne=floor), "scaling_axes.png", "every axis against its x")


def _compute_section(w: _Writer, recs: list[TrialRecord], metric: str, n_boot: int) -> None:
    w.add("## Compute\n")
    fronts = []
    for arch in sorted({r.arch for r in recs}):
        try:
            fronts.append(compute.frontier([r for r in recs if r.arch == arch], metric=metric, label=arch, n_boot=n_boot))
        except FitError as e:
            w.add(f"- {arch}: no frontier: {e}")
    for fr in fronts:
        law = f"law R² {fr.fit.r2:.3f}" if fr.fit is not None else "no law: " + "; ".join(fr.frontier.warnings)
        w.add(f"- {fr.label}: {len(fr.frontier.flops)} of {len(fr.x)} trials on the frontier; {law}")
    if fronts:
        w.figure(plots_compute.frontier_figure(fronts), "frontier.png", f"best {metric} reached at or below each FLOP count")
    studies, notes = compute.isoflops(recs, metric=metric)
    for note in notes:
        w.add(f"- isoFLOP {note}")
    for iso in studies:
        a = iso.analysis
        # A vertex outside the sampled sizes is an extrapolation (it can fall below the floor): not shown.
        rows = [[f"{p.budget:.3g}", p.n_points, f"{p.n_opt:.3g}" if p.interior else "outside the grid",
                 f"{p.value_opt:.4g}" if p.interior else "-", "yes" if p.interior else "no"] for p in a.parabolas]
        law = f"N_opt ∝ C^{a.exponent:.3f} (R² {a.r2:.3f})" if a.exponent == a.exponent else "no law of N_opt in C"
        w.add(f"### IsoFLOP: {iso.label}\n\n{law}.\n\n"
              + md_table(["budget", "trials", "optimal size", f"{metric} at optimum", "interior"], rows)
              + "".join(f"- {n}\n" for n in a.warnings))
        w.figure(plots_compute.isoflop_figure(iso), f"isoflop_{iso.arch}_{iso.approach}.png", f"isoFLOP parabolas, {iso.label}")


def _comparison_section(w: _Writer, recs: list[TrialRecord], metric: str, n_boot: int) -> None:
    w.add("## Architecture comparison\n")
    cmps = compare.compare_archs(recs, metric=metric, n_boot=n_boot)
    for cmp in cmps.values():
        w.add(compare.conclusion(cmp) + "\n")
        w.add("".join(f"- note: {n}\n" for n in cmp.notes))
    w.figure(plots_compute.comparison_figure(cmps), "architectures.png",
             f"{metric} against training FLOPs and parameters, per architecture, with the laws of their frontiers")


def _selection(records: list[TrialRecord]) -> str:
    """Per selection group: where the point lies, the chosen variant and each variant's mean validation metric."""
    choices = selection.choose(records)
    rows = []
    for c in choices.values():
        tried = "; ".join(f"{selection.variant_label(v.variant)}: " + (f"{v.mean:.5g}" if v.mean is not None else v.problem)
                          for v in c.variants)
        chosen = selection.variant_label(c.chosen.variant) if c.chosen is not None else c.status
        rows.append([c.group, selection.variant_label(c.axes) or "base", f"{c.by} ({c.goal})", chosen, tried])
    n = selection.counts(choices)
    return (f"## Selection\n\nEvery point trained in every variant; the fits use the variant with the best mean "
            f"validation metric over its seeds (never the evaluation set). {n['chosen']} of {len(choices)} points chosen, "
            f"{n['incomplete']} incomplete, {n['none']} with no usable variant (left out of the fits).\n\n"
            + md_table(["group", "point", "by", "chosen", "validation mean per variant"], rows))


def _failures(records: list[TrialRecord]) -> str:
    bad = load.unfinished(records)
    if not bad:
        return "## Failed or diverged trials\n\nNone.\n"
    rows = []
    for r in bad:
        lines = (r.message or "").strip().splitlines()
        rows.append([r.sweep, r.trial_id, r.arch, r.seed, ", ".join(f"{k}={v}" for k, v in r.axes.items()), r.status,
                     lines[-1][:160] if lines else ""])
    return "## Failed or diverged trials\n\n" + md_table(["sweep", "trial", "arch", "seed", "axes", "status", "message"], rows)
