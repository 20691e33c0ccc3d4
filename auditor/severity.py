"""Severity levels, their order, and a finding's severity with the reasons for it.

    low     the rule's own severity: a denied attempt to change a Bedrock resource policy
    medium  a cross-account caller, or repeated denials: the finding's attempts plus
            the principal's other denials in the range reach --repeat-threshold
    high    an attempted policy granting '*' or an external account, or the same
            principal later succeeded in changing a Bedrock resource policy

Every signal that applies is a reason, most severe first, so a reader sees why.
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.model import Finding

LEVELS = ("low", "medium", "high")
DEFAULT_REASON = "no escalating signal: the rule's default severity"
MAX_LISTED = 5  # accounts named in one reason


def rank(level: str) -> int:
    return LEVELS.index(level)


def at_or_above(level: str, threshold: str) -> bool:
    return rank(level) >= rank(threshold)


def _listed(values: tuple[str, ...]) -> str:
    shown = ", ".join(values[:MAX_LISTED])
    more = len(values) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def assess(
    f: Finding, repeat_threshold: int, own_accounts: Iterable[str] = ()
) -> tuple[str, tuple[str, ...]]:
    """(severity, reasons) of a finding whose policy, later_success and other_denials
    are already filled in."""
    high: list[str] = []
    medium: list[str] = []
    notes: list[str] = []
    p = f.policy
    if p.wildcard:
        high.append("attempted policy grants '*'")
    if p.external_accounts:
        n = len(p.external_accounts)
        high.append(
            f"attempted policy grants external account{'s' if n > 1 else ''} "
            f"{_listed(p.external_accounts)}"
        )
    if (p.wildcard or p.external_accounts) and p.missing_org_condition:
        high.append("a grant to '*' or an external account has no aws:PrincipalOrgID condition")
    if f.later_success:
        high.append(f"later succeeded at {f.later_success}")
    if f.cross_account:
        caller = f.caller_account_id
        if caller and caller != f.account_id:
            own = " (listed as an own account)" if caller in set(own_accounts) else ""
            medium.append(f"cross-account caller {caller}{own}")
        else:
            medium.append("cross-account caller")
    other = sum(d.count for d in f.other_denials)
    total = f.attempts + other
    if total >= repeat_threshold:
        detail = f" ({f.attempts} policy change{'s' if f.attempts != 1 else ''} + {other} other)"
        medium.append(
            f"{total} denials >= threshold {repeat_threshold}" + (detail if other else "")
        )
    if p.unparsable:
        notes.append(
            f"attempted policy unreadable in {p.unparsable} attempt"
            f"{'s' if p.unparsable != 1 else ''} (redacted, invalid or absent)"
        )
    level = "high" if high else "medium" if medium else "low"
    reasons = high + medium + notes
    if level == "low":
        reasons.insert(0, DEFAULT_REASON)
    return level, tuple(reasons)
