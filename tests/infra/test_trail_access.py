"""The trail-bucket permissions of infra/auditor.yaml against what auditor really does:
every folder listing and every object read that discovery (local engine,
`ddl --discover` lists the same AWSLogs/, organisation and CloudTrail/ folders) and
the scan estimate make on a trail is allowed, and other services' logs are not.

The listings are recorded on a folder copy of a bucket (both layouts, a trail prefix,
siblings that are not CloudTrail's); each is checked as the S3 request it would be
(prefix `key/`, delimiter `/` for folder listings, none for the estimate's recursive
listings) against the policy's s3:ListBucket conditions and s3:GetObject resources.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.athena.cost import estimate
from auditor.config import DateRange
from auditor.sources.layout import discover
from auditor.sources.local import LocalLister
from auditor.synth import bedrock_policy_call, iam_user, log_key, write_log

sys.path.insert(0, str(Path(__file__).parent))
from test_cfn_lint import BASE_PARAMS, as_list, policy_statements  # noqa: E402

ORG = "o-abcd123456"
PREFIX = "org/logs"
A, B = "111122223333", "444455556666"


def _glob(pattern: str) -> re.Pattern[str]:  # IAM: * any run of characters, ? one
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern) + r"\Z"
    )


class Policy:
    def __init__(self, statements: list[dict[str, Any]]) -> None:
        self.statements = statements

    def may_list(self, prefix: str, delimiter: str | None) -> bool:
        for s in self.statements:
            if (
                "s3:ListBucket" not in as_list(s["Action"])
                or s["Resource"] != "arn:aws:s3:::trail-bucket"
            ):
                continue
            cond = s.get("Condition", {})
            want = cond.get("StringEquals", {}).get("s3:delimiter")
            if want is not None and delimiter != want:
                continue
            if any(_glob(p).match(prefix) for p in as_list(cond["StringLike"]["s3:prefix"])):
                return True
        return False

    def may_read(self, key: str) -> bool:
        arn = f"arn:aws:s3:::trail-bucket/{key}"
        return any(
            _glob(r).match(arn)
            for s in self.statements
            if "s3:GetObject" in as_list(s["Action"])
            for r in as_list(s["Resource"])
        )


class RecordingLister(LocalLister):
    def __init__(self, bucket: Path, root: Path) -> None:
        super().__init__(str(root))
        self.bucket = bucket
        self.requests: list[tuple[str, str | None]] = []

    def key(self, path: str) -> str:
        rel = Path(path).relative_to(self.bucket).as_posix()
        return "" if rel == "." else rel + "/"

    def dirs(self, prefix: str) -> list[str]:
        self.requests.append((self.key(prefix), "/"))
        return super().dirs(prefix)

    def files(self, prefix: str) -> list[tuple[str, int]]:
        self.requests.append((self.key(prefix), "/"))
        return super().files(prefix)

    def sizes(self, prefix: str) -> list[tuple[str, int]]:  # the estimate: recursive
        self.requests.append((self.key(prefix), None))
        root = Path(prefix)
        return (
            [
                (p.relative_to(root).as_posix(), p.stat().st_size)
                for p in root.rglob("*")
                if p.is_file()
            ]
            if root.is_dir()
            else []
        )


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    root = tmp_path / "trail-bucket" / PREFIX
    when = datetime(2026, 10, 5, 12, tzinfo=UTC)
    for acct, org in ((A, None), (B, ORG), (A, ORG)):
        rec = bedrock_policy_call(
            when,
            identity=iam_user(acct, "bob"),
            account=acct,
            region="us-east-1",
            event_id=f"e{acct}{org}",
        )
        write_log(root, log_key(acct, "us-east-1", when, org), [rec])
    for other in (
        f"AWSLogs/{A}/elasticloadbalancing/us-east-1/2026/10/05/x.log.gz",
        f"AWSLogs/{A}/CloudTrail-Digest/us-east-1/2026/10/05/d.json.gz",
        f"AWSLogs/{ORG}/{B}/vpcflowlogs/us-east-1/2026/10/05/f.log.gz",
    ):
        (root / other).parent.mkdir(parents=True, exist_ok=True)
        (root / other).write_bytes(b"not ours")
    return tmp_path / "trail-bucket"


def test_every_listing_and_read_auditor_makes_is_allowed(bucket: Path) -> None:
    policy = Policy(
        policy_statements(
            _template(), {**BASE_PARAMS, "TrailPrefix": PREFIX, "OrganizationId": ORG}
        )
    )
    root = bucket / PREFIX
    lister = RecordingLister(bucket, root)
    rng = DateRange(date(2026, 10, 5), date(2026, 10, 5))
    found = discover(lister, str(root), rng)
    estimate(lister, lister, str(root), {"q": (date(2026, 10, 1), date(2026, 10, 31))}, workers=1)
    estimate(lister, lister, str(root), {"q": (date(2026, 10, 5), date(2026, 10, 6))}, workers=1)
    lister.requests.append((f"{PREFIX}/", "/"))  # S3Lister's first page: the root itself
    assert {d for _, d in lister.requests} == {"/", None}  # both kinds were exercised
    refused = [r for r in lister.requests if not policy.may_list(*r)]
    assert refused == []
    keys = [Path(f.path).relative_to(bucket).as_posix() for f in found.files]
    assert len(keys) == 3
    assert [k for k in keys if not policy.may_read(k)] == []


def test_other_services_logs_and_whole_tree_listings_are_not_allowed(bucket: Path) -> None:
    policy = Policy(
        policy_statements(
            _template(), {**BASE_PARAMS, "TrailPrefix": PREFIX, "OrganizationId": ORG}
        )
    )
    for key in (
        f"{PREFIX}/AWSLogs/{A}/elasticloadbalancing/us-east-1/2026/10/05/x.log.gz",
        f"{PREFIX}/AWSLogs/{A}/CloudTrail-Digest/us-east-1/2026/10/05/d.json.gz",
        f"{PREFIX}/AWSLogs/{ORG}/{B}/vpcflowlogs/us-east-1/f.log.gz",
        f"{PREFIX}/secrets.txt",
        f"other/AWSLogs/{A}/CloudTrail/us-east-1/x.json.gz",
    ):
        assert not policy.may_read(key), key
    for prefix, delimiter in (
        (f"{PREFIX}/AWSLogs/", None),  # every key name below
        (f"{PREFIX}/", None),
        ("", "/"),
        ("other/", "/"),
        (f"{PREFIX}/AWSLogs/{A}/", "/"),
        (f"{PREFIX}/AWSLogs/{A}/elasticloadbalancing/", None),
        (f"{PREFIX}/AWSLogs/o-other12345/", "/"),
    ):
        assert not policy.may_list(prefix, delimiter), (prefix, delimiter)


def _template() -> dict[str, Any]:
    from test_cfn_lint import TEMPLATE, decode

    tpl, _ = decode(str(TEMPLATE))
    return tpl
