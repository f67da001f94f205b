"""Model architectures. Each ``models/<name>.py`` exposes the same symbols:

``Config`` (a frozen dataclass), ``Model`` (an ``nnx.Module`` built as
``Model(cfg, rngs=...)`` and called on a batch of inputs), ``param_counts(cfg)`` (a dict
with ``embedding``, ``dense`` and ``total``) and ``forward_flops(cfg)`` (per example).

Architectures are found, not listed: every module of this package that exposes those
symbols is one (``layers``, ``attention`` and ``seq_common`` are building blocks), so
adding an architecture is adding its module.
"""

import functools
import importlib
import pkgutil
from types import ModuleType

CONTRACT = ("Config", "Model", "param_counts", "forward_flops")


@functools.cache
def architectures() -> tuple[str, ...]:
    """The names of the modules of this package that satisfy ``CONTRACT``, sorted."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_") and _is_architecture(importlib.import_module(f"{__name__}.{info.name}")):
            found.append(info.name)
    return tuple(sorted(found))


def _is_architecture(module: ModuleType) -> bool:
    return all(hasattr(module, name) for name in CONTRACT)


def __getattr__(name: str):
    if name == "ARCHITECTURES":
        return architectures()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get(name: str) -> ModuleType:
    if name not in architectures():
        raise KeyError(f"unknown architecture {name!r}; known: {', '.join(architectures())}")
    return importlib.import_module(f"{__name__}.{name}")
