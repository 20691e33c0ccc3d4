"""The investigation guide, with each finding's own values filled in (pure).

The steps follow what the rule's triage guide asks an analyst to check (DOMAIN.md
section 2: who, what, what else, expected or not, respond); every sentence is ours.
A sentence is a tuple of `Part`s: our words (`value=False`) and values taken from the
events (`value=True`), which each format shows as code and escapes its own way.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model import Finding

TYPE_WORDS = {
    "AssumedRole": "role",
    "IAMUser": "IAM user",
    "Root": "root user of account",
    "FederatedUser": "federated user",
    "AWSService": "AWS service",
    "AWSAccount": "AWS account",
    "SAMLUser": "SAML user",
    "WebIdentityUser": "web-identity user",
    "IdentityCenterUser": "IAM Identity Center user",
}

_IAC_AGENTS = ("terraform", "pulumi", "cloudformation", "aws-cdk", "cdk/", "crossplane", "ansible")
_CONSOLE_AGENTS = ("console.amazonaws.com", "aws internal", "signin.amazonaws.com")


@dataclass(frozen=True)
class Part:
    text: str
    value: bool = False


Line = tuple[Part, ...]


@dataclass(frozen=True)
class Step:
    title: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Checks:
    """Whether the side queries ran: "ok", "failed" or "not run" (an older report)."""

    later_success: str = "not run"
    other_denials: str = "not run"
    lookahead_days: str | None = None


@dataclass(frozen=True)
class FindingGuide:
    finding_id: str
    principal: str
    severity: str
    steps: tuple[Step, ...]
    flags: tuple[str, ...] = ()  # short tags for the card's header


# The general steps, in our words. Shown once above the per-finding cards.
GENERAL: tuple[tuple[str, str], ...] = (
    (
        "Who made the call",
        (
            "A denial means nothing changed, so the question is who tried and whether they "
            "had any business doing so. Start from the identity (its ARN and type), the "
            "access key it used, where the call came from and with which client."
        ),
    ),
    (
        "What they tried",
        (
            "PutResourcePolicy attaches a policy that decides who else may use a Bedrock "
            "resource; DeleteResourcePolicy removes one. Read the error message for the "
            'exact permission that was missing, and read the attempted policy: a "*" '
            "principal, an account that is not yours, or a grant without an organisation "
            "condition is what an attacker planting a back door would write."
        ),
    ),
    (
        "What else they did",
        (
            "Denials on several services or actions in a short time suggest an identity "
            "probing what it may do. A successful policy change by the same identity after "
            "the denial matters most: the attempt may have worked on a second try."
        ),
    ),
    (
        "Is it expected?",
        (
            "Most denials are permission gaps: a role created before its policy, a "
            "deployment that ran before its permissions were in place, someone trying "
            "things out in a sandbox account. Confirm with the owner of the identity and a "
            "change ticket. If it is expected and will recur, add an exemption with an "
            "owner, a ticket and an expiry rather than ignoring the report."
        ),
    ),
    (
        "Respond",
        (
            "If nobody can explain it, assume the credentials are in someone else's hands: "
            "deactivate the access keys or revoke the role's active sessions, review "
            "everything the identity did around that time, check the current policy of "
            "each target resource, and keep bedrock:PutResourcePolicy and "
            "bedrock:DeleteResourcePolicy limited to the few roles that need them. The "
            "companion rule de0e9ed8 reports successful changes."
        ),
    ),
)


def _t(text: str) -> Part:
    return Part(text)


def _v(text: object) -> Part:
    return Part(str(text), True)


def _list(values: tuple[str, ...] | list[str], empty: str = "none recorded") -> list[Part]:
    if not values:
        return [_t(empty)]
    parts: list[Part] = []
    for i, val in enumerate(values):
        if i:
            parts.append(_t(", "))
        parts.append(_v(val))
    return parts


def _counts(counts: dict[str, int]) -> list[Part]:
    return _list([f"{k} × {n}" for k, n in counts.items()])


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n:,} times"


def _actor(f: Finding) -> tuple[Line, ...]:
    word = TYPE_WORDS.get(f.principal_type, "principal")
    when = (
        [_t(" on "), _v(f.first_seen)]
        if f.first_seen == f.last_seen
        else [_t(" between "), _v(f.first_seen), _t(" and "), _v(f.last_seen)]
    )
    lines: list[Line] = [
        (
            _t(f"The {word} "),
            _v(f.principal),
            _t(" ("),
            _v(f.principal_type or "unknown type"),
            _t(") was denied " + _times(f.attempts)),
            *when,
            _t("."),
        ),
        (
            _t("Source addresses: "),
            *_list(f.source_ips),
            _t("; user agents: "),
            *_list(f.user_agents),
            _t("."),
        ),
        (
            _t("Access keys: "),
            *_list(f.access_key_ids),
            _t(f"; {f.sessions:,} session{'s' if f.sessions != 1 else ''}"),
            _t("; regions: "),
            *_list(f.regions),
            _t("."),
        ),
    ]
    if f.cross_account and f.caller_account_id:
        lines.append(
            (
                _t("The caller belongs to account "),
                _v(f.caller_account_id),
                _t(", not to the target account "),
                _v(f.account_id),
                _t(": someone outside the account tried to change who may use its resources."),
            )
        )
    if f.principal_type == "Root":
        lines.append((_t("The root user should not be used for day-to-day work at all."),))
    return tuple(lines)


def _attempt(f: Finding) -> tuple[Line, ...]:
    p = f.policy
    lines: list[Line] = [
        (
            _t("It tried "),
            *_counts(f.actions),
            _t(" on "),
            *_list(f.resources, "an unrecorded resource"),
            _t("; refused with "),
            *_counts(f.error_codes),
            _t("."),
        )
    ]
    if p.principals:
        named = []
        for i, pp in enumerate(p.principals):
            if i:
                named.append(_t(", "))
            named += [_v(pp.value), _t(f" ({pp.kind})")]
        lines.append(
            (
                _t("The attempted policy names "),
                *named,
                _t("."),
            )
        )
    if p.wildcard:
        lines.append(
            (
                _t("It grants "),
                _v("*"),
                _t(": anyone, in any account, could have used the resource."),
            )
        )
    if p.external_accounts:
        lines.append(
            (
                _t("It grants accounts that are neither the resource's own nor listed as yours: "),
                *_list(p.external_accounts),
                _t("."),
            )
        )
    if p.missing_org_condition:
        lines.append(
            (
                _t("No "),
                _v("aws:PrincipalOrgID"),
                _t(" condition keeps the grant inside your organisation."),
            )
        )
    if p.unparsable:
        lines.append(
            (
                _t(
                    f"{p.unparsable:,} attempt{'s' if p.unparsable != 1 else ''} carried "
                    "policy text that was redacted or not valid JSON; read it in report.json."
                ),
            )
        )
    if f.actions.get("PutResourcePolicy") and not (p.principals or p.unparsable):
        lines.append((_t("No principal could be read from the attempted policy."),))
    if not f.actions.get("PutResourcePolicy"):
        lines.append(
            (_t("Only deletions: removing a policy can cut off access that others rely on."),)
        )
    return tuple(lines)


def _correlate(f: Finding, checks: Checks) -> tuple[Line, ...]:
    lines: list[Line] = []
    if f.later_success:
        lines.append(
            (
                _t(
                    "It SUCCEEDED later: a Bedrock resource policy was changed by this "
                    "principal at "
                ),
                _v(f.later_success),
                _t(". Find that event and read the policy now in place."),
            )
        )
    elif checks.later_success == "ok":
        window = f" and the {checks.lookahead_days} days after it" if checks.lookahead_days else ""
        lines.append(
            (
                _t(
                    "No successful resource-policy change by the principal was found after its "
                    f"first denial (searched the range{window})."
                ),
            )
        )
    elif checks.later_success == "failed":
        lines.append(
            (
                _t(
                    "Whether it later succeeded could NOT be checked: the later-success query "
                    "failed (see Coverage). Search CloudTrail for its successful calls by hand."
                ),
            )
        )
    else:
        lines.append(
            (
                _t(
                    "This report did not check for a later successful change: search CloudTrail "
                    "for the principal's successful PutResourcePolicy/DeleteResourcePolicy calls."
                ),
            )
        )
    if f.other_denials:
        items = [f"{d.service} {d.action} ({d.error_code}) × {d.count}" for d in f.other_denials]
        total = sum(d.count for d in f.other_denials)
        lines.append(
            (
                _t(f"It was also denied {_times(total)} elsewhere in the range: "),
                *_list(items),
                _t("."),
            )
        )
    elif checks.other_denials == "ok":
        lines.append((_t("It was denied nothing else in the range."),))
    elif checks.other_denials == "failed":
        lines.append(
            (_t("Its other denials could NOT be counted: that query failed (see Coverage)."),)
        )
    else:
        lines.append((_t("This report did not count the principal's other denials."),))
    return tuple(lines)


def _expected(f: Finding) -> tuple[Line, ...]:
    lines: list[Line] = [
        (
            _t("Ask the owner of account "),
            _v(f.account_id),
            _t(" whether "),
            _v(f.principal),
            _t(" should manage Bedrock resource policies, and look for a change ticket around "),
            _v(f.first_seen[:10]),
            _t("."),
        )
    ]
    agents = [ua for ua in f.user_agents if any(k in ua.lower() for k in _IAC_AGENTS)]
    if agents:
        lines.append(
            (
                _t("The user agent "),
                *_list(agents),
                _t(
                    " is an infrastructure-as-code tool: a pipeline may have run before its "
                    "permissions were granted."
                ),
            )
        )
    console = [ua for ua in f.user_agents if any(k in ua.lower() for k in _CONSOLE_AGENTS)]
    if console:
        lines.append(
            (
                _t("The user agent "),
                *_list(console),
                _t(" points to a person at the console."),
            )
        )
    if f.suppressed_by:
        lines.append(
            (
                _t("An exemption matched: "),
                _v(f.suppressed_by),
                _t("."),
            )
        )
    return tuple(lines)


def _respond(f: Finding) -> tuple[Line, ...]:
    lines: list[Line] = []
    if f.access_key_ids:
        lines.append(
            (
                _t("If it is not explained, deactivate the access keys "),
                *_list(f.access_key_ids),
                _t("."),
            )
        )
    if f.principal_type == "AssumedRole":
        lines.append(
            (
                _t("Revoke the active sessions of "),
                _v(f.principal),
                _t(" (IAM: revoke active sessions) before the keys expire on their own."),
            )
        )
    lines.append(
        (
            _t("Check the current policy of "),
            *_list(f.resources, "each target resource"),
            _t(" and review the principal's activity from "),
            _v(f.first_seen),
            _t(" onwards."),
        )
    )
    return tuple(lines)


def finding_guide(
    f: Finding, checks: Checks = Checks(), flags: tuple[str, ...] = ()
) -> FindingGuide:
    return FindingGuide(
        flags=flags,
        finding_id=f.id,
        principal=f.principal,
        severity=f.severity,
        steps=(
            Step("Who made the call", _actor(f)),
            Step("What they tried", _attempt(f)),
            Step("What else they did", _correlate(f, checks)),
            Step("Is it expected?", _expected(f)),
            Step("Respond", _respond(f)),
        ),
    )


def plain(line: Line) -> str:
    """A sentence as plain text (tests, CLI)."""
    return "".join(p.text for p in line)
