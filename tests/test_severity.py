"""A finding's severity and the reasons a reader sees for it: low by default, medium for
a cross-account caller or repeated denials at the threshold, high for '*' or an
external account in an attempted policy or a later success."""

from __future__ import annotations

from dataclasses import replace

import pytest

from auditor.model import DenialCount, Finding, PolicyAnalysis, PolicyPrincipal
from auditor.severity import DEFAULT_REASON, assess, at_or_above

BASE = Finding(
    id="BRP-x",
    account_id="111122223333",
    principal="arn:aws:iam::111122223333:role/ci",
    principal_type="AssumedRole",
    caller_account_id="111122223333",
    cross_account=False,
    attempts=1,
    actions={"PutResourcePolicy": 1},
    error_codes={"AccessDenied": 1},
    first_seen="2026-10-01T00:00:00Z",
    last_seen="2026-10-01T00:00:00Z",
    source_ips=(),
    user_agents=(),
    resources=(),
    sessions=1,
)


def test_default_is_the_rules_low_with_a_reason() -> None:
    assert assess(BASE, 5) == ("low", (DEFAULT_REASON,))


def test_cross_account_caller_is_medium() -> None:
    f = replace(BASE, caller_account_id="444455556666", cross_account=True)
    assert assess(f, 5) == ("medium", ("cross-account caller 444455556666",))
    level, reasons = assess(f, 5, own_accounts=("444455556666",))
    assert level == "medium" and reasons == (
        "cross-account caller 444455556666 (listed as an own account)",
    )


@pytest.mark.parametrize(
    "attempts, other, level", [(4, 0, "low"), (5, 0, "medium"), (1, 3, "low"), (2, 3, "medium")]
)
def test_repeated_denials_count_attempts_and_other_denials(
    attempts: int, other: int, level: str
) -> None:
    denials = (DenialCount("iam.amazonaws.com", "ListRoles", "AccessDenied", other),)
    denials = denials if other else ()
    f = replace(BASE, attempts=attempts, other_denials=denials)
    got, reasons = assess(f, 5)
    assert got == level
    if level == "medium":
        assert reasons[0].startswith(f"{attempts + other} denials >= threshold 5")


def test_wildcard_external_and_later_success_are_high_with_every_reason() -> None:
    f = replace(
        BASE,
        caller_account_id="444455556666",
        cross_account=True,
        policy=PolicyAnalysis(
            principals=(PolicyPrincipal("*", "wildcard"),),
            wildcard=True,
            external_accounts=("999988887777",),
            missing_org_condition=True,
            unparsable=1,
        ),
        later_success="2026-10-26T00:00:00Z",
    )
    level, reasons = assess(f, 5)
    assert level == "high"
    assert reasons == (
        "attempted policy grants '*'",
        "attempted policy grants external account 999988887777",
        "a grant to '*' or an external account has no aws:PrincipalOrgID condition",
        "later succeeded at 2026-10-26T00:00:00Z",
        "cross-account caller 444455556666",
        "attempted policy unreadable in 1 attempt (redacted, invalid or absent)",
    )


def test_many_external_accounts_are_summarised() -> None:
    accts = tuple(f"{i:012d}" for i in range(8))
    f = replace(BASE, policy=PolicyAnalysis(external_accounts=accts))
    _, reasons = assess(f, 5)
    assert reasons[0].endswith("and 3 more") and "000000000004" in reasons[0]


def test_at_or_above() -> None:
    assert at_or_above("high", "medium") and at_or_above("low", "low")
    assert not at_or_above("low", "medium")
