"""The exemptions file and --min-attempts: an exempted or below-threshold attempt moves
to the Suppressed section with what matched, never vanishes; an entry's window
(starts..expires) is judged at each attempt's eventTime, not the report's date, and an
attempt it matches outside its window is reported naming it; an entry past its expiry
on the report's date is flagged; a bad file is one line and exit 2."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.aggregate import build_report
from auditor.cli import app
from auditor.config import AuditConfig, DateRange
from auditor.engines.base import EngineResult
from auditor.errors import ConfigError
from auditor.exemptions import Exemption, apply, load, parse
from auditor.model import Event, Report
from auditor.rule import load_rule
from auditor.synth import DemoTrail

RULE = load_rule()  # the shipped rule

NOW = datetime(2026, 11, 15, 9, tzinfo=UTC)
CI = "arn:aws:iam::111122223333:role/ci-deployer"
BOB = "arn:aws:iam::444455556666:user/bob"

ENTRY = """
[[exemption]]
id = "{id}"
{match}
reason = "pipeline runs ahead of its grant"
owner = "platform-team"
ticket = "SEC-1"
expires = {expires}
"""


def entry(
    id: str = "x",
    match: str = 'account = "111122223333"',
    expires: str = "2026-12-31",
    starts: str | None = None,
) -> str:
    text = ENTRY.format(id=id, match=match, expires=expires)
    return text + (f"starts = {starts}\n" if starts else "")


def ev(
    n: int,
    principal: str = CI,
    account: str = "111122223333",
    agent: str = "aws-cli/2",
    ip: str = "10.1.2.3",
    arn: str | None = None,
    at: str | None = None,
) -> Event:
    return Event(
        event_id=f"e{n:03d}",
        event_time=at or f"2026-10-{n % 28 + 1:02d}T10:00:00Z",
        account_id=account,
        region="us-east-1",
        action="PutResourcePolicy",
        error_code="AccessDenied",
        error_message=None,
        principal=principal,
        principal_type="AssumedRole",
        caller_account_id=principal.split(":")[4],
        identity_arn=arn or principal,
        session=None,
        access_key_id=None,
        source_ip=ip,
        user_agent=agent,
        resource=None,
        request_parameters=None,
    )


def row(e: Event) -> dict[str, object]:
    return {
        k: getattr(e, k)
        for k in e.__dataclass_fields__
        if k not in ("source_file", "suppressed_by")
    }


def report(
    events: list[Event],
    exemptions: tuple[Exemption, ...] = (),
    min_attempts: int = 1,
    now: datetime = NOW,
    days: tuple[date, date] = (date(2026, 10, 1), date(2026, 10, 31)),
) -> Report:
    cfg = AuditConfig(range=DateRange(*days), min_attempts=min_attempts)
    result = EngineResult(rows={"denied_policy_changes": [row(e) for e in events]})
    return build_report(cfg, result, now, exemptions)


# -- the file ---------------------------------------------------------------------------


def test_a_full_entry_parses() -> None:
    (x,) = parse(
        entry(
            match='principal = "arn:aws:iam::*:role/ci-*"\naccount = "111122223333"\n'
            'user_agent = "*Terraform*"\nsource_cidr = "10.0.0.0/8"'
        )
    )
    assert (x.id, x.owner, x.ticket, x.expires) == (
        "x",
        "platform-team",
        "SEC-1",
        date(2026, 12, 31),
    )
    assert x.network is not None and str(x.network) == "10.0.0.0/8"


def test_expires_may_be_a_quoted_date() -> None:
    (x,) = parse(entry(expires='"2027-01-31"'))
    assert x.expires == date(2027, 1, 31)


def test_starts_is_optional() -> None:
    (x, y) = parse(entry("x") + entry("y", starts='"2026-02-01"'))
    assert (x.starts, y.starts) == (None, date(2026, 2, 1))


BAD_FILES = {
    "not toml": ("[[exemption]\nid=", "not valid TOML"),
    "no match field": (entry(match=""), "give at least one of principal"),
    "reason missing": (
        entry().replace('reason = "pipeline runs ahead of its grant"\n', ""),
        "reason is required",
    ),
    "expires missing": (entry().replace("expires = 2026-12-31", ""), "expires is required"),
    "bad date": (entry(expires='"next year"'), "is not a date YYYY-MM-DD"),
    "datetime": (entry(expires="2026-12-31T10:00:00Z"), "expires must be a date"),
    "bad starts": (entry(starts='"soon"'), "starts 'soon' is not a date YYYY-MM-DD"),
    "starts after expires": (
        entry(starts="2027-01-01"),
        "starts 2027-01-01 is after expires 2026-12-31",
    ),
    "bad cidr": (entry(match='source_cidr = "10.0.0.300/8"'), "is not an IP network"),
    "typo key": (entry(match='principals = "x"\naccount = "1"'), "unknown key(s) 'principals'"),
    "empty id": (entry(id=""), "id must be a non-empty string"),
    "number": (entry(match="account = 111122223333"), "account must be a non-empty string"),
    "duplicate id": (entry() + entry(), "'x' is used twice"),
    "stray table": ("[exemptions]\nid = 1\n", "unknown top-level key(s) 'exemptions'"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_one_config_error_line(case: str) -> None:
    text, fragment = BAD_FILES[case]
    with pytest.raises(ConfigError) as exc:
        parse(text, "exemptions file x.toml")
    msg = str(exc.value)
    assert fragment in msg and "\n" not in msg and msg.startswith("exemptions file x.toml")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "nope.toml")
    assert load(None) == ()


# -- matching ---------------------------------------------------------------------------


def one(match: str) -> tuple[Exemption, ...]:
    return parse(entry(match=match))


@pytest.mark.parametrize(
    "match, event, hit",
    [
        ('principal = "arn:aws:iam::111122223333:role/ci-*"', ev(1), True),
        ('principal = "arn:aws:iam::111122223333:role/CI-*"', ev(1), False),  # case-sensitive
        (
            'principal = "arn:aws:sts::111122223333:assumed-role/ci-deployer/*"',
            ev(1, arn="arn:aws:sts::111122223333:assumed-role/ci-deployer/run-7"),
            True,
        ),
        ('account = "111122223333"', ev(1), True),
        ('account = "111122223333"', ev(1, account="444455556666"), False),
        ('user_agent = "*Terraform/*"', ev(1, agent="APN/1.0 HashiCorp/1.0 Terraform/1.7.5"), True),
        ('user_agent = "*Terraform/*"', ev(1), False),
        ('source_cidr = "10.0.0.0/8"', ev(1), True),
        ('source_cidr = "10.0.0.0/8"', ev(1, ip="203.0.113.9"), False),
        ('source_cidr = "10.0.0.0/8"', ev(1, ip="AWS Internal"), False),
        ('source_cidr = "10.0.0.0/8"', ev(1, ip="10.0.0.1, 203.0.113.9"), False),
        ('source_cidr = "2001:db8::/32"', ev(1, ip="2001:db8::7"), True),
        # every field given must match
        ('account = "111122223333"\nuser_agent = "*Terraform*"', ev(1), False),
    ],
)
def test_matching(match: str, event: Event, hit: bool) -> None:
    (x,) = one(match)
    assert x.matches(event) is hit


def test_first_entry_whose_window_holds_the_event_wins() -> None:
    # "old" matches ev(1) but ended before its day (2026-10-02): "a" suppresses it
    xs = parse(entry("old", expires="2026-10-01") + entry("a") + entry("b"))
    out, statuses = apply([ev(1), ev(2, account="9")], xs, NOW.date())
    assert [e.suppressed_by for e in out] == ["a", None]
    assert [e.outside_window_of for e in out] == [None, None]
    assert [(s.id, s.expired, s.suppressed, s.outside_window, s.matched) for s in statuses] == [
        ("old", True, 0, 0, 0),
        ("a", False, 1, 0, 1),
        ("b", False, 0, 0, 0),
    ]


def test_the_window_is_inclusive_and_judged_at_the_event_day() -> None:
    (x,) = parse(entry(starts="2026-10-02", expires="2026-10-04"))
    days = [
        ev(n, at=f"2026-10-{d:02d}T{h}Z")
        for n, (d, h) in enumerate(
            [(1, "23:59:59"), (2, "00:00:00"), (4, "23:59:59"), (5, "00:00:00")]
        )
    ]
    out, (st,) = apply(days, (x,), date(2030, 1, 1))  # long after it expired
    assert [e.suppressed_by for e in out] == [None, "x", "x", None]
    assert [e.outside_window_of for e in out] == ["x", None, None, "x"]
    assert (st.expired, st.starts, st.expires, st.suppressed, st.outside_window, st.matched) == (
        True,
        "2026-10-02",
        "2026-10-04",
        2,
        2,
        4,
    )


def test_an_unreadable_event_time_is_outside_every_window() -> None:
    out, _ = apply([ev(1, at="unknown")], parse(entry()), NOW.date())
    assert (out[0].suppressed_by, out[0].outside_window_of) == (None, "x")


# -- in the report ----------------------------------------------------------------------


def test_suppressed_attempts_move_to_their_own_section_never_vanish() -> None:
    events = [ev(i) for i in range(3)] + [
        ev(10 + i, principal=BOB, agent="APN Terraform/1") for i in range(2)
    ]
    r = report(events, parse(entry("iac", match='user_agent = "*Terraform*"')))
    assert [(f.principal, f.attempts) for f in r.findings] == [(CI, 3)]
    (s,) = r.suppressed
    assert (s.principal, s.attempts, s.suppressed_by) == (BOB, 2, "iac")
    assert (r.totals.attempts, r.totals.suppressed_attempts, r.totals.principals) == (3, 2, 1)
    assert len(r.events) == 5
    assert sorted(e.suppressed_by or "-" for e in r.events) == ["-", "-", "-", "iac", "iac"]
    assert r.exemptions[0].matched == r.exemptions[0].suppressed == 2
    assert not r.exemptions[0].expired and r.exemptions[0].outside_window == 0


def test_a_partly_exempted_principal_is_split() -> None:
    events = [ev(1, ip="10.0.0.1"), ev(2, ip="10.0.0.2"), ev(3, ip="198.51.100.7")]
    r = report(events, parse(entry("office", match='source_cidr = "10.0.0.0/8"')))
    (f,) = r.findings
    (s,) = r.suppressed
    assert (f.attempts, f.source_ips, f.suppressed_by) == (1, ("198.51.100.7",), None)
    assert (s.attempts, s.source_ips, s.suppressed_by) == (2, ("10.0.0.1", "10.0.0.2"), "office")
    assert f.id == s.id == RULE.finding_id("111122223333", CI)  # the same actor, the same id


def test_a_backfill_honours_an_entry_valid_then_that_has_since_expired() -> None:
    # a 2025 backfill judged on 2026-11-30: the entry ended 2025-12-31, the attempts are 2025
    events = [ev(i, at=f"2025-{m:02d}-15T10:00:00Z") for i, m in enumerate((1, 6, 12))]
    r = report(
        events,
        parse(entry("y2025", expires="2025-12-31")),
        now=datetime(2026, 11, 30, tzinfo=UTC),
        days=(date(2025, 1, 1), date(2025, 12, 31)),
    )
    assert r.findings == () and r.totals.attempts == 0
    (s,) = r.suppressed
    assert (s.attempts, s.suppressed_by, s.first_seen, s.last_seen) == (
        3,
        "y2025",
        "2025-01-15T10:00:00Z",
        "2025-12-15T10:00:00Z",
    )
    (st,) = r.exemptions
    assert st.expired  # stale today: still flagged, but it honoured 2025
    assert (st.suppressed, st.outside_window, st.matched) == (3, 0, 3)
    assert [e.event_time[:7] for e in r.events if e.suppressed_by == "y2025"] == [
        "2025-01",
        "2025-06",
        "2025-12",
    ]


def test_an_attempt_after_expires_is_reported_naming_the_entry() -> None:
    events = [ev(1, at="2026-10-14T23:00:00Z"), ev(2, at="2026-10-15T01:00:00Z")]
    r = report(events, parse(entry("old", expires="2026-10-14")))
    (f,) = r.findings
    (s,) = r.suppressed
    assert (f.attempts, f.first_seen, s.attempts, s.suppressed_by) == (
        1,
        "2026-10-15T01:00:00Z",
        1,
        "old",
    )
    late = next(e for e in r.events if e.event_id == "e002")
    assert (late.suppressed_by, late.outside_window_of) == (None, "old")
    (st,) = r.exemptions
    assert (st.expired, st.suppressed, st.outside_window) == (True, 1, 1)


def test_an_attempt_before_starts_is_reported() -> None:
    events = [ev(1, at="2026-10-09T10:00:00Z"), ev(2, at="2026-10-10T10:00:00Z")]
    r = report(events, parse(entry("new", starts="2026-10-10")))
    assert [e.outside_window_of for e in r.events] == ["new", None]
    assert [e.suppressed_by for e in r.events] == [None, "new"]
    (st,) = r.exemptions
    assert (st.expired, st.starts, st.suppressed, st.outside_window) == (False, "2026-10-10", 1, 1)


def test_min_attempts_suppresses_small_findings_with_a_reason() -> None:
    r = report([ev(1), ev(2), ev(3, principal=BOB)], min_attempts=2)
    assert [f.principal for f in r.findings] == [CI]
    (s,) = r.suppressed
    assert (s.principal, s.suppressed_by) == (BOB, "below --min-attempts 2")
    assert r.totals.suppressed_attempts == 1
    assert [e.suppressed_by for e in r.events if e.principal == BOB] == ["below --min-attempts 2"]


def test_min_attempts_counts_what_exemptions_left() -> None:
    events = [ev(1), ev(2, agent="Terraform"), ev(3, agent="Terraform")]
    r = report(events, parse(entry("iac", match='user_agent = "Terraform"')), min_attempts=2)
    assert r.findings == ()
    assert sorted((s.attempts, s.suppressed_by) for s in r.suppressed) == [
        (1, "below --min-attempts 2"),
        (2, "iac"),
    ]
    assert r.totals.attempts == 0 and r.totals.suppressed_attempts == 3


# -- through the command line ---------------------------------------------------------


def test_cli_bad_exemptions_file_is_exit_2_before_any_scan(
    tmp_path: Path, demo_trail: DemoTrail
) -> None:
    bad = tmp_path / "ex.toml"
    bad.write_text(entry(match=""))
    res = CliRunner().invoke(
        app,
        [
            "audit",
            "--source",
            str(demo_trail.root),
            "--month",
            "2026-10",
            "--out",
            str(tmp_path / "o"),
            "--exemptions",
            str(bad),
        ],
    )
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "give at least one of" in lines[0]
    assert not (tmp_path / "o").exists()


def test_the_documented_example_parses() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "exemptions.md").read_text()
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    xs = parse(example)
    assert [x.id for x in xs] == ["ci-bootstrap", "sandbox"]
    assert any(x.starts is not None for x in xs)  # the optional start is shown
