"""Backfills: a long range as monthly chunks, and a state folder to resume from.

A unit of work is one query over one chunk. How a query's chunk results combine into
exactly what one query over the whole range returns is its *merge kind*:

  rows      one row per event, `eventtime` filtered to the chunk exactly: the chunks'
            rows concatenated in date order. A query that looks past the range
            (`lookahead`) looks ahead only from the last chunk; the others stop at their
            own end, so the windows stay disjoint and their union is the whole window.
  sum:COL   GROUP BY every other column with COL = count(*) or sum(...): rows of equal
            groups are added up, then ordered by COL descending and the group columns
            ascending (the query's own ORDER BY).
  whole     anything else: never split, one statement over the whole range.

A query declares its kind in its rule's queries.toml (`chunk_merge = "..."`, checked
when the rule is loaded: QuerySpec.chunk_merge); an undeclared query is `whole`, which is
always right.
tests/engines/test_athena_backfill.py checks with DuckDB that merged chunks equal one
query over the whole range, for split points anywhere.

Each finished unit is saved as one JSON file in the state folder (temp file + rename),
with a SHA-256 over its SQL, parameters, rows and record, so `--resume` reruns only the
units without a file that verifies (missing, edited, truncated, or other SQL).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from auditor.athena.tableshape import TableShape, with_shape
from auditor.config import AuditConfig, DateRange
from auditor.model import QueryRecord
from auditor.plan import PlannedQuery, QueryPlan, build_plan
from auditor.sqlgen import QuerySpec

DEFAULT_STATE_ROOT = Path(".auditor-state")
STATE_VERSION = 2  # 2: the SQL, parameters and a SHA-256 in every file
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def merge_kind(spec: QuerySpec) -> str:
    """rows | whole | sum:<column>, as the query's rule declares it."""
    return spec.chunk_merge


@dataclass(frozen=True)
class Chunk:
    label: str  # "2026-10" for a month; "2026-10-03..2026-10-09" for any other piece
    range: DateRange


def split_range(rng: DateRange, cuts: Iterable[date]) -> list[DateRange]:
    """Split [first, last] so that each cut day starts a new piece (cuts out of range are
    ignored). The pieces cover the range exactly, in order, without overlap."""
    starts = sorted({c for c in cuts if rng.first < c <= rng.last})
    pieces: list[DateRange] = []
    first = rng.first
    for c in starts:
        pieces.append(DateRange(first, c - timedelta(days=1)))
        first = c
    pieces.append(DateRange(first, rng.last))
    return pieces


def month_chunks(rng: DateRange) -> list[Chunk]:
    """One chunk per calendar month the range touches, clipped to the range."""
    cuts = []
    y, m = rng.first.year, rng.first.month
    while True:
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        d = date(y, m, 1)
        if d > rng.last:
            break
        cuts.append(d)
    return [Chunk(f"{p.first:%Y-%m}", p) for p in split_range(rng, cuts)]


def chunks_at(rng: DateRange, cuts: Iterable[date]) -> list[Chunk]:
    """Chunks split at arbitrary days (labelled by their dates)."""
    return [Chunk(f"{p.first}..{p.last}", p) for p in split_range(rng, cuts)]


@dataclass(frozen=True)
class Unit:
    """One query of one chunk, and the first and last delivery folder it reads (what its
    partition filter bounds: the cost guard sizes exactly these)."""

    chunk: Chunk
    query: PlannedQuery
    folders: tuple[date, date]
    # The SQL context the query was rendered with: the one-scan path (onescan.py)
    # renders the same template against its table of candidate rows.
    context: Mapping[str, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> str:
        return f"{self.chunk.label}/{self.query.name}"

    @property
    def fingerprint(self) -> str:
        h = hashlib.sha256(self.query.sql.encode())
        for p in self.query.params:
            h.update(b"\x00" + p.encode())
        return h.hexdigest()


def folder_span(rng: DateRange, lookahead: bool, lookahead_days: int) -> tuple[date, date]:
    """The delivery folders a query over `rng` reads: first .. last+1, and the look-ahead
    days for a look-ahead query (plan.query_context's first_folder, last_folder and
    lookahead_last_folder, which the SQL's partition filter binds)."""
    last = rng.last + timedelta(days=lookahead_days if lookahead else 0)
    return rng.folder_days[0], DateRange(rng.first, last).folder_days[-1]


def make_unit(chunk: Chunk, query: PlannedQuery, lookahead_days: int,
              context: Mapping[str, object] | None = None) -> Unit:
    return Unit(chunk, query, folder_span(chunk.range, query.spec.lookahead, lookahead_days),
                context or {})


def plan_units(config: AuditConfig, dialect: str = "athena",
               chunks: list[Chunk] | None = None, shape: TableShape | None = None) -> list[Unit]:
    """The statements to run: every query per chunk (monthly unless given), except the
    `whole` ones, which run once over the whole range (first: they take longest).
    `shape` is the Athena table's (tableshape.py), passed to the SQL."""

    def plan(cfg: AuditConfig, rng: DateRange, chunk: str | None = None) -> QueryPlan:
        return with_shape(build_plan(cfg, dialect, rng, chunk=chunk), shape)

    chunks = chunks if chunks is not None else month_chunks(config.range)
    if len(chunks) <= 1:
        only = chunks[0] if chunks else Chunk(f"{config.range.first:%Y-%m}", config.range)
        p = plan(config, only.range)
        return [make_unit(only, q, config.lookahead_days, p.context) for q in p.queries]
    units: list[Unit] = []
    whole = Chunk(f"{config.range.first}..{config.range.last}", config.range)
    p = plan(config, config.range)
    for q in p.queries:
        if merge_kind(q.spec) == "whole":
            units.append(make_unit(whole, q, config.lookahead_days, p.context))
    for i, c in enumerate(chunks):
        # Only the last chunk looks past its end: the look-ahead windows stay disjoint.
        cfg = config if i == len(chunks) - 1 else replace(config, lookahead_days=0)
        p = plan(cfg, c.range, c.label)
        for q in p.queries:
            if merge_kind(q.spec) != "whole":
                units.append(make_unit(c, q, cfg.lookahead_days, p.context))
    return units


def plan_hash(units: list[Unit]) -> str:
    h = hashlib.sha256()
    for u in units:
        h.update(f"{u.key}\x00{u.fingerprint}\n".encode())
    return h.hexdigest()


def default_state_dir(units: list[Unit]) -> Path:
    return DEFAULT_STATE_ROOT / plan_hash(units)[:16]


def record_to_dict(r: QueryRecord) -> dict[str, Any]:
    return dataclasses.asdict(r)


def record_from_dict(d: dict[str, Any]) -> QueryRecord:
    names = {f.name for f in dataclasses.fields(QueryRecord)}
    kw = {k: v for k, v in d.items() if k in names}
    kw["parameters"] = tuple(kw.get("parameters") or ())
    return QueryRecord(**kw)


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode()


def state_digest(sql: str, params: list[str], rows: Any, record: Any) -> str:
    """SHA-256 over a saved unit's SQL, parameters, rows and record (canonical JSON)."""
    return hashlib.sha256(_canonical(
        {"sql": sql, "params": list(params), "rows": rows, "record": record})).hexdigest()


class StateStore:
    """The state folder of one plan: one `<chunk>__<query>.json` per finished unit.

    Each file carries its unit's SQL and parameters and a SHA-256 over them, its rows and
    its record: a file that does not verify (edited, truncated, saved from other SQL) is
    not trusted; `rejected` names it and why, and the unit is run again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.warning: str | None = None  # the first failure to save or clear, if any
        self.rejected: dict[str, str] = {}  # unit key -> "<file>: why it was not trusted"

    def _path(self, unit: Unit) -> Path:
        name = f"{unit.chunk.label}__{unit.query.name}"
        if not _SAFE_NAME.match(name):
            name = hashlib.sha256(name.encode()).hexdigest()[:32]
        return self.folder / f"{name}.json"

    def load(self, unit: Unit) -> tuple[list[dict[str, Any]], QueryRecord] | None:
        """A saved unit that verifies, else None (missing, or named in `rejected`). The
        record says it came from saved state."""
        path = self._path(unit)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            return self._reject(unit, path, f"unreadable ({exc.strerror or exc})")
        try:
            data = json.loads(text)
            if data.get("version") != STATE_VERSION:
                return self._reject(unit, path, f"state version {data.get('version')!r}")
            if (data.get("key") != unit.key or data.get("sql") != unit.query.sql
                    or list(data.get("params")) != list(unit.query.params)):
                return self._reject(unit, path, "saved from other SQL or parameters")
            digest = state_digest(data["sql"], data["params"], data["rows"], data["record"])
            if data.get("digest") != digest:
                return self._reject(unit, path, "its SHA-256 does not match (edited?)")
            rec = replace(record_from_dict(data["record"]), from_saved_state=True)
            return list(data["rows"]), rec
        except (ValueError, KeyError, TypeError) as exc:
            return self._reject(unit, path, f"not a complete state file ({type(exc).__name__})")

    def _reject(
        self, unit: Unit, path: Path, why: str
    ) -> tuple[list[dict[str, Any]], QueryRecord] | None:
        self.rejected[unit.key] = f"{path}: {why}"
        return None

    def save(self, unit: Unit, rows: list[dict[str, Any]], record: QueryRecord) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self._path(unit)
            tmp = path.with_suffix(f".{os.getpid()}.part")
            # Through JSON first, so the digest is over exactly what load() reads back.
            saved_rows = json.loads(json.dumps(rows, default=str))
            saved_rec = json.loads(json.dumps(
                record_to_dict(replace(record, from_saved_state=False)), default=str))
            params = list(unit.query.params)
            tmp.write_text(
                json.dumps({
                    "version": STATE_VERSION,
                    "key": unit.key,
                    "sql": unit.query.sql,
                    "params": params,
                    "digest": state_digest(unit.query.sql, params, saved_rows, saved_rec),
                    "record": saved_rec,
                    "rows": saved_rows,
                }),
                encoding="utf-8",
            )
            os.replace(tmp, path)
        except OSError as exc:
            # The audit itself is not at stake, only --resume: note it and go on.
            self.warning = self.warning or (
                f"--state-dir {self.folder}: cannot save chunk state ({exc}); "
                f"--resume will redo these chunks")

    def clear(self, units: list[Unit]) -> None:
        """Forget the saved units of this plan (a fresh run without --resume)."""
        for u in units:
            try:
                self._path(u).unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                self.warning = self.warning or (
                    f"--state-dir {self.folder}: cannot clear old chunk state ({exc}); "
                    f"--resume will redo these chunks")


def _null_last(v: Any) -> tuple[bool, Any]:
    return (v is None, v if v is not None else 0)


def _sum_merge(parts: list[list[dict[str, Any]]], col: str) -> list[dict[str, Any]]:
    totals: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
    for rows in parts:
        for r in rows:
            key = tuple((k, v) for k, v in r.items() if k != col)
            if key in totals:
                totals[key][col] = (totals[key][col] or 0) + (r.get(col) or 0)
            else:
                totals[key] = dict(r)
    out = list(totals.values())
    others = [k for k in (out[0] if out else {}) if k != col]
    out.sort(key=lambda r: tuple(_null_last(r.get(k)) for k in others))
    out.sort(key=lambda r: -(r.get(col) or 0))  # stable: ties keep the order above
    return out


def merge(
    units: list[Unit], done: dict[str, tuple[list[dict[str, Any]], QueryRecord]]
) -> tuple[dict[str, list[dict[str, Any]]], list[QueryRecord]]:
    """Rows per query name, chunks combined by the query's merge kind, and the records
    in plan order. Units missing from `done` (failed) contribute nothing."""
    parts: dict[str, list[list[dict[str, Any]]]] = {}
    specs: dict[str, QuerySpec] = {}
    records: list[QueryRecord] = []
    for u in units:
        parts.setdefault(u.query.name, [])
        specs[u.query.name] = u.query.spec
        got = done.get(u.key)
        if got is None:
            continue
        parts[u.query.name].append(got[0])
        records.append(got[1])
    rows: dict[str, list[dict[str, Any]]] = {}
    for name, chunks in parts.items():
        kind = merge_kind(specs[name])
        if kind.startswith("sum:") and len(chunks) > 1:
            rows[name] = _sum_merge(chunks, kind[4:])
        else:
            rows[name] = [r for part in chunks for r in part]
    return rows, records
