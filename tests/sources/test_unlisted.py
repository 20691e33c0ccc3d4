"""A folder that cannot be listed is not "no logs delivered": discovery records it and
the report names it as an `unlisted` shortfall, relative to --source, while everything
else is still read. A second AWSLogs/ deeper under the source is read too.

Tests run as root, for whom chmod 000 changes nothing: the listing error is injected
(os.scandir for one path; a botocore handler on the real moto client for S3)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.audit import run_audit
from auditor.config import AuditConfig, DateRange
from auditor.errors import SourceError
from auditor.model import Report
from auditor.sources.layout import discover, find_awslogs
from auditor.sources.local import LocalLister
from auditor.synth import bedrock_policy_call, iam_user, log_key, write_log

A, B = "111122223333", "444455556666"
RANGE = DateRange(date(2026, 10, 5), date(2026, 10, 5))
NOW = datetime(2026, 12, 1, tzinfo=UTC)
WHEN = datetime(2026, 10, 5, 12, tzinfo=UTC)


def _trail(root: Path, prefix: str = "") -> Path:
    for acct in (A, B):
        rec = bedrock_policy_call(
            WHEN,
            identity=iam_user(acct, "bob"),
            account=acct,
            region="us-east-1",
            event_id=f"{prefix}{acct}",
        )
        write_log(root / prefix if prefix else root, log_key(acct, "us-east-1", WHEN), [rec])
    return root


def _audit(source: str) -> Report:
    return run_audit(AuditConfig(range=RANGE, source=source, workers=1, now=NOW, lookahead_days=0))


def _deny(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if os.path.normpath(str(path)) == os.path.normpath(str(folder)):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


@pytest.mark.parametrize("which", ["day", "region", "account-ct"])
def test_a_folder_that_cannot_be_listed_is_named_not_taken_as_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    root = _trail(tmp_path / "trail")
    ct = Path("AWSLogs") / B / "CloudTrail"
    rel = {"day": ct / "us-east-1" / "2026" / "10" / "05", "region": ct, "account-ct": ct}[which]
    _deny(monkeypatch, root / rel)
    report = _audit(str(root))
    (s,) = report.coverage.shortfalls
    assert s.kind == "unlisted" and not report.coverage.complete
    assert s.detail.startswith(f"{rel.as_posix()}/: could not be listed (Permission denied)")
    assert str(tmp_path) not in s.detail  # relative to --source
    assert [e.account_id for e in report.events] == [A]  # the rest is still read


def test_an_unlisted_account_folder_under_awslogs_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _trail(tmp_path / "trail")
    _deny(monkeypatch, root / "AWSLogs")
    report = _audit(str(root))
    assert [(s.kind, s.detail.split(":")[0]) for s in report.coverage.shortfalls] == [
        ("unlisted", "AWSLogs/"),
        ("nothing-read", "no log file was read"),
    ]


def test_a_source_that_cannot_be_listed_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _trail(tmp_path / "trail")
    _deny(monkeypatch, root)
    with pytest.raises(SourceError, match="cannot list: Permission denied"):
        discover(LocalLister(str(root)), str(root), RANGE)


def test_a_missing_folder_is_still_empty_not_unlisted(tmp_path: Path) -> None:
    lister = LocalLister(str(_trail(tmp_path / "trail")))
    assert lister.dirs(str(tmp_path / "trail" / "nope")) == []
    assert lister.files(str(tmp_path / "trail" / "nope")) == []


def test_a_second_trail_deeper_under_the_source_is_read(tmp_path: Path) -> None:
    root = _trail(tmp_path / "src")  # src/AWSLogs/...
    _trail(root, prefix="backup/old")  # src/backup/old/AWSLogs/..., other event ids
    assert find_awslogs(LocalLister(str(root)), str(root)) == [
        str(root / "AWSLogs"),
        str(root / "backup" / "old" / "AWSLogs"),
    ]
    report = _audit(str(root))
    assert sorted(e.event_id for e in report.events) == sorted(
        [A, B, f"backup/old{A}", f"backup/old{B}"]
    )
    assert report.coverage.complete


def test_the_same_events_in_a_deeper_copy_are_counted_once(tmp_path: Path) -> None:
    root = _trail(tmp_path / "src")
    _trail(tmp_path / "copy")
    os.makedirs(root / "backup")
    os.rename(tmp_path / "copy" / "AWSLogs", root / "backup" / "AWSLogs")
    report = _audit(str(root))
    assert sorted(e.event_id for e in report.events) == [A, B]
    assert report.totals.attempts == 2


def test_s3_access_denied_on_a_sub_prefix_is_unlisted(
    aws_env: str, s3: Any, upload: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from auditor.sources import s3 as s3src

    _trail(tmp_path / "trail")
    upload(s3, tmp_path / "trail", "denied-trail", "t")
    denied = f"t/AWSLogs/{B}/CloudTrail/"
    real = s3src.make_client

    def make_client(*args: Any, **kw: Any) -> Any:
        client = real(*args, **kw)

        def deny(params: dict[str, Any], **_: Any) -> None:
            if params.get("Prefix") == denied:
                raise ClientError(
                    {
                        "Error": {"Code": "AccessDenied", "Message": "denied"},
                        "ResponseMetadata": {"HTTPStatusCode": 403},
                    },
                    "ListObjectsV2",
                )

        client.meta.events.register("provide-client-params.s3.ListObjectsV2", deny)
        return client

    monkeypatch.setattr(s3src, "make_client", make_client)
    report = _audit("s3://denied-trail/t")
    (s,) = report.coverage.shortfalls
    assert s.kind == "unlisted"
    assert s.detail.startswith(f"AWSLogs/{B}/CloudTrail/: could not be listed (access denied")
    assert [e.account_id for e in report.events] == [A]
