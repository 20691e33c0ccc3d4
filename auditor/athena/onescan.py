"""One read of the raw trail per chunk, however many queries the rule has.

Gzip'd JSON cannot skip columns, so each of the rule's queries over the raw table
scans every byte of the partitions it reads: three queries, three times the bytes.
Instead, per chunk (the whole range, or one month of a backfill):

    CTAS  CREATE TABLE auditor_tmp_<run>_<n> (Parquet) AS SELECT <every column>,
          "$path" FROM <raw> WHERE <the chunk's partitions + look-ahead> AND <eventTime>
          AND <--account/--region> AND (<union of the queries' prefilters>)
          -- rendered from sql/candidates.sql (a rule may ship its own candidates.sql)
    check SELECT "$path", count(*) FROM auditor_tmp_<run>_<n> WHERE <eventTime is not
          an ISO-8601 time> -- sql/unreadable_times.sql: the CTAS keeps candidate rows
          whose eventTime cannot be read (read from the raw table, one such crafted
          record fails every query: from_iso8601_timestamp raises); the queries leave
          them out and the report names their log files as unreadable (coverage
          incomplete). A failed check is a failed query; --resume saves it per chunk.
    then  each query's own template rendered again with `table` = the temp table and
          `source_column` set (c.source_file() then reads the kept "$path"), run as usual

The union comes from data: each query's `prefilter`/`prefilter_contains` in the rule's
queries.toml (AND within a query, OR across them), which the local engine already
relies on as necessary conditions of each query's WHERE (tests/engines/test_prefilter.py).
A query without a prefilter makes every row in range a candidate (no prefilter clause).
The temp table keeps the partition columns, so the templates' partition filters still
apply, unchanged. tests/athena/test_onescan.py checks with DuckDB that the queries return
the same rows over the candidate table as over the raw one.

Bytes read from the raw table: the CTAS reads each in-range partition once (range +
delivery day + look-ahead days); the queries read the Parquet table (a few columns of a
few rows). Provenance lists the CTAS (`candidates`) and the queries.

Where the table lives: `<results location>auditor-tmp/<run>/<n>/` (the results location is
--output-location, else the workgroup's). A workgroup that enforces its settings refuses
an `external_location`; Athena then writes to `<its location>tables/<query id>/`.

Cleanup: the temp tables (glue:DeleteTable) and their objects (s3:DeleteObject, only
under the results location) are removed when the run ends, fails or is interrupted
(`close()`, from a `with` block). A run killed outright leaves them: every run first
removes `auditor_tmp_*` tables older than `LEFTOVER_HOURS` (glue:GetTables with a name
expression) and `auditor-tmp/<run>/` prefixes of runs that old.

Falls back to the raw table, saying why in the report, when there is no results
location, or a chunk's CTAS fails (unless --max-scan-gb is set: the budget was sized
for one read, so that chunk's queries fail instead).
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from auditor.athena.cost import ScanEstimate
from auditor.athena.runner import AthenaQueryFailed, AthenaRunner, Interrupted, Row
from auditor.athena.tableshape import TableShape
from auditor.errors import ConfigError, QueryFailed
from auditor.model import QueryRecord, Unreadable
from auditor.plan import PlannedQuery
from auditor.sqlgen import QuerySpec, RenderedSQL, quote_ident, render, sql_literal

CANDIDATES = "candidates"  # the CTAS's name in provenance and state
UNREADABLE = "unreadable_times"  # the check of a candidate table's eventTimes
UNREADABLE_LIMIT = 1000  # log files it names per chunk
TMP_PREFIX = "auditor_tmp_"
TMP_FOLDER = "auditor-tmp/"
SOURCE_COLUMN = "auditor_source_file"
LEFTOVER_HOURS = 24  # older temp tables and prefixes are an interrupted run's
_RUN = re.compile(r"^(\d{14})_[0-9a-f]{8}$")
_LIKE_SPECIAL = re.compile(r"[%_\\]")


# -- the union of the queries' prefilters -------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One prefilter field of one query, as SQL: `column IN values` or LIKE '%v%'."""

    column: str
    kind: str  # in | contains
    values: tuple[str, ...]


def candidate_conditions(
    specs: Iterable[QuerySpec], has: Callable[[str], bool] | None = None
) -> tuple[tuple[Condition, ...], ...] | None:
    """Per query, its declared prefilters (AND within the query); the CTAS keeps a row
    meeting any query's (OR). None: some query declares none, every row is a candidate.
    A field the table lacks (`has`) is dropped from that query's conditions, which only
    widens the union: it stays a necessary condition."""
    out: list[tuple[Condition, ...]] = []
    for spec in specs:
        conds: list[Condition] = []
        for kind, pf in (("in", spec.prefilter), ("contains", spec.prefilter_contains)):
            for name, values in sorted(pf.items()):
                column = name.lower()
                quote_ident(column)  # a plain column name, or refused
                if has is not None and not has(column):
                    continue
                if kind == "contains" and any(_LIKE_SPECIAL.search(v) for v in values):
                    raise ConfigError(
                        f"query {spec.name}: prefilter_contains {name}: a value "
                        f"with %, _ or \\ cannot be a LIKE substring"
                    )
                conds.append(Condition(column, kind, tuple(values)))
        if not conds:
            return None
        out.append(tuple(conds))
    return tuple(out)


def _statement_spec(name: str, template: str, title: str, folder: Any) -> QuerySpec:
    """One of the tool's own statements as a statement of the rule: the rule folder's
    own `template` if it has one (the loader looks there first), else sql/<template>."""
    return QuerySpec(
        name=name, template=template, title=title, needles=(), prefilter={}, folder=folder
    )


def candidates_spec(folder: Any) -> QuerySpec:
    """The CTAS (candidates.sql)."""
    return _statement_spec(
        CANDIDATES, "candidates.sql", "Candidate rows: one read of the trail", folder
    )


def check_spec(folder: Any) -> QuerySpec:
    """The check of a candidate table: its rows whose eventTime cannot be read
    (unreadable_times.sql)."""
    return _statement_spec(
        UNREADABLE,
        "unreadable_times.sql",
        "Candidate rows whose eventTime is not an ISO-8601 time",
        folder,
    )


def check_unit(
    units: list[PlannedQuery], table: str = CANDIDATES, dialect: str = "athena"
) -> PlannedQuery:
    """The check of the chunk of `units` as a statement over `table` (the run's temp
    table; by default a stable name, the check's identity in --resume state)."""
    first = units[0]
    spec = check_spec(first.spec.folder)
    ctx = {
        **chunk_context(units),
        "table": table,
        "source_column": SOURCE_COLUMN,
        "tolerant_times": True,
        "limit": UNREADABLE_LIMIT,
    }
    return PlannedQuery(
        name=UNREADABLE,
        title=spec.title,
        chunk=first.chunk,
        split=first.split,
        folders=first.folders,
        merge=first.merge,
        spec=spec,
        dialect=dialect,
        context=ctx,
    )


def unreadable_files(rows: list[Row], label: str | None) -> list[Unreadable]:
    """The check's rows as coverage entries."""
    where = f" (chunk {label})" if label else ""
    out = []
    for r in rows:
        n = r.get("records")
        out.append(
            Unreadable(
                str(r.get("source_file") or "?"),
                f"{n} candidate record(s) whose eventTime is missing or not an ISO-8601 "
                f"time{where}; left out of every query",
            )
        )
    return out


def chunk_context(units: list[PlannedQuery]) -> dict[str, object]:
    """The SQL context of a chunk's CTAS: its queries' context, bounded by the widest of
    their windows (the look-ahead query's, when the chunk has one)."""
    ctx = dict(units[0].context)
    ahead = any(u.spec.lookahead for u in units)
    ctx["until_folder"] = ctx["lookahead_last_folder"] if ahead else ctx["last_folder"]
    ctx["until_time"] = ctx["lookahead_end"] if ahead else ctx["end"]
    return ctx


def render_candidates(
    units: list[PlannedQuery],
    dialect: str,
    tmp_table: str,
    location: str | None,
    columns: list[str],
    prefilters: Any,
) -> RenderedSQL:
    ctx = chunk_context(units)
    ctx.update(
        tmp_table=tmp_table,
        tmp_location=sql_literal(location) if location else "",
        columns=columns,
        prefilters=prefilters,
        source_column=SOURCE_COLUMN,
        tolerant_times=True,
    )
    return render(candidates_spec(units[0].spec.folder), dialect, ctx)


def render_over(
    unit: PlannedQuery, dialect: str, table: str, tolerant_times: bool = True
) -> RenderedSQL:
    """The unit's own template against the candidate table, where an eventTime that
    cannot be read leaves its row out (the chunk's check names it). `tolerant_times`
    False: such a time fails the query (a table no check reads, the materialized one)."""
    ctx = {
        **unit.context,
        "table": table,
        "source_column": SOURCE_COLUMN,
        "tolerant_times": tolerant_times,
    }
    return render(unit.spec, dialect, ctx)


def table_columns(shape: TableShape) -> list[str]:
    """Every top-level column, then the partition columns (the templates filter on them)."""
    cols = sorted(p for p in shape.fields if "." not in p)
    parts = [p.name for p in shape.partitions if p.name not in cols]
    return [quote_ident(c) for c in cols + parts]


def raw_bytes(est: ScanEstimate | None, todo: list[PlannedQuery]) -> int | None:
    """What one read per chunk with work left scans of the raw table: the widest of its
    units' spans (they all start at the chunk's first folder; the look-ahead query's
    ends last), so the largest of their estimates."""
    if est is None:
        return None
    widest: dict[str, int] = {}
    for u in todo:
        widest[u.chunk.label] = max(widest.get(u.chunk.label, 0), est.per_unit.get(u.key, 0))
    return sum(widest.values())


# -- S3 and Glue -----------------------------------------------------------------------


def _split(url: str) -> tuple[str, str]:
    from auditor.sources.s3 import split_url

    bucket, key = split_url(url.rstrip("/"))
    return bucket, (key + "/") if key else ""


def delete_prefix(s3: Any, url: str, under: str) -> int:
    """Delete every object below `url`, which must lie below `under` (the results
    location): never anything else. Returns how many."""
    if not url.startswith(under) or url.rstrip("/") == under.rstrip("/"):
        raise ConfigError(f"refusing to delete {url}: not below {under}")
    bucket, key = _split(url)
    n = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
        keys = [{"Key": o["Key"]} for o in page.get("Contents") or ()]
        for i in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[i : i + 1000], "Quiet": True})
        n += len(keys)
    return n


def _aws_error(exc: Exception) -> str:
    resp = getattr(exc, "response", None) or {}
    return str(resp.get("Error", {}).get("Code") or type(exc).__name__)


@dataclass
class TempTable:
    name: str
    location: str | None  # known before the CTAS, or from the query id (enforced workgroup)
    rendered: RenderedSQL | None = None
    ready: bool = False
    failed: str | None = None  # why the chunk reads the raw table instead
    # the check's rows (UNREADABLE): log files with candidate rows whose eventTime
    # cannot be read; None until it ran
    unreadable: list[Row] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class OneScan:
    """Runs units through their chunk's candidate table. `run(unit)` is safe to call
    from the engine's worker threads; `close()` removes what the run created."""

    def __init__(
        self,
        settings: Any,
        units: list[PlannedQuery],
        shape: TableShape | None,
        glue: Callable[[], Any],
        s3: Callable[[], Any],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        budgeted: bool = False,
        served: Any = None,
        store: Any = None,
    ) -> None:
        """`store`: the --resume state (backfill.StateStore), where each chunk's check
        is saved like a query's rows."""
        self.settings = settings
        self.store = store
        self.served = served  # materialize.Served: units it covers read the materialized table
        self.units = units
        self.shape = shape
        self._glue_f, self._s3_f = glue, s3
        self._glue: Any = None
        self._s3: Any = None
        self.clock = clock
        self.budgeted = budgeted
        self.run_id = f"{clock():%Y%m%d%H%M%S}_{secrets.token_hex(4)}"
        self.base: str | None = None  # the results location, s3://.../ (ends in /)
        self.enforced = False
        self.disabled: str | None = None
        self.runner: AthenaRunner | None = None
        self.records: list[QueryRecord] = []
        self.notes: list[str] = []
        self.tables: dict[str, TempTable] = {}
        self._lock = threading.Lock()
        self.prefilters: Any = None
        self.columns: list[str] = []
        self.check_failures: list[tuple[PlannedQuery, AthenaQueryFailed]] = []
        # chunk label -> the check's rows, of chunks whose queries all came from saved state
        self.restored: dict[str, list[Row]] = {}
        self.unchecked: list[str] = []  # such chunks with no saved check (restore)

    @property
    def glue(self) -> Any:
        if self._glue is None:
            self._glue = self._glue_f()
        return self._glue

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = self._s3_f()
        return self._s3

    @property
    def active(self) -> bool:
        """Resolved, with a results location: units run over candidate tables."""
        return self.disabled is None and self.base is not None

    # -- before the first query ----------------------------------------------------------

    def resolve(self, runner: AthenaRunner) -> None:
        """Find the results location (and whether the workgroup enforces it); work out
        the columns and the union of prefilters. Sets `disabled` when one read per chunk
        cannot be done, and why."""
        self.runner = runner
        if self.shape is None:
            self.disabled = "the table's shape is unknown"
            return
        try:
            self.columns = table_columns(self.shape)
            self.prefilters = candidate_conditions(
                (u.spec for u in {u.name: u for u in self.units}.values()), self.shape.has
            )
        except ConfigError as exc:
            self.disabled = str(exc)
            return
        s = self.settings
        loc: str | None = s.output_location
        try:
            wg = runner.call("get_work_group", WorkGroup=s.workgroup).get("WorkGroup", {})
            conf = wg.get("Configuration") or {}
            self.enforced = bool(conf.get("EnforceWorkGroupConfiguration"))
            wg_loc = (conf.get("ResultConfiguration") or {}).get("OutputLocation")
            if self.enforced or not loc:
                loc = wg_loc or loc
        except QueryFailed:
            pass  # no athena:GetWorkGroup: --output-location, if given, is the location
        if not loc or not loc.startswith("s3://"):
            self.disabled = (
                "no query results location (--output-location or the "
                "workgroup's) to keep the candidate rows in"
            )
            return
        self.base = loc if loc.endswith("/") else loc + "/"

    # -- leftovers of interrupted runs ----------------------------------------------------

    def clean_leftovers(self, hours: float = LEFTOVER_HOURS) -> list[str]:
        """Remove `auditor_tmp_*` tables and `auditor-tmp/<run>/` prefixes older than
        `hours`. Returns notes for what could not be done (nothing fails the audit)."""
        assert self.base is not None
        notes: list[str] = []
        cutoff = self.clock() - timedelta(hours=hours)
        db = self.settings.database
        removed = 0
        try:
            pages = self.glue.get_paginator("get_tables").paginate(
                DatabaseName=db, Expression=f"{TMP_PREFIX}*"
            )
            for page in pages:
                for t in page.get("TableList") or ():
                    name = str(t.get("Name", ""))
                    created = t.get("CreateTime")
                    if not name.startswith(TMP_PREFIX) or created is None:
                        continue
                    if created.tzinfo is None:
                        created = created.replace(tzinfo=UTC)
                    if created >= cutoff:
                        continue  # perhaps another run's, still going
                    where = (t.get("StorageDescriptor") or {}).get("Location")
                    if where and where.startswith(self.base):
                        delete_prefix(self.s3, where, self.base)
                    self.glue.delete_table(DatabaseName=db, Name=name)
                    removed += 1
        except Exception as exc:  # noqa: BLE001 - AWS refusals: say so, go on
            notes.append(f"one scan: leftover temp tables not cleaned ({_aws_error(exc)})")
        try:
            bucket, key = _split(self.base + TMP_FOLDER)
            for page in self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=key, Delimiter="/"
            ):
                for cp in page.get("CommonPrefixes") or ():
                    run = cp["Prefix"][len(key) :].rstrip("/")
                    m = _RUN.match(run)
                    if not m:
                        continue
                    when = datetime.strptime(m.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
                    if when < cutoff:
                        delete_prefix(self.s3, f"s3://{bucket}/{cp['Prefix']}", self.base)
        except Exception as exc:  # noqa: BLE001
            notes.append(f"one scan: leftover temp objects not cleaned ({_aws_error(exc)})")
        if removed:
            notes.append(f"one scan: removed {removed} temp table(s) left by interrupted runs")
        return notes

    # -- per chunk -----------------------------------------------------------------------

    def _table(self, label: str) -> TempTable:
        with self._lock:
            t = self.tables.get(label)
            if t is None:
                n = len(self.tables)
                name = f"{TMP_PREFIX}{self.run_id}_{n}"
                loc = None if self.enforced else f"{self.base}{TMP_FOLDER}{self.run_id}/{n}/"
                t = self.tables[label] = TempTable(name, loc)
            return t

    def _qualified(self, t: TempTable) -> str:
        return quote_ident(f"{self.settings.database}.{t.name}")

    def _ensure(self, unit: PlannedQuery) -> TempTable:
        """The chunk's candidate table, made by the first unit of the chunk to get here."""
        t = self._table(unit.chunk.label)
        with t.lock:
            if t.ready or t.failed:
                return t
            runner = self.runner
            assert runner is not None and self.base is not None
            if runner.cancel.is_set():
                raise Interrupted(unit.key)
            chunk = [u for u in self.units if u.chunk.label == unit.chunk.label]
            t.rendered = render_candidates(
                chunk, "athena", self._qualified(t), t.location, self.columns, self.prefilters
            )
            try:
                _, rec = runner.run(
                    CANDIDATES, t.rendered.sql, t.rendered.params, unit.chunk.label, fetch=False
                )
            except AthenaQueryFailed as exc:
                if exc.record is not None:
                    self._record(exc.record)
                if t.location is None and exc.query_id:
                    t.location = f"{self.base}tables/{exc.query_id}/"
                t.failed = exc.reason
                return t
            if t.location is None:  # the enforced workgroup chose it
                t.location = f"{self.base}tables/{rec.query_id}/"
            self._record(rec)
            t.ready = True
            self._check(t, chunk)
            return t

    def _check(self, t: TempTable, chunk: list[PlannedQuery]) -> None:
        """Name the chunk's candidate rows whose eventTime cannot be read (the queries
        leave them out). A failed check is a failed query: coverage is incomplete."""
        runner = self.runner
        assert runner is not None
        unit = check_unit(chunk, self._qualified(t))
        try:
            rows, rec = runner.run(unit.name, unit.sql, unit.params, unit.record_chunk)
        except AthenaQueryFailed as exc:
            if exc.record is not None:
                self._record(exc.record)
            with self._lock:
                self.check_failures.append((unit, exc))
            return
        self._record(rec)
        t.unreadable = rows
        if self.store is not None:
            self.store.save(check_unit(chunk), rows, rec)

    def _record(self, rec: QueryRecord) -> None:
        with self._lock:
            self.records.append(rec)

    def run(self, unit: PlannedQuery) -> tuple[list[Row], QueryRecord]:
        """One unit: over its chunk's candidate table, else over the raw table."""
        runner = self.runner
        assert runner is not None
        q = unit
        if self.served is not None and self.served.covers(unit):
            got: tuple[list[Row], QueryRecord] = self.served.run(unit, runner)
            return got
        if not self.active:
            return runner.run(q.name, q.sql, q.params, q.record_chunk)
        t = self._ensure(unit)
        if t.failed is not None:
            if self.budgeted:
                raise AthenaQueryFailed(
                    f"chunk {unit.chunk.label}: the candidate table failed ({t.failed}); "
                    f"not rerun on the raw table, which --max-scan-gb was not sized for",
                    None,
                    None,
                    reason=f"candidate table failed: {t.failed}",
                    state="FAILED",
                )
            return runner.run(q.name, q.sql, q.params, q.record_chunk)
        over = render_over(unit, "athena", self._qualified(t))
        rows, rec = runner.run(q.name, over.sql, over.params, q.record_chunk)
        return rows, rec

    # -- the end ---------------------------------------------------------------------------

    def close(self) -> None:
        """Drop every temp table of this run and delete its objects; what cannot be
        removed is named in `notes` (a later run removes it after LEFTOVER_HOURS)."""
        for t in list(self.tables.values()):
            try:
                self.glue.delete_table(DatabaseName=self.settings.database, Name=t.name)
            except Exception as exc:  # noqa: BLE001
                if _aws_error(exc) != "EntityNotFoundException":
                    self.notes.append(
                        f"one scan: temp table {t.name} not dropped "
                        f"({_aws_error(exc)}); a later run removes it"
                    )
            if t.location and self.base:
                try:
                    delete_prefix(self.s3, t.location, self.base)
                except Exception as exc:  # noqa: BLE001
                    self.notes.append(
                        f"one scan: objects under {t.location} not deleted "
                        f"({_aws_error(exc)}); a later run removes them"
                    )

    def __enter__(self) -> OneScan:
        if self.active:
            self.notes.extend(self.clean_leftovers())
        return self

    def __exit__(self, *exc: object) -> None:
        if self.active:
            self.close()

    def restore(
        self, done: list[PlannedQuery], saved: Mapping[str, tuple[Any, QueryRecord]]
    ) -> None:
        """The saved checks of chunks whose queries all come from --resume state (no
        candidate table is made for them in this run; `saved`: unit key -> its saved rows
        and record). A chunk whose saved queries read a candidate table but whose check
        was not saved (it failed) is named in `unchecked`."""
        if self.store is None:
            return
        by_chunk: dict[str, list[PlannedQuery]] = {}
        for u in done:
            by_chunk.setdefault(u.chunk.label, []).append(u)
        for label, chunk in by_chunk.items():
            if label in self.tables:
                continue
            got = self.store.load(check_unit(chunk))
            if got is not None:
                self.restored[label] = got[0]
                self._record(got[1])
            elif any(TMP_PREFIX in saved[u.key][1].sql for u in chunk if u.key in saved):
                self.unchecked.append(label)

    def unreadable(self) -> tuple[list[Unreadable], list[str]]:
        """The log files the checks named, and a line for each chunk whose check named
        as many as it may (more may hold such records)."""
        files: list[Unreadable] = []
        more: list[str] = []
        checked = {label: t.unreadable for label, t in self.tables.items()}
        checked.update(self.restored)
        split = len({u.chunk.label for u in self.units}) > 1
        for label, rows in sorted(checked.items()):
            if rows is None:
                continue
            files.extend(unreadable_files(rows, label if split else None))
            if len(rows) >= UNREADABLE_LIMIT:
                more.append(
                    f"{'chunk ' + label + ': ' if split else ''}more than {UNREADABLE_LIMIT} "
                    "log files hold candidate records whose eventTime cannot be read; "
                    f"the first {UNREADABLE_LIMIT} are named"
                )
        return files, more

    def coverage_notes(self) -> list[str]:
        out = list(self.notes)
        if self.disabled:
            out.append(f"one scan not used: {self.disabled}; each query read the raw table")
        for label, t in self.tables.items():
            if t.failed:
                out.append(
                    f"chunk {label}: the candidate table failed ({t.failed}); its "
                    f"queries read the raw table"
                )
        return out


def budget_bytes(est: ScanEstimate | None, todo: list[PlannedQuery], one_scan: bool) -> int | None:
    """What the cost guard weighs: one read per chunk, or every query's read."""
    if est is None:
        return None
    if one_scan:
        return raw_bytes(est, todo)
    return est.bytes_for(u.key for u in todo)
