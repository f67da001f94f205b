"""M-FALCON against one-at-a-time scoring: candidates/s of the generative HSTU ranker.

Run: python benchmarks/bench_mfalcon.py [--quick] [--m 16 64 256] [--repeats 3]

For each m, ``B`` users with a full history of ``max_events - 1`` impressions are scored
against m candidates each, two ways, in the same run:

* ``one at a time``: every candidate appended to the history as its next impression and
  the whole sequence encoded again (``hstu_gen.score_one``, the generative forward pass),
  i.e. m encodings of the history per user;
* ``m-falcon``: the history encoded once per user, its keys and values cached per block,
  the candidates scored in micro-batches (``--micro-batch``) against them
  (``hstu_gen.score_candidates``).

Each path is one jitted program, timed after compilation, best of ``--repeats``. The
speed-up is the ratio of the two in the same run; absolute rates depend on the machine
and on what else runs on it (compare within one run).
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from models import hstu_gen

SHAPES = {
    "quick": dict(max_events=32, d_model=16, n_blocks=2, n_heads=2, head_mlp=(16,), batch=4),
    "full": dict(max_events=128, d_model=32, n_blocks=2, n_heads=2, head_mlp=(32,), batch=8),
}


def _inputs(cfg: hstu_gen.Config, B: int, m: int):
    rng = np.random.default_rng(0)
    T = cfg.max_events - 1
    history = dict(
        item=rng.integers(0, 1000, (B, T)), category=rng.integers(0, 400, (B, T)), context=rng.integers(0, 168, (B, T)),
        ts=np.sort(rng.integers(0, 10**7, (B, T)), 1).astype(np.int32), click=rng.integers(0, 2, (B, T)),
        valid=np.ones((B, T), bool), segment=rng.integers(0, 64, B),
    )
    cand = dict(item=rng.integers(0, 1000, (B, m)), category=rng.integers(0, 400, (B, m)),
                context=rng.integers(0, 168, (B, m)), ts=np.full((B, m), 10**7, np.int32))
    return history, cand


def _best(fn, repeats: int) -> float:
    jax.block_until_ready(fn())
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t)
    return best


def run(shape: str, ms, micro_batch: int, repeats: int) -> list[dict]:
    s = dict(SHAPES[shape])
    B = s.pop("batch")
    cfg = hstu_gen.Config(item_rows=1001, category_rows=400, context_rows=168, segment_rows=64, **s)
    graphdef, state = nnx.split(hstu_gen.Model(cfg, rngs=nnx.Rngs(0)))
    falcon = jax.jit(lambda st, h, c: hstu_gen.score_candidates(nnx.merge(graphdef, st), h, c, micro_batch))

    def one_each(st, h, c):  # m separate encodings, one per candidate (a scan keeps one program)
        model = nnx.merge(graphdef, st)
        cols = jax.tree.map(lambda a: jnp.moveaxis(a, 1, 0), c)
        return jax.lax.map(lambda col: hstu_gen.score_one(model, h, col), cols).T

    one = jax.jit(one_each)
    rows = []
    for m in ms:
        history, cand = _inputs(cfg, B, m)
        t_one = _best(lambda h=history, c=cand: one(state, h, c), repeats)
        t_falcon = _best(lambda h=history, c=cand: falcon(state, h, c), repeats)
        rows.append(dict(m=m, one=B * m / t_one, falcon=B * m / t_falcon, speedup=t_one / t_falcon))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a small shape (32 impressions, d 16) instead of the study's (128, d 32)")
    ap.add_argument("--m", nargs="+", type=int, default=[16, 64, 256])
    ap.add_argument("--micro-batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    shape = "quick" if args.quick else "full"
    print(f"shape {shape}: {SHAPES[shape]}, micro-batch {args.micro_batch}")
    print(f"{'m':>5} {'one at a time (cand/s)':>24} {'m-falcon (cand/s)':>19} {'speed-up':>9}")
    for r in run(shape, args.m, args.micro_batch, args.repeats):
        print(f"{r['m']:>5} {r['one']:>24,.0f} {r['falcon']:>19,.0f} {r['speedup']:>8.1f}x")


if __name__ == "__main__":
    main()
