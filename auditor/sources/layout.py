"""Find a trail's log files for a date range, whatever holds them.

CloudTrail's layout (DOMAIN.md section 1):
    [prefix/]AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz
    [prefix/]AWSLogs/o-<org id>/<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz
Siblings of `CloudTrail/` (CloudTrail-Digest/, CloudTrail-Insight/, ...) are never read.

Discovery only lists folders: the account and region folders, then the days of the
range, so cost grows with the range, not with the trail: each day folder, or, where a
lister can (`tree`: S3) and it is expected to take fewer requests, a month folder read
from its first wanted day to its last (`auditor.sources.listing` decides which). A
`Lister` hides whether the folders are on disk or in S3.

A folder that does not exist lists as empty; one that exists but cannot be listed
(permissions, I/O, S3 AccessDenied on a sub-prefix) raises `ListingError`, and discovery
records it in `Discovery.unlisted` and goes on: each becomes an `unlisted` shortfall,
never a silent "no logs delivered".
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from auditor.config import DateRange
from auditor.errors import SourceError
from auditor.model import Gap, Shortfall
from auditor.sources import listing as listing_plan
from auditor.sources.listing import Listing, Strategy

LOG_SUFFIX = ".json.gz"
# The region (account) of the gap naming an --account (--region) asked for that has no
# folder at all: `aggregate` turns such gaps into `missing-scope` shortfalls.
NO_REGION_FOLDER = "(no folder in any region)"
NO_ACCOUNT_FOLDER = "(no folder in any account)"
MAX_PREFIX_DEPTH = 4


class ListingError(SourceError):
    """A folder that exists (or may) but could not be listed: not the same as empty."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: cannot list: {reason}")
        self.path = path
        self.reason = reason


class Lister(Protocol):
    def join(self, *parts: str) -> str: ...

    def dirs(self, prefix: str) -> list[str]:
        """Names of the immediate sub-folders of prefix (empty when it does not exist;
        ListingError when it cannot be listed)."""
        ...

    def files(self, prefix: str) -> list[tuple[str, int]]:
        """(name, size) of the files directly in prefix (empty when it does not exist;
        ListingError when it cannot be listed)."""
        ...

    # Optional, where a folder can be listed at every depth at once (S3):
    #   tree(folder, first, last) -> [(path relative to folder, size)] of every object
    #   below the sub-folders first..last of folder (more may come back; never fewer).
    # threads: how many listings to keep in flight at once (S3: one round trip each).


@dataclass(frozen=True)
class LogFile:
    path: str
    account: str
    region: str
    day: date  # delivery folder
    size: int


@dataclass
class Discovery:
    files: list[LogFile] = field(default_factory=list)
    trails: set[tuple[str, str]] = field(default_factory=set)  # (account, region)
    skipped: list[str] = field(default_factory=list)  # stray files in day folders
    present: set[tuple[str, str, date]] = field(default_factory=set)
    roots: list[str] = field(default_factory=list)  # the AWSLogs folders found
    # An account/region delivered by two trails (an org trail and an older per-account
    # trail, or two prefixes): the same event may sit in two files.
    overlapping: bool = False
    account_folders: set[str] = field(default_factory=set)  # every account folder met
    unlisted: list[tuple[str, str]] = field(default_factory=list)  # (folder, reason)

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(sorted({a for a, _ in self.trails}))

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({r for _, r in self.trails}))

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def _dirs(lister: Lister, path: str, unlisted: list[tuple[str, str]] | None) -> list[str]:
    """lister.dirs(path), a listing error recorded in `unlisted` (raised without it)."""
    try:
        return sorted(lister.dirs(path))
    except ListingError as exc:
        if unlisted is None:
            raise
        unlisted.append((exc.path, exc.reason))
        return []


def find_awslogs(
    lister: Lister, root: str, unlisted: list[tuple[str, str]] | None = None
) -> list[str]:
    """Every `AWSLogs` folder at or below root, up to MAX_PREFIX_DEPTH folders deep
    (breadth first; never inside an AWSLogs folder); root itself when it is one.

    Every one found is read, not only the shallowest: a second trail (or a copy of one,
    `backup/AWSLogs/`) beside the first is part of the source, and an event delivered to
    both is counted once (discovery marks the overlap, the engine dedupes by eventID).
    The search lists every folder above that depth, so point --source at the trail's
    prefix, not at a bucket full of other data. The root itself must be listable (else
    ListingError); a deeper folder that is not is recorded in `unlisted`."""
    if root.rstrip("/").rsplit("/", 1)[-1] == "AWSLogs" or root.rstrip("/").endswith("AWSLogs"):
        return [root.rstrip("/")]
    found: list[str] = []
    level = [root]
    for depth in range(MAX_PREFIX_DEPTH + 1):
        nxt: list[str] = []
        for prefix in level:
            for name in _dirs(lister, prefix, unlisted if depth else None):
                path = lister.join(prefix, name)
                (found if name == "AWSLogs" else nxt).append(path)
        level = nxt
    return found


def account_folders(
    lister: Lister, awslogs: str, unlisted: list[tuple[str, str]] | None = None
) -> list[tuple[str, str]]:
    """(account id, folder) for both layouts under one AWSLogs folder."""
    out: list[tuple[str, str]] = []
    for name in _dirs(lister, awslogs, unlisted):
        path = lister.join(awslogs, name)
        if name.startswith("o-"):
            out.extend((acct, lister.join(path, acct)) for acct in _dirs(lister, path, unlisted))
        else:
            out.append((name, path))
    return out


def region_folders(
    lister: Lister,
    roots: list[str],
    accounts: tuple[str, ...] = (),
    regions: tuple[str, ...] = (),
    seen: set[str] | None = None,
    unlisted: list[tuple[str, str]] | None = None,
) -> list[tuple[str, str, str]]:
    """(account, region, folder) of every CloudTrail/<region> folder under the AWSLogs
    roots, both layouts, pruned by --account/--region: delimiter listings only. `seen`
    collects every account folder met (with or without CloudTrail/ logs); `unlisted`
    the folders that could not be listed (raised when it is None)."""
    out: list[tuple[str, str, str]] = []
    for awslogs in roots:
        for acct, acct_path in account_folders(lister, awslogs, unlisted):
            if accounts and acct not in accounts:
                continue
            if seen is not None:
                seen.add(acct)
            ct = lister.join(acct_path, "CloudTrail")
            for region in _dirs(lister, ct, unlisted):
                if regions and region not in regions:
                    continue
                out.append((acct, region, lister.join(ct, region)))
    return out


def discover(
    lister: Lister,
    root: str,
    rng: DateRange,
    accounts: tuple[str, ...] = (),
    regions: tuple[str, ...] = (),
    days: list[date] | None = None,
    strategy: Strategy = "auto",
) -> Discovery:
    """The log files of the range's delivery folders (`days` in place of the range's own
    folder days), with what could not be listed; `strategy` forces day or month
    listings (tests compare them)."""
    unlisted: list[tuple[str, str]] = []
    roots = find_awslogs(lister, root, unlisted)
    if not roots:
        raise SourceError(f"no AWSLogs/ folder found under {root}")
    result = Discovery(roots=roots, unlisted=unlisted)
    folder_days = days if days is not None else rng.folder_days
    # A lister that can list a month folder whole (S3) may; one that cannot lists days.
    if not hasattr(lister, "tree"):
        strategy = "days"
    wanted: list[Listing] = []
    for acct, region, region_path in region_folders(
        lister, roots, accounts, regions, seen=result.account_folders, unlisted=unlisted
    ):
        if (acct, region) in result.trails:
            result.overlapping = True
        result.trails.add((acct, region))
        wanted.extend(
            listing_plan.plan(acct, region, region_path, folder_days, lister.join, strategy)
        )
    # A lister that waits on round trips (S3) has many listings in flight at once.
    threads = min(int(getattr(lister, "threads", 1)), len(wanted))
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            listings = list(pool.map(lambda job: _list(lister, job), wanted))
    else:
        listings = [_list(lister, job) for job in wanted]
    for job, listed in zip(wanted, listings):
        if isinstance(listed, ListingError):
            unlisted.append((listed.path, listed.reason))
            continue
        for day, name, size in sorted(listed):
            folder = job.folder if not job.month else lister.join(job.folder, f"{day:%d}")
            path = lister.join(folder, name)
            if name.endswith(LOG_SUFFIX):
                result.files.append(LogFile(path, job.account, job.region, day, size))
                result.present.add((job.account, job.region, day))
            else:
                result.skipped.append(path)
    return result


def _list(lister: Lister, job: Listing) -> list[tuple[date, str, int]] | ListingError:
    """(day, name, size) of the files in the day folders of one listing, or the
    ListingError in place of a folder that could not be listed."""
    try:
        if job.month:
            tree = lister.tree  # type: ignore[attr-defined]
            return listing_plan.day_files(job, tree(job.folder, job.first, job.last))
        return [(job.days[0], name, size) for name, size in lister.files(job.folder)]
    except ListingError as exc:
        return exc


def relative(path: str, source: str) -> str:
    """A path (local or s3://) relative to --source, as reports name folders."""
    base = source.rstrip("/") + "/"
    return path[len(base) :] if path.startswith(base) else path


def shortfalls(discovery: Discovery, source: str) -> tuple[Shortfall, ...]:
    """What discovery could not look at: each folder it could not list."""
    return tuple(
        Shortfall(
            "unlisted",
            f"{relative(path, source) or '.'}/: could not be listed "
            f"({reason}); any log file in it was not read",
        )
        for path, reason in sorted(set(discovery.unlisted))
    )


def gaps(
    discovery: Discovery,
    rng: DateRange,
    accounts: tuple[str, ...] = (),
    regions: tuple[str, ...] = (),
) -> tuple[Gap, ...]:
    """Runs of days in the range on which an account/region delivered no log file; an
    --account or --region asked for that has no folder at all is a gap of the whole range."""
    out: list[Gap] = []
    whole = (rng.first.isoformat(), rng.last.isoformat(), len(rng.days))
    for acct in sorted(set(accounts) - set(discovery.accounts)):
        out.append(Gap(acct, NO_REGION_FOLDER, *whole))
    for region in sorted(set(regions) - set(discovery.regions)):
        out.append(Gap(NO_ACCOUNT_FOLDER, region, *whole))
    # An account folder holding no CloudTrail/ logs (only CloudTrail-Digest/, say).
    for acct in sorted(discovery.account_folders - set(discovery.accounts) - set(accounts)):
        out.append(Gap(acct, "(no CloudTrail/ log folder)", *whole))
    for acct, region in sorted(discovery.trails):
        run: list[date] = []
        for day in [*rng.days, None]:
            if day is not None and (acct, region, day) not in discovery.present:
                run.append(day)
                continue
            if run:
                out.append(Gap(acct, region, run[0].isoformat(), run[-1].isoformat(), len(run)))
                run = []
    return tuple(out)
