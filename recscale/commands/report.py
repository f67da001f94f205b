"""``recscale report SWEEP_DIR...``: a Markdown report with its PNGs beside it."""

from __future__ import annotations

import argparse
from pathlib import Path

from recscale.commands.fit import add_verdict_args, check_verdict_args


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="write a Markdown report (seed table, fits with CIs, saturation, ranking, figures, failures)",
    )
    p.add_argument("sweep_dirs", nargs="+", metavar="SWEEP_DIR", help="sweep directories (runs/<name>)")
    p.add_argument("--out", help="report directory (default: SWEEP_DIR/report for the first SWEEP_DIR)")
    p.add_argument("--metric", help="metric to report (default: ne, or one every architecture reports)")
    add_verdict_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analysis.report import write_report

    check_verdict_args(args)
    out = Path(args.out) if args.out else Path(args.sweep_dirs[0]) / "report"
    path = write_report(args.sweep_dirs, out, metric=args.metric, n_boot=args.bootstrap, min_gain=args.min_gain)
    print(f"wrote {path}")
    return 0
