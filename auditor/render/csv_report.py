"""report.csv: one row per attempt, for spreadsheets. Cells that a spreadsheet would
read as a formula (starting with = + - @, tab or CR) are prefixed with a quote."""

from __future__ import annotations

import csv
import io

from auditor.aggregate import finding_id
from auditor.model import Report

COLUMNS = (
    "finding_id", "event_time", "account_id", "region", "principal", "principal_type",
    "caller_account_id", "action", "error_code", "identity_arn", "access_key_id",
    "source_ip", "user_agent", "resource", "event_id", "error_message", "suppressed",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def render(report: Report) -> str:
    suppressed = {f.id for f in report.suppressed}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for e in sorted(report.events, key=lambda e: (e.event_time, e.event_id), reverse=True):
        fid = finding_id(e.account_id, e.principal)
        row = {
            "finding_id": fid,
            "suppressed": "yes" if fid in suppressed else "no",
            **{c: getattr(e, c) for c in COLUMNS if hasattr(e, c)},
        }
        w.writerow([safe_cell(row.get(c)) for c in COLUMNS])
    return buf.getvalue()
