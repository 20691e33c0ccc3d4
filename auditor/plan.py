"""Date range + settings -> the rule's queries to run. Pure: no I/O beyond reading the
rule folder and its templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

from auditor.config import AuditConfig, DateRange
from auditor.rule import RuleFolder, load_rule
from auditor.sqlgen import QuerySpec, quote_ident, render

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
    """The queries of one range. Their SQL is rendered on first use of `queries`, so the
    local engine can start reading files (which needs only the specs) before."""

    range: DateRange
    dialect: str
    rule: RuleFolder
    specs: tuple[QuerySpec, ...]
    context: dict[str, object] = field(compare=False, repr=False)
    chunk: str | None = None
    lookahead_days: int = 0  # > 0 when a query reads past the range (later_success)

    @cached_property
    def queries(self) -> tuple[PlannedQuery, ...]:
        out = []
        for spec in self.specs:
            r = render(spec, self.dialect, self.context)
            out.append(
                PlannedQuery(
                    name=spec.name,
                    title=spec.title,
                    sql=r.sql,
                    params=r.params,
                    display=r.display,
                    spec=spec,
                    chunk=self.chunk,
                )
            )
        return tuple(out)

    @property
    def needles(self) -> tuple[bytes, ...]:
        return tuple(sorted({n.encode() for s in self.specs for n in s.needles}))

    @property
    def prefilters(self) -> tuple[dict[str, tuple[str, ...]], ...]:
        return tuple(s.prefilter for s in self.specs)

    @property
    def lookahead_gate(self) -> int | None:
        """Index of the query whose prefilter hits in the range decide whether the
        look-ahead days are read at all (None: always read them)."""
        names = [s.name for s in self.specs]
        gates = {s.lookahead_if for s in self.specs if s.lookahead}
        if len(gates) != 1 or None in gates:
            return None
        (gate,) = gates
        return names.index(gate) if gate in names else None

    @property
    def columns(self) -> tuple[tuple[str, ...] | None, ...]:
        """Per query, the table columns it reads (None: undeclared, load whole records)."""
        return tuple(s.columns for s in self.specs)

    @property
    def prefilters_contains(self) -> tuple[dict[str, tuple[str, ...]], ...]:
        """Per query, like `prefilters`: field -> substrings one of which it must hold."""
        return tuple(s.prefilter_contains for s in self.specs)

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
    ahead = DateRange(rng.first, rng.last + timedelta(days=config.lookahead_days))
    return {
        "table": table,
        "scheme": scheme,
        "first_folder": folders[0].strftime("%Y/%m/%d"),
        "last_folder": folders[-1].strftime("%Y/%m/%d"),
        "start": rng.start_iso,
        "end": rng.end_iso,
        "accounts": list(config.accounts),
        "regions": list(config.regions),
        "lookahead_end": ahead.end_iso,
        "lookahead_last_folder": ahead.folder_days[-1].strftime("%Y/%m/%d"),
    }


def build_plan(
    config: AuditConfig, dialect: str, rng: DateRange | None = None, chunk: str | None = None
) -> QueryPlan:
    rng = rng or config.range
    rule = load_rule(config.rule)
    specs = rule.queries
    lookahead = config.lookahead_days if any(s.lookahead for s in specs) else 0
    return QueryPlan(
        range=rng,
        dialect=dialect,
        rule=rule,
        specs=specs,
        context=query_context(config, rng, dialect),
        chunk=chunk,
        lookahead_days=lookahead,
    )
