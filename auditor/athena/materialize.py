"""A Parquet table of audit-relevant events, kept up to date; audits read it for the
days it holds.

`auditor materialize --from --to` maintains `<database>.<materialized_table>`: every
column of the trail table, the row's log file (`auditor_source_file`) and its delivery
day (`delivery_day`, YYYY-MM-DD, the partition; not `day`, which the manual scheme's
table already has). Its rows are the one-scan candidates (onescan.py): the union of the
shipped queries' prefilters, over whole delivery folders (sql/materialize.sql).

    first run   Glue CreateTable: Parquet, partitioned by delivery_day, at
                materialized_location (default s3://<results bucket>/auditor-materialized/
                <name>/); not a CTAS, which an enforcing workgroup would place below its
                expiring results location
    each run    present days = the table's Glue partitions (GetPartitions: no Athena scan);
                to do = the missing days + the present days within CloudTrail's delivery
                lag (a day ending less than LAG before now may still receive files):
                those are refreshed (their objects and partitions deleted first);
                one INSERT INTO per run of consecutive days, at most MAX_PARTITIONS days
                (Athena's limit on partitions one statement writes).

`auditor audit --engine athena` with `materialized_table` set ([athena] in the config)
routes each unit (one query over one chunk): when every delivery folder it reads is in
the table, it runs over `(SELECT * FROM <materialized> WHERE delivery_day BETWEEN ...)`;
otherwise over the raw table (through onescan as before). A day counts as held only
when its partition was created (Glue CreationTime) LAG or more after the day ended: one
written earlier may lack late deliveries. The report's coverage notes say which days
came from which table.

Bytes: the materialized rows are a small share of the trail (the prefilters keep
resource-policy calls and denials, ~2% of records) and Parquet lets the queries read
only the columns they use: tests/engines/test_athena_materialize.py argues <= 2% of the
raw gzip bytes from object sizes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from auditor.athena import onescan
from auditor.athena.runner import AthenaRunner, Row
from auditor.athena.tableshape import TableShape
from auditor.config import DELIVERY_MARGIN, AthenaSettings
from auditor.errors import ConfigError, QueryFailed
from auditor.model import QueryRecord
from auditor.plan import PlannedQuery as Unit
from auditor.sqlgen import QuerySpec, RenderedSQL, quote_ident, render, sql_literal

PARTITION = "delivery_day"
# A delivery day ending less than this before now may still grow: the next day's folder
# takes its late events, and that day's own files keep arriving for DELIVERY_MARGIN.
LAG = timedelta(days=1) + DELIVERY_MARGIN
MAX_PARTITIONS = 100  # Athena: partitions written by one CTAS / INSERT INTO
FOLDER = "auditor-materialized/"
INSERT = "materialize_insert"


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def lag_days(now: datetime, days: Iterable[date]) -> set[date]:
    """The days that end (next midnight UTC) less than LAG before `now`."""
    edge = now - LAG
    return {
        d for d in days if datetime(d.year, d.month, d.day, tzinfo=UTC) + timedelta(days=1) > edge
    }


def batches(days: Iterable[date], limit: int = MAX_PARTITIONS) -> list[tuple[date, date]]:
    """Runs of consecutive days, each at most `limit` long."""
    out: list[tuple[date, date]] = []
    for d in sorted(set(days)):
        if out and d == out[-1][1] + timedelta(days=1) and (d - out[-1][0]).days < limit:
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def complete(day: date, created: datetime | None) -> bool:
    """A partition holds the whole day when written LAG or more after the day ended."""
    if created is None:
        return False
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created >= datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1) + LAG


def present_days(glue: Any, database: str, table: str) -> set[date] | None:
    """The table's delivery days (Glue partitions); None when there is no such table."""
    got = partitions(glue, database, table)
    return None if got is None else set(got)


def partitions(glue: Any, database: str, table: str) -> dict[date, datetime | None] | None:
    """The table's delivery days and when each partition was created (an INSERT makes
    it; a refresh deletes it first); None when there is no such table."""
    try:
        glue.get_table(DatabaseName=database, Name=table)
    except Exception as exc:  # noqa: BLE001
        if onescan._aws_error(exc) == "EntityNotFoundException":
            return None
        raise QueryFailed(
            f"materialized table {database}.{table}: {onescan._aws_error(exc)}"
        ) from None
    got: dict[date, datetime | None] = {}
    for page in glue.get_paginator("get_partitions").paginate(
        DatabaseName=database, TableName=table
    ):
        for p in page.get("Partitions") or ():
            try:
                got[date.fromisoformat(p["Values"][0])] = p.get("CreationTime")
            except (KeyError, IndexError, ValueError):
                continue
    return got


def spec() -> QuerySpec:
    from auditor.resources import shared_sql_dir

    return QuerySpec(
        name="materialize",
        template="materialize.sql",
        title="Materialized table of audit-relevant rows",
        needles=(),
        prefilter={},
        folder=shared_sql_dir(),
    )


def render_insert(
    settings: AthenaSettings, shape: TableShape, first: date, last: date, specs: Iterable[QuerySpec]
) -> RenderedSQL:
    assert settings.materialized_table
    ctx: dict[str, object] = {
        "statement": INSERT,
        "target": quote_ident(f"{settings.database}.{settings.materialized_table}"),
        "table": quote_ident(f"{settings.database}.{settings.table}"),
        "partition": PARTITION,
        "columns": onescan.table_columns(shape),
        "source_column": onescan.SOURCE_COLUMN,
        "prefilters": onescan.candidate_conditions(specs, shape.has),
        "scheme": settings.partition_scheme,
        "shape": shape,
        "accounts": [],
        "regions": [],
        "first_folder": f"{first:%Y/%m/%d}",
        "last_folder": f"{last:%Y/%m/%d}",
    }
    return render(spec(), "athena", ctx)


@dataclass
class MaterializeResult:
    created: bool = False
    skipped: list[date] = field(default_factory=list)
    refreshed: list[date] = field(default_factory=list)
    inserted: list[date] = field(default_factory=list)
    records: list[QueryRecord] = field(default_factory=list)

    def lines(self) -> list[str]:
        def span(ds: list[date]) -> str:
            return ", ".join(f"{a}..{b}" if a != b else f"{a}" for a, b in batches(ds, 10**6))

        out = [
            f"created the table: {'yes' if self.created else 'no (it exists)'}",
            f"days skipped (present): {len(self.skipped)}",
            f"days inserted: {len(self.inserted)} {span(self.inserted)}".rstrip(),
            f"days refreshed (delivery lag): {len(self.refreshed)} {span(self.refreshed)}".rstrip(),
        ]
        scanned = sum(r.data_scanned_bytes or 0 for r in self.records)
        out.append(f"statements: {len(self.records)}, bytes scanned: {scanned}")
        return out


PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    },
}


def location(settings: AthenaSettings, runner: AthenaRunner) -> str:
    """Where the table's objects live: materialized_location, else
    s3://<the results bucket>/auditor-materialized/<name>/ (beside, not below, the query
    results, whose lifecycle rule expires them in days)."""
    loc = settings.materialized_location
    if not loc:
        base = settings.output_location
        if not base:
            try:
                wg = runner.call("get_work_group", WorkGroup=settings.workgroup)
                conf = wg.get("WorkGroup", {}).get("Configuration") or {}
                base = (conf.get("ResultConfiguration") or {}).get("OutputLocation")
            except QueryFailed:
                base = None
        if not base or not base.startswith("s3://"):
            raise ConfigError(
                "materialize: no materialized_location and no s3:// results "
                "location (--output-location or the workgroup's)"
            )
        bucket = base[len("s3://") :].split("/", 1)[0]
        loc = f"s3://{bucket}/{FOLDER}{settings.materialized_table}/"
    if not loc.startswith("s3://"):
        raise ConfigError(f"materialized_location: {loc!r} is not an s3:// URL")
    return loc if loc.endswith("/") else loc + "/"


def table_input(
    settings: AthenaSettings, shape: TableShape, raw: dict[str, Any], where: str
) -> dict[str, Any]:
    """The Glue definition: the INSERT's columns in its SELECT order, typed as the trail
    table types them, then the partition. Made with Glue CreateTable rather than a CTAS:
    a workgroup that enforces its settings refuses a CTAS's external_location, and would
    put the table below its results location, which expires."""
    sd = raw.get("StorageDescriptor") or {}
    types = {
        c["Name"].lower(): c["Type"]
        for c in list(sd.get("Columns") or ()) + list(raw.get("PartitionKeys") or ())
    }
    cols = [
        {"Name": c.strip('"'), "Type": types.get(c.strip('"'), "string")}
        for c in onescan.table_columns(shape)
    ]
    cols.append({"Name": onescan.SOURCE_COLUMN, "Type": "string"})
    return {
        "Name": settings.materialized_table,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {
            "EXTERNAL": "TRUE",
            "classification": "parquet",
            "parquet.compression": "SNAPPY",
            "auditor.source": f"{settings.database}.{settings.table}",
        },
        "PartitionKeys": [{"Name": PARTITION, "Type": "string"}],
        "StorageDescriptor": {"Columns": cols, "Location": where, **PARQUET},
    }


def materialize(
    settings: AthenaSettings,
    shape: TableShape,
    first: date,
    last: date,
    runner: AthenaRunner,
    glue: Any,
    s3: Any,
    specs: Iterable[QuerySpec],
    now: datetime,
) -> MaterializeResult:
    """Bring the materialized table up to date for [first, last] (days after today are
    left out: they have no folders yet)."""
    name = settings.materialized_table
    if not name:
        raise ConfigError(
            "materialize: no materialized table (--materialized-table or "
            "materialized_table in [athena])"
        )
    if shape.date is None and shape.ymd is None:
        raise ConfigError(
            f"materialize: {settings.table} has no day partition: every "
            f"INSERT would read the whole trail"
        )
    specs = list(specs)
    db = settings.database
    res = MaterializeResult()
    present = present_days(glue, db, name)
    if present is None:
        raw = glue.get_table(DatabaseName=db, Name=settings.table)["Table"]
        glue.create_table(
            DatabaseName=db,
            TableInput=table_input(settings, shape, raw, location(settings, runner)),
        )
        res.created = True
        present = set()
    where = (
        glue.get_table(DatabaseName=db, Name=name)["Table"]
        .get("StorageDescriptor", {})
        .get("Location")
    )
    days = [d for d in _days(first, last) if d <= now.date()]
    lag = lag_days(now, days)
    res.skipped = [d for d in days if d in present and d not in lag]
    res.refreshed = [d for d in days if d in present and d in lag]
    todo = [d for d in days if d not in present or d in lag]
    for d in res.refreshed:
        _drop_day(glue, s3, db, name, where, d)
    for a, b in batches(todo):
        sql = render_insert(settings, shape, a, b, specs)
        _, rec = runner.run(INSERT, sql.sql, sql.params, f"{a}..{b}", fetch=False)
        res.records.append(rec)
        res.inserted.extend(_days(a, b))
    res.inserted = [d for d in res.inserted if d not in res.refreshed]
    return res


def _drop_day(glue: Any, s3: Any, db: str, table: str, where: str | None, d: date) -> None:
    """A day's objects and its partition: the INSERT that follows writes it anew."""
    if where:
        base = where if where.endswith("/") else where + "/"
        onescan.delete_prefix(s3, f"{base}{PARTITION}={d.isoformat()}/", base)
    try:
        glue.delete_partition(DatabaseName=db, TableName=table, PartitionValues=[d.isoformat()])
    except Exception as exc:  # noqa: BLE001
        if onescan._aws_error(exc) != "EntityNotFoundException":
            raise


# -- the audit side ------------------------------------------------------------------------


class Served:
    """The materialized days an audit reads, and how a unit is routed over them."""

    def __init__(self, settings: AthenaSettings, days: set[date]) -> None:
        self.settings = settings
        self.days = days
        self.used: dict[str, tuple[date, date]] = {}  # unit key -> days read from it
        self.raw: dict[str, tuple[date, date]] = {}  # unit key -> days read raw

    @classmethod
    def load(cls, settings: AthenaSettings, glue: Callable[[], Any]) -> Served | None:
        if not settings.materialized_table:
            return None
        # Only whole days: a partition written within the delivery lag may lack files
        # CloudTrail delivered after it (the next materialize refreshes it).
        got = partitions(glue(), settings.database, settings.materialized_table) or {}
        return cls(settings, {d for d, created in got.items() if complete(d, created)})

    def covers(self, unit: Unit) -> bool:
        a, b = unit.folders
        ok = all(d in self.days for d in _days(a, b))
        (self.used if ok else self.raw)[unit.key] = (a, b)
        return ok

    def table_for(self, unit: Unit) -> str:
        a, b = unit.folders
        t = quote_ident(f"{self.settings.database}.{self.settings.materialized_table}")
        return (
            f"(SELECT * FROM {t} WHERE {PARTITION} BETWEEN "
            f"{sql_literal(a.isoformat())} AND {sql_literal(b.isoformat())})"
        )

    def run(self, unit: Unit, runner: AthenaRunner) -> tuple[list[Row], QueryRecord]:
        # strict times: no check names this table's unreadable eventTimes, so such a
        # row fails the query rather than vanish
        over = onescan.render_over(unit, "athena", self.table_for(unit), tolerant_times=False)
        return runner.run(unit.name, over.sql, over.params, unit.record_chunk)

    def coverage_notes(self) -> list[str]:
        name = f"{self.settings.database}.{self.settings.materialized_table}"
        out = []
        for key, (a, b) in sorted(self.used.items()):
            out.append(f"{key}: delivery days {a}..{b} read from the materialized table {name}")
        for key, (a, b) in sorted(self.raw.items()):
            missing = [d for d in _days(a, b) if d not in self.days]
            out.append(
                f"{key}: delivery days {a}..{b} read from the raw table "
                f"({len(missing)} of them not in {name})"
            )
        return out


def run_materialize(
    config: Any, athena: Any = None, glue: Any = None, s3: Any = None, now: datetime | None = None
) -> MaterializeResult:
    """The library entry point of `auditor materialize`: the table's shape from Glue,
    then materialize() over the config's range."""
    from auditor.athena.tableshape import resolve
    from auditor.aws import make_client
    from auditor.rule import load_rule

    a: AthenaSettings = config.athena
    glue = glue or make_client("glue")
    shape = resolve(a, glue)
    runner = AthenaRunner(athena or make_client("athena"), a)
    return materialize(
        a,
        shape,
        config.range.first,
        config.range.last,
        runner,
        glue,
        s3 or make_client("s3", max_attempts=8),
        load_rule(config.rule).queries,
        now or config.now or datetime.now(UTC),
    )
