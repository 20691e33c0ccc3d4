"""Rows -> findings: grouped per (account, principal), counted per action and error
code, first/last seen, sessions, and deduplicated sorted lists; the order of the input
events never changes a finding (property tests)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.aggregate import build_report, event_from_row, group_findings
from auditor.config import AuditConfig, DateRange
from auditor.engines.base import EngineResult
from auditor.model import Coverage, Event
from auditor.rule import load_rule

RULE = load_rule()  # the shipped rule

ACCTS = ["111122223333", "444455556666", "777788889999"]
PRINCIPALS = [
    "arn:aws:iam::111122223333:role/ci",
    "arn:aws:iam::444455556666:user/eve",
    "AWSService/no-account/ec2.amazonaws.com",
    "unknown",
]
text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@st.composite
def events(draw: st.DrawFn) -> Event:
    return Event(
        event_id=draw(st.uuids()).hex,
        event_time=f"2026-10-{draw(st.integers(1, 31)):02d}T{draw(st.integers(0, 23)):02d}:"
        f"{draw(st.integers(0, 59)):02d}:00Z",
        account_id=draw(st.sampled_from(ACCTS)),
        region=draw(st.sampled_from(["us-east-1", "eu-west-1"])),
        action=draw(st.sampled_from(["PutResourcePolicy", "DeleteResourcePolicy"])),
        error_code=draw(st.sampled_from(["AccessDenied", "AccessDeniedException"])),
        error_message=draw(st.none() | text),
        principal=draw(st.sampled_from(PRINCIPALS)),
        principal_type=draw(st.sampled_from(["AssumedRole", "IAMUser", "AWSService"])),
        caller_account_id=draw(st.none() | st.sampled_from(ACCTS)),
        identity_arn=draw(st.none() | text),
        session=draw(st.none() | st.sampled_from(["AROA1:s1", "AROA1:s2", "AIDA2"])),
        access_key_id=draw(st.none() | st.sampled_from(["ASIA1", "AKIA2"])),
        source_ip=draw(st.none() | st.sampled_from(["10.0.0.1", "203.0.113.9", "AWS Internal"])),
        user_agent=draw(st.none() | text),
        resource=draw(
            st.none()
            | st.sampled_from(
                ["arn:aws:bedrock:us-east-1:1:agent/A", "arn:aws:bedrock:us-east-1:1:agent/B"]
            )
        ),
        request_parameters=draw(st.none() | text),
    )


@settings(max_examples=60, deadline=None)
@given(evs=st.lists(events(), max_size=25), seed=st.randoms(use_true_random=False))
def test_order_of_events_does_not_change_findings(  # type: ignore[no-untyped-def]
    evs: list[Event], seed
) -> None:
    shuffled = list(evs)
    seed.shuffle(shuffled)
    assert group_findings(shuffled, RULE) == group_findings(evs, RULE)
    assert group_findings(list(reversed(evs)), RULE) == group_findings(evs, RULE)


@settings(max_examples=60, deadline=None)
@given(evs=st.lists(events(), max_size=25))
def test_findings_match_a_plain_recount(evs: list[Event]) -> None:
    findings = group_findings(evs, RULE)
    keys = {(e.account_id, e.principal) for e in evs}
    assert [(f.account_id, f.principal) for f in findings] == sorted(
        keys, key=lambda k: (-sum((e.account_id, e.principal) == k for e in evs), k)
    )
    assert sum(f.attempts for f in findings) == len(evs)
    for f in findings:
        mine = [e for e in evs if (e.account_id, e.principal) == (f.account_id, f.principal)]
        assert f.id == RULE.finding_id(f.account_id, f.principal)
        assert f.attempts == len(mine)
        assert f.actions == dict(Counter(e.action for e in mine))
        assert list(f.actions.values()) == sorted(f.actions.values(), reverse=True)
        assert f.error_codes == dict(Counter(e.error_code for e in mine))
        assert f.first_seen == min(e.event_time for e in mine)
        assert f.last_seen == max(e.event_time for e in mine)
        for name, values in [
            ("source_ips", {e.source_ip for e in mine}),
            ("user_agents", {e.user_agent for e in mine}),
            ("resources", {e.resource for e in mine}),
        ]:
            got = getattr(f, name)
            assert got == tuple(sorted(values - {None, ""})), name  # deduplicated, sorted
        assert f.sessions == len({e.session or e.identity_arn or "" for e in mine})
        assert f.cross_account == any(
            e.caller_account_id and e.caller_account_id != e.account_id for e in mine
        )


def _event(i: int, **kw: object) -> Event:
    base: dict[str, object] = dict(
        event_id=f"e{i}",
        event_time=f"2026-10-0{i}T00:00:00Z",
        account_id=ACCTS[0],
        region="us-east-1",
        action="PutResourcePolicy",
        error_code="AccessDeniedException",
        error_message=None,
        principal=PRINCIPALS[0],
        principal_type="AssumedRole",
        caller_account_id=ACCTS[0],
        identity_arn=None,
        session=None,
        access_key_id=None,
        source_ip=None,
        user_agent=None,
        resource=None,
        request_parameters=None,
    )
    base.update(kw)
    return Event(**base)  # type: ignore[arg-type]


def test_one_finding_per_account_and_principal() -> None:
    evs = [
        _event(1, session="AROA1:a"),
        _event(2, session="AROA1:b"),
        _event(3, session="AROA1:a"),
        _event(4, account_id=ACCTS[1]),  # same principal, other account: another finding
        _event(
            5,
            principal=PRINCIPALS[1],
            caller_account_id=ACCTS[1],
            action="DeleteResourcePolicy",
            error_code="AccessDenied",
        ),
    ]
    by_key = {(f.account_id, f.principal): f for f in group_findings(evs, RULE)}
    assert set(by_key) == {
        (ACCTS[0], PRINCIPALS[0]),
        (ACCTS[1], PRINCIPALS[0]),
        (ACCTS[0], PRINCIPALS[1]),
    }
    role = by_key[(ACCTS[0], PRINCIPALS[0])]
    assert (role.attempts, role.sessions) == (3, 2)
    assert (role.first_seen, role.last_seen) == ("2026-10-01T00:00:00Z", "2026-10-03T00:00:00Z")
    assert not role.cross_account
    # The role of ACCTS[0] acting in ACCTS[1] is a cross-account attempt there.
    assert by_key[(ACCTS[1], PRINCIPALS[0])].cross_account
    user = by_key[(ACCTS[0], PRINCIPALS[1])]
    assert user.cross_account and user.caller_account_id == ACCTS[1]
    assert user.actions == {"DeleteResourcePolicy": 1}
    assert user.error_codes == {"AccessDenied": 1}


def test_report_totals_and_events_from_engine_rows() -> None:
    rows = [
        {
            "event_id": "b",
            "event_time": "2026-10-02T00:00:00Z",
            "account_id": ACCTS[0],
            "region": "us-east-1",
            "action": "PutResourcePolicy",
            "error_code": "AccessDenied",
            "principal": PRINCIPALS[0],
            "principal_type": "AssumedRole",
            "caller_account_id": ACCTS[1],
            "source_ip": None,
        },
        {
            "event_id": "a",
            "event_time": "2026-10-01T00:00:00Z",
            "account_id": ACCTS[1],
            "region": "us-east-1",
            "action": "DeleteResourcePolicy",
            "error_code": "AccessDeniedException",
            "principal": "unknown",
            "principal_type": "Unknown",
            "caller_account_id": None,
        },
    ]
    config = AuditConfig(range=DateRange(date(2026, 10, 1), date(2026, 10, 31)), source="/trail")
    now = datetime(2026, 11, 2, 3, 4, 5, tzinfo=UTC)
    report = build_report(
        config,
        EngineResult(rows={"denied_policy_changes": rows}, coverage=Coverage(files_scanned=2)),
        now,
    )
    assert [e.event_id for e in report.events] == ["a", "b"]  # by time, not input order
    assert (report.totals.attempts, report.totals.principals, report.totals.accounts) == (2, 2, 2)
    assert report.totals.cross_account_attempts == 1
    assert (report.range_start, report.range_end) == (
        "2026-10-01T00:00:00Z",
        "2026-11-01T00:00:00Z",
    )
    assert report.provenance.generated_at == "2026-11-02T03:04:05Z"
    assert report.coverage.files_scanned == 2
    assert event_from_row(rows[1], RULE).source_ip is None


def test_a_record_without_recipient_account_is_unknown_not_cross_account(
    tmp_path: Path,
) -> None:
    from auditor.audit import run_audit
    from auditor.synth import bedrock_policy_call, iam_user, log_key, write_log

    when = datetime(2026, 10, 5, 12, tzinfo=UTC)
    rec = bedrock_policy_call(
        when,
        identity=iam_user("111122223333", "bob"),
        account="111122223333",
        region="us-east-1",
        event_id="e1",
    )
    del rec["recipientAccountId"]
    write_log(tmp_path / "t", log_key("111122223333", "us-east-1", when), [rec])
    day = date(2026, 10, 5)
    report = run_audit(
        AuditConfig(
            range=DateRange(day, day),
            source=str(tmp_path / "t"),
            workers=1,
            lookahead_days=0,
            now=datetime(2026, 12, 1, tzinfo=UTC),
        )
    )
    (f,) = report.findings
    assert f.account_id == "unknown" and report.events[0].account_id == "unknown"
    assert not f.cross_account
    assert report.totals.attempts == 1 and report.totals.cross_account_attempts == 0
