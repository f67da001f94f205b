"""The ``recscale`` command line: thin wrappers over sweeps, scaling and analysis."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

EXIT_BAD_INPUT = 2


def _sweep_dir(spec_name: str, out: str | None) -> Path:
    return Path(out) if out else Path("runs") / spec_name


def cmd_sweep_run(args) -> int:
    from sweeps import executors, runner, spec as spec_mod, tracking
    from sweeps.data import blocks

    spec = spec_mod.load(args.spec)
    spec_mod.expand(spec)  # every validation error surfaces before anything trains
    blocks.data_threads()  # and so does a malformed RECSCALE_DATA_THREADS
    if args.workers < 1 or args.retries < 0 or args.claim_timeout <= 0:
        print("recscale: error: --workers must be >= 1, --retries >= 0 and --claim-timeout > 0", file=sys.stderr)
        return EXIT_BAD_INPUT
    sweep_dir = _sweep_dir(spec.name, args.out)
    wandb = spec.wandb or (tracking.WandbConfig() if args.wandb else None)
    if args.executor == "ray":
        try:
            executor = executors.RayExecutor(args.address, num_cpus=args.workers if args.workers > 1 else None)
        except RuntimeError as e:
            print(f"recscale: error: {e}", file=sys.stderr)
            return EXIT_BAD_INPUT
    elif args.executor == "pool" or args.workers > 1:
        executor = executors.ProcessPool(args.workers)
    else:
        executor = executors.InProcess()
    print(f"sweep {spec.name!r} -> {sweep_dir} ({executor.name})", flush=True)
    s = runner.run(spec, sweep_dir, executor=executor, retries=args.retries, wandb=wandb, claim_timeout=args.claim_timeout,
                   checkpoint_dir=args.checkpoint_dir)
    print(
        f"done: {s.total} trials ({s.skipped} already recorded, {s.finished} finished, "
        f"{s.diverged} diverged, {s.failed} failed, {s.retried} retries) in {s.sweep_dir}"
    )
    if s.failed:
        print(f"recscale: {s.failed} trial(s) failed; their tracebacks are in their records", file=sys.stderr)
    return 1 if s.failed else 0


def cmd_sweep_status(args) -> int:
    from sweeps import claims, selection, spec as spec_mod, store

    sweep_dir = Path(args.sweep_dir)
    if not (sweep_dir / "spec.yaml").is_file():
        raise FileNotFoundError(f"no sweep at {sweep_dir} (missing spec.yaml)")
    planned = {t.trial_id for t in spec_mod.expand(spec_mod.load(sweep_dir / "spec.yaml"))}
    counts: dict[str, int] = {}
    recorded = set()
    records = list(store.read_all(sweep_dir))
    for r in records:
        counts[r.status] = counts.get(r.status, 0) + 1
        recorded.add(r.trial_id)
    held = [c for c in claims.read_all(sweep_dir) if c.trial_id in planned - recorded]
    running = [c for c in held if not c.stale(args.claim_timeout)]
    remaining = len(planned - recorded) - len(running)
    parts = [f"{k} {counts.get(k, 0)}" for k in ("finished", "diverged", "failed")]
    print(f"{sweep_dir}: {len(planned)} trials: " + ", ".join(parts) + f", running {len(running)}, remaining {remaining}")
    for c in held:
        state = "stale, to be taken over" if c.stale(args.claim_timeout) else "running"
        print(f"  {c.trial_id}: {state} on {c.host} pid {c.pid} for {time.time() - c.since:.0f}s, heartbeat {c.age():.0f}s ago")
    choices = selection.choose(records)  # from the records, so it is current even while a run goes on
    if choices:
        print("\n".join(selection.summary(choices)))
    return 0


def cmd_sweep_plan(args) -> int:
    from sweeps import plan, spec as spec_mod

    spec = spec_mod.load(args.spec)
    print(plan.format_plan(plan.plan(spec_mod.expand(spec))))
    return 0


def _records(args):
    from analysis import load

    records = load.load_records(args.sweep_dirs)
    if not records:
        raise FileNotFoundError(f"no finished trials in {', '.join(args.sweep_dirs)}")
    return records


def cmd_plot(args) -> int:
    from analysis import fits, plots
    from recscale.commands.fit import check_verdict_args

    check_verdict_args(args)
    records = _records(args)
    axis_fits = fits.fit_axes(records, metric=args.metric, x=args.x, n_boot=args.bootstrap, min_gain=args.min_gain)
    floor = fits.record_floor(records)
    fig = plots.scaling_panels(axis_fits, floor_ne=floor, title=", ".join(Path(d).name for d in args.sweep_dirs))
    out = Path(args.out) if args.out else Path(args.sweep_dirs[0]) / f"scaling_{args.metric}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
    return 0


def _add_fit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("sweep_dirs", nargs="+", metavar="SWEEP_DIR", help="sweep directories (runs/<name>)")
    p.add_argument("--metric", default="ne", help="metric to fit (default: ne)")
    p.add_argument(
        "--x", default=None, choices=["scale", "params", "embedding_params", "dense_params", "flops", "examples"],
        help="x-value of every point (default per axis: examples for data, dense parameters for MLP and over-arch, "
        "total parameters for the embedding and overall axes, FLOPs for compute)",
    )


def _add_claim_timeout(p: argparse.ArgumentParser) -> None:
    from sweeps.claims import DEFAULT_TIMEOUT_S

    p.add_argument(
        "--claim-timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
        help=f"a trial claim whose driver sent no heartbeat for S seconds is stale and taken over (default {DEFAULT_TIMEOUT_S:g})",
    )


def parser() -> argparse.ArgumentParser:
    from recscale.commands import fit as fit_command

    p = argparse.ArgumentParser(prog="recscale", description="Scaling-law sweeps for recommendation models.")
    sub = p.add_subparsers(dest="command", required=True)

    sweep = sub.add_parser("sweep", help="plan and run sweeps").add_subparsers(dest="sweep_command", required=True)
    run = sweep.add_parser("run", help="run (or resume) every trial of a spec")
    run.add_argument("spec", metavar="SPEC", help="sweep spec (YAML)")
    run.add_argument("--out", help="sweep directory (default: runs/<spec name>)")
    run.add_argument("--workers", type=int, default=1, metavar="N", help="train N trials at once in worker processes")
    run.add_argument(
        "--executor", choices=["local", "pool", "ray"], default="local",
        help="local: in this process (or a pool with --workers > 1); pool: worker processes; ray: Ray tasks",
    )
    run.add_argument("--address", help="Ray cluster address (with --executor ray; default: start a local instance)")
    run.add_argument("--retries", type=int, default=0, metavar="N", help="retry a failed trial up to N times")
    run.add_argument("--wandb", action="store_true", help="mirror every trial to wandb (offline without an API key)")
    run.add_argument("--checkpoint-dir", metavar="DIR",
                     help="where trials in progress checkpoint (default: DIR/checkpoints); a path every Ray node sees")
    _add_claim_timeout(run)
    run.set_defaults(func=cmd_sweep_run)
    status = sweep.add_parser("status", help="summarise a sweep: finished, diverged, failed, remaining, who runs what, "
                              "the variant chosen per point under a select")
    status.add_argument("sweep_dir", metavar="SWEEP_DIR")
    _add_claim_timeout(status)
    status.set_defaults(func=cmd_sweep_status)
    plan = sweep.add_parser("plan", help="print the expanded trials without running them")
    plan.add_argument("spec", metavar="SPEC")
    plan.set_defaults(func=cmd_sweep_plan)

    plot = sub.add_parser("plot", help="one PNG per sweep: a panel per axis with points, fit and the Bayes floor")
    _add_fit_args(plot)
    plot.add_argument("--out", help="PNG path (default: SWEEP_DIR/scaling_<metric>.png)")
    fit_command.add_verdict_args(plot)
    plot.set_defaults(func=cmd_plot)

    for module in _command_modules():
        module.register(sub)
    return p


def _command_modules():
    import importlib
    import pkgutil

    from recscale import commands

    names = sorted(m.name for m in pkgutil.iter_modules(commands.__path__))
    return [importlib.import_module(f"recscale.commands.{n}") for n in names]


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    args = parser().parse_args(argv)
    from sweeps.errors import InputError, SpecError

    try:
        return args.func(args)
    except SpecError as e:
        print(f"recscale: error: invalid spec: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InputError as e:
        print(f"recscale: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileNotFoundError as e:
        print(f"recscale: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
