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


# The longest modules first, by their ``--durations`` on a 2-core machine. ``make test``
# passes ``--no-loadscope-reorder``, so xdist keeps this order (rather than putting the
# modules with the most tests first) and hands each module to the worker that is free: the
# long ones overlap each other and the short ones fill the end, instead of one core idling
# while the other finishes a long module. Under ``-p randomly`` its shuffle is left as it is.
LONGEST_FIRST = (
    "test_notebooks", "test_ray", "test_wukong", "test_train_seq", "test_seq_models", "test_sparse_optim",
    "test_resume", "test_seq_sweep", "test_claims", "test_sharding", "test_multihost", "test_engine",
    "test_real_data_specs", "test_checkpoint", "test_hstu_rank", "test_hstu", "test_benchmarks_accel",
    "test_hstu_gen", "test_packed_programs", "test_init", "test_attention_fused",
)


def pytest_collection_modifyitems(config, items):
    if config.pluginmanager.has_plugin("randomly"):
        return
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(getattr(item.module, "__name__", ""), len(rank)))


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
