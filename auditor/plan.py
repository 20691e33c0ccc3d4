"""Settings + an engine's SQL target -> the Plan: every statement an engine will run.
Pure: no I/O beyond reading the rule folder and its templates.

    build_plan(config, target) -> Plan
      chunks      the range whole, or one per calendar month when the target splits
                  (Athena: bounded statements, resumable); `whole` queries never split
      queries     per chunk: name, chunk, folder span, SQL, bound parameters, display
                  SQL, merge rule (how chunk results combine)

An engine runs the plan as it is: it never plans again, nor reads a value back out of
the SQL text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Literal

from auditor.config import AuditConfig, DateRange
from auditor.errors import ConfigError
from auditor.rule import RuleFolder, load_rule
from auditor.sqlgen import CHUNK_MERGE, QuerySpec, RenderedSQL, render


@dataclass(frozen=True)
class SqlTarget:
    """What an engine's SQL runs against: the dialect (which macros), the table, its
    partition scheme, and whether long ranges are sent as monthly chunks. Each engine
    says its own (`Engine.target`); planning knows no engine by name."""

    dialect: str
    table: str  # as it goes into the SQL (quoted)
    scheme: str
    monthly: bool = False
    # more values for the templates (e.g. what the engine learnt of the table)
    context: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class MergeRule:
    """How a query's chunk results combine into one answer over the whole range:
    rows (concatenate in date order), sum (add up `column` per group), whole (never
    split: one statement over the whole range)."""

    kind: Literal["rows", "sum", "whole"]
    column: str | None = None

    @classmethod
    def parse(cls, text: str) -> MergeRule:
        if not CHUNK_MERGE.match(text):
            raise ConfigError(f"chunk_merge {text!r} is not rows, whole or sum:<column>")
        if text.startswith("sum:"):
            return cls("sum", text[4:])
        return cls("rows") if text == "rows" else cls("whole")

    def __str__(self) -> str:
        return f"sum:{self.column}" if self.kind == "sum" else self.kind


@dataclass(frozen=True)
class Chunk:
    label: str  # "2026-10" for a month; "2026-10-03..2026-10-09" for any other piece
    range: DateRange


@dataclass(frozen=True)
class PlannedQuery:
    """One statement: a query of the rule over one chunk. Its SQL is rendered on first
    use (the local engine starts reading files before it needs the SQL)."""

    name: str
    title: str
    chunk: Chunk
    split: bool  # one of several chunks of this query (else one statement, whole range)
    folders: tuple[date, date]  # first and last delivery folder its partition filter binds
    merge: MergeRule
    spec: QuerySpec
    dialect: str
    context: Mapping[str, object] = field(compare=False, repr=False)

    @cached_property
    def _rendered(self) -> RenderedSQL:
        return render(self.spec, self.dialect, dict(self.context))

    @property
    def sql(self) -> str:
        """As sent, with ? placeholders."""
        return self._rendered.sql

    @property
    def params(self) -> tuple[str, ...]:
        return self._rendered.params

    @property
    def display(self) -> str:
        """Values inlined, for people."""
        return self._rendered.display

    @property
    def key(self) -> str:
        return f"{self.chunk.label}/{self.name}"

    @property
    def record_chunk(self) -> str | None:
        """The chunk a QueryRecord names: only a split query's."""
        return self.chunk.label if self.split else None

    @property
    def fingerprint(self) -> str:
        h = hashlib.sha256(self.sql.encode())
        for p in self.params:
            h.update(b"\x00" + p.encode())
        return h.hexdigest()


@dataclass(frozen=True)
class Plan:
    range: DateRange
    target: SqlTarget
    rule: RuleFolder
    queries: tuple[PlannedQuery, ...]
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    lookahead_days: int = 0  # > 0 when a query reads past the range (later_success)
    now: datetime | None = None

    @property
    def chunks(self) -> list[str]:
        return list(dict.fromkeys(q.chunk.label for q in self.queries))

    @property
    def folder_days(self) -> list[date]:
        """Delivery folders some query reads: the range's, plus the look-ahead days."""
        first = min(q.folders[0] for q in self.queries)
        last = max(q.folders[1] for q in self.queries)
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def render(self) -> None:
        """Render every statement now (else each is rendered on first use)."""
        for q in self.queries:
            q._rendered  # noqa: B018


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


def folder_span(rng: DateRange, lookahead_days: int) -> tuple[date, date]:
    """The delivery folders a query over `rng` reads: first .. last+1, plus the
    look-ahead days (query_context's first_folder and lookahead_last_folder)."""
    return rng.folder_days[0], DateRange(
        rng.first, rng.last + timedelta(days=lookahead_days)
    ).folder_days[-1]


def query_context(
    config: AuditConfig, rng: DateRange, target: SqlTarget, lookahead_days: int
) -> dict[str, object]:
    folders = rng.folder_days
    ahead = DateRange(rng.first, rng.last + timedelta(days=lookahead_days))
    return {
        **dict(target.context),
        "table": target.table,
        "scheme": target.scheme,
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
    config: AuditConfig, target: SqlTarget, chunks: Sequence[Chunk] | None = None
) -> Plan:
    """Every statement to run for `config` on `target`. Chunks: monthly when the target
    splits (else the whole range), or as given. A query that looks past the range looks
    ahead only from the last chunk, so the look-ahead windows stay disjoint; a `whole`
    query runs once over the whole range (first: it takes longest)."""
    rng = config.range
    rule = load_rule(config.rule)
    if chunks is None:
        chunks = month_chunks(rng) if target.monthly else []
    if len(chunks) <= 1:
        label = (
            f"{rng.first:%Y-%m}"
            if (rng.first.year, rng.first.month) == (rng.last.year, rng.last.month)
            else f"{rng.first}..{rng.last}"
        )
        chunks = [chunks[0] if chunks else Chunk(label, rng)]
    several = len(chunks) > 1
    whole = Chunk(f"{rng.first}..{rng.last}", rng) if several else chunks[0]

    def query(spec: QuerySpec, chunk: Chunk, split: bool, ahead: int) -> PlannedQuery:
        return PlannedQuery(
            name=spec.name,
            title=spec.title,
            chunk=chunk,
            split=split,
            folders=folder_span(chunk.range, ahead if spec.lookahead else 0),
            merge=MergeRule.parse(spec.chunk_merge),
            spec=spec,
            dialect=target.dialect,
            context=query_context(config, chunk.range, target, ahead),
        )

    specs = rule.queries
    ahead = config.lookahead_days
    if not several:
        queries = [query(s, whole, False, ahead) for s in specs]
    else:
        queries = [
            query(s, whole, False, ahead)
            for s in specs
            if MergeRule.parse(s.chunk_merge).kind == "whole"
        ]
        for i, c in enumerate(chunks):
            last = i == len(chunks) - 1
            queries += [
                query(s, c, True, ahead if last else 0)
                for s in specs
                if MergeRule.parse(s.chunk_merge).kind != "whole"
            ]
    return Plan(
        range=rng,
        target=target,
        rule=rule,
        queries=tuple(queries),
        accounts=config.accounts,
        regions=config.regions,
        lookahead_days=ahead if any(s.lookahead for s in specs) else 0,
        now=config.now,
    )
