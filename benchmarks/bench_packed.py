"""Trials per hour, packed (seeds and learning rates of one shape in one vmapped program)
against one by one, for the quickstart's smallest trials.

Run: python benchmarks/bench_packed.py [--seeds 4] [--lrs 0.003 0.01]

Each case is a sweep of one quickstart point (its base with one axis at its smallest
value) over ``--seeds`` x ``--lrs`` trials. Both modes run the whole sweep through
``runner.run`` in a fresh process, so compilation, data generation, evaluation and
record writing all count, as in a real sweep. Other processes on the machine distort the
absolute rates; the cases run back to back so the ratio is the figure to read.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "data=32768": {"data.examples": 32768},
    "horizontal=1": {"model.embed_dim": 1},
    "vertical=8": {"model.rows": 8},
    "mlp=4": {"model.bottom_mlp": [4, 2], "model.top_mlp": [4, 2]},
}

CHILD = """
import json, os, sys, time
from pathlib import Path
from sweeps import runner, spec as spec_mod, store
from sweeps.progress import Progress
raw, out, pack = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
t = time.perf_counter()
runner.run(spec_mod.parse(raw), out, pack=pack, progress=Progress(open(os.devnull, "w")))
wall = time.perf_counter() - t
recs = list(store.read_all(out))
print(json.dumps({"wall": wall, "trials": len(recs), "finished": sum(r.status == "finished" for r in recs),
                  "compile": sum(r.compile_time_s for r in recs)}))
"""


def _spec(case: dict, seeds: int, lrs: list[float]) -> dict:
    import yaml

    raw = yaml.safe_load((ROOT / "sweeps/specs/quickstart.yaml").read_text())
    base = {**raw["base"], **case}
    return {"name": "bench_packed", "arch": "dlrm", "seeds": list(range(seeds)), "base": base, "grid": {"optim.lr": lrs}}


def _run(raw: dict, pack: bool) -> dict:
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(raw), str(Path(d) / "sweep"), "1" if pack else "0"],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--lrs", type=float, nargs="+", default=[0.003, 0.01])
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    args = ap.parse_args()
    print(
        f"{'case':<14} {'trials':>6} {'one by one s':>13} {'(compile)':>10} {'packed s':>9} {'(compile)':>10} "
        f"{'trials/h 1x1':>13} {'trials/h packed':>16} {'speed-up':>9}"
    )
    for name in args.cases:
        raw = _spec(CASES[name], args.seeds, args.lrs)
        seq = _run(raw, pack=False)
        pk = _run(raw, pack=True)
        assert seq["finished"] == pk["finished"] == seq["trials"], (seq, pk)
        n = seq["trials"]
        print(
            f"{name:<14} {n:>6} {seq['wall']:>13.1f} {seq['compile']:>10.1f} {pk['wall']:>9.1f} {pk['compile']:>10.1f} {3600 * n / seq['wall']:>13.0f} "
            f"{3600 * n / pk['wall']:>16.0f} {seq['wall'] / pk['wall']:>9.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
