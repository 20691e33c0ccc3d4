"""The exemptions file and --min-attempts: an exempted or below-threshold attempt moves
to the Suppressed section with what matched, never vanishes; an expired entry
suppresses nothing and is flagged; a bad file is one line and exit 2."""

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


def entry(id: str = "x", match: str = 'account = "111122223333"', expires: str = "2026-12-31"
          ) -> str:
    return ENTRY.format(id=id, match=match, expires=expires)


def ev(n: int, principal: str = CI, account: str = "111122223333", agent: str = "aws-cli/2",
       ip: str = "10.1.2.3", arn: str | None = None) -> Event:
    return Event(
        event_id=f"e{n:03d}", event_time=f"2026-10-{n % 28 + 1:02d}T10:00:00Z",
        account_id=account, region="us-east-1", action="PutResourcePolicy",
        error_code="AccessDenied", error_message=None, principal=principal,
        principal_type="AssumedRole", caller_account_id=principal.split(":")[4],
        identity_arn=arn or principal, session=None, access_key_id=None, source_ip=ip,
        user_agent=agent, resource=None, request_parameters=None,
    )


def row(e: Event) -> dict[str, object]:
    return {k: getattr(e, k) for k in e.__dataclass_fields__ if k not in ("source_file",
                                                                          "suppressed_by")}


def report(events: list[Event], exemptions: tuple[Exemption, ...] = (),
           min_attempts: int = 1) -> Report:
    cfg = AuditConfig(range=DateRange(date(2026, 10, 1), date(2026, 10, 31)),
                      min_attempts=min_attempts)
    result = EngineResult(rows={"denied_policy_changes": [row(e) for e in events]})
    return build_report(cfg, result, NOW, exemptions)


# -- the file ---------------------------------------------------------------------------


def test_a_full_entry_parses() -> None:
    (x,) = parse(entry(match='principal = "arn:aws:iam::*:role/ci-*"\naccount = "111122223333"\n'
                             'user_agent = "*Terraform*"\nsource_cidr = "10.0.0.0/8"'))
    assert (x.id, x.owner, x.ticket, x.expires) == ("x", "platform-team", "SEC-1",
                                                    date(2026, 12, 31))
    assert x.network is not None and str(x.network) == "10.0.0.0/8"


def test_expires_may_be_a_quoted_date() -> None:
    (x,) = parse(entry(expires='"2027-01-31"'))
    assert x.expires == date(2027, 1, 31)


BAD_FILES = {
    "not toml": ("[[exemption]\nid=", "not valid TOML"),
    "no match field": (entry(match=""), "give at least one of principal"),
    "reason missing": (entry().replace('reason = "pipeline runs ahead of its grant"\n', ""),
                       "reason is required"),
    "expires missing": (entry().replace("expires = 2026-12-31", ""), "expires is required"),
    "bad date": (entry(expires='"next year"'), "is not a date YYYY-MM-DD"),
    "datetime": (entry(expires="2026-12-31T10:00:00Z"), "expires must be a date"),
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


@pytest.mark.parametrize("match, event, hit", [
    ('principal = "arn:aws:iam::111122223333:role/ci-*"', ev(1), True),
    ('principal = "arn:aws:iam::111122223333:role/CI-*"', ev(1), False),  # case-sensitive
    ('principal = "arn:aws:sts::111122223333:assumed-role/ci-deployer/*"',
     ev(1, arn="arn:aws:sts::111122223333:assumed-role/ci-deployer/run-7"), True),
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
])
def test_matching(match: str, event: Event, hit: bool) -> None:
    (x,) = one(match)
    assert x.matches(event) is hit


def test_first_live_entry_wins_and_expired_ones_only_count() -> None:
    xs = parse(entry("old", expires="2026-11-14") + entry("a") + entry("b"))
    out, statuses = apply([ev(1), ev(2, account="9")], xs, NOW.date())
    assert [e.suppressed_by for e in out] == ["a", None]
    assert [(s.id, s.expired, s.matched) for s in statuses] == [
        ("old", True, 1), ("a", False, 1), ("b", False, 0)]


def test_an_entry_applies_through_its_expiry_day() -> None:
    (x,) = parse(entry(expires="2026-11-15"))
    assert x.live(NOW.date()) and not x.live(date(2026, 11, 16))


# -- in the report ----------------------------------------------------------------------


def test_suppressed_attempts_move_to_their_own_section_never_vanish() -> None:
    events = [ev(i) for i in range(3)] + [ev(10 + i, principal=BOB, agent="APN Terraform/1")
                                          for i in range(2)]
    r = report(events, parse(entry("iac", match='user_agent = "*Terraform*"')))
    assert [(f.principal, f.attempts) for f in r.findings] == [(CI, 3)]
    (s,) = r.suppressed
    assert (s.principal, s.attempts, s.suppressed_by) == (BOB, 2, "iac")
    assert (r.totals.attempts, r.totals.suppressed_attempts, r.totals.principals) == (3, 2, 1)
    assert len(r.events) == 5
    assert sorted(e.suppressed_by or "-" for e in r.events) == ["-", "-", "-", "iac", "iac"]
    assert r.exemptions[0].matched == 2 and not r.exemptions[0].expired


def test_a_partly_exempted_principal_is_split() -> None:
    events = [ev(1, ip="10.0.0.1"), ev(2, ip="10.0.0.2"), ev(3, ip="198.51.100.7")]
    r = report(events, parse(entry("office", match='source_cidr = "10.0.0.0/8"')))
    (f,) = r.findings
    (s,) = r.suppressed
    assert (f.attempts, f.source_ips, f.suppressed_by) == (1, ("198.51.100.7",), None)
    assert (s.attempts, s.source_ips, s.suppressed_by) == (2, ("10.0.0.1", "10.0.0.2"), "office")
    assert f.id == s.id == RULE.finding_id("111122223333", CI)  # the same actor, the same id


def test_an_expired_entry_suppresses_nothing_and_is_flagged() -> None:
    r = report([ev(1), ev(2)], parse(entry("old", expires="2026-11-14")))
    assert r.suppressed == () and r.totals.attempts == 2
    (st,) = r.exemptions
    assert st.expired and st.matched == 2 and st.expires == "2026-11-14"
    assert all(e.suppressed_by is None for e in r.events)


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
        (1, "below --min-attempts 2"), (2, "iac")]
    assert r.totals.attempts == 0 and r.totals.suppressed_attempts == 3


# -- through the command line ---------------------------------------------------------


def test_cli_bad_exemptions_file_is_exit_2_before_any_scan(
    tmp_path: Path, demo_trail: DemoTrail
) -> None:
    bad = tmp_path / "ex.toml"
    bad.write_text(entry(match=""))
    res = CliRunner().invoke(app, ["audit", "--source", str(demo_trail.root), "--month",
                                   "2026-10", "--out", str(tmp_path / "o"),
                                   "--exemptions", str(bad)])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "give at least one of" in lines[0]
    assert not (tmp_path / "o").exists()


def test_the_documented_example_parses() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "exemptions.md").read_text()
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    assert [x.id for x in parse(example)] == ["ci-bootstrap", "sandbox"]
