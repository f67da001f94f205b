"""Embedding tables sharded over a device mesh, the dense part data-parallel.

``train.sharding`` chooses the layout over a one-axis mesh of every device
(``jax.devices()``; ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` makes 8 CPU
devices, ``jax.distributed.initialize`` spans hosts):

* ``none`` (default): one device, as before;
* ``row``: every table (and its optimiser state) split by rows over the devices; works
  with any ``optim.embeddings``. A table whose rows do not divide by the device count is
  replicated instead;
* ``table``: whole tables per device. The tables are stored fused in one array of
  equal blocks of whole tables (``sparse_optim.Layout.fused``) whose rows are sharded,
  so it needs a sparse embedding update (``optim.embeddings`` other than ``dense``).

In both, the batch is split over the devices (data parallel) and the MLPs replicated.
The partitioning itself is XLA's (GSPMD): a lookup all-gathers the batch's ids, each
device gathers the rows it holds and an all-reduce sums them; an update all-gathers the
ids and row gradients and each device scatters into its own rows. No step moves a table.
Numbers agree with one device up to the order of floating-point sums.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from sweeps.errors import SpecError

MODES = ("none", "row", "table")
AXIS = "d"
TABLE_KEYS = ("tables", "table_opt")  # path entries that mark a table (or its optimiser state)


def check(mode: str) -> str | None:
    return None if mode in MODES else f"unknown sharding {mode!r}; expected one of {', '.join(MODES)}"


def mesh() -> Mesh:
    # A plain Mesh has Auto axes: jax.make_mesh's Explicit default rejects a gather from
    # a row-sharded table.
    return Mesh(np.array(jax.devices()), (AXIS,))


def _is_table(path) -> bool:
    return any(getattr(k, "key", getattr(k, "name", None)) in TABLE_KEYS for k in path)


@dataclasses.dataclass(frozen=True)
class Placement:
    """Shardings of the training state, of a chunk of batches, of an eval batch, of scalars."""

    mesh: Mesh
    state: object
    batches: NamedSharding
    inputs: NamedSharding
    replicated: NamedSharding


def placement(abstract_state, batch_size: int) -> Placement:
    """Where each leaf of a state shaped like ``abstract_state`` lives, and the batches."""
    m = mesh()
    n = m.devices.size
    if batch_size % n:
        raise SpecError("train.batch_size", f"must divide by the {n} devices for data-parallel sharding, got {batch_size}")

    def spec(path, leaf):
        rows_split = _is_table(path) and leaf.ndim >= 1 and leaf.shape[0] % n == 0
        return NamedSharding(m, P(AXIS) if rows_split else P())

    return Placement(
        m,
        jax.tree_util.tree_map_with_path(spec, abstract_state),
        NamedSharding(m, P(None, AXIS)),  # [steps, batch, ...]: split the batch
        NamedSharding(m, P(AXIS)),  # [batch, ...]
        NamedSharding(m, P()),
    )


def to_global(tree, shardings, *, place: bool = False):
    """``tree`` with every NumPy (or single-device) leaf made a global array of its
    sharding (``shardings``: one for every leaf, or a tree like ``tree``). On one host jit
    places such leaves itself, so they are left alone unless ``place``; across hosts
    (every process holding the same values) jit refuses them, so each is assembled from
    the slices this process's devices hold."""
    if isinstance(shardings, NamedSharding):
        shardings = jax.tree.map(lambda _: shardings, tree)

    def put(x, sharding):
        if isinstance(x, jax.Array) and x.sharding == sharding:
            return x
        if sharding.is_fully_addressable:
            return jax.device_put(x, sharding) if place else x
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])

    return jax.tree.map(put, tree, shardings)


class Placed:
    """A compiled program (``train.CompileOnce``) whose arguments are made global first."""

    def __init__(self, program, shardings: tuple):
        self.program, self.shardings = program, shardings

    @property
    def seconds(self) -> float:
        return self.program.seconds

    @property
    def fn(self):
        return self.program.fn

    def __call__(self, *args):
        return self.program(*(to_global(a, s) for a, s in zip(args, self.shardings)))


def fuse_blocks(mode: str, embeddings: str) -> int:
    """Blocks of the fused table layout for ``mode`` (0: tables stored apart)."""
    if mode != "table":
        return 0
    if embeddings == "dense":
        raise SpecError("train.sharding", "table-wise sharding needs a sparse embedding update (optim.embeddings)")
    return jax.device_count()
