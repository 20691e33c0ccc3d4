"""Beyond the Elastic rule, end to end on the local engine (real DuckDB over a small
trail): the attempted policy (external, '*', org condition, the knowledge-base
`policy`), the target ARN from errorMessage when requestParameters is null, "later
succeeded" inside and outside the look-ahead, other denials by the same principal,
severity with reasons; the input order never changes a finding; --fail-on exits 1."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from auditor.aggregate import build_report
from auditor.audit import run_audit
from auditor.cli import app
from auditor.config import AuditConfig, DateRange
from auditor.engines.base import EngineResult
from auditor.enrich import Signals, later_success
from auditor.model import Finding, Report
from auditor.rule import load_rule
from auditor.synth import (
    BEDROCK,
    DemoTrail,
    assumed_role,
    bedrock_policy_call,
    event,
    iam_user,
    log_key,
    policy,
    write_log,
)

RULE = load_rule()  # the shipped rule

PROD, DEV, ORG, EXT = "111122223333", "444455556666", "222233334444", "999988887777"
RANGE = DateRange(date(2026, 10, 10), date(2026, 10, 12))  # end: 2026-10-13T00:00Z
NOW = datetime(2026, 11, 30, tzinfo=UTC)
T0 = datetime(2026, 10, 10, tzinfo=UTC)
REGION = "us-east-1"

ci = assumed_role(PROD, "ci", "run-1")
ci_arn = "arn:aws:iam::111122223333:role/ci"
bob = iam_user(DEV, "bob")  # calls into PROD: cross-account
bob_arn = bob["arn"]
kb_role = assumed_role(PROD, "kb-admin", "s1")
kb_arn = "arn:aws:iam::111122223333:role/kb-admin"
late = assumed_role(PROD, "late", "s1")  # succeeds after the look-ahead only
late_arn = "arn:aws:iam::111122223333:role/late"
nullreq = iam_user(PROD, "nullreq")


def put(when: datetime, who: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return bedrock_policy_call(when, identity=who, account=PROD, region=REGION, **kw)


def denial(
    when: datetime, who: dict[str, Any], source: str, name: str, code: str
) -> dict[str, Any]:
    return event(
        when,
        identity=who,
        source=source,
        name=name,
        region=REGION,
        account=PROD,
        error=code,
        message="denied",
    )


def records() -> list[dict[str, Any]]:
    h = timedelta(hours=1)
    org_cond = {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
    return [
        # ci: external account and an own-org account; no org condition
        put(T0 + 10 * h, ci, resource_policy=policy({"AWS": [f"arn:aws:iam::{EXT}:root", ORG]})),
        # ... a success BEFORE its first denial does not count, the one after does
        put(T0 + 9 * h, ci, error=None),
        put(T0 + 30 * h, ci, error=None),
        # ci's other denials: counted by service/action/code; not the rule's own events,
        # not other errors, not case-folded codes, not outside the range
        denial(T0 + 11 * h, ci, "iam.amazonaws.com", "ListRoles", "AccessDenied"),
        denial(T0 + 12 * h, ci, "iam.amazonaws.com", "ListRoles", "AccessDenied"),
        denial(
            T0 + 13 * h, ci, "ec2.amazonaws.com", "RunInstances", "Client.UnauthorizedOperation"
        ),
        denial(T0 + 14 * h, ci, "s3.amazonaws.com", "GetObject", "VpceAccessDenied"),
        denial(T0 + 15 * h, ci, "sns.amazonaws.com", "Publish", "AuthorizationError"),
        denial(T0 + 16 * h, ci, "kms.amazonaws.com", "Decrypt", "ThrottlingException"),
        denial(T0 + 17 * h, ci, "kms.amazonaws.com", "Decrypt", "accessdenied"),
        denial(T0 + 18 * h, ci, BEDROCK, "GetResourcePolicy", "AccessDeniedException"),
        # (delivered in the range's first folder, but two minutes before the range)
        denial(T0 - timedelta(minutes=2), ci, "iam.amazonaws.com", "ListUsers", "AccessDenied"),
        denial(T0 + 80 * h, ci, "iam.amazonaws.com", "ListUsers", "AccessDenied"),
        # bob (cross-account): '*' limited by an org condition
        bedrock_policy_call(
            T0 + 20 * h,
            identity=bob,
            account=PROD,
            region=REGION,
            resource_policy=policy("*", org_cond),
        ),
        # kb-admin: the knowledge-base variant, '*' without a condition, a Delete too
        put(
            T0 + 21 * h,
            kb_role,
            resource=f"arn:aws:bedrock:{REGION}:{PROD}:knowledge-base/KB1",
            request={"policy": policy("*"), "expectedRevisionId": "3"},
        ),
        put(T0 + 22 * h, kb_role, action="DeleteResourcePolicy"),
        # late: succeeds after range end + 2 look-ahead days: not counted
        put(T0 + 23 * h, late),
        put(T0 + (72 + 48 + 1) * h, late, error=None),
        # no requestParameters: the target ARN is read from errorMessage
        put(
            T0 + 24 * h,
            nullreq,
            request=None,
            resource=f"arn:aws:bedrock:{REGION}:{PROD}:agent/FROMMSG",
        ),
    ]


def write_trail(root: Path, recs: list[dict[str, Any]]) -> Path:
    for i, rec in enumerate(recs):
        when = datetime.strptime(rec["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        write_log(root, log_key(PROD, REGION, when + timedelta(minutes=5), salt=str(i)), [rec])
    return root


def config(root: Path, **kw: Any) -> AuditConfig:
    base = {
        "range": RANGE,
        "source": str(root),
        "workers": 1,
        "now": NOW,
        "own_accounts": (ORG,),
        "lookahead_days": 2,
        "repeat_threshold": 5,
    }
    return AuditConfig(**(base | kw))


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_trail(tmp_path_factory.mktemp("enrich") / "trail", records())


@pytest.fixture(scope="module")
def report(trail: Path) -> Report:
    return run_audit(config(trail))


def by(report: Report, principal: str) -> Finding:
    (f,) = [f for f in report.findings if f.principal == principal]
    return f


def test_external_and_org_accounts_in_an_attempted_policy(report: Report) -> None:
    f = by(report, ci_arn)
    assert {p.value: p.kind for p in f.policy.principals} == {
        f"arn:aws:iam::{EXT}:root": "external-account",
        ORG: "org-account",
    }
    assert f.policy.external_accounts == (EXT,) and f.policy.missing_org_condition
    assert f.severity == "high"
    assert f"attempted policy grants external account {EXT}" in f.reasons


def test_later_success_is_the_first_after_the_first_denial(report: Report) -> None:
    f = by(report, ci_arn)
    assert f.later_success == "2026-10-11T06:00:00Z"
    assert "later succeeded at 2026-10-11T06:00:00Z" in f.reasons


def test_a_success_past_the_look_ahead_is_not_counted(report: Report, trail: Path) -> None:
    f = by(report, late_arn)
    assert f.later_success is None and f.severity == "low"
    wider = run_audit(config(trail, lookahead_days=3))
    assert by(wider, late_arn).later_success == "2026-10-15T01:00:00Z"


def test_look_ahead_folders_are_read_but_gaps_cover_the_range_only(report: Report) -> None:
    # Folders 10, 11, 13 and (look-ahead) 15 hold files: the range's day 12 is a gap,
    # the look-ahead day 14 is not reported.
    assert [(g.start, g.end) for g in report.coverage.gaps] == [("2026-10-12", "2026-10-12")]
    assert report.coverage.files_scanned == len(records())


def test_other_denials_by_service_action_and_code(report: Report) -> None:
    f = by(report, ci_arn)
    assert [(d.service, d.action, d.error_code, d.count) for d in f.other_denials] == [
        ("iam.amazonaws.com", "ListRoles", "AccessDenied", 2),
        (BEDROCK, "GetResourcePolicy", "AccessDeniedException", 1),
        ("ec2.amazonaws.com", "RunInstances", "Client.UnauthorizedOperation", 1),
        ("s3.amazonaws.com", "GetObject", "VpceAccessDenied", 1),
        ("sns.amazonaws.com", "Publish", "AuthorizationError", 1),
    ]
    assert "7 denials >= threshold 5 (1 policy change + 6 other)" in f.reasons


def test_wildcard_with_an_org_condition_is_still_high_but_not_flagged(report: Report) -> None:
    f = by(report, bob_arn)
    assert f.policy.wildcard and not f.policy.missing_org_condition
    assert f.cross_account and f.caller_account_id == DEV
    assert f.severity == "high"
    assert f.reasons == ("attempted policy grants '*'", f"cross-account caller {DEV}")


def test_knowledge_base_policy_and_delete_without_policy(report: Report) -> None:
    f = by(report, kb_arn)
    assert f.attempts == 2 and f.policy.wildcard and f.policy.missing_org_condition
    assert f.policy.unparsable == 0  # the Delete has no policy to read
    assert f.resources == (
        f"arn:aws:bedrock:{REGION}:{PROD}:agent/AGENT12345",
        f"arn:aws:bedrock:{REGION}:{PROD}:knowledge-base/KB1",
    )


def test_null_request_parameters_target_from_the_message(report: Report) -> None:
    f = by(report, nullreq["arn"])
    (e,) = [e for e in report.events if e.principal == nullreq["arn"]]
    assert e.request_parameters is None
    assert e.resource == f.resources[0] == f"arn:aws:bedrock:{REGION}:{PROD}:agent/FROMMSG"
    assert f.policy.unparsable == 1 and f.severity == "low"
    assert any("unreadable in 1 attempt" in r for r in f.reasons)


def test_side_queries_ran_and_are_recorded(report: Report) -> None:
    names = [q.name for q in report.provenance.queries]
    assert names == ["denied_policy_changes", "later_success", "other_denials"]
    later = report.provenance.queries[1]
    assert later.parameters[:4] == (
        "2026/10/10",
        "2026/10/15",  # through the look-ahead
        "2026-10-10T00:00:00Z",
        "2026-10-15T00:00:00Z",
    )


def test_later_success_compares_instants_not_strings() -> None:
    f = Finding(
        id="x",
        account_id=PROD,
        principal="p",
        principal_type="IAMUser",
        caller_account_id=PROD,
        cross_account=False,
        attempts=1,
        actions={},
        error_codes={},
        first_seen="2026-10-10T10:00:00Z",
        last_seen="2026-10-10T10:00:00Z",
        source_ips=(),
        user_agents=(),
        resources=(),
        sessions=1,
    )
    sig = Signals.from_rows(
        [
            {"principal": "p", "event_time": t}
            for t in ("2026-10-10T10:00:00Z", "2026-10-10T10:00:00.500Z", "2026-10-10T09:59:59Z")
        ],
        [],
    )
    assert later_success(f, sig) == "2026-10-10T10:00:00.500Z"


# -- order does not matter --------------------------------------------------------------


@pytest.fixture(scope="module")
def rows(trail: Path) -> EngineResult:
    from auditor.engines.local import TARGET, LocalEngine
    from auditor.plan import build_plan

    cfg = config(trail)
    return LocalEngine(cfg.local).execute(build_plan(cfg, TARGET))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_shuffled_rows_give_the_same_report(rows: EngineResult, seed: int) -> None:
    rnd = random.Random(seed)
    shuffled = dataclasses.replace(
        rows, rows={k: rnd.sample(v, len(v)) for k, v in rows.rows.items()}
    )
    cfg = AuditConfig(range=RANGE, own_accounts=(ORG,), lookahead_days=2)
    assert build_report(cfg, shuffled, NOW) == build_report(cfg, rows, NOW)


# -- --fail-on ------------------------------------------------------------------------


def cli(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


@pytest.fixture()
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITOR_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.mark.usefixtures("clean_env")
def test_fail_on_exit_codes_on_the_demo_trail(demo_trail: DemoTrail, tmp_path: Path) -> None:
    base = [
        "audit",
        "--source",
        str(demo_trail.root),
        "--month",
        "2026-10",
        "--format",
        "json",
        "--out",
        str(tmp_path / "o"),
    ]
    high = cli(*base, "--fail-on", "high")
    assert high.exit_code == 1, high.output
    data = json.loads((tmp_path / "o" / "report.json").read_text())
    assert sorted(f["severity"] for f in data["findings"]) == ["high", "high", "medium"]
    # Exempt both high findings: medium remains, so --fail-on high passes, medium fails.
    ex = tmp_path / "ex.toml"
    ex.write_text(
        "".join(
            f'[[exemption]]\nid = "{i}"\nprincipal = "{p}"\nreason = "known"\nowner = "sec"\n'
            f'ticket = "T-{i}"\nexpires = 2099-01-01\n'
            for i, p in enumerate(
                [
                    "arn:aws:iam::111122223333:role/ci-deployer",
                    "arn:aws:iam::444455556666:role/teams/*",
                ]
            )
        )
    )
    assert cli(*base, "--fail-on", "high", "--exemptions", str(ex)).exit_code == 0
    assert cli(*base, "--fail-on", "medium", "--exemptions", str(ex)).exit_code == 1
    data = json.loads((tmp_path / "o" / "report.json").read_text())
    assert [s["suppressed_by"] for s in data["suppressed"]] == ["0", "1"]
    assert data["totals"]["suppressed_attempts"] == 6


# -- stable finding ids -----------------------------------------------------------------


def test_finding_ids_are_pinned_and_survive_a_rerun_over_another_range(trail: Path) -> None:
    # A ticket system dedupes on these ids: a change here reopens every ticket.
    assert RULE.finding_id(PROD, ci_arn) == "BRP-27dd34b3e7c92e52"
    one = run_audit(config(trail))
    other = run_audit(
        config(
            trail,
            range=DateRange(date(2026, 10, 10), date(2026, 10, 10)),
            now=datetime(2027, 1, 1, tzinfo=UTC),
            lookahead_days=0,
        )
    )
    ids = {f.principal: f.id for f in one.findings}
    assert {f.principal: f.id for f in other.findings}.items() <= ids.items()
    assert ids[ci_arn] == "BRP-27dd34b3e7c92e52"
    assert len(set(ids.values())) == len(ids)
