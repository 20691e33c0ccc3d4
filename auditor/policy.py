"""Read the resource policy a denied PutResourcePolicy tried to set, and say whom it
would have granted access to.

Bedrock's control-plane request is `{resourceArn, resourcePolicy}`; the knowledge-base
variant is `{policy, expectedRevisionId}`. Either policy value may be JSON text (as the
API sends it) or an already-parsed object. The text is chosen by the caller: it may be
redacted (`HIDDEN_DUE_TO_SECURITY_REASONS`), invalid, huge or hostile. Nothing here
raises on bad input; an attempt whose policy cannot be read counts as unparsable.

Principals of `Allow` statements are classified against the resource's account:
    wildcard          "*", {"AWS": "*"}, or an Allow with NotPrincipal (everyone else)
    own-account       the account that owns the resource
    org-account       an account listed in `own_accounts` (your organisation)
    external-account  any other account
    service           {"Service": ...}
    federated         {"Federated": ...}
    other             CanonicalUser and anything unrecognised
A grant to a wildcard or external principal without an organisation condition
(aws:PrincipalOrgID, aws:PrincipalOrgPaths, aws:SourceOrgID, aws:SourceOrgPaths) is
flagged `missing_org_condition`. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from auditor.model import PolicyAnalysis, PolicyPrincipal

REDACTED = "HIDDEN_DUE_TO_SECURITY_REASONS"
POLICY_KEYS = ("resourcePolicy", "policy")
ORG_CONDITION_KEYS = frozenset(
    {"aws:principalorgid", "aws:principalorgpaths", "aws:sourceorgid", "aws:sourceorgpaths"}
)
# Principals listed per finding, at most: a policy can name thousands.
MAX_PRINCIPALS = 200

# ASCII digits only: another script's digits are no account id. An ARN's account is not
# always 12 digits in fixtures.
_ACCOUNT_ID = re.compile(r"^\d{12}$", re.ASCII)
_ARN_ACCOUNT = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:(\d+):", re.ASCII)
_KIND_ORDER = (
    "wildcard",
    "external-account",
    "org-account",
    "own-account",
    "federated",
    "service",
    "other",
)


@dataclass(frozen=True)
class AttemptPolicy:
    """One attempt's policy: its principals, or why it could not be read."""

    principals: tuple[PolicyPrincipal, ...] = ()
    missing_org_condition: bool = False
    unparsable: str | None = None  # reason, when the policy could not be read


def account_of(value: str | None) -> str | None:
    """The account of an ARN, or a bare 12-digit account id, else None."""
    if not value:
        return None
    if _ACCOUNT_ID.match(value):
        return value
    m = _ARN_ACCOUNT.match(value)
    return m.group(1) if m else None


def _load(value: Any) -> Any:
    if isinstance(value, (bytes, str)):
        return orjson.loads(value)
    return value


def policy_document(request_parameters: str | None) -> tuple[Any, str | None]:
    """(policy document, None) or (None, reason it cannot be read)."""
    if request_parameters is None or request_parameters.strip() in ("", "null"):
        return None, "no requestParameters"
    if REDACTED in request_parameters and not request_parameters.lstrip().startswith("{"):
        return None, "requestParameters redacted"
    try:
        params = _load(request_parameters)
    except (orjson.JSONDecodeError, TypeError):
        return None, "requestParameters is not valid JSON"
    if not isinstance(params, dict):
        return None, "requestParameters is not an object"
    raw = next((params[k] for k in POLICY_KEYS if params.get(k) is not None), None)
    if raw is None:
        return None, "no policy in requestParameters"
    if isinstance(raw, str) and raw.strip() == REDACTED:
        return None, "policy redacted"
    try:
        doc = _load(raw)
    except (orjson.JSONDecodeError, TypeError):
        return None, "policy is not valid JSON"
    if not isinstance(doc, dict):
        return None, "policy is not a JSON object"
    return doc, None


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return list(v) if isinstance(v, list) else [v]


def _has_org_condition(stmt: dict[str, Any]) -> bool:
    cond = stmt.get("Condition")
    if not isinstance(cond, dict):
        return False
    for block in cond.values():
        if isinstance(block, dict) and any(
            isinstance(k, str) and k.lower() in ORG_CONDITION_KEYS for k in block
        ):
            return True
    return False


def classify(
    kind_key: str, value: Any, resource_account: str | None, own_accounts: Iterable[str]
) -> PolicyPrincipal:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    if kind_key == "*" or (kind_key == "AWS" and text.strip() == "*"):
        return PolicyPrincipal("*", "wildcard")
    if kind_key == "AWS":
        acct = account_of(text.strip())
        if acct is None:
            return PolicyPrincipal(text, "other")
        if acct == resource_account:
            return PolicyPrincipal(text, "own-account", acct)
        if acct in own_accounts:
            return PolicyPrincipal(text, "org-account", acct)
        return PolicyPrincipal(text, "external-account", acct)
    if kind_key == "Service":
        return PolicyPrincipal(text, "service")
    if kind_key == "Federated":
        return PolicyPrincipal(text, "federated", account_of(text))
    return PolicyPrincipal(f"{kind_key}: {text}" if kind_key else text, "other")


def _principals_of(
    stmt: dict[str, Any], resource_account: str | None, own: frozenset[str]
) -> list[PolicyPrincipal]:
    if "NotPrincipal" in stmt:
        # Allow + NotPrincipal grants everyone except the principals named.
        return [PolicyPrincipal("* (NotPrincipal)", "wildcard")]
    p = stmt.get("Principal")
    if p is None:
        return []
    if isinstance(p, dict):
        return [
            classify(str(k), v, resource_account, own) for k, vs in p.items() for v in _as_list(vs)
        ]
    return [classify("*" if v == "*" else "", v, resource_account, own) for v in _as_list(p)]


def analyse_attempt(
    request_parameters: str | None, resource_account: str | None, own_accounts: Iterable[str]
) -> AttemptPolicy:
    """The principals one attempted policy would have granted access to."""
    doc, why = policy_document(request_parameters)
    if doc is None:
        return AttemptPolicy(unparsable=why)
    own = frozenset(own_accounts)
    found: list[PolicyPrincipal] = []
    missing_org = False
    for stmt in _as_list(doc.get("Statement")):
        if not isinstance(stmt, dict) or stmt.get("Effect") == "Deny":
            continue
        ps = _principals_of(stmt, resource_account, own)
        found.extend(ps)
        risky = any(x.kind in ("wildcard", "external-account") for x in ps)
        if risky and not _has_org_condition(stmt):
            missing_org = True
    return AttemptPolicy(principals=tuple(found), missing_org_condition=missing_org)


def merge(attempts: Iterable[AttemptPolicy]) -> PolicyAnalysis:
    """One finding's attempts -> its PolicyAnalysis (order-independent)."""
    principals: set[PolicyPrincipal] = set()
    missing = False
    unparsable = 0
    for a in attempts:
        principals.update(a.principals)
        missing = missing or a.missing_org_condition
        unparsable += a.unparsable is not None
    ordered = sorted(principals, key=lambda p: (_KIND_ORDER.index(p.kind), p.value))
    return PolicyAnalysis(
        principals=tuple(ordered[:MAX_PRINCIPALS]),
        wildcard=any(p.kind == "wildcard" for p in principals),
        external_accounts=tuple(
            sorted(
                {p.account_id for p in principals if p.kind == "external-account" and p.account_id}
            )
        ),
        missing_org_condition=missing,
        unparsable=unparsable,
    )
