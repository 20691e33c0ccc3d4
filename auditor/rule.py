"""A rule is a folder: `rule.toml` (what it detects and how its findings are named),
`queries.toml` and the SQL templates it lists (auditor.sqlgen), and the investigation
guide, a Jinja template (auditor.render.guide). Adding a rule costs one folder.

    rule.toml
      id, name, severity, risk_score, mitre_tactic, mitre_technique, references
                       what every report shows (model.Rule)
      finding_prefix   the finding ids' prefix: BRP-<16 hex>
      main_query       the query whose rows are the rule's events (one per attempt)
      guide            the guide template's file name in the folder
      [signals]        optional side queries that enrich a finding (auditor.enrich):
        later_success  rows (principal, event_time) of later successful changes
        other_denials  rows (principal, service, action, error_code, denials)

`load_rule(None)` is the shipped rule (auditor.resources says where it lives). Every
rule loaded in this process is remembered by id, so a renderer given a Report finds its
guide (`for_report`).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from auditor.errors import ConfigError
from auditor.model import Rule
from auditor.resources import shipped_rule_dir, shipped_rule_dirs
from auditor.sqlgen import QuerySpec, load_specs

_PREFIX = re.compile(r"^[A-Z][A-Z0-9]{1,7}$")
_META = ("id", "name", "severity", "risk_score", "mitre_tactic", "mitre_technique")


@dataclass(frozen=True)
class RuleFolder:
    """One rule, as loaded from its folder."""

    meta: Rule
    path: Path
    finding_prefix: str
    main_query: str
    queries: tuple[QuerySpec, ...]
    guide: str  # template file name, in `path`
    later_success_query: str | None = None
    other_denials_query: str | None = None

    def finding_id(self, account_id: str, principal: str) -> str:
        """Stable across runs and ranges: the rule, the account and the principal."""
        key = f"{self.meta.id}\n{account_id}\n{principal}".encode()
        return f"{self.finding_prefix}-{hashlib.sha256(key).hexdigest()[:16]}"


_LOADED: dict[str, RuleFolder] = {}  # rule id -> the folder it was loaded from


def _text(data: dict[str, object], key: str, where: Path) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: `{key}` must be a non-empty string")
    return value


@lru_cache(maxsize=16)
def _load(path: Path) -> RuleFolder:
    toml = path / "rule.toml"
    try:
        data = tomllib.loads(toml.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"rule {path}: no rule.toml in that folder") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{toml}: {exc}") from None
    for key in _META:
        if key == "risk_score":
            if not isinstance(data.get(key), int):
                raise ConfigError(f"{toml}: `risk_score` must be an integer")
        else:
            _text(data, key, toml)
    refs = data.get("references", [])
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise ConfigError(f"{toml}: `references` must be a list of strings")
    prefix = _text(data, "finding_prefix", toml)
    if not _PREFIX.match(prefix):
        raise ConfigError(f"{toml}: finding_prefix {prefix!r}: 2-8 capital letters or digits")
    queries = load_specs(path)
    names = {q.name for q in queries}
    main = _text(data, "main_query", toml)
    signals = data.get("signals", {})
    if not isinstance(signals, dict):
        raise ConfigError(f"{toml}: [signals] must be a table")
    for name in (main, *signals.values()):
        if name not in names:
            raise ConfigError(f"{toml}: query {name!r} is not in queries.toml")
    guide = _text(data, "guide", toml)
    if not (path / guide).is_file():
        raise ConfigError(f"{toml}: guide {guide!r} is not in {path}")
    return RuleFolder(
        meta=Rule(
            id=str(data["id"]),
            name=str(data["name"]),
            severity=str(data["severity"]),
            risk_score=int(data["risk_score"]),  # type: ignore[call-overload,unused-ignore]
            mitre_tactic=str(data["mitre_tactic"]),
            mitre_technique=str(data["mitre_technique"]),
            references=tuple(refs),
        ),
        path=path,
        finding_prefix=prefix,
        main_query=main,
        queries=queries,
        guide=guide,
        later_success_query=signals.get("later_success"),
        other_denials_query=signals.get("other_denials"),
    )


def load_rule(path: Path | str | None = None) -> RuleFolder:
    """The rule in folder `path` (None: the shipped rule). Two folders may not share an id:
    a report names its rule by id only."""
    folder = Path(path if path is not None else shipped_rule_dir()).expanduser().resolve()
    rule = _load(folder)
    known = _LOADED.setdefault(rule.meta.id, rule)
    if known.path != rule.path:
        raise ConfigError(
            f"rule {folder}: its id {rule.meta.id} is already the id of the rule in {known.path}"
        )
    return rule


def for_report(rule: Rule) -> RuleFolder | None:
    """The folder of a report's rule: one loaded in this process, else a shipped one."""
    if rule.id not in _LOADED:
        for folder in shipped_rule_dirs():
            if _load(folder).meta.id == rule.id:
                load_rule(folder)
    return _LOADED.get(rule.id)
