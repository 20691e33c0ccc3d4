"""Settings: frozen dataclasses, merged from flags, a TOML file and defaults in one place
(auditor.settings.from_sources). An audit receives an `AuditConfig`; each engine is built
from its own part of it (`LocalSettings`, `AthenaSettings`)."""

from __future__ import annotations

import calendar
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from auditor.errors import ConfigError


class EngineName(StrEnum):
    """The engines (auditor.engines.REGISTRY builds each from its own settings)."""

    LOCAL = "local"
    ATHENA = "athena"


class ReportFormat(StrEnum):
    """The report formats (auditor.render.outputs renders each)."""

    JSON = "json"
    MD = "md"
    HTML = "html"
    CSV = "csv"
    JIRA = "jira"
    OCSF = "ocsf"


FORMATS = tuple(f.value for f in ReportFormat)
DEFAULT_FORMATS = ("json", "md", "html", "csv")
# auto: read the table's partitions and fields from Glue (auditor/athena/tableshape.py);
# the others name `auditor ddl`'s layouts and are checked against the table.
PARTITION_SCHEMES = ("auto", "timestamp", "org", "manual")
SEVERITIES = ("low", "medium", "high")
DEFAULT_CONFIG_PATH = Path("~/.config/auditor/config.toml")

# What an --account/--own-account and a --region flag (or config setting) must look like.
# Record data is another matter: account ids in records and folders are taken as found.
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
# us-east-1, ap-southeast-5, cn-north-1, us-gov-west-1, us-iso-east-1, us-isob-east-1,
# eu-isoe-west-1, us-isof-south-1
REGION_NAME = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$")


@dataclass(frozen=True)
class DateRange:
    """Inclusive UTC days [first, last]; events with eventTime in [first 00:00Z, last+1 00:00Z)."""

    first: date
    last: date

    @property
    def start_iso(self) -> str:
        return f"{self.first.isoformat()}T00:00:00Z"

    @property
    def end_iso(self) -> str:
        return f"{(self.last + timedelta(days=1)).isoformat()}T00:00:00Z"

    @property
    def folder_days(self) -> list[date]:
        """Delivery folders to read: first .. last+1 (late delivery across midnight)."""
        n = (self.last - self.first).days + 2
        return [self.first + timedelta(days=i) for i in range(n)]

    @property
    def days(self) -> list[date]:
        n = (self.last - self.first).days + 1
        return [self.first + timedelta(days=i) for i in range(n)]


# The last day an audit may cover: the folders read after it (delivery lag, look-ahead)
# must still be dates, so the far end of the calendar is refused as bad input.
LATEST_DAY = date(9998, 12, 31)


def parse_day(text: str, flag: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{flag}: {text!r} is not a date (use YYYY-MM-DD)") from None
    if day > LATEST_DAY:
        raise ConfigError(f"{flag}: {text!r} is too far in the future")
    return day


# CloudTrail began on 2013-11-01 (its launch month): no log can be older, so an earlier
# range is a typo (2031 for 2013, 1026 for 2026), never a request for data.
CLOUDTRAIL_FIRST_DAY = date(2013, 11, 1)

# CloudTrail typically delivers a log file within 5-15 minutes of its events (DOMAIN.md,
# section 1) but gives no bound; events later than this before `now` may not be in the
# trail yet. One figure for every place that judges what may still arrive.
DELIVERY_MARGIN = timedelta(hours=1)


def not_before_cloudtrail(day: date, flag: str) -> date:
    if day < CLOUDTRAIL_FIRST_DAY:
        raise ConfigError(
            f"{flag}: {day} is before CloudTrail existed (its first logs are from "
            f"{CLOUDTRAIL_FIRST_DAY})"
        )
    return day


def parse_range(start: str | None, end: str | None, month: str | None) -> DateRange:
    if month:
        if start or end:
            raise ConfigError("use either --month or --from/--to, not both")
        m = re.fullmatch(r"(\d{4})-(\d{2})", month)
        if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1:
            raise ConfigError(f"--month: {month!r} is not a month (use YYYY-MM)")
        y, mo = int(m.group(1)), int(m.group(2))
        if y > LATEST_DAY.year:
            raise ConfigError(f"--month: {month!r} is too far in the future")
        if (y, mo) < (CLOUDTRAIL_FIRST_DAY.year, CLOUDTRAIL_FIRST_DAY.month):
            raise ConfigError(
                f"--month: {month} is before CloudTrail existed (its first "
                f"logs are from {CLOUDTRAIL_FIRST_DAY:%Y-%m})"
            )
        return DateRange(date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1]))
    if not start or not end:
        raise ConfigError(
            "give a date range: --from YYYY-MM-DD --to YYYY-MM-DD, or --month YYYY-MM"
        )
    first, last = parse_day(start, "--from"), parse_day(end, "--to")
    if first > last:
        raise ConfigError(f"--from {first} is after --to {last}")
    return DateRange(not_before_cloudtrail(first, "--from"), last)


def validate_accounts(values: tuple[str, ...], flag: str = "--account") -> tuple[str, ...]:
    """The one check of account ids given as flags or settings: 12 digits each.
    Returns them deduplicated and sorted."""
    for v in values:
        if not isinstance(v, str) or not ACCOUNT_ID.match(v):
            raise ConfigError(f"{flag}: {v!r} is not a 12-digit account id")
    return tuple(sorted(set(values)))


def validate_regions(values: tuple[str, ...], flag: str = "--region") -> tuple[str, ...]:
    """The one check of region names given as flags or settings (REGION_NAME).
    Returns them deduplicated and sorted."""
    for v in values:
        if not isinstance(v, str) or not REGION_NAME.match(v):
            raise ConfigError(f"{flag}: {v!r} is not a region name (like us-east-1)")
    return tuple(sorted(set(values)))


@dataclass(frozen=True)
class LocalSettings:
    """The local engine's: the trail root (a folder or s3://bucket/prefix), worker
    processes (None: by cores), and the folder keeping S3 objects read."""

    source: str | None = None
    workers: int | None = None
    cache_dir: Path | None = None
    store_dir: Path | None = None  # the events store (auditor.store)


@dataclass(frozen=True)
class AthenaSettings:
    """The Athena engine's (and `auditor ddl --apply`'s)."""

    database: str = "default"
    table: str = "cloudtrail_logs"
    workgroup: str = "primary"
    output_location: str | None = None  # s3://bucket/prefix/ ; None: the workgroup's
    partition_scheme: str = "auto"
    read_table: bool = True  # read the table's shape from Glue (else: auditor ddl's table)
    trail: str | None = None  # s3:// trail root, for the cost estimate
    query_timeout: float = 1800.0
    max_scan_gb: float | None = None
    concurrency: int = 4
    resume: bool = False
    state_dir: Path | None = None
    poll_interval: float = 1.0
    # A Parquet table of audit-relevant rows (auditor/athena/materialize.py): the days it
    # holds are read from it, the others from `table`.
    materialized_table: str | None = None
    materialized_location: str | None = None  # None: <results>auditor-materialized/<name>/


@dataclass(frozen=True)
class AuditConfig:
    """The settings of one audit, merged and validated once (auditor.settings)."""

    range: DateRange
    engine: str = EngineName.LOCAL
    source: str | None = None  # local folder or s3://bucket/prefix (local engine)
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    out: Path | None = None
    formats: tuple[str, ...] = DEFAULT_FORMATS
    strict: bool = False
    workers: int | None = None
    cache_dir: Path | None = None
    store_dir: Path | None = None  # local: the events store (auditor.store)
    athena: AthenaSettings = field(default_factory=AthenaSettings)
    own_accounts: tuple[str, ...] = ()
    lookahead_days: int = 7
    min_attempts: int = 1
    repeat_threshold: int = 5
    fail_on: str | None = None
    exemptions: Path | None = None
    rule: Path | None = None  # a rule folder (auditor.rule); None: the shipped rule
    command: str | None = None
    now: datetime | None = None  # the clock, passed in for reproducible reports
    dry_run: bool = False  # print the plan and what it would cost; run nothing

    def with_now(self) -> AuditConfig:
        return self if self.now else replace(self, now=datetime.now(UTC))

    @property
    def local(self) -> LocalSettings:
        return LocalSettings(self.source, self.workers, self.cache_dir, self.store_dir)


def read_config_file(path: Path | None) -> dict[str, Any]:
    """The TOML config: `--config PATH`, else $AUDITOR_CONFIG, else the default location."""
    explicit = path is not None or "AUDITOR_CONFIG" in os.environ
    p = path or Path(os.environ.get("AUDITOR_CONFIG", str(DEFAULT_CONFIG_PATH))).expanduser()
    if not p.exists():
        if explicit:
            raise ConfigError(f"config file {p} does not exist")
        return {}
    try:
        data = tomllib.loads(p.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {p}: {exc}") from None
    return resolve_config_paths(data, p.parent)


# Settings that name a file or folder: a relative one is relative to the config file's
# folder (as a user reading the file would take it), not to wherever auditor is run.
# `source` only when it is a local path (not s3://).
CONFIG_PATH_KEYS = {
    "audit": ("exemptions", "cache", "store", "source"),
    "athena": ("state_dir",),
}


def resolve_config_paths(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    for section, keys in CONFIG_PATH_KEYS.items():
        values = data.get(section)
        if not isinstance(values, dict):
            continue  # a malformed section is reported by check_config_keys
        for key in keys:
            value = values.get(key)
            if not isinstance(value, str) or not value or "://" in value:
                continue
            path = Path(value).expanduser()
            values[key] = str(path if path.is_absolute() else folder / path)
    return data


def previous_month(today: date) -> str:
    """`--month last`: the calendar month before today's (UTC), as YYYY-MM."""
    first = today.replace(day=1) - timedelta(days=1)
    return f"{first:%Y-%m}"


def last_days(text: str, today: date) -> tuple[str, str]:
    """`--last Nd`: the N whole UTC days before today (today, still being written, is not
    one of them): `--last 7d` on 2026-11-30 is 2026-11-23 .. 2026-11-29.
    Returns (--from, --to) as YYYY-MM-DD."""
    m = re.fullmatch(r"([0-9]{1,5})d", text.strip())
    if not m or not 1 <= int(m.group(1)) <= 3660:
        raise ConfigError(f"--last: {text!r} is not a number of days (use Nd, like 7d or 30d)")
    last = today - timedelta(days=1)
    first = today - timedelta(days=int(m.group(1)))
    return first.isoformat(), last.isoformat()


def relative_range(
    start: str | None,
    end: str | None,
    month: str | None,
    last: str | None,
    today: date | None = None,
) -> tuple[str | None, str | None, str | None]:
    """--month last and --last Nd as the --from/--to/--month they stand for (from the
    UTC clock); anything else as given. --last with --from/--to/--month is an error."""
    today = today or datetime.now(UTC).date()
    if last is not None:
        if start or end or month:
            raise ConfigError("use one of --last, --month or --from/--to")
        first, final = last_days(last, today)
        return first, final, None
    if month is not None and month.strip().lower() == "last":
        return start, end, previous_month(today)
    return start, end, month
