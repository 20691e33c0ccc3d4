"""sources/local.py: a symbolic link among the log files that leads nowhere is named in
the coverage rather than silently skipped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from auditor.audit import run_audit
from auditor.config import AuditConfig, DateRange
from auditor.synth import bedrock_policy_call, iam_user, log_key, write_log

ACCT = "111122223333"


def test_a_broken_symlinked_log_file_is_named_as_unreadable(tmp_path: Path) -> None:
    when = datetime(2026, 10, 5, 12, tzinfo=UTC)
    rec = bedrock_policy_call(
        when, identity=iam_user(ACCT, "bob"), account=ACCT, region="us-east-1", event_id="e1"
    )
    good = write_log(tmp_path / "trail", log_key(ACCT, "us-east-1", when), [rec])
    broken = good.parent / log_key(ACCT, "us-east-1", when, salt="b").rsplit("/", 1)[1]
    broken.symlink_to(tmp_path / "gone.json.gz")
    day = datetime(2026, 10, 5).date()
    report = run_audit(
        AuditConfig(range=DateRange(day, day), source=str(tmp_path / "trail"), workers=1)
    )
    cov = report.coverage
    assert cov.files_unreadable == 1 and not cov.complete
    (bad,) = cov.unreadable
    assert bad.path.endswith(broken.name) and "cannot read" in bad.reason
    assert cov.files_scanned == 1  # the one that could be read
    assert report.totals.attempts == 1
