import os
import shutil
import tempfile

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("WANDB_MODE", "offline")

import pytest  # noqa: E402

from sweeps.data.ctr_world import world  # noqa: E402


@pytest.fixture(scope="session")
def ctr_world():
    return world()


# The notebooks' module fixture is the suite's longest single piece (their kernels train
# three quick sweeps); collected first, xdist hands it to a worker at once instead of last,
# so the other worker's modules overlap it rather than leaving a core idle at the end.
def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: getattr(item.module, "__name__", "") != "test_notebooks")


# One persistent compilation cache for the whole run, cold at its start (as on a fresh CI
# machine) and removed at its end: the xdist workers, the notebooks' kernels and every
# subprocess a test starts inherit it, so a program compiled once is loaded elsewhere, and
# nothing is written into the user's ~/.cache. Tests of the cache itself set their own.
_CACHE_ENV = ("RECSCALE_COMPILE_CACHE", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES")


def pytest_configure(config):
    if hasattr(config, "workerinput") or "RECSCALE_COMPILE_CACHE" in os.environ:
        return
    config._recscale_cache = tempfile.mkdtemp(prefix="recscale-test-xla-")
    os.environ.update(dict(zip(_CACHE_ENV, (config._recscale_cache, "0", "0"), strict=True)))


def pytest_unconfigure(config):
    where = getattr(config, "_recscale_cache", None)
    if where:
        shutil.rmtree(where, ignore_errors=True)
