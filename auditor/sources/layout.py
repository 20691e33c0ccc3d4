"""Find a trail's log files for a date range, whatever holds them.

CloudTrail's layout (DOMAIN.md section 1):
    [prefix/]AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz
    [prefix/]AWSLogs/o-<org id>/<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz
Siblings of `CloudTrail/` (CloudTrail-Digest/, CloudTrail-Insight/, ...) are never read.

Discovery only lists folders: the account and region folders, then the exact day
folders of the range, so cost grows with the range, not with the trail. A `Lister`
hides whether the folders are on disk or in S3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from auditor.config import DateRange
from auditor.errors import SourceError
from auditor.model import Gap

LOG_SUFFIX = ".json.gz"
# The region (account) of the gap naming an --account (--region) asked for that has no
# folder at all: `aggregate` turns such gaps into `missing-scope` shortfalls.
NO_REGION_FOLDER = "(no folder in any region)"
NO_ACCOUNT_FOLDER = "(no folder in any account)"
MAX_PREFIX_DEPTH = 4


class Lister(Protocol):
    def join(self, *parts: str) -> str: ...

    def dirs(self, prefix: str) -> list[str]:
        """Names of the immediate sub-folders of prefix (empty when it does not exist)."""
        ...

    def files(self, prefix: str) -> list[tuple[str, int]]:
        """(name, size) of the files directly in prefix."""
        ...


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

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(sorted({a for a, _ in self.trails}))

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({r for _, r in self.trails}))

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def find_awslogs(lister: Lister, root: str) -> list[str]:
    """Every `AWSLogs` folder at or below root (breadth first, a few levels deep); root
    itself when it is one."""
    if root.rstrip("/").rsplit("/", 1)[-1] == "AWSLogs" or root.rstrip("/").endswith("AWSLogs"):
        return [root.rstrip("/")]
    found: list[str] = []
    level = [root]
    for _ in range(MAX_PREFIX_DEPTH + 1):
        nxt: list[str] = []
        for prefix in level:
            for name in sorted(lister.dirs(prefix)):
                path = lister.join(prefix, name)
                if name == "AWSLogs":
                    found.append(path)
                elif not found:
                    nxt.append(path)
        if found:
            return found
        level = nxt
    return found


def account_folders(lister: Lister, awslogs: str) -> list[tuple[str, str]]:
    """(account id, folder) for both layouts under one AWSLogs folder."""
    out: list[tuple[str, str]] = []
    for name in sorted(lister.dirs(awslogs)):
        path = lister.join(awslogs, name)
        if name.startswith("o-"):
            out.extend((acct, lister.join(path, acct)) for acct in sorted(lister.dirs(path)))
        else:
            out.append((name, path))
    return out


def region_folders(
    lister: Lister,
    roots: list[str],
    accounts: tuple[str, ...] = (),
    regions: tuple[str, ...] = (),
    seen: set[str] | None = None,
) -> list[tuple[str, str, str]]:
    """(account, region, folder) of every CloudTrail/<region> folder under the AWSLogs
    roots, both layouts, pruned by --account/--region: delimiter listings only. `seen`
    collects every account folder met (with or without CloudTrail/ logs)."""
    out: list[tuple[str, str, str]] = []
    for awslogs in roots:
        for acct, acct_path in account_folders(lister, awslogs):
            if accounts and acct not in accounts:
                continue
            if seen is not None:
                seen.add(acct)
            ct = lister.join(acct_path, "CloudTrail")
            for region in sorted(lister.dirs(ct)):
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
) -> Discovery:
    roots = find_awslogs(lister, root)
    if not roots:
        raise SourceError(f"no AWSLogs/ folder found under {root}")
    result = Discovery(roots=roots)
    folder_days = days if days is not None else rng.folder_days
    wanted: list[tuple[str, str, date, str]] = []  # (account, region, day, folder)
    for acct, region, region_path in region_folders(
        lister, roots, accounts, regions, seen=result.account_folders
    ):
        if (acct, region) in result.trails:
            result.overlapping = True
        result.trails.add((acct, region))
        for day in folder_days:
            folder = lister.join(region_path, f"{day:%Y}", f"{day:%m}", f"{day:%d}")
            wanted.append((acct, region, day, folder))
    # A lister that can list many folders at once (S3: one round trip each) does so.
    many = getattr(lister, "files_many", None)
    folders = [w[3] for w in wanted]
    listings = many(folders) if many else [lister.files(f) for f in folders]
    for (acct, region, day, folder), listing in zip(wanted, listings):
        any_log = False
        for name, size in sorted(listing):
            path = lister.join(folder, name)
            if name.endswith(LOG_SUFFIX):
                result.files.append(LogFile(path, acct, region, day, size))
                any_log = True
            else:
                result.skipped.append(path)
        if any_log:
            result.present.add((acct, region, day))
    return result


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
        for day in rng.days + [None]:  # type: ignore[list-item]
            if day is not None and (acct, region, day) not in discovery.present:
                run.append(day)
                continue
            if run:
                out.append(Gap(acct, region, run[0].isoformat(), run[-1].isoformat(), len(run)))
                run = []
    return tuple(out)
