"""Render the `sql/` templates for one dialect.

Jinja decides the shape of a query; values never enter the SQL text. `bind(value)`
emits a `?` placeholder and records the value (sent as Athena execution parameters or
DuckDB parameters). For display (`auditor sql`, the report) the same template is
rendered with values inlined through `sql_literal`, the one escaping function.
Identifiers (database, table) go through `quote_ident`, which validates them.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

from auditor.errors import ConfigError
from auditor.resources import data_dir

DIALECTS = ("athena", "duckdb")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def sql_literal(value: object) -> str:
    """A SQL string literal, the same in Trino and DuckDB: quotes doubled, no escapes."""
    text = str(value)
    if "\x00" in text:
        raise ConfigError("a SQL value may not contain a NUL character")
    return "'" + text.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    """Validate a (possibly dotted) identifier and double-quote each part."""
    parts = name.split(".")
    for part in parts:
        if not _IDENT.match(part):
            raise ConfigError(
                f"invalid identifier {name!r}: use letters, digits and underscores"
            )
    return ".".join(f'"{p}"' for p in parts)


@dataclass(frozen=True)
class QuerySpec:
    name: str
    template: str
    title: str
    needles: tuple[str, ...]
    prefilter: dict[str, tuple[str, ...]]
    # field -> substrings one of which the value must contain (for LIKE '%x%' clauses)
    prefilter_contains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    lookahead: bool = False  # reads past the range, up to lookahead_last_folder
    # The table columns the query reads, when declared: the local engine then loads only
    # these for records no other query wants (tests/test_sql_columns.py checks the list).
    columns: tuple[str, ...] | None = None
    # A look-ahead query whose rows matter only when this other query has rows: the
    # local engine reads the look-ahead days only if some record in the range passed
    # that query's prefilter (a necessary condition of its WHERE).
    lookahead_if: str | None = None


@lru_cache(maxsize=1)
def query_specs() -> tuple[QuerySpec, ...]:
    manifest = tomllib.loads((data_dir("sql") / "queries.toml").read_text())
    return tuple(
        QuerySpec(
            name=q["name"],
            template=q["template"],
            title=q.get("title", q["name"]),
            needles=tuple(q.get("needles", ())),
            prefilter={k: tuple(v) for k, v in q.get("prefilter", {}).items()},
            prefilter_contains={
                k: tuple(v) for k, v in q.get("prefilter_contains", {}).items()
            },
            lookahead=bool(q.get("lookahead", False)),
            columns=tuple(q["columns"]) if "columns" in q else None,
            lookahead_if=q.get("lookahead_if"),
        )
        for q in manifest["query"]
    )


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    import jinja2  # here, not at import time: the local engine renders while it scans

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("sql"))),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=False,
    )


@dataclass(frozen=True)
class RenderedSQL:
    sql: str  # with ? placeholders, as sent
    params: tuple[str, ...]
    display: str  # values inlined, for people


def render(template: str, dialect: str, context: dict[str, Any]) -> RenderedSQL:
    if dialect not in DIALECTS:
        raise ConfigError(f"unknown SQL dialect {dialect!r}")
    tmpl = _env().get_template(template)
    params: list[str] = []

    def bind(value: object) -> str:
        params.append(str(value))
        return "?"

    def inline(value: object) -> str:
        return sql_literal(value)

    base = {**context, "dialect": dialect}
    sql = tmpl.render(**base, bind=bind).strip()
    display = tmpl.render(**base, bind=inline).strip()
    return RenderedSQL(sql=sql, params=tuple(params), display=display)
