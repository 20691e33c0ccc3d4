"""Every shipped query, rendered for each dialect: golden files, and for Athena the
checks that keep a query cheap and safe (it parses as Athena SQL, bounds the
`timestamp` partition, filters eventtime exactly, binds every value in WHERE).

Refresh the golden files with `make golden` (AUDITOR_UPDATE_GOLDEN=1).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

from auditor.config import AthenaSettings, AuditConfig, DateRange
from auditor.errors import ConfigError
from auditor.plan import PlannedQuery, SqlTarget, build_plan
from auditor.sqlgen import DIALECTS, query_specs, sql_literal
from tests.conftest import golden

GOLDEN = Path(__file__).parent / "golden" / "sql"
NAMES = [s.name for s in query_specs()]
RANGE = DateRange(date(2026, 10, 1), date(2026, 10, 10))
FIRST, LAST = "2026/10/01", "2026/10/11"  # folders: first day .. day after the last


def _config(scheme: str = "timestamp", **kw: object) -> AuditConfig:
    return AuditConfig(
        range=RANGE,
        engine="athena",
        athena=AthenaSettings(
            database="cloudtrail", table="cloudtrail_logs", partition_scheme=scheme
        ),
        **kw,
    )


def target(cfg: AuditConfig, dialect: str) -> SqlTarget:
    """The SQL target of the engine speaking `dialect`."""
    from auditor.engines.athena import sql_target
    from auditor.engines.local import TARGET

    return sql_target(cfg.athena, None) if dialect == "athena" else TARGET


def _query(name: str, dialect: str = "athena", **kw: object) -> PlannedQuery:
    cfg = _config(**kw)  # type: ignore[arg-type]
    plan = build_plan(cfg, target(cfg, dialect))
    return next(q for q in plan.queries if q.name == name)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", NAMES)
def test_golden_sql(name: str, dialect: str) -> None:
    golden(GOLDEN / f"{name}.{dialect}.sql", _query(name, dialect).display + ";\n")


def _parse(sql: str) -> exp.Expression:
    statements = sqlglot.parse(sql, read="athena")
    assert len(statements) == 1 and statements[0] is not None
    return statements[0]


def _columns_named(node: exp.Expression | None, name: str) -> bool:
    return isinstance(node, exp.Column) and node.name.lower() == name


def _instant_of(node: exp.Expression | None, name: str) -> bool:
    """from_iso8601_timestamp(<column name>)."""
    return (
        node is not None
        and "FROM_ISO8601_TIMESTAMP" in node.sql("athena").upper()
        and any(_columns_named(c, name) for c in node.find_all(exp.Column))
    )


@pytest.mark.parametrize("scheme", ["timestamp", "org"])
@pytest.mark.parametrize("name", NAMES)
def test_athena_query_parses_and_bounds_the_timestamp_partition(name: str, scheme: str) -> None:
    q = _query(name, scheme=scheme)
    for text in (q.sql, q.display):
        tree = _parse(text)
        assert tree.find(exp.Select) is not None
    tree = _parse(q.display)
    bounds = [b for b in tree.find_all(exp.Between) if _columns_named(b.this, "timestamp")]
    assert bounds, f'{name}: no "timestamp" BETWEEN bound'
    for b in bounds:
        low, high = b.args["low"].this, b.args["high"].this
        assert low == FIRST and high >= LAST
    # eventtime filtered exactly, as instants: a lower bound at the range start and an
    # upper bound, both sides parsed by from_iso8601_timestamp
    assert any(
        _instant_of(n.this, "eventtime")
        and RANGE.start_iso in n.expression.sql("athena")
        and "FROM_ISO8601_TIMESTAMP" in n.expression.sql("athena").upper()
        for n in tree.find_all(exp.GTE)
    )
    assert any(_instant_of(n.this, "eventtime") for n in tree.find_all(exp.LT))
    assert '"timestamp" BETWEEN ? AND ?' in q.sql


@pytest.mark.parametrize("name", NAMES)
def test_manual_scheme_bounds_year_month_day(name: str) -> None:
    q = _query(name, scheme="manual")
    tree = _parse(q.display)
    bounds = [
        b
        for b in tree.find_all(exp.Between)
        if isinstance(b.this, (exp.Concat, exp.DPipe)) or "concat" in b.this.sql().lower()
    ]
    assert bounds and bounds[0].args["low"].this == FIRST
    assert '"timestamp"' not in q.sql


@pytest.mark.parametrize("name", NAMES)
def test_values_are_bound_in_where_and_display_inlines_them(name: str) -> None:
    q = _query(name, scheme="org", accounts=("111122223333",), regions=("eu-west-1",))
    tree = _parse(q.sql)
    marks = list(tree.find_all(exp.Placeholder))
    assert len(marks) == len(q.params) > 0
    for m in marks:  # Athena takes execution parameters in WHERE only
        assert m.find_ancestor(exp.Where) is not None, f"{name}: a ? outside WHERE"
    assert "111122223333" not in q.sql and "111122223333" in q.params
    assert "eu-west-1" not in q.sql and "eu-west-1" in q.params
    # display = the same text with each value through the one literal filter, in order
    # (a ? inside a string literal, as in a regex, is text, not a placeholder)
    tokens = sqlglot.Dialect.get_or_raise("athena").tokenize(q.sql)
    marks_at = [t.start for t in tokens if t.token_type == TokenType.PLACEHOLDER]
    assert len(marks_at) == len(q.params)
    inlined, pos = [], 0
    for at, value in zip(marks_at, q.params):
        inlined += [q.sql[pos:at], sql_literal(value)]
        pos = at + 1
    assert "".join(inlined) + q.sql[pos:] == q.display
    assert len(q.sql.encode()) < 262_144


def test_literal_filter_escapes_quotes_and_refuses_nul() -> None:
    assert sql_literal("it's") == "'it''s'"
    tree = _parse(f"SELECT 1 WHERE x = {sql_literal(chr(39) + ' OR 1=1 --')}")
    assert len(list(tree.find_all(exp.EQ))) == 1  # still one comparison
    with pytest.raises(ConfigError):
        sql_literal("a\x00b")


@pytest.mark.parametrize("bad", ["cloud trail", "x;drop", 'a"b', "1abc", ""])
def test_identifiers_are_validated(bad: str) -> None:
    cfg = AuditConfig(range=RANGE, engine="athena", athena=AthenaSettings(table=bad))
    with pytest.raises(ConfigError, match="identifier"):
        build_plan(cfg, target(cfg, "athena"))


def test_every_question_mark_is_a_parameter() -> None:
    """Athena counts `?` placeholders against ExecutionParameters: none may hide in a
    string literal or a comment of a shipped query."""
    from datetime import date

    from auditor.config import AuditConfig, DateRange
    from auditor.plan import build_plan

    cfg = AuditConfig(
        range=DateRange(date(2026, 9, 1), date(2026, 10, 31)),
        accounts=("111122223333",),
        regions=("us-east-1",),
    )
    for dialect in ("athena", "duckdb"):
        for q in build_plan(cfg, target(cfg, dialect)).queries:
            assert q.sql.count("?") == len(q.params), (dialect, q.name)
