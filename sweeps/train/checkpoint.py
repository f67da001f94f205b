"""Checkpoints of a trial in progress (Orbax), so a killed long trial resumes where it stopped.

A trial's checkpoint is a directory (``path``) managed by ``orbax.checkpoint``: one step
subdirectory holding the training state (params and optimiser state, as arrays) and a
JSON item (trial id, step, the learning curve so far). Orbax writes a step into a
temporary directory and renames it when complete, so a kill mid-write leaves the
previous step intact (the leftover temporary directory is cleaned up by the next save).
Arrays are written per shard by the processes that hold them (TensorStore), so a table
sharded over the devices of several hosts is never gathered onto one; on restore each
array is read straight into the sharding of ``like``, which may be another mesh (saved
row-sharded on 8 devices, restored on 4, or table-sharded, or unsharded). Saves are
synchronous: the trainer donates the state to its next step. The directory is removed
when the trial's record is written.
"""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax

if TYPE_CHECKING:
    import orbax.checkpoint as ocp


def _orbax():
    """``orbax.checkpoint``, imported when a checkpoint is first written or read (it costs
    every process that imports the trainers about 0.4 s of CPU, and most never checkpoint)."""
    return importlib.import_module("orbax.checkpoint")


def path(directory: Path, trial_id: str) -> Path:
    """Where the checkpoint of ``trial_id`` lives in ``directory``."""
    return directory / trial_id


def _manager(where: Path, *, write: bool = False) -> ocp.CheckpointManager:
    """A manager of one trial's checkpoint. Only a writer (the trial's one owner) cleans up
    the temporary directories a killed save left: a reader must not touch a save in flight."""
    ocp = _orbax()
    options = ocp.CheckpointManagerOptions(max_to_keep=1, enable_async_checkpointing=False, read_only=not write,
                                           cleanup_tmp_directories=write, create=write)
    handlers = {"state": ocp.StandardCheckpointHandler(), "meta": ocp.JsonCheckpointHandler()}
    return ocp.CheckpointManager(where.absolute(), options=options, item_handlers=handlers)


def save(where: Path, trial_id: str, step: int, state: Any, extra: dict) -> None:
    """Save ``state`` at ``step`` (every process of a multi-process program calls this)."""
    meta = {"trial_id": trial_id, "step": step, **extra}
    ocp = _orbax()
    with _manager(where, write=True) as mgr:
        mgr.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)))


def latest_step(where: Path) -> int | None:
    """The step of the latest complete checkpoint at ``where``, if any."""
    if not where.is_dir():
        return None
    with _manager(where) as mgr:
        return mgr.latest_step()


def load(where: Path, trial_id: str, like: Any) -> tuple[int, Any, dict] | None:
    """(step, state, meta) from the latest step at ``where`` if it is a checkpoint of this
    trial shaped like ``like``; the arrays come back with ``like``'s shardings."""
    if not where.is_dir():
        return None
    ocp = _orbax()
    with _manager(where) as mgr:
        step = mgr.latest_step()
        if step is None:
            return None
        meta = mgr.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
        if meta.get("trial_id") != trial_id:
            return None
        saved = mgr.item_metadata(step)["state"]
        # Orbax's metadata tree orders a NamedTuple state's fields by name, so the leaves are
        # compared as a multiset of shapes; the restore below maps them by path.
        if saved is None or _shapes(saved) != _shapes(like):
            return None
        target = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), like)
        state = mgr.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(target)))["state"]
    return meta["step"], state, meta


def _shapes(tree) -> list[tuple[int, ...]]:
    return sorted(tuple(x.shape) for x in jax.tree.leaves(tree))


def remove(where: Path) -> None:
    shutil.rmtree(where, ignore_errors=True)
