"""Every event names the log file it came from: relative to --source for a local copy,
the object's s3:// URL on Athena ("$path"), in the model, the JSON and the CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

from auditor.audit import run_audit
from auditor.config import AthenaSettings, AuditConfig, DateRange
from auditor.engines.athena import sql_target
from auditor.plan import build_plan
from auditor.render import csv_report
from auditor.synth import bedrock_policy_call, iam_user, log_key, write_log

ACCT = "111122223333"
DAY = date(2026, 10, 5)


def test_local_events_name_their_log_file_relative_to_the_source(tmp_path: Path) -> None:
    when = datetime(2026, 10, 5, 12, tzinfo=UTC)
    files = []
    for eid in ("e1", "e2"):
        rec = bedrock_policy_call(
            when, identity=iam_user(ACCT, "bob"), account=ACCT, region="us-east-1", event_id=eid
        )
        key = log_key(ACCT, "us-east-1", when, salt=eid)
        write_log(tmp_path / "trail", key, [rec])
        files.append(key)
    report = run_audit(
        AuditConfig(
            range=DateRange(DAY, DAY),
            source=str(tmp_path / "trail"),
            workers=1,
            lookahead_days=0,
            now=datetime(2026, 12, 1, tzinfo=UTC),
        )
    )
    assert sorted(e.source_file or "" for e in report.events) == sorted(files)
    rows = list(csv.DictReader(io.StringIO(csv_report.render(report))))
    assert sorted(r["source_file"] for r in rows) == sorted(files)


def test_athena_selects_the_object_path() -> None:
    cfg = AuditConfig(range=DateRange(DAY, DAY), engine="athena", athena=AthenaSettings())
    main = next(
        q
        for q in build_plan(cfg, sql_target(cfg.athena, None)).queries
        if q.name == "denied_policy_changes"
    )
    assert '"$path" AS source_file' in main.sql
