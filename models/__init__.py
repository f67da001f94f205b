"""Model architectures. Each ``models/<name>.py`` exposes the same symbols:

``Config`` (a frozen dataclass), ``Model`` (an ``nnx.Module`` built as
``Model(cfg, rngs=...)`` and called on a batch of inputs), ``param_counts(cfg)`` (a dict
with ``embedding``, ``dense`` and ``total``) and ``forward_flops(cfg)`` (per example).
"""

import importlib
from types import ModuleType

ARCHITECTURES = ("dlrm", "wide_deep", "hstu", "sasrec", "hstu_rank")


def get(name: str) -> ModuleType:
    if name not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}")
    return importlib.import_module(f"models.{name}")
