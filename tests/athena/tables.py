"""The corpus of real CloudTrail table definitions (Glue TableInput JSON in tables/),
and helpers to render the audit's SQL against one and to check that SQL with sqlglot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from auditor.athena.tableshape import TableShape

HERE = Path(__file__).parent / "tables"
NAMES = sorted(p.stem for p in HERE.glob("*.json"))
DATABASE = "cloudtrail"


def table_input(name: str) -> dict[str, Any]:
    return dict(json.loads((HERE / f"{name}.json").read_text()))


def create_in_glue(glue: Any, name: str, database: str = DATABASE) -> str:
    """Create the corpus table `name` in (moto's) Glue; returns the table name."""
    try:
        glue.create_database(DatabaseInput={"Name": database})
    except glue.exceptions.AlreadyExistsException:
        pass
    ti = table_input(name)
    try:
        glue.delete_table(DatabaseName=database, Name=ti["Name"])
    except glue.exceptions.EntityNotFoundException:
        pass
    glue.create_table(DatabaseName=database, TableInput=ti)
    return str(ti["Name"])


def parse(sql: str) -> exp.Expression:
    statements = sqlglot.parse(sql, read="athena")
    assert len(statements) == 1 and statements[0] is not None
    return statements[0]


def column_paths(tree: exp.Expression) -> set[str]:
    """Every column reference of a statement as a dotted path (struct fields included),
    lower-cased; names defined by the statement itself (aliases, CTEs) left out."""
    defined = {a.alias.lower() for a in tree.find_all(exp.Alias)}
    defined |= {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    out: set[str] = set()
    for col in tree.find_all(exp.Column):
        path = ".".join(p.name for p in col.parts).lower()
        node: exp.Expression = col
        while isinstance(node.parent, exp.Dot) and node.parent.this is node:
            node = node.parent
            path += "." + node.expression.name.lower()
        if path not in defined:
            out.add(path)
    return out


def unknown_columns(sql: str, shape: TableShape) -> set[str]:
    """Columns the SQL reads that the table does not have."""
    known = set(shape.fields) | {p.name for p in shape.partitions} | {"$path"}
    return {p for p in column_paths(parse(sql)) if p not in known}


def partition_bounds(sql: str, column: str) -> list[tuple[str, str]]:
    """(low, high) literals of every `<column> BETWEEN` (casts unwrapped)."""
    out = []
    for b in parse(sql).find_all(exp.Between):
        if isinstance(b.this, exp.Column) and b.this.name.lower() == column:
            low, high = b.args["low"].find(exp.Literal), b.args["high"].find(exp.Literal)
            assert low is not None and high is not None
            out.append((low.this, high.this))
    return out
