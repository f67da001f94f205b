"""The prepared-data cache: versioned, written atomically, read through memory maps.

Location: ``$RECSCALE_DATA`` if set, else ``~/.cache/recscale/data``. A prepared data set
``NAME`` lives in ``ROOT/NAME/v<FORMAT>/``:

* ``meta.json``: the format number, the source data set, the raw file it came from,
  the options it was prepared with, counts, and every array's dtype and shape;
* ``<key>.bin``: one raw little-endian array per key (``ctr/dense``, ``seq/items``, ...),
  opened with ``np.memmap`` so that a trial reads only the rows it slices;
* ``COMPLETE``: written last.

Writing builds everything in ``ROOT/NAME/.building-<random>/`` (each file fsynced), then
renames that directory to ``v<FORMAT>`` in one step, so a reader never sees a half-written
data set: an interrupted ``prepare`` leaves only a ``.building-*`` directory, which
nothing reads (``recscale data list`` shows it as incomplete). An older format stays in
its own ``v<N>`` directory and is ignored by this code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import shutil
import time
from pathlib import Path

import numpy as np

from sweeps.errors import InputError

FORMAT = 1
ENV = "RECSCALE_DATA"


def root() -> Path:
    return Path(os.environ.get(ENV) or Path.home() / ".cache" / "recscale" / "data").expanduser()


def check_name(name: str) -> str:
    if not name or name.startswith(".") or "/" in name or "\\" in name:
        raise InputError(f"invalid data set name {name!r}")
    return name


class NotPrepared(InputError):
    """The data set has no complete prepared copy in the cache."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Writer:
    """Builds one prepared data set; ``commit(meta)`` publishes it, leaving it (or an
    exception) aborts and removes the partial copy."""

    def __init__(self, name: str, base: Path | None = None):
        self.name = check_name(name)
        self.home = (base or root()) / name
        self.home.mkdir(parents=True, exist_ok=True)
        self.tmp = self.home / f".building-{secrets.token_hex(6)}"
        self.tmp.mkdir()
        self.arrays: dict[str, dict] = {}
        self._files: dict[str, object] = {}

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.tmp.exists():
            self.abort()

    def append(self, key: str, rows: np.ndarray) -> None:
        """Append rows to array ``key`` (dtype and trailing shape fixed by the first call)."""
        rows = np.ascontiguousarray(rows)
        spec = self.arrays.get(key)
        if spec is None:
            path = self.tmp / f"{key}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            self._files[key] = open(path, "wb")
            spec = self.arrays[key] = {"dtype": rows.dtype.str, "shape": [0, *rows.shape[1:]]}
        if rows.dtype.str != spec["dtype"] or list(rows.shape[1:]) != spec["shape"][1:]:
            raise ValueError(f"{key}: rows of {rows.dtype}{rows.shape[1:]} after {spec}")
        self._files[key].write(rows.tobytes())
        spec["shape"][0] += len(rows)

    def written(self, key: str) -> np.memmap:
        """A writable memory map of everything appended to ``key`` so far (to rewrite it in place)."""
        self._files[key].flush()
        spec = self.arrays[key]
        return np.memmap(self.tmp / f"{key}.bin", dtype=np.dtype(spec["dtype"]), mode="r+", shape=tuple(spec["shape"]))

    def commit(self, meta: dict) -> Path:
        for f in self._files.values():
            f.flush()
            os.fsync(f.fileno())
            f.close()
        meta = {**meta, "format": FORMAT, "name": self.name, "arrays": self.arrays, "prepared_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        (self.tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        with open(self.tmp / "COMPLETE", "w") as f:
            f.write("ok\n")
            f.flush()
            os.fsync(f.fileno())
        for d in {self.tmp, *(p.parent for p in self.tmp.rglob("*.bin"))}:
            _fsync_dir(d)
        final = self.home / f"v{FORMAT}"
        old = None
        if final.exists():
            old = self.home / f".replaced-{secrets.token_hex(6)}"
            final.rename(old)
        self.tmp.rename(final)
        _fsync_dir(self.home)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def abort(self) -> None:
        for f in self._files.values():
            f.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A complete prepared data set: its metadata and its arrays (read-only memory maps)."""

    name: str
    path: Path
    meta: dict

    def array(self, key: str) -> np.ndarray:
        spec = self.meta["arrays"].get(key)
        if spec is None:
            raise InputError(f"prepared data set {self.name!r} has no array {key!r} ({self.path})")
        shape = tuple(spec["shape"])
        if shape[0] == 0:
            return np.zeros(shape, np.dtype(spec["dtype"]))
        file = self.path / f"{key}.bin"
        expected = int(np.prod(shape)) * np.dtype(spec["dtype"]).itemsize
        if not file.is_file() or file.stat().st_size != expected:
            raise InputError(
                f"prepared data set {self.name!r} is damaged ({file} missing or not {expected} bytes); "
                f"run `recscale data prepare` again"
            )
        return np.memmap(file, dtype=np.dtype(spec["dtype"]), mode="r", shape=shape)

    def fingerprint(self) -> str:
        """What makes two preparations the same data to a trial: source, options, counts,
        splits and array shapes; not when, nor from which path, it was prepared."""
        same = {k: v for k, v in self.meta.items() if k not in ("prepared_at", "raw", "name")}
        return hashlib.sha256(json.dumps(same, sort_keys=True).encode()).hexdigest()[:12]


def open_prepared(name: str, base: Path | None = None) -> Prepared:
    """The complete prepared copy of ``name``; ``NotPrepared`` when there is none."""
    path = (base or root()) / check_name(name) / f"v{FORMAT}"
    if not (path / "COMPLETE").is_file() or not (path / "meta.json").is_file():
        raise NotPrepared(f"data set {name!r} is not prepared in {path.parent}")
    try:
        meta = json.loads((path / "meta.json").read_text())
    except ValueError as e:
        raise InputError(f"prepared data set {name!r} is damaged ({path / 'meta.json'}: {e}); prepare it again") from None
    if meta.get("format") != FORMAT:
        raise NotPrepared(f"data set {name!r} in {path} has format {meta.get('format')}, expected {FORMAT}")
    return Prepared(name, path, meta)


def is_prepared(name: str, base: Path | None = None) -> bool:
    try:
        open_prepared(name, base)
        return True
    except (NotPrepared, InputError):
        return False


def listing(base: Path | None = None) -> tuple[list[Prepared], list[Path]]:
    """Complete prepared data sets, and directories of interrupted or older preparations."""
    base = base or root()
    done, other = [], []
    if not base.is_dir():
        return done, other
    for home in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            done.append(open_prepared(home.name, base))
        except (NotPrepared, InputError, ValueError):
            pass
        other += [p for p in sorted(home.iterdir()) if p.is_dir() and p.name != f"v{FORMAT}"]
    return done, other
