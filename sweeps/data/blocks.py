"""Blocks of a synthetic world, generated side by side.

A world's block is a pure function of (seed, block index): its arithmetic never depends on
which other blocks are generated with it, on BLAS's thread count or on the order of
requests. So blocks can be generated on threads, with the same bits for any number of them.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from sweeps.errors import InputError


@functools.cache
def _numpy_blas_set_local_threads():
    for path in sorted((Path(np.__file__).parent.parent / "numpy.libs").glob("libscipy_openblas*.so*")):
        func = getattr(ctypes.CDLL(str(path)), "openblas_set_num_threads_local", None)
        if func is not None:
            func.argtypes, func.restype = [ctypes.c_int], ctypes.c_int
            return func
    return lambda n: 0


@contextlib.contextmanager
def one_blas_thread():
    """NumPy's bundled OpenBLAS on one thread (this thread only), for speed: the per-step
    matmuls are small and hand-offs to worker threads cost more than they save. The numbers
    do not depend on it (the worlds multiply exactly, ``seq_world.exact_logits``)."""
    previous = _numpy_blas_set_local_threads()(1)
    try:
        yield
    finally:
        _numpy_blas_set_local_threads()(max(previous, 1))


THREADS_ENV = "RECSCALE_DATA_THREADS"


def data_threads() -> int:
    """Threads that generate blocks side by side: ``RECSCALE_DATA_THREADS``, or the cores
    this process may run on."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if not raw.isdigit() or int(raw) < 1:
        raise InputError(f"{THREADS_ENV} must be a positive integer, got {raw!r}")
    return int(raw)


def map_blocks(block_fn, blocks) -> list:
    """``[block_fn(b) for b in blocks]``, generated on up to ``data_threads()`` threads, each
    with one BLAS thread. A block is a pure function of its index, so the result is the
    same whatever the number of threads or the order in which they finish; NumPy releases
    the GIL inside its array operations, which are most of a block's work."""
    blocks = list(blocks)

    def one(b):
        with one_blas_thread():
            return block_fn(b)

    n = min(len(blocks), data_threads())
    if n <= 1:
        return [one(b) for b in blocks]
    with ThreadPoolExecutor(n, thread_name_prefix="recscale-data") as pool:
        return list(pool.map(one, blocks))
