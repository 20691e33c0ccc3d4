"""`auditor ddl`: the CREATE TABLE for a trail, in the shape of AWS's documented
CloudTrail table (columns from `auditor.table`, the one source of the shape).

Schemes (`--partition-scheme`), matching the `sql/` partition filters:
  timestamp  AWS's standard: one account and region, projection on `timestamp`
             (yyyy/MM/dd); LOCATION .../AWSLogs/<account>/CloudTrail/<region>/
  org        an organisation trail (or a bucket of per-account trails): projection on
             `account` and `region` (enums) and `timestamp`;
             LOCATION .../AWSLogs/[o-xxx/]
  manual     partitions region/year/month/day that you add yourself with
             ALTER TABLE ADD PARTITION; LOCATION .../AWSLogs/<account>/CloudTrail/

`discover_layout` fills the org id, accounts and regions from delimiter listings of
the trail's folders (AWSLogs/, AWSLogs/o-xxx/, <account>/CloudTrail/): never a listing
of the whole bucket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from auditor.config import REGION_NAME, validate_accounts, validate_regions
from auditor.errors import ConfigError, SourceError
from auditor.sources.layout import Lister, find_awslogs
from auditor.sqlgen import quote_ident
from auditor.table import COLUMNS, hive_type

SERDE = "org.apache.hive.hcatalog.data.JsonSerDe"
INPUT_FORMAT = "com.amazon.emr.cloudtrail.CloudTrailInputFormat"
OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
DEFAULT_START = date(2013, 11, 1)  # CloudTrail's launch month: no log can be older

_TRAIL = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/[A-Za-z0-9!_.*()/=+@ ,-]*)?$")
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")
_FOLDER_ACCOUNT = re.compile(r"^(?!o-)[0-9A-Za-z-]{1,64}$")  # as found in fixtures

PLACEHOLDER_ACCOUNT = "<account-id>"
PLACEHOLDER_REGION = "<region>"


@dataclass(frozen=True)
class TrailLayout:
    """What the DDL needs to know about a trail's folders."""

    root: str  # s3://bucket/prefix, without a trailing slash
    awslogs: str  # s3://bucket/prefix/AWSLogs
    org_id: str | None = None
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


def parse_trail(url: str) -> tuple[str, str]:
    """Validate an s3:// trail root; returns (root, its AWSLogs folder)."""
    url = url.rstrip("/")
    if not _TRAIL.match(url) or "//" in url[5:] or ".." in url:
        raise ConfigError(f"--trail: {url!r} is not an s3://bucket/prefix URL")
    awslogs = url if url.endswith("/AWSLogs") else f"{url}/AWSLogs"
    return awslogs[: -len("/AWSLogs")], awslogs


def layout_from_flags(
    trail: str, org_id: str | None, accounts: tuple[str, ...], regions: tuple[str, ...]
) -> TrailLayout:
    root, awslogs = parse_trail(trail)
    if org_id is not None and not _ORG.match(org_id):
        raise ConfigError(f"--org-id: {org_id!r} is not an organization id (o-...)")
    return TrailLayout(
        root, awslogs, org_id, validate_accounts(accounts), validate_regions(regions)
    )


def discover_layout(lister: Lister, trail: str, accounts: tuple[str, ...] = ()) -> TrailLayout:
    """Org id, accounts and regions of a trail, from folder (delimiter) listings.

    `accounts` (--account) that are per-account trail folders beside an organisation
    trail are read where they are, AWSLogs/<account>/, not under the organisation."""
    root, _ = parse_trail(trail)
    roots = find_awslogs(lister, root)
    if not roots:
        raise SourceError(f"--trail {trail}: no AWSLogs/ folder found")
    notes: list[str] = []
    if len(roots) > 1:
        notes.append(
            f"several AWSLogs/ folders found; using {roots[0]} (also: {', '.join(roots[1:])})"
        )
    awslogs = roots[0]
    names = sorted(lister.dirs(awslogs))
    orgs = [n for n in names if _ORG.match(n)]
    plain = [n for n in names if _FOLDER_ACCOUNT.match(n)]
    org_id = None
    beside = set(accounts) & set(plain)
    if orgs and beside:
        if beside != set(accounts):
            raise ConfigError(
                f"--account: {', '.join(sorted(beside))} are per-account trail folders beside "
                f"the organisation trail {orgs[0]}, the others are not: one table reads one "
                f"layout, run `auditor ddl` once for each"
            )
        orgs = []  # the per-account layout of the accounts asked for
        plain = sorted(beside)
    if orgs:
        org_id = orgs[0]
        if len(orgs) > 1:
            notes.append(
                f"several organisations found; using {org_id} (also: {', '.join(orgs[1:])})"
            )
        if plain:
            notes.append(
                f"{len(plain)} per-account trail folder(s) beside the organisation "
                f"trail are not covered by this table: {', '.join(plain[:5])}"
                + (" ..." if len(plain) > 5 else "")
            )
        found = sorted(
            a for a in lister.dirs(lister.join(awslogs, org_id)) if _FOLDER_ACCOUNT.match(a)
        )
        base = lister.join(awslogs, org_id)
    else:
        found = plain
        base = awslogs
    regions: set[str] = set()
    for acct in found:
        regions.update(
            r for r in lister.dirs(lister.join(base, acct, "CloudTrail")) if REGION_NAME.match(r)
        )
    return TrailLayout(
        root=awslogs[: -len("/AWSLogs")],
        awslogs=awslogs,
        org_id=org_id,
        accounts=tuple(found),
        regions=tuple(sorted(regions)),
        notes=tuple(notes),
    )


def _q(text: str) -> str:
    """A Hive string literal for a validated location or property value."""
    if "'" in text or "\\" in text:
        raise ConfigError(f"cannot put {text!r} in a DDL string")
    return f"'{text}'"


def _bq(name: str) -> str:
    quote_ident(name)  # validates
    return f"`{name}`"


@dataclass(frozen=True)
class Ddl:
    sql: str
    placeholders: bool  # holds <account-id>/<region> to fill in by hand
    notes: tuple[str, ...] = ()


def create_table(
    layout: TrailLayout,
    scheme: str = "timestamp",
    database: str = "default",
    table: str = "cloudtrail_logs",
    start: date = DEFAULT_START,
) -> Ddl:
    """The CREATE EXTERNAL TABLE statement for one partition scheme."""
    notes = list(layout.notes)
    placeholders = False
    org = f"{layout.org_id}/" if layout.org_id else ""

    def one(values: tuple[str, ...], flag: str, placeholder: str) -> str:
        nonlocal placeholders
        if len(values) == 1:
            return values[0]
        if values:
            notes.append(
                f"the {scheme} scheme reads one {flag.lstrip('-')}: pass one {flag} "
                f"of {', '.join(values)}"
            )
        placeholders = True
        return placeholder

    props: list[tuple[str, str]] = []
    if scheme == "timestamp":
        acct = one(layout.accounts, "--account", PLACEHOLDER_ACCOUNT)
        region = one(layout.regions, "--region", PLACEHOLDER_REGION)
        base = f"{layout.awslogs}/{org}{acct}/CloudTrail/{region}"
        partitions = ["timestamp"]
        location = f"{base}/"
        props += _timestamp_props(start)
        props.append(("storage.location.template", f"{base}/${{timestamp}}"))
    elif scheme == "org":
        base = f"{layout.awslogs}/{org}"
        partitions = ["account", "region", "timestamp"]
        location = base
        accts = ",".join(layout.accounts)
        regs = ",".join(layout.regions)
        if not accts or not regs:
            placeholders = True
        props += [
            ("projection.enabled", "true"),
            ("projection.account.type", "enum"),
            ("projection.account.values", accts or "<account-id,account-id>"),
            ("projection.region.type", "enum"),
            ("projection.region.values", regs or "<region,region>"),
        ]
        props += _timestamp_props(start)[1:]
        props.append(
            (
                "storage.location.template",
                f"{base}${{account}}/CloudTrail/${{region}}/${{timestamp}}",
            )
        )
        if not layout.org_id:
            notes.append(
                "no organisation id: LOCATION assumes per-account folders "
                "AWSLogs/<account>/ (use --org-id or --discover for an organisation "
                "trail)"
            )
    elif scheme == "manual":
        acct = one(layout.accounts, "--account", PLACEHOLDER_ACCOUNT)
        partitions = ["region", "year", "month", "day"]
        location = f"{layout.awslogs}/{org}{acct}/CloudTrail/"
        notes.append(
            "the manual scheme has no projection: add each day with ALTER TABLE ... ADD "
            "PARTITION (region='us-east-1', year='2026', month='10', day='01') LOCATION "
            f"'{location}us-east-1/2026/10/01/'"
        )
    else:
        raise ConfigError(f"--partition-scheme: {scheme!r} is not one of timestamp, org, manual")

    if placeholders:
        notes.append("fill in the <placeholders> (or use --discover) before running this")
    cols = ",\n".join(f"  {name} {hive_type(t)}" for name, t in COLUMNS)
    lines = [
        f"CREATE EXTERNAL TABLE IF NOT EXISTS {_bq(database)}.{_bq(table)} (",
        cols,
        ")",
        "PARTITIONED BY (" + ", ".join(f"{_bq(p)} STRING" for p in partitions) + ")",
        f"ROW FORMAT SERDE {_q(SERDE)}",
        f"STORED AS INPUTFORMAT {_q(INPUT_FORMAT)}",
        f"OUTPUTFORMAT {_q(OUTPUT_FORMAT)}",
        f"LOCATION {_q(location)}",
    ]
    if props:
        lines.append("TBLPROPERTIES (")
        lines.append(",\n".join(f"  {_q(k)}={_q(v)}" for k, v in props))
        lines.append(")")
    return Ddl("\n".join(lines), placeholders, tuple(notes))


def _timestamp_props(start: date) -> list[tuple[str, str]]:
    return [
        ("projection.enabled", "true"),
        ("projection.timestamp.type", "date"),
        ("projection.timestamp.format", "yyyy/MM/dd"),
        ("projection.timestamp.range", f"{start:%Y/%m/%d},NOW"),
        ("projection.timestamp.interval", "1"),
        ("projection.timestamp.interval.unit", "DAYS"),
    ]
