"""Listing an organisation trail in S3 by month, against moto's server: how many requests
a multi-month range takes, that month listings find exactly the files day listings
find, and that the counts reach report.json."""

from __future__ import annotations

import gzip
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from auditor.config import DateRange
from auditor.model import Gap, S3Calls
from auditor.sources.layout import Discovery, discover, gaps
from auditor.sources.s3 import S3Lister
from auditor.synth import bedrock_policy_call, iam_user, log_key

BUCKET, PREFIX, ORG = "org-scale", "org", "o-a1b2c3d4e5"
ACCOUNTS = ("111122223333", "444455556666", "777788889999")
REGIONS = ("eu-west-1", "us-east-1")
FIRST, LAST = date(2026, 8, 1), date(2026, 11, 10)  # one log a day in each folder
A, R = ACCOUNTS[0], REGIONS[1]
DENIED = datetime(2026, 9, 20, 10, tzinfo=UTC)
# Keys beside the logs that discovery must treat exactly as a day folder listing would.
REGION_DIR = f"{PREFIX}/AWSLogs/{ORG}/{A}/CloudTrail/{R}"
ODD_KEYS = {
    f"{REGION_DIR}/2026/09/10/README.txt": "a stray file in a day folder: skipped",
    f"{REGION_DIR}/2026/09/11/sub/x.json.gz": "deeper than a day folder: not read",
    f"{REGION_DIR}/2026/09/notes.json.gz": "in the month folder itself: not read",
    f"{REGION_DIR}/2026/09/12-old/y.json.gz": "a folder that is not a day: not read",
    f"{REGION_DIR}/2026/09/13/": "a folder marker object: nothing",
    f"{PREFIX}/AWSLogs/{ORG}/{A}/CloudTrail-Digest/{R}/2026/09/14/d.json.gz": "a sibling",
}


def _log(records: list[dict[str, Any]]) -> bytes:
    return gzip.compress(json.dumps({"Records": records}).encode(), mtime=0)


@pytest.fixture(scope="module")
def org_bucket(moto_endpoint: str) -> str:
    import boto3

    client = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("s3", endpoint_url=moto_endpoint)
    client.create_bucket(Bucket=BUCKET)
    objects: dict[str, bytes] = {k: b"x" for k in ODD_KEYS}
    day = FIRST
    while day <= LAST:
        when = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
        for acct in ACCOUNTS:
            for region in REGIONS:
                recs = (
                    [
                        bedrock_policy_call(
                            when,
                            identity=iam_user(acct, "mallory"),
                            account=acct,
                            region=region,
                            event_id="deny-1",
                        )
                    ]
                    if (acct, region, when) == (A, R, DENIED)
                    else []
                )
                objects[f"{PREFIX}/" + log_key(acct, region, when, ORG)] = _log(recs)
        day += timedelta(days=1)
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda kv: client.put_object(Bucket=BUCKET, Key=kv[0], Body=kv[1]), objects.items()
            )
        )
    return f"s3://{BUCKET}/{PREFIX}"


def _lister(url: str) -> tuple[S3Lister, list[dict[str, Any]]]:
    lister = S3Lister(url)
    sent: list[dict[str, Any]] = []
    lister.client.meta.events.register(
        "provide-client-params.s3.ListObjectsV2", lambda params, **_: sent.append(dict(params))
    )
    return lister, sent


def _found(disc: Discovery) -> tuple[Any, ...]:
    return (
        sorted(disc.files, key=lambda f: f.path),
        sorted(disc.skipped),
        disc.present,
        disc.unlisted,
        disc.trails,
    )


# Requests made before any day folder: S3Lister()'s check of the source, the source,
# AWSLogs/, the org folder, and each account's CloudTrail/ folder.
FOLDER_CALLS = 1 + 1 + 1 + 1 + len(ACCOUNTS)


def test_three_months_take_one_request_per_month_not_per_day(aws_env: str, org_bucket: str) -> None:
    rng = DateRange(date(2026, 8, 1), date(2026, 10, 31))  # folders Aug 1 .. Nov 1
    lister, sent = _lister(org_bucket)
    disc = discover(lister, org_bucket, rng)
    pairs = len(ACCOUNTS) * len(REGIONS)
    # Aug, Sep, Oct: one month listing each (31 keys < a page); Nov 1: one day listing.
    assert lister.calls.snapshot() == S3Calls(list_calls=FOLDER_CALLS + pairs * 4)
    assert lister.calls.list_calls == 31
    assert pairs * len(rng.folder_days) == 558  # what day-by-day listing would take
    months = [c for c in sent if "StartAfter" in c]
    assert len(months) == pairs * 3 and all("Delimiter" not in c for c in months)
    assert {c["StartAfter"][-10:] for c in months} == {"2026/08/01", "2026/09/01", "2026/10/01"}
    assert len(disc.files) == pairs * len(rng.folder_days)
    assert disc.skipped == [f"s3://{BUCKET}/{REGION_DIR}/2026/09/10/README.txt"]
    assert gaps(disc, rng) == ()
    # The same files, strays and days as listing every day folder.
    assert _found(disc) == _found(discover(S3Lister(org_bucket), org_bucket, rng, strategy="days"))


def test_two_days_still_list_day_folders(aws_env: str, org_bucket: str) -> None:
    lister, sent = _lister(org_bucket)
    disc = discover(lister, org_bucket, DateRange(date(2026, 9, 14), date(2026, 9, 15)))
    assert not any("StartAfter" in c for c in sent)
    assert lister.calls.list_calls == FOLDER_CALLS + len(ACCOUNTS) * len(REGIONS) * 3
    assert {f.day.day for f in disc.files} == {14, 15, 16}


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@example(start=(date(2026, 9, 8) - FIRST).days, length=8, gap=0)  # the odd keys
@example(start=0, length=(LAST - FIRST).days, gap=0)  # everything, past its end too
@given(
    start=st.integers(-3, (LAST - FIRST).days + 3), length=st.integers(0, 45), gap=st.integers(0, 3)
)
def test_month_and_day_listings_find_the_same_files(
    aws_env: str, org_bucket: str, start: int, length: int, gap: int
) -> None:
    first = FIRST + timedelta(days=start)
    days = [first + timedelta(days=i) for i in range(length + 1)]
    days = [d for i, d in enumerate(days) if not gap or i % (gap + 2)]  # holes at times
    rng = DateRange(first, first + timedelta(days=length))
    lister, one = S3Lister(org_bucket), (A,)  # the account holding the odd keys
    by_day = _found(discover(lister, org_bucket, rng, one, (), days, "days"))
    assert _found(discover(lister, org_bucket, rng, one, (), days, "months")) == by_day
    assert _found(discover(lister, org_bucket, rng, one, (), days)) == by_day


def test_a_month_that_cannot_be_listed_is_unlisted_and_its_days_are_gaps(
    aws_env: str, org_bucket: str
) -> None:
    from botocore.exceptions import ClientError

    lister = S3Lister(org_bucket)
    month = f"{REGION_DIR}/2026/09/"

    def deny(params: dict[str, Any], **_: Any) -> None:
        if params.get("Prefix") == month:
            raise ClientError(
                {
                    "Error": {"Code": "AccessDenied", "Message": "denied"},
                    "ResponseMetadata": {"HTTPStatusCode": 403},
                },
                "ListObjectsV2",
            )

    lister.client.meta.events.register("provide-client-params.s3.ListObjectsV2", deny)
    rng = DateRange(date(2026, 8, 1), date(2026, 10, 31))
    disc = discover(lister, org_bucket, rng)
    assert [p for p, _ in disc.unlisted] == [f"s3://{BUCKET}/{month}".rstrip("/")]
    assert not any(f.day.month == 9 and (f.account, f.region) == (A, R) for f in disc.files)
    assert len(disc.files) == 6 * 93 - 30
    assert gaps(disc, rng) == (Gap(A, R, "2026-09-01", "2026-09-30", 30),)


def test_the_audit_reports_its_s3_requests(aws_env: str, org_bucket: str, tmp_path: Path) -> None:
    from auditor.cli import app

    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "audit",
            "--source",
            org_bucket,
            "--from",
            "2026-08-01",
            "--to",
            "2026-10-31",
            "--workers",
            "2",
            "--out",
            str(out),
            "--format",
            "json",
            "--format",
            "md",
        ],
    )
    assert result.exit_code in (0, 1), result.output  # 1: findings
    report = json.loads((out / "report.json").read_text())
    calls = report["provenance"]["s3_calls"]
    pairs = len(ACCOUNTS) * len(REGIONS)
    # Folders Aug 1 .. Nov 8 (the look-ahead week): three months whole, eight days
    # (a listing of Nov 1-8 from the month would read the rest of November).
    assert calls["list_calls"] == FOLDER_CALLS + pairs * (3 + 8)
    files = pairs * (92 + 8)  # every log read: the denial opens the look-ahead
    assert report["coverage"]["files_scanned"] == files
    assert calls["get_calls"] == files
    assert calls["get_bytes"] == report["coverage"]["bytes_scanned"]
    assert report["totals"]["attempts"] == 1
    md = (out / "findings.md").read_text()
    assert f"S3 requests: {calls['list_calls']} LIST, {files} GET" in md
    # report.json gives the counts back, and every other format shows them.
    from auditor.render import html
    from auditor.render.json_report import loads

    back = loads((out / "report.json").read_text())
    assert back.provenance.s3_calls == S3Calls(**calls)
    assert f"{calls['list_calls']} LIST, {files} GET" in html.render(back)
