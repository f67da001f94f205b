"""Run SciPy's L-BFGS-B with its OpenBLAS limited to one thread.

Since SciPy 1.15, L-BFGS-B calls BLAS/LAPACK on tiny vectors; with a multi-threaded
OpenBLAS on a busy machine each call can stall on worker threads, slowing a 3-parameter
fit by ~50x (scipy/scipy#22438, #23191). :func:`one_blas_thread` sets the calling
thread's OpenBLAS thread count to 1 (``openblas_set_num_threads_local``, thread-local)
for the duration of a block and restores it after. Where SciPy's bundled OpenBLAS cannot
be found (another BLAS, another platform) it does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import scipy


@cache
def _set_local_threads() -> ctypes._CFuncPtr | None:
    libs = Path(scipy.__file__).parent.parent / "scipy.libs"
    for path in sorted(libs.glob("libscipy_openblas*.so*")):
        try:
            lib = ctypes.CDLL(str(path))
            func = lib.openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        func.argtypes = [ctypes.c_int]
        func.restype = ctypes.c_int
        return func
    return None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit SciPy's OpenBLAS to one thread, for the calling thread, inside the block."""
    func = _set_local_threads()
    if func is None:
        yield
        return
    previous = func(1)
    try:
        yield
    finally:
        func(max(previous, 1))
