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

Trail kinds (``--trail``; ``--density`` is the old name), see KINDS: ``realistic`` puts the
audited calls (Bedrock PutResourcePolicy / DeleteResourcePolicy) in about 1% of files,
``dense`` in nearly every file (1-3); ``many-services`` adds other services'
resource-policy calls (Get/Put/Delete, mostly under the same names) to nearly every file;
``storm-sparse`` and ``storm-dense`` make two thirds of the records an error storm (jobs,
scanners, many principals), over 4 accounts x 2 regions, with the calls of ``realistic``
resp. ``many-services``. ``realistic`` and ``dense`` are byte-identical to version 2.

Ground truth: events that the rule matches (eventSource bedrock.amazonaws.com, eventName
PutResourcePolicy|DeleteResourcePolicy, errorCode AccessDenied|AccessDeniedException)
with eventTime in [start, start+days). It is written, with per-day counts (by eventTime
UTC date) and the generation parameters, to ``--manifest`` (default ``OUT.manifest.json``,
beside the trail, never inside it).

The output is a pure function of the options (``--seed`` included): each file is built
from its own RNG seeded with (seed, kind, account, region, day, index). The rule is applied
to every record written, so decoys and storms can never skew the count.
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


# --------------------------------------------------------------------------- trail kinds
# Per kind: the share of files holding 1-3 Bedrock Put/DeleteResourcePolicy calls
# (`rp_files`), of files holding decoys (`decoy_files`, up to `decoys_max` each, of
# `decoy_types` kinds: the first 4 are the v2 decoys), other services' resource-policy
# calls (`other_rp`: (min, max) per file, in 97% of files), the share of records that
# belong to an error storm (`storm`), the chance that an ordinary call of a user or
# role fails (`error_rate`), and the default trail shape. `realistic` and `dense` are
# byte-identical to generator version 2: their RNG draws are unchanged.

KINDS: dict[str, dict] = {
    "realistic": {
        "rp_files": 0.01,
        "decoy_files": 0.008,
        "decoys_max": 1,
        "decoy_types": 4,
        "other_rp": (0, 0),
        "storm": 0.0,
        "error_rate": 0.02,
        "accounts": 1,
        "regions": "us-east-1,eu-west-1",
        "files_per_day": 24,
        "records_per_file": 700,
    },
    "dense": {
        "rp_files": 0.97,
        "decoy_files": 0.2,
        "decoys_max": 1,
        "decoy_types": 4,
        "other_rp": (0, 0),
        "storm": 0.0,
        "error_rate": 0.02,
        "accounts": 1,
        "regions": "us-east-1,eu-west-1",
        "files_per_day": 24,
        "records_per_file": 700,
    },
    "many-services": {
        "rp_files": 0.97,
        "decoy_files": 0.5,
        "decoys_max": 3,
        "decoy_types": 8,
        "other_rp": (6, 30),
        "storm": 0.0,
        "error_rate": 0.05,
        "accounts": 1,
        "regions": "us-east-1,eu-west-1",
        "files_per_day": 24,
        "records_per_file": 650,
    },
    "storm-sparse": {
        "rp_files": 0.01,
        "decoy_files": 0.05,
        "decoys_max": 2,
        "decoy_types": 8,
        "other_rp": (0, 0),
        "storm": 0.66,
        "error_rate": 0.05,
        "accounts": 4,
        "regions": "us-east-1,eu-west-1",
        "files_per_day": 6,
        "records_per_file": 570,
    },
    "storm-dense": {
        "rp_files": 0.97,
        "decoy_files": 0.5,
        "decoys_max": 3,
        "decoy_types": 8,
        "other_rp": (6, 30),
        "storm": 0.66,
        "error_rate": 0.05,
        "accounts": 4,
        "regions": "us-east-1,eu-west-1",
        "files_per_day": 6,
        "records_per_file": 570,
    },
}
SHAPE_KEYS = ("accounts", "regions", "files_per_day", "records_per_file")


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


def build_identities(
    rng: random.Random, acct: str, region: str, file_start: float
) -> list[Identity]:
    """One identity (with this file's session credentials) per spec."""
    return [
        make_identity(rng, acct, region, file_start, kind, name, family)
        for kind, name, family, _w in IDENTITY_SPECS
    ]


def make_identity(
    rng: random.Random, acct: str, region: str, file_start: float, kind: str, name: str, family: str
) -> Identity:
    """One principal of account `acct` with this file's session credentials."""
    ip = f"{rng.choice((3, 18, 34, 52, 54, 10, 172))}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    console = family == "console"
    if kind == "role":
        role_id = "AROA" + rstr(rng, 17, UPPER_DIGITS)
        if family == "boto3":
            session = rng.choice(
                ("nightly-export", "orders-api", "botocore-session-" + rstr(rng, 10, "0123456789"))
            )
        elif family == "java":
            session = hexid(rng, 32)  # ECS task id
        elif family == "k8s":
            session = "i-0" + hexid(rng, 16)
        else:
            session = (
                "alice.martin@example.com" if console else f"{name}-{rstr(rng, 6, '0123456789')}"
            )
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
                "attributes": {},
            }
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
    return Identity(kind, name, family, ui, arn, ip, agents, console)


IDENTITY_WEIGHTS = [w for *_x, w in IDENTITY_SPECS]


# --------------------------------------------------------------------------- event catalogue
# Each maker returns (requestParameters, responseElements, extra fields or None).


def _inst(rng, c):
    return rng.choice(c["instances"])


def ev_describe_instances(rng, c):
    return (
        {
            "instancesSet": {
                "items": [{"instanceId": _inst(rng, c)} for _ in range(rng.randint(1, 3))]
            },
            "filterSet": {},
            "includeAllInstances": False,
        },
        None,
        None,
    )


def ev_describe_volumes(rng, c):
    return (
        {
            "volumeSet": {},
            "filterSet": {
                "items": [
                    {
                        "name": "attachment.instance-id",
                        "valueSet": {"items": [{"value": _inst(rng, c)}]},
                    }
                ]
            },
        },
        None,
        None,
    )


def ev_describe_sg(rng, c):
    return (
        {
            "securityGroupSet": {},
            "securityGroupIdSet": {"items": [{"groupId": rng.choice(c["sgs"])}]},
            "filterSet": {},
        },
        None,
        None,
    )


def ev_describe_subnets(rng, c):
    return (
        {"subnetSet": {"items": [{"subnetId": rng.choice(c["subnets"])}]}, "filterSet": {}},
        None,
        None,
    )


def ev_describe_nis(rng, c):
    return (
        {
            "networkInterfaceIdSet": {},
            "filterSet": {
                "items": [
                    {"name": "vpc-id", "valueSet": {"items": [{"value": rng.choice(c["vpcs"])}]}}
                ]
            },
        },
        None,
        None,
    )


def ev_describe_regions(rng, c):
    return ({"regionSet": {}, "allRegions": False}, None, None)


def ev_s3_bucket(rng, c):
    b = rng.choice(c["buckets"])
    return (
        {
            "bucketName": b,
            "Host": f"{b}.s3.amazonaws.com",
            rng.choice(
                (
                    "acl",
                    "policy",
                    "versioning",
                    "location",
                    "encryption",
                    "publicAccessBlock",
                    "ownershipControls",
                )
            ): "",
        },
        None,
        {
            "additionalEventData": {
                "SignatureVersion": "SigV4",
                "CipherSuite": "TLS_AES_128_GCM_SHA256",
                "bytesTransferredIn": 0,
                "AuthenticationMethod": "AuthHeader",
                "x-amz-id-2": rstr(rng, 76, ALNUM + "+/") + "=",
                "bytesTransferredOut": rng.randrange(100, 2000),
            },
            "resources": [
                {"accountId": c["acct"], "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{b}"}
            ],
        },
    )


def ev_list_buckets(rng, c):
    return (
        {"Host": "s3.amazonaws.com"},
        None,
        {
            "additionalEventData": {
                "SignatureVersion": "SigV4",
                "CipherSuite": "TLS_AES_128_GCM_SHA256",
                "bytesTransferredIn": 0,
                "AuthenticationMethod": "AuthHeader",
                "x-amz-id-2": rstr(rng, 76, ALNUM + "+/") + "=",
                "bytesTransferredOut": rng.randrange(2000, 9000),
            }
        },
    )


def ev_assume_role(rng, c):
    role = rng.choice(c["roles"])
    sess = f"{role}-{rstr(rng, 10, '0123456789')}"
    key = "ASIA" + rstr(rng, 16, UPPER_DIGITS)
    rid = "AROA" + rstr(rng, 17, UPPER_DIGITS)
    return (
        {
            "roleArn": f"arn:aws:iam::{c['acct']}:role/{role}",
            "roleSessionName": sess,
            "durationSeconds": 3600,
        },
        {
            "credentials": {
                "accessKeyId": key,
                "sessionToken": rstr(rng, 120, ALNUM + "+/"),
                "expiration": "Mar 1, 2026, 1:00:00 AM",
            },
            "assumedRoleUser": {
                "assumedRoleId": f"{rid}:{sess}",
                "arn": f"arn:aws:sts::{c['acct']}:assumed-role/{role}/{sess}",
            },
        },
        {
            "resources": [
                {
                    "accountId": c["acct"],
                    "type": "AWS::IAM::Role",
                    "ARN": f"arn:aws:iam::{c['acct']}:role/{role}",
                }
            ],
            "sharedEventID": uuid4(rng),
        },
    )


def ev_get_caller(rng, c):
    return (None, None, None)


def ev_kms(rng, c):
    key = rng.choice(c["keys"])
    rp = {
        "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
        "encryptionContext": {
            "aws:lambda:FunctionArn": f"arn:aws:lambda:{c['region']}:{c['acct']}:function:{rng.choice(c['functions'])}"
        },
    }
    if rng.random() < 0.5:
        rp = {
            "keyId": key,
            "keySpec": "AES_256",
            "encryptionContext": {
                "aws:s3:arn": f"arn:aws:s3:::{rng.choice(c['buckets'])}/data/{hexid(rng, 12)}.parquet"
            },
        }
    return (
        rp,
        None,
        {"resources": [{"accountId": c["acct"], "type": "AWS::KMS::Key", "ARN": key}]},
    )


def ev_iam_list(rng, c):
    return (
        {"maxItems": 100, "pathPrefix": "/"}
        if rng.random() < 0.5
        else {"roleName": rng.choice(c["roles"])},
        None,
        None,
    )


def ev_bedrock_invoke(rng, c):
    m = rng.choice(
        (
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "amazon.titan-embed-text-v2:0",
            "anthropic.claude-3-haiku-20240307-v1:0",
            "meta.llama3-1-70b-instruct-v1:0",
        )
    )
    return (
        {"modelId": f"arn:aws:bedrock:{c['region']}::foundation-model/{m}"},
        None,
        {"additionalEventData": {"inferenceRegion": c["region"]}},
    )


def ev_bedrock_list(rng, c):
    return ({"byOutputModality": "TEXT"} if rng.random() < 0.3 else None, None, None)


def ev_bedrock_get_agent(rng, c):
    return ({"agentId": rng.choice(c["agents"])}, None, None)


def ev_lambda(rng, c):
    return (
        {
            "functionName": f"arn:aws:lambda:{c['region']}:{c['acct']}:function:{rng.choice(c['functions'])}"
        },
        None,
        None,
    )


def ev_logs(rng, c):
    return (
        {
            "logGroupName": f"/aws/lambda/{rng.choice(c['functions'])}",
            "logStreamName": f"2026/10/01/[$LATEST]{hexid(rng, 32)}",
        },
        None,
        None,
    )


def ev_cw(rng, c):
    return (
        {
            "metricDataQueries": [
                {
                    "id": "m1",
                    "metricStat": {
                        "metric": {
                            "namespace": "AWS/EC2",
                            "metricName": "CPUUtilization",
                            "dimensions": [{"name": "InstanceId", "value": _inst(rng, c)}],
                        },
                        "period": 300,
                        "stat": "Average",
                    },
                }
            ],
            "startTime": "Oct 1, 2026, 12:00:00 AM",
            "endTime": "Oct 1, 2026, 1:00:00 AM",
        },
        None,
        None,
    )


def ev_ssm(rng, c):
    if rng.random() < 0.5:
        return (
            {
                "name": f"/app/prod/{rng.choice(('db-host', 'feature-flags', 'api-endpoint'))}",
                "withDecryption": True,
            },
            None,
            None,
        )
    return (
        {
            "instanceId": _inst(rng, c),
            "agentVersion": "3.3.380.0",
            "agentStatus": "Active",
            "platformType": "Linux",
            "platformName": "Amazon Linux",
            "platformVersion": "2023",
            "iPAddress": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
            "computerName": f"ip-10-0-{rng.randrange(256)}-{rng.randrange(256)}.ec2.internal",
            "agentName": "amazon-ssm-agent",
            "availabilityZone": c["region"] + "a",
        },
        None,
        None,
    )


def ev_dynamo(rng, c):
    return (
        {"tableName": rng.choice(("orders", "sessions", "feature-store", "audit-log"))},
        None,
        None,
    )


def ev_secrets(rng, c):
    return (
        {
            "secretId": f"arn:aws:secretsmanager:{c['region']}:{c['acct']}:secret:prod/db-{rstr(rng, 6)}"
        },
        None,
        None,
    )


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
    "ec2.amazonaws.com": [
        i for i, x in enumerate(CATALOGUE) if x[0] in ("kms.amazonaws.com", "sts.amazonaws.com")
    ],
    "lambda.amazonaws.com": [
        i for i, x in enumerate(CATALOGUE) if x[0] in ("kms.amazonaws.com", "sts.amazonaws.com")
    ],
    "config.amazonaws.com": [
        i for i, x in enumerate(CATALOGUE) if x[1].startswith(("Describe", "GetBucket", "List"))
    ],
    "cloudformation.amazonaws.com": [
        i for i, x in enumerate(CATALOGUE) if x[0] in ("ec2.amazonaws.com",)
    ],
}


def ordinary_error(rng, src, name, ident, c):
    """An ordinary failure, as real trails carry a couple of percent of them."""
    svc = src.split(".")[0]
    if svc == "ec2":
        if rng.random() < 0.3:
            return "Client.RequestLimitExceeded", "Request limit exceeded."
        return (
            "Client.UnauthorizedOperation",
            "You are not authorized to perform this operation. "
            "User: "
            + (ident.arn or "-")
            + " is not authorized to perform: ec2:"
            + name
            + " because no identity-based policy allows the ec2:"
            + name
            + " action",
        )
    if svc == "s3":
        return "AccessDenied", "Access Denied"
    if svc in ("kms", "bedrock", "secretsmanager", "dynamodb", "logs", "ssm", "lambda"):
        if rng.random() < 0.25:
            return "ThrottlingException", "Rate exceeded"
        res = f"arn:aws:{svc}:{c['region']}:{c['acct']}:*"
        return (
            "AccessDeniedException",
            f"User: {ident.arn} is not authorized to perform: {svc}:{name} on "
            f"resource: {res} because no identity-based policy allows the {svc}:{name} action",
        )
    if svc == "sts":
        return (
            "AccessDenied",
            f"User: {ident.arn} is not authorized to perform: sts:{name} on resource: "
            f"arn:aws:iam::{c['acct']}:role/{rng.choice(c['roles'])}",
        )
    return (
        "AccessDenied",
        f"User: {ident.arn} is not authorized to perform: {svc}:{name} on resource: "
        f"arn:aws:iam::{c['acct']}:role/* because no identity-based policy allows the {svc}:{name} action",
    )


# --------------------------------------------------------------------------- resource-policy events


def _policy(rng, c, resource_arn):
    principal = rng.choice(
        [
            {"AWS": f"arn:aws:iam::{c['acct']}:role/bedrock-agent-runner"},
            {"AWS": f"arn:aws:iam::{rng.randrange(10**11, 10**12)}:root"},
            {"AWS": "*"},
            {"Service": "lambda.amazonaws.com"},
        ]
    )
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowInvoke",
                "Effect": "Allow",
                "Principal": principal,
                "Action": ["bedrock:InvokeAgent", "bedrock:GetAgent"],
                "Resource": resource_arn,
            }
        ],
    }
    return json.dumps(doc, separators=(",", ":"))


def resource_policy_event(rng, c, ident, kind: str, decoy_types: int = 4):
    """kind: 'denied' (matches the rule), 'ok' (succeeded), or a decoy that must not match
    (one of `decoy_types`: 4 in v2 trails, 8 in the newer kinds)."""
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
    name = (
        rng.choice(MATCH_NAMES)
        if kind != "denied"
        else ("PutResourcePolicy" if rng.random() < 0.7 else "DeleteResourcePolicy")
    )
    err = None
    if kind == "decoy":  # near misses: other service, other error, other call
        d = rng.randrange(decoy_types)
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
        elif d == 3:
            name, err = "GetResourcePolicy", "AccessDeniedException"
        elif d == 4:  # errorCode in another case: the rule compares exactly
            err = rng.choice(CODE_CASE_VARIANTS)
        elif d == 5:  # eventName in another case
            name, err = rng.choice(NAME_CASE_VARIANTS), rng.choice(MATCH_CODES)
        elif d == 6:  # another (or mis-cased) Bedrock event source
            src, err = rng.choice(SOURCE_VARIANTS), rng.choice(MATCH_CODES)
        else:  # a denial code that contains, but is not, AccessDenied
            err = rng.choice(
                (
                    "VpceAccessDenied",
                    "AccessDeniedForDependencyException",
                    "UnauthorizedOperation",
                    "Client.UnauthorizedOperation",
                )
            )
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
    elif err not in MATCH_CODES and "ccess" not in err:
        msg = f"You are not authorized to perform this operation on {res}."
    else:
        why = (
            " with an explicit deny in a service control policy"
            if rng.random() < 0.15
            else f" because no identity-based policy allows the {svc}:{name} action"
        )
        msg = (
            f"User: {ident.arn} is not authorized to perform: {svc}:{name} on resource: {res}{why}"
        )
    return src, name, rp, None, err, msg


CODE_CASE_VARIANTS = (
    "accessdenied",
    "ACCESSDENIED",
    "Accessdenied",
    "accessDenied",
    "AccessDeniedexception",
    "accessDeniedException",
    "ACCESSDENIEDEXCEPTION",
    "Accessdeniedexception",
)
NAME_CASE_VARIANTS = (
    "putResourcePolicy",
    "PUTRESOURCEPOLICY",
    "Putresourcepolicy",
    "deleteResourcePolicy",
    "DeleteResourcepolicy",
    "deleteresourcepolicy",
)
SOURCE_VARIANTS = (
    "Bedrock.amazonaws.com",
    "BEDROCK.AMAZONAWS.COM",
    "bedrock-agent.amazonaws.com",
    "bedrock-runtime.amazonaws.com",
    "bedrock.amazonaws.com.cn",
)


# --------------------------------------------------------------------------- other services' resource policies
# (eventSource, (read, write, delete) eventNames, resource ARN template, request key, denial code, weight).
# Most use the very names the rule watches (Get/Put/DeleteResourcePolicy): they hold the
# needle and pass the eventName prefilter, so only the eventSource tells them apart.
RP = ("GetResourcePolicy", "PutResourcePolicy", "DeleteResourcePolicy")
OTHER_RP = [
    (
        "secretsmanager.amazonaws.com",
        RP,
        "arn:aws:secretsmanager:{r}:{a}:secret:prod/{x}-{y}",
        "secretId",
        "AccessDeniedException",
        6,
    ),
    (
        "logs.amazonaws.com",
        ("DescribeResourcePolicies", "PutResourcePolicy", "DeleteResourcePolicy"),
        "arn:aws:logs:{r}:{a}:log-group:/aws/vendedlogs/{x}",
        "policyName",
        "AccessDeniedException",
        4,
    ),
    (
        "glue.amazonaws.com",
        RP,
        "arn:aws:glue:{r}:{a}:catalog",
        "resourceArn",
        "AccessDeniedException",
        4,
    ),
    (
        "dynamodb.amazonaws.com",
        RP,
        "arn:aws:dynamodb:{r}:{a}:table/{x}",
        "resourceArn",
        "AccessDeniedException",
        4,
    ),
    (
        "kinesis.amazonaws.com",
        RP,
        "arn:aws:kinesis:{r}:{a}:stream/{x}",
        "resourceARN",
        "AccessDeniedException",
        3,
    ),
    (
        "cloudtrail.amazonaws.com",
        RP,
        "arn:aws:cloudtrail:{r}:{a}:channel/{y}",
        "resourceArn",
        "AccessDeniedException",
        2,
    ),
    (
        "redshift.amazonaws.com",
        RP,
        "arn:aws:redshift:{r}:{a}:namespace:{y}",
        "resourceArn",
        "AccessDenied",
        2,
    ),
    (
        "ssm.amazonaws.com",
        ("GetResourcePolicies", "PutResourcePolicy", "DeleteResourcePolicy"),
        "arn:aws:ssm:{r}:{a}:opsitemgroup/default",
        "resourceArn",
        "AccessDeniedException",
        2,
    ),
    (
        "organizations.amazonaws.com",
        ("DescribeResourcePolicy", "PutResourcePolicy", "DeleteResourcePolicy"),
        "arn:aws:organizations::{a}:resourcepolicy/o-{y}",
        "content",
        "AccessDeniedException",
        1,
    ),
    (
        "xray.amazonaws.com",
        ("ListResourcePolicies", "PutResourcePolicy", "DeleteResourcePolicy"),
        "arn:aws:xray:{r}:{a}:policy/{x}",
        "policyName",
        "AccessDeniedException",
        1,
    ),
    (
        "vpc-lattice.amazonaws.com",
        RP,
        "arn:aws:vpc-lattice:{r}:{a}:service/svc-{y}",
        "resourceArn",
        "AccessDeniedException",
        1,
    ),
    (
        "codebuild.amazonaws.com",
        RP,
        "arn:aws:codebuild:{r}:{a}:project/{x}",
        "resourceArn",
        "AccessDeniedException",
        1,
    ),
    (
        "bedrock-agentcore.amazonaws.com",
        RP,
        "arn:aws:bedrock-agentcore:{r}:{a}:runtime/{y}",
        "resourceArn",
        "AccessDeniedException",
        2,
    ),
    (
        "lambda.amazonaws.com",
        ("GetPolicy20150331v2", "AddPermission20150331v2", "RemovePermission20150331v2"),
        "arn:aws:lambda:{r}:{a}:function:{x}",
        "functionName",
        "AccessDeniedException",
        4,
    ),
    (
        "ecr.amazonaws.com",
        ("GetRepositoryPolicy", "SetRepositoryPolicy", "DeleteRepositoryPolicy"),
        "arn:aws:ecr:{r}:{a}:repository/{x}",
        "repositoryName",
        "AccessDeniedException",
        3,
    ),
    (
        "s3.amazonaws.com",
        ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
        "arn:aws:s3:::{x}-{a}",
        "bucketName",
        "AccessDenied",
        4,
    ),
    (
        "kms.amazonaws.com",
        ("GetKeyPolicy", "PutKeyPolicy", "PutKeyPolicy"),
        "arn:aws:kms:{r}:{a}:key/{u}",
        "keyId",
        "AccessDeniedException",
        3,
    ),
    (
        "events.amazonaws.com",
        ("DescribeEventBus", "PutPermission", "RemovePermission"),
        "arn:aws:events:{r}:{a}:event-bus/{x}",
        "eventBusName",
        "AccessDeniedException",
        1,
    ),
    (
        "backup.amazonaws.com",
        (
            "GetBackupVaultAccessPolicy",
            "PutBackupVaultAccessPolicy",
            "DeleteBackupVaultAccessPolicy",
        ),
        "arn:aws:backup:{r}:{a}:backup-vault:{x}",
        "backupVaultName",
        "AccessDeniedException",
        1,
    ),
]
OTHER_RP_WEIGHTS = [x[-1] for x in OTHER_RP]
RP_NAMES = (
    "orders",
    "payments",
    "feature-store",
    "ml-artifacts",
    "audit",
    "shared-data",
    "inference",
    "etl",
)
OTHER_FAILURES = (
    "ValidationException",
    "MalformedPolicyDocumentException",
    "ResourceNotFoundException",
    "LimitExceededException",
    "InvalidParameterException",
)


def _big_policy(rng, resource_arn: str, svc: str) -> str:
    """A policy document of 1-5 statements, as teams write them (a few hundred bytes to ~2 KB)."""
    stmts = []
    for k in range(rng.randint(1, 5)):
        principal = rng.choice(
            [
                {"AWS": f"arn:aws:iam::{rng.randrange(10**11, 10**12)}:root"},
                {
                    "AWS": [
                        f"arn:aws:iam::{rng.randrange(10**11, 10**12)}:role/{n}"
                        for n in rng.sample(RP_NAMES, 2)
                    ]
                },
                {"Service": f"{rng.choice(('lambda', 'events', 'logs', 'glue'))}.amazonaws.com"},
                "*",
            ]
        )
        st = {
            "Sid": f"Stmt{k}{rstr(rng, 6, '0123456789')}",
            "Effect": rng.choice(("Allow", "Allow", "Deny")),
            "Principal": principal,
            "Action": [
                f"{svc}:{a}"
                for a in rng.sample(
                    ("Get*", "List*", "Describe*", "Put*", "Delete*", "Update*", "*"),
                    rng.randint(1, 3),
                )
            ],
            "Resource": resource_arn,
        }
        if rng.random() < 0.4:
            st["Condition"] = {
                "StringEquals": {"aws:PrincipalOrgID": "o-" + rstr(rng, 10, "abcdefghij0123456789")}
            }
        stmts.append(st)
    return json.dumps({"Version": "2012-10-17", "Statement": stmts}, separators=(",", ":"))


def other_rp_event(rng, c, ident):
    """A resource-policy call of another service: read, write or delete; mostly successful,
    about a third denied (never a rule match: the eventSource is not Bedrock)."""
    src, names, tmpl, key, deny, _w = rng.choices(OTHER_RP, weights=OTHER_RP_WEIGHTS)[0]
    svc = src.split(".")[0]
    op = rng.choices((0, 1, 2), weights=(4, 4, 2))[0]
    name = names[op]
    res = tmpl.format(
        r=c["region"],
        a=c["acct"],
        x=rng.choice(RP_NAMES),
        y=rstr(rng, 10, UPPER_DIGITS.lower()),
        u=uuid4(rng),
    )
    rp: dict | None = {key: res}
    if op == 1:
        rp["policy" if svc in ("lambda", "ecr", "kms", "s3", "backup") else "resourcePolicy"] = (
            _big_policy(rng, res, svc)
        )
    if svc == "s3":
        rp = {
            "bucketName": res.rsplit(":", 1)[1],
            "Host": f"{res.rsplit(':', 1)[1]}.s3.amazonaws.com",
            "policy": "",
        } | ({"policy": rp.get("policy", "")} if op == 1 else {})
    x = rng.random()
    if x < 0.55:
        resp = (
            {"resourceArn": res, "policyRevisionId": uuid4(rng)}
            if op == 1 and rng.random() < 0.5
            else None
        )
        return src, name, op == 0, rp, resp, None, None
    if x < 0.9:
        err = (
            deny
            if rng.random() < 0.85
            else ("AccessDenied" if deny != "AccessDenied" else "AccessDeniedException")
        )
        why = (
            " with an explicit deny in a service control policy"
            if rng.random() < 0.2
            else f" because no identity-based policy allows the {svc}:{name} action"
        )
        msg = (
            f"User: {ident.arn} is not authorized to perform: {svc}:{name} on resource: {res}{why}"
        )
        if rng.random() < 0.1:
            rp = None
        return src, name, op == 0, rp, None, err, msg
    err = rng.choice(OTHER_FAILURES)
    return src, name, op == 0, rp, None, err, f"{err}: the request for {res} was rejected"


# --------------------------------------------------------------------------- error storm
# A third of an error storm is a few misconfigured jobs retrying one failing call; a
# third is scanners enumerating what they may call across many services; the rest is
# many principals (some from other accounts) each getting a few denials.

# (eventSource, eventName, errorCode) of the misconfigured jobs
JOB_FAILURES = [
    ("sts.amazonaws.com", "AssumeRole", "AccessDenied"),
    ("kms.amazonaws.com", "Decrypt", "AccessDeniedException"),
    ("secretsmanager.amazonaws.com", "GetSecretValue", "AccessDeniedException"),
    ("s3.amazonaws.com", "GetBucketLocation", "AccessDenied"),
    ("ec2.amazonaws.com", "DescribeInstances", "Client.UnauthorizedOperation"),
    ("ec2.amazonaws.com", "DescribeInstances", "Client.RequestLimitExceeded"),
    ("lambda.amazonaws.com", "GetFunction20150331v2", "TooManyRequestsException"),
    ("dynamodb.amazonaws.com", "DescribeTable", "ThrottlingException"),
    ("ssm.amazonaws.com", "GetParameter", "ThrottlingException"),
    ("logs.amazonaws.com", "CreateLogStream", "AccessDeniedException"),
    ("sns.amazonaws.com", "GetTopicAttributes", "AuthorizationError"),
    ("iam.amazonaws.com", "GetRole", "AccessDenied"),
    ("sts.amazonaws.com", "GetCallerIdentity", "ExpiredToken"),
    ("ecr.amazonaws.com", "GetAuthorizationToken", "AccessDeniedException"),
    ("bedrock.amazonaws.com", "InvokeModel", "AccessDeniedException"),
    ("bedrock.amazonaws.com", "GetResourcePolicy", "AccessDeniedException"),
    ("glue.amazonaws.com", "GetTables", "AccessDeniedException"),
    ("monitoring.amazonaws.com", "GetMetricData", "Throttling"),
]
# What a scanner enumerates: service -> actions
SCAN_ACTIONS = {
    "ec2": (
        "DescribeInstances",
        "DescribeVpcs",
        "DescribeSnapshots",
        "DescribeImages",
        "DescribeKeyPairs",
        "DescribeSecurityGroups",
        "GetPasswordData",
    ),
    "s3": (
        "ListBuckets",
        "GetBucketPolicy",
        "GetBucketAcl",
        "GetBucketPublicAccessBlock",
        "GetBucketEncryption",
    ),
    "iam": (
        "ListUsers",
        "ListRoles",
        "ListAccessKeys",
        "GetAccountAuthorizationDetails",
        "ListPolicies",
        "GetAccountPasswordPolicy",
    ),
    "sts": ("GetCallerIdentity", "AssumeRole", "GetSessionToken"),
    "kms": ("ListKeys", "GetKeyPolicy", "DescribeKey", "ListGrants"),
    "secretsmanager": ("ListSecrets", "GetResourcePolicy", "DescribeSecret", "GetSecretValue"),
    "lambda": ("ListFunctions20150331", "GetPolicy20150331v2", "GetFunction20150331v2"),
    "bedrock": (
        "ListFoundationModels",
        "ListCustomModels",
        "GetResourcePolicy",
        "ListAgents",
        "GetModelInvocationLoggingConfiguration",
    ),
    "bedrock-agentcore": ("ListAgentRuntimes", "GetResourcePolicy"),
    "dynamodb": ("ListTables", "DescribeTable", "GetResourcePolicy"),
    "rds": ("DescribeDBInstances", "DescribeDBSnapshots", "DescribeDBClusters"),
    "eks": ("ListClusters", "DescribeCluster"),
    "ecr": ("DescribeRepositories", "GetRepositoryPolicy", "GetRegistryPolicy"),
    "glue": ("GetDatabases", "GetResourcePolicy", "GetResourcePolicies"),
    "logs": ("DescribeLogGroups", "DescribeResourcePolicies"),
    "sns": ("ListTopics", "GetTopicAttributes"),
    "sqs": ("ListQueues", "GetQueueAttributes"),
    "cloudtrail": ("DescribeTrails", "GetTrailStatus", "GetResourcePolicy"),
    "organizations": ("DescribeOrganization", "ListAccounts", "DescribeResourcePolicy"),
    "guardduty": ("ListDetectors",),
    "securityhub": ("DescribeHub",),
    "config": ("DescribeConfigRules",),
    "ssm": ("DescribeParameters", "GetParameters", "GetResourcePolicies"),
    "cloudformation": ("ListStacks", "DescribeStacks"),
    "route53": ("ListHostedZones",),
    "elasticloadbalancing": ("DescribeLoadBalancers",),
    "redshift": ("DescribeClusters", "GetResourcePolicy"),
    "kinesis": ("ListStreams", "GetResourcePolicy"),
    "sagemaker": ("ListNotebookInstances", "ListEndpoints"),
    "es": ("ListDomainNames",),
    "backup": ("ListBackupVaults", "GetBackupVaultAccessPolicy"),
    "events": ("ListRules", "DescribeEventBus"),
}
SCAN_PAIRS = [(svc, a) for svc, acts in SCAN_ACTIONS.items() for a in acts]
STORM_TEAMS = (
    "data",
    "ml",
    "payments",
    "web",
    "search",
    "identity",
    "platform",
    "risk",
    "growth",
    "infra",
)
STORM_APPS = (
    "etl",
    "sync",
    "exporter",
    "crawler",
    "indexer",
    "reporter",
    "agent",
    "batch",
    "api",
    "worker",
)


def denial_code(rng, svc: str) -> str:
    x = rng.random()
    if x < 0.12:
        return rng.choice(
            (
                "ThrottlingException",
                "Client.RequestLimitExceeded" if svc == "ec2" else "Throttling",
                "TooManyRequestsException",
            )
        )
    if svc == "ec2":
        return "Client.UnauthorizedOperation"
    if svc in (
        "s3",
        "iam",
        "sts",
        "cloudfront",
        "route53",
        "rds",
        "elasticloadbalancing",
        "cloudformation",
        "redshift",
    ):
        return "AccessDenied"
    if svc in ("sns", "sqs"):
        return "AuthorizationError" if svc == "sns" else "AccessDenied"
    if x < 0.15:
        return "UnauthorizedException"
    return "AccessDeniedException"


def storm_identities(rng, c, file_start: float) -> tuple[list[Identity], list[str], list[float]]:
    """This file's storm principals: 3 jobs, 2 scanners and 24 others (a quarter of them
    from other accounts), with their behaviour and weight."""
    pool, ext = c["storm_roles"], c["external_accounts"]
    idents, roles, weights = [], [], []
    for j in rng.sample(range(len(c["storm_jobs"])), 3):
        idents.append(
            make_identity(
                rng, c["acct"], c["region"], file_start, "role", c["storm_jobs"][j], "boto3"
            )
        )
        roles.append(f"job:{j}")
        weights.append(11.0)
    for _ in range(2):
        name = rng.choice(
            ("SecurityScanner", "prowler-readonly", "pacu-session", "OrganizationAccountAccessRole")
        )
        acct = rng.choice(ext) if rng.random() < 0.5 else c["acct"]
        idents.append(make_identity(rng, acct, c["region"], file_start, "role", name, "cli"))
        roles.append("scan")
        weights.append(16.0)
    for _ in range(24):
        name = rng.choice(pool)
        acct = rng.choice(ext) if rng.random() < 0.25 else c["acct"]
        kind = "user" if rng.random() < 0.15 else "role"
        idents.append(
            make_identity(
                rng,
                acct,
                c["region"],
                file_start,
                kind,
                name,
                rng.choice(("boto3", "java", "cli", "terraform", "k8s")),
            )
        )
        roles.append("probe")
        weights.append(0.85)
    return idents, roles, weights


def storm_event(rng, c, ident: Identity, role: str):
    """(src, name, readOnly, requestParameters, errorCode, errorMessage) of one storm record."""
    if role.startswith("job:"):
        src, name, err = JOB_FAILURES[int(role[4:]) % len(JOB_FAILURES)]
        svc = src.split(".")[0]
    else:
        svc, name = rng.choice(SCAN_PAIRS)
        src = f"{svc}.amazonaws.com"
        err = denial_code(rng, svc)
    if "Throttl" in err or "TooMany" in err or "Limit" in err:
        msg = "Rate exceeded"
    elif err == "ExpiredToken":
        msg = "The security token included in the request is expired"
    else:
        msg = (
            f"User: {ident.arn} is not authorized to perform: {svc}:{name} on resource: "
            f"arn:aws:{svc}:{c['region']}:{c['acct']}:*"
            + (
                " with an explicit deny in a service control policy"
                if rng.random() < 0.3
                else f" because no identity-based policy allows the {svc}:{name} action"
            )
        )
    rp = None
    if name.startswith(("Get", "Describe")) and rng.random() < 0.6:
        rp = {"resourceArn": f"arn:aws:{svc}:{c['region']}:{c['acct']}:{rng.choice(RP_NAMES)}"}
    elif rng.random() < 0.3:
        rp = {"maxResults": rng.choice((50, 100, 1000))}
    return src, name, name.startswith(("Get", "Describe", "List")), rp, err, msg


# --------------------------------------------------------------------------- one file


def account_context(seed: int, acct: str, region: str) -> dict:
    rng = random.Random(f"ctx:{seed}:{acct}:{region}")
    return {
        "acct": acct,
        "region": region,
        "buckets": [
            f"{p}-{acct}-{region}"
            for p in ("app-assets", "data-lake-raw", "cloudtrail-logs", "ml-artifacts", "backups")
        ],
        "keys": [f"arn:aws:kms:{region}:{acct}:key/{uuid4(rng)}" for _ in range(4)],
        "roles": [s[1] for s in IDENTITY_SPECS if s[0] == "role"],
        "functions": ["orders-api", "image-resize", "nightly-export", "agent-action-group"],
        "agents": [rstr(rng, 10, UPPER_DIGITS) for _ in range(5)],
        "instances": ["i-0" + hexid(rng, 16) for _ in range(40)],
        "sgs": ["sg-0" + hexid(rng, 16) for _ in range(12)],
        "subnets": ["subnet-0" + hexid(rng, 16) for _ in range(6)],
        "vpcs": ["vpc-0" + hexid(rng, 16) for _ in range(2)],
        # error-storm principals (drawn last: the v2 fields above keep their values)
        "storm_roles": [
            f"{t}-{a}-{e}" for t in STORM_TEAMS for a in STORM_APPS for e in ("prod", "dev")
        ],
        "storm_jobs": [
            f"{rng.choice(STORM_TEAMS)}-{rng.choice(STORM_APPS)}-job-{k}" for k in range(12)
        ],
        "external_accounts": [str(rng.randrange(10**11, 10**12)) for _ in range(6)],
    }


def build_file(task: dict) -> dict:
    """Generate, compress and write one log file. Returns its statistics."""
    seed, density, acct, region = task["seed"], task["density"], task["acct"], task["region"]
    kind = KINDS[density]
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
    n_rp = n_decoy = n_other = 0
    if rng.random() < kind["rp_files"]:
        n_rp = rng.randint(1, 3)
    if rng.random() < kind["decoy_files"]:
        n_decoy = 1 if kind["decoys_max"] == 1 else rng.randint(1, kind["decoys_max"])
    if kind["other_rp"][1] and rng.random() < 0.97:
        n_other = rng.randint(*kind["other_rp"])
    force = task.get("force_boundary")  # trail-edge files: one denial each side of midnight
    special: dict[int, str] = {}
    for _ in range(n_rp):
        special[rng.randrange(n)] = "denied" if rng.random() < 0.65 else "ok"
    for _ in range(n_decoy):
        special.setdefault(rng.randrange(n), "decoy")
    for _ in range(n_other):
        special.setdefault(rng.randrange(n), "other")
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
    storm: list[int] = []
    if kind["storm"]:
        s_idents, s_roles, s_weights = storm_identities(rng, c, win_lo)
        storm = [
            rng.choices(range(len(s_idents)), weights=s_weights)[0]
            if rng.random() < kind["storm"]
            else -1
            for _ in range(n)
        ]
    errors = 0
    for i in range(n):
        ident = idents[who[i]]
        ev_time = times[i]
        sp = special.get(i)
        if sp is not None:
            while ident.kind not in ("role", "user"):
                ident = idents[rng.choices(range(len(idents)), weights=IDENTITY_WEIGHTS)[0]]
            if sp == "other":
                src, name, ro, rp, resp, err, msg = other_rp_event(rng, c, ident)
            else:
                src, name, rp, resp, err, msg = resource_policy_event(
                    rng, c, ident, sp, kind["decoy_types"]
                )
                ro = name.startswith("Get")
            extra = None
            ver = "1.09"
        elif storm and storm[i] >= 0:
            ident = s_idents[storm[i]]
            src, name, ro, rp, err, msg = storm_event(rng, c, ident, s_roles[storm[i]])
            resp = extra = None
            ver = "1.09"
        else:
            ci = cat_idx[i]
            if ident.kind == "service":
                ci = rng.choice(SERVICE_CALLS[ident.name])
            src, name, ro, maker, _w, ver = CATALOGUE[ci]
            rp, resp, extra = maker(rng, c)
            err = msg = None
            if ident.kind != "service" and rng.random() < kind["error_rate"]:
                err, msg = ordinary_error(rng, src, name, ident, c)
        agent = rng.choice(ident.agents)
        if "{" in agent:
            agent = agent.replace("{cmd}", f"{src.split('.')[0]}.{name.lower()}").replace(
                "{svc}", src.split(".")[0]
            )
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
                host = tls[src] = {
                    "tlsVersion": "TLSv1.3",
                    "cipherSuite": "TLS_AES_128_GCM_SHA256",
                    "clientProvidedHostHeader": f"{src.split('.')[0]}.{region}.amazonaws.com",
                }
            rec["tlsDetails"] = host
        if ident.console:
            rec["sessionCredentialFromConsole"] = "true"
        records.append(rec)
        errors += err is not None
        # the ground truth: the rule itself, applied to every record written
        if (
            src == MATCH_SOURCE
            and name in MATCH_NAMES
            and err in MATCH_CODES
            and lo <= ev_time < hi
        ):
            denied_by_day[iso(ev_time)[:10]] += 1
            principals.add(ident.arn)

    raw = orjson.dumps({"Records": records})
    gz = _compress(raw)
    stamp = time.strftime("%Y%m%dT%H%MZ", time.gmtime(deliver))
    folder = os.path.join(
        task["out"], "AWSLogs", acct, "CloudTrail", region, day.strftime("%Y/%m/%d")
    )
    fname = f"{acct}_CloudTrail_{region}_{stamp}_{rstr(rng, 16)}.json.gz"
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, fname)
    with open(path, "wb") as fh:
        fh.write(gz)
    return {
        "path": os.path.relpath(path, task["out"]),
        "acct": acct,
        "region": region,
        "deliver": deliver,
        "oldest": times[0] if n else win_lo,
        "newest": times[-1] if n else win_hi,
        "gz": len(gz),
        "raw": len(raw),
        "records": n,
        "errors": errors,
        "has_rp": bool(n_rp or force),
        "sha256": hashlib.sha256(gz).hexdigest(),
        "denied_by_day": dict(denied_by_day),
        "principals": sorted(principals),
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
        folder = os.path.join(
            out,
            "AWSLogs",
            acct,
            "CloudTrail-Digest",
            region,
            time.strftime("%Y/%m/%d", time.gmtime(end + 1800)),
        )
        name = f"{acct}_CloudTrail-Digest_{region}_{TRAIL_NAME}_{region}_{stamp}.json.gz"
        key = os.path.relpath(os.path.join(folder, name), out)
        doc = {
            "awsAccountId": acct,
            "digestStartTime": iso(hour),
            "digestEndTime": iso(end),
            "digestS3Bucket": bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": hexid(rng, 32),
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": iso(max(f["newest"] for f in files)),
            "oldestEventTime": iso(min(f["oldest"] for f in files)),
            "previousDigestS3Bucket": bucket if (acct, region) in prev else None,
            "previousDigestS3Object": prev.get((acct, region)),
            "previousDigestHashValue": hexid(rng, 64) if (acct, region) in prev else None,
            "previousDigestHashAlgorithm": "SHA-256" if (acct, region) in prev else None,
            "previousDigestSignature": hexid(rng, 128) if (acct, region) in prev else None,
            "logFiles": [
                {
                    "s3Bucket": bucket,
                    "s3Object": f["path"],
                    "hashValue": f["sha256"],
                    "hashAlgorithm": "SHA-256",
                    "newestEventTime": iso(f["newest"]),
                    "oldestEventTime": iso(f["oldest"]),
                }
                for f in files
            ],
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
    base = {
        "seed": args.seed,
        "density": args.density,
        "out": args.out,
        "files_per_day": args.files_per_day,
        "records_per_file": args.records_per_file,
        "range_lo": lo,
        "range_hi": hi,
    }
    for d in range(args.days + 1):  # + the first file of the next day (last day's tail)
        day = (start + timedelta(days=d)).isoformat()
        for acct in accts:
            for region in regions:
                last = 1 if d == args.days else args.files_per_day
                for k in range(last):
                    edge = (d == 0 and k == 0) or d == args.days
                    tasks.append(
                        dict(base, acct=acct, region=region, day=day, index=k, force_boundary=edge)
                    )
    return tasks


def params_of(args) -> dict:
    return {
        "density": args.density,
        "seed": args.seed,
        "start": args.start,
        "days": args.days,
        "files_per_day": args.files_per_day,
        "records_per_file": args.records_per_file,
        "accounts": args.accounts,
        "regions": args.regions,
        "digests": not args.no_digests,
        "generator_version": 2,
    }


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
    digests = (
        0
        if args.no_digests
        else write_digests(args.out, f"aws-cloudtrail-logs-{args.seed}", results, args.seed)
    )
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
        "error_records": sum(r["errors"] for r in results),
        "compressed_bytes": sum(r["gz"] for r in results),
        "uncompressed_bytes": sum(r["raw"] for r in results),
        "records": sum(r["records"] for r in results),
        "range": {
            "from": args.start,
            "to": (date.fromisoformat(args.start) + timedelta(days=args.days - 1)).isoformat(),
        },
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
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--out", required=True, help="trail root (gets AWSLogs/...); must be empty or absent"
    )
    p.add_argument(
        "--trail",
        "--density",
        dest="density",
        choices=tuple(KINDS),
        default="realistic",
        help="trail kind (--density is the old name)",
    )
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--start", default="2026-10-01", help="first day (UTC), YYYY-MM-DD")
    p.add_argument("--files-per-day", type=int, help="default: the kind's (24, or 6 for storm-*)")
    p.add_argument("--records-per-file", type=int, help="default: the kind's (700-800)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--accounts", type=int, help="default: the kind's (1, or 4 for storm-*)")
    p.add_argument("--regions", help="comma-separated; default us-east-1,eu-west-1")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--no-digests", action="store_true", help="skip CloudTrail-Digest files")
    p.add_argument("--manifest", help="ground-truth JSON (default: OUT.manifest.json)")
    return p


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the shape options left unset with the kind's defaults."""
    for key in SHAPE_KEYS:
        if getattr(args, key) is None:
            setattr(args, key, KINDS[args.density][key])
    return args


def kind_params(kind: str, seed: int, days: int, start: str = "2026-10-01") -> dict:
    """The manifest `params` of a trail of this kind with its default shape (for caches)."""
    args = resolve(
        build_parser().parse_args(
            [
                "--out",
                "-",
                "--trail",
                kind,
                "--seed",
                str(seed),
                "--days",
                str(days),
                "--start",
                start,
            ]
        )
    )
    return params_of(args)


def main(argv: list[str] | None = None) -> int:
    args = resolve(build_parser().parse_args(argv))
    date.fromisoformat(args.start)
    if args.days < 1 or args.files_per_day < 1 or args.files_per_day > 1440 or args.accounts < 1:
        raise SystemExit(
            "gen_trail: --days, --files-per-day (1-1440) and --accounts must be positive"
        )
    s = generate(args)
    print(
        f"gen_trail: {s['params']['density']}: files={s['files']} (+{s['digest_files']} digests) "
        f"compressed={s['compressed_bytes'] / 1e6:.1f} MB uncompressed={s['uncompressed_bytes'] / 1e9:.3f} GB "
        f"records={s['records']} errors={s['error_records'] / max(1, s['records']):.1%} "
        f"shape={s['params']['accounts']}x{len(parse_regions(s['params']['regions']))}x{s['params']['files_per_day']} "
        f"denied={s['denied_total']} ({s['range']['from']}..{s['range']['to']}) "
        f"files_with_rp_calls={s['files_with_resource_policy_calls']} elapsed={s['elapsed_s']:.1f}s "
        f"manifest={s['manifest']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
