"""The events store (`--store DIR`): per (account, region, delivery day folder) and scan
profile, a Parquet copy of the rows the local engine's prefilter loaded into `cloudtrail`
for that day, with the list of source files it came from. An audit reads a day from
the store when its files are unchanged (same paths, sizes and mtimes or ETags), and from
the trail otherwise, then stores what it read.

    DIR/STORE.json   {"format", "version", "schema"}: another version or table shape is
                     wiped and rebuilt, never read
    DIR/.lock        flock: shared while an audit reads parts, exclusive while one writes
    DIR/parts/<account>/<region>/<YYYY>/<MM>/<DD>/<profile>-<hash>.json     manifest
    DIR/parts/<account>/<region>/<YYYY>/<MM>/<DD>/<profile>-<hash>.parquet  rows (none: 0 rows)
    DIR/tmp/         parts being written, moved into place with os.replace

A part's profile is `full` (the day read by every query) or `ahead` (a look-ahead day
past the range, read only for the look-ahead queries: fewer rows); `hash` covers the
queries' prefilters, columns and limits, and the tool version, so rows are only ever
served to an audit that would have loaded exactly those rows. Rows are kept before the
engine's duplicate-delivery dedupe, which runs over the whole table afterwards. A day
with an unreadable file or record is not stored (it is read again next time).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.errors import ConfigError

VERSION = 1
FORMAT = "auditor-events-store"
FULL, AHEAD = "full", "ahead"


def schema_hash() -> str:
    """The table's columns and types: a store of another shape is rebuilt."""
    from auditor.table import duckdb_columns

    text = json.dumps(sorted(duckdb_columns().items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def profile_hash(profile: Any, limits: Any, gate: int | None) -> str:
    """What decides a day's rows: the needles, prefilters and columns of the queries
    reading it (sets sorted: their order varies between processes), the limits and the
    tool version."""
    canon = {
        "needles": sorted(n.decode("latin-1") for n in profile.needles),
        "exact": [{k: sorted(v) for k, v in sorted(m.items())} for m in profile.exact],
        "contains": [{k: list(v) for k, v in sorted(m.items())} for m in profile.contains],
        "columns": [None if c is None else sorted(c) for c in profile.columns],
        "limits": repr(limits), "gate": gate, "tool": __version__,
    }
    return hashlib.sha256(json.dumps(canon, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class DayKey:
    account: str
    region: str
    folder: str  # YYYY/MM/DD: the `timestamp` partition

    @property
    def day(self) -> date:
        return date(*map(int, self.folder.split("/")))


# (path, size, mtime_ns or ETag): what a day's rows were made from
FileId = tuple[str, int, str]


@dataclass
class DayRead:
    """A day read from the trail in this audit: what the scan counted, and whether it
    can be stored (every file read whole, no record unusable)."""

    key: DayKey
    profile: str
    files: list[FileId]
    files_read: int = 0
    records: int = 0
    bytes: int = 0
    gate_hits: int = 0
    clean: bool = True


@dataclass(frozen=True)
class Part:
    key: DayKey
    profile: str
    manifest: dict[str, Any]
    parquet: Path | None


@dataclass
class Lookup:
    parts: dict[tuple[DayKey, str], Part] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _safe(name: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]
    if clean == name and clean:
        return clean
    return f"{clean}~{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_json(path: Path, data: dict[str, Any], tmp: Path) -> None:
    t = tmp / f"{uuid.uuid4().hex}.json"
    t.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
    os.replace(t, path)


class Store:
    def __init__(self, root: Path, audit: bool = True) -> None:
        """audit=False (info, prune): an existing store, taken as it is."""
        if not audit and not (root / "STORE.json").is_file():
            raise ConfigError(f"--store {root}: no events store there")
        self.root = root
        self.parts_dir = root / "parts"
        self.tmp = root / "tmp"
        self.schema = schema_hash()
        self.notes: list[str] = []
        try:
            root.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(f"--store {root}: cannot use it: {exc.strerror}") from None
        if audit:
            with self.locked(exclusive=True):
                self._check_version()

    def close(self) -> None:
        os.close(self._lock_fd)

    @contextmanager
    def locked(self, exclusive: bool) -> Iterator[None]:
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _check_version(self) -> None:
        meta_path = self.root / "STORE.json"
        want = {"format": FORMAT, "version": VERSION, "schema": self.schema}
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            meta = None
        except (OSError, ValueError) as exc:
            meta = {"damaged": str(exc)}
        if meta == want:
            return
        if meta is not None or self.parts_dir.exists():
            self.notes.append(
                f"events store {self.root}: {self._describe(meta)}, not version {VERSION} "
                f"(table {self.schema}): rebuilt from the trail"
            )
            shutil.rmtree(self.parts_dir, ignore_errors=True)
        self.parts_dir.mkdir(exist_ok=True)
        self.tmp.mkdir(exist_ok=True)
        _write_json(meta_path, want, self.tmp)

    @staticmethod
    def _describe(meta: Any) -> str:
        if not isinstance(meta, dict) or "damaged" in meta or meta.get("format") != FORMAT:
            return "unreadable STORE.json"
        return f"version {meta.get('version')} (table {meta.get('schema')})"

    def _base(self, key: DayKey, profile: str, phash: str) -> Path:
        y, m, d = key.folder.split("/")
        return (self.parts_dir / _safe(key.account) / _safe(key.region) / y / m / d
                / f"{profile}-{phash}")

    # ------------------------------------------------------------------ read

    def lookup(self, days: dict[DayKey, list[FileId]], profiles: dict[DayKey, str],
               hashes: dict[str, str]) -> Lookup:
        """The parts that can serve these days: same profile, same source files, and a
        Parquet file that is whole (size and SHA-256 as written). A damaged part is
        named in `notes` and read from the trail again. Call under locked(False)."""
        out = Lookup()
        for key, files in days.items():
            profile = profiles[key]
            base = self._base(key, profile, hashes[profile])
            try:
                text = base.with_suffix(".json").read_text(encoding="utf-8")
            except FileNotFoundError:
                continue
            except OSError as exc:
                out.notes.append(self._damaged(key, profile, f"manifest: {exc.strerror}"))
                continue
            why, man = self._check(text, key, profile, hashes[profile])
            if why:
                out.notes.append(self._damaged(key, profile, why))
                continue
            if man["files"] != [list(f) for f in sorted(files)]:
                continue  # files changed, grew or were added: read the trail again
            pq = man.get("parquet")
            path = base.with_suffix(".parquet") if pq else None
            if path is not None and pq is not None:
                try:
                    if path.stat().st_size != pq["size"] or _sha256(path) != pq["sha256"]:
                        out.notes.append(self._damaged(key, profile, "Parquet file changed "
                                                       "or truncated since it was written"))
                        continue
                except OSError as exc:
                    out.notes.append(self._damaged(key, profile, f"Parquet: {exc.strerror}"))
                    continue
            out.parts[(key, profile)] = Part(key, profile, man, path)
        return out

    def _check(self, text: str, key: DayKey, profile: str,
               phash: str) -> tuple[str | None, dict[str, Any]]:
        try:
            man = json.loads(text)
        except ValueError:
            return "manifest is not JSON", {}
        want = {"version": VERSION, "schema": self.schema, "profile": profile,
                "profile_hash": phash, "account": key.account, "region": key.region,
                "folder": key.folder}
        if not isinstance(man, dict) or any(man.get(k) != v for k, v in want.items()):
            return "manifest does not match its place in the store", {}
        counts = ("rows", "files_read", "records", "bytes", "gate_hits")
        if not all(isinstance(man.get(k), int) for k in counts) or not isinstance(
            man.get("files"), list
        ):
            return "manifest lacks its counts", {}
        pq = man.get("parquet")
        if (man["rows"] > 0) != isinstance(pq, dict):
            return "manifest and Parquet file disagree", {}
        return None, man

    def _damaged(self, key: DayKey, profile: str, why: str) -> str:
        return (f"events store: damaged part {key.account} {key.region} {key.folder} "
                f"({profile}): {why}; read from the trail and rebuilt")

    # ------------------------------------------------------------------ write

    def export(self, con: Any, table: str, reads: list[DayRead],
               hashes: dict[str, str]) -> list[tuple[Path, Path | None, dict[str, Any]]]:
        """Write the table's rows of each clean day read into tmp/ (no lock needed:
        names are unique); `commit` moves them into place. Returns (manifest path,
        Parquet temp file, manifest)."""
        counts = {
            (a, r, t): n for a, r, t, n in con.execute(
                f'SELECT account, region, "timestamp", count(*) FROM {table} GROUP BY ALL'
            ).fetchall()
        }
        staged = []
        for d in reads:
            if not d.clean:
                continue
            k = d.key
            rows = counts.get((k.account, k.region, k.folder), 0)
            tmp_pq = None
            pq = None
            if rows:
                tmp_pq = self.tmp / f"{uuid.uuid4().hex}.parquet"
                con.execute(
                    f"COPY (SELECT * FROM {table} WHERE account = ? AND region = ? AND "
                    f"\"timestamp\" = ?) TO '{_sql_str(str(tmp_pq))}' "
                    "(FORMAT parquet, COMPRESSION zstd)",
                    [k.account, k.region, k.folder],
                )
                pq = {"size": tmp_pq.stat().st_size, "sha256": _sha256(tmp_pq)}
            man = {
                "version": VERSION, "schema": self.schema, "profile": d.profile,
                "profile_hash": hashes[d.profile], "account": k.account, "region": k.region,
                "folder": k.folder, "files": [list(f) for f in sorted(d.files)],
                "rows": rows, "files_read": d.files_read, "records": d.records,
                "bytes": d.bytes, "gate_hits": d.gate_hits, "parquet": pq,
            }
            staged.append((self._base(k, d.profile, hashes[d.profile]), tmp_pq, man))
        return staged

    def commit(self, staged: list[tuple[Path, Path | None, dict[str, Any]]]) -> None:
        """Move staged parts into place: Parquet first, then its manifest (a reader
        that meets the new manifest finds the new Parquet, and checks its hash)."""
        with self.locked(exclusive=True):
            for base, tmp_pq, man in staged:
                base.parent.mkdir(parents=True, exist_ok=True)
                if tmp_pq is not None:
                    os.replace(tmp_pq, base.with_suffix(".parquet"))
                else:
                    base.with_suffix(".parquet").unlink(missing_ok=True)
                _write_json(base.with_suffix(".json"), man, self.tmp)

    def discard(self, staged: list[tuple[Path, Path | None, dict[str, Any]]]) -> None:
        for _base, tmp_pq, _man in staged:
            if tmp_pq is not None:
                tmp_pq.unlink(missing_ok=True)

    # ------------------------------------------------------------------ info, prune

    def manifests(self) -> Iterator[tuple[Path, dict[str, Any] | None]]:
        for path in sorted(self.parts_dir.rglob("*.json")):
            try:
                man = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                man = None
            yield path, man if isinstance(man, dict) else None

    def prune(self, keep: Callable[[dict[str, Any]], bool]) -> int:
        """Remove every part `keep` refuses (and every unreadable manifest)."""
        removed = 0
        with self.locked(exclusive=True):
            for path, man in list(self.manifests()):
                if man is not None and keep(man):
                    continue
                path.with_suffix(".parquet").unlink(missing_ok=True)
                path.unlink(missing_ok=True)
                removed += 1
            for d in sorted(self.parts_dir.rglob("*"), reverse=True):
                if d.is_dir() and not any(d.iterdir()):
                    d.rmdir()
        return removed


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


def file_id(path: str, size: int, etags: dict[str, str] | None) -> FileId | None:
    """(path, size, mtime_ns or ETag), or None when it cannot be told (then the day is
    neither served nor stored)."""
    if path.startswith("s3://"):
        tag = (etags or {}).get(path)
        return (path, size, f"etag:{tag}") if tag else None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (path, size, f"mtime:{st.st_mtime_ns}")


class Session:
    """One audit's use of the store (the local engine's hook): which day folders the
    store serves, what the scan of the others counted per day, then the rows in and out
    of the `cloudtrail` table. The caller holds `store.locked(False)` from `serve` until
    the table is loaded and exported, then calls `store.commit`."""

    def __init__(self, store: Store, settings: Any, files: list[Any],
                 etags: dict[str, str] | None) -> None:
        self.store = store
        self.hashes = {FULL: profile_hash(settings.queries, settings.limits, settings.gate)}
        if settings.ahead is not None:
            self.hashes[AHEAD] = profile_hash(settings.ahead, settings.limits, None)
        self.days: dict[DayKey, list[FileId]] = {}
        self.unknown: set[DayKey] = set()  # a file whose identity cannot be told
        self.day_of: dict[str, DayKey] = {}
        for f in files:
            key = DayKey(f.account, f.region, f"{f.day:%Y/%m/%d}")
            self.day_of[f.path] = key
            fid = file_id(f.path, f.size, etags)
            if fid is None:
                self.unknown.add(key)
            self.days.setdefault(key, []).append(fid or (f.path, f.size, ""))
        self.served: dict[tuple[DayKey, str], Part] = {}
        self.reads: dict[DayKey, DayRead] = {}
        self.notes: list[str] = list(store.notes)
        self.staged: list[tuple[Path, Path | None, dict[str, Any]]] = []

    def serve(self, tasks: list[Any], profile: str) -> list[Any]:
        """The tasks the store cannot serve (a day is served whole or not at all)."""
        profile = profile if profile in self.hashes else FULL
        want = {self.day_of[t.path] for t in tasks} - self.unknown
        found = self.store.lookup({k: self.days[k] for k in want},
                                  dict.fromkeys(want, profile), self.hashes)
        self.notes += found.notes
        self.served.update(found.parts)
        left = [t for t in tasks if (self.day_of[t.path], profile) not in found.parts]
        for t in left:
            key = self.day_of[t.path]
            if key not in self.reads:
                self.reads[key] = DayRead(key, profile, self.days[key],
                                          clean=key not in self.unknown)
        return left

    def served_parts(self, profile: str) -> list[Part]:
        return [p for (_k, prof), p in sorted(self.served.items(), key=lambda kv: (
            kv[0][0].account, kv[0][0].region, kv[0][0].folder)) if prof == profile]

    def record(self, res: Any, size: int) -> None:
        """Count one scanned file in its day."""
        d = self.reads.get(self.day_of.get(res.path))  # type: ignore[arg-type]
        if d is None:
            return
        if res.error or res.broken:
            d.clean = False
            return
        d.files_read += 1
        d.records += res.records
        d.bytes += size
        d.gate_hits += res.gate_hits

    def load(self, con: Any, table: str) -> None:
        paths = [str(p.parquet) for p in self.served.values() if p.parquet is not None]
        if paths:
            con.execute(f"INSERT INTO {table} SELECT * FROM read_parquet(?)", [paths])

    def export(self, con: Any, table: str) -> list[tuple[Path, Path | None, dict[str, Any]]]:
        # A day all of whose files were read (a day read in part never is: a day is
        # served whole or read whole).
        done = [d for d in self.reads.values() if d.files_read == len(d.files)]
        return self.store.export(con, table, done, self.hashes)

    def runs(self) -> list[tuple[str, str, str, str, int]]:
        """(account, region, first day, last day, days) of each run of consecutive days
        served from the store."""
        out: list[tuple[str, str, str, str, int]] = []
        keys = sorted({k for k, _p in self.served}, key=lambda k: (k.account, k.region, k.folder))
        for k in keys:
            day = k.day
            if out and out[-1][:2] == (k.account, k.region) and (
                date.fromisoformat(out[-1][3]).toordinal() + 1 == day.toordinal()
            ):
                a, r, first, _last, n = out[-1]
                out[-1] = (a, r, first, day.isoformat(), n + 1)
            else:
                out.append((k.account, k.region, day.isoformat(), day.isoformat(), 1))
        return out


def info(root: Path) -> str:
    """`auditor store info`: what the store holds, as text."""
    st = Store(root, audit=False)
    try:
        with st.locked(exclusive=False):
            try:
                meta = json.loads((root / "STORE.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                meta = None
            size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
            streams: dict[tuple[str, str], dict[str, Any]] = {}
            bad = 0
            for _path, man in st.manifests():
                if man is None or not isinstance(man.get("folder"), str):
                    bad += 1
                    continue
                s = streams.setdefault((str(man.get("account")), str(man.get("region"))),
                                       {"days": set(), "parts": 0, "rows": 0, "files": 0})
                s["days"].add(man["folder"].replace("/", "-"))
                s["parts"] += 1
                s["rows"] += man.get("rows") or 0
                s["files"] += len(man.get("files") or ())
    finally:
        st.close()
    current = meta == {"format": FORMAT, "version": VERSION, "schema": st.schema}
    version = meta.get("version") if isinstance(meta, dict) else "unreadable"
    lines = [
        f"events store: {root}",
        f"schema: version {version}, table {meta.get('schema') if isinstance(meta, dict) else '?'}"
        + ("" if current else f" (this auditor writes version {VERSION}, table {st.schema}: "
                              "the next audit rebuilds it)"),
        f"size: {size:,} bytes in {sum(s['parts'] for s in streams.values()):,} part(s)"
        + (f", {bad} unreadable manifest(s)" if bad else ""),
        f"accounts: {len({a for a, _ in streams})}, regions: {len({r for _, r in streams})}",
    ]
    for (acct, region), s in sorted(streams.items()):
        days = sorted(s["days"])
        lines.append(f"  {acct} {region}: {len(days)} day(s) {days[0]}..{days[-1]}, "
                     f"{s['files']:,} source file(s), {s['rows']:,} row(s)")
    return "\n".join(lines) + "\n"


def prune(root: Path, before: date | None, accounts: tuple[str, ...]) -> int:
    """`auditor store prune`: remove the parts of days before `before` (of `accounts`
    only, when given), or every part of `accounts`. Returns how many were removed."""
    cut = f"{before:%Y/%m/%d}" if before else None

    def keep(man: dict[str, Any]) -> bool:
        mine = not accounts or man.get("account") in accounts
        old = cut is None or str(man.get("folder")) < cut
        return not (mine and old)

    st = Store(root, audit=False)
    try:
        return st.prune(keep)
    finally:
        st.close()
