"""The terminal summary of an audit (text for a terminal: event data made inert)."""

from __future__ import annotations

from pathlib import Path

from auditor.model import Report
from auditor.render.scrub import inert as _terminal
from auditor.units import fmt_bytes


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
    return "\n".join(lines)
