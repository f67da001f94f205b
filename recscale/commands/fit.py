"""``recscale fit``: the per-axis laws and saturation verdicts of sweeps, or of any table of numbers.

``recscale fit SWEEP_DIR... [--table]`` analyses every axis of the sweeps (x per axis:
``analysis.fits.DEFAULT_X``, or ``--x`` for all); ``recscale fit --csv FILE --x COL --y COL
[--group COL] [--higher-is-better]`` does the same for the rows of a CSV file. Every verdict
is three-valued with its probability against ``--min-gain`` (``scaling.verdict``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sweeps.errors import InputError

SWEEP_X = ("scale", "params", "embedding_params", "dense_params", "flops", "examples")
MIN_GAIN_HELP = ("saturation threshold: the gain per doubling of x at the largest x, in the metric's units "
                 "(default: scaling.verdict.MIN_GAIN, {}; justified there)")


# One default for every command that judges axes (fit, plot, report): with fewer resamples
# a verdict near its threshold can differ between the table and the figure of one sweep.
BOOTSTRAP = 1000


def add_verdict_args(p: argparse.ArgumentParser) -> None:
    """``--bootstrap`` and ``--min-gain`` (its default is resolved when the command runs:
    importing scaling is slow)."""
    p.add_argument("--bootstrap", type=int, default=BOOTSTRAP, metavar="N",
                   help=f"bootstrap resamples for intervals, bands and verdicts (default {BOOTSTRAP})")
    p.add_argument("--min-gain", type=float, default=None, metavar="G", help=MIN_GAIN_HELP.format("0.001 per doubling"))


def check_verdict_args(args: argparse.Namespace) -> None:
    """Resolve the default threshold; refuse one that is not a positive number, or fewer than
    2 resamples (exit 2)."""
    from scaling.verdict import MIN_GAIN

    if args.bootstrap < 2:
        raise InputError(f"--bootstrap must be at least 2, got {args.bootstrap}")
    if args.min_gain is None:
        args.min_gain = MIN_GAIN
    elif not args.min_gain > 0 or args.min_gain == float("inf"):
        raise InputError(f"--min-gain must be a positive number (metric units per doubling), got {args.min_gain}")


def register(subparsers) -> None:
    p = subparsers.add_parser("fit", help="per-axis laws chosen by evidence, with three-valued saturation verdicts")
    p.add_argument("sweep_dirs", nargs="*", metavar="SWEEP_DIR", help="sweep directories (runs/<name>)")
    p.add_argument("--csv", metavar="FILE", help="fit the rows of a CSV file instead of sweeps (with --x and --y)")
    p.add_argument("--x", help="sweeps: x of every axis, one of " + ", ".join(SWEEP_X) +
                   " (default: per axis, dense parameters for MLP/over-arch...); --csv: the x column")
    p.add_argument("--y", help="--csv: the metric column")
    p.add_argument("--group", metavar="COL", help="--csv: one curve per value of this column")
    p.add_argument("--higher-is-better", action="store_true",
                   help="--csv: the metric improves upwards (default: implied by the --y name: auc, hr@K, ndcg@K, mrr)")
    p.add_argument("--metric", default="ne", help="sweeps: metric to fit (default: ne)")
    p.add_argument("--json", action="store_true", help="print the fits as JSON")
    p.add_argument("--table", action="store_true", help="sweeps: also the seed table (data / parameter / compute rows)")
    p.add_argument("--plot", metavar="PNG", help="also write the figure (one panel per axis or group) to PNG")
    add_verdict_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_verdict_args(args)
    if args.csv:
        if args.sweep_dirs:
            raise InputError("give sweep directories or --csv FILE, not both")
        return _csv(args)
    if not args.sweep_dirs:
        raise InputError("give at least one SWEEP_DIR, or --csv FILE --x COL --y COL")
    for flag in ("y", "group", "higher_is_better"):
        if getattr(args, flag):
            raise InputError(f"--{flag.replace('_', '-')} goes with --csv (for sweeps the metric's name decides)")
    if args.x is not None and args.x not in SWEEP_X:
        raise InputError(f"--x for sweeps must be one of {', '.join(SWEEP_X)}, got {args.x!r}")
    return _sweeps(args)


def _csv(args: argparse.Namespace) -> int:
    from analysis import tabular

    if not args.x or not args.y:
        raise InputError("--csv needs --x COL and --y COL")
    result = tabular.fit_table(Path(args.csv), x=args.x, y=args.y, group=args.group,
                               higher_is_better=True if args.higher_is_better else None, min_gain=args.min_gain,
                               n_resamples=args.bootstrap)
    if args.json:
        print(json.dumps({"x": args.x, "y": args.y, "curves": result.rows()}, indent=1))
    else:
        print(f"{args.csv}: {args.y} against {args.x}\n")
        print(result.text())
    if args.plot:
        _save(result.figure(title=Path(args.csv).name), args.plot)
    return 0


def _sweeps(args: argparse.Namespace) -> int:
    from analysis import fits, load, plots, study
    from scaling import FitError

    records = load.load_records(args.sweep_dirs)
    if not records:
        raise FileNotFoundError(f"no finished trials in {', '.join(args.sweep_dirs)}")
    floor = fits.record_floor(records)
    axis_fits = fits.fit_axes(records, metric=args.metric, x=args.x, n_boot=args.bootstrap, min_gain=args.min_gain)
    table, table_error = None, ""
    if args.table:
        try:
            table = study.study_table(records, metric=args.metric, n_resamples=args.bootstrap,
                                      min_gain=args.min_gain, x=args.x)
        except FitError as e:
            table_error = f"seed table not available: {e}"
    if args.json:
        out = {"floor_ne": floor, "min_gain": args.min_gain, "axes": fits.fit_rows(axis_fits)}
        if table is not None:
            out["seed_table"] = table.records()
        if table_error:
            out["seed_table_error"] = table_error
        print(json.dumps(out, indent=1))
    else:
        print(fits.format_table(axis_fits, floor if args.metric == "ne" else None))
        if table_error:
            print(table_error)
        if table is not None:
            print("\nSeed table (the x of each axis is stated; law chosen by AICc and leave-largest-out error):\n")
            print(table.markdown())
            print(table.caption() + "\n")
            print(study.axes_markdown(table))
            print(study.evidence_markdown(table))
    if args.plot:
        _save(plots.scaling_panels(axis_fits, floor_ne=floor), args.plot)
    return 0


def _save(fig, path: str) -> None:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
