import os

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
