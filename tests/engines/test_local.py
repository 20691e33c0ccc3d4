"""The local engine end to end on real files: the delivery window around midnight, the
rule exactly as DOMAIN.md section 2 states it, damaged files, hostile strings, duplicate
deliveries and worker processes. Every test writes a trail in tmp_path and runs DuckDB."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor.audit import write_reports
from auditor.synth import (
    assumed_role,
    bedrock_policy_call,
    event,
    iam_user,
    log_key,
    write_log,
)

ACCT = "111122223333"
OTHER = "444455556666"
REGION = "us-east-1"


def at(day: int, hh: int = 12, mm: int = 0, ss: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hh, mm, ss, tzinfo=UTC)


def denial(when: datetime, eid: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("identity", iam_user(ACCT, "bob"))
    kw.setdefault("account", ACCT)
    kw.setdefault("region", REGION)
    return bedrock_policy_call(when, event_id=eid, **kw)


def put(
    root: Path,
    delivered: datetime,
    records: list[dict[str, Any]],
    acct: str = ACCT,
    region: str = REGION,
    salt: str = "",
    **kw: Any,
) -> Path:
    return write_log(root, log_key(acct, region, delivered, salt=salt, **kw), records)


def ids(report) -> set[str]:  # type: ignore[no-untyped-def]
    return {e.event_id for e in report.events}


# -- the delivery window ----------------------------------------------------------------


def test_midnight_delivery_on_both_ends_of_the_range(tmp_path: Path, audit) -> None:
    # Range 2026-10-10 .. 2026-10-12: events in [10th 00:00Z, 13th 00:00Z), read from
    # the folders of the 10th .. 13th.
    cases = {
        "late-on-last-day": (at(12, 23, 58), at(13, 0, 5)),  # next day's folder: counted
        "last-second": (at(12, 23, 59, 59), at(13, 0, 9)),  # counted
        "day-before-first": (at(9, 23, 58), at(10, 0, 5)),  # first folder, too early
        "first-instant": (at(10, 0, 0, 0), at(10, 0, 7)),  # counted
        "day-after-last": (at(13, 0, 0, 0), at(13, 0, 7)),  # the end is exclusive
        "in-range-but-two-days-late": (at(12, 20), at(14, 0, 5)),  # to+2: not read
        "in-first-folder-previous-month": (at(9, 12), at(9, 12, 5)),  # from-1: not read
    }
    for eid, (when, delivered) in cases.items():
        put(tmp_path, delivered, [denial(when, eid)], salt=eid)

    report = audit(tmp_path, date(2026, 10, 10), date(2026, 10, 12))

    assert ids(report) == {"late-on-last-day", "last-second", "first-instant"}
    assert report.range_start == "2026-10-10T00:00:00Z"
    assert report.range_end == "2026-10-13T00:00:00Z"
    (f,) = report.findings
    assert (f.first_seen, f.last_seen) == ("2026-10-10T00:00:00Z", "2026-10-12T23:59:59Z")
    assert f.attempts == 3
    # Without a look-ahead (later successes), folders 10..13 hold 5 of the 7 files; the
    # 9th and the 14th are never opened.
    bare = audit(tmp_path, date(2026, 10, 10), date(2026, 10, 12), lookahead_days=0)
    assert ids(bare) == ids(report)
    assert (bare.coverage.files_scanned, bare.coverage.records_scanned) == (5, 5)


def test_single_day_range_reads_that_day_and_the_next(tmp_path: Path, audit) -> None:
    put(tmp_path, at(1, 0, 5), [denial(at(1, 0, 1), "in")], salt="a")
    put(
        tmp_path,
        at(2, 0, 5),
        [denial(at(1, 23, 59), "late"), denial(at(2, 0, 1), "next")],
        salt="b",
    )
    report = audit(tmp_path, date(2026, 10, 1))
    assert ids(report) == {"in", "late"}


# -- the rule, exactly --------------------------------------------------------------------

RULE_CASES: list[tuple[str, str, str, str | None, bool]] = [
    # (id, eventSource, eventName, errorCode, counted)
    ("put-ade", "bedrock.amazonaws.com", "PutResourcePolicy", "AccessDeniedException", True),
    ("put-ad", "bedrock.amazonaws.com", "PutResourcePolicy", "AccessDenied", True),
    ("del-ade", "bedrock.amazonaws.com", "DeleteResourcePolicy", "AccessDeniedException", True),
    ("del-ad", "bedrock.amazonaws.com", "DeleteResourcePolicy", "AccessDenied", True),
    ("lower-code", "bedrock.amazonaws.com", "PutResourcePolicy", "accessdenied", False),
    ("upper-code", "bedrock.amazonaws.com", "PutResourcePolicy", "ACCESSDENIED", False),
    ("suffix-code", "bedrock.amazonaws.com", "PutResourcePolicy", "AccessDeniedExceptionX", False),
    ("padded-code", "bedrock.amazonaws.com", "PutResourcePolicy", " AccessDenied", False),
    ("prefixed-code", "bedrock.amazonaws.com", "PutResourcePolicy", "Client.AccessDenied", False),
    ("validation", "bedrock.amazonaws.com", "PutResourcePolicy", "ValidationException", False),
    ("throttled", "bedrock.amazonaws.com", "DeleteResourcePolicy", "ThrottlingException", False),
    ("no-error", "bedrock.amazonaws.com", "PutResourcePolicy", None, False),
    ("get", "bedrock.amazonaws.com", "GetResourcePolicy", "AccessDeniedException", False),
    ("lower-name", "bedrock.amazonaws.com", "putresourcepolicy", "AccessDeniedException", False),
    ("other-name", "bedrock.amazonaws.com", "CreateAgent", "AccessDeniedException", False),
    (
        "agentcore",
        "bedrock-agentcore.amazonaws.com",
        "PutResourcePolicy",
        "AccessDeniedException",
        False,
    ),
    ("runtime", "bedrock-runtime.amazonaws.com", "PutResourcePolicy", "AccessDenied", False),
    (
        "secrets",
        "secretsmanager.amazonaws.com",
        "PutResourcePolicy",
        "AccessDeniedException",
        False,
    ),
    ("ecr", "ecr.amazonaws.com", "DeleteResourcePolicy", "AccessDeniedException", False),
    ("upper-source", "BEDROCK.amazonaws.com", "PutResourcePolicy", "AccessDenied", False),
]


def test_the_rule_nothing_more_nothing_less(tmp_path: Path, audit) -> None:
    records = []
    for eid, source, name, code, _ in RULE_CASES:
        rec = denial(at(5), eid)
        rec["eventSource"], rec["eventName"] = source, name
        if code is None:
            rec.pop("errorCode")
            rec.pop("errorMessage")
        else:
            rec["errorCode"] = code
        records.append(rec)
    # errorCode present but null, and an errorMessage without errorCode: still no denial.
    null_code = denial(at(5), "null-code")
    null_code["errorCode"] = None
    message_only = denial(at(5), "message-only")
    message_only.pop("errorCode")
    records += [null_code, message_only]
    put(tmp_path, at(5, 12, 5), records)

    report = audit(tmp_path, date(2026, 10, 5))

    assert ids(report) == {eid for eid, *_, counted in RULE_CASES if counted}
    assert report.coverage.records_scanned == len(RULE_CASES) + 2
    (f,) = report.findings
    assert f.actions == {"DeleteResourcePolicy": 2, "PutResourcePolicy": 2}
    assert f.error_codes == {"AccessDenied": 2, "AccessDeniedException": 2}


def test_successful_policy_changes_are_not_findings(tmp_path: Path, audit) -> None:
    put(tmp_path, at(5, 12, 5), [denial(at(5), "ok", error=None), denial(at(5, 13), "no")])
    assert ids(audit(tmp_path, date(2026, 10, 5))) == {"no"}


# -- what a finding says ----------------------------------------------------------------


def test_target_resource_from_request_else_error_message_else_resources(
    tmp_path: Path, audit
) -> None:
    kb = f"arn:aws:bedrock:{REGION}:{ACCT}:knowledge-base/KB0001"
    agent = f"arn:aws:bedrock:{REGION}:{ACCT}:agent/AG1"
    flow = f"arn:aws:bedrock:{REGION}:{ACCT}:flow/F1"
    from_request = denial(at(5, 1), "req", resource=agent)
    # Knowledge-base variant: no resourceArn in the request; the message names the ARN.
    kb_variant = denial(
        at(5, 2), "kb", resource=kb, request={"policy": "{}", "expectedRevisionId": "3"}
    )
    no_request = denial(at(5, 3), "null", resource=flow, request=None)
    # A request logged as a string CloudTrail could not parse ("redacted").
    redacted = denial(at(5, 4), "redacted", resource=flow, request="redacted")
    only_resources = denial(at(5, 5), "res", request=None)
    only_resources["errorMessage"] = "Access denied"
    only_resources["resources"] = [{"ARN": agent + "-x", "accountId": ACCT, "type": "agent"}]
    put(tmp_path, at(5, 6), [from_request, kb_variant, no_request, redacted, only_resources])

    report = audit(tmp_path, date(2026, 10, 5))

    by_id = {e.event_id: e.resource for e in report.events}
    assert by_id == {"req": agent, "kb": kb, "null": flow, "redacted": flow, "res": agent + "-x"}
    assert report.findings[0].resources == tuple(sorted({agent, kb, flow, agent + "-x"}))


def test_role_sessions_group_under_the_role_with_a_session_count(tmp_path: Path, audit) -> None:
    s1 = assumed_role(ACCT, "ci", "run-1")
    s2 = assumed_role(ACCT, "ci", "run-2")
    put(
        tmp_path,
        at(5, 13),
        [
            denial(at(5, 10), "a", identity=s1, ip="10.0.0.2", agent="b-agent"),
            denial(
                at(5, 11),
                "b",
                identity=s2,
                ip="10.0.0.1",
                agent="a-agent",
                action="DeleteResourcePolicy",
                error="AccessDenied",
            ),
            denial(at(5, 12), "c", identity=s1, ip="10.0.0.2", agent="b-agent"),
        ],
    )
    report = audit(tmp_path, date(2026, 10, 5))
    (f,) = report.findings
    assert f.principal == f"arn:aws:iam::{ACCT}:role/ci"
    assert f.principal_type == "AssumedRole"
    assert (f.attempts, f.sessions) == (3, 2)
    assert f.actions == {"PutResourcePolicy": 2, "DeleteResourcePolicy": 1}
    assert f.error_codes == {"AccessDeniedException": 2, "AccessDenied": 1}
    assert f.source_ips == ("10.0.0.1", "10.0.0.2")
    assert f.user_agents == ("a-agent", "b-agent")
    assert (f.first_seen, f.last_seen) == ("2026-10-05T10:00:00Z", "2026-10-05T12:00:00Z")
    assert not f.cross_account
    assert report.totals.attempts == 3 and report.totals.principals == 1


def test_cross_account_attempt_is_flagged(tmp_path: Path, audit) -> None:
    # A user of OTHER calls Bedrock in ACCT: the finding is ACCT's, the caller OTHER's.
    put(tmp_path, at(5, 13), [denial(at(5), "x", identity=iam_user(OTHER, "eve"))])
    (f,) = audit(tmp_path, date(2026, 10, 5)).findings
    assert (f.account_id, f.caller_account_id, f.cross_account) == (ACCT, OTHER, True)
    assert f.principal == f"arn:aws:iam::{OTHER}:user/eve"


def test_an_event_delivered_by_two_trails_is_counted_once(tmp_path: Path, audit) -> None:
    # An organisation trail and an older per-account trail in one bucket both deliver it.
    rec = denial(at(5), "dup")
    put(tmp_path, at(5, 0, 5) + timedelta(hours=12), [rec])
    put(tmp_path, at(5, 0, 9) + timedelta(hours=12), [rec], org_id="o-abcdef1234")
    report = audit(tmp_path, date(2026, 10, 5))
    assert report.coverage.files_scanned == 2
    assert report.totals.attempts == 1


# -- damaged input --------------------------------------------------------------------------


def _gz(body: bytes) -> bytes:
    return gzip.compress(body, mtime=0)


def damaged_trail(root: Path) -> dict[str, str]:
    """One good denial plus every kind of damage, all in the folder of 2026-10-05.
    Returns {file name: expected reason fragment} for the files that cannot be read."""
    good = put(root, at(5, 12, 5), [denial(at(5), "good")], salt="good")
    day = good.parent
    good_json = json.dumps({"Records": [denial(at(5, 1), "in-damaged")]}).encode()
    cut = good_json[: good_json.index(b"resourcePolicy") + 40]
    assert b"ResourcePolicy" in cut  # the needle: this file is parsed, not just counted
    files = {
        "truncated.json.gz": (_gz(good_json)[:-20], "gzip"),
        "text.json.gz": (_gz(b"this is not JSON at all\n"), "not a CloudTrail log file"),
        "empty.json.gz": (b"", "empty"),
        "records-5.json.gz": (_gz(b'{"Records": 5}'), "Records"),
        "records-5-needle.json.gz": (_gz(b'{"Records": 5, "x": "ResourcePolicy"}'), "Records"),
        "records-object.json.gz": (_gz(b'{"Records": {"eventVersion": "1.09"}}'), "Records"),
        # Cut in the middle of a record, after a needle: the JSON cannot be parsed.
        "cut-mid-record.json.gz": (_gz(cut), "JSON"),
        # Cut at a record boundary, no needle: it would look whole to a lazy check.
        "cut-at-boundary.json.gz": (
            _gz(b'{"Records":[{"eventVersion":"1.09"},{"eventVersion":"1.09"}'),
            "CloudTrail log file",
        ),
        "not-gzip.json.gz": (good_json, "gzip"),
    }
    for name, (body, _) in files.items():
        (day / name).write_bytes(body)
    return {name: reason for name, (_, reason) in files.items()}


def broken_records(root: Path) -> None:
    """A readable file whose candidate records are broken in the ways real data is."""
    no_time = denial(at(5, 2), "no-time")
    no_time.pop("eventTime")
    num_time = denial(at(5, 3), "num-time")
    num_time["eventTime"] = 12345
    bad_time = denial(at(5, 3), "bad-time")
    bad_time["eventTime"] = "2026-10-05 03:00:00"
    str_ident = denial(at(5, 4), "str-ident")
    str_ident["userIdentity"] = "arn:aws:iam::111122223333:user/mallory"
    records: list[Any] = [
        5,
        "a string",
        None,
        no_time,
        num_time,
        bad_time,
        str_ident,
        denial(at(5, 5), "fine"),
    ]
    put(root, at(5, 13, 5), records, salt="broken")


def test_damaged_files_are_named_and_the_audit_goes_on(tmp_path: Path, audit) -> None:
    expected = damaged_trail(tmp_path)
    broken_records(tmp_path)

    report = audit(tmp_path, date(2026, 10, 5))

    # The good events, and the record whose userIdentity is a string (as 'unknown').
    assert ids(report) == {"good", "fine", "str-ident"}
    assert {f.principal for f in report.findings} >= {"unknown"}
    cov = report.coverage
    assert cov.files_scanned == 2
    assert cov.files_unreadable == len(expected)
    by_file: dict[str, list[str]] = {}
    for u in cov.unreadable:
        assert u.reason
        by_file.setdefault(Path(u.path).name, []).append(u.reason)
    for name, fragment in expected.items():
        assert name in by_file, f"{name} is not named in coverage.unreadable"
        assert any(fragment.lower() in r.lower() for r in by_file[name]), (name, by_file[name])
    # Broken records are named with their position and eventID, in the file that held them.
    (broken_file,) = [n for n in by_file if n not in expected]
    reasons = " | ".join(by_file[broken_file])
    assert len(by_file[broken_file]) == 7
    for fragment in (
        "record 0",
        "record 1",
        "record 2",
        "no-time",
        "num-time",
        "bad-time",
        "str-ident",
    ):
        assert fragment in reasons
    assert not cov.complete


def test_unreadable_paths_are_relative_to_the_source(tmp_path: Path, audit) -> None:
    damaged_trail(tmp_path)
    report = audit(tmp_path, date(2026, 10, 5))
    for u in report.coverage.unreadable:
        assert u.path.startswith("AWSLogs/"), u.path


# -- hostile strings ----------------------------------------------------------------------

HOSTILE_AGENT = "<script>alert(1)</script>|`x`[a](b)=cmd"
HOSTILE_ARN = "arn:aws:iam::111122223333:user/o'brien\"\n'); DROP TABLE cloudtrail; --"
HOSTILE_RESOURCE = "arn:aws:bedrock:us-east-1:111122223333:agent/x' OR '1'='1"


def test_hostile_strings_reach_report_json_intact(tmp_path: Path, audit) -> None:
    ident = iam_user(ACCT, "x") | {"arn": HOSTILE_ARN, "principalId": "AIDA\"'\n<b>"}
    trail = tmp_path / "trail"
    put(
        trail,
        at(5, 13),
        [
            denial(
                at(5),
                "h1",
                identity=ident,
                agent=HOSTILE_AGENT,
                resource=HOSTILE_RESOURCE,
                ip="=1+2",
            ),
            denial(at(5, 1), "h2", agent='\u0000\u202e\U0001f600 \\ "quoted"'),
        ],
    )
    report = audit(trail, date(2026, 10, 5))
    write_reports(report, tmp_path / "out", ("json",))
    data = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))

    hostile = next(f for f in data["findings"] if f["principal"] == HOSTILE_ARN)
    assert hostile["user_agents"] == [HOSTILE_AGENT]
    assert hostile["resources"] == [HOSTILE_RESOURCE]
    assert hostile["source_ips"] == ["=1+2"]
    assert hostile["principal_type"] == "IAMUser"
    other = next(f for f in data["findings"] if f["principal"] != HOSTILE_ARN)
    assert other["user_agents"] == ['\u0000\u202e\U0001f600 \\ "quoted"']
    # Event data never enters the SQL text: values are bound, and only the config's.
    for q in data["provenance"]["queries"]:
        assert "DROP TABLE" not in q["sql"] and "script" not in q["sql"]
        assert "?" in q["sql"]


# -- worker processes --------------------------------------------------------------------


def test_worker_processes_give_the_same_report_as_one_process(demo_trail, audit) -> None:
    one = audit(demo_trail.root, date(2026, 10, 1), date(2026, 10, 31), workers=1)
    two = audit(demo_trail.root, date(2026, 10, 1), date(2026, 10, 31), workers=2)
    assert one.coverage.files_scanned > 16  # enough files for the pool to be used
    assert one.findings == two.findings
    assert one.events == two.events
    assert one.coverage == two.coverage
    assert one.totals.attempts == demo_trail.denied


@pytest.mark.parametrize("pretty", [False, True])
def test_a_lone_surrogate_in_caller_text_does_not_hide_the_file(
    tmp_path: Path, audit, pretty: bool
) -> None:
    # The caller chooses its policy text and user agent; an escaped lone surrogate there is
    # valid JSON to CloudTrail's and Athena's readers. It must not make the whole file,
    # and with it everyone else's attempts, unreadable.
    evil = denial(
        at(5),
        "evil",
        identity=iam_user(ACCT, "mallory"),
        resource_policy='{"Statement": "\ud800"}',
        agent="ua-\udc00-x",
    )
    bystander = denial(at(5, 1), "bystander")
    body = json.dumps(
        {"Records": [evil, bystander]},
        indent=1 if pretty else None,
        separators=None if pretty else (",", ":"),
    )
    assert "\\ud800" in body
    path = tmp_path / log_key(ACCT, REGION, at(5, 2))
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(body.encode()))
    report = audit(tmp_path, date(2026, 10, 5))
    assert ids(report) == {"evil", "bystander"}
    assert report.coverage.unreadable == ()
    (ev,) = [e for e in report.events if e.event_id == "evil"]
    assert ev.user_agent == "ua-\ufffd-x"


def test_files_past_the_range_serve_the_look_ahead_only(tmp_path: Path, audit) -> None:
    bob = iam_user(ACCT, "bob")
    put(tmp_path, at(3, 12, 7), [denial(at(3), "d1", identity=bob)])
    # Day 8 is past the range (1..3, folders 1..4) but inside the 7-day look-ahead: bob's
    # later success counts; another denial there is outside the audit and is not loaded.
    put(
        tmp_path,
        at(8, 9, 7),
        [
            denial(at(8, 9), "ok1", identity=bob, error=None),
            denial(at(8, 9, 1), "d-late", identity=iam_user(ACCT, "eve")),
        ],
    )
    report = audit(tmp_path, date(2026, 10, 1), date(2026, 10, 3))
    assert ids(report) == {"d1"}
    (finding,) = report.findings
    assert finding.later_success == "2026-10-08T09:00:00Z"
    assert report.coverage.gaps  # days 1 and 2 have no logs; the look-ahead is not a gap
    assert all(g.end <= "2026-10-03" for g in report.coverage.gaps)


def test_a_look_ahead_file_is_searched_for_look_ahead_needles_only(tmp_path: Path) -> None:
    from auditor.config import AuditConfig, DateRange
    from auditor.engines import prefilter
    from auditor.engines.local import TARGET, _scan_all, _tasks
    from auditor.plan import build_plan
    from auditor.sources.layout import LogFile

    path = put(
        tmp_path,
        at(8, 9, 7),
        [
            denial(at(8, 9), "ok1", error=None),
            event(
                at(8, 9, 1),
                identity=iam_user(ACCT, "eve"),
                source="s3.amazonaws.com",
                name="GetObject",
                region=REGION,
                account=ACCT,
                error="AccessDenied",
                message="denied",
                event_id="other-denial",
            ),
        ],
    )
    plan = build_plan(AuditConfig(range=DateRange(date(2026, 10, 1), date(2026, 10, 3))), TARGET)
    f = LogFile(str(path), ACCT, REGION, date(2026, 10, 8), path.stat().st_size)
    (task,) = _tasks([f], plan.range.folder_days[-1])
    assert task.lookahead_only
    (res,) = list(_scan_all([task], plan, 1, None))
    assert res.records == 2 and res.candidates == 1  # the success, not the S3 denial
    assert b"ok1" in res.rows and b"other-denial" not in res.rows
    (task_in_range,) = _tasks([f], date(2026, 10, 9))
    (res,) = list(_scan_all([task_in_range], plan, 1, None))
    assert res.candidates == 2
    assert prefilter._S.ahead is not None


def test_look_ahead_days_are_not_read_when_the_range_has_no_denial(tmp_path: Path, audit) -> None:
    bob = iam_user(ACCT, "bob")
    put(
        tmp_path,
        at(3, 12, 7),
        [
            event(
                at(3),
                identity=bob,
                source="s3.amazonaws.com",
                name="GetObject",
                region=REGION,
                account=ACCT,
                event_id="unrelated",
            )
        ],
    )
    put(tmp_path, at(8, 9, 7), [denial(at(8, 9), "ok-ahead", identity=bob, error=None)])
    report = audit(tmp_path, date(2026, 10, 1), date(2026, 10, 3))
    assert report.findings == ()
    assert report.coverage.files_scanned == 1  # day 8 was not needed, so not read
    # With a denial in the range, the same look-ahead file is read and used.
    put(tmp_path, at(2, 12, 7), [denial(at(2), "d1", identity=bob)])
    report = audit(tmp_path, date(2026, 10, 1), date(2026, 10, 3))
    assert report.coverage.files_scanned == 3
    (finding,) = report.findings
    assert finding.later_success == "2026-10-08T09:00:00Z"


def test_worker_pool_reads_the_look_ahead_after_the_range(tmp_path: Path, audit) -> None:
    bob = iam_user(ACCT, "bob")
    for i in range(20):  # enough files for worker processes
        put(
            tmp_path,
            at(1 + i % 3, 1 + i, 7),
            [
                event(
                    at(1 + i % 3, 1 + i),
                    identity=bob,
                    source="s3.amazonaws.com",
                    name="GetObject",
                    region=REGION,
                    account=ACCT,
                    event_id=f"noise-{i}",
                )
            ],
            salt=str(i),
        )
    put(tmp_path, at(2, 12, 7), [denial(at(2), "d1", identity=bob)])
    put(tmp_path, at(9, 9, 7), [denial(at(9, 9), "ok-ahead", identity=bob, error=None)])
    one = audit(tmp_path, date(2026, 10, 1), date(2026, 10, 3), workers=1)
    two = audit(tmp_path, date(2026, 10, 1), date(2026, 10, 3), workers=2)
    # The same answer (query timings in provenance differ, naturally).
    assert (one.findings, one.events, one.coverage) == (two.findings, two.events, two.coverage)
    assert two.coverage.files_scanned == 22
    assert two.findings[0].later_success == "2026-10-09T09:00:00Z"
