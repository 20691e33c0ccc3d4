"""The local engine's first stage, run in worker processes: read a log file, gunzip it,
and hand on only the records that could match a query, as rows of the Athena table.

It decides nothing about results. A file's top-level records are found by a validating
parse that builds no Python objects (`rawjson.record_index`, msgspec); a record none of
whose bytes contain a query's needle cannot be a row of that query and is only counted.
The records holding a needle are parsed and those meeting a query's declared prefilter
(necessary conditions of its WHERE clause) are passed on to DuckDB, which runs the SQL.
A record only column-limited queries can want (a denial, for the other_denials
enrichment) is decoded straight into those columns where that gives the same row
(`limited.py`). A file that does not parse whole is parsed record by record, and what
cannot be used is named.

Every file may have been crafted: only regular files are opened, gunzip and records are
bounded (`Limits`), a caller's nested object that mimics a record is never a record (the
parse knows the nesting), and a record that cannot be used is named, never fatal.

Kept import-light (isal, msgspec, orjson): it runs in forked workers.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import orjson

from auditor.engines.rawjson import (
    _MEMMEM,  # noqa: F401 - re-exported: tests check the fast search is there
    HEAD_LEN,
    BadRecord,
    Limits,
    Unusable,
    contains,
    event_time_ok,
    gunzip,
    lenient_loads,
    positions,
    record_index,
    records_one_by_one,
)
from auditor.table import canonical, is_canonical, pick_columns

if TYPE_CHECKING:
    from auditor.engines.hints import ScanHints
    from auditor.engines.limited import Limited

__all__ = [
    "FileResult",
    "Limits",
    "Profile",
    "ScanSettings",
    "Task",
    "contains",
    "gunzip",
    "init",
    "positions",
    "read_bytes",
    "scan",
]

# The shape of a file that does not parse whole: `{"Records": [` ... `]}` (its records
# are then parsed one by one).
_WHOLE_HEAD = re.compile(rb'\s*\{\s*"Records"\s*:\s*\[')
_WHOLE_TAIL = re.compile(rb"\]\s*\}\s*$")


class Fast(NamedTuple):
    """The fast path for records only column-limited queries can want (limited.py)."""

    whole_bits: int  # the needle bits of the queries that read whole records
    limited: tuple[int, ...]  # the indices of the column-limited queries
    decoder: Limited  # their columns and prefilters


@dataclass(frozen=True)
class Profile:
    """What the queries reading a file look for. Per query i: `exact[i]` field -> values,
    `contains[i]` field -> substrings (a record is a candidate when some query's conditions
    all hold), `columns[i]` the table columns it reads or None (the whole record)."""

    needles: tuple[bytes, ...]
    exact: tuple[Mapping[str, frozenset[str]], ...] = ()
    contains: tuple[Mapping[str, tuple[str, ...]], ...] = ()
    columns: tuple[frozenset[str] | None, ...] = ()
    # Per query: groups of byte strings, one of each group in a record's bytes (its
    # needles, its prefilter's values as JSON strings, its substrings): tested before a
    # record is parsed. Empty: parse every record holding a needle.
    groups: tuple[tuple[tuple[bytes, ...], ...], ...] = ()

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (a spawned worker) without what is cached: the fast path's decoder
        holds types made at run time, which a worker makes again."""
        return {k: v for k, v in self.__dict__.items() if k not in ("tests", "fast")}

    @cached_property
    def tests(self) -> tuple[tuple[int, tuple[tuple[bytes, ...], ...]], ...]:
        """Per query, what `_maybe` tests: (the bits of its needles in `needles`, its
        other groups). A record's needles are known from the search: a group that is
        exactly a query's needles needs no second look."""
        out = []
        for g in self.groups:
            first = set(g[0]) if g else set()
            bits = sum(1 << j for j, n in enumerate(self.needles) if n in first)
            rest = tuple(x for x in g[1:] if set(x) != first) if bits else tuple(g)
            out.append((bits, rest))
        return tuple(out)

    @cached_property
    def fast(self) -> Fast | None:
        """The fast path, or None where there is none: a query reading whole records has
        no needles, or the columns have no fast decoder."""
        from auditor.engines.limited import Limited

        some = [i for i, c in enumerate(self.columns) if c is not None]
        whole = [
            i for i in range(len(self.groups)) if i >= len(self.columns) or self.columns[i] is None
        ]
        if not some or len(self.tests) != len(self.groups):
            return None
        bits = 0
        for i in whole:
            if not self.tests[i][0]:
                return None
            bits |= self.tests[i][0]
        cols = frozenset().union(*(self.columns[i] or () for i in some))
        try:
            dec = Limited(
                cols,
                tuple(self.exact[i] for i in some),
                tuple(self.contains[i] for i in some),
                tuple((self.exact[i], self.contains[i]) for i in whole),
            )
        except ValueError:
            return None
        return Fast(bits, tuple(some), dec)


@dataclass(frozen=True)
class ScanSettings:
    """Everything a worker needs, set once per process by `init`. `ahead`: the profile of
    the look-ahead queries alone, for a file past the range; `gate`: the query whose
    prefilter hits are counted in FileResult.gate_hits."""

    queries: Profile
    ahead: Profile | None = None
    gate: int | None = None
    cache_dir: str | None = None
    limits: Limits = field(default_factory=Limits)
    # Where a worker writes its rows (its own NDJSON parts; FileResult.parts says how far
    # each holds this file's rows), so they do not go through the pipe. None: in-band.
    rows_dir: str | None = None

    @classmethod
    def from_plan(
        cls, plan: ScanHints, cache_dir: str | None = None, limits: Limits | None = None
    ) -> ScanSettings:
        n = len(plan.prefilters)
        exact = tuple({k: frozenset(v) for k, v in pf.items()} for pf in plan.prefilters)
        subs = tuple(plan.prefilters_contains) + ({},) * (n - len(plan.prefilters_contains))
        cols = tuple(plan.columns) + (None,) * (n - len(plan.columns))
        columns = tuple(None if c is None else frozenset(c) for c in cols)
        groups = tuple(_groups(s.needles, exact[i], subs[i]) for i, s in enumerate(plan.specs))
        queries = Profile(tuple(plan.needles), exact, subs, columns, groups)
        keep = [i for i, s in enumerate(plan.specs) if s.lookahead]
        ahead = None
        if keep:
            ahead = Profile(
                tuple(sorted({n.encode() for i in keep for n in plan.specs[i].needles})),
                tuple(exact[i] for i in keep),
                tuple(subs[i] for i in keep),
                tuple(columns[i] for i in keep),
                tuple(groups[i] for i in keep),
            )
        return cls(queries, ahead, plan.lookahead_gate, cache_dir, limits or DEFAULT_LIMITS)


# A value is looked for in a record's bytes only when JSON writes it as these bytes
# (no escapes): CloudTrail escapes none of them.
_PLAIN = re.compile(r"[A-Za-z0-9 .:_-]+")


def _groups(
    needles: Sequence[str],
    exact: Mapping[str, frozenset[str]],
    subs: Mapping[str, tuple[str, ...]],
) -> tuple[tuple[bytes, ...], ...]:
    """One query's byte groups (Profile.groups): each a necessary condition of its WHERE."""
    out = [tuple(n.encode() for n in needles)] if needles else []
    for vals in exact.values():
        if vals and all(_PLAIN.fullmatch(v) for v in vals):
            out.append(tuple(sorted(f'"{v}"'.encode() for v in vals)))
    for ss in subs.values():
        if ss and all(_PLAIN.fullmatch(v) for v in ss):
            out.append(tuple(v.encode() for v in ss))
    return tuple(out)


DEFAULT_LIMITS = Limits()
_S = ScanSettings(Profile(()))


def init(settings: ScanSettings) -> None:
    global _S
    _S = settings
    for parts in _PARTS:  # an earlier audit's (this process scanned it)
        parts.close()
    _PARTS.clear()


@dataclass(frozen=True)
class Task:
    path: str
    account: str
    region: str
    folder: str  # YYYY/MM/DD, the delivery folder (the `timestamp` partition)
    lookahead_only: bool = False  # past the range: only look-ahead queries want it


@dataclass
class FileResult:
    path: str
    records: int = 0
    rows: bytes = b""  # newline-delimited {partitions, "_file", "r": record} (table.raw_row_*)
    # rows[:whole] are records some query reads whole; the rest only column-limited
    # queries want (with those columns only): no other query can have them as rows.
    whole: int = 0
    candidates: int = 0
    error: str | None = None  # the file could not be read at all
    broken: list[str] | None = None  # records that could not be used, with reasons
    needle_hit: bool = False
    gate_hits: int = 0  # records passing the look-ahead gate query's prefilter
    s3_reads: tuple[int, int] = (0, 0)  # (GetObject requests, bytes got) for this file
    widest: int = 0  # bytes of the longest row
    # With ScanSettings.rows_dir: (kind, part file, its size once this file's rows were
    # written and flushed) per kind written; the rows are then not in `rows`.
    parts: tuple[tuple[str, str, int], ...] = ()


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_bytes(path: str, limit: int | None = None) -> bytes:
    """The bytes of a regular file (or S3 object) of at most `limit` bytes. A FIFO, device,
    directory or anything else is refused without reading from it (opened non-blocking,
    so a FIFO with no writer cannot hang the read); a symlink loop fails to open."""
    limit = _S.limits.max_json_bytes if limit is None else limit
    if path.startswith("s3://"):
        from auditor.sources.s3 import read_object

        return read_object(path, _S.cache_dir, max_bytes=limit)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with open(fd, "rb", closefd=True) as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Unusable(f"not a regular file: {_kind(st.st_mode)}; not read")
        if st.st_size > limit:
            raise Unusable(f"not read: {st.st_size} bytes, over the {limit}-byte limit")
        data = fh.read(st.st_size + 1)  # read(n) would allocate n bytes at once
    if len(data) > limit:  # grew since fstat
        raise Unusable(f"stopped reading: over the {limit}-byte limit")
    return data


def _profile(task: Task) -> Profile:
    """The profile of the queries that read this file."""
    if task.lookahead_only and _S.ahead is not None:
        return _S.ahead
    return _S.queries


def _meets(
    rec: dict[str, Any], exact: Mapping[str, frozenset[str]], subs: Mapping[str, tuple[str, ...]]
) -> bool:
    """Whether rec meets one query's prefilter: exact field values and substrings."""
    for k, vals in exact.items():
        v = rec.get(k)
        if not isinstance(v, str) or v not in vals:
            return False
    for k, ss in subs.items():
        v = rec.get(k)
        if not isinstance(v, str):
            return False
        for sub in ss:
            if sub in v:
                break
        else:
            return False
    return True


def _wanted(
    rec: dict[str, Any], prof: Profile | None = None
) -> frozenset[str] | None | Literal[False]:
    """False: no query wants the record; None: load it whole; else the only columns the
    queries wanting it read."""
    prof = prof or _S.queries
    cols: frozenset[str] | None | Literal[False] = False
    for pf, pc, qc in zip(prof.exact, prof.contains, prof.columns):
        if _meets(rec, pf, pc):
            if qc is None or cols is None:
                cols = None
            else:
                cols = qc if cols is False else cols | qc
    return cols


def _maybe(chunk: bytes, mask: int, prof: Profile) -> bool:
    """Whether some query's byte groups all have a member in chunk, given the needles it
    holds (bits of `mask`); true when no group is known (the record is parsed)."""
    if not prof.groups:
        return True
    for bits, rest in prof.tests:
        if bits and not bits & mask:
            continue
        for group in rest:
            for b in group:
                if b in chunk:
                    break
            else:
                break  # this group has no member: the query cannot match
        else:
            return True
    return False


def _file_rows(data: bytes, fast: Fast, head: bytes, gate: int | None) -> _Needled | None:
    """A file dense in records only column-limited queries want, in one pass
    (Limited.file_rows); None where the general path must decide."""
    got = fast.decoder.file_rows(data, head, b"}")
    if got is None:
        return None
    out = _Needled(got[0], [])
    if got[1]:
        widest = max(map(len, got[1])) - len(head) - 1
        if widest > _S.limits.max_record_bytes:
            return None  # the general path names it
        out.widest = widest
        out.rows = got[1]
        if gate is not None and gate in fast.limited:
            at = fast.limited.index(gate)
            out.gate_hits = sum(1 for meets in got[2] if meets[at])
    if got[3]:  # records a query reading whole records may want: their own bytes
        index = record_index(data)
        if index is None or not index.all_objects() or len(index) != got[0]:
            return None
        for i in got[3]:
            chunk = index.record(i)
            try:
                rec = orjson.loads(chunk)
            except orjson.JSONDecodeError:
                return None
            out.records.append((i, rec, None if b"\n" in chunk else chunk))
    return out


DENSE = 64  # hits of one needle from which a file is decoded in one pass


@dataclass
class _Needled:
    """What `_needle_records` found: the records left to the general path, and the rows
    the fast path (limited.py) wrote."""

    count: int
    records: list[tuple[int, object, bytes | None]]
    rows: list[bytes] = field(default_factory=list)
    widest: int = 0
    gate_hits: int = 0

    def add_row(
        self, row: bytes, meets: list[bool], head: bytes, fast: Fast, gate: int | None
    ) -> bool:
        """Take a row the fast path wrote; False for one past the record size limit (the
        general path names it)."""
        if len(row) > _S.limits.max_record_bytes:
            return False
        self.rows.append(head + row + b"}")
        self.widest = max(self.widest, len(row))
        if gate is not None and gate in fast.limited and meets[fast.limited.index(gate)]:
            self.gate_hits += 1
        return True


def _needle_records(
    data: bytes, prof: Profile | None = None, head: bytes | None = None, gate: int | None = None
) -> _Needled | None:
    """The record count, and the records holding a needle: [(record index, parsed record,
    its bytes)], or None when the file is not valid JSON of CloudTrail's shape, a record is
    not an object, or a record holding a needle does not parse alone: then the file is
    parsed whole, record by record, so that what is wrong is named.

    The records are those of the file's top-level Records array (`record_index`, a
    validating parse): a caller's nested object that mimics a record start is never a
    record. A record holding a needle but not some byte of each of a query's groups
    (`_maybe`) is not parsed. With `head` (the row's partitions), a record that only
    column-limited queries can want (none of the other queries' needles is in it) takes
    the fast path where it can: its row is written here."""
    prof = prof or _S.queries
    fast = prof.fast if head is not None else None
    # A file where a column-limited query's needle occurs at least DENSE times (an error
    # storm) is decoded in one pass (Limited.file_rows), where it can: the search for the
    # needles stops there. Otherwise the records holding a needle are found by it.
    hits: list[list[int]] | None = []
    for j, needle in enumerate(prof.needles):
        dense = fast is not None and fast.decoder.whole_files and not fast.whole_bits >> j & 1
        found = positions(data, needle, HEAD_LEN, DENSE if dense else None)
        if dense and len(found) >= DENSE:
            one_pass = _file_rows(data, fast, head, gate)  # type: ignore[arg-type]
            if one_pass is not None:
                return one_pass
            hits = None  # search again, every hit
            break
        hits.append(found)  # type: ignore[union-attr]
    index = record_index(data)
    if index is None or not index.all_objects():
        return None
    out = _Needled(len(index), [])
    for i, chunk, mask in index.holding(prof.needles, hits):
        if not _maybe(chunk, mask, prof):  # no query's conditions can all hold: not parsed
            continue
        if fast is not None and not mask & fast.whole_bits:
            got = fast.decoder.row(chunk)
            if got is not None and (
                not any(got[1]) or out.add_row(*got, head, fast, gate)  # type: ignore[arg-type]
            ):
                continue  # no query wants it, or its row is written
        try:
            rec = orjson.loads(chunk)
        except orjson.JSONDecodeError:
            return None
        # A record handed on as its own bytes must be one line (NDJSON): one laid out over
        # several lines is written again.
        out.records.append((i, rec, None if b"\n" in chunk else chunk))
    return out


def _looks_whole(data: bytes) -> bool:
    return bool(_WHOLE_HEAD.match(data[:64]) and _WHOLE_TAIL.search(data[-64:]))


def _parse_whole(data: bytes) -> list[object] | str:
    """The Records array of the whole file, or why the file cannot be read. A record that
    does not parse alone (nested past orjson's 1,024 levels, say) is a BadRecord: the
    others are still read."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        doc = lenient_loads(data) if "surrogate" in str(exc) else None
        if doc is None:
            if not _WHOLE_HEAD.match(data[:64]):
                return 'not a CloudTrail log file (no {"Records": [...]} object)'
            records = records_one_by_one(data) if _looks_whole(data) else None
            if records is None:
                return f"not a complete CloudTrail log file (not valid JSON: {exc})"
            return records
    records = doc.get("Records") if isinstance(doc, dict) else None
    if not isinstance(records, list):
        return "not a CloudTrail log file (no Records array)"
    return records


def _eid(rec: dict[str, Any]) -> str:
    return f"(eventID {str(rec.get('eventID'))[:64]})"


def _deeper_than(v: object, n: int) -> bool:
    """Whether v nests more than n objects/arrays deep (recursion at most n + 1 deep)."""
    if isinstance(v, dict):
        return n <= 0 or any(_deeper_than(x, n - 1) for x in v.values())
    if isinstance(v, list):
        return n <= 0 or any(_deeper_than(x, n - 1) for x in v)
    return False


def scan(task: Task) -> FileResult:
    res = FileResult(task.path)
    limits = _S.limits
    try:
        raw = read_bytes(task.path)
    except Unusable as exc:
        res.error = str(exc)
        return res
    except Exception as exc:  # noqa: BLE001 - any read failure is reported, not raised
        res.error = f"cannot read: {exc}"
        return res
    finally:
        if task.path.startswith("s3://"):
            from auditor.sources.s3 import take_reads

            res.s3_reads = take_reads()
    if not raw:
        res.error = "empty file"
        return res
    try:
        data = gunzip(raw, limits)
    except Unusable as exc:
        res.error = str(exc)
        return res
    except Exception as exc:  # noqa: BLE001
        res.error = f"not a complete gzip file: {exc}"
        return res
    del raw
    prof = _profile(task)
    head = (
        orjson.dumps(
            {
                "account": task.account,
                "region": task.region,
                "timestamp": task.folder,
                "_file": task.path,
            }
        )[:-1]
        + b',"r":'
    )
    gate = None if task.lookahead_only else _S.gate
    fast = _needle_records(data, prof, head, gate)
    if fast is not None and not fast.records and not fast.rows:  # no record can match
        res.records = fast.count
        return res
    indexed: Sequence[tuple[int, object, bytes | None]]
    limited: list[bytes] = []
    if fast is not None:
        res.records, indexed = fast.count, fast.records
        limited, res.widest, res.gate_hits = fast.rows, fast.widest, fast.gate_hits
    else:
        records = _parse_whole(data)
        if isinstance(records, str):
            res.error = records
            return res
        res.records = len(records)
        indexed = [(i, rec, None) for i, rec in enumerate(records)]
    del data
    res.needle_hit = True
    out: list[bytes] = []
    broken: list[str] = []
    for i, rec, raw_bytes in indexed:
        if isinstance(rec, BadRecord):
            broken.append(f"record {i}: {rec.reason}; skipped")
            continue
        if not isinstance(rec, dict):
            broken.append(f"record {i}: not a JSON object")
            continue
        cols = _wanted(rec, prof)
        if cols is False:
            continue
        if gate is not None and _meets(rec, _S.queries.exact[gate], _S.queries.contains[gate]):
            res.gate_hits += 1
        et = rec.get("eventTime")
        if not event_time_ok(et):
            broken.append(
                f"record {i} {_eid(rec)}: eventTime {str(et)[:40]!r} is not an ISO-8601 "
                "UTC time; skipped"
            )
            continue
        if (
            raw_bytes is None or raw_bytes.count(b"{") + raw_bytes.count(b"[") > limits.max_depth
        ) and _deeper_than(rec, limits.max_depth):
            broken.append(
                f"record {i} {_eid(rec)}: nested more than {limits.max_depth} levels "
                "deep (the record depth limit); skipped"
            )
            continue
        ui = rec.get("userIdentity")
        if ui is not None and not isinstance(ui, dict):
            broken.append(
                f"record {i} {_eid(rec)}: userIdentity is not an object; principal "
                "recorded as unknown"
            )
        into = out
        if cols is not None:  # only some columns are read: load only those
            raw_bytes = orjson.dumps(pick_columns(rec, cols))
            into = limited
        elif not is_canonical(rec):
            raw_bytes = orjson.dumps(canonical(rec))
        elif raw_bytes is None:
            raw_bytes = orjson.dumps(rec)
        if len(raw_bytes) > limits.max_record_bytes:
            broken.append(
                f"record {i} {_eid(rec)}: {len(raw_bytes)} bytes, over the "
                f"{limits.max_record_bytes}-byte record size limit; skipped"
            )
            continue
        into.append(head + raw_bytes + b"}")
        if len(raw_bytes) > res.widest:
            res.widest = len(raw_bytes)
    res.candidates = len(out) + len(limited)
    if out:
        res.rows = b"\n".join(out) + b"\n"
        res.whole = len(res.rows)
    if limited:
        res.rows += b"\n".join(limited) + b"\n"
    if res.candidates:
        res.widest += len(head) + 1
        if _S.rows_dir is not None:
            _write_parts(res, _S.rows_dir)
    if broken:
        res.broken = broken
    return res


PART_BYTES = 64 << 20  # a new part past this size
WHOLE, LIMITED = "whole", "limited"  # the two kinds of rows (FileResult.whole)


class Parts:
    """One process's NDJSON parts in `folder`, one open per kind of row: each file's rows
    are appended and flushed, and reported as (kind, part, its size after them), so that
    a reader counts only what was reported (and cuts a dead writer's part back to it)."""

    def __init__(self, folder: str, name: str) -> None:
        self.folder, self.name = folder, name
        self._open: dict[str, Any] = {}
        self._made = 0

    def write(self, res: FileResult) -> tuple[tuple[str, str, int], ...]:
        done = []
        for kind, data in ((WHOLE, res.rows[: res.whole]), (LIMITED, res.rows[res.whole :])):
            if not data:
                continue
            fh = self._open.get(kind)
            if fh is None or fh.tell() >= PART_BYTES:
                if fh is not None:
                    fh.close()
                self._made += 1
                path = os.path.join(self.folder, f"{self.name}-{self._made}-{kind}.ndjson")
                fh = self._open[kind] = open(path, "ab")  # noqa: SIM115 - kept open
            fh.write(data)
            fh.flush()
            done.append((kind, fh.name, fh.tell()))
        return tuple(done)

    def close(self) -> None:
        for fh in self._open.values():
            fh.close()
        self._open.clear()


_PARTS: list[Parts] = []  # this worker's, made on its first rows (ScanSettings.rows_dir)


def _write_parts(res: FileResult, rows_dir: str) -> None:
    """The file's rows to this process's parts, not through the pipe."""
    if not _PARTS:
        _PARTS.append(Parts(rows_dir, f"w{os.getpid()}"))
    res.parts = _PARTS[0].write(res)
    res.rows, res.whole = b"", 0
