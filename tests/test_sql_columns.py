"""A query that declares the columns it reads (its rule's queries.toml `columns`) gets only those
from the local engine for records no other query wants; reading any other column would
silently see NULL. This checks every declaration against the rendered SQL."""

from __future__ import annotations

from datetime import date

import pytest
import sqlglot
from sqlglot import exp

from auditor.config import AuditConfig, DateRange
from auditor.engines.local import TARGET
from auditor.plan import build_plan
from auditor.sqlgen import query_specs
from auditor.table import COLUMNS, PARTITIONS

TABLE_COLUMNS = {name for name, _ in COLUMNS}
CONFIG = AuditConfig(
    range=DateRange(date(2026, 10, 1), date(2026, 10, 31)),
    accounts=("111122223333",),
    regions=("us-east-1",),
)


def columns_read(sql: str) -> set[str]:
    """Table columns a statement reads: the root of every column reference (a struct
    field path `useridentity.sessioncontext.arn` counts as `useridentity`)."""
    roots = set()
    for col in sqlglot.parse_one(sql, read="duckdb").find_all(exp.Column):
        parts = [p.name.lower() for p in col.parts]
        roots.update(p for p in parts[:1])
    return roots & TABLE_COLUMNS


DECLARED = [s for s in query_specs() if s.columns is not None]


@pytest.mark.parametrize("spec", DECLARED, ids=[s.name for s in DECLARED])
def test_declared_columns_cover_everything_the_query_reads(spec) -> None:  # type: ignore[no-untyped-def]
    (query,) = [q for q in build_plan(CONFIG, TARGET).queries if q.name == spec.name]
    read = columns_read(query.sql)
    assert read, "the parser found no column: the check would pass vacuously"
    missing = read - set(spec.columns)
    assert not missing, f"{spec.name} reads {sorted(missing)} but does not declare them"
    assert set(spec.columns) <= TABLE_COLUMNS | {n for n, _ in PARTITIONS}


def test_the_check_sees_struct_paths_and_where_clauses() -> None:
    sql = (
        "SELECT useridentity.sessioncontext.sessionissuer.arn AS a FROM cloudtrail "
        "WHERE errorcode LIKE '%x%' AND eventtime >= ? GROUP BY 1"
    )
    assert columns_read(sql) == {"useridentity", "errorcode", "eventtime"}
