"""The terminal summary of an audit (text for a terminal: event data made inert)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from auditor.model import Finding, Report
from auditor.render.scrub import inert as _terminal
from auditor.units import fmt_bytes

SHOWN = 10  # findings (and failing finding ids) listed on the terminal


def by_severity(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then most attempts, then account and principal (a stable order)."""
    from auditor.severity import rank

    return sorted(
        findings, key=lambda f: (-rank(f.severity), -f.attempts, f.account_id, f.principal, f.id)
    )


def failing(report: Report, fail_on: str | None) -> list[Finding]:
    """The findings at or above --fail-on (the ones that make the audit exit 1), most
    severe first."""
    from auditor.severity import at_or_above

    if not fail_on:
        return []
    return by_severity([f for f in report.findings if at_or_above(f.severity, fail_on)])


def summary(report: Report, written: list[Path], fail_on: str | None = None) -> str:
    """The short summary `auditor audit` prints: event data made inert for a terminal.
    Findings most severe first; with `fail_on`, the ids of the findings that fail it."""
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
    for f in by_severity(report.findings)[:SHOWN]:
        lines.append(
            f"    {f.severity:<6} {_terminal(f.account_id)}  {_terminal(f.principal)}  "
            f"x{f.attempts}"
        )
    if len(report.findings) > SHOWN:
        lines.append(f"    ... and {len(report.findings) - SHOWN} more (see the report)")
    if report.engine == "athena":
        p = report.provenance
        est = p.estimated_scan_bytes
        lines.append(
            f"  Athena: {len(p.queries)} query(ies), {fmt_bytes(p.total_scanned_bytes)} scanned "
            f"(estimate {fmt_bytes(est)}), cost ${p.total_cost_usd:.4f}; "
            f"{len(c.failed_queries)} failed"
        )
    for fq in c.failed_queries[:10]:
        state = f"{fq.state}: " if fq.state else ""
        qid = f" ({fq.query_id})" if fq.query_id else ""
        what = _terminal(fq.key + qid)
        lines.append(f"    failed {what}: {_terminal(state + fq.reason)}")
    if len(c.failed_queries) > 10:
        lines.append(f"    ... and {len(c.failed_queries) - 10} more failed (see the report)")
    elif report.provenance.total_cost_usd:
        lines.append(f"  Athena cost: ${report.provenance.total_cost_usd:.4f}")
    if written:
        lines.append("  wrote " + ", ".join(str(p) for p in written))
    if not c.complete:
        from auditor.render.view import incomplete_reasons

        reasons = incomplete_reasons(report)
        lines.append("  coverage is INCOMPLETE: see the report's Coverage section")
        for why in reasons[:5]:
            lines.append(f"    - {_terminal(why)[:200]}")
        if len(reasons) > 5:
            lines.append(f"    ... and {len(reasons) - 5} more")
    bad = failing(report, fail_on)
    if bad:
        more = f" (first {SHOWN})" if len(bad) > SHOWN else ""
        lines.append(
            f"  --fail-on {fail_on}: {len(bad)} finding(s) at or above {fail_on}, exit 1{more}: "
            + ", ".join(_terminal(f.id) for f in bad[:SHOWN])
        )
    return "\n".join(lines)


def summary_data(
    report: Report, written: list[Path], exit_code: int, fail_on: str | None = None
) -> dict[str, Any]:
    """`auditor audit --json`: the terminal summary as data, for scripts (one JSON object;
    the full record is report.json)."""
    from auditor.render.view import incomplete_reasons

    c, t = report.coverage, report.totals
    bad = {f.id for f in failing(report, fail_on)}
    return {
        "range": {"start": str(report.range_start), "end_exclusive": str(report.range_end)},
        "engine": report.engine,
        "totals": {
            "attempts": t.attempts,
            "principals": t.principals,
            "accounts": t.accounts,
            "findings": len(report.findings),
        },
        "findings": [
            {
                "id": f.id,
                "severity": f.severity,
                "account": f.account_id,
                "principal": f.principal,
                "attempts": f.attempts,
                "fails_gate": f.id in bad,
            }
            for f in by_severity(report.findings)
        ],
        "coverage": {
            "complete": c.complete,
            "reasons": [] if c.complete else incomplete_reasons(report),
        },
        "fail_on": fail_on,
        "files_written": [str(p) for p in written],
        "exit_code": exit_code,
    }


def summary_json(
    report: Report, written: list[Path], exit_code: int, fail_on: str | None = None
) -> str:
    return json.dumps(
        summary_data(report, written, exit_code, fail_on), indent=2, ensure_ascii=False
    )
