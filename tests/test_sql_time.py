"""Event times are compared as instants, not as text, in both dialects: a fractional
second on the first day is in range, one just after the end is not ('.' sorts before
'Z' as text, so a text comparison gets both wrong)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import sqlglot
from sqlglot import exp

from auditor.audit import run_audit
from auditor.config import AthenaSettings, AuditConfig, DateRange
from auditor.engines.athena import sql_target
from auditor.engines.local import TARGET as LOCAL
from auditor.plan import build_plan
from auditor.synth import bedrock_policy_call, iam_user, log_key, write_log

ACCT = "111122223333"
RANGE = DateRange(date(2026, 10, 1), date(2026, 10, 31))
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _write(root: Path, event_time: str, eid: str, delivered: datetime) -> None:
    rec = bedrock_policy_call(
        delivered, identity=iam_user(ACCT, "bob"), account=ACCT, region="us-east-1", event_id=eid
    )
    rec["eventTime"] = event_time
    write_log(root, log_key(ACCT, "us-east-1", delivered, salt=eid), [rec])


def test_local_engine_compares_event_times_as_instants(tmp_path: Path) -> None:
    root = tmp_path / "trail"
    _write(
        root,
        "2026-10-01T00:00:00.500Z",
        "first-day-fraction",
        datetime(2026, 10, 1, 0, 5, tzinfo=UTC),
    )
    _write(root, "2026-10-31T23:59:59.999Z", "last-moment", datetime(2026, 11, 1, 0, 5, tzinfo=UTC))
    _write(
        root, "2026-11-01T00:00:00.500Z", "just-after-end", datetime(2026, 11, 1, 0, 10, tzinfo=UTC)
    )
    _write(
        root,
        "2026-09-30T23:59:59.999Z",
        "just-before-start",
        datetime(2026, 10, 1, 0, 1, tzinfo=UTC),
    )
    report = run_audit(
        AuditConfig(range=RANGE, source=str(root), workers=1, now=NOW, lookahead_days=0)
    )
    assert {e.event_id for e in report.events} == {"first-day-fraction", "last-moment"}


def test_both_dialects_parse_event_time_before_comparing() -> None:
    for dialect, func in (("athena", "from_iso8601_timestamp"), ("duckdb", "timestamptz")):
        cfg = AuditConfig(range=RANGE, engine="athena", athena=AthenaSettings())
        for q in build_plan(
            cfg, sql_target(cfg.athena, None) if dialect == "athena" else LOCAL
        ).queries:
            assert "eventtime >=" not in q.sql and "eventtime <" not in q.sql, q.name
            assert func in q.sql.lower(), (dialect, q.name)
            assert RANGE.start_iso in q.params  # the bounds stay bound values
    tree = sqlglot.parse_one(
        next(q for q in build_plan(cfg, sql_target(cfg.athena, None)).queries).display,
        read="athena",
    )
    lows = [
        n
        for n in tree.find_all(exp.GTE)
        if "FROM_ISO8601_TIMESTAMP(EVENTTIME)" in n.this.sql("athena").upper()
    ]
    assert lows and RANGE.start_iso in lows[0].expression.sql("athena")
