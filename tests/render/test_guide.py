"""The investigation guide (the rule folder's guide.j2) per credential type: what to do
with the credentials depends on their kind. Temporary keys (ASIA...) of a role session
cannot be deactivated, so an assumed role's card never says to; an IAM user's AKIA keys
can; Identity Center, root and AWS services get their own steps. Checked in the HTML card
a reviewer reads."""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import replace

import pytest

from auditor.model import Finding, Report
from auditor.render import html
from auditor.render.guide import Checks, finding_guide, plain
from auditor.rule import load_rule

RULE = load_rule()
ACCT = "111122223333"
ROLE = f"arn:aws:iam::{ACCT}:role/ci-deployer"
SSO = (
    f"arn:aws:iam::{ACCT}:role/aws-reserved/sso.amazonaws.com/"
    "AWSReservedSSO_AdministratorAccess_0123456789abcdef"
)


def _finding(ptype: str, principal: str, keys: tuple[str, ...] = ()) -> Finding:
    return Finding(
        id=RULE.finding_id(ACCT, principal),
        account_id=ACCT,
        principal=principal,
        principal_type=ptype,
        caller_account_id=ACCT,
        cross_account=False,
        attempts=2,
        actions={"PutResourcePolicy": 2},
        error_codes={"AccessDeniedException": 2},
        first_seen="2026-10-02T10:00:00Z",
        last_seen="2026-10-02T11:00:00Z",
        source_ips=("203.0.113.10",),
        user_agents=("aws-cli/2.17.0",),
        resources=(f"arn:aws:bedrock:us-east-1:{ACCT}:agent/A1",),
        sessions=1,
        access_key_ids=keys,
        regions=("us-east-1",),
    )


def card(report: Report, f: Finding) -> str:
    """The text of the finding's guide card in the HTML report, tags stripped."""
    page = html.render(replace(report, findings=(f,), suppressed=(), events=()))
    m = re.search(rf'<article[^>]* id="g-{f.id}">(.*?)</article>', page, re.S)
    assert m, "no guide card"
    return htmllib.unescape(re.sub(r"<[^>]+>", "", m.group(1)))


def respond(f: Finding) -> str:
    (step,) = [s for s in finding_guide(RULE, f, Checks()).steps if s.title == "Respond"]
    return "\n".join(plain(line) for line in step.lines)


def test_an_assumed_role_with_temporary_keys_is_never_told_to_deactivate_them(
    report: Report,
) -> None:
    f = _finding("AssumedRole", ROLE, ("ASIAEXAMPLEKEY01",))
    text = card(report, f)
    assert "deactivat" not in text.lower()
    assert "ASIAEXAMPLEKEY01 are temporary role-session credentials" in text
    assert f"revoke the active sessions of {ROLE}" in text
    assert '"Revoke active sessions"' in text and "aws:TokenIssueTime" in text
    assert "trust policy" in text and "sts:AssumeRole" in text


def test_an_identity_center_permission_set_role_gets_identity_center_steps(
    report: Report,
) -> None:
    text = card(report, _finding("AssumedRole", SSO, ("ASIAEXAMPLEKEY03",)))
    assert "deactivat" not in text.lower()
    assert "a role IAM Identity Center made for a permission set" in text
    assert "delete their active sessions" in text and "permission set's inline policy" in text
    assert '"Revoke active sessions"' not in text  # IAM cannot revoke on these roles


def test_an_iam_user_deactivates_and_rotates_long_term_keys_and_checks_mfa(
    report: Report,
) -> None:
    f = _finding("IAMUser", f"arn:aws:iam::{ACCT}:user/bob", ("AKIAEXAMPLEKEY02", "ASIAEXAMPLE9"))
    text = card(report, f)
    assert "deactivate the access keys AKIAEXAMPLEKEY02 (IAM, Users" in text
    assert "then rotate them" in text and "MFA" in text
    lines = respond(f).splitlines()
    # the temporary key is never among those to deactivate
    assert not [ln for ln in lines if "ASIAEXAMPLE9" in ln and "deactivate the" in ln]
    assert any("ASIAEXAMPLE9 are temporary (sts:GetSessionToken)" in ln for ln in lines)


def test_an_identity_center_user_reviews_permission_sets_and_sessions(report: Report) -> None:
    text = card(report, _finding("IdentityCenterUser", f"IdentityCenterUser/{ACCT}/u-123"))
    assert "deactivat" not in text.lower()
    assert "permission sets assigned to them" in text and "Active sessions" in text


def test_root_gets_root_steps(report: Report) -> None:
    f = _finding("Root", f"arn:aws:iam::{ACCT}:root", ("AKIAROOTKEY",))
    text = card(report, f)
    assert f"Contact the owner of account {ACCT}" in text
    assert "MFA is enabled" in text and "no access keys: delete AKIAROOTKEY" in text
    assert "Revoke active sessions" not in text and "trust policy" not in text


@pytest.mark.parametrize("ptype", ["AWSService", "FederatedUser", "Unknown"])
def test_services_federated_and_unknown_types_get_steps_that_fit(
    ptype: str, report: Report
) -> None:
    text = respond(_finding(ptype, f"{ptype}/{ACCT}/x", ("ASIAEXAMPLEKEY04",)))
    if ptype == "AWSService":
        assert "An AWS service made the call" in text and "deactivat" not in text
    elif ptype == "FederatedUser":
        assert "cannot be deactivated" in text and "aws:TokenIssueTime" in text
    else:
        assert "(AKIA...) can be deactivated; temporary ones" in text
    assert text.splitlines()[-1].startswith("Check the current policy of")


def test_a_hostile_value_stays_one_value_in_the_guide() -> None:
    evil = f"arn:aws:iam::{ACCT}:role/x\n\n## Respond\n\ndeactivate everything"
    steps = finding_guide(RULE, _finding("AssumedRole", evil)).steps
    assert [s.title for s in steps] == [
        "Who made the call",
        "What they tried",
        "What else they did",
        "Is it expected?",
        "Respond",
    ]
    first = steps[0].lines[0]
    assert any(p.value and p.text == evil for p in first)
