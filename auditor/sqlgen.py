"""Render a rule's SQL templates for one dialect.

A rule folder (auditor.rule) holds its templates and `queries.toml`; the templates
import the macros every rule shares from `sql/macros/` (auditor.resources says where).

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
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

from auditor.errors import ConfigError
from auditor.resources import shared_sql_dir, shipped_rule_dir

DIALECTS = ("athena", "duckdb")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
# How the Athena engine merges a query's monthly chunks (auditor/athena/backfill.py).
CHUNK_MERGE = re.compile(r"^(rows|whole|sum:[a-z_][a-z0-9_]*)$")
_QUERY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


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
            raise ConfigError(f"invalid identifier {name!r}: use letters, digits and underscores")
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
    # rows | whole | sum:<column>: how Athena merges monthly chunks (undeclared: whole,
    # never split, which is always right)
    chunk_merge: str = "whole"
    # the rule folder the template lives in (its loader also finds the shared macros)
    folder: Path = field(default_factory=shipped_rule_dir)


def _spec(q: dict[str, Any], folder: Path, where: str) -> QuerySpec:
    name = q.get("name")
    if not isinstance(name, str) or not _QUERY_NAME.match(name):
        raise ConfigError(f"{where}: a [[query]] needs a name of lowercase letters, digits, _")
    template = q.get("template")
    if not isinstance(template, str) or not (folder / template).is_file():
        raise ConfigError(f"{where}: query {name}: template {template!r} is not in {folder}")
    merge = q.get("chunk_merge", "whole")
    if not isinstance(merge, str) or not CHUNK_MERGE.match(merge):
        raise ConfigError(
            f"{where}: query {name}: chunk_merge {merge!r} is not rows, whole or sum:<column>"
        )
    return QuerySpec(
        name=name,
        template=template,
        title=q.get("title", name),
        needles=tuple(q.get("needles", ())),
        prefilter={k: tuple(v) for k, v in q.get("prefilter", {}).items()},
        prefilter_contains={k: tuple(v) for k, v in q.get("prefilter_contains", {}).items()},
        lookahead=bool(q.get("lookahead", False)),
        columns=tuple(q["columns"]) if "columns" in q else None,
        lookahead_if=q.get("lookahead_if"),
        chunk_merge=merge,
        folder=folder,
    )


@lru_cache(maxsize=16)
def load_specs(folder: Path) -> tuple[QuerySpec, ...]:
    """The queries of the rule in `folder`, from its queries.toml."""
    path = folder / "queries.toml"
    try:
        manifest = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    specs = tuple(_spec(q, folder, str(path)) for q in manifest.get("query", []))
    names = [s.name for s in specs]
    if not specs or len(set(names)) != len(names):
        raise ConfigError(f"{path}: declare one or more [[query]] with distinct names")
    for s in specs:
        if s.lookahead_if is not None and s.lookahead_if not in names:
            raise ConfigError(f"{path}: query {s.name}: lookahead_if names no query")
    return specs


def query_specs() -> tuple[QuerySpec, ...]:
    """The shipped rule's queries."""
    return load_specs(shipped_rule_dir())


@lru_cache(maxsize=16)
def _env(folder: Path) -> jinja2.Environment:
    import jinja2  # here, not at import time: the local engine renders while it scans

    return jinja2.Environment(
        # the rule's own templates first, then the shared macros
        loader=jinja2.FileSystemLoader([str(folder), str(shared_sql_dir())]),
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


def render(spec: QuerySpec, dialect: str, context: dict[str, Any]) -> RenderedSQL:
    if dialect not in DIALECTS:
        raise ConfigError(f"unknown SQL dialect {dialect!r}")
    tmpl = _env(spec.folder).get_template(spec.template)
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
