"""The events store (`--store DIR`): per (account, region, delivery day folder) and scan
profile, a Parquet copy of the rows the local engine's prefilter loaded into `cloudtrail`
for that day, with the list of source files it came from. An audit reads a day from
the store when its files are unchanged (same paths, sizes and mtimes or ETags), and from
the trail otherwise, then stores what it read.

    DIR/STORE.json   {"format", "version", "schema"}: another version or table shape is
                     wiped and rebuilt, never read
    DIR/.lock        flock: shared while an audit reads parts, exclusive while one writes
    DIR/parts/<account>/<region>/<YYYY-MM>/<profile>-<hash>.json     manifest: per day
                     folder its source files and counts; the file's size and SHA-256
    DIR/parts/<account>/<region>/<YYYY-MM>/<profile>-<hash>.parquet  the month's rows

One Parquet file per month, not per day: DuckDB binds each file's schema (a wide nested
struct) at ~20 ms a file, so a month of 62 day files loaded in 1.4 s against 0.12 s for
the same rows in one file.
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
from auditor.sqlgen import sql_literal

# 2: records counted by the validating parse (engines/rawjson.record_index); 3: no row
# whose eventTime names no real time (engines/rawjson.event_time_ok: DuckDB cannot cast it)
VERSION = 3
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
        "limits": repr(limits),
        "gate": gate,
        "tool": __version__,
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
    """A day the store serves: its manifest entry, and the month's Parquet file (None
    when the day has no row)."""

    key: DayKey
    profile: str
    entry: dict[str, Any]
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

    @contextmanager
    def reading(self) -> Iterator[None]:
        """An audit's hold on the store: shared until the table is loaded (`save` takes
        it exclusive), then the store is closed."""
        try:
            with self.locked(exclusive=False):
                yield
        finally:
            self.close()

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
        return (
            self.parts_dir
            / _safe(key.account)
            / _safe(key.region)
            / key.folder[:7].replace("/", "-")
            / f"{profile}-{phash}"
        )

    def _read(
        self, base: Path, key: DayKey, profile: str, phash: str
    ) -> tuple[dict[str, Any] | None, str | None]:
        """A month part's manifest, checked against its place and its Parquet file
        (size and SHA-256 as written): (manifest, None), (None, None) when there is
        none, or (None, why it is damaged)."""
        try:
            man = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            return None, f"manifest: {exc.strerror}"
        except ValueError:
            return None, "manifest is not JSON"
        want = {
            "version": VERSION,
            "schema": self.schema,
            "profile": profile,
            "profile_hash": phash,
            "account": key.account,
            "region": key.region,
            "month": key.folder[:7],
        }
        if not isinstance(man, dict) or any(man.get(k) != v for k, v in want.items()):
            return None, "manifest does not match its place in the store"
        days, pq = man.get("days"), man.get("parquet")
        counts = ("rows", "files_read", "records", "bytes", "gate_hits")
        if not isinstance(days, dict) or not all(
            isinstance(d, dict)
            and isinstance(d.get("files"), list)
            and all(isinstance(d.get(c), int) for c in counts)
            for d in days.values()
        ):
            return None, "manifest lacks its days' counts"
        if any(d["rows"] for d in days.values()) != isinstance(pq, dict):
            return None, "manifest and Parquet file disagree"
        if isinstance(pq, dict):
            path = base.with_suffix(".parquet")
            try:
                if path.stat().st_size != pq.get("size") or _sha256(path) != pq.get("sha256"):
                    return None, "Parquet file changed or truncated since it was written"
            except OSError as exc:
                return None, f"Parquet: {exc.strerror}"
        return man, None

    # ------------------------------------------------------------------ read

    def lookup(self, days: dict[DayKey, list[FileId]], profile: str, phash: str) -> Lookup:
        """The days these parts can serve: same profile, same source files, a whole
        Parquet file. A damaged part is named in `notes` (its days are read from the
        trail and it is rebuilt). Call under locked(False)."""
        out = Lookup()
        months: dict[Path, list[DayKey]] = {}
        for key in days:
            months.setdefault(self._base(key, profile, phash), []).append(key)
        for base, keys in sorted(months.items()):
            man, why = self._read(base, keys[0], profile, phash)
            if why:
                k = keys[0]
                out.notes.append(
                    f"events store: damaged part {k.account} {k.region} "
                    f"{k.folder[:7]} ({profile}): {why}; its days were read "
                    "from the trail and the part rebuilt"
                )
            if man is None:
                continue
            pq = base.with_suffix(".parquet") if man["parquet"] else None
            for key in keys:
                entry = man["days"].get(key.folder)
                # Files changed, grew or were added: read the trail again.
                if entry is not None and entry["files"] == [list(f) for f in sorted(days[key])]:
                    out.parts[(key, profile)] = Part(
                        key, profile, entry, pq if entry["rows"] else None
                    )
        return out

    # ------------------------------------------------------------------ write

    def save(self, con: Any, table: str, reads: list[DayRead], hashes: dict[str, str]) -> None:
        """Store the table's rows of each clean day read: per month part, its kept days
        (read back from the old Parquet file) and the new ones into a new file, moved
        into place with os.replace, then its manifest. Under the exclusive lock."""
        months: dict[Path, list[DayRead]] = {}
        for d in reads:
            if d.clean:
                months.setdefault(self._base(d.key, d.profile, hashes[d.profile]), []).append(d)
        if not months:
            return
        counts = {
            (a, r, t): n
            for a, r, t, n in con.execute(
                f'SELECT account, region, "timestamp", count(*) FROM {table} GROUP BY ALL'
            ).fetchall()
        }
        with self.locked(exclusive=True):
            for base, fresh in sorted(months.items(), key=lambda kv: kv[0]):
                self._save_month(con, table, base, fresh, counts, hashes)

    def _save_month(
        self,
        con: Any,
        table: str,
        base: Path,
        fresh: list[DayRead],
        counts: dict[tuple[str, str, str], int],
        hashes: dict[str, str],
    ) -> None:
        k0, profile = fresh[0].key, fresh[0].profile
        old, _why = self._read(base, k0, profile, hashes[profile])
        new_days = {d.key.folder for d in fresh}
        kept = {f: e for f, e in (old or {}).get("days", {}).items() if f not in new_days}
        days = dict(kept)
        for d in fresh:
            days[d.key.folder] = {
                "files": [list(f) for f in sorted(d.files)],
                "rows": counts.get((d.key.account, d.key.region, d.key.folder), 0),
                "files_read": d.files_read,
                "records": d.records,
                "bytes": d.bytes,
                "gate_hits": d.gate_hits,
            }
        pq = None
        if any(e["rows"] for e in days.values()):
            tmp_pq = self.tmp / f"{uuid.uuid4().hex}.parquet"
            marks = ", ".join("?" for _ in new_days)
            select = (
                f"SELECT * FROM {table} WHERE account = ? AND region = ? AND "
                f'"timestamp" IN ({marks})'
            )
            params: list[Any] = [k0.account, k0.region, *sorted(new_days)]
            if any(e["rows"] for e in kept.values()):
                km = ", ".join("?" for _ in kept)
                select += f' UNION ALL SELECT * FROM read_parquet(?) WHERE "timestamp" IN ({km})'
                params += [str(base.with_suffix(".parquet")), *sorted(kept)]
            try:
                con.execute(
                    f'COPY ({select} ORDER BY "timestamp") TO '
                    f"{sql_literal(tmp_pq)} (FORMAT parquet, COMPRESSION zstd)",
                    params,
                )
                pq = {"size": tmp_pq.stat().st_size, "sha256": _sha256(tmp_pq)}
                base.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_pq, base.with_suffix(".parquet"))
            finally:
                tmp_pq.unlink(missing_ok=True)
        else:
            base.with_suffix(".parquet").unlink(missing_ok=True)
        man = {
            "version": VERSION,
            "schema": self.schema,
            "profile": profile,
            "profile_hash": hashes[profile],
            "account": k0.account,
            "region": k0.region,
            "month": k0.folder[:7],
            "parquet": pq,
            "days": dict(sorted(days.items())),
        }
        base.parent.mkdir(parents=True, exist_ok=True)
        _write_json(base.with_suffix(".json"), man, self.tmp)

    # ------------------------------------------------------------------ info, prune

    def manifests(self) -> Iterator[tuple[Path, dict[str, Any] | None]]:
        for path in sorted(self.parts_dir.rglob("*.json")):
            try:
                man = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                man = None
            yield path, man if isinstance(man, dict) else None

    def prune(self, drop: Callable[[dict[str, Any], str], bool]) -> int:
        """Remove the days `drop(manifest, YYYY/MM/DD)` names (every part whose manifest
        cannot be read): the manifest forgets them; a part left with no day is removed.
        Their rows stay in the Parquet file until the month is next written (never
        served: only the manifest's days are). Returns how many days were removed."""
        removed = 0
        with self.locked(exclusive=True):
            for path, man in list(self.manifests()):
                days = man.get("days") if man else None
                if not isinstance(days, dict):
                    path.with_suffix(".parquet").unlink(missing_ok=True)
                    path.unlink()
                    continue
                keep = {f: e for f, e in days.items() if not drop(man, f)}  # type: ignore[arg-type]
                removed += len(days) - len(keep)
                if not keep:
                    path.with_suffix(".parquet").unlink(missing_ok=True)
                    path.unlink()
                elif len(keep) < len(days):
                    _write_json(path, {**man, "days": keep}, self.tmp)  # type: ignore[dict-item]
            for d in sorted(self.parts_dir.rglob("*"), reverse=True):
                if d.is_dir() and not any(d.iterdir()):
                    d.rmdir()
        return removed


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
    the table is loaded; `save` takes the exclusive lock itself."""

    def __init__(
        self, store: Store, settings: Any, files: list[Any], etags: dict[str, str] | None
    ) -> None:
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

    def serve(self, tasks: list[Any], profile: str) -> list[Any]:
        """The tasks the store cannot serve (a day is served whole or not at all)."""
        profile = profile if profile in self.hashes else FULL
        want = {self.day_of[t.path] for t in tasks} - self.unknown
        found = self.store.lookup({k: self.days[k] for k in want}, profile, self.hashes[profile])
        self.notes += found.notes
        self.served.update(found.parts)
        left = [t for t in tasks if (self.day_of[t.path], profile) not in found.parts]
        for t in left:
            key = self.day_of[t.path]
            if key not in self.reads:
                self.reads[key] = DayRead(
                    key, profile, self.days[key], clean=key not in self.unknown
                )
        return left

    def served_parts(self, profile: str) -> list[Part]:
        return [
            p
            for (_k, prof), p in sorted(
                self.served.items(),
                key=lambda kv: (kv[0][0].account, kv[0][0].region, kv[0][0].folder),
            )
            if prof == profile
        ]

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

    def source(self, con: Any) -> str | None:
        """A SELECT of the served days' rows, read from their month files where they lie
        (a file may hold days not served: stale, or of the other profile's reads); None
        when no day is served. Not loaded into a table: the queries read the Parquet."""
        wanted = sorted(
            {(str(p.parquet), p.key.folder) for p in self.served.values() if p.parquet is not None}
        )
        if not wanted:
            return None
        con.execute("CREATE OR REPLACE TEMP TABLE _served (file VARCHAR, ts VARCHAR)")
        con.executemany("INSERT INTO _served VALUES (?, ?)", wanted)
        files = ", ".join(sql_literal(f) for f in sorted({f for f, _ in wanted}))
        return (
            f"SELECT * EXCLUDE (filename) FROM read_parquet([{files}], filename = true) "
            'WHERE (filename, "timestamp") IN (SELECT file, ts FROM _served)'
        )

    def save(self, con: Any, table: str) -> None:
        # Only a day all of whose files were read (a day is served whole or read whole).
        done = [d for d in self.reads.values() if d.files_read == len(d.files)]
        self.store.save(con, table, done, self.hashes)

    def runs(self) -> list[tuple[str, str, str, str, int]]:
        """(account, region, first day, last day, days) of each run of consecutive days
        served from the store."""
        out: list[tuple[str, str, str, str, int]] = []
        keys = sorted({k for k, _p in self.served}, key=lambda k: (k.account, k.region, k.folder))
        for k in keys:
            day = k.day
            if (
                out
                and out[-1][:2] == (k.account, k.region)
                and (date.fromisoformat(out[-1][3]).toordinal() + 1 == day.toordinal())
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
                if man is None or not isinstance(man.get("days"), dict):
                    bad += 1
                    continue
                s = streams.setdefault(
                    (str(man.get("account")), str(man.get("region"))),
                    {"days": set(), "parts": 0, "rows": 0, "files": 0},
                )
                s["parts"] += 1
                for folder, e in (man.get("days") or {}).items():
                    s["days"].add(folder.replace("/", "-"))
                    s["rows"] += e.get("rows") or 0
                    s["files"] += len(e.get("files") or ())
    finally:
        st.close()
    current = meta == {"format": FORMAT, "version": VERSION, "schema": st.schema}
    version = meta.get("version") if isinstance(meta, dict) else "unreadable"
    lines = [
        f"events store: {root}",
        f"schema: version {version}, table {meta.get('schema') if isinstance(meta, dict) else '?'}"
        + (
            ""
            if current
            else f" (this auditor writes version {VERSION}, table {st.schema}: "
            "the next audit rebuilds it)"
        ),
        f"size: {size:,} bytes in {sum(s['parts'] for s in streams.values()):,} part(s)"
        + (f", {bad} unreadable manifest(s)" if bad else ""),
        f"accounts: {len({a for a, _ in streams})}, regions: {len({r for _, r in streams})}",
    ]
    for (acct, region), s in sorted(streams.items()):
        days = sorted(s["days"])
        lines.append(
            f"  {acct} {region}: {len(days)} day(s) {days[0]}..{days[-1]}, "
            f"{s['files']:,} source file(s), {s['rows']:,} row(s)"
        )
    return "\n".join(lines) + "\n"


def prune(root: Path, before: date | None, accounts: tuple[str, ...]) -> int:
    """`auditor store prune`: remove the parts of days before `before` (of `accounts`
    only, when given), or every part of `accounts`. Returns how many were removed."""
    cut = f"{before:%Y/%m/%d}" if before else None

    def drop(man: dict[str, Any], folder: str) -> bool:
        mine = not accounts or man.get("account") in accounts
        return mine and (cut is None or folder < cut)

    st = Store(root, audit=False)
    try:
        return st.prune(drop)
    finally:
        st.close()
