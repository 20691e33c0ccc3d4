"""A fixed, hand-built Report for the renderer tests: every field filled (severity and
reasons, policy analysis, later success, other denials, exemptions, coverage holes,
Athena provenance), hostile text planted in every event field, and a fixed clock."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from auditor.model import (
    Coverage,
    DenialCount,
    Event,
    ExemptionStatus,
    FailedQuery,
    Finding,
    Gap,
    PolicyAnalysis,
    PolicyPrincipal,
    Provenance,
    QueryRecord,
    Report,
    Totals,
    Unreadable,
)
from auditor.rule import load_rule

RULE = load_rule()  # the shipped rule

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "report"

# A payload that would show itself if it ever ran or became markup: it sets the title,
# adds an element with a known id, and tries to fetch (CSP and escaping must stop all).
MARK = "AUDITORPWNED"
PAYLOAD = (
    f'<script>document.title="{MARK}";document.body.insertAdjacentHTML("beforeend",'
    f'"<p id={MARK}>")</script><img src=x onerror="document.title=\'{MARK}\'">'
    f'<b id="{MARK}b">x</b> | `tick` [link](https://evil.example/) =HYPERLINK("http://evil")'
)

ACCT_A = "111122223333"
ACCT_B = "444455556666"
ACCT_X = "999988887777"
ROLE_CI = f"arn:aws:iam::{ACCT_A}:role/ci-deployer"
USER_BOB = f"arn:aws:iam::{ACCT_B}:user/contractor-bob"
ROLE_DS = f"arn:aws:iam::{ACCT_B}:role/teams/DataScience"
ROLE_ODD = f"arn:aws:iam::{ACCT_A}:role/{PAYLOAD}"
ROLE_ONBOARD = f"arn:aws:iam::{ACCT_A}:role/onboarding-pipeline"
AGENT_A = f"arn:aws:bedrock:us-east-1:{ACCT_A}:agent/AGENT12345"
KB_B = f"arn:aws:bedrock:eu-west-1:{ACCT_B}:knowledge-base/KB0001"


def _msg(principal: str, action: str, resource: str) -> str:
    return (
        f"User: {principal} is not authorized to perform: bedrock:{action} on resource: "
        f"{resource} because no identity-based policy allows the bedrock:{action} action"
    )


def _events(spec: list[tuple]) -> list[Event]:
    out = []
    for n, (
        when,
        acct,
        region,
        action,
        code,
        principal,
        ptype,
        caller,
        ip,
        ua,
        res,
        key,
    ) in enumerate(spec):
        out.append(
            Event(
                event_id=f"00000000-0000-4000-8000-{n:012d}",
                event_time=when,
                account_id=acct,
                region=region,
                action=action,
                error_code=code,
                error_message=_msg(principal, action, res or "unknown"),
                principal=principal,
                principal_type=ptype,
                caller_account_id=caller,
                identity_arn=principal.replace(":iam::", ":sts::").replace(
                    ":role/", ":assumed-role/"
                )
                + "/s1",
                session=f"AROAEXAMPLE{n % 2}:s{n % 2}",
                access_key_id=key,
                source_ip=ip,
                user_agent=ua,
                resource=res,
                request_parameters=json.dumps({"resourceArn": res, "resourcePolicy": "{}"}),
                source_file=f"AWSLogs/{acct}/CloudTrail/{region}/2026/10/01/f{n}.json.gz",
                finding_id=RULE.finding_id(acct, principal),
            )
        )
    return out


def build_report() -> Report:
    cli = "aws-cli/2.17.0 Python/3.11"
    tf = (
        "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) "
        "terraform-provider-aws/5.70"
    )
    P, D = "PutResourcePolicy", "DeleteResourcePolicy"
    AD, ADE = "AccessDenied", "AccessDeniedException"
    spec: list[tuple] = []
    for day, hour, action in ((4, 10, P), (4, 11, P), (4, 12, P), (5, 9, P), (5, 9, D)):
        spec.append(
            (
                f"2026-10-0{day}T{hour:02d}:00:00Z",
                ACCT_A,
                "us-east-1",
                action,
                ADE,
                ROLE_CI,
                "AssumedRole",
                ACCT_A,
                "203.0.113.10",
                cli,
                AGENT_A,
                "ASIAEXAMPLEKEY01",
            )
        )
    for day in (13, 14):
        spec.append(
            (
                f"2026-10-{day}T08:00:00Z",
                ACCT_A,
                "us-east-1",
                D,
                AD,
                USER_BOB,
                "IAMUser",
                ACCT_B,
                "198.51.100.77",
                PAYLOAD,
                AGENT_A,
                "AKIAEXAMPLEKEY02",
            )
        )
    for i in range(12):
        spec.append(
            (
                f"2026-10-{20 + i // 3}T{9 + i % 3:02d}:30:00Z",
                ACCT_B,
                "eu-west-1",
                P if i % 4 else D,
                ADE,
                ROLE_DS,
                "AssumedRole",
                ACCT_B,
                "192.0.2.44",
                tf,
                KB_B,
                "ASIAEXAMPLEKEY03",
            )
        )
    spec.append(
        (
            "2026-10-31T23:58:00Z",
            ACCT_A,
            "us-east-1",
            P,
            ADE,
            ROLE_ODD,
            "AssumedRole",
            ACCT_A,
            "redacted",
            PAYLOAD,
            f"arn:aws:bedrock:us-east-1:{ACCT_A}:agent/{PAYLOAD}",
            None,
        )
    )
    for day in (7, 8):
        spec.append(
            (
                f"2026-10-0{day}T06:00:00Z",
                ACCT_A,
                "us-east-1",
                P,
                ADE,
                ROLE_ONBOARD,
                "AssumedRole",
                ACCT_A,
                "10.0.0.5",
                tf,
                AGENT_A,
                "ASIAEXAMPLEKEY04",
            )
        )
    events = _events(spec)
    onboarding = "onboarding-pipeline"
    events = [
        replace(e, suppressed_by=onboarding) if e.principal == ROLE_ONBOARD else e for e in events
    ]
    # old-terraform matches the data-science role's attempts, but expired before them
    events = [
        replace(e, outside_window_of="old-terraform") if e.principal == ROLE_DS else e
        for e in events
    ]

    def finding(principal: str, account: str, **kw: object) -> Finding:
        evs = [
            e
            for e in events
            if e.principal == principal
            and e.account_id == account
            and e.suppressed_by == kw.get("suppressed_by")
        ]
        actions: dict[str, int] = {}
        codes: dict[str, int] = {}
        for e in evs:
            actions[e.action] = actions.get(e.action, 0) + 1
            codes[e.error_code] = codes.get(e.error_code, 0) + 1
        return Finding(
            **{
                "id": RULE.finding_id(account, principal),
                "account_id": account,
                "principal": principal,
                "principal_type": evs[0].principal_type,
                "caller_account_id": evs[0].caller_account_id,
                "cross_account": evs[0].caller_account_id != account,
                "attempts": len(evs),
                "actions": dict(sorted(actions.items(), key=lambda kv: (-kv[1], kv[0]))),
                "error_codes": dict(sorted(codes.items(), key=lambda kv: (-kv[1], kv[0]))),
                "first_seen": min(e.event_time for e in evs),
                "last_seen": max(e.event_time for e in evs),
                "source_ips": tuple(sorted({e.source_ip for e in evs if e.source_ip})),
                "user_agents": tuple(sorted({e.user_agent for e in evs if e.user_agent})),
                "resources": tuple(sorted({e.resource for e in evs if e.resource})),
                "sessions": len({e.session for e in evs}),
                "access_key_ids": tuple(sorted({e.access_key_id for e in evs if e.access_key_id})),
                "regions": tuple(sorted({e.region for e in evs})),
                **kw,
            }
        )

    findings = (
        finding(
            ROLE_CI,
            ACCT_A,
            severity="high",
            reasons=(
                "the attempted policy grants * (anyone)",
                f"the attempted policy grants external account {ACCT_X}",
                "a later PutResourcePolicy by this principal succeeded at 2026-10-06T09:12:00Z",
            ),
            policy=PolicyAnalysis(
                principals=(
                    PolicyPrincipal("*", "wildcard"),
                    PolicyPrincipal(f"arn:aws:iam::{ACCT_X}:root", "external-account", ACCT_X),
                    PolicyPrincipal(f"arn:aws:iam::{ACCT_A}:role/app", "own-account", ACCT_A),
                ),
                wildcard=True,
                external_accounts=(ACCT_X,),
                missing_org_condition=True,
                unparsable=1,
            ),
            later_success="2026-10-06T09:12:00Z",
            other_denials=(
                DenialCount("iam.amazonaws.com", "CreateAccessKey", "AccessDenied", 3),
                DenialCount("bedrock.amazonaws.com", "CreateAgent", "AccessDeniedException", 1),
            ),
        ),
        finding(
            ROLE_DS,
            ACCT_B,
            severity="medium",
            reasons=("12 denied attempts, at or over the threshold of 10",),
        ),
        finding(
            USER_BOB,
            ACCT_A,
            severity="medium",
            reasons=(f"cross-account caller from {ACCT_B}",),
            policy=PolicyAnalysis(principals=(PolicyPrincipal(PAYLOAD, "other"),), unparsable=0),
        ),
        finding(ROLE_ODD, ACCT_A, severity="low"),
    )
    suppressed = (finding(ROLE_ONBOARD, ACCT_A, severity="low", suppressed_by=onboarding),)
    queries = (
        QueryRecord(
            name="denied_policy_changes",
            engine="athena",
            sql=(
                'SELECT eventid AS event_id\nFROM "default"."cloudtrail_logs"\n'
                "WHERE \"timestamp\" BETWEEN ? AND ?\n  AND eventname IN ('PutResourcePolicy', "
                "'DeleteResourcePolicy')\n  AND useragent <> '</script><b id=\"sqlmark\">'"
            ),
            parameters=("2026/10/01", "2026/11/01"),
            query_id="a1b2c3d4-0000-4000-8000-000000000001",
            data_scanned_bytes=1_234_567_890,
            engine_ms=8123,
            cost_usd=0.006173,
            rows=22,
            chunk="2026-10",
        ),
        QueryRecord(
            name="later_success",
            engine="athena",
            sql="SELECT 1 WHERE ? < ?",
            parameters=("2026-10-01T00:00:00Z", "2026-11-08T00:00:00Z"),
            query_id="a1b2c3d4-0000-4000-8000-000000000002",
            state="FAILED",
            data_scanned_bytes=10_485_760,
            engine_ms=1800000,
            cost_usd=0.00005,
            rows=0,
            chunk="2026-10",
        ),
    )
    return Report(
        rule=RULE.meta,
        range_start="2026-10-01T00:00:00Z",
        range_end="2026-11-01T00:00:00Z",
        engine="athena",
        totals=Totals(
            attempts=sum(f.attempts for f in findings),
            principals=4,
            accounts=2,
            cross_account_attempts=2,
            suppressed_attempts=2,
        ),
        findings=findings,
        suppressed=suppressed,
        exemptions=(
            ExemptionStatus(
                id=onboarding,
                reason="the onboarding pipeline runs before its grants land",
                owner="platform-team",
                ticket="SEC-1234",
                expires="2026-12-31",
                expired=False,
                matched=2,
                principal=f"arn:aws:iam::{ACCT_A}:role/onboarding-*",
                starts="2026-10-01",
                suppressed=2,
            ),
            ExemptionStatus(
                id="old-terraform",
                reason=PAYLOAD,
                owner="data-team",
                ticket="SEC-99",
                expires="2026-09-30",
                expired=True,
                matched=12,
                account=ACCT_B,
                user_agent="*Terraform*",
                source_cidr="192.0.2.0/24",
                outside_window=12,
            ),
        ),
        events=tuple(events),
        coverage=Coverage(
            files_scanned=1440,
            records_scanned=1_150_000,
            bytes_scanned=105_000_000,
            files_unreadable=1,
            unreadable=(
                Unreadable(
                    f"AWSLogs/{ACCT_A}/CloudTrail/eu-west-1/2026/10/05/{PAYLOAD}.json.gz",
                    "not a complete gzip file: Compressed file ended before the "
                    "end-of-stream marker was reached",
                ),
                Unreadable(
                    f"AWSLogs/{ACCT_A}/CloudTrail/us-east-1/2026/10/09/b.json.gz#17",
                    "record has no eventTime",
                ),
            ),
            files_skipped=2,
            gaps=(Gap("777788889999", "us-east-1", "2026-10-09", "2026-10-11", 3),),
            accounts=(ACCT_A, ACCT_B, "777788889999"),
            regions=("eu-west-1", "us-east-1"),
            failed_queries=(
                FailedQuery(
                    "later_success",
                    "2026-10",
                    "did not finish within --query-timeout 1800s (last state RUNNING); "
                    "it was stopped",
                    "a1b2c3d4-0000-0000-0000-000000000002",
                    "CANCELLED",
                ),
            ),
        ),
        provenance=Provenance(
            tool_version="0.1.0",
            generated_at="2026-11-02T07:00:00Z",
            queries=queries,
            command=(
                "auditor audit --engine athena --month 2026-10 --workgroup audit "
                "--output-location 's3://results/x?X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLE' "
                "--aws-secret-access-key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
            ),
            config={
                "engine": "athena",
                "range": "2026-10-01 .. 2026-10-31",
                "accounts": "all",
                "regions": "all",
                "workgroup": "audit",
                "session_token": "IQoJb3JpZ2luEXAMPLE",
                "note": "key AKIAIOSFODNN7EXAMPLE",
            },
            input_fingerprint="sha256:" + "5f1c0c3e9a7d4b2e" * 4,
            estimated_scan_bytes=1_300_000_000,
        ),
    )


@pytest.fixture(scope="session")
def report() -> Report:
    return build_report()


@pytest.fixture(scope="session")
def empty_report() -> Report:
    r = build_report()
    return replace(
        r,
        findings=(),
        suppressed=(),
        events=(),
        totals=Totals(attempts=0, principals=0, accounts=0),
        coverage=Coverage(
            files_scanned=10, records_scanned=100, accounts=(ACCT_A,), regions=("us-east-1",)
        ),
    )
