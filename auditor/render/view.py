"""Derived figures the HTML and Markdown reports share (pure: a Report in, a View out).

Templates only lay out what is computed here: counts, orderings, chart geometry, the
investigation guide with each finding's values, and the scrubbed command and config.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from auditor.model import (
    Event,
    ExemptionStatus,
    Finding,
    PolicyPrincipal,
    QueryRecord,
    Report,
)
from auditor.render import charts, guide, json_report
from auditor.render.events import (
    denial_reason,
    event_findings,
    event_severity,
    event_suppression,
)
from auditor.render.scrub import scrub, scrub_config
from auditor.rule import for_report
from auditor.severity import LEVELS, rank

EVENT_ROWS = 200  # the HTML event table stops here; report.csv/report.json hold every row
GUIDE_CARDS = 25  # per-finding investigation cards; the rest share the same steps
TOP_PRINCIPALS = 10
# Long HTML tables show this many rows; the rest sit in a <details> "show all" (no JS).
FIRST_ROWS = 50  # findings
FIRST_ACCOUNTS = 25
FIRST_GROUPS = 15  # external or * principals in attempted policies, grouped by value
ATTEMPTED_BY = 3  # principals named per group before "and N more"
SEVERITY_ORDER = tuple(reversed(LEVELS))  # high, medium, low


@dataclass(frozen=True)
class FindingRow:
    f: Finding
    put: int
    delete: int
    type_word: str
    why: tuple[str, ...]  # the severity's reasons, or the rule's default
    flags: tuple[str, ...]  # short tags: cross-account, later success, "*" in policy...


@dataclass(frozen=True)
class AccountRow:
    account_id: str
    attempts: int
    principals: int
    cross_account_attempts: int
    put: int
    delete: int
    first_seen: str
    last_seen: str
    regions: tuple[str, ...]
    severity: str  # the highest among its findings


@dataclass(frozen=True)
class EventRow:
    e: Event
    finding_id: str
    severity: str
    suppressed_by: str | None
    denial: str | None  # why AWS refused: the "because ..." of errorMessage, or all of it


@dataclass(frozen=True)
class PolicyFlag:
    """An external or `*` principal named in an attempted policy, and who attempted it."""

    value: str
    kind: str
    finding_id: str
    principal: str
    account_id: str


@dataclass(frozen=True)
class PolicyGroup:
    """One external or `*` principal named in attempted policies, over every finding."""

    value: str
    kind: str
    findings: int
    accounts: int  # target accounts
    attempts: int  # attempts of the findings that named it
    flags: tuple[PolicyFlag, ...]  # who attempted it, most attempts first


@dataclass(frozen=True)
class PrincipalRow:
    """One principal over every account it was denied in."""

    principal: str
    severity: str  # the highest of its findings
    accounts: int
    attempts: int
    cross_account_attempts: int


@dataclass(frozen=True)
class AccountSeverity:
    account_id: str
    counts: tuple[int, ...]  # findings per level, in SEVERITY_ORDER
    attempts: int


@dataclass(frozen=True)
class QueryRow:
    q: QueryRecord
    parameters: tuple[tuple[int, str], ...]  # (position, value), 1-based


@dataclass(frozen=True)
class View:
    json_sha256: str
    first_day: str  # inclusive
    last_day: str  # inclusive
    days: int
    severity_counts: dict[str, int]  # high, medium, low (active findings)
    top_severity: str | None
    findings: tuple[FindingRow, ...]
    suppressed: tuple[FindingRow, ...]
    accounts: tuple[AccountRow, ...]
    policy_flags: tuple[PolicyFlag, ...]
    policy_groups: tuple[PolicyGroup, ...]  # policy_flags grouped by value, most findings first
    top_principals: tuple[PrincipalRow, ...]  # across accounts, most attempts first
    principals_left_out: int
    account_severity: tuple[AccountSeverity, ...]  # worst first
    missing_org_findings: int
    events: tuple[EventRow, ...]  # newest first, at most EVENT_ROWS
    events_total: int
    events_left_out: int
    actions: dict[str, int]
    error_codes: dict[str, int]
    chart_daily: charts.StackedChart
    chart_principals: charts.HBarChart
    chart_daily_narrow: charts.StackedChart  # the same charts laid out for a phone
    chart_principals_narrow: charts.HBarChart
    chart_actions: charts.HBarChart
    chart_codes: charts.HBarChart
    general_guide: tuple[tuple[str, str], ...]
    guides: tuple[guide.FindingGuide, ...]
    guides_left_out: int
    command: str | None
    config: tuple[tuple[str, str], ...]
    queries: tuple[QueryRow, ...]
    total_cost_usd: float
    total_scanned_bytes: int
    estimated_scan_bytes: int | None
    incomplete_reasons: tuple[str, ...]
    exemptions: tuple[ExemptionStatus, ...]  # every entry of --exemptions, in file order
    expired_exemptions: int  # entries whose last day is before the report's date (stale)
    exemption_windows: dict[str, str]  # entry id -> "2025-01-01 .. 2025-12-31", "until ..."
    outside_window_attempts: int  # reported attempts an entry matched outside its window


# ---------------------------------------------------------------- findings and accounts


def _why(f: Finding) -> tuple[str, ...]:
    return f.reasons or (f"rule default ({f.severity})",)


def _flags(f: Finding) -> tuple[str, ...]:
    out = []
    if f.later_success:
        out.append("later success")
    if f.policy.wildcard:
        out.append("* in policy")
    if f.policy.external_accounts:
        out.append("external account in policy")
    if f.policy.missing_org_condition:
        out.append("no org condition")
    if f.cross_account:
        out.append("cross-account")
    if f.other_denials:
        out.append("other denials")
    return tuple(out)


def finding_row(f: Finding) -> FindingRow:
    return FindingRow(
        f=f,
        put=f.actions.get("PutResourcePolicy", 0),
        delete=f.actions.get("DeleteResourcePolicy", 0),
        type_word=guide.TYPE_WORDS.get(f.principal_type, f.principal_type or "unknown"),
        why=_why(f),
        flags=_flags(f),
    )


def _by_severity(findings: tuple[Finding, ...]) -> list[Finding]:
    return sorted(
        findings, key=lambda f: (-rank(f.severity), -f.attempts, f.account_id, f.principal)
    )


def _accounts(findings: tuple[Finding, ...]) -> tuple[AccountRow, ...]:
    by: dict[str, list[Finding]] = {}
    for f in findings:
        by.setdefault(f.account_id, []).append(f)
    rows = [
        AccountRow(
            account_id=a,
            attempts=sum(f.attempts for f in fs),
            principals=len({f.principal for f in fs}),
            cross_account_attempts=sum(f.attempts for f in fs if f.cross_account),
            put=sum(f.actions.get("PutResourcePolicy", 0) for f in fs),
            delete=sum(f.actions.get("DeleteResourcePolicy", 0) for f in fs),
            first_seen=min(f.first_seen for f in fs),
            last_seen=max(f.last_seen for f in fs),
            regions=tuple(sorted({r for f in fs for r in f.regions})),
            severity=max((f.severity for f in fs), key=rank),
        )
        for a, fs in by.items()
    ]
    return tuple(sorted(rows, key=lambda r: (-r.attempts, r.account_id)))


def _policy_flags(findings: tuple[Finding, ...]) -> tuple[PolicyFlag, ...]:
    seen: dict[tuple[str, str], PolicyFlag] = {}
    for f in findings:
        pps: list[PolicyPrincipal] = [
            p for p in f.policy.principals if p.kind in ("wildcard", "external-account")
        ]
        known = {p.value for p in pps}
        if f.policy.wildcard and "*" not in known:
            pps.append(PolicyPrincipal("*", "wildcard"))
        for acct in f.policy.external_accounts:
            if acct not in known and not any(p.account_id == acct for p in pps):
                pps.append(PolicyPrincipal(acct, "external-account", acct))
        for p in pps:
            seen.setdefault(
                (p.value, f.id), PolicyFlag(p.value, p.kind, f.id, f.principal, f.account_id)
            )
    return tuple(sorted(seen.values(), key=lambda p: (p.kind != "wildcard", p.value, p.finding_id)))


def _policy_groups(
    flags: tuple[PolicyFlag, ...], findings: tuple[Finding, ...]
) -> tuple[PolicyGroup, ...]:
    attempts = {f.id: f.attempts for f in findings}
    by: dict[str, list[PolicyFlag]] = {}
    for p in flags:
        by.setdefault(p.value, []).append(p)
    groups = [
        PolicyGroup(
            value=value,
            kind=ps[0].kind,
            findings=len(ps),
            accounts=len({p.account_id for p in ps}),
            attempts=sum(attempts.get(p.finding_id, 0) for p in ps),
            flags=tuple(sorted(ps, key=lambda p: (-attempts.get(p.finding_id, 0), p.principal))),
        )
        for value, ps in by.items()
    ]
    return tuple(
        sorted(groups, key=lambda g: (g.kind != "wildcard", -g.findings, -g.attempts, g.value))
    )


def _principal_rows(findings: tuple[Finding, ...]) -> list[PrincipalRow]:
    by: dict[str, list[Finding]] = {}
    for f in findings:
        by.setdefault(f.principal, []).append(f)
    rows = [
        PrincipalRow(
            principal=p,
            severity=max((f.severity for f in fs), key=rank),
            accounts=len({f.account_id for f in fs}),
            attempts=sum(f.attempts for f in fs),
            cross_account_attempts=sum(f.attempts for f in fs if f.cross_account),
        )
        for p, fs in by.items()
    ]
    return sorted(rows, key=lambda r: (-rank(r.severity), -r.attempts, r.principal))


def _account_severity(findings: tuple[Finding, ...]) -> tuple[AccountSeverity, ...]:
    by: dict[str, Counter[str]] = {}
    attempts: Counter[str] = Counter()
    for f in findings:
        by.setdefault(f.account_id, Counter())[f.severity] += 1
        attempts[f.account_id] += f.attempts
    rows = [
        AccountSeverity(a, tuple(c.get(s, 0) for s in SEVERITY_ORDER), attempts[a])
        for a, c in by.items()
    ]
    return tuple(
        sorted(rows, key=lambda r: (tuple(-n for n in r.counts), -r.attempts, r.account_id))
    )


# ---------------------------------------------------------------- events and charts


def _event_rows(report: Report) -> list[EventRow]:
    supp = event_suppression(report)
    sev = event_severity(report)
    ids = event_findings(report)
    order = sorted(
        range(len(report.events)),
        key=lambda i: (report.events[i].event_time, report.events[i].event_id),
        reverse=True,
    )
    rows = []
    for i in order:
        e = report.events[i]
        fid = ids[i]
        label = supp.get(i)
        rows.append(
            EventRow(e, fid, sev.get((fid, label), ""), label, denial_reason(e.error_message))
        )
    return rows


def _checks(report: Report) -> guide.Checks:
    """Per query the report ran (or failed to): "ok" or "failed"."""
    failed = {q.name for q in report.provenance.queries if q.state != "SUCCEEDED"}
    failed |= {f.query for f in report.coverage.failed_queries}
    ran = {q.name for q in report.provenance.queries}
    return guide.Checks(
        states={name: "failed" if name in failed else "ok" for name in sorted(ran | failed)},
        lookahead_days=report.provenance.config.get("lookahead_days"),
    )


def _day(iso: str) -> date | None:
    try:
        return date.fromisoformat(iso[:10])
    except ValueError:
        return None


def _range_days(report: Report) -> tuple[date, date]:
    first = _day(report.range_start) or date(1970, 1, 1)
    end = _day(report.range_end) or first
    last = end - timedelta(days=1) if report.range_end[10:] in ("", "T00:00:00Z") else end
    return first, max(first, last)


NARROW = 420  # the phone layout's chart width: 12 px text stays ~11 px at 400 px wide


def _charts(
    report: Report, active_events: list[EventRow], first: date, last: date
) -> tuple[
    charts.StackedChart,
    charts.HBarChart,
    charts.HBarChart,
    charts.HBarChart,
    charts.StackedChart,
    charts.HBarChart,
]:
    counts: Counter[tuple[str, str]] = Counter()
    for r in active_events:
        d = _day(r.e.event_time)
        if d is not None and first <= d <= last:
            counts[(d.isoformat(), r.e.account_id)] += 1
    per_account = Counter({a.account_id: a.attempts for a in _accounts(report.findings)})
    order = sorted(per_account, key=lambda a: (-per_account[a], a))
    daily = charts.daily_stacked(dict(counts), order, first, last)
    top = sorted(report.findings, key=lambda f: (-f.attempts, -rank(f.severity), f.principal))
    principals: Counter[str] = Counter()
    worst: dict[str, str] = {}
    for f in top:
        principals[f.principal] += f.attempts
        if rank(f.severity) >= rank(worst.get(f.principal, "low")):
            worst[f.principal] = f.severity
    prow = [
        (p, n, f"sev-{worst[p]}")
        for p, n in sorted(principals.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    actions, codes = _tallies(report.findings)
    return (
        daily,
        charts.hbars(prow, what="Attempts by principal", limit=TOP_PRINCIPALS),
        charts.hbars(
            [(k, n, "s0") for k, n in actions.items()],
            what="Attempts by action",
            width=470,
            label_w=200,
            label_chars=26,
        ),
        charts.hbars(
            [(k, n, "s2") for k, n in codes.items()],
            what="Attempts by error code",
            width=470,
            label_w=200,
            label_chars=26,
        ),
        charts.daily_stacked(dict(counts), order, first, last, width=NARROW, height=220),
        charts.hbars(
            prow,
            what="Attempts by principal",
            limit=TOP_PRINCIPALS,
            width=NARROW,
            label_w=190,
            label_chars=24,
        ),
    )


def _tallies(findings: tuple[Finding, ...]) -> tuple[dict[str, int], dict[str, int]]:
    actions: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    for f in findings:
        actions.update(f.actions)
        codes.update(f.error_codes)

    def order(c: Counter[str]) -> dict[str, int]:
        return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))

    return order(actions), order(codes)


def incomplete_reasons(report: Report) -> tuple[str, ...]:
    c = report.coverage
    out = []
    if c.files_unreadable:
        out.append(f"{c.files_unreadable:,} log file(s) could not be read")
    bad_records = len(c.unreadable) - c.files_unreadable
    if bad_records > 0:
        out.append(f"{bad_records:,} record(s) could not be used")
    if c.failed_queries:
        out.append(f"{len(c.failed_queries):,} query/chunk(s) failed")
    out.extend(s.detail for s in c.shortfalls)
    return tuple(out)


def window(x: ExemptionStatus) -> str:
    """An entry's window as the reports write it: both days inclusive, UTC."""
    return f"{x.starts} .. {x.expires}" if x.starts else f"until {x.expires}"


_LAST: list[tuple[Report, View]] = []  # the last report and its view


def view(report: Report) -> View:
    """The View of a report. Rendering every format of one report asks for it once per
    file (report.md, findings.md, report.html, report.jira.txt): the last one is kept,
    matched by identity (a Report is frozen)."""
    if _LAST and _LAST[0][0] is report:
        return _LAST[0][1]
    v = _view(report)
    _LAST[:] = [(report, v)]
    return v


def _view(report: Report) -> View:
    first, last = _range_days(report)
    active_ids = {f.id for f in report.findings}
    all_events = _event_rows(report)
    active_events = [
        r for r in all_events if r.suppressed_by is None and r.finding_id in active_ids
    ]
    daily, principals, actions_chart, codes_chart, daily_n, principals_n = _charts(
        report, active_events, first, last
    )
    ordered = _by_severity(report.findings)
    counts = Counter(f.severity for f in report.findings)
    actions, codes = _tallies(report.findings)
    prov = report.provenance
    checks = _checks(report)
    flags = _policy_flags(report.findings)
    principal_rows = _principal_rows(report.findings)
    rule = for_report(report.rule)  # None: a rule not installed here; no guide then
    return View(
        json_sha256=hashlib.sha256(json_report.render(report).encode("utf-8")).hexdigest(),
        first_day=first.isoformat(),
        last_day=last.isoformat(),
        days=(last - first).days + 1,
        severity_counts={s: counts.get(s, 0) for s in SEVERITY_ORDER},
        top_severity=ordered[0].severity if ordered else None,
        findings=tuple(finding_row(f) for f in ordered),
        suppressed=tuple(finding_row(f) for f in _by_severity(report.suppressed)),
        accounts=_accounts(report.findings),
        policy_flags=flags,
        policy_groups=_policy_groups(flags, report.findings),
        top_principals=tuple(principal_rows[:TOP_PRINCIPALS]),
        principals_left_out=max(0, len(principal_rows) - TOP_PRINCIPALS),
        account_severity=_account_severity(report.findings),
        missing_org_findings=sum(1 for f in report.findings if f.policy.missing_org_condition),
        events=tuple(all_events[:EVENT_ROWS]),
        events_total=len(all_events),
        events_left_out=max(0, len(all_events) - EVENT_ROWS),
        actions=actions,
        error_codes=codes,
        chart_daily=daily,
        chart_principals=principals,
        chart_daily_narrow=daily_n,
        chart_principals_narrow=principals_n,
        chart_actions=actions_chart,
        chart_codes=codes_chart,
        general_guide=guide.general(rule) if rule else (),
        guides=tuple(guide.finding_guide(rule, f, checks, _flags(f)) for f in ordered[:GUIDE_CARDS])
        if rule
        else (),
        guides_left_out=max(0, len(ordered) - GUIDE_CARDS) if rule else 0,
        command=scrub(prov.command) if prov.command else None,
        config=scrub_config(prov.config),
        queries=tuple(QueryRow(q, tuple(enumerate(q.parameters, start=1))) for q in prov.queries),
        total_cost_usd=prov.total_cost_usd,
        total_scanned_bytes=prov.total_scanned_bytes,
        estimated_scan_bytes=prov.estimated_scan_bytes,
        incomplete_reasons=incomplete_reasons(report),
        exemptions=report.exemptions,
        expired_exemptions=sum(1 for x in report.exemptions if x.expired),
        exemption_windows={x.id: window(x) for x in report.exemptions},
        outside_window_attempts=sum(
            1 for e in report.events if e.outside_window_of and e.suppressed_by is None
        ),
    )
