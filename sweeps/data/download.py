"""Fetching a data set's canonical archive and verifying its checksum.

The file is streamed to ``DEST/.part-<name>`` while its MD5 and SHA-256 are computed,
checked against the expected checksum (the publisher's, or one the user passes), and only
then renamed to ``DEST/<name>``; a mismatch deletes the partial file. A file already
present is verified instead of fetched again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from sweeps.errors import InputError

CHUNK = 1 << 20


class ChecksumError(InputError):
    """A downloaded (or local) file whose checksum is not the expected one."""


@dataclasses.dataclass(frozen=True)
class Fetched:
    path: Path
    md5: str
    sha256: str
    verified: bool  # False when no checksum was known to compare with


def digests(path: Path) -> tuple[str, str]:
    md5, sha = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            md5.update(chunk)
            sha.update(chunk)
    return md5.hexdigest(), sha.hexdigest()


def verify(path: Path, md5: str | None = None, sha256: str | None = None) -> Fetched:
    """Check a local file against the expected MD5 and/or SHA-256 (ChecksumError if not)."""
    got_md5, got_sha = digests(path)
    for kind, want, got in (("MD5", md5, got_md5), ("SHA-256", sha256, got_sha)):
        if want and want.lower() != got:
            raise ChecksumError(f"{path}: {kind} checksum mismatch: expected {want.lower()}, got {got} (a corrupt or truncated download?)")
    return Fetched(Path(path), got_md5, got_sha, bool(md5 or sha256))


def fetch(
    url: str, dest: Path, *, md5: str | None = None, sha256: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Fetched:
    """Download ``url`` into directory ``dest`` (any scheme urllib opens, ``file://`` too)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / Path(urllib.request.url2pathname(url.rsplit("/", 1)[-1])).name
    if target.exists():
        return verify(target, md5, sha256)
    part = dest / f".part-{target.name}"
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(part, "wb") as f:
            total = int(r.headers.get("Content-Length") or 0)
            done = 0
            while chunk := r.read(CHUNK):
                f.write(chunk)
                done += len(chunk)
                if progress and done % (256 * CHUNK) < CHUNK:
                    progress(f"{target.name}: {done / 1e6:,.0f} MB" + (f" of {total / 1e6:,.0f} MB" if total else ""))
            f.flush()
            os.fsync(f.fileno())
        if total and done != total:
            raise ChecksumError(f"{url}: download ended after {done:,} of {total:,} bytes")
        result = verify(part, md5, sha256)
    except (urllib.error.URLError, OSError) as e:
        part.unlink(missing_ok=True)
        raise InputError(f"{url}: download failed ({e}); without internet access, fetch it elsewhere and use `recscale data prepare --from`") from None
    except ChecksumError:
        part.unlink(missing_ok=True)
        raise
    part.rename(target)
    return dataclasses.replace(result, path=target)
