"""An organisation-scale Report, built deterministically: a month over 40 accounts with
520 findings and ~18,500 attempts, the size the issue measured (a 2 MB report.md and a
2,800-row table of external principals before this change)."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from auditor.model import (
    Coverage,
    Event,
    Finding,
    Gap,
    PolicyAnalysis,
    PolicyPrincipal,
    Provenance,
    QueryRecord,
    Report,
    Shortfall,
    Totals,
    Unreadable,
)
from auditor.rule import load_rule

finding_id = load_rule().finding_id

ACCOUNTS = 40
FINDINGS = 520
EXTERNAL = 70  # distinct external accounts named in attempted policies
START = datetime(2026, 10, 1, tzinfo=UTC)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_org_report(
    *,
    findings: int = FINDINGS,
    accounts: int = ACCOUNTS,
    days: int = 31,
    seed: int = 11,
    start: datetime = START,
) -> Report:
    rnd = random.Random(seed)
    accts = [f"{100000000000 + i * 7919:012d}" for i in range(accounts)]
    externals = [f"{900000000000 + i * 104729:012d}" for i in range(EXTERNAL)]
    regions = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
    agents = (
        "aws-cli/2.17.0 Python/3.11",
        "Boto3/1.34.1 md/Botocore#1.34.1 ua/2.0 os/linux",
        "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 terraform-provider-aws/5.70",
        "aws-sdk-java/2.25.1 Linux/5.10",
    )
    out_findings: list[Finding] = []
    events: list[Event] = []
    n_event = 0
    for i in range(findings):
        acct = accts[i % accounts] if i < accounts else rnd.choice(accts)
        kind = ("role", "user", "role")[i % 3]
        principal = f"arn:aws:iam::{acct}:{kind}/team-{i % 37}/svc-{i:04d}-deployer"
        caller = acct if i % 9 else rnd.choice(accts)
        # a long tail: a few principals make thousands of attempts, most a handful
        attempts = max(1, int(rnd.paretovariate(1.1) * 4.6)) if i % 50 else 250 + i
        attempts = min(attempts, 2_000)
        wildcard = i % 23 == 0
        ext = tuple(sorted(rnd.sample(externals, k=1 + i % 9))) if i % 3 != 2 else ()
        principals = tuple(
            [PolicyPrincipal("*", "wildcard")] * wildcard
            + [PolicyPrincipal(f"arn:aws:iam::{x}:root", "external-account", x) for x in ext]
        )
        severity = (
            "high" if wildcard or i % 50 == 0 else "medium" if ext or caller != acct else "low"
        )
        region = regions[i % len(regions)]
        times = sorted(
            start + timedelta(seconds=rnd.randrange(days * 86_400)) for _ in range(attempts)
        )
        actions: Counter[str] = Counter()
        ua = agents[i % len(agents)]
        ip = f"198.51.{i % 200}.{(i * 7) % 250}"
        resource = f"arn:aws:bedrock:{region}:{acct}:agent/AGENT{i:05d}"
        for t in times:
            action = "PutResourcePolicy" if rnd.random() < 0.8 else "DeleteResourcePolicy"
            actions[action] += 1
            events.append(
                Event(
                    event_id=f"00000000-0000-4000-8000-{n_event:012d}",
                    event_time=_iso(t),
                    account_id=acct,
                    region=region,
                    action=action,
                    error_code="AccessDenied",
                    error_message=f"User: {principal} is not authorized to perform: "
                    f"bedrock:{action} on resource: {resource} because no identity-based "
                    f"policy allows the bedrock:{action} action",
                    principal=principal,
                    principal_type="AssumedRole" if kind == "role" else "IAMUser",
                    caller_account_id=caller,
                    identity_arn=principal,
                    session=None,
                    access_key_id=None,
                    source_ip=ip,
                    user_agent=ua,
                    resource=resource,
                    request_parameters=json.dumps({"resourceArn": resource}),
                    finding_id=finding_id(acct, principal),
                )
            )
            n_event += 1
        out_findings.append(
            Finding(
                id=finding_id(acct, principal),
                account_id=acct,
                principal=principal,
                principal_type="AssumedRole" if kind == "role" else "IAMUser",
                caller_account_id=caller,
                cross_account=caller != acct,
                attempts=attempts,
                actions=dict(actions.most_common()),
                error_codes={"AccessDenied": attempts},
                first_seen=_iso(times[0]),
                last_seen=_iso(times[-1]),
                source_ips=(ip,),
                user_agents=(ua,),
                resources=(resource,),
                sessions=1 + attempts // 10,
                regions=(region,),
                severity=severity,
                reasons=(f"{attempts} denied attempts",) if severity != "low" else (),
                policy=PolicyAnalysis(
                    principals=principals,
                    wildcard=wildcard,
                    external_accounts=ext,
                    missing_org_condition=bool(ext) or wildcard,
                ),
            )
        )
    coverage = Coverage(
        files_scanned=40 * 5 * 31 * 288,
        records_scanned=90_000_000,
        bytes_scanned=120_000_000_000,
        files_unreadable=60,
        unreadable=tuple(
            Unreadable(
                f"AWSLogs/{accts[k % accounts]}/CloudTrail/us-east-1/2026/10/{1 + k % 28:02d}/"
                f"f{k}.json.gz",
                "not a complete gzip file",
            )
            for k in range(60)
        ),
        gaps=tuple(
            Gap(accts[k % accounts], regions[k % len(regions)], "2026-10-09", "2026-10-11", 3)
            for k in range(45)
        ),
        accounts=tuple(accts),
        regions=regions,
        shortfalls=tuple(
            Shortfall("unlisted", f"folder {k} could not be listed") for k in range(14)
        ),
    )
    return Report(
        rule=load_rule().meta,
        range_start=_iso(start),
        range_end=_iso(start + timedelta(days=days)),
        engine="local",
        totals=Totals(
            attempts=sum(f.attempts for f in out_findings),
            principals=len({f.principal for f in out_findings}),
            accounts=len({f.account_id for f in out_findings}),
            cross_account_attempts=sum(f.attempts for f in out_findings if f.cross_account),
        ),
        findings=tuple(out_findings),
        events=tuple(events),
        coverage=coverage,
        provenance=Provenance(
            tool_version="0.1.0",
            generated_at=_iso(start + timedelta(days=days + 1)),
            queries=tuple(
                QueryRecord(name="denied_policy_changes", engine="local", sql="SELECT 1", rows=1)
                for _ in range(3)
            ),
        ),
    )
