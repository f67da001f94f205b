"""Engine overhead per trial (plan, dispatch, store) against the smallest quickstart trial.

Run: python benchmarks/bench_engine.py [--trials 8]

For each executor, a sweep of N trials of the quickstart's smallest trial (data=32768,
distinct seeds) runs into a fresh directory. Training time is what the records report
(wall time inside ``run_trial``); overhead = sweep wall time x workers - summed trial
time, per trial. Worker start-up (spawning processes, starting Ray) is reported apart.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sweeps import executors, runner, spec as spec_mod, store
from sweeps.progress import Progress


def _spec(n: int) -> spec_mod.SweepSpec:
    raw = spec_mod._read(Path(__file__).parents[1] / "sweeps/specs/quickstart.yaml")
    raw.update(name="bench_engine", seeds=list(range(n)), axes={"data": [32768]})
    return spec_mod.parse(raw)


def _measure(name: str, make, n: int, workers: int) -> dict:
    spec = _spec(n)
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        executor = make()
        startup = time.perf_counter() - t
        t = time.perf_counter()
        runner.run(spec, d, executor=executor, progress=Progress(open(os.devnull, "w")))
        wall = time.perf_counter() - t
        recs = list(store.read_all(d))
    trained = sum(r.wall_time_s for r in recs)
    return {
        "executor": name,
        "trials": len(recs),
        "startup_s": startup,
        "wall_s": wall,
        "train_s_per_trial": trained / len(recs),
        "overhead_s_per_trial": max(0.0, wall * workers - trained) / len(recs),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=8)
    args = ap.parse_args()
    n = args.trials
    t = time.perf_counter()
    planned = spec_mod.expand(_spec(n))
    print(f"plan: {len(planned)} trials expanded in {(time.perf_counter() - t) * 1e3:.1f} ms")
    rows = [_measure("in-process", executors.InProcess, n, 1)]
    rows.append(_measure("pool x2", lambda: executors.ProcessPool(2), n, 2))
    try:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        rows.append(_measure("ray (local, 2 cpus)", lambda: executors.RayExecutor(num_cpus=2), n, 2))
    except RuntimeError as e:
        print(f"ray: skipped ({e})")
    print(f"{'executor':<20} {'trials':>6} {'startup s':>10} {'wall s':>8} {'train s/trial':>14} {'overhead s/trial':>17} {'overhead/train':>15}")
    for r in rows:
        print(
            f"{r['executor']:<20} {r['trials']:>6} {r['startup_s']:>10.2f} {r['wall_s']:>8.2f} {r['train_s_per_trial']:>14.3f} "
            f"{r['overhead_s_per_trial']:>17.3f} {r['overhead_s_per_trial'] / r['train_s_per_trial']:>15.2f}"
        )


if __name__ == "__main__":
    main()
