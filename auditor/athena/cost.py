"""What Athena charges, and what a plan will scan before it runs (the cost guard).

Price (DOMAIN.md section 3): $5 per TB scanned, each query rounded up to the whole
megabyte with a 10 MB minimum; failed queries are not billed, cancelled ones are. TB
and MB are binary here (2**40, 2**20), as in Athena's console.

The estimate: CloudTrail's log files are gzip'd JSON, which Athena cannot prune by
column, so a query scans every byte of every partition it reads. Summing the sizes of
the objects under the partitions a query bounds (its planned folder span, and the
accounts/regions the table partitions by: `TableShape.prunes`; a table without a day
partition is sized as its whole LOCATION) is therefore a close upper
bound of its `DataScannedInBytes`. Only listings are used: the
account and region folders (delimiter listings, as discovery does), then one
recursive listing per month wholly in range and one per day of a partial month. Never
the whole bucket.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from auditor.aws import aws_error
from auditor.errors import BudgetError, SourceError
from auditor.sources.layout import (
    LOG_SUFFIX,
    Discovery,
    Lister,
    find_awslogs,
    region_folders,
)
from auditor.units import fmt_bytes

PRICE_PER_TB_USD = 5.0
MB = 1024**2
GB = 1024**3
TB = 1024**4
MIN_BILLED_BYTES = 10 * MB
LIST_WORKERS = 16


def query_cost_usd(scanned_bytes: int | None, state: str = "SUCCEEDED") -> float:
    """Athena's charge for one query that scanned `scanned_bytes`."""
    if scanned_bytes is None or state == "FAILED":
        return 0.0
    billed = max(MIN_BILLED_BYTES, -(-int(scanned_bytes) // MB) * MB)
    return billed / TB * PRICE_PER_TB_USD


class Sizer(Protocol):
    def sizes(self, prefix: str) -> list[tuple[str, int]]:
        """(path relative to prefix, size) of every object below prefix, at any depth."""
        ...


class ListerSizer:
    """Recursive sizes through any `Lister` (a local folder in tests)."""

    def __init__(self, lister: Lister) -> None:
        self.lister = lister

    def sizes(self, prefix: str) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        stack = [("", prefix)]
        while stack:
            rel, path = stack.pop()
            out.extend((f"{rel}{n}", s) for n, s in self.lister.files(path))
            stack.extend((f"{rel}{d}/", self.lister.join(path, d)) for d in self.lister.dirs(path))
        return out


class S3Sizer:
    """Recursive sizes of `s3://bucket/prefix` with ListObjectsV2 (no delimiter)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def sizes(self, prefix: str) -> list[tuple[str, int]]:
        from botocore.exceptions import BotoCoreError, ClientError

        from auditor.sources.s3 import split_url

        bucket, key = split_url(prefix)
        key = f"{key}/" if key else ""
        out: list[tuple[str, int]] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=key
            ):
                for obj in page.get("Contents") or ():
                    out.append((obj["Key"][len(key) :], int(obj.get("Size", 0))))
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, f"--trail {prefix}: cannot list for the estimate") from None
        return out


@dataclass
class ScanEstimate:
    """Bytes under the partitions of each unit of work (query, or chunk/query)."""

    per_unit: dict[str, int] = field(default_factory=dict)
    objects: int = 0
    listings: int = 0
    discovery: Discovery = field(default_factory=Discovery)

    @property
    def total(self) -> int:
        return sum(self.per_unit.values())

    def bytes_for(self, keys: Iterable[str]) -> int:
        return sum(self.per_unit.get(k, 0) for k in keys)

    def cost_usd(self, keys: Iterable[str] | None = None) -> float:
        ks = self.per_unit if keys is None else list(keys)
        return round(sum(query_cost_usd(self.per_unit.get(k, 0)) for k in ks), 6)


def _month_days(year: int, month: int) -> list[date]:
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return [first + timedelta(days=i) for i in range((nxt - first).days)]


@dataclass(frozen=True)
class _Job:
    account: str
    region: str
    prefix: str
    day: date | None  # a day folder, or None for a whole month
    month: tuple[int, int]


def _listing_jobs(
    acct: str, region: str, region_path: str, days: set[date], lister: Lister
) -> list[_Job]:
    """What to list for one account/region: whole months in one go, else day by day."""
    months: dict[tuple[int, int], set[date]] = defaultdict(set)
    for d in days:
        months[(d.year, d.month)].add(d)
    jobs: list[_Job] = []
    for (y, m), wanted in sorted(months.items()):
        if len(wanted) == len(_month_days(y, m)):
            jobs.append(
                _Job(acct, region, lister.join(region_path, f"{y:04d}", f"{m:02d}"), None, (y, m))
            )
        else:
            jobs.extend(
                _Job(
                    acct,
                    region,
                    lister.join(region_path, f"{d:%Y}", f"{d:%m}", f"{d:%d}"),
                    d,
                    (y, m),
                )
                for d in sorted(wanted)
            )
    return jobs


def _object_day(job: _Job, rel: str) -> date | None:
    if job.day is not None:
        return job.day
    head = rel.split("/", 1)[0]  # a month listing: the day folder is the first part
    if not (head.isdigit() and len(head) == 2):
        return None
    try:
        return date(job.month[0], job.month[1], int(head))
    except ValueError:
        return None


def discover_pairs(
    lister: Lister, root: str, accounts: tuple[str, ...] = (), regions: tuple[str, ...] = ()
) -> tuple[Discovery, list[tuple[str, str, str]]]:
    """The trail's (account, region, folder) triples, by delimiter listings only."""
    disc = Discovery(roots=find_awslogs(lister, root))
    pairs = region_folders(lister, disc.roots, accounts, regions)
    disc.trails.update((acct, region) for acct, region, _ in pairs)
    return disc, pairs


def estimate(
    lister: Lister,
    sizer: Sizer,
    root: str,
    spans: dict[str, tuple[date, date]],
    accounts: tuple[str, ...] = (),
    regions: tuple[str, ...] = (),
    workers: int = LIST_WORKERS,
) -> ScanEstimate:
    """Sum object sizes under each unit's folder span, over the trail's accounts/regions.

    `spans` maps a unit key to the first and last delivery folder it reads. Raises
    SourceError when `root` holds no AWSLogs/ folder.
    """
    days: set[date] = set()
    for first, last in spans.values():
        days.update(first + timedelta(days=i) for i in range((last - first).days + 1))
    disc, pairs = discover_pairs(lister, root, accounts, regions)
    if not disc.roots:
        raise SourceError(f"--trail {root}: no AWSLogs/ folder found")
    jobs = [
        j for acct, region, path in pairs for j in _listing_jobs(acct, region, path, days, lister)
    ]
    day_bytes: dict[date, int] = defaultdict(int)
    result = ScanEstimate(discovery=disc, listings=len(jobs))
    if jobs:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs)))) as pool:
            for job, objs in zip(jobs, pool.map(lambda j: sizer.sizes(j.prefix), jobs)):
                for rel, size in objs:
                    d = _object_day(job, rel)
                    if d is None or d not in days:
                        continue
                    result.objects += 1
                    day_bytes[d] += size
                    if rel.endswith(LOG_SUFFIX):
                        disc.present.add((job.account, job.region, d))
    for key, (first, last) in spans.items():
        result.per_unit[key] = sum(b for d, b in day_bytes.items() if first <= d <= last)
    return result


def check_budget(
    max_scan_gb: float | None, estimate_bytes: int | None, what: str = "the plan"
) -> None:
    """Refuse (BudgetError, exit 2) a plan whose estimate is over --max-scan-gb."""
    if max_scan_gb is None:
        return
    if estimate_bytes is None:
        raise BudgetError(
            "--max-scan-gb needs a scan estimate: pass --trail s3://bucket/prefix (the trail "
            "root the table reads) so auditor can size the partitions before querying"
        )
    if estimate_bytes > max_scan_gb * GB:
        raise BudgetError(
            f"{what} would scan an estimated {fmt_bytes(estimate_bytes)} "
            f"({estimate_bytes:,} bytes), over --max-scan-gb {max_scan_gb:g}; "
            f"narrow the range, accounts or regions, or raise the limit"
        )
