"""Run a sweep as one JAX program over several processes (hosts): ``jax.distributed``.

    python -m sweeps.multihost SPEC --out DIR --coordinator HOST:PORT \\
        --num-processes N --process-id I [--local-devices K]

Every process runs the same command with its own ``--process-id``; after
``jax.distributed.initialize`` the mesh of ``sweeps/sharding.py`` spans the devices of all
processes, so a trial with ``train.sharding: row`` or ``table`` keeps each process's
share of the tables on its devices and splits each batch over all of them. Every process
trains every trial in the same order (each generates the same batches; XLA assembles the
global arrays from the slices each process holds). Process 0 writes the sweep's records
to ``--out``; the others write theirs under ``--out/hosts/<id>`` (the same numbers). Each
process skips the trials recorded in its own directory, so resuming needs every
process's directory as the killed run left it: a trial recorded by one process and not by
another would send them into different programs. Checkpoints go to ``--out/checkpoints``
for all processes (Orbax: each process writes the shards it holds, process 0 the
metadata), so a killed multi-host trial resumes from its last step when every process is
started again.

``--local-devices K`` makes K CPU devices per process (for trying it on one machine; on
CPU the collectives go through gloo). Spreading independent trials over machines, rather
than one trial over many, is the Ray executor's job
(``recscale sweep run SPEC --executor ray --address HOST:PORT``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m sweeps.multihost", description=__doc__.split("\n\n")[0])
    ap.add_argument("spec")
    ap.add_argument("--out", required=True)
    ap.add_argument("--coordinator", required=True, help="HOST:PORT of process 0")
    ap.add_argument("--num-processes", type=int, required=True)
    ap.add_argument("--process-id", type=int, required=True)
    ap.add_argument("--local-devices", type=int, default=0, help="CPU devices per process (0: the real devices)")
    args = ap.parse_args(argv)
    if args.local_devices:
        # must be set before jax creates its backends
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={args.local_devices}"
    import jax

    if jax.config.jax_platforms in (None, "", "cpu") and args.local_devices:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=args.coordinator, num_processes=args.num_processes, process_id=args.process_id
    )
    from sweeps import runner, spec as spec_mod

    out = Path(args.out) if args.process_id == 0 else Path(args.out) / "hosts" / str(args.process_id)
    print(f"process {args.process_id}/{args.num_processes}: {jax.local_device_count()} of {jax.device_count()} devices -> {out}", flush=True)
    # One checkpoint directory for all processes: each writes the shards it holds.
    summary = runner.run(spec_mod.load(args.spec), out, pack=False, checkpoint_dir=Path(args.out) / "checkpoints")
    print(f"process {args.process_id}: {summary.finished} finished, {summary.diverged} diverged, {summary.failed} failed", flush=True)
    raise SystemExit(1 if summary.failed else 0)


if __name__ == "__main__":
    main()
