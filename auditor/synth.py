"""Synthetic CloudTrail: record builders and the demo trail.

Records follow the shape CloudTrail writes (DOMAIN.md section 1); Bedrock's
PutResourcePolicy/DeleteResourcePolicy requests follow the Bedrock API reference
(`{resourceArn, resourcePolicy}`; the knowledge-base variant `{policy,
expectedRevisionId}`). Used by `auditor demo`, the tests and the benchmark.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

BEDROCK = "bedrock.amazonaws.com"


def _h(text: str) -> int:
    return zlib.crc32(text.encode()) % 10**12


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def assumed_role(account: str, role: str, session: str, path: str = "") -> dict[str, Any]:
    return {
        "type": "AssumedRole",
        "principalId": f"AROA{_h(role):012d}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": f"ASIA{_h(session):012d}",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": f"AROA{_h(role):012d}",
                "arn": f"arn:aws:iam::{account}:role/{path}{role}",
                "accountId": account,
                "userName": role,
            },
            "attributes": {"creationDate": "2026-10-01T00:00:00Z", "mfaAuthenticated": "false"},
        },
    }


def iam_user(account: str, name: str) -> dict[str, Any]:
    return {
        "type": "IAMUser",
        "principalId": f"AIDA{_h(name):012d}",
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": f"AKIA{_h(name):012d}",
        "userName": name,
    }


def root_user(account: str) -> dict[str, Any]:
    return {
        "type": "Root",
        "principalId": account,
        "arn": f"arn:aws:iam::{account}:root",
        "accountId": account,
    }


def event(
    when: datetime,
    *,
    identity: dict[str, Any] | None,
    source: str,
    name: str,
    region: str,
    account: str,
    request: Any = None,
    error: str | None = None,
    message: str | None = None,
    ip: str = "203.0.113.10",
    agent: str = "aws-cli/2.17.0 Python/3.11",
    event_id: str | None = None,
    read_only: bool = False,
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": iso(when),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": agent,
        "requestParameters": request,
        "responseElements": None,
        "requestID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"req-{event_id or iso(when)}-{name}")),
        "eventID": event_id
        or str(
            uuid.uuid5(
                uuid.NAMESPACE_URL,
                f"{iso(when)}/{name}/{region}/{(identity or {}).get('arn')}/{error}",
            )
        ),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"bedrock.{region}.amazonaws.com",
        },
    }
    if error:
        rec["errorCode"] = error
        rec["errorMessage"] = message
    return rec


def policy(principal: Any, condition: dict[str, Any] | None = None) -> str:
    stmt: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": principal,
        "Action": "bedrock:InvokeAgent",
        "Resource": "*",
    }
    if condition:
        stmt["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [stmt]})


def denied_message(identity_arn: str, action: str, resource: str) -> str:
    return (
        f"User: {identity_arn} is not authorized to perform: bedrock:{action} on "
        f"resource: {resource} because no identity-based policy allows the "
        f"bedrock:{action} action"
    )


def bedrock_policy_call(
    when: datetime,
    *,
    identity: dict[str, Any],
    account: str,
    region: str,
    action: str = "PutResourcePolicy",
    resource: str | None = None,
    resource_policy: str | None = None,
    error: str | None = "AccessDeniedException",
    request: Any = "default",
    **kw: Any,
) -> dict[str, Any]:
    resource = resource or f"arn:aws:bedrock:{region}:{account}:agent/AGENT12345"
    if request == "default":
        request = {"resourceArn": resource}
        if action == "PutResourcePolicy":
            own = policy({"AWS": f"arn:aws:iam::{account}:root"})
            request["resourcePolicy"] = resource_policy or own
    msg = denied_message(identity.get("arn", "unknown"), action, resource) if error else None
    return event(
        when,
        identity=identity,
        source=BEDROCK,
        name=action,
        region=region,
        account=account,
        request=request,
        error=error,
        message=msg,
        **kw,
    )


def log_key(
    account: str,
    region: str,
    delivered: datetime,
    org_id: str | None = None,
    prefix: str = "",
    salt: str = "",
) -> str:
    org = f"{org_id}/" if org_id else ""
    stamp = delivered.strftime("%Y%m%dT%H%MZ")
    uniq = uuid.uuid5(uuid.NAMESPACE_URL, f"{account}{region}{stamp}{org}{salt}").hex[:16].upper()
    return (
        f"{prefix}AWSLogs/{org}{account}/CloudTrail/{region}/{delivered:%Y/%m/%d}/"
        f"{account}_CloudTrail_{region}_{stamp}_{uniq}.json.gz"
    )


def write_log(root: Path, key: str, records: list[dict[str, Any]]) -> Path:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"Records": records}, separators=(",", ":")).encode()
    path.write_bytes(gzip.compress(body, compresslevel=6, mtime=0))
    return path


_NOISE = [
    ("ec2.amazonaws.com", "DescribeInstances", True),
    ("s3.amazonaws.com", "GetBucketAcl", True),
    ("sts.amazonaws.com", "AssumeRole", False),
    ("kms.amazonaws.com", "Decrypt", True),
    ("iam.amazonaws.com", "ListRoles", True),
    (BEDROCK, "ListFoundationModels", True),
    (BEDROCK, "InvokeModel", True),
    ("bedrock-agentcore.amazonaws.com", "PutResourcePolicy", False),
]


DEMO_MARKER = ".auditor-demo"  # in a trail folder the demo wrote: it may replace it


@dataclass
class DemoTrail:
    root: Path
    month: date
    denied: int = 0
    files: int = 0
    notes: list[str] = field(default_factory=list)


def write_demo_trail(root: Path, month: date = date(2026, 10, 1), seed: int = 7) -> DemoTrail:
    """A month of trail for three accounts in two layouts, with the cases worth seeing:
    role sessions, a cross-account user, a knowledge-base policy, a denial with no
    requestParameters, an attempt two minutes before the end of the month, a hostile
    user agent, a later successful change, a region that stopped logging, digest and
    insight siblings, and one damaged log file."""
    rnd = random.Random(seed)
    out = DemoTrail(root=root, month=month)
    root.mkdir(parents=True, exist_ok=True)
    (root / DEMO_MARKER).write_text("written by `auditor demo`, which may replace this folder\n")
    prod, dev, audit = "111122223333", "444455556666", "777788889999"
    org = "o-a1b2c3d4e5"
    regions = ["us-east-1", "eu-west-1"]
    nxt = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    days = [month + timedelta(days=i) for i in range((nxt - month).days)]
    ci = assumed_role(prod, "ci-deployer", "gh-run-1")
    ci2 = assumed_role(prod, "ci-deployer", "gh-run-2")
    intruder = iam_user(dev, "contractor-bob")
    analyst = assumed_role(dev, "DataScience", "alice@example.com", path="teams/")
    t0 = datetime(month.year, month.month, 1, tzinfo=UTC)
    org_of = {prod: None, dev: org, audit: org}

    def add(acct: str, region: str, rec: dict[str, Any]) -> None:
        # Delivered in a file of its own, 7 minutes after the call (across midnight too).
        when = datetime.strptime(rec["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        write_log(
            root,
            log_key(acct, region, when + timedelta(minutes=7), org_of[acct], salt=rec["eventID"]),
            [rec],
        )
        out.files += 1

    ext_policy = policy({"AWS": "arn:aws:iam::999999999999:root"})
    for i, ident in enumerate([ci, ci2, ci]):
        add(
            prod,
            "us-east-1",
            bedrock_policy_call(
                t0 + timedelta(days=3, hours=10 + i),
                identity=ident,
                account=prod,
                region="us-east-1",
                resource_policy=ext_policy,
            ),
        )
    add(
        prod,
        "us-east-1",
        bedrock_policy_call(
            t0 + timedelta(days=12, hours=8),
            identity=intruder,
            account=prod,
            region="us-east-1",
            action="DeleteResourcePolicy",
            error="AccessDenied",
            ip="198.51.100.77",
            agent='<script>alert("xss")</script> | =HYPERLINK("http://evil") `rm -rf` [x](y)',
        ),
    )
    # The same user probing first: other denials, the enumeration signal.
    for i, (src, name, code) in enumerate(
        [
            ("iam.amazonaws.com", "ListRoles", "AccessDenied"),
            ("iam.amazonaws.com", "ListRoles", "AccessDenied"),
            (BEDROCK, "ListAgents", "AccessDeniedException"),
            (BEDROCK, "ListAgents", "AccessDeniedException"),
            ("s3.amazonaws.com", "GetBucketPolicy", "AccessDenied"),
        ]
    ):
        add(
            prod,
            "us-east-1",
            event(
                t0 + timedelta(days=12, hours=7, minutes=10 * i),
                identity=intruder,
                source=src,
                name=name,
                region="us-east-1",
                account=prod,
                error=code,
                ip="198.51.100.77",
                message=f"User: {intruder['arn']} is not authorized to perform: "
                f"{src.split('.')[0]}:{name}",
                read_only=True,
            ),
        )
    add(
        dev,
        "eu-west-1",
        bedrock_policy_call(
            t0 + timedelta(days=20, hours=15),
            identity=analyst,
            account=dev,
            region="eu-west-1",
            resource=f"arn:aws:bedrock:eu-west-1:{dev}:knowledge-base/KB0001",
            request={"policy": policy("*"), "expectedRevisionId": "3"},
        ),
    )
    add(
        dev,
        "eu-west-1",
        bedrock_policy_call(
            t0 + timedelta(days=21, hours=9),
            identity=analyst,
            account=dev,
            region="eu-west-1",
            request=None,
        ),
    )
    last = t0 + timedelta(days=len(days)) - timedelta(minutes=2)
    add(
        dev,
        "eu-west-1",
        bedrock_policy_call(
            last, identity=analyst, account=dev, region="eu-west-1", action="DeleteResourcePolicy"
        ),
    )
    add(
        dev,
        "eu-west-1",
        bedrock_policy_call(
            t0 + timedelta(days=25), identity=analyst, account=dev, region="eu-west-1", error=None
        ),
    )
    out.denied = 7
    out.notes.append(
        "7 denied attempts: 3 by one role (2 sessions), 1 cross-account user "
        "(after 5 other denials), 3 by a data-science role"
    )

    trails = [(prod, r) for r in regions] + [(dev, r) for r in regions] + [(audit, "us-east-1")]
    for acct, region in trails:
        org_id = org_of[acct]
        for day in days + [days[-1] + timedelta(days=1)]:
            if acct == audit and 9 <= day.day <= 11:
                continue  # the audit account's trail stopped for three days: a gap
            for hour in (0, 6, 12, 18):
                delivered = datetime(day.year, day.month, day.day, hour, 5, tzinfo=UTC)
                batch: list[dict[str, Any]] = []
                for _ in range(rnd.randint(20, 40)):
                    src, name, ro = rnd.choice(_NOISE)
                    when = delivered - timedelta(minutes=rnd.randint(6, 360))
                    who = rnd.choice([ci, intruder, analyst, root_user(acct)])
                    batch.append(
                        event(
                            when,
                            identity=who,
                            source=src,
                            name=name,
                            region=region,
                            account=acct,
                            read_only=ro,
                            event_id=f"{uuid.UUID(int=rnd.getrandbits(128))}",
                        )
                    )
                batch.sort(key=lambda r: r["eventTime"])
                write_log(root, log_key(acct, region, delivered, org_id), batch)
                out.files += 1
    # Siblings that are not event logs, a stray file, and one damaged log.
    digest = root / f"AWSLogs/{prod}/CloudTrail-Digest/us-east-1/{month:%Y/%m}/01/digest.json.gz"
    digest.parent.mkdir(parents=True, exist_ok=True)
    digest.write_bytes(gzip.compress(b'{"awsAccountId":"111122223333","logFiles":[]}', mtime=0))
    insight = root / f"AWSLogs/{prod}/CloudTrail-Insight/us-east-1/{month:%Y/%m}/02/x.json.gz"
    insight.parent.mkdir(parents=True, exist_ok=True)
    insight.write_bytes(
        gzip.compress(
            json.dumps(
                {
                    "Records": [
                        bedrock_policy_call(
                            t0 + timedelta(days=1), identity=ci, account=prod, region="us-east-1"
                        )
                        | {"eventType": "AwsCloudTrailInsight"}
                    ]
                }
            ).encode(),
            mtime=0,
        )
    )
    day5 = f"AWSLogs/{prod}/CloudTrail/eu-west-1/{month:%Y/%m}/05"
    (root / day5 / "README.txt").write_text("copied from the bucket by ops\n")
    damaged = root / log_key(prod, "eu-west-1", t0 + timedelta(days=4, hours=23), None)
    damaged.write_bytes(gzip.compress(b'{"Records":[{"eventVersion":"1.09"}]}')[:-12])
    out.notes.append("1 damaged file (truncated gzip), 1 stray file, digest and insight siblings")
    return out


def remove_demo_trail(root: Path) -> None:
    """Remove a trail folder `write_demo_trail` made (it holds DEMO_MARKER); refuse
    (ConfigError) a folder it did not make: the demo never deletes a user's files."""
    import shutil

    from auditor.errors import ConfigError

    if not os.path.lexists(root):
        return
    if root.is_symlink() or not root.is_dir() or not (root / DEMO_MARKER).is_file():
        raise ConfigError(
            f"demo: {root} exists and was not written by the demo; "
            "move it away or choose another --out"
        )
    shutil.rmtree(root)
