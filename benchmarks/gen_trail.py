#!/usr/bin/env python3
"""Generate a synthetic CloudTrail trail on disk, for the local-engine benchmark.

Layout (as CloudTrail writes it to S3):

    OUT/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/
        <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 alnum>.json.gz
    OUT/AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/
        <account>_CloudTrail-Digest_<region>_<trail>_<region>_<YYYYMMDDTHHmmssZ>.json.gz

Each log file is one gzip'd compact JSON object ``{"Records": [...]}`` of management
events. The folder date and the time in the file name are the delivery time: file ``k``
of a day is delivered at ``HH=k*24/files_per_day`` and minute 50-59, and holds events from
a few minutes before that hour up to a minute before delivery. So the first file of a
day holds events of the previous day's last minutes, and the trail ends with the first
file of day ``start+days`` (it holds the last minutes of the last day).

Two densities of the audited calls (Bedrock PutResourcePolicy / DeleteResourcePolicy):
``realistic`` puts them in about 1% of files, ``dense`` in nearly every file (1-3).

Ground truth: events that the rule matches (eventSource bedrock.amazonaws.com, eventName
PutResourcePolicy|DeleteResourcePolicy, errorCode AccessDenied|AccessDeniedException)
with eventTime in [start, start+days). It is written, with per-day counts (by eventTime
UTC date) and the generation parameters, to ``--manifest`` (default ``OUT.manifest.json``,
beside the trail, never inside it).

The output is a pure function of the options (``--seed`` included): each file is built
from its own RNG seeded with (seed, density, account, region, day, index).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from multiprocessing import Pool

import orjson

try:  # isal is ~3x faster than zlib at level 1; both give a standard gzip member
    from isal import igzip as _gz

    def _compress(data: bytes) -> bytes:
        return _gz.compress(data, compresslevel=1, mtime=0)

except ImportError:  # pragma: no cover
    import gzip as _gz  # type: ignore[no-redef]

    def _compress(data: bytes) -> bytes:
        return _gz.compress(data, compresslevel=1, mtime=0)


ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
TRAIL_NAME = "management-events"
MATCH_SOURCE = "bedrock.amazonaws.com"
MATCH_NAMES = ("PutResourcePolicy", "DeleteResourcePolicy")
MATCH_CODES = ("AccessDenied", "AccessDeniedException")


# --------------------------------------------------------------------------- helpers


def rstr(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choices(alphabet, k=n))


def uuid4(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def hexid(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def account_ids(seed: int, n: int) -> list[str]:
    rng = random.Random(f"accounts:{seed}")
    out: list[str] = []
    while len(out) < n:
        a = str(rng.randrange(10**11, 10**12))
        if a not in out:
            out.append(a)
    return out


def parse_regions(text: str) -> list[str]:
    return [r.strip() for r in text.split(",") if r.strip()]


# --------------------------------------------------------------------------- identities

USER_AGENTS = {
    "cli": [
        "aws-cli/2.15.30 Python/3.11.8 Linux/5.10.210-201.852.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off command/{cmd}",
        "aws-cli/2.17.4 md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#source md/prompt#off md/command#{cmd}",
    ],
    "boto3": [
        "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython exec-env/AWS_Lambda_python3.11 cfg/retry-mode#legacy Botocore/1.34.69",
        "Boto3/1.35.10 Python/3.12.5 Linux/6.1.102-111.182.amzn2023.x86_64 Botocore/1.35.10",
        "Botocore/1.34.69",
    ],
    "terraform": [
        "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/{svc}#1.152.0",
    ],
    "java": [
        "aws-sdk-java/2.25.16 Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache",
        "aws-sdk-java/1.12.652 Linux/5.10 OpenJDK_64-Bit_Server_VM/11.0.22+7-LTS java/11.0.22 vendor/Amazon.com_Inc.",
    ],
    "console": [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    ],
    "k8s": [
        "aws-sdk-go/1.50.8 (go1.21.6; linux; amd64) exec-env/kubernetes karpenter.sh-v0.34.0",
    ],
}

# (kind, name, agent family, weight). kind: role|user|service|root
IDENTITY_SPECS = [
    ("role", "OrganizationAccountAccessRole", "cli", 3),
    ("role", "AWSReservedSSO_AdministratorAccess_5f3c2a1b9d8e7f60", "console", 2),
    ("role", "AWSReservedSSO_ReadOnly_0a1b2c3d4e5f6789", "console", 2),
    ("role", "ci-deploy", "terraform", 3),
    ("role", "app-backend-task", "java", 14),
    ("role", "data-pipeline-lambda", "boto3", 12),
    ("role", "bedrock-agent-runner", "boto3", 8),
    ("role", "ml-research-notebook", "boto3", 6),
    ("role", "KarpenterNodeRole-prod", "k8s", 8),
    ("role", "SecurityAudit", "boto3", 4),
    ("user", "svc-legacy-backup", "cli", 3),
    ("user", "alice.martin", "cli", 2),
    ("user", "build-bot", "boto3", 3),
    ("service", "ec2.amazonaws.com", "service", 20),
    ("service", "lambda.amazonaws.com", "service", 18),
    ("service", "config.amazonaws.com", "service", 12),
    ("service", "cloudformation.amazonaws.com", "service", 2),
    ("root", "root", "console", 0.05),
]


class Identity:
    __slots__ = ("kind", "name", "family", "ui", "arn", "ip", "agents", "console")

    def __init__(self, kind, name, family, ui, arn, ip, agents, console):
        self.kind, self.name, self.family, self.ui = kind, name, family, ui
        self.arn, self.ip, self.agents, self.console = arn, ip, agents, console


def build_identities(rng: random.Random, acct: str, region: str, file_start: float) -> list[Identity]:
    """One identity (with this file's session credentials) per spec."""
    out: list[Identity] = []
    for kind, name, family, _w in IDENTITY_SPECS:
        ip = f"{rng.choice((3, 18, 34, 52, 54, 10, 172))}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        console = family == "console"
        if kind == "role":
            role_id = "AROA" + rstr(rng, 17, UPPER_DIGITS)
            if family == "boto3":
                session = rng.choice(("nightly-export", "orders-api", "botocore-session-" + rstr(rng, 10, "0123456789")))
            elif family == "java":
                session = hexid(rng, 32)  # ECS task id
            elif family == "k8s":
                session = "i-0" + hexid(rng, 16)
            else:
                session = "alice.martin@example.com" if console else f"{name}-{rstr(rng, 6, '0123456789')}"
            role_path = "aws-reserved/sso.amazonaws.com/" if name.startswith("AWSReservedSSO") else ""
            arn = f"arn:aws:sts::{acct}:assumed-role/{name}/{session}"
            ui = {
                "type": "AssumedRole",
                "principalId": f"{role_id}:{session}",
                "arn": arn,
                "accountId": acct,
                "accessKeyId": "ASIA" + rstr(rng, 16, UPPER_DIGITS),
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": role_id,
                        "arn": f"arn:aws:iam::{acct}:role/{role_path}{name}",
                        "accountId": acct,
                        "userName": name,
                    },
                    "attributes": {
                        "creationDate": iso(file_start - rng.randrange(60, 3 * 3600)),
                        "mfaAuthenticated": "false",
                    },
                },
            }
            if family == "k8s":
                ui["sessionContext"]["webIdFederationData"] = {
                    "federatedProvider": f"arn:aws:iam::{acct}:oidc-provider/oidc.eks.{region}"
                                         f".amazonaws.com/id/{rstr(rng, 32, UPPER_DIGITS)}",
                    "attributes": {}}
        elif kind == "user":
            uid = "AIDA" + rstr(rng, 17, UPPER_DIGITS)
            arn = f"arn:aws:iam::{acct}:user/{name}"
            ui = {
                "type": "IAMUser",
                "principalId": uid,
                "arn": arn,
                "accountId": acct,
                "accessKeyId": "AKIA" + rstr(rng, 16, UPPER_DIGITS),
                "userName": name,
            }
        elif kind == "service":
            arn = ""
            ui = {"type": "AWSService", "invokedBy": name}
            ip = name
        else:
            arn = f"arn:aws:iam::{acct}:root"
            ui = {
                "type": "Root",
                "principalId": acct,
                "arn": arn,
                "accountId": acct,
                "accessKeyId": "ASIA" + rstr(rng, 16, UPPER_DIGITS),
                "sessionContext": {
                    "attributes": {
                        "creationDate": iso(file_start - rng.randrange(60, 3600)),
                        "mfaAuthenticated": "true",
                    }
                },
            }
        agents = [name] if kind == "service" else USER_AGENTS[family]
        out.append(Identity(kind, name, family, ui, arn, ip, agents, console))
    return out


IDENTITY_WEIGHTS = [w for *_x, w in IDENTITY_SPECS]


# --------------------------------------------------------------------------- event catalogue
# Each maker returns (requestParameters, responseElements, extra fields or None).


def _inst(rng, c):
    return rng.choice(c["instances"])


def ev_describe_instances(rng, c):
    return ({"instancesSet": {"items": [{"instanceId": _inst(rng, c)} for _ in range(rng.randint(1, 3))]},
             "filterSet": {}, "includeAllInstances": False}, None, None)


def ev_describe_volumes(rng, c):
    return ({"volumeSet": {}, "filterSet": {"items": [{"name": "attachment.instance-id",
             "valueSet": {"items": [{"value": _inst(rng, c)}]}}]}}, None, None)


def ev_describe_sg(rng, c):
    return ({"securityGroupSet": {}, "securityGroupIdSet": {"items": [{"groupId": rng.choice(c["sgs"])}]},
             "filterSet": {}}, None, None)


def ev_describe_subnets(rng, c):
    return ({"subnetSet": {"items": [{"subnetId": rng.choice(c["subnets"])}]}, "filterSet": {}}, None, None)


def ev_describe_nis(rng, c):
    return ({"networkInterfaceIdSet": {}, "filterSet": {"items": [{"name": "vpc-id",
             "valueSet": {"items": [{"value": rng.choice(c["vpcs"])}]}}]}}, None, None)


def ev_describe_regions(rng, c):
    return ({"regionSet": {}, "allRegions": False}, None, None)


def ev_s3_bucket(rng, c):
    b = rng.choice(c["buckets"])
    return ({"bucketName": b, "Host": f"{b}.s3.amazonaws.com", rng.choice(("acl", "policy", "versioning",
             "location", "encryption", "publicAccessBlock", "ownershipControls")): ""}, None,
            {"additionalEventData": {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
             "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2":
             rstr(rng, 76, ALNUM + "+/") + "=", "bytesTransferredOut": rng.randrange(100, 2000)},
             "resources": [{"accountId": c["acct"], "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{b}"}]})


def ev_list_buckets(rng, c):
    return ({"Host": "s3.amazonaws.com"}, None, {"additionalEventData": {"SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": rstr(rng, 76, ALNUM + "+/") + "=", "bytesTransferredOut": rng.randrange(2000, 9000)}})


def ev_assume_role(rng, c):
    role = rng.choice(c["roles"])
    sess = f"{role}-{rstr(rng, 10, '0123456789')}"
    key = "ASIA" + rstr(rng, 16, UPPER_DIGITS)
    rid = "AROA" + rstr(rng, 17, UPPER_DIGITS)
    return ({"roleArn": f"arn:aws:iam::{c['acct']}:role/{role}", "roleSessionName": sess, "durationSeconds": 3600},
            {"credentials": {"accessKeyId": key, "sessionToken": rstr(rng, 120, ALNUM + "+/"),
             "expiration": "Mar 1, 2026, 1:00:00 AM"},
             "assumedRoleUser": {"assumedRoleId": f"{rid}:{sess}",
                                 "arn": f"arn:aws:sts::{c['acct']}:assumed-role/{role}/{sess}"}},
            {"resources": [{"accountId": c["acct"], "type": "AWS::IAM::Role",
                            "ARN": f"arn:aws:iam::{c['acct']}:role/{role}"}],
             "sharedEventID": uuid4(rng)})


def ev_get_caller(rng, c):
    return (None, None, None)


def ev_kms(rng, c):
    key = rng.choice(c["keys"])
    rp = {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {
        "aws:lambda:FunctionArn": f"arn:aws:lambda:{c['region']}:{c['acct']}:function:{rng.choice(c['functions'])}"}}
    if rng.random() < 0.5:
        rp = {"keyId": key, "keySpec": "AES_256", "encryptionContext": {
            "aws:s3:arn": f"arn:aws:s3:::{rng.choice(c['buckets'])}/data/{hexid(rng, 12)}.parquet"}}
    return (rp, None, {"resources": [{"accountId": c["acct"], "type": "AWS::KMS::Key", "ARN": key}]})


def ev_iam_list(rng, c):
    return ({"maxItems": 100, "pathPrefix": "/"} if rng.random() < 0.5 else {"roleName": rng.choice(c["roles"])},
            None, None)


def ev_bedrock_invoke(rng, c):
    m = rng.choice(("anthropic.claude-3-5-sonnet-20240620-v1:0", "amazon.titan-embed-text-v2:0",
                    "anthropic.claude-3-haiku-20240307-v1:0", "meta.llama3-1-70b-instruct-v1:0"))
    return ({"modelId": f"arn:aws:bedrock:{c['region']}::foundation-model/{m}"}, None,
            {"additionalEventData": {"inferenceRegion": c["region"]}})


def ev_bedrock_list(rng, c):
    return ({"byOutputModality": "TEXT"} if rng.random() < 0.3 else None, None, None)


def ev_bedrock_get_agent(rng, c):
    return ({"agentId": rng.choice(c["agents"])}, None, None)


def ev_lambda(rng, c):
    return ({"functionName": f"arn:aws:lambda:{c['region']}:{c['acct']}:function:{rng.choice(c['functions'])}"},
            None, None)


def ev_logs(rng, c):
    return ({"logGroupName": f"/aws/lambda/{rng.choice(c['functions'])}",
             "logStreamName": f"2026/10/01/[$LATEST]{hexid(rng, 32)}"}, None, None)


def ev_cw(rng, c):
    return ({"metricDataQueries": [{"id": "m1", "metricStat": {"metric": {"namespace": "AWS/EC2",
             "metricName": "CPUUtilization", "dimensions": [{"name": "InstanceId", "value": _inst(rng, c)}]},
             "period": 300, "stat": "Average"}}], "startTime": "Oct 1, 2026, 12:00:00 AM",
             "endTime": "Oct 1, 2026, 1:00:00 AM"}, None, None)


def ev_ssm(rng, c):
    if rng.random() < 0.5:
        return ({"name": f"/app/prod/{rng.choice(('db-host', 'feature-flags', 'api-endpoint'))}",
                 "withDecryption": True}, None, None)
    return ({"instanceId": _inst(rng, c), "agentVersion": "3.3.380.0", "agentStatus": "Active",
             "platformType": "Linux", "platformName": "Amazon Linux", "platformVersion": "2023",
             "iPAddress": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
             "computerName": f"ip-10-0-{rng.randrange(256)}-{rng.randrange(256)}.ec2.internal",
             "agentName": "amazon-ssm-agent", "availabilityZone": c["region"] + "a"}, None, None)


def ev_dynamo(rng, c):
    return ({"tableName": rng.choice(("orders", "sessions", "feature-store", "audit-log"))}, None, None)


def ev_secrets(rng, c):
    return ({"secretId": f"arn:aws:secretsmanager:{c['region']}:{c['acct']}:secret:prod/db-{rstr(rng, 6)}"},
            None, None)


# (eventSource, eventName, readOnly, maker, weight, eventVersion)
CATALOGUE = [
    ("ec2.amazonaws.com", "DescribeInstances", True, ev_describe_instances, 12, "1.09"),
    ("ec2.amazonaws.com", "DescribeVolumes", True, ev_describe_volumes, 5, "1.09"),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", True, ev_describe_sg, 5, "1.09"),
    ("ec2.amazonaws.com", "DescribeSubnets", True, ev_describe_subnets, 3, "1.09"),
    ("ec2.amazonaws.com", "DescribeNetworkInterfaces", True, ev_describe_nis, 4, "1.09"),
    ("ec2.amazonaws.com", "DescribeRegions", True, ev_describe_regions, 2, "1.09"),
    ("s3.amazonaws.com", "GetBucketAcl", True, ev_s3_bucket, 5, "1.10"),
    ("s3.amazonaws.com", "GetBucketPolicy", True, ev_s3_bucket, 3, "1.10"),
    ("s3.amazonaws.com", "GetBucketVersioning", True, ev_s3_bucket, 3, "1.10"),
    ("s3.amazonaws.com", "GetBucketLocation", True, ev_s3_bucket, 3, "1.10"),
    ("s3.amazonaws.com", "ListBuckets", True, ev_list_buckets, 2, "1.10"),
    ("sts.amazonaws.com", "AssumeRole", False, ev_assume_role, 10, "1.08"),
    ("sts.amazonaws.com", "GetCallerIdentity", True, ev_get_caller, 3, "1.08"),
    ("kms.amazonaws.com", "Decrypt", True, ev_kms, 12, "1.08"),
    ("kms.amazonaws.com", "GenerateDataKey", True, ev_kms, 6, "1.08"),
    ("iam.amazonaws.com", "ListRoles", True, ev_iam_list, 2, "1.08"),
    ("iam.amazonaws.com", "GetRole", True, ev_iam_list, 2, "1.08"),
    ("iam.amazonaws.com", "ListAttachedRolePolicies", True, ev_iam_list, 2, "1.08"),
    ("bedrock.amazonaws.com", "InvokeModel", True, ev_bedrock_invoke, 4, "1.09"),
    ("bedrock.amazonaws.com", "Converse", True, ev_bedrock_invoke, 2, "1.09"),
    ("bedrock.amazonaws.com", "ListFoundationModels", True, ev_bedrock_list, 1, "1.09"),
    ("bedrock.amazonaws.com", "GetAgent", True, ev_bedrock_get_agent, 1, "1.09"),
    ("lambda.amazonaws.com", "GetFunction20150331v2", True, ev_lambda, 2, "1.08"),
    ("logs.amazonaws.com", "CreateLogStream", False, ev_logs, 3, "1.08"),
    ("monitoring.amazonaws.com", "GetMetricData", True, ev_cw, 3, "1.08"),
    ("ssm.amazonaws.com", "GetParameter", True, ev_ssm, 2, "1.08"),
    ("ssm.amazonaws.com", "UpdateInstanceInformation", False, ev_ssm, 3, "1.08"),
    ("dynamodb.amazonaws.com", "DescribeTable", True, ev_dynamo, 2, "1.08"),
    ("secretsmanager.amazonaws.com", "GetSecretValue", True, ev_secrets, 1, "1.08"),
]
CAT_WEIGHTS = [x[4] for x in CATALOGUE]
SERVICE_CALLS = {  # what AWSService identities call
    "ec2.amazonaws.com": [i for i, x in enumerate(CATALOGUE) if x[0] in ("kms.amazonaws.com", "sts.amazonaws.com")],
    "lambda.amazonaws.com": [i for i, x in enumerate(CATALOGUE) if x[0] in ("kms.amazonaws.com", "sts.amazonaws.com")],
    "config.amazonaws.com": [i for i, x in enumerate(CATALOGUE) if x[1].startswith(("Describe", "GetBucket", "List"))],
    "cloudformation.amazonaws.com": [i for i, x in enumerate(CATALOGUE) if x[0] in ("ec2.amazonaws.com",)],
}


def ordinary_error(rng, src, name, ident, c):
    """An ordinary failure, as real trails carry a couple of percent of them."""
    svc = src.split(".")[0]
    if svc == "ec2":
        if rng.random() < 0.3:
            return "Client.RequestLimitExceeded", "Request limit exceeded."
        return ("Client.UnauthorizedOperation", "You are not authorized to perform this operation. "
                "User: " + (ident.arn or "-") + " is not authorized to perform: ec2:" + name +
                " because no identity-based policy allows the ec2:" + name + " action")
    if svc == "s3":
        return "AccessDenied", "Access Denied"
    if svc in ("kms", "bedrock", "secretsmanager", "dynamodb", "logs", "ssm", "lambda"):
        if rng.random() < 0.25:
            return "ThrottlingException", "Rate exceeded"
        res = (f"arn:aws:{svc}:{c['region']}:{c['acct']}:*")
        return ("AccessDeniedException", f"User: {ident.arn} is not authorized to perform: {svc}:{name} on "
                f"resource: {res} because no identity-based policy allows the {svc}:{name} action")
    if svc == "sts":
        return ("AccessDenied", f"User: {ident.arn} is not authorized to perform: sts:{name} on resource: "
                f"arn:aws:iam::{c['acct']}:role/{rng.choice(c['roles'])}")
    return ("AccessDenied", f"User: {ident.arn} is not authorized to perform: {svc}:{name} on resource: "
            f"arn:aws:iam::{c['acct']}:role/* because no identity-based policy allows the {svc}:{name} action")


# --------------------------------------------------------------------------- resource-policy events


def _policy(rng, c, resource_arn):
    principal = rng.choice([
        {"AWS": f"arn:aws:iam::{c['acct']}:role/bedrock-agent-runner"},
        {"AWS": f"arn:aws:iam::{rng.randrange(10**11, 10**12)}:root"},
        {"AWS": "*"},
        {"Service": "lambda.amazonaws.com"},
    ])
    doc = {"Version": "2012-10-17", "Statement": [{"Sid": "AllowInvoke", "Effect": "Allow",
           "Principal": principal, "Action": ["bedrock:InvokeAgent", "bedrock:GetAgent"],
           "Resource": resource_arn}]}
    return json.dumps(doc, separators=(",", ":"))


def resource_policy_event(rng, c, ident, kind: str):
    """kind: 'denied' (matches the rule), 'ok' (succeeded), or a decoy that must not match."""
    acct, region = c["acct"], c["region"]
    agent = rng.choice(c["agents"])
    res_kind = rng.random()
    if res_kind < 0.6:
        res = f"arn:aws:bedrock:{region}:{acct}:agent/{agent}"
    elif res_kind < 0.85:
        res = f"arn:aws:bedrock:{region}:{acct}:agent-alias/{agent}/{rstr(rng, 10, UPPER_DIGITS)}"
    else:
        res = f"arn:aws:bedrock:{region}:{acct}:custom-model/{rstr(rng, 12, 'abcdefghijklmnopqrstuvwxyz0123456789')}"
    src = MATCH_SOURCE
    name = rng.choice(MATCH_NAMES) if kind != "denied" else ("PutResourcePolicy" if rng.random() < 0.7
                                                              else "DeleteResourcePolicy")
    err = None
    if kind == "decoy":  # near misses: other service, other error, other call
        d = rng.randrange(4)
        if d == 0:
            src, name = "bedrock-agentcore.amazonaws.com", "PutResourcePolicy"
            res = f"arn:aws:bedrock-agentcore:{region}:{acct}:runtime/{rstr(rng, 10)}"
            err = "AccessDeniedException"
        elif d == 1:
            src, name = "secretsmanager.amazonaws.com", "PutResourcePolicy"
            res = f"arn:aws:secretsmanager:{region}:{acct}:secret:prod/db-{rstr(rng, 6)}"
            err = "AccessDeniedException"
        elif d == 2:
            err = "ValidationException"
        else:
            name, err = "GetResourcePolicy", "AccessDeniedException"
    elif kind == "denied":
        err = "AccessDeniedException" if rng.random() < 0.85 else "AccessDenied"
    svc = src.split(".")[0]
    if name == "DeleteResourcePolicy" or name == "GetResourcePolicy":
        rp = {"resourceArn": res}
    else:
        rp = {"resourceArn": res, "resourcePolicy": _policy(rng, c, res)}
    if kind == "denied" and rng.random() < 0.12:  # ARN only in the message, as in real trails
        rp = None
    if err is None:
        return src, name, rp, None, None, None
    if err == "ValidationException":
        msg = "1 validation error detected: Value at 'resourcePolicy' failed to satisfy constraint"
    else:
        why = (" with an explicit deny in a service control policy" if rng.random() < 0.15
               else f" because no identity-based policy allows the {svc}:{name} action")
        msg = f"User: {ident.arn} is not authorized to perform: {svc}:{name} on resource: {res}{why}"
    return src, name, rp, None, err, msg


# --------------------------------------------------------------------------- one file


def account_context(seed: int, acct: str, region: str) -> dict:
    rng = random.Random(f"ctx:{seed}:{acct}:{region}")
    return {
        "acct": acct,
        "region": region,
        "buckets": [f"{p}-{acct}-{region}" for p in ("app-assets", "data-lake-raw", "cloudtrail-logs",
                                                     "ml-artifacts", "backups")],
        "keys": [f"arn:aws:kms:{region}:{acct}:key/{uuid4(rng)}" for _ in range(4)],
        "roles": [s[1] for s in IDENTITY_SPECS if s[0] == "role"],
        "functions": ["orders-api", "image-resize", "nightly-export", "agent-action-group"],
        "agents": [rstr(rng, 10, UPPER_DIGITS) for _ in range(5)],
        "instances": ["i-0" + hexid(rng, 16) for _ in range(40)],
        "sgs": ["sg-0" + hexid(rng, 16) for _ in range(12)],
        "subnets": ["subnet-0" + hexid(rng, 16) for _ in range(6)],
        "vpcs": ["vpc-0" + hexid(rng, 16) for _ in range(2)],
    }


def build_file(task: dict) -> dict:
    """Generate, compress and write one log file. Returns its statistics."""
    seed, density, acct, region = task["seed"], task["density"], task["acct"], task["region"]
    day = date.fromisoformat(task["day"])
    k, fpd, rpf = task["index"], task["files_per_day"], task["records_per_file"]
    lo, hi = task["range_lo"], task["range_hi"]
    rng = random.Random(f"file:{seed}:{density}:{acct}:{region}:{day.isoformat()}:{k}")
    c = account_context(seed, acct, region)

    day0 = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    slot = 86400 / fpd
    slot_start = day0 + k * slot
    deliver = slot_start + slot - rng.randint(1, 10) * 60  # minute 50-59 of the slot's last hour
    deliver -= deliver % 60
    win_lo = slot_start - rng.randint(2, 6) * 60 - rng.randrange(60)
    win_hi = deliver - 60

    idents = build_identities(rng, acct, region, win_lo)
    n = rng.randint(int(rpf * 0.8), int(rpf * 1.2))
    times = sorted(rng.uniform(win_lo, win_hi) for _ in range(n))

    # audited calls in this file
    n_rp = 0
    if density == "dense":
        if rng.random() < 0.97:
            n_rp = rng.randint(1, 3)
    elif rng.random() < 0.01:
        n_rp = rng.randint(1, 3)
    n_decoy = 1 if rng.random() < (0.2 if density == "dense" else 0.008) else 0
    force = task.get("force_boundary")  # trail-edge files: one denial each side of midnight
    special: dict[int, str] = {}
    for _ in range(n_rp):
        special[rng.randrange(n)] = "denied" if rng.random() < 0.65 else "ok"
    for _ in range(n_decoy):
        special.setdefault(rng.randrange(n), "decoy")
    if force:
        for i, t in enumerate(times):
            if t < day0:
                special[i] = "denied"
                break
        for i in range(n - 1, -1, -1):
            if times[i] >= day0:
                special[i] = "denied"
                break

    tls = {}
    records = []
    denied_by_day: Counter = Counter()
    principals: set[str] = set()
    cat_idx = rng.choices(range(len(CATALOGUE)), weights=CAT_WEIGHTS, k=n)
    who = rng.choices(range(len(idents)), weights=IDENTITY_WEIGHTS, k=n)
    for i in range(n):
        ident = idents[who[i]]
        ev_time = times[i]
        sp = special.get(i)
        if sp is not None:
            while ident.kind not in ("role", "user"):
                ident = idents[rng.choices(range(len(idents)), weights=IDENTITY_WEIGHTS)[0]]
            src, name, rp, resp, err, msg = resource_policy_event(rng, c, ident, sp)
            extra = None
            ro, ver = name.startswith("Get"), "1.09"
        else:
            ci = cat_idx[i]
            if ident.kind == "service":
                ci = rng.choice(SERVICE_CALLS[ident.name])
            src, name, ro, maker, _w, ver = CATALOGUE[ci]
            rp, resp, extra = maker(rng, c)
            err = msg = None
            if ident.kind != "service" and rng.random() < 0.02:
                err, msg = ordinary_error(rng, src, name, ident, c)
        agent = rng.choice(ident.agents)
        if "{" in agent:
            agent = agent.replace("{cmd}", f"{src.split('.')[0]}.{name.lower()}").replace("{svc}", src.split(".")[0])
        rec = {
            "eventVersion": ver,
            "userIdentity": ident.ui,
            "eventTime": iso(ev_time),
            "eventSource": src,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": ident.ip if rng.random() > 0.01 else "AWS Internal",
            "userAgent": agent,
        }
        if err is not None:
            rec["errorCode"] = err
            rec["errorMessage"] = msg
        rec["requestParameters"] = rp
        rec["responseElements"] = resp
        if extra:
            if "additionalEventData" in extra:
                rec["additionalEventData"] = extra["additionalEventData"]
        rec["requestID"] = uuid4(rng) if src != "s3.amazonaws.com" else rstr(rng, 16, UPPER_DIGITS)
        rec["eventID"] = uuid4(rng)
        rec["readOnly"] = ro
        if extra and "resources" in extra:
            rec["resources"] = extra["resources"]
        rec["eventType"] = "AwsApiCall"
        rec["managementEvent"] = True
        rec["recipientAccountId"] = acct
        if extra and "sharedEventID" in extra:
            rec["sharedEventID"] = extra["sharedEventID"]
        rec["eventCategory"] = "Management"
        if ident.kind != "service":
            host = tls.get(src)
            if host is None:
                host = tls[src] = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                                   "clientProvidedHostHeader": f"{src.split('.')[0]}.{region}.amazonaws.com"}
            rec["tlsDetails"] = host
        if ident.console:
            rec["sessionCredentialFromConsole"] = "true"
        records.append(rec)
        if (sp == "denied" and src == MATCH_SOURCE and name in MATCH_NAMES and err in MATCH_CODES
                and lo <= ev_time < hi):
            denied_by_day[iso(ev_time)[:10]] += 1
            principals.add(ident.arn)

    raw = orjson.dumps({"Records": records})
    gz = _compress(raw)
    stamp = time.strftime("%Y%m%dT%H%MZ", time.gmtime(deliver))
    folder = os.path.join(task["out"], "AWSLogs", acct, "CloudTrail", region, day.strftime("%Y/%m/%d"))
    fname = f"{acct}_CloudTrail_{region}_{stamp}_{rstr(rng, 16)}.json.gz"
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, fname)
    with open(path, "wb") as fh:
        fh.write(gz)
    return {
        "path": os.path.relpath(path, task["out"]),
        "acct": acct, "region": region,
        "deliver": deliver, "oldest": times[0] if n else win_lo, "newest": times[-1] if n else win_hi,
        "gz": len(gz), "raw": len(raw), "records": n,
        "has_rp": bool(n_rp or force), "sha256": hashlib.sha256(gz).hexdigest(),
        "denied_by_day": dict(denied_by_day), "principals": sorted(principals),
    }


# --------------------------------------------------------------------------- digests


def write_digests(out: str, bucket: str, results: list[dict], seed: int) -> int:
    """Hourly CloudTrail-Digest files per account/region: must never be read as events."""
    rng = random.Random(f"digest:{seed}")
    by_key: dict[tuple, list[dict]] = {}
    for r in results:
        hour = int(r["deliver"] // 3600) * 3600
        by_key.setdefault((r["acct"], r["region"], hour), []).append(r)
    n = 0
    prev: dict[tuple, str] = {}
    for (acct, region, hour), files in sorted(by_key.items()):
        end = hour + 3600
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(end + 1800))
        folder = os.path.join(out, "AWSLogs", acct, "CloudTrail-Digest", region,
                              time.strftime("%Y/%m/%d", time.gmtime(end + 1800)))
        name = f"{acct}_CloudTrail-Digest_{region}_{TRAIL_NAME}_{region}_{stamp}.json.gz"
        key = os.path.relpath(os.path.join(folder, name), out)
        doc = {
            "awsAccountId": acct,
            "digestStartTime": iso(hour), "digestEndTime": iso(end),
            "digestS3Bucket": bucket, "digestS3Object": key,
            "digestPublicKeyFingerprint": hexid(rng, 32),
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": iso(max(f["newest"] for f in files)),
            "oldestEventTime": iso(min(f["oldest"] for f in files)),
            "previousDigestS3Bucket": bucket if (acct, region) in prev else None,
            "previousDigestS3Object": prev.get((acct, region)),
            "previousDigestHashValue": hexid(rng, 64) if (acct, region) in prev else None,
            "previousDigestHashAlgorithm": "SHA-256" if (acct, region) in prev else None,
            "previousDigestSignature": hexid(rng, 128) if (acct, region) in prev else None,
            "logFiles": [{"s3Bucket": bucket, "s3Object": f["path"], "hashValue": f["sha256"],
                          "hashAlgorithm": "SHA-256", "newestEventTime": iso(f["newest"]),
                          "oldestEventTime": iso(f["oldest"])} for f in files],
        }
        prev[(acct, region)] = key
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(_compress(orjson.dumps(doc)))
        n += 1
    return n


# --------------------------------------------------------------------------- main


def make_tasks(args) -> list[dict]:
    start = date.fromisoformat(args.start)
    lo = datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()
    hi = lo + args.days * 86400
    accts = account_ids(args.seed, args.accounts)
    regions = parse_regions(args.regions)
    tasks = []
    base = {"seed": args.seed, "density": args.density, "out": args.out,
            "files_per_day": args.files_per_day, "records_per_file": args.records_per_file,
            "range_lo": lo, "range_hi": hi}
    for d in range(args.days + 1):  # + the first file of the next day (last day's tail)
        day = (start + timedelta(days=d)).isoformat()
        for acct in accts:
            for region in regions:
                last = 1 if d == args.days else args.files_per_day
                for k in range(last):
                    edge = (d == 0 and k == 0) or d == args.days
                    tasks.append(dict(base, acct=acct, region=region, day=day, index=k,
                                      force_boundary=edge))
    return tasks


def params_of(args) -> dict:
    return {"density": args.density, "seed": args.seed, "start": args.start, "days": args.days,
            "files_per_day": args.files_per_day, "records_per_file": args.records_per_file,
            "accounts": args.accounts, "regions": args.regions, "digests": not args.no_digests,
            "generator_version": 2}


def generate(args) -> dict:
    t0 = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)
    if os.listdir(args.out):
        raise SystemExit(f"gen_trail: {args.out} is not empty; remove it or choose another --out")
    manifest_path = args.manifest or args.out.rstrip("/") + ".manifest.json"
    if os.path.exists(manifest_path):
        os.remove(manifest_path)
    tasks = make_tasks(args)
    workers = max(1, min(args.workers, len(tasks)))
    if workers == 1:
        results = [build_file(t) for t in tasks]
    else:
        with Pool(workers) as pool:
            results = list(pool.imap(build_file, tasks, chunksize=8))
    digests = 0 if args.no_digests else write_digests(args.out, f"aws-cloudtrail-logs-{args.seed}", results,
                                                      args.seed)
    denied_by_day: Counter = Counter()
    principals: set[str] = set()
    for r in results:
        denied_by_day.update(r["denied_by_day"])
        principals.update(r["principals"])
    elapsed = time.perf_counter() - t0
    summary = {
        "params": params_of(args),
        "files": len(results),
        "digest_files": digests,
        "files_with_resource_policy_calls": sum(r["has_rp"] for r in results),
        "compressed_bytes": sum(r["gz"] for r in results),
        "uncompressed_bytes": sum(r["raw"] for r in results),
        "records": sum(r["records"] for r in results),
        "range": {"from": args.start,
                  "to": (date.fromisoformat(args.start) + timedelta(days=args.days - 1)).isoformat()},
        "denied_total": sum(denied_by_day.values()),
        "denied_by_day": dict(sorted(denied_by_day.items())),
        "denied_principals": sorted(principals),
        "accounts": account_ids(args.seed, args.accounts),
        "elapsed_s": round(elapsed, 2),
    }
    tmp = manifest_path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(summary, fh, indent=1)
    os.replace(tmp, manifest_path)  # written last: its presence means the trail is complete
    summary["manifest"] = manifest_path
    return summary


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="trail root (gets AWSLogs/...); must be empty or absent")
    p.add_argument("--density", choices=("realistic", "dense"), default="realistic")
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--start", default="2026-10-01", help="first day (UTC), YYYY-MM-DD")
    p.add_argument("--files-per-day", type=int, default=24)
    p.add_argument("--records-per-file", type=int, default=700)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--accounts", type=int, default=1)
    p.add_argument("--regions", default="us-east-1,eu-west-1", help="comma-separated")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--no-digests", action="store_true", help="skip CloudTrail-Digest files")
    p.add_argument("--manifest", help="ground-truth JSON (default: OUT.manifest.json)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    date.fromisoformat(args.start)
    if args.days < 1 or args.files_per_day < 1 or args.files_per_day > 1440 or args.accounts < 1:
        raise SystemExit("gen_trail: --days, --files-per-day (1-1440) and --accounts must be positive")
    s = generate(args)
    print(f"gen_trail: {s['params']['density']}: files={s['files']} (+{s['digest_files']} digests) "
          f"compressed={s['compressed_bytes'] / 1e6:.1f} MB uncompressed={s['uncompressed_bytes'] / 1e9:.3f} GB "
          f"records={s['records']} denied={s['denied_total']} ({s['range']['from']}..{s['range']['to']}) "
          f"files_with_rp_calls={s['files_with_resource_policy_calls']} elapsed={s['elapsed_s']:.1f}s "
          f"manifest={s['manifest']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
