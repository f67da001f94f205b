"""JAX's persistent compilation cache, switched on for recscale's compiled programs.

Within one process, programs are already compiled once per shape (``train._programs``
and friends are cached by model config, optimiser and batch shape, so replicate seeds,
learning rates, data budgets and every evaluation call reuse them). The persistent
cache extends that across processes: a re-run sweep, each worker of ``--workers N``, a
Ray worker on the same host, or the test suite loads a program compiled before instead
of compiling it again (measured: the quickstart's chunk program 1.9 s -> 0.35 s).

``RECSCALE_COMPILE_CACHE`` names the directory (default ``~/.cache/recscale/jax``);
``0``/``off`` turns it off. A cache directory already set in JAX's config wins, and so
does a minimum compile time set in the environment
(``JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS``; the test suite caches every program).
It is switched on before a trial's parameters are initialised, so the small programs of
the initialisers are cached too.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax

ENV = "RECSCALE_COMPILE_CACHE"
MIN_TIME_ENV = "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"
MIN_COMPILE_S = 0.5  # smaller programs compile faster than a cache entry is worth
_enabled: str | None = None


def directory() -> str | None:
    """Where the cache is (None: off)."""
    where = os.environ.get(ENV, str(Path.home() / ".cache" / "recscale" / "jax"))
    return None if where.strip().lower() in ("", "0", "off", "none", "false") else where


def enable() -> str | None:
    """Turn the cache on (once per process); the directory in use, or None."""
    global _enabled
    if _enabled is not None:
        return _enabled or None
    current = jax.config.jax_compilation_cache_dir
    where = current or directory()
    if where and not current:
        jax.config.update("jax_compilation_cache_dir", where)
        if MIN_TIME_ENV not in os.environ:
            jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)
    _enabled = where or ""
    return where
