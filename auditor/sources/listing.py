"""Which listings discovery makes for one account/region: day folders, or month folders
listed whole (pure: no I/O).

A day folder costs one LIST request (a page holds up to 1,000 keys; one account/region
delivers some 24-300 files a day). A month folder can instead be listed in one go,
without a delimiter, from its first wanted day (`StartAfter`) until a key lies past its
last wanted day: one request per 1,000 keys, so a whole month of one account/region is
1-3 requests instead of 28-31. Its last page runs on past the last wanted day, though,
up to 1,000 keys that are paid for in transfer and, above all, in parsing: botocore
parses a 1,000-key page in about 95 ms of CPU under the GIL (measured on this machine
class), while the round trip of a request is shared between `LIST_THREADS` in flight.
So a month listing is chosen only where its estimated requests, plus the keys it would
read past the wanted days (at KEYS_PER_REQUEST keys to a request), are fewer than the
day listings it replaces: a whole month or its tail, yes; two days, no.

The estimate assumes FILES_PER_DAY files a day; whichever way it errs, the answer is
the same files, only the number of requests differs.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

KEYS_PER_PAGE = 1000  # S3's maximum keys in one ListObjectsV2 page
FILES_PER_DAY = 100  # log files one account/region delivers a day (an estimate)
KEYS_PER_REQUEST = 25  # keys parsed (~95 us each) worth one request's share of wall time

Strategy = Literal["auto", "days", "months"]


@dataclass(frozen=True)
class Listing:
    """One listing: a day folder (`days` holds that day), or a month folder read from
    its first to its last wanted day (`month`: the days wanted from it, in order)."""

    account: str
    region: str
    folder: str  # .../<region>/YYYY/MM/DD, or .../<region>/YYYY/MM for a month
    days: tuple[date, ...]
    month: bool = False

    @property
    def first(self) -> str:
        return f"{self.days[0]:%d}"

    @property
    def last(self) -> str:
        return f"{self.days[-1]:%d}"


def month_pays(days: list[date], files_per_day: int = FILES_PER_DAY) -> bool:
    """Whether one listing of the month holding `days` (sorted, one month) is expected to
    cost less than listing each day folder."""
    first, last = days[0], days[-1]
    span = (last - first).days + 1
    wanted = span * files_per_day
    pages = max(1, -(-wanted // KEYS_PER_PAGE))
    after = (calendar.monthrange(last.year, last.month)[1] - last.day) * files_per_day
    # Keys read but not wanted: the last page past the last day (never past the month's
    # end: the prefix is the month), and any day inside the span not asked for.
    waste = min(pages * KEYS_PER_PAGE - wanted, after) + (span - len(days)) * files_per_day
    return pages + waste / KEYS_PER_REQUEST < len(days)


def plan(
    account: str,
    region: str,
    region_path: str,
    days: Iterable[date],
    join: Callable[..., str],
    strategy: Strategy = "auto",
) -> list[Listing]:
    """The listings of one account/region folder for the delivery days wanted.
    `join` is the lister's path join; `strategy` "days"/"months" forces one kind
    (tests compare them)."""
    by_month: dict[tuple[int, int], list[date]] = {}
    for d in sorted(set(days)):
        by_month.setdefault((d.year, d.month), []).append(d)
    out: list[Listing] = []
    for (y, m), wanted in by_month.items():
        whole = strategy == "months" or (strategy == "auto" and month_pays(wanted))
        if whole:
            folder = join(region_path, f"{y:04d}", f"{m:02d}")
            out.append(Listing(account, region, folder, tuple(wanted), month=True))
            continue
        out.extend(
            Listing(account, region, join(region_path, f"{d:%Y}", f"{d:%m}", f"{d:%d}"), (d,))
            for d in wanted
        )
    return out


def day_files(listing: Listing, objects: list[tuple[str, int]]) -> list[tuple[date, str, int]]:
    """(day, name, size) of the objects directly in a wanted day folder, from a month
    listing's (path relative to the month folder, size): what a listing of each day
    folder would have given. A key deeper than the day folder, or outside the wanted
    days, is left out, as a day folder's delimiter listing leaves it out."""
    wanted = {f"{d:%d}": d for d in listing.days}
    out: list[tuple[date, str, int]] = []
    for rel, size in objects:
        head, sep, name = rel.partition("/")
        if sep and name and "/" not in name and head in wanted:
            out.append((wanted[head], name, size))
    return out
