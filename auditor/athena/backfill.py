"""Backfills: merging a plan's monthly chunks, and a state folder to resume from.

A unit of work is one planned query over one chunk (auditor.plan splits the range). How
a query's chunk results combine into exactly what one query over the whole range
returns is its merge rule (plan.MergeRule):

  rows      one row per event, `eventtime` filtered to the chunk exactly: the chunks'
            rows concatenated in date order. A query that looks past the range
            (`lookahead`) looks ahead only from the last chunk; the others stop at their
            own end, so the windows stay disjoint and their union is the whole window.
  sum:COL   GROUP BY every other column with COL = count(*) or sum(...): rows of equal
            groups are added up, then ordered by COL descending and the group columns
            ascending (the query's own ORDER BY).
  whole     anything else: never split, one statement over the whole range.

A query declares its rule in its rule's queries.toml (`chunk_merge = "..."`, checked
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
from dataclasses import replace
from pathlib import Path
from typing import Any

from auditor.model import QueryRecord
from auditor.plan import MergeRule, PlannedQuery

DEFAULT_STATE_ROOT = Path(".auditor-state")
STATE_VERSION = 2  # 2: the SQL, parameters and a SHA-256 in every file
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def plan_hash(units: list[PlannedQuery]) -> str:
    h = hashlib.sha256()
    for u in units:
        h.update(f"{u.key}\x00{u.fingerprint}\n".encode())
    return h.hexdigest()


def default_state_dir(units: list[PlannedQuery]) -> Path:
    return DEFAULT_STATE_ROOT / plan_hash(units)[:16]


def record_to_dict(r: QueryRecord) -> dict[str, Any]:
    return dataclasses.asdict(r)


def record_from_dict(d: dict[str, Any]) -> QueryRecord:
    names = {f.name for f in dataclasses.fields(QueryRecord)}
    kw = {k: v for k, v in d.items() if k in names}
    kw["parameters"] = tuple(kw.get("parameters") or ())
    return QueryRecord(**kw)


def _canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def state_digest(sql: str, params: list[str], rows: Any, record: Any) -> str:
    """SHA-256 over a saved unit's SQL, parameters, rows and record (canonical JSON)."""
    return hashlib.sha256(
        _canonical({"sql": sql, "params": list(params), "rows": rows, "record": record})
    ).hexdigest()


class StateStore:
    """The state folder of one plan: one `<chunk>__<query>.json` per finished unit.

    Each file carries its unit's SQL and parameters and a SHA-256 over them, its rows and
    its record: a file that does not verify (edited, truncated, saved from other SQL) is
    not trusted; `rejected` names it and why, and the unit is run again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.warning: str | None = None  # the first failure to save or clear, if any
        self.rejected: dict[str, str] = {}  # unit key -> "<file>: why it was not trusted"

    def _path(self, unit: PlannedQuery) -> Path:
        name = f"{unit.chunk.label}__{unit.name}"
        if not _SAFE_NAME.match(name):
            name = hashlib.sha256(name.encode()).hexdigest()[:32]
        return self.folder / f"{name}.json"

    def load(self, unit: PlannedQuery) -> tuple[list[dict[str, Any]], QueryRecord] | None:
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
            if (
                data.get("key") != unit.key
                or data.get("sql") != unit.sql
                or list(data.get("params")) != list(unit.params)
            ):
                return self._reject(unit, path, "saved from other SQL or parameters")
            digest = state_digest(data["sql"], data["params"], data["rows"], data["record"])
            if data.get("digest") != digest:
                return self._reject(unit, path, "its SHA-256 does not match (edited?)")
            rec = replace(record_from_dict(data["record"]), from_saved_state=True)
            return list(data["rows"]), rec
        except (ValueError, KeyError, TypeError) as exc:
            return self._reject(unit, path, f"not a complete state file ({type(exc).__name__})")

    def _reject(
        self, unit: PlannedQuery, path: Path, why: str
    ) -> tuple[list[dict[str, Any]], QueryRecord] | None:
        self.rejected[unit.key] = f"{path}: {why}"
        return None

    def save(self, unit: PlannedQuery, rows: list[dict[str, Any]], record: QueryRecord) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self._path(unit)
            tmp = path.with_suffix(f".{os.getpid()}.part")
            # Through JSON first, so the digest is over exactly what load() reads back.
            saved_rows = json.loads(json.dumps(rows, default=str))
            saved_rec = json.loads(
                json.dumps(record_to_dict(replace(record, from_saved_state=False)), default=str)
            )
            params = list(unit.params)
            tmp.write_text(
                json.dumps(
                    {
                        "version": STATE_VERSION,
                        "key": unit.key,
                        "sql": unit.sql,
                        "params": params,
                        "digest": state_digest(unit.sql, params, saved_rows, saved_rec),
                        "record": saved_rec,
                        "rows": saved_rows,
                    }
                ),
                encoding="utf-8",
            )
            os.replace(tmp, path)
        except OSError as exc:
            # The audit itself is not at stake, only --resume: note it and go on.
            self.warning = self.warning or (
                f"--state-dir {self.folder}: cannot save chunk state ({exc}); "
                f"--resume will redo these chunks"
            )

    def clear(self, units: list[PlannedQuery]) -> None:
        """Forget the saved units of this plan (a fresh run without --resume)."""
        for u in units:
            try:
                self._path(u).unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                self.warning = self.warning or (
                    f"--state-dir {self.folder}: cannot clear old chunk state ({exc}); "
                    f"--resume will redo these chunks"
                )


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
    units: list[PlannedQuery], done: dict[str, tuple[list[dict[str, Any]], QueryRecord]]
) -> tuple[dict[str, list[dict[str, Any]]], list[QueryRecord]]:
    """Rows per query name, chunks combined by the query's merge kind, and the records
    in plan order. Units missing from `done` (failed) contribute nothing."""
    parts: dict[str, list[list[dict[str, Any]]]] = {}
    rules: dict[str, MergeRule] = {}
    records: list[QueryRecord] = []
    for u in units:
        parts.setdefault(u.name, [])
        rules[u.name] = u.merge
        got = done.get(u.key)
        if got is None:
            continue
        parts[u.name].append(got[0])
        records.append(got[1])
    rows: dict[str, list[dict[str, Any]]] = {}
    for name, chunks in parts.items():
        rule = rules[name]
        if rule.kind == "sum" and rule.column and len(chunks) > 1:
            rows[name] = _sum_merge(chunks, rule.column)
        else:
            rows[name] = [r for part in chunks for r in part]
    return rows, records
