"""The one module that knows where the shipped folders live: `rules/` (one folder per
rule: rule.toml, queries.toml, SQL templates, investigation guide), `sql/` (the SQL
macros every rule shares, `sql/macros/`) and `reports/` (report templates).

In a wheel they are force-included as `auditor/_data/<name>`; in a source checkout
(editable install, tests) they sit at the repository root.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent

# The rule an audit runs unless told otherwise (AuditConfig.rule).
SHIPPED_RULE = "bedrock_policy_denied"


def data_dir(name: str) -> Path:
    packaged = _PKG / "_data" / name
    if packaged.is_dir():
        return packaged
    return _PKG.parent / name


def shared_sql_dir() -> Path:
    """The SQL every rule's templates may import (`{% import 'macros/common.sql' %}`)."""
    return data_dir("sql")


def shipped_rule_dir() -> Path:
    return data_dir("rules") / SHIPPED_RULE


def shipped_rule_dirs() -> tuple[Path, ...]:
    """Every rule folder installed with the tool (a folder holding a rule.toml)."""
    root = data_dir("rules")
    return tuple(sorted(p.parent for p in root.glob("*/rule.toml")))
