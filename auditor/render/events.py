"""Per-event facts the HTML and CSV share (pure): the finding an event is in, which
exemption suppressed it, the severity of its finding, and why AWS refused it."""

from __future__ import annotations

from auditor.model import Report


def event_findings(report: Report) -> list[str]:
    """Per event in report.events, the id of the finding it is in, as aggregation set it.

    A report.json written before events carried `finding_id` is read by looking the
    event's (account, principal) up among the report's own findings; never re-hashed."""
    by_key = {(f.account_id, f.principal): f.id for f in report.suppressed + report.findings}
    return [e.finding_id or by_key.get((e.account_id, e.principal), "") for e in report.events]


def denial_reason(message: str | None, limit: int = 300) -> str | None:
    """The informative part of an AccessDenied message: which policy type refused."""
    if not message:
        return None
    i = message.find(" because ")
    text = message[i + 1 :] if i >= 0 else message
    return text if len(text) <= limit else text[: limit - 1] + "…"


def event_suppression(report: Report) -> dict[int, str]:
    """index in report.events -> the exemption (or threshold) that suppressed it.

    Events carry `suppressed_by` themselves; a report written before they did is read by
    finding: an event whose (account, principal) has only a suppressed finding."""
    reported = {f.id for f in report.findings}
    only_suppressed = {
        f.id: f.suppressed_by or "exemption" for f in report.suppressed if f.id not in reported
    }
    ids = event_findings(report)
    out: dict[int, str] = {}
    for i, e in enumerate(report.events):
        label = e.suppressed_by
        if label is None:
            label = only_suppressed.get(ids[i])
        if label is not None:
            out[i] = label
    return out


def event_severity(report: Report) -> dict[tuple[str, str | None], str]:
    """(finding id, suppressed_by or None) -> severity of the finding the event is in."""
    sev: dict[tuple[str, str | None], str] = {(f.id, None): f.severity for f in report.findings}
    for f in report.suppressed:
        sev[(f.id, f.suppressed_by or "exemption")] = f.severity
    return sev
