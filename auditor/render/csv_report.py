"""report.csv: one row per attempt, newest first, for spreadsheets.

A cell that a spreadsheet could read as a formula is prefixed with `'`: one that starts,
after any leading whitespace, with `=`, `+`, `-`, `@` (or their full-width forms), or
with a tab or carriage return. Every cell is otherwise the value as logged, in double
quotes (RFC 4180 quoting, "\n" line ends), so commas, quotes and line breaks stay inside
their cell.
"""

from __future__ import annotations

import csv
import io

from auditor.model import Report
from auditor.render.events import event_findings, event_severity, event_suppression

COLUMNS = (
    "finding_id",
    "severity",
    "event_time",
    "account_id",
    "region",
    "principal",
    "principal_type",
    "caller_account_id",
    "action",
    "error_code",
    "identity_arn",
    "session",
    "access_key_id",
    "source_ip",
    "user_agent",
    "resource",
    "event_id",
    "error_message",
    "request_parameters",
    "suppressed_by",
    "source_file",
    "outside_window_of",  # last: added after the others, so column positions hold
)

_FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    if text.startswith(("\t", "\r")) or text.lstrip().startswith(_FORMULA_START):
        return "'" + text
    return text


def render(report: Report) -> str:
    severity = event_severity(report)
    suppressed = event_suppression(report)
    ids = event_findings(report)
    events = report.events
    order = sorted(
        range(len(events)), key=lambda i: (events[i].event_time, events[i].event_id), reverse=True
    )
    buf = io.StringIO()
    # Every cell quoted: with "\n" line ends, QUOTE_MINIMAL would leave a cell holding a
    # bare "\r" unquoted, and readers would split the row there.
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    w.writerow(COLUMNS)
    for i in order:
        e = events[i]
        fid = ids[i]
        row = {
            **{c: getattr(e, c) for c in COLUMNS if hasattr(e, c)},
            "finding_id": fid,
            "severity": severity.get((fid, suppressed.get(i)), ""),
            "suppressed_by": suppressed.get(i, ""),
        }
        w.writerow([safe_cell(row.get(c)) for c in COLUMNS])
    return buf.getvalue()
