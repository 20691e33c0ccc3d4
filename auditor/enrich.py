"""What the rule's triage guide asks an analyst to do by hand, done for each finding:

* the attempted policy: whom each denied PutResourcePolicy would have granted access
  (auditor.policy); DeleteResourcePolicy carries no policy and is not counted;
* "later succeeded": the first successful Bedrock Put/DeleteResourcePolicy by the same
  principal strictly after the finding's first denial, from the `later_success` query
  (range start .. range end + --lookahead-days);
* other denials by the same principal in the range, per service, action and error code,
  from the `other_denials` query, summed over the accounts the calls were made in
  (the rule names its side queries in rule.toml [signals]);
* the severity and its reasons (auditor.severity).

Pure: rows in, findings out. Principals join on the key every query computes with the
same macro (sql/macros/common.sql principal_key).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from auditor import policy, severity
from auditor.model import UNKNOWN_ACCOUNT, DenialCount, Event, Finding, PolicyAnalysis


@dataclass(frozen=True)
class Signals:
    """The side queries' rows, indexed by principal."""

    successes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # sorted times
    denials: dict[str, tuple[DenialCount, ...]] = field(default_factory=dict)

    @classmethod
    def from_rows(
        cls,
        later_success: Iterable[dict[str, Any]],
        other_denials: Iterable[dict[str, Any]],
        principals: Collection[str] | None = None,
    ) -> Signals:
        """`principals`: index only these (the findings'; None: every one). In an error
        storm other_denials holds a row per principal, service and action of the trail."""
        times: dict[str, set[str]] = defaultdict(set)
        for r in later_success:
            if r.get("principal") and r.get("event_time"):
                times[str(r["principal"])].add(str(r["event_time"]))
        counts: dict[str, dict[tuple[str, str, str], int]] = defaultdict(lambda: defaultdict(int))
        for r in other_denials:
            if not r.get("principal") or (
                principals is not None and str(r["principal"]) not in principals
            ):
                continue
            key = (
                str(r.get("service") or ""),
                str(r.get("action") or ""),
                str(r.get("error_code") or ""),
            )
            counts[str(r["principal"])][key] += int(r.get("denials") or 0)
        return cls(
            successes={p: tuple(sorted(ts)) for p, ts in times.items()},
            denials={
                p: tuple(
                    sorted(
                        (DenialCount(s, a, c, n) for (s, a, c), n in by.items()),
                        key=lambda d: (-d.count, d.service, d.action, d.error_code),
                    )
                )
                for p, by in counts.items()
            },
        )


def resource_account(e: Event) -> str | None:
    """The account owning the target: from the resource ARN, else the call's account."""
    known = e.account_id if e.account_id != UNKNOWN_ACCOUNT else None
    return policy.account_of(e.resource) or known or None


def policy_analysis(events: Iterable[Event], own_accounts: Iterable[str]) -> PolicyAnalysis:
    own = tuple(own_accounts)
    return policy.merge(
        policy.analyse_attempt(e.request_parameters, resource_account(e), own)
        for e in events
        if e.action == "PutResourcePolicy"
    )


def _instant(t: str) -> tuple[int, datetime | str]:
    """A sort key for an eventTime: "…00:00:00.5Z" is after "…00:00:00Z", which plain
    string order gets wrong."""
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        return (1, t)
    return (0, dt if dt.tzinfo else dt.replace(tzinfo=UTC))


def later_success(f: Finding, signals: Signals) -> str | None:
    first = _instant(f.first_seen)
    later = [t for t in signals.successes.get(f.principal, ()) if _instant(t) > first]
    return min(later, key=_instant) if later else None


def enrich(
    f: Finding,
    events: Sequence[Event],
    signals: Signals,
    own_accounts: Sequence[str] = (),
    repeat_threshold: int = 5,
) -> Finding:
    """The finding with policy, later_success, other_denials, severity and reasons set.
    `events` are the finding's own attempts."""
    f = replace(
        f,
        policy=policy_analysis(events, own_accounts),
        later_success=later_success(f, signals),
        other_denials=signals.denials.get(f.principal, ()),
    )
    level, reasons = severity.assess(f, repeat_threshold, own_accounts)
    return replace(f, severity=level, reasons=reasons)
