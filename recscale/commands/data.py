"""``recscale data``: prepare, download and list the real data sets.

    recscale data list
    recscale data prepare NAME --from PATH [--as ALIAS] [--table-size N] [--ids dense|hashed]
                        [--workers N] [--eval-rows N] [--core K] [--core-mode reference|iterative]
    recscale data download NAME [--to DIR] [--md5 HEX | --sha256 HEX] [--days 0,1,23]
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def register(subparsers) -> None:
    from sweeps.data.sources import SOURCES

    data = subparsers.add_parser("data", help="prepare, download and list real data sets")
    sub = data.add_subparsers(dest="data_command", required=True)
    names = ", ".join(SOURCES)

    ls = sub.add_parser("list", help="the known data sets and what is prepared (cache: $RECSCALE_DATA)")
    ls.set_defaults(func=cmd_list)

    prep = sub.add_parser("prepare", help="read a downloaded file or archive into the prepared cache")
    prep.add_argument("name", metavar="NAME", help=f"the data set: {names}")
    prep.add_argument("--from", dest="source_path", required=True, metavar="PATH", help="the raw file, archive or directory")
    prep.add_argument("--as", dest="alias", metavar="ALIAS", help="store under another name (e.g. a variant's options)")
    prep.add_argument("--table-size", type=int, metavar="N", help="Criteo: categorical ids modulo N (default 2^30)")
    prep.add_argument("--ids", choices=["dense", "hashed"], help="Criteo: renumber each field's values (kaggle default) or keep hashes")
    prep.add_argument("--workers", type=int, metavar="N", help="Criteo: parse in N processes (default: the CPUs, at most 8)")
    prep.add_argument("--eval-rows", type=int, metavar="N", help="CTR: evaluate on the first N test rows (default 2^20)")
    prep.add_argument("--core", type=int, metavar="K", help="ratings: keep users and items with >= K ratings (books: 5)")
    prep.add_argument("--core-mode", choices=["reference", "iterative"], help="ratings: one pass (the HSTU reference) or until stable")
    prep.set_defaults(func=cmd_prepare)

    dl = sub.add_parser("download", help="fetch the canonical archive and verify its checksum")
    dl.add_argument("name", metavar="NAME", help=f"the data set: {names}")
    dl.add_argument("--to", metavar="DIR", help="where to save it (default: $RECSCALE_DATA/.downloads)")
    dl.add_argument("--md5", metavar="HEX", help="the expected MD5 (overrides the published one)")
    dl.add_argument("--sha256", metavar="HEX", help="the expected SHA-256")
    dl.add_argument("--days", metavar="LIST", help="criteo-terabyte: the day files to fetch, e.g. 0,1,23 (default: all 24)")
    dl.set_defaults(func=cmd_download)


def _say(line: str) -> None:
    print(line, flush=True)


def cmd_prepare(args) -> int:
    from sweeps.data import prepared, sources

    src = sources.source(args.name)
    given = {k: getattr(args, k) for k in ("table_size", "ids", "eval_rows", "workers", "core", "core_mode") if getattr(args, k) is not None}
    wrong = sorted(set(given) - set(src.options))
    if wrong:
        from sweeps.errors import InputError

        raise InputError(f"--{wrong[0].replace('_', '-')} does not apply to {args.name}")
    if "workers" in src.options:
        given.setdefault("workers", min(8, os.cpu_count() or 1))
    target = prepared.check_name(args.alias or args.name)
    t0 = time.perf_counter()
    path = src.prepare(Path(args.source_path), target, progress=_say, **given)
    p = prepared.open_prepared(target)
    _say(f"prepared {target} ({src.about}) in {time.perf_counter() - t0:.1f} s -> {path}")
    _say(f"  {_summary(p)}")
    return 0


def _summary(p) -> str:
    c = p.meta.get("counts", {})
    parts = [f"{k} {v:,}" for k, v in c.items() if isinstance(v, int)]
    if "ctr" in p.meta:
        s = p.meta["ctr"]["splits"]
        parts.append("ctr train/valid/test rows " + "/".join(f"{s[k][1] - s[k][0]:,}" for k in ("train", "valid", "test")))
    return ", ".join(parts)


def cmd_list(args) -> int:
    from sweeps.data import prepared, sources

    done, other = prepared.listing()
    by_name = {p.name: p for p in done}
    _say(f"data cache: {prepared.root()} (set ${prepared.ENV} to move it)")
    _say(f"{'name':<16} {'views':<8} {'status':<12} about")
    for name, s in sources.SOURCES.items():
        status = "prepared" if name in by_name else "-"
        _say(f"{name:<16} {','.join(s.kinds):<8} {status:<12} {s.about}")
    for p in done:
        if p.name not in sources.SOURCES:
            _say(f"{p.name:<16} {','.join(p.meta.get('kinds', [])):<8} {'prepared':<12} from {p.meta.get('source')} {p.meta.get('options')}")
    for p in done:
        _say(f"  {p.name}: {_summary(p)} ({p.path})")
    for d in other:
        _say(f"  ignored (incomplete or another format): {d}")
    if not done:
        _say("nothing prepared yet: `recscale data prepare NAME --from PATH`")
    return 0


def cmd_download(args) -> int:
    from sweeps.data import download, prepared, sources
    from sweeps.errors import InputError

    src = sources.source(args.name)
    pairs = list(zip(src.urls, src.md5))
    if args.days is not None:
        if args.name != "criteo-terabyte":
            raise InputError("--days applies to criteo-terabyte only")
        try:
            days = sorted({int(d) for d in args.days.split(",")})
        except ValueError:
            raise InputError(f"--days: expected day numbers 0-23 separated by commas, got {args.days!r}") from None
        if not days or days[0] < 0 or days[-1] > 23:
            raise InputError(f"--days: expected day numbers 0-23, got {args.days!r}")
        pairs = [pairs[d] for d in days]
    if (args.md5 or args.sha256) and len(pairs) > 1:
        raise InputError("--md5/--sha256 check one file; fetch several files without them")
    dest = Path(args.to) if args.to else prepared.root() / ".downloads" / args.name
    for url, md5 in pairs:
        got = download.fetch(url, dest, md5=args.md5 or md5, sha256=args.sha256, progress=_say)
        note = "checksum verified" if got.verified else "NOT verified: no published checksum (pass --md5 or --sha256)"
        _say(f"{got.path}: md5 {got.md5}, sha256 {got.sha256} ({note})")
    _say(f"next: recscale data prepare {args.name} --from {dest if len(pairs) > 1 else got.path}")
    return 0
