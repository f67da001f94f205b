"""Step time against embedding-table rows: dense optimiser vs sparse row-wise updates.

Run: python benchmarks/bench_rows.py [--rows 10000 100000 1000000] [--tables 8] [--batch 1024]

A DLRM with ``--tables`` one-hot tables of R rows each (dim 16, bottom 13-64-32-16, top
64-32-1), uniform random ids, trained through the sweep trainer's compiled chunk
program. For each R and each embedding update (dense Adam and dense SGD over whole
tables; sparse SGD, row-wise Adagrad and lazy Adam over the rows a batch reads) it
prints the best-of-N milliseconds per step (compile excluded) and the ratio to the same
update at the smallest R. Goal: the sparse updates' 10^6-row step within 1.5x of their
10^4-row step. Other processes on the machine distort absolute numbers: compare within
one run.
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from models import dlrm
from sweeps.train import core, ctr as train
from sweeps.train.optim import OptimConfig

UPDATES = [
    ("dense adam", OptimConfig(name="adam")),
    ("dense sgd", OptimConfig(name="sgd")),
    ("sparse sgd", OptimConfig(name="sgd", embeddings="sgd")),
    ("rowwise adagrad", OptimConfig(name="adam", embeddings="rowwise_adagrad")),
    ("lazy adam", OptimConfig(name="adam", embeddings="lazy_adam")),
]


def dlrm_config(tables: int, rows: int, dim: int = 16, bottom=(64, 32), top=(64, 32), n_dense: int = 13) -> dlrm.Config:
    return dlrm.Config(
        n_dense=n_dense, fields=tuple(f"c{i}" for i in range(tables)), rows=(rows,) * tables, bags=(0,) * tables,
        embed_dim=dim, bottom_mlp=tuple(bottom), top_mlp=tuple(top),
    )


def synthetic_batches(cfg: dlrm.Config, steps: int, batch: int, seed: int = 0) -> dict:
    """``steps`` batches of uniform random ids (the reference DLRM's random-data mode);
    a bag field gets its L ids per example."""
    rng = np.random.default_rng(seed)
    return {
        "inputs": {
            "dense": rng.standard_normal((steps, batch, cfg.n_dense)).astype(np.float32),
            "ids": {
                f: rng.integers(0, r, (steps, batch, bag) if bag else (steps, batch)).astype(np.int32)
                for f, r, bag in zip(cfg.fields, cfg.rows, cfg.bags)
            },
        },
        "label": (rng.random((steps, batch)) < 0.25).astype(np.float32),
    }


def trainer_pass(cfg: dlrm.Config, optim: OptimConfig, batch: int, chunk: int, lr: float = 0.01, *,
                 precision: str = "float32", sharding_mode: str = "none", lanes: int = 1):
    """A function timing one call of the trainer's chunk program (compiled here): seconds per
    step (of all ``lanes`` packed trials together)."""
    init, train_chunk, _ = train.program_set(cfg, "dlrm", optim, chunk, batch, sharding_mode, precision, lanes)
    batches = synthetic_batches(cfg, chunk, batch)
    active = np.ones(chunk, bool)
    lrs = np.full((lanes, chunk) if lanes > 1 else chunk, lr, np.float32)
    box = {"state": init(list(range(lanes)))}

    def one_pass() -> float:
        t = time.perf_counter()
        box["state"], losses = train_chunk(box["state"], batches, active, lrs)
        jax.block_until_ready(losses)
        return (time.perf_counter() - t) / chunk

    one_pass()  # compiles
    one_pass.compile_s = train_chunk.seconds
    return one_pass


def time_trainer(cfg: dlrm.Config, optim: OptimConfig, batch: int, chunk: int, repeats: int, lr: float = 0.01) -> dict:
    """Best-of-``repeats`` seconds per step of the trainer's chunk program, and its compile time."""
    one_pass = trainer_pass(cfg, optim, batch, chunk, lr)
    return {"step_s": min(one_pass() for _ in range(repeats)), "compile_s": one_pass.compile_s}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--tables", type=int, default=8)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--chunk", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(f"DLRM, {args.tables} tables x R rows x dim 16, batch {args.batch}, {jax.device_count()} {jax.default_backend()} device(s)")
    results: dict[tuple[str, int], dict] = {}
    for rows in args.rows:
        cfg = dlrm_config(args.tables, rows)
        for name, optim in UPDATES:
            # a dense optimiser on 10^6-row tables takes ~1 s a step: fewer repeats there
            repeats = 1 if optim.embeddings == "dense" and rows >= 1_000_000 else args.repeats
            results[name, rows] = time_trainer(cfg, optim, args.batch, args.chunk, repeats)
            core.clear_programs()  # free the tables of the last size
    print(f"{'update':<16} {'rows/table':>11} {'ms/step':>9} {'x vs ' + format(args.rows[0], '.0e'):>10} {'x vs dense adam':>16} {'compile s':>10}")
    for name, _ in UPDATES:
        for rows in args.rows:
            r = results[name, rows]
            base = results[name, args.rows[0]]["step_s"]
            dense = results["dense adam", rows]["step_s"]
            print(
                f"{name:<16} {rows:>11.0e} {r['step_s'] * 1e3:>9.2f} {r['step_s'] / base:>10.2f} "
                f"{r['step_s'] / dense:>16.3f} {r['compile_s']:>10.1f}"
            )


if __name__ == "__main__":
    main()
