"""Rows -> Report. Pure: no I/O, the clock is passed in.

Events of the main query -> exemptions mark the attempts they match -> findings per
(account, principal) (suppressed ones apart) -> enrichment from the side queries
(auditor.enrich: attempted policy, later success, other denials, severity)."""

from __future__ import annotations

import dataclasses
import operator
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from auditor import __version__
from auditor.config import DELIVERY_MARGIN, AuditConfig
from auditor.engines.base import EngineResult
from auditor.enrich import Signals, enrich
from auditor.exemptions import Exemption
from auditor.exemptions import apply as apply_exemptions
from auditor.model import (
    UNKNOWN_ACCOUNT,
    Coverage,
    Event,
    Finding,
    Provenance,
    Report,
    Shortfall,
    Totals,
)
from auditor.rule import RuleFolder, load_rule
from auditor.sources.layout import NO_ACCOUNT_FOLDER, NO_REGION_FOLDER

_EVENT_FIELDS = (
    "event_id",
    "event_time",
    "account_id",
    "region",
    "action",
    "error_code",
    "error_message",
    "principal",
    "principal_type",
    "caller_account_id",
    "identity_arn",
    "session",
    "access_key_id",
    "source_ip",
    "user_agent",
    "resource",
    "request_parameters",
    "source_file",
)


def _s(v: Any) -> str | None:
    return None if v is None else str(v)


def event_from_row(row: dict[str, Any], rule: RuleFolder) -> Event:
    """One row of the rule's main query; it carries the id of the finding it is in."""
    vals = {k: _s(row.get(k)) for k in _EVENT_FIELDS}
    for k in (
        "event_id",
        "event_time",
        "region",
        "action",
        "error_code",
        "principal",
        "principal_type",
    ):
        vals[k] = vals[k] or ""
    vals["account_id"] = vals["account_id"] or UNKNOWN_ACCOUNT
    vals["finding_id"] = rule.finding_id(vals["account_id"] or "", vals["principal"] or "")
    return Event(**vals)  # type: ignore[arg-type]


def _sorted_counts(c: Counter[str]) -> dict[str, int]:
    return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))


def group_findings(events: Iterable[Event], rule: RuleFolder) -> list[Finding]:
    groups: dict[tuple[str, str], list[Event]] = defaultdict(list)
    for e in events:
        groups[(e.account_id, e.principal)].append(e)
    findings = []
    for (account, principal), evs in groups.items():
        callers = Counter(e.caller_account_id for e in evs if e.caller_account_id)
        caller = min(callers, key=lambda a: (-callers[a], a)) if callers else None
        types = Counter(e.principal_type for e in evs)
        findings.append(
            Finding(
                id=rule.finding_id(account, principal),
                account_id=account,
                principal=principal,
                principal_type=min(types, key=lambda t: (-types[t], t)),
                caller_account_id=caller,
                cross_account=account != UNKNOWN_ACCOUNT
                and any(e.caller_account_id and e.caller_account_id != account for e in evs),
                attempts=len(evs),
                actions=_sorted_counts(Counter(e.action for e in evs)),
                error_codes=_sorted_counts(Counter(e.error_code for e in evs)),
                first_seen=min(e.event_time for e in evs),
                last_seen=max(e.event_time for e in evs),
                source_ips=tuple(sorted({e.source_ip for e in evs if e.source_ip})),
                user_agents=tuple(sorted({e.user_agent for e in evs if e.user_agent})),
                resources=tuple(sorted({e.resource for e in evs if e.resource})),
                sessions=len({e.session or e.identity_arn or "" for e in evs}),
                access_key_ids=tuple(sorted({e.access_key_id for e in evs if e.access_key_id})),
                regions=tuple(sorted({e.region for e in evs if e.region})),
            )
        )
    findings.sort(key=lambda f: (-f.attempts, f.account_id, f.principal))
    return findings


def totals(findings: Iterable[Finding], suppressed: Iterable[Finding] = ()) -> Totals:
    fs = list(findings)
    return Totals(
        attempts=sum(f.attempts for f in fs),
        principals=len({f.principal for f in fs}),
        accounts=len({f.account_id for f in fs}),
        cross_account_attempts=sum(f.attempts for f in fs if f.cross_account),
        suppressed_attempts=sum(f.attempts for f in suppressed),
    )


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def config_summary(config: AuditConfig) -> dict[str, str]:
    """The settings worth printing in a report. Never credentials: there are none here."""
    out = {
        "engine": config.engine,
        "range": f"{config.range.first} .. {config.range.last}",
        "accounts": ",".join(config.accounts) or "all",
        "regions": ",".join(config.regions) or "all",
    }
    out.update(
        own_accounts=",".join(config.own_accounts) or "none",
        lookahead_days=str(config.lookahead_days),
        min_attempts=str(config.min_attempts),
        repeat_threshold=str(config.repeat_threshold),
        exemptions=str(config.exemptions) if config.exemptions else "none",
    )
    if config.engine == "local":
        out["source"] = config.source or ""
    else:
        a = config.athena
        out.update(
            database=a.database,
            table=a.table,
            workgroup=a.workgroup,
            partition_scheme=a.partition_scheme,
        )
    return out


_EVENT_VALUES = operator.attrgetter(*(f.name for f in dataclasses.fields(Event)))


def _event_key(e: Event) -> tuple[str, ...]:
    """A total order on events, so the input order never shows in a report. (Every field
    of an Event is a plain value: no need for astuple's deep copy.)"""
    return tuple("" if v is None else str(v) for v in _EVENT_VALUES(e))


def _group(
    events: list[Event], label: str | None, rule: RuleFolder
) -> list[tuple[Finding, list[Event]]]:
    by: dict[tuple[str, str], list[Event]] = defaultdict(list)
    for e in events:
        by[(e.account_id, e.principal)].append(e)
    return [
        (replace(f, suppressed_by=label), by[(f.account_id, f.principal)])
        for f in group_findings(events, rule)
    ]


def split_findings(
    events: list[Event], min_attempts: int, rule: RuleFolder
) -> tuple[list[tuple[Finding, list[Event]]], list[tuple[Finding, list[Event]]]]:
    """(reported, suppressed) findings with their events. Attempts an exemption matched
    form suppressed findings of their own, one per (account, principal, entry): a
    principal with some exempted attempts keeps a reported finding for the others. A
    reported finding with fewer than `min_attempts` attempts is suppressed whole."""
    active = [e for e in events if e.suppressed_by is None]
    reported: list[tuple[Finding, list[Event]]] = []
    suppressed: list[tuple[Finding, list[Event]]] = []
    label = f"below --min-attempts {min_attempts}"
    for f, evs in _group(active, None, rule):
        if f.attempts >= min_attempts:
            reported.append((f, evs))
        else:
            suppressed.append(
                (replace(f, suppressed_by=label), [replace(e, suppressed_by=label) for e in evs])
            )
    by_entry: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e.suppressed_by is not None:
            by_entry[e.suppressed_by].append(e)
    for entry, evs in by_entry.items():
        suppressed.extend(_group(evs, entry, rule))
    suppressed.sort(
        key=lambda p: (-p[0].attempts, p[0].account_id, p[0].principal, p[0].suppressed_by or "")
    )
    return reported, suppressed


# A range reaching past `now - DELIVERY_MARGIN` (auditor.config) is not a complete audit.


def _minute(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def report_shortfalls(
    config: AuditConfig, result: EngineResult, now: datetime
) -> tuple[Shortfall, ...]:
    """What the engine's coverage implies was not read, whatever the engine: nothing at
    all, an --account/--region with no folder, hours CloudTrail may not have delivered."""
    cov = result.coverage
    out: list[Shortfall] = []
    if config.engine == "local" and cov.files_scanned == 0:
        out.append(
            Shortfall(
                "nothing-read",
                "no log file was read: the source holds none for this range, accounts and regions",
            )
        )
    # (Athena's "scanned nothing" is decided by its engine, which knows the estimate.)
    for g in cov.gaps:
        if g.region == NO_REGION_FOLDER:
            out.append(
                Shortfall(
                    "missing-scope",
                    f"--account {g.account_id}: no folder of this account in the trail",
                )
            )
        elif g.account_id == NO_ACCOUNT_FOLDER:
            out.append(
                Shortfall(
                    "missing-scope", f"--region {g.region}: no folder of this region in the trail"
                )
            )
    start = datetime.fromisoformat(config.range.start_iso)
    end = datetime.fromisoformat(config.range.end_iso)
    settled = now.astimezone(UTC) - DELIVERY_MARGIN
    if settled < end:
        margin = int(DELIVERY_MARGIN.total_seconds() // 60)
        out.append(
            Shortfall(
                "not-delivered",
                (
                    f"events after {_minute(max(settled, start))} may not be delivered yet "
                    f"(CloudTrail delivers within ~15 min; this audit allows {margin} min; "
                    f"range ends {_minute(end)}, generated {_minute(now)})"
                ),
            )
        )
    return tuple(out)


def with_shortfalls(config: AuditConfig, result: EngineResult, now: datetime) -> Coverage:
    cov = result.coverage
    return replace(cov, shortfalls=cov.shortfalls + report_shortfalls(config, result, now))


def build_report(
    config: AuditConfig,
    result: EngineResult,
    now: datetime,
    exemptions: Sequence[Exemption] = (),
    rule: RuleFolder | None = None,
) -> Report:
    """`rule`: the plan's rule (run_audit passes it); None loads config.rule."""
    rule = rule or load_rule(config.rule)
    today = now.astimezone(UTC).date()
    events = sorted(
        (event_from_row(r, rule) for r in result.rows.get(rule.main_query, [])), key=_event_key
    )
    events, statuses = apply_exemptions(events, exemptions, today)
    reported, suppressed = split_findings(events, config.min_attempts, rule)

    def side(name: str | None) -> list[dict[str, Any]]:
        return result.rows.get(name, []) if name else []

    signals = Signals.from_rows(
        side(rule.later_success_query),
        side(rule.other_denials_query),
        {f.principal for f, _ in reported + suppressed},
    )

    def enriched(pairs: list[tuple[Finding, list[Event]]]) -> tuple[Finding, ...]:
        return tuple(
            enrich(f, evs, signals, config.own_accounts, config.repeat_threshold)
            for f, evs in pairs
        )

    findings, hidden = enriched(reported), enriched(suppressed)
    all_events = [e for _, evs in reported + suppressed for e in evs]
    return Report(
        rule=rule.meta,
        range_start=config.range.start_iso,
        range_end=config.range.end_iso,
        engine=config.engine,
        totals=totals(findings, hidden),
        findings=findings,
        events=tuple(sorted(all_events, key=_event_key)),
        coverage=with_shortfalls(config, result, now),
        provenance=Provenance(
            tool_version=__version__,
            generated_at=_iso(now),
            queries=tuple(result.queries),
            command=config.command,
            config=config_summary(config),
            input_fingerprint=result.input_fingerprint,
            estimated_scan_bytes=result.estimated_scan_bytes,
            s3_calls=result.s3_calls,
        ),
        suppressed=hidden,
        exemptions=statuses,
    )
