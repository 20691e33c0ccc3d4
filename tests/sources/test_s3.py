"""S3 as a source for the local engine, against moto's real server on 127.0.0.1.

The prefilter workers are forked processes that read the objects themselves, so the
tests need a real endpoint (AWS_ENDPOINT_URL) rather than moto's in-process mock.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from auditor.audit import run_audit, write_reports
from auditor.config import AuditConfig, DateRange
from auditor.errors import SourceError
from auditor.model import Report, Unreadable
from auditor.sources import s3 as s3src
from auditor.sources.layout import discover
from auditor.sources.s3 import S3Lister, cache_path, read_object, split_url

NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
OCT = DateRange(date(2026, 10, 1), date(2026, 10, 31))
PROD, DEV = "111122223333", "444455556666"
ORG = "o-a1b2c3d4e5"


def audit(source: str, rng: DateRange = OCT, **kw: Any) -> Report:
    return run_audit(AuditConfig(range=rng, source=source, workers=2, now=NOW, **kw))


def same_answer(s3_report: Report, local_report: Report, local_root: str, url: str) -> None:
    """The two reports say the same thing; only where the files sit differs."""

    def to_url(path: str | None) -> str | None:
        if path is None:
            return None
        rel = os.path.relpath(path, local_root) if os.path.isabs(path) else path
        return f"{url}/{rel}"

    assert s3_report.findings == local_report.findings
    assert s3_report.totals == local_report.totals
    assert s3_report.suppressed == local_report.suppressed
    assert s3_report.events == tuple(
        dataclasses.replace(e, source_file=to_url(e.source_file)) for e in local_report.events
    )
    lc, sc = local_report.coverage, s3_report.coverage
    assert sc.unreadable == tuple(Unreadable(to_url(u.path), u.reason) for u in lc.unreadable)
    for f in (
        "files_scanned",
        "records_scanned",
        "bytes_scanned",
        "files_unreadable",
        "files_skipped",
        "gaps",
        "accounts",
        "regions",
        "failed_queries",
    ):
        assert getattr(sc, f) == getattr(lc, f), f


# -- paths and listings ------------------------------------------------------------------


def test_urls_split_and_join_like_s3_keys() -> None:
    assert split_url("s3://trail-bucket/a/b/") == ("trail-bucket", "a/b")
    assert split_url("s3://trail-bucket") == ("trail-bucket", "")
    for bad in ("s3://", "s3:///key", "/tmp/x", "s3://a b/c"):
        with pytest.raises(SourceError):
            split_url(bad)
    lister = S3Lister.__new__(S3Lister)
    assert lister.join("s3://trail-bucket/p/", "AWSLogs", "2026", "10") == (
        "s3://trail-bucket/p/AWSLogs/2026/10"
    )
    assert lister.join("s3://trail-bucket/", "AWSLogs") == "s3://trail-bucket/AWSLogs"
    # A key that would climb out of the cache folder is never cached.
    assert cache_path("/c", "b-1", "x/../../etc/passwd") is None
    assert cache_path("/c", "b-1", "AWSLogs/1/a.json.gz") == "/c/b-1/AWSLogs/1/a.json.gz"


def test_listings_are_folder_by_folder_and_paginated(
    aws_env: str, demo_bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket, prefix, _ = demo_bucket
    root = f"s3://{bucket}/{prefix}/"
    lister = S3Lister(root)
    calls: list[dict] = []
    lister.client.meta.events.register(
        "provide-client-params.s3.ListObjectsV2", lambda params, **_: calls.append(dict(params))
    )
    awslogs = lister.join(root, "AWSLogs")
    assert lister.dirs(root) == ["AWSLogs"]
    assert sorted(lister.dirs(awslogs)) == [PROD, ORG]
    assert sorted(lister.dirs(lister.join(awslogs, PROD))) == [
        "CloudTrail",
        "CloudTrail-Digest",
        "CloudTrail-Insight",
    ]
    day5 = lister.join(awslogs, PROD, "CloudTrail", "eu-west-1", "2026", "10", "05")
    files = dict(lister.files(day5))
    assert files["README.txt"] == len("copied from the bucket by ops\n")
    assert sum(n.endswith(".json.gz") for n in files) == 5  # 4 deliveries + the damaged one
    assert lister.files(lister.join(awslogs, PROD, "CloudTrail")) == []  # only sub-folders
    assert lister.dirs(lister.join(root, "no-such-folder")) == []

    # Small pages give the same answer as one big page.
    monkeypatch.setattr(s3src, "PAGE_SIZE", 2)
    assert sorted(lister.files(day5)) == sorted(files.items())
    assert sorted(lister.dirs(lister.join(awslogs, ORG))) == [DEV, "777788889999"]
    assert any(c.get("ContinuationToken") for c in calls)

    # Discovery of three days lists exactly those day folders (+ the delivery day after).
    calls.clear()
    disc = discover(lister, root, DateRange(date(2026, 10, 4), date(2026, 10, 6)))
    assert all(c["Delimiter"] == "/" and c["Prefix"].startswith(f"{prefix}/") for c in calls)
    day_prefixes = {
        c["Prefix"].split("/CloudTrail/")[1]
        for c in calls
        if c["Prefix"].count("/") >= 9 and "/CloudTrail/" in c["Prefix"]
    }
    assert {p.split("/", 1)[1] for p in day_prefixes} == {f"2026/10/0{d}/" for d in (4, 5, 6, 7)}
    assert {f.day for f in disc.files} == {date(2026, 10, d) for d in (4, 5, 6, 7)}
    assert all(f.path.startswith(f"s3://{bucket}/{prefix}/AWSLogs/") for f in disc.files)


# -- the audit through S3 -----------------------------------------------------------------


def test_audit_from_s3_matches_the_local_folder(
    aws_env: str, demo_bucket: Any, demo_trail: Any
) -> None:
    bucket, prefix, _ = demo_bucket
    url = f"s3://{bucket}/{prefix}"
    local = audit(str(demo_trail.root))
    remote = audit(url)
    assert remote.totals.attempts == demo_trail.denied == 7
    assert remote.coverage.files_scanned > 600
    assert remote.coverage.accounts == (PROD, DEV, "777788889999")
    # 7, not 8: the denied call in CloudTrail-Insight/ is not an event log and is not read.
    # The damaged log is named by its s3:// URL.
    assert [u.path for u in remote.coverage.unreadable if "not a complete gzip" in u.reason] == [
        f"{url}/AWSLogs/{PROD}/CloudTrail/eu-west-1/2026/10/05/"
        + Path(next(p for p in demo_trail.root.rglob("*20261005T2300Z*"))).name
    ]
    same_answer(remote, local, str(demo_trail.root), url)


def test_cache_keeps_the_files_and_a_rerun_reads_them(
    aws_env: str, s3: Any, upload: Any, demo_trail: Any, tmp_path: Path
) -> None:
    days = ("2026/10/04/", "2026/10/05/", "2026/10/06/", "2026/10/07/")
    keys = upload(
        s3,
        demo_trail.root,
        "cache-trail",
        "p",
        keep=lambda rel: any(d in rel for d in days) or "CloudTrail-" in rel,
    )
    rng = DateRange(date(2026, 10, 4), date(2026, 10, 6))
    cache = tmp_path / "cache"
    first = audit("s3://cache-trail/p", rng, cache_dir=cache)
    assert first.totals.attempts == 3

    logs = sorted(k for k in keys if "/CloudTrail/" in k and k.endswith(".json.gz"))
    cached = sorted(
        p.relative_to(cache / "cache-trail").as_posix() for p in cache.rglob("*") if p.is_file()
    )
    assert cached == logs  # every log read, nothing else (no digest, insight, stray file)
    for k in logs[:5]:
        assert (cache / "cache-trail" / k).read_bytes() == (
            demo_trail.root / k.removeprefix("p/")
        ).read_bytes()

    # Spoil every object in the bucket (same size, so the listing is unchanged).
    for k in keys:
        size = s3.head_object(Bucket="cache-trail", Key=k)["ContentLength"]
        s3.put_object(Bucket="cache-trail", Key=k, Body=b"\0" * size)
    again = audit("s3://cache-trail/p", rng, cache_dir=cache)
    assert again.findings == first.findings and again.events == first.events
    assert again.coverage == first.coverage
    # Without the cache the spoiled bucket is what would be read: proves the cache was used.
    spoiled = audit("s3://cache-trail/p", rng)
    assert spoiled.totals.attempts == 0
    assert spoiled.coverage.files_unreadable == len(logs)


def test_an_object_gone_after_listing_is_named_in_coverage(
    aws_env: str, demo_bucket: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket, prefix, _ = demo_bucket
    url = f"s3://{bucket}/{prefix}"
    ghost_dir = f"{url}/AWSLogs/{PROD}/CloudTrail/us-east-1/2026/10/04"
    ghost = f"{ghost_dir}/{PROD}_CloudTrail_us-east-1_20261004T0905Z_DELETEDAFTERLIST.json.gz"
    listed = S3Lister.files

    def files_then_delete(self: S3Lister, prefix_path: str) -> list[tuple[str, int]]:
        out = listed(self, prefix_path)
        if prefix_path == ghost_dir:  # the object was listed, then deleted before the read
            out.append((ghost.rsplit("/", 1)[1], 1234))
        return out

    monkeypatch.setattr(S3Lister, "files", files_then_delete)
    report = audit(url, DateRange(date(2026, 10, 4), date(2026, 10, 6)))
    assert Unreadable(ghost, f"cannot read: {ghost}: NoSuchKey") in report.coverage.unreadable
    assert report.coverage.files_unreadable == 2  # the ghost and the damaged log
    assert report.totals.attempts == 3  # the rest of the audit went on
    write_reports(report, tmp_path, ("json",))
    saved = json.loads((tmp_path / "report.json").read_text())
    assert ghost in json.dumps(saved["coverage"])


# -- reading one object -------------------------------------------------------------------


def test_read_object_names_a_missing_key_at_once(
    aws_env: str, demo_bucket: Any, demo_trail: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket, prefix, keys = demo_bucket
    calls = []
    fetch = s3src._fetch
    monkeypatch.setattr(s3src, "_fetch", lambda b, k: calls.append(k) or fetch(b, k))
    url = f"s3://{bucket}/{prefix}/AWSLogs/nope.json.gz"
    with pytest.raises(OSError) as exc:
        read_object(url, None)
    assert str(exc.value) == f"{url}: NoSuchKey"
    assert len(calls) == 1  # a missing key is not retried
    with pytest.raises(OSError, match="NoSuchBucket"):
        read_object("s3://no-such-bucket-here/k.json.gz", None)
    key = next(k for k in keys if "/CloudTrail/" in k)
    assert (
        read_object(f"s3://{bucket}/{key}", None)
        == (demo_trail.root / key.removeprefix(f"{prefix}/")).read_bytes()
    )


def _flaky_client(monkeypatch: pytest.MonkeyPatch, failures: int, data: bytes) -> list[str]:
    from botocore.response import StreamingBody

    calls: list[str] = []

    class Client:
        def get_object(self, Bucket: str, Key: str) -> dict:  # noqa: N803
            calls.append(Key)
            if len(calls) <= failures:  # Content-Length promises more than arrives
                return {"Body": StreamingBody(io.BytesIO(data[:10]), len(data))}
            return {"Body": StreamingBody(io.BytesIO(data), len(data))}

    monkeypatch.setattr(s3src, "_client", lambda: Client())
    monkeypatch.setattr(s3src, "READ_BACKOFF", s3src.Backoff(attempts=4, base_s=0.0))
    return calls


def test_read_object_retries_a_broken_stream(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = b"\x1f\x8b" + b"x" * 100
    calls = _flaky_client(monkeypatch, failures=2, data=data)
    assert read_object("s3://trail-bucket/a/b.json.gz", str(tmp_path)) == data
    assert len(calls) == 3
    assert (tmp_path / "trail-bucket" / "a" / "b.json.gz").read_bytes() == data
    assert not list(tmp_path.rglob("*.part"))


def test_read_object_gives_up_after_bounded_tries(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _flaky_client(monkeypatch, failures=99, data=b"y" * 50)
    with pytest.raises(OSError) as exc:
        read_object("s3://trail-bucket/a/b.json.gz", None)
    assert len(calls) == s3src.READ_TRIES == 4
    assert str(exc.value).startswith(
        "s3://trail-bucket/a/b.json.gz: read failed after 4 tries: IncompleteReadError"
    )


# -- bad sources: one line, exit 2 --------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "s3://no-such-bucket-here/trail",
            "--source s3://no-such-bucket-here/trail: no such bucket",
        ),
        ("s3://", "--source s3://: no bucket name (use s3://bucket/prefix)"),
        (
            "s3://Bad Bucket/x",
            "--source s3://Bad Bucket/x: 'Bad Bucket' is not a valid bucket name",
        ),
    ],
)
def test_a_bad_bucket_is_one_line_and_exit_2(
    aws_env: str, tmp_path: Path, source: str, message: str
) -> None:
    from auditor.cli import app

    result = CliRunner().invoke(
        app, ["audit", "--source", source, "--month", "2026-10", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert result.stderr == f"auditor: error: {message}\n"
    assert not list(tmp_path.iterdir())


def test_access_denied_and_missing_credentials_are_one_line(
    aws_env: str, demo_bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.stub import Stubber

    client = s3src.new_client()
    with Stubber(client) as stub:
        stub.add_client_error("list_objects_v2", "AccessDenied", "Access Denied", 403)
        with pytest.raises(SourceError) as exc:
            S3Lister("s3://org-trail-bucket/p", client=client)
    assert str(exc.value).startswith(
        "--source s3://org-trail-bucket/p: access denied (AccessDenied); listing a trail "
        "needs s3:ListBucket"
    )
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(SourceError, match="no-such-profile"):
        S3Lister(f"s3://{demo_bucket[0]}/p")
    monkeypatch.delenv("AWS_PROFILE")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(SourceError, match="no AWS credentials found"):
        S3Lister(f"s3://{demo_bucket[0]}/p")


def test_a_local_folder_audit_never_imports_boto3(demo_trail: Any) -> None:
    code = (
        "import sys\n"
        "from datetime import date\n"
        "from auditor.audit import run_audit\n"
        "from auditor.config import AuditConfig, DateRange\n"
        f"r = run_audit(AuditConfig(range=DateRange(date(2026, 10, 4), date(2026, 10, 5)), "
        f"source={str(demo_trail.root)!r}, workers=2))\n"
        "assert r.totals.attempts == 3, r.totals\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
