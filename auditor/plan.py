"""Date range + settings -> the queries to run. Pure: no I/O beyond reading templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from auditor.config import AuditConfig, DateRange
from auditor.sqlgen import QuerySpec, query_specs, quote_ident, render

# The table the local engine builds in DuckDB: AWS's CloudTrail table shape plus the
# org-trail partition columns, so the same templates run unchanged.
LOCAL_TABLE = "cloudtrail"
LOCAL_SCHEME = "org"


@dataclass(frozen=True)
class PlannedQuery:
    name: str
    title: str
    sql: str
    params: tuple[str, ...]
    display: str
    spec: QuerySpec
    chunk: str | None = None


@dataclass(frozen=True)
class QueryPlan:
    range: DateRange
    dialect: str
    queries: tuple[PlannedQuery, ...]
    lookahead_days: int = 0  # > 0 when a query reads past the range (later_success)

    @property
    def needles(self) -> tuple[bytes, ...]:
        return tuple(sorted({n.encode() for q in self.queries for n in q.spec.needles}))

    @property
    def prefilters(self) -> tuple[dict[str, tuple[str, ...]], ...]:
        return tuple(q.spec.prefilter for q in self.queries)

    @property
    def prefilters_contains(self) -> tuple[dict[str, tuple[str, ...]], ...]:
        """Per query, like `prefilters`: field -> substrings one of which it must hold."""
        return tuple(q.spec.prefilter_contains for q in self.queries)

    @property
    def folder_days(self) -> list[date]:
        """Delivery folders some query reads: the range's, plus the look-ahead days."""
        return DateRange(
            self.range.first, self.range.last + timedelta(days=self.lookahead_days)
        ).folder_days


def query_context(config: AuditConfig, rng: DateRange, dialect: str) -> dict[str, object]:
    if dialect == "duckdb":
        table, scheme = LOCAL_TABLE, LOCAL_SCHEME
    else:
        a = config.athena
        table = quote_ident(f"{a.database}.{a.table}")
        scheme = a.partition_scheme
    folders = rng.folder_days
    return {
        "table": table,
        "scheme": scheme,
        "first_folder": folders[0].strftime("%Y/%m/%d"),
        "last_folder": folders[-1].strftime("%Y/%m/%d"),
        "start": rng.start_iso,
        "end": rng.end_iso,
        "accounts": list(config.accounts),
        "regions": list(config.regions),
        "lookahead_end": _lookahead_end(rng, config.lookahead_days),
        "lookahead_last_folder": _lookahead_folder(rng, config.lookahead_days),
    }


def _lookahead_end(rng: DateRange, days: int) -> str:
    from datetime import timedelta

    return f"{(rng.last + timedelta(days=1 + days)).isoformat()}T00:00:00Z"


def _lookahead_folder(rng: DateRange, days: int) -> str:
    from datetime import timedelta

    return (rng.last + timedelta(days=1 + days)).strftime("%Y/%m/%d")


def build_plan(
    config: AuditConfig, dialect: str, rng: DateRange | None = None, chunk: str | None = None
) -> QueryPlan:
    rng = rng or config.range
    ctx = query_context(config, rng, dialect)
    queries = []
    for spec in query_specs():
        r = render(spec.template, dialect, ctx)
        queries.append(
            PlannedQuery(
                name=spec.name,
                title=spec.title,
                sql=r.sql,
                params=r.params,
                display=r.display,
                spec=spec,
                chunk=chunk,
            )
        )
    lookahead = config.lookahead_days if any(q.spec.lookahead for q in queries) else 0
    return QueryPlan(range=rng, dialect=dialect, queries=tuple(queries), lookahead_days=lookahead)
