"""Reading the raw files users download: archives, blocks of lines, delimited fields.

Raw data sets are large text files (Criteo Terabyte: 4 billion lines), so lines are never
parsed one at a time in Python: a block of whole lines becomes one ``uint8`` array, the
separators are located with NumPy, and each column is converted for all lines at once
(``Fields.ints``, ``hex``, ``decimals``, ``strings``). A bad value is reported with the
file, the 1-based line number and the field, e.g.
``train.txt, line 17, field 3 (I2): expected an integer, got '1x'``.

Conventions, for every format: a line ends with ``\\n`` or ``\\r\\n`` (Windows); empty
lines are skipped; a last line without its newline is read like the others.

Archives: ``.zip``, ``.tar``/``.tar.gz``/``.tgz`` and ``.gz`` are read as streams (never
extracted to disk); one that ends early or fails its CRC raises ``ArchiveError``.
"""

from __future__ import annotations

import dataclasses
import gzip
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from sweeps.errors import InputError

BLOCK_BYTES = 1 << 24
PAD = 64  # the widest field any parser reads


class DataFormatError(InputError):
    """A raw file that is not in the expected format; names the file, line and field."""


class ArchiveError(InputError):
    """An archive that is truncated or corrupt."""


@dataclasses.dataclass(frozen=True)
class RawFile:
    """One raw text file, possibly inside an archive (``path``); ``open()`` streams its bytes."""

    name: str
    open: Callable[[], BinaryIO]
    path: Path

    def describe(self) -> dict:
        st = self.path.stat()
        return {"file": self.name, "path": str(self.path.resolve()), "bytes": st.st_size, "mtime": int(st.st_mtime)}


def find_files(path: Path, wanted: Callable[[str], bool]) -> list[RawFile]:
    """The files under ``path`` (a file, a directory or an archive) whose base name is
    ``wanted``, in name order; an archive member is named ``archive:member``."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if path.is_dir():
        return [f for p in sorted(path.iterdir()) if p.is_file() for f in find_files(p, wanted)]
    name = path.name.lower()
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(path) as z:
                members = sorted(m for m in z.namelist() if not m.endswith("/") and wanted(Path(m).name))
            return [RawFile(f"{path}:{m}", _zip_opener(path, m), path) for m in members]
        if name.endswith((".tar", ".tar.gz", ".tgz")):
            # Listing a compressed tar means decompressing all of it, so the first wanted
            # member is found while streaming it (its single-file archives need no more).
            return [RawFile(str(path), _tar_opener(path, wanted), path)]
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise ArchiveError(f"{path}: truncated or corrupt archive ({e})") from None
    if name.endswith(".gz"):
        return [RawFile(str(path), lambda: gzip.open(path, "rb"), path)] if wanted(path.name[:-3]) or wanted(path.name) else []
    return [RawFile(str(path), lambda: open(path, "rb"), path)] if wanted(path.name) else []


def _zip_opener(path: Path, member: str):
    def open_member():
        z = zipfile.ZipFile(path)
        f = z.open(member)
        f._owner = z  # keep the archive open as long as the member stream lives
        return f

    return open_member


def _tar_opener(path: Path, wanted: Callable[[str], bool]):
    def open_member():
        t = tarfile.open(path, "r|*")
        for m in t:
            if m.isfile() and wanted(Path(m.name).name):
                f = t.extractfile(m)
                f._owner = t
                return f
        raise InputError(f"{path}: no file of the expected name in the archive")

    return open_member


def blocks(raw: RawFile, block_bytes: int = BLOCK_BYTES) -> Iterator[tuple[int, bytes]]:
    """``(first line number, bytes of whole lines ending in a newline)`` over the file."""
    line = 1
    carry = b""
    try:
        with raw.open() as f:
            while True:
                chunk = f.read(block_bytes)
                if not chunk:
                    break
                chunk = carry + chunk
                cut = chunk.rfind(b"\n") + 1
                if cut == 0:
                    carry = chunk
                    continue
                carry = chunk[cut:]
                yield line, chunk[:cut]
                line += chunk.count(b"\n", 0, cut)
    except (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile, tarfile.TarError) as e:
        raise ArchiveError(f"{raw.name}: truncated or corrupt archive, stopped after line {line - 1} ({e})") from None
    if carry:
        yield line, carry + b"\n"


@dataclasses.dataclass(frozen=True)
class Fields:
    """The non-empty lines of one block, split into exactly ``len(names)`` fields.

    ``start``/``end`` ``[lines, fields]`` are byte offsets into ``buf``; ``line`` the
    1-based line numbers in the file (for error messages)."""

    source: str
    names: tuple[str, ...]
    buf: np.ndarray
    start: np.ndarray
    end: np.ndarray
    line: np.ndarray

    def __len__(self) -> int:
        return len(self.line)

    def fail(self, row: int, col: int, problem: str):
        text = bytes(self.buf[self.start[row, col] : self.end[row, col]]).decode("utf-8", "replace")
        raise DataFormatError(
            f"{self.source}, line {self.line[row]}, field {col + 1} ({self.names[col]}): {problem}, got {text[:40]!r}"
        )

    def width(self, cols: slice | list) -> np.ndarray:
        return self.end[:, cols] - self.start[:, cols]

    def _chars(self, cols, max_width: int, what: str, *, right: bool = True, width: int | None = None):
        """The bytes of every field, ``[lines, (cols,) W]``: right-aligned (or left-aligned)
        in W columns (the widest field, or ``width``), zero outside the field; also the
        widths and the mask of positions inside each field."""
        s, e = self.start[:, cols], self.end[:, cols]
        w = e - s
        if (w > max_width).any():
            r, *c = np.argwhere(w > max_width)[0]
            self.fail(r, _col(cols, c[0] if c else None), f"{what} longer than {max_width} characters")
        W = width or max(int(w.max(initial=0)), 1)
        # Row i of the window view is buf[i:i + W], so one gather copies W bytes per field;
        # the buffer's zero padding (PAD bytes each side) keeps every window in bounds.
        ch = np.lib.stride_tricks.sliding_window_view(self.buf, W)[e - W if right else s]
        pos = np.arange(W)
        inside = pos >= W - w[..., None] if right else pos < w[..., None]
        return w, np.where(inside, ch, 0), inside

    def ints(self, cols, empty: int | None = None, max_width: int = 18) -> np.ndarray:
        """Decimal integers (optional leading '-') as int64; an empty field is ``empty``
        (an error when ``empty`` is None)."""
        w, ch, inside = self._chars(cols, max_width, "an integer")
        W = ch.shape[-1]
        sign = inside & (ch == ord("-")) & (np.arange(W) == (W - w)[..., None])
        d = ch.astype(np.int16) - ord("0")
        digit = inside & ~sign & (d >= 0) & (d <= 9)
        bad = (inside & ~sign & ~digit).any(-1) | (sign.any(-1) & (w == 1))
        self._check(bad, w, cols, empty is None, "expected an integer")
        value = (np.where(digit, d, 0) * _POW10[W - 1 - np.arange(W)]).sum(-1)
        return np.where(w == 0, empty or 0, np.where(sign.any(-1), -value, value))

    def hex(self, cols, empty: int = 0, max_width: int = 16) -> np.ndarray:
        """Hexadecimal numbers (Criteo's hashed categories) as uint64; empty fields ``empty``."""
        W = 8 if int(self.width(cols).max(initial=0)) <= 8 else 16
        w, ch, inside = self._chars(cols, max_width, "a hexadecimal value", width=W)
        nibble = _HEX[ch]
        self._check((inside & (nibble == 255)).any(-1), w, cols, False, "expected a hexadecimal value")
        nibble = np.where(inside, nibble, 0)
        # Right-aligned nibbles pair into the bytes of a big-endian integer: read them as one.
        packed = np.ascontiguousarray((nibble[..., 0::2] << 4) | nibble[..., 1::2])
        value = packed.view(">u4" if W == 8 else ">u8")[..., 0].astype(np.uint64)
        return np.where(w == 0, np.uint64(empty), value)

    def decimals(self, col: int, max_width: int = 12) -> np.ndarray:
        """Non-negative decimal numbers with at most one '.' (ratings: '4', '3.5', '4.0')."""
        w, ch, inside = self._chars(col, max_width, "a number")
        d = ch.astype(np.int64) - ord("0")
        digit = inside & (d >= 0) & (d <= 9)
        dot = inside & (ch == ord("."))
        bad = (inside & ~digit & ~dot).any(-1) | (dot.sum(-1) > 1) | ~digit.any(-1)
        self._check(bad, w, col, True, "expected a number")
        digits_from = np.cumsum(digit[:, ::-1], -1)[:, ::-1]  # digits at or after each position
        whole = (np.where(digit, d, 0) * _POW10[np.clip(digits_from - 1, 0, 18)]).sum(-1)
        frac = (digit & (np.cumsum(dot, -1) > 0)).sum(-1)
        return whole / 10.0**frac

    def strings(self, col: int, max_width: int = 64) -> np.ndarray:
        """The raw bytes of a field (an Amazon user id or ASIN) as ``S<W>``; never empty."""
        w, ch, _ = self._chars(col, max_width, "an id", right=False)
        self._check(np.zeros(w.shape, bool), w, col, True, "expected an id")
        return np.ascontiguousarray(ch).view(f"S{ch.shape[-1]}")[:, 0]

    def _check(self, bad: np.ndarray, w: np.ndarray, cols, empty_is_bad: bool, problem: str) -> None:
        if empty_is_bad:
            bad = bad | (w == 0)
        if bad.any():
            idx = np.argwhere(bad)[0]
            self.fail(idx[0], _col(cols, idx[1] if bad.ndim > 1 else None), problem)


def _col(cols, c) -> int:
    if isinstance(cols, int):
        return cols
    if isinstance(cols, slice):
        return (cols.start or 0) + int(c) * (cols.step or 1)
    return list(cols)[int(c)]


_POW10 = 10 ** np.arange(19, dtype=np.int64)
_HEX = np.full(256, 255, np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEX[_c] = 10 + _i


def split(
    source: str, first_line: int, block: bytes, sep: bytes, names: tuple[str, ...], sep_name: str | None = None
) -> Fields:
    """Split a block of whole lines on ``sep`` (one byte); every non-empty line must have
    exactly ``len(names)`` fields (``sep_name`` names the separator in errors)."""
    buf = np.frombuffer(bytes(PAD) + block + bytes(PAD), np.uint8)
    body = buf[PAD : PAD + len(block)]
    nl = np.flatnonzero(body == 10)
    line_start = np.concatenate([[0], nl[:-1] + 1])
    line_end = nl.copy()
    cr = (line_end > line_start) & (body[np.maximum(line_end - 1, 0)] == 13)
    line_end[cr] -= 1
    line_no = first_line + np.arange(len(nl))
    keep = line_end > line_start
    seps = np.flatnonzero(body == sep[0])
    k = len(names)
    starts, ends = line_start[keep] + PAD, line_end[keep] + PAD
    seps += PAD
    inner = seps.reshape(-1, k - 1) if len(seps) == (k - 1) * len(starts) else None
    # Sorted separators, k - 1 of them inside each non-empty line's bounds: exactly k fields each.
    if inner is None or (k > 1 and not ((inner[:, 0] >= starts) & (inner[:, -1] < ends)).all()):
        count = np.bincount(np.searchsorted(nl + PAD, seps), minlength=len(nl))
        i = np.flatnonzero(keep & (count != k - 1))[0]
        shown = bytes(body[line_start[i] : line_end[i]][:60]).decode("utf-8", "replace")
        sep_name = sep_name or {b"\t": "tab", b",": "comma"}.get(sep, repr(sep.decode()))
        raise DataFormatError(
            f"{source}, line {line_no[i]}: expected {k} {sep_name}-separated fields "
            f"({', '.join(names)}), found {count[i] + 1}: {shown!r}"
        )
    start = np.concatenate([starts[:, None], inner + 1], 1)
    end = np.concatenate([inner, ends[:, None]], 1)
    return Fields(source, names, buf, start, end, line_no[keep])
