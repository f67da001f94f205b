"""The accelerator benchmark: one command, JSON out, on whatever backend JAX finds.

Run: python benchmarks/bench_accel.py [--out bench_accel.json] [--quick]

Sections (each reuses the other benchmarks' timing functions, so every figure is the
sweep trainer's own compiled chunk program):

* ``peak``: the device's own best square float32 and bfloat16 matmul rate (XLA), the
  denominator of every MFU below;
* ``dlrm``: the Criteo-Kaggle shape (26 tables of 10^5 rows, dim 16, bottom 512-256-64,
  top 512-256, batch 1024, SGD) in float32 and bfloat16 (``train.precision``), with dense
  and row-wise sparse table updates (``optim.embeddings: sgd``): examples/s and MFU;
* ``seq``: HSTU (fused attention) and SASRec at the ML-1M and ML-20M reference presets
  (``models.hstu.PRESETS``, batch 128, 128 negatives): sequences/s and MFU;
* ``packed``: K = 1, 4, 16 small DLRM trials in one vmapped program (``lanes``):
  trials/hour for a trial of ``TRIAL_STEPS`` steps, and the speed-up over K = 1;
* ``sharded``: with more than one device, the Kaggle DLRM with its tables split by rows
  over all of them (``train.sharding: row``), examples/s.

MFU is training FLOPs (3 x the analytic forward FLOPs) per second over the same-precision
peak (bf16 DLRM over the bf16 peak). ``--quick`` shrinks every shape (and keeps one sequence
preset) so that the run is compile-bound and short on a CPU (the test suite runs it), and
compiles with XLA's backend (LLVM) optimisation off (``QUICK_XLA_FLAG``: half the compile
CPU time, slower programs): its figures only show that the code runs.
On a shared CPU only ratios measured in one run mean anything.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dlrm import CONFIGS as DLRM_CONFIGS  # noqa: E402
from bench_rows import trainer_pass  # noqa: E402
from bench_seq import interleaved_best, seq_pass  # noqa: E402

from models import dlrm, hstu  # noqa: E402
from sweeps.train.optim import OptimConfig  # noqa: E402

TRIAL_STEPS = 1000
QUICK_XLA_FLAG = "--xla_backend_optimization_level=0"
SEQ_ITEMS = {"ml-1m": 3706, "ml-20m": 26744}


def _knobs(preset: dict) -> dict:
    return {k: preset[k] for k in ("d_model", "n_blocks", "n_heads", "max_len", "dropout")}


def sizes(quick: bool) -> dict:
    """Every shape and count the run uses; ``quick``: tiny ones."""
    kaggle = dict(DLRM_CONFIGS["kaggle"])
    if quick:
        kaggle.update(fields=("c0", "c1", "c2"), rows=(1000,) * 3, bags=(0,) * 3, bottom_mlp=(32, 16), top_mlp=(32,), batch=64)
        seq = {name: dict(spec=dict(d_model=16, n_blocks=1, n_heads=1, max_len=16, dropout=0.2), n_items=200, batch=16, negatives=16)
               for name in ("ml-1m",)}
        return dict(dlrm=kaggle, seq=seq, steps=2, repeats=1, peak_n=256, lanes=(1, 4), packed_batch=32)
    seq = {name: dict(spec=_knobs(hstu.PRESETS[name]), n_items=n, batch=128, negatives=128) for name, n in SEQ_ITEMS.items()}
    return dict(dlrm=kaggle, seq=seq, steps=16, repeats=3, peak_n=4096, lanes=(1, 4, 16), packed_batch=256)


def matmul_peaks(n: int, repeats: int = 5) -> dict[str, float]:
    """Best ``n x n`` matmul FLOP/s per dtype on the default device (XLA)."""
    out = {}
    for dtype in ("float32", "bfloat16"):
        a = jnp.asarray(np.random.default_rng(0).standard_normal((n, n)), dtype)
        mm = jax.jit(jnp.matmul)
        mm(a, a).block_until_ready()
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            mm(a, a).block_until_ready()
            best = min(best, time.perf_counter() - t)
        out[dtype] = 2.0 * n**3 / best
    return out


def _dlrm_config(c: dict) -> tuple[dlrm.Config, int]:
    c = dict(c)
    batch = c.pop("batch")
    return dlrm.Config(**c), batch


def bench_dlrm(sz: dict, peaks: dict) -> list[dict]:
    cfg, batch = _dlrm_config(sz["dlrm"])
    flops = 3 * dlrm.forward_flops(cfg)
    passes, meta = {}, {}
    for precision in ("float32", "bfloat16"):
        for updates, optim in (("dense", OptimConfig(name="sgd")), ("row-wise sparse", OptimConfig(name="sgd", embeddings="sgd"))):
            label = f"{precision} {updates}"
            passes[label] = trainer_pass(cfg, optim, batch, sz["steps"], 0.1, precision=precision)
            meta[label] = dict(precision=precision, updates=updates)
    best = interleaved_best(passes, sz["repeats"])
    return [dict(**meta[k], batch=batch, step_s=s, examples_per_s=batch / s, train_flops_per_example=flops,
                 mfu=batch / s * flops / peaks[meta[k]["precision"]], compile_s=passes[k].compile_s) for k, s in best.items()]


def bench_seq(sz: dict, peaks: dict) -> list[dict]:
    rows = []
    for preset, conf in sz["seq"].items():
        passes = {arch: seq_pass(arch, conf, sz["steps"]) for arch in ("hstu", "sasrec")}
        best = interleaved_best(passes, sz["repeats"])
        for arch, s in best.items():
            rate = conf["batch"] / s
            rows.append(dict(model=arch, preset=preset, batch=conf["batch"], step_s=s, sequences_per_s=rate,
                             train_flops_per_sequence=passes[arch].train_flops, mfu=rate * passes[arch].train_flops / peaks["float32"],
                             compile_s=passes[arch].compile_s))
    return rows


def bench_packed(sz: dict) -> list[dict]:
    c = dict(DLRM_CONFIGS["small"], batch=sz["packed_batch"])
    cfg, batch = _dlrm_config(c)
    passes = {K: trainer_pass(cfg, OptimConfig(name="adam"), batch, sz["steps"], 0.01, lanes=K) for K in sz["lanes"]}
    best = interleaved_best(passes, sz["repeats"])
    per_hour = {K: 3600 * K / (TRIAL_STEPS * s) for K, s in best.items()}
    return [dict(lanes=K, step_s=best[K], trials_per_hour=per_hour[K], speedup=per_hour[K] / per_hour[sz["lanes"][0]]) for K in best]


def bench_sharded(sz: dict) -> dict | None:
    n = jax.device_count()
    if n < 2:
        return None
    cfg, batch = _dlrm_config(sz["dlrm"])
    batch = -(-batch // n) * n
    passes = {mode: trainer_pass(cfg, OptimConfig(name="sgd"), batch, sz["steps"], 0.1, sharding_mode=mode) for mode in ("none", "row")}
    best = interleaved_best(passes, sz["repeats"])
    return {"devices": n, "batch": batch, **{f"{mode}_examples_per_s": batch / s for mode, s in best.items()}}


def run(quick: bool) -> dict:
    t0 = time.perf_counter()
    sz = sizes(quick)
    devices = jax.devices()
    print(f"backend {jax.default_backend()}, {len(devices)} device(s): {', '.join(d.device_kind for d in devices)}", flush=True)
    peaks = matmul_peaks(sz["peak_n"])
    out = {
        "backend": jax.default_backend(), "devices": [d.device_kind for d in devices], "jax": jax.__version__,
        "host": platform.node(), "quick": quick, "matmul_peak_flops": peaks,
    }
    for name, fn in (("dlrm", bench_dlrm), ("seq", bench_seq)):
        out[name] = fn(sz, peaks)
        print(f"{name}: done at {time.perf_counter() - t0:.0f} s", flush=True)
    out["packed"] = bench_packed(sz)
    out["sharded"] = bench_sharded(sz)
    out["wall_s"] = time.perf_counter() - t0
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="tiny shapes: checks the benchmark runs (seconds on a CPU)")
    ap.add_argument("--out", type=Path, default=Path("bench_accel.json"))
    args = ap.parse_args()
    if args.quick:  # read when the backend starts, at run()'s first jax.devices()
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {QUICK_XLA_FLAG}".strip()
    out = run(args.quick)
    args.out.write_text(json.dumps(out, indent=1))
    for r in out["dlrm"]:
        print(f"dlrm {r['precision']:<9} {r['updates']:<16} {r['examples_per_s']:>10.0f} examples/s  MFU {r['mfu']:.1%}")
    for r in out["seq"]:
        print(f"{r['model']:<7} {r['preset']:<7} {r['sequences_per_s']:>10.0f} sequences/s  MFU {r['mfu']:.1%}")
    for r in out["packed"]:
        print(f"packed K={r['lanes']:<3} {r['trials_per_hour']:>10.0f} trials/h  x{r['speedup']:.2f}")
    if out["sharded"]:
        print(f"sharded: {out['sharded']}")
    print(f"wrote {args.out} ({out['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
