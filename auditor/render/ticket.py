"""Fitting a report into a ticket (pure): GitHub rejects an issue body or comment over
65,536 characters and Jira a comment over 32,767, whatever the data.

A ticket report shows the top findings (highest severity, then most attempts) and caps
every list; `fit` finds how many findings fit under the budget. Everything left out is
in findings.md, report.csv, report.json and report.html.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

GITHUB_LIMIT = 65_536  # characters in a GitHub issue body or comment
JIRA_LIMIT = 32_767  # characters in a Jira comment
MARGIN = 1_536  # headroom for whoever pastes it (a line of their own, a quote marker)

LIST_CAP = 10  # unreadable files, failed queries, gaps, shortfalls, suppressed, ...
ACCOUNT_CAP = 15  # account rows and "accounts covered"
CELL = 160  # characters of one event value in a table cell (before escaping)
CELL_VALUES = 3  # values of a many-valued cell (IPs, user agents, resources)
TOP_MAX = 250  # a sanity bound: past it a ticket is no longer read row by row


def fit(render: Callable[[int], str], n: int, limit: int, *, cut_note: str) -> str:
    """`render(k)` for the largest k <= n whose text is at most `limit` characters.

    Text grows with k, so a binary search finds it in log2(n) renders. If even k = 0 is
    too long (lists are capped, so only pathological data gets here), the text is cut at
    a line end with `cut_note` after it, so the limit holds whatever the data."""
    lo, hi = 0, n
    best = render(0)
    if len(best) > limit:
        room = limit - len(cut_note) - 2
        cut = best.rfind("\n", 0, room)
        return best[: cut if cut > 0 else room] + "\n\n" + cut_note + "\n"
    while lo < hi:
        mid = (lo + hi + 1) // 2
        text = render(mid)
        if len(text) <= limit:
            lo, best = mid, text
        else:
            hi = mid - 1
    return best


@dataclass(frozen=True)
class Caps:
    """The caps a ticket template applies (`cap.list` and so on)."""

    list: int = LIST_CAP
    accounts: int = ACCOUNT_CAP
    cell: int = CELL
    values: int = CELL_VALUES
