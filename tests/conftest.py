import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("WANDB_MODE", "offline")

import pytest  # noqa: E402

from sweeps.data.ctr_world import world  # noqa: E402


@pytest.fixture(scope="session")
def ctr_world():
    return world()
