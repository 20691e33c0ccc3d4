"""sources/listing.py: which listings discovery makes, and what they cost at
organisation scale (pure: no S3)."""

from __future__ import annotations

import os
from datetime import date, timedelta

from auditor.config import DateRange
from auditor.sources.listing import Listing, day_files, month_pays, plan


def days(first: date, n: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(n)]


def test_a_month_is_listed_whole_only_where_that_saves_requests() -> None:
    assert month_pays(days(date(2026, 10, 1), 31))  # a whole month: 4 pages, not 31
    assert month_pays(days(date(2026, 10, 22), 10))  # its tail: nothing read past the end
    assert not month_pays(days(date(2026, 10, 4), 2))  # two days: a page of later days
    assert not month_pays(days(date(2026, 10, 1), 5))
    assert not month_pays([date(2026, 10, 30)])


def test_two_years_of_an_organisation_trail_take_tens_of_thousands_of_requests() -> None:
    # 40 accounts x 17 regions, 2025-2026, read up to the look-ahead week after.
    rng = DateRange(date(2025, 1, 1), date(2026, 12, 31))
    folders = days(rng.first, (rng.last - rng.first).days + 1 + 1 + 7)
    one = plan("a", "r", "base", folders, os.path.join)
    assert sum(j.month for j in one) == 24 and sum(not j.month for j in one) == 8
    pairs = 40 * 17
    # A month of one account/region is 720-3,000 files: 1-3 pages of 1,000 keys.
    fewest, most = pairs * (24 * 1 + 8), pairs * (24 * 3 + 8)
    assert (fewest, most) == (21_760, 54_400)
    assert pairs * len(folders) == 501_840  # one listing per account, region and day
    assert one[0] == Listing("a", "r", "base/2025/01", tuple(folders[:31]), month=True)
    assert one[-1] == Listing("a", "r", "base/2027/01/08", (date(2027, 1, 8),))


def test_a_month_listing_keeps_only_what_the_day_folders_hold() -> None:
    job = Listing("a", "r", "m", (date(2026, 9, 10), date(2026, 9, 11)), month=True)
    got = day_files(
        job,
        [
            ("09/x.json.gz", 1),  # a day not wanted
            ("10/a.json.gz", 2),
            ("10/README.txt", 3),  # a log, a stray: both kept
            ("10/", 0),  # the folder marker object
            ("10/sub/b.json.gz", 4),  # deeper than the day folder
            ("10-old/c.json.gz", 5),
            ("notes.json.gz", 6),  # not in a day folder
            ("11/d.json.gz", 7),
        ],
    )
    assert got == [
        (date(2026, 9, 10), "a.json.gz", 2),
        (date(2026, 9, 10), "README.txt", 3),
        (date(2026, 9, 11), "d.json.gz", 7),
    ]
