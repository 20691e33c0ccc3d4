"""The terminal summary of an audit (text for a terminal: event data made inert)."""

from __future__ import annotations

import re
from pathlib import Path

from auditor.model import Report
from auditor.units import fmt_bytes

# Event data printed on the terminal: controls (a newline, an ANSI escape sequence), line
# separators and bidirectional overrides are shown as \\uXXXX, and a value is cut to one
# line of reading; the reports hold it whole.
_TERMINAL_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]"
)
TERMINAL_MAX = 160


def _terminal(value: object) -> str:
    text = _TERMINAL_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", str(value))
    return text if len(text) <= TERMINAL_MAX else text[: TERMINAL_MAX - 1] + "\u2026"


def summary(report: Report, written: list[Path]) -> str:
    """The short summary `auditor audit` prints: event data made inert for a terminal."""
    c = report.coverage
    t = report.totals
    lines = [
        f"auditor: {report.range_start} .. {report.range_end} (end exclusive), "
        f"engine {report.engine}",
        f"  scanned {c.files_scanned:,} files, {c.records_scanned:,} records; "
        f"{c.files_unreadable} unreadable file(s), {len(c.unreadable) - c.files_unreadable} "
        f"unusable record(s), {len(c.gaps)} gap(s) with no logs",
        f"  {t.attempts:,} denied attempt(s) by {t.principals:,} principal(s) "
        f"in {t.accounts:,} account(s)",
    ]
    for f in report.findings[:10]:
        lines.append(
            f"    {f.severity:<6} {_terminal(f.account_id)}  {_terminal(f.principal)}  "
            f"x{f.attempts}"
        )
    if len(report.findings) > 10:
        lines.append(f"    ... and {len(report.findings) - 10} more (see the report)")
    if report.engine == "athena":
        p = report.provenance
        est = p.estimated_scan_bytes
        lines.append(
            f"  Athena: {len(p.queries)} query(ies), {fmt_bytes(p.total_scanned_bytes)} scanned "
            f"(estimate {fmt_bytes(est)}), cost ${p.total_cost_usd:.4f}; "
            f"{len(c.failed_queries)} failed"
        )
    elif report.provenance.total_cost_usd:
        lines.append(f"  Athena cost: ${report.provenance.total_cost_usd:.4f}")
    if written:
        lines.append("  wrote " + ", ".join(str(p) for p in written))
    if not c.complete:
        lines.append("  coverage is INCOMPLETE: see the report's Coverage section")
    return "\n".join(lines)
