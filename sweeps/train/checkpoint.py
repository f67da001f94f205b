"""Checkpoints of a trial in progress, so a killed long trial resumes where it stopped.

A checkpoint is one ``.npz`` file per trial holding the leaves of (params, optimiser
state) and a JSON header (trial id, step, learning curve so far). It is written to a
temporary file and renamed, so a kill mid-write leaves the previous checkpoint intact.
Plain NumPy archives were chosen over Orbax: the state of these models is a few small
pytrees, restoring needs only the tree structure the trainer already has, and NumPy adds
no dependency. The file is removed when the trial's record is written.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import jax
import numpy as np


def save(path: Path, trial_id: str, step: int, state: Any, extra: dict) -> None:
    leaves = [np.asarray(x) for x in jax.tree.leaves(state)]
    header = json.dumps({"trial_id": trial_id, "step": step, "n_leaves": len(leaves), **extra})
    buf = io.BytesIO()
    np.savez(buf, header=np.array(header), **{f"leaf_{i}": a for i, a in enumerate(leaves)})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(buf.getvalue())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load(path: Path, trial_id: str, like: Any) -> tuple[int, Any, dict] | None:
    """(step, state, header) from ``path`` if it is a checkpoint of this trial shaped like ``like``."""
    if not path.is_file():
        return None
    try:
        with np.load(path) as z:
            header = json.loads(str(z["header"]))
            leaves = [z[f"leaf_{i}"] for i in range(header["n_leaves"])]
    except (OSError, ValueError, KeyError):
        return None
    treedef = jax.tree.structure(like)
    shapes = [np.shape(x) for x in jax.tree.leaves(like)]
    if header.get("trial_id") != trial_id or [a.shape for a in leaves] != shapes:
        return None
    return header["step"], jax.tree.unflatten(treedef, leaves), header


def path(directory: Path, trial_id: str) -> Path:
    """Where the checkpoint of ``trial_id`` lives in ``directory``."""
    return directory / f"{trial_id}.npz"


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
