"""A report never claims more than it read: an audit that read nothing, an --account or
--region with no folder, and a range CloudTrail may not have delivered yet are each a
shortfall, so coverage is incomplete and --strict exits 4."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from typer.testing import CliRunner

from auditor.audit import run_audit
from auditor.cli import app
from auditor.config import AuditConfig, DateRange
from auditor.model import Report
from auditor.synth import bedrock_policy_call, iam_user, log_key, write_log

ACCT = "111122223333"
DAY = date(2026, 10, 5)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _trail(root: Path) -> Path:
    when = datetime(2026, 10, 5, 12, tzinfo=UTC)
    rec = bedrock_policy_call(
        when, identity=iam_user(ACCT, "bob"), account=ACCT, region="us-east-1", event_id="e1"
    )
    write_log(root, log_key(ACCT, "us-east-1", when), [rec])
    return root


def _audit(source: Path, now: datetime = NOW, **kw: object) -> Report:
    return run_audit(
        AuditConfig(
            range=DateRange(DAY, DAY),
            source=str(source),
            workers=1,
            lookahead_days=0,
            now=now,
            **kw,
        )
    )  # type: ignore[arg-type]


def kinds(report: Report) -> list[str]:
    return [s.kind for s in report.coverage.shortfalls]


def test_an_empty_awslogs_folder_is_nothing_read(tmp_path: Path) -> None:
    (tmp_path / "AWSLogs").mkdir()
    report = _audit(tmp_path)
    assert kinds(report) == ["nothing-read"] and not report.coverage.complete


def test_strict_exits_4_when_nothing_was_read(tmp_path: Path) -> None:
    (tmp_path / "trail" / "AWSLogs").mkdir(parents=True)
    result = CliRunner().invoke(
        app,
        [
            "audit",
            "--source",
            str(tmp_path / "trail"),
            "--from",
            "2026-10-05",
            "--to",
            "2026-10-05",
            "--out",
            str(tmp_path / "out"),
            "--strict",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 4, result.output


def test_a_trail_with_logs_has_no_shortfall(tmp_path: Path) -> None:
    report = _audit(_trail(tmp_path / "t"))
    assert kinds(report) == [] and report.coverage.complete


def test_an_account_or_region_asked_for_without_folder_is_missing_scope(
    tmp_path: Path,
) -> None:
    report = _audit(
        _trail(tmp_path / "t"), accounts=(ACCT, "999988887777"), regions=("us-east-1", "eu-west-3")
    )
    missing = [s.detail for s in report.coverage.shortfalls if s.kind == "missing-scope"]
    assert any("999988887777" in d for d in missing) and any("eu-west-3" in d for d in missing)
    assert len(missing) == 2 and not report.coverage.complete
    assert {g.account_id for g in report.coverage.gaps} >= {"999988887777"}
    assert report.totals.attempts == 1  # what was there is still reported


def test_a_range_within_the_delivery_lag_is_not_delivered(tmp_path: Path) -> None:
    trail = _trail(tmp_path / "t")
    # the range ends 2026-10-06T00:00Z; 30 minutes later, the last hour may be missing
    report = _audit(trail, now=datetime(2026, 10, 6, 0, 30, tzinfo=UTC))
    (s,) = report.coverage.shortfalls
    assert s.kind == "not-delivered" and not report.coverage.complete
    assert "events after 2026-10-05T23:30Z may not be delivered yet" in s.detail
    assert "range ends 2026-10-06T00:00Z" in s.detail
    # a range wholly in the future: nothing of it can have been delivered
    report = _audit(trail, now=datetime(2026, 10, 1, tzinfo=UTC))
    assert "events after 2026-10-05T00:00Z" in report.coverage.shortfalls[-1].detail
    # two hours after the end: settled
    assert kinds(_audit(trail, now=datetime(2026, 10, 6, 2, tzinfo=UTC))) == []


def test_the_terminal_summary_names_why_coverage_is_incomplete(tmp_path: Path) -> None:
    """A user who only reads the terminal must see why, not just that, coverage is short."""
    from auditor.render.terminal import summary

    (tmp_path / "AWSLogs").mkdir()
    cfg = AuditConfig(range=DateRange(DAY, DAY), source=str(tmp_path), now=NOW)
    report = run_audit(cfg)
    text = summary(report, [])
    assert "coverage is INCOMPLETE" in text
    assert "no log file was read" in text
