"""The packages import one way: models <- data <- eval <- config <- train <- tasks <- engine,
and scaling imports none of them (pure NumPy/SciPy). Read from the source with ``ast``,
imports inside functions included, so a cycle cannot hide in a function body."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lowest first; a module may import its own layer and the layers below it.
LAYERS = [
    ("models", ("models",)),
    ("data", ("sweeps.errors", "sweeps.data")),
    ("eval", ("sweeps.eval",)),
    ("config", ("sweeps.config",)),
    ("train", ("sweeps.train",)),
    ("tasks", ("sweeps.tasks", "sweeps.recipes")),
    ("engine", ("sweeps",)),
]

# Known exceptions, each with its reason and the change that removes it.
ALLOWED_UPWARD: set[tuple[str, str]] = set()
# Imports inside functions, each for a reason other than a cycle.
ALLOWED_LOCAL = {
    ("sweeps.data.sources", "sweeps.data.seq_world"),  # seq_world imports JAX; `recscale data` needs none
    ("sweeps.executors", "ray"),  # the optional cluster extra
    ("sweeps.tracking", "wandb"),  # optional until a sweep logs to wandb
    # jax.distributed is initialised from the command line before JAX or the engine loads
    ("sweeps.multihost", "jax"),
    ("sweeps.multihost", "sweeps.runner"),
    ("sweeps.multihost", "sweeps.spec"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """(imported module, inside a function?) for every import of a source file."""
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    for node in tree.body:  # `if TYPE_CHECKING:` blocks are for annotations only
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            top |= {id(n) for n in ast.walk(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) not in top
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            base = node.module
            for alias in node.names:
                yield f"{base}.{alias.name}", id(node) not in top


def _layer(module: str) -> int | None:
    best = None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if module == p or module.startswith(p + "."):
                if best is None or len(p) > best[1]:
                    best = (i, len(p))
    return None if best is None else best[0]


def _resolved(imported: str) -> str:
    """``from sweeps import runner`` names the module ``sweeps.runner``; ``from sweeps.spec
    import PlannedTrial`` names ``sweeps.spec``: the longest prefix that is a module."""
    parts = imported.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        stem = ROOT.joinpath(*parts[:n])
        if stem.with_suffix(".py").is_file() or (stem / "__init__.py").is_file():
            return name
    return imported


SOURCES = sorted(p for pkg in ("models", "sweeps") for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_the_layers(path):
    me = _module_name(path)
    mine = _layer(me)
    bad = []
    for imported, local in _imports(path):
        target = _resolved(imported)
        if local and not {(me, target), (me, target.split(".")[0])} & ALLOWED_LOCAL:
            bad.append(f"{target} imported inside a function")
        theirs = _layer(target)
        if target.split(".")[0] in ("analysis", "recscale", "scaling") or (
            theirs is not None and theirs > mine and (me, target) not in ALLOWED_UPWARD
        ):
            bad.append(f"{target} ({LAYERS[theirs][0] if theirs is not None else 'outside'}) from {LAYERS[mine][0]}")
    assert not bad, f"{me}: " + "; ".join(bad)


def test_the_known_exceptions_still_exist():
    """An exception whose import is gone is removed from the lists above."""
    seen = {(_module_name(p), _resolved(i)) for p in SOURCES for i, _ in _imports(p)}
    seen |= {(m, t.split(".")[0]) for m, t in seen}
    assert ALLOWED_UPWARD <= seen and ALLOWED_LOCAL <= seen


@pytest.mark.parametrize("path", sorted((ROOT / "scaling").rglob("*.py")), ids=lambda p: p.name)
def test_scaling_imports_no_jax_models_sweeps_or_analysis(path):
    roots = {_resolved(i).split(".")[0] for i, _ in _imports(path)}
    assert not roots & {"jax", "flax", "optax", "models", "sweeps", "analysis", "recscale"}
