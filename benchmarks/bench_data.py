"""Real-data throughput: preparing a Criteo-format file, streaming it, and a trainer eating it.

Run: python benchmarks/bench_data.py [--lines 1048576] [--examples 524288]

1. Generates a Criteo Kaggle-format ``train.txt`` (label, 13 counts, 26 hashes; about 20%
   of the counts and 10% of the categories empty, as in the real file).
2. ``prepare``: parses it into the cache (rows/s and MB/s), ids renumbered (Kaggle's
   default) or kept hashed, in one process and in one per CPU.
3. Streaming: reads the training rows exactly as the trainer does (``sweeps.train.ctr.chunk_arrays``:
   chunks of 32 steps x 1024 examples sliced from the memory maps), from a fresh open.
4. Trainer: one quickstart-size DLRM trial (quickstart model, 2^19 examples, batch 1024)
   on the prepared data; its examples/s is the consumption rate streaming must beat.

The file and the cache live in a temporary directory. Streaming is measured cold (the
cache's files evicted from the page cache first: a read from disk) and warm.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def generate(path: Path, n: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    with open(path, "w") as f:
        for start in range(0, n, 65536):
            m = min(65536, n - start)
            label = (rng.random(m) < 0.25).astype(int).astype(str)
            counts = rng.geometric(0.05, (m, 13)).astype(str)
            counts[rng.random((m, 13)) < 0.2] = ""
            rank = np.minimum(rng.zipf(1.2, (m, 26)), 10**6).astype(np.uint64)  # Zipf popularity
            hashes = np.char.mod("%08x", (rank * np.uint64(2654435761) + np.arange(26, dtype=np.uint64)) % np.uint64(2**32))
            hashes[rng.random((m, 26)) < 0.1] = ""
            table = np.concatenate([label[:, None], counts, hashes], 1)
            f.write("\n".join("\t".join(row) for row in table.tolist()) + "\n")
    return time.perf_counter() - t


def _materialise(tree) -> None:
    """Copy every array out of the memory maps, as handing them to JAX does."""
    if isinstance(tree, dict):
        for v in tree.values():
            _materialise(v)
    else:
        np.array(tree, copy=True)


def _evict(path: Path) -> None:
    """Drop the cache's files from the page cache (clean pages; no privileges needed)."""
    for f in path.rglob("*.bin"):
        fd = os.open(f, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)


def stream_rate(name: str, examples: int, cold: bool, batch: int = 1024, chunk: int = 32) -> float:
    from sweeps.data import sources
    from sweeps.train.ctr import chunk_arrays

    p = sources.open_kind(name, "ctr")
    if cold:
        _evict(p.path)
    data = sources.RealCTR(p).train(examples)  # a fresh open, no cached views
    steps = examples // batch
    t = time.perf_counter()
    for step in range(0, steps, chunk):
        batches, _ = chunk_arrays(data, step, chunk, batch, steps)
        _materialise(batches)
    return steps * batch / (time.perf_counter() - t)


def train_rate(name: str, examples: int) -> tuple[float, float]:
    from sweeps import spec as spec_mod
    from sweeps.tasks import ctr

    tree = {
        "data": {"name": name, "examples": examples},
        "model": {"embed_dim": 16, "rows": 2048, "bottom_mlp": [64, 32], "top_mlp": [64, 32], "activation": "silu"},
        "optim": {"name": "adam", "lr": 0.01},
        "train": {"batch_size": 1024},
    }
    cfg = spec_mod.build_config("dlrm", 0, tree, "base")
    out = ctr.run(cfg, ctr.model_config(cfg), None)
    return out.examples_seen / out.train_seconds, out.final["auc"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1 << 20)
    ap.add_argument("--examples", type=int, default=1 << 19, help="the trainer's budget (quickstart: 2^19)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        os.environ["RECSCALE_DATA"] = str(Path(d) / "cache")
        from sweeps.data import criteo

        raw = Path(d) / "train.txt"
        gen_s = generate(raw, args.lines)
        mb = raw.stat().st_size / 1e6
        print(f"generated {args.lines:,} lines ({mb:,.0f} MB) in {gen_s:.1f} s", flush=True)
        rows = []
        cpus = os.cpu_count() or 1
        for ids, workers in (("dense", 1), ("hashed", 1), ("dense", cpus)):
            t = time.perf_counter()
            criteo.prepare("kaggle", raw, f"bench-{ids}-{workers}", ids=ids, workers=workers)
            s = time.perf_counter() - t
            rows.append((f"prepare (ids {ids}, {workers} worker{'s' * (workers > 1)})", args.lines / s, f"{mb / s:,.0f} MB/s, {s:.1f} s"))
        n_train = criteo.kaggle_days(args.lines)[-2]
        budget = min(args.examples, n_train)
        rates = {}
        for cold in (True, False):
            stream = rates[cold] = stream_rate("bench-dense-1", budget, cold)
            where = "from disk (evicted from the page cache)" if cold else "from the page cache"
            rows.append((f"stream, {'cold' if cold else 'warm'}", stream, f"{budget:,} training rows {where}, the trainer's slicing"))
        train, auc = train_rate("bench-dense-1", budget)
        rows.append(("train (quickstart DLRM trial)", train, f"AUC {auc:.3f} on random labels"))
        print("\n| stage | rows/s | note |\n|---|---:|---|")
        for stage, rate, note in rows:
            print(f"| {stage} | {rate:,.0f} | {note} |")
        cold = rates[True]
        print(f"\ncold streaming / training = {cold / train:,.0f}x: reading the data is {100 * train / cold:.2f}% of a trial's time")


if __name__ == "__main__":
    main()
