"""Flags over the TOML config file over defaults, merged and validated in one place
(`from_sources`) into an AuditConfig; `athena_settings` is its [athena] part, which
`auditor ddl` uses alone. AWS settings come from the environment, read by boto3 itself."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.config import AthenaSettings, AuditConfig
from auditor.errors import ConfigError


def setting(section: dict[str, Any], key: str, flag: Any, default: Any) -> Any:
    """The flag when given (a repeatable flag given no times is not given), else the
    file's value, else the default."""
    if flag is not None and not (isinstance(flag, (list, tuple)) and not flag):
        return list(flag) if isinstance(flag, tuple) else flag
    return section.get(key, default)


def _config_path(flags: Mapping[str, Any]) -> Path | None:
    path = flags.get("config")
    return Path(path) if path else None


def _at_least(value: Any, low: int, name: str, high: int = 10**9) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{name}: {value!r} is not a whole number from {low} to {high}")
    return value


def _finite(value: Any, name: str, *, zero: bool) -> float:
    """A real number of seconds or gigabytes: not nan, not infinite, not negative
    (and, unless `zero`, above 0)."""
    import math

    number = float(value)
    if not math.isfinite(number) or number < 0 or (number == 0 and not zero):
        kind = "a number of 0 or more" if zero else "a number above 0"
        raise ConfigError(f"{name}: {value!r} is not {kind}")
    return number


def query_timeout(value: Any) -> float:
    return _finite(value, "--query-timeout", zero=False)


# Worker processes beyond this many per core only cost memory and file handles.
WORKERS_PER_CORE = 64
MAX_CONCURRENCY = 64  # monthly chunks in flight on Athena; far above its DML quotas


def _max_workers() -> int:
    return min(1024, WORKERS_PER_CORE * (os.cpu_count() or 1))


CONFIG_KEYS = {
    "audit": {
        "source",
        "from",
        "to",
        "engine",
        "format",
        "accounts",
        "regions",
        "strict",
        "workers",
        "cache",
        "own_accounts",
        "lookahead_days",
        "min_attempts",
        "repeat_threshold",
        "fail_on",
        "exemptions",
        "store",
    },
    "athena": {
        "database",
        "table",
        "workgroup",
        "output_location",
        "partition_scheme",
        "trail",
        "query_timeout",
        "max_scan_gb",
        "concurrency",
        "state_dir",
        "materialized_table",
        "materialized_location",
    },
}


# What each setting must hold; anything else is bad input (exit 2), never a crash or a
# string read letter by letter as a list.
_TEXT, _LIST, _INT, _NUM = "text", "list of texts", "whole number", "number"
_BOOL, _DAY = "boolean (true or false)", "date (YYYY-MM-DD)"
CONFIG_TYPES = {
    "source": _TEXT,
    "from": _DAY,
    "to": _DAY,
    "engine": _TEXT,
    "format": _LIST,
    "accounts": _LIST,
    "regions": _LIST,
    "strict": _BOOL,
    "workers": _INT,
    "cache": _TEXT,
    "own_accounts": _LIST,
    "lookahead_days": _INT,
    "min_attempts": _INT,
    "repeat_threshold": _INT,
    "fail_on": _TEXT,
    "exemptions": _TEXT,
    "store": _TEXT,
    "database": _TEXT,
    "table": _TEXT,
    "workgroup": _TEXT,
    "output_location": _TEXT,
    "partition_scheme": _TEXT,
    "trail": _TEXT,
    "query_timeout": _NUM,
    "max_scan_gb": _NUM,
    "concurrency": _INT,
    "state_dir": _TEXT,
    "materialized_table": _TEXT,
    "materialized_location": _TEXT,
}


def _has_type(value: Any, kind: str) -> bool:
    from datetime import date

    if kind == _LIST:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _NUM:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == _DAY:
        return isinstance(value, (str, date))
    return isinstance(value, str)


def check_config_keys(file: dict[str, Any]) -> None:
    """A misspelt setting or a value of the wrong type is an error, not a silently
    ignored line. TOML dates (`from = 2026-10-01`) are taken as the day they name."""
    from datetime import date

    for section, values in file.items():
        if section not in CONFIG_KEYS:
            raise ConfigError(
                f"config file: unknown section [{section}] (use [audit] and [athena])"
            )
        if not isinstance(values, dict):
            raise ConfigError(f"config file: {section} must be a [{section}] section")
        unknown = sorted(set(values) - CONFIG_KEYS[section])
        if unknown:
            raise ConfigError(
                f"config file: unknown setting(s) in [{section}]: {', '.join(unknown)}"
            )
        for key, value in values.items():
            if not _has_type(value, CONFIG_TYPES[key]):
                raise ConfigError(
                    f"config file: [{section}] {key} = {value!r}: expected a {CONFIG_TYPES[key]}"
                )
            if isinstance(value, date):
                values[key] = value.isoformat()


def load_config(**flags: Any) -> AuditConfig:
    """`from_sources` with the config file the flags name (`config`), else the default."""
    from auditor.config import read_config_file

    return from_sources(flags, read_config_file(_config_path(flags)))


def load_file(flags: Mapping[str, Any]) -> dict[str, Any]:
    """The config file the flags name (`config`), else the default one, checked."""
    from auditor.config import read_config_file

    file = read_config_file(_config_path(flags))
    check_config_keys(file)
    return file


def athena_settings(flags: Mapping[str, Any], file: dict[str, Any]) -> AthenaSettings:
    """The [athena] settings: flags over the file's section over the defaults, checked.
    The one place they are merged (audit, sql, ddl)."""
    from auditor.config import PARTITION_SCHEMES, AthenaSettings

    ath = file.get("athena", {})
    d = AthenaSettings()
    scheme = setting(ath, "partition_scheme", flags.get("partition_scheme"), d.partition_scheme)
    if scheme not in PARTITION_SCHEMES:
        raise ConfigError(
            f"--partition-scheme: {scheme!r} is not one of {', '.join(PARTITION_SCHEMES)}"
        )
    max_scan = setting(ath, "max_scan_gb", flags.get("max_scan_gb"), d.max_scan_gb)
    state_dir = setting(ath, "state_dir", flags.get("state_dir"), None)
    return AthenaSettings(
        database=setting(ath, "database", flags.get("database"), d.database),
        table=setting(ath, "table", flags.get("table"), d.table),
        workgroup=setting(ath, "workgroup", flags.get("workgroup"), d.workgroup),
        output_location=setting(
            ath, "output_location", flags.get("output_location"), d.output_location
        ),
        partition_scheme=scheme,
        trail=setting(ath, "trail", flags.get("trail"), d.trail),
        query_timeout=query_timeout(
            setting(ath, "query_timeout", flags.get("query_timeout"), d.query_timeout)
        ),
        max_scan_gb=_finite(max_scan, "--max-scan-gb", zero=True) if max_scan is not None else None,
        concurrency=_at_least(
            setting(ath, "concurrency", flags.get("concurrency"), d.concurrency),
            1,
            "--concurrency",
            high=MAX_CONCURRENCY,
        ),
        resume=bool(flags.get("resume")),
        read_table=bool(flags.get("glue", True)),  # `auditor sql` reads Glue on --glue
        state_dir=Path(state_dir) if state_dir else None,
        materialized_table=setting(
            ath, "materialized_table", flags.get("materialized_table"), d.materialized_table
        ),
        materialized_location=setting(
            ath,
            "materialized_location",
            flags.get("materialized_location"),
            d.materialized_location,
        ),
    )


def from_sources(flags: Mapping[str, Any], file: dict[str, Any]) -> AuditConfig:
    """Flags (a command's parameters, by name) over the TOML file over the defaults,
    merged and validated once. Every command that audits or plans uses it."""
    from auditor.config import (
        DEFAULT_FORMATS,
        FORMATS,
        SEVERITIES,
        AuditConfig,
        EngineName,
        parse_range,
        validate_accounts,
        validate_regions,
    )

    check_config_keys(file)
    a = file.get("audit", {})
    month = flags.get("month")
    rng = parse_range(
        # With --month, the file's from/to give way but --from/--to flags still clash.
        setting(a, "from", flags.get("start"), None) if not month else flags.get("start"),
        setting(a, "to", flags.get("end"), None) if not month else flags.get("end"),
        month,
    )
    engine = setting(a, "engine", flags.get("engine"), EngineName.LOCAL.value)
    if engine not in tuple(EngineName):
        raise ConfigError(
            f"--engine: {engine!r} is not one of {', '.join(e.value for e in EngineName)}"
        )
    formats = tuple(setting(a, "format", flags.get("formats"), list(DEFAULT_FORMATS)))
    for f in formats:
        if f not in FORMATS:
            raise ConfigError(f"--format: {f!r} is not one of {', '.join(FORMATS)}")
    fail_on = setting(a, "fail_on", flags.get("fail_on"), None)
    if fail_on is not None and fail_on not in SEVERITIES:
        raise ConfigError(f"--fail-on: {fail_on!r} is not one of {', '.join(SEVERITIES)}")
    cache = setting(a, "cache", flags.get("cache"), None)
    store = setting(a, "store", flags.get("store"), None)
    exemptions = setting(a, "exemptions", flags.get("exemptions"), None)
    out = flags.get("out")
    workers = setting(a, "workers", flags.get("workers"), None)
    return AuditConfig(
        range=rng,
        engine=EngineName(engine),
        source=setting(a, "source", flags.get("source"), None),
        accounts=validate_accounts(tuple(setting(a, "accounts", flags.get("account"), []) or [])),
        regions=validate_regions(tuple(setting(a, "regions", flags.get("region"), []) or [])),
        out=Path(out) if out else None,
        formats=formats,
        strict=bool(flags.get("strict")) or bool(a.get("strict", False)),
        workers=_at_least(workers, 1, "--workers", high=_max_workers())
        if workers is not None
        else None,
        cache_dir=Path(cache) if cache else None,
        store_dir=Path(store) if store else None,
        athena=athena_settings(flags, file),
        own_accounts=validate_accounts(
            tuple(setting(a, "own_accounts", flags.get("own_account"), []) or []), "--own-account"
        ),
        lookahead_days=_at_least(
            setting(a, "lookahead_days", flags.get("lookahead_days"), 7),
            0,
            "--lookahead-days",
            high=366,
        ),
        min_attempts=_at_least(
            setting(a, "min_attempts", flags.get("min_attempts"), 1), 1, "--min-attempts"
        ),
        repeat_threshold=_at_least(setting(a, "repeat_threshold", None, 5), 1, "repeat_threshold"),
        fail_on=fail_on,
        exemptions=Path(exemptions) if exemptions else None,
        command=flags.get("command"),
        dry_run=bool(flags.get("dry_run")),
    )
