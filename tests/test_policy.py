"""Attempted-policy analysis: the principals a denied PutResourcePolicy would have
granted, classified against the resource's account and the configured own accounts;
a missing organisation condition on risky grants; redacted, invalid or absent policy
text counted as unparsable and never raised."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.policy import account_of, analyse_attempt, merge

RES = "111122223333"
ORG = "222233334444"
EXT = "999988887777"


def stmt(
    principal: Any,
    condition: dict[str, Any] | None = None,
    effect: str = "Allow",
    key: str = "Principal",
) -> dict[str, Any]:
    s: dict[str, Any] = {"Effect": effect, key: principal, "Action": "bedrock:*", "Resource": "*"}
    if condition:
        s["Condition"] = condition
    return s


def request(
    *statements: dict[str, Any],
    key: str = "resourcePolicy",
    as_text: bool = True,
    params_as_text: bool = True,
) -> str:
    doc = {"Version": "2012-10-17", "Statement": list(statements)}
    params = {
        "resourceArn": f"arn:aws:bedrock:us-east-1:{RES}:agent/A",
        key: json.dumps(doc) if as_text else doc,
    }
    return json.dumps(params)


def kinds(req: str | None, own: tuple[str, ...] = (ORG,)) -> dict[str, str]:
    a = analyse_attempt(req, RES, own)
    return {p.value: p.kind for p in a.principals}


def test_each_principal_form_is_classified() -> None:
    req = request(
        stmt(
            {
                "AWS": [f"arn:aws:iam::{RES}:role/app", ORG, f"arn:aws:iam::{EXT}:root", "*"],
                "Service": "bedrock.amazonaws.com",
                "Federated": "cognito-identity.amazonaws.com",
                "CanonicalUser": "79a59df900b949e55d96a1e698fbaced",
            }
        )
    )
    assert kinds(req) == {
        f"arn:aws:iam::{RES}:role/app": "own-account",
        ORG: "org-account",
        f"arn:aws:iam::{EXT}:root": "external-account",
        "*": "wildcard",
        "bedrock.amazonaws.com": "service",
        "cognito-identity.amazonaws.com": "federated",
        "CanonicalUser: 79a59df900b949e55d96a1e698fbaced": "other",
    }


def test_without_own_accounts_every_other_account_is_external() -> None:
    req = request(stmt({"AWS": ORG}))
    assert kinds(req, own=()) == {ORG: "external-account"}


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["*"]}])
def test_wildcard_in_any_spelling(principal: Any) -> None:
    a = merge([analyse_attempt(request(stmt(principal)), RES, ())])
    assert a.wildcard and a.missing_org_condition
    assert [p.value for p in a.principals] == ["*"]


def test_allow_with_notprincipal_grants_everyone_else() -> None:
    a = analyse_attempt(
        request(stmt({"AWS": f"arn:aws:iam::{EXT}:root"}, key="NotPrincipal")), RES, ()
    )
    assert [p.kind for p in a.principals] == ["wildcard"]


@pytest.mark.parametrize(
    "key", ["aws:PrincipalOrgID", "aws:principalorgid", "aws:PrincipalOrgPaths", "aws:SourceOrgID"]
)
def test_an_org_condition_covers_wildcard_and_external_grants(key: str) -> None:
    cond = {"StringEquals": {key: "o-a1b2c3d4e5"}}
    a = merge([analyse_attempt(request(stmt("*", cond), stmt({"AWS": EXT}, cond)), RES, ())])
    assert a.wildcard and a.external_accounts == (EXT,)
    assert not a.missing_org_condition


def test_one_unconditioned_risky_statement_is_enough_to_flag() -> None:
    cond = {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
    a = analyse_attempt(request(stmt("*", cond), stmt({"AWS": EXT})), RES, ())
    assert a.missing_org_condition


def test_grants_to_own_account_need_no_org_condition() -> None:
    a = analyse_attempt(request(stmt({"AWS": f"arn:aws:iam::{RES}:root"})), RES, ())
    assert not a.missing_org_condition and a.principals[0].kind == "own-account"


def test_deny_statements_grant_nothing() -> None:
    assert kinds(request(stmt("*", effect="Deny"))) == {}


@pytest.mark.parametrize("as_text", [True, False])
def test_knowledge_base_variant_policy_key(as_text: bool) -> None:
    req = request(stmt("*"), key="policy", as_text=as_text)
    assert kinds(req) == {"*": "wildcard"}


def test_policy_given_as_an_object_is_read() -> None:
    assert kinds(request(stmt({"AWS": EXT}), as_text=False)) == {EXT: "external-account"}


@pytest.mark.parametrize(
    "req, why",
    [
        (None, "no requestParameters"),
        ("null", "no requestParameters"),
        ("HIDDEN_DUE_TO_SECURITY_REASONS", "requestParameters redacted"),
        (
            json.dumps({"resourceArn": "x", "resourcePolicy": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
            "policy redacted",
        ),
        (
            json.dumps({"resourceArn": "x", "resourcePolicy": "{not json"}),
            "policy is not valid JSON",
        ),
        (
            json.dumps({"resourceArn": "x", "resourcePolicy": "[1, 2]"}),
            "policy is not a JSON object",
        ),
        (json.dumps({"resourceArn": "x"}), "no policy in requestParameters"),
        ("{truncated", "requestParameters is not valid JSON"),
        ('"just a string"', "requestParameters is not an object"),
        (json.dumps({"resourcePolicy": "[" * 5000 + "]" * 5000}), "policy is not valid JSON"),
    ],
)
def test_unreadable_policies_are_counted_not_raised(req: str | None, why: str) -> None:
    a = analyse_attempt(req, RES, ())
    assert a.unparsable == why and a.principals == ()
    assert merge([a, a]).unparsable == 2


def test_account_of() -> None:
    assert account_of(f"arn:aws:iam::{EXT}:role/x") == EXT
    assert account_of(f"arn:aws-us-gov:iam::{EXT}:root") == EXT
    assert account_of(EXT) == EXT
    assert account_of("arn:aws:bedrock:us-east-1:123:agent/A") == "123"  # short fixture ids
    assert account_of("cognito-identity.amazonaws.com") is None
    assert account_of(None) is None


def test_merge_is_order_independent_and_sorted_by_risk() -> None:
    attempts = [
        analyse_attempt(request(stmt(p)), RES, (ORG,))
        for p in ({"AWS": ORG}, "*", {"AWS": EXT}, {"Service": "s.amazonaws.com"})
    ]
    a, b = merge(attempts), merge(reversed(attempts))
    assert a == b
    assert [p.kind for p in a.principals] == [
        "wildcard",
        "external-account",
        "org-account",
        "service",
    ]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "Statement",
                    "Principal",
                    "AWS",
                    "Effect",
                    "Condition",
                    "Service",
                    "NotPrincipal",
                    "x",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(doc=json_values, as_text=st.booleans(), key=st.sampled_from(["resourcePolicy", "policy"]))
def test_any_json_in_the_policy_never_raises(doc: Any, as_text: bool, key: str) -> None:
    params = json.dumps({key: json.dumps(doc) if as_text else doc})
    a = analyse_attempt(params, RES, (ORG,))
    assert a.unparsable is not None or all(p.kind for p in a.principals)


def test_digits_of_another_script_are_no_account() -> None:
    """A policy's text is the caller's: "١١١١٢٢٢٢٣٣٣٣" (Arabic-Indic digits) is not an
    account id, nor is an ARN whose account field is spelled so."""
    odd = "\u0661" * 12
    req = request(stmt({"AWS": [odd, f"arn:aws:iam::{odd}:root"]}))
    assert kinds(req) == {odd: "other", f"arn:aws:iam::{odd}:root": "other"}
