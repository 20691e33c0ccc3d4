"""A rule is a folder (auditor/rule.py): the shipped one is loaded from rules/, and a
second rule costs one folder. tests/rules/bedrock_policy_changed (successful Bedrock
Put/DeleteResourcePolicy calls, errorCode IS NULL) runs end to end on the local engine,
renders in every format with its own guide, and renders for Athena."""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from auditor.audit import run_audit
from auditor.config import AthenaSettings, AuditConfig, DateRange
from auditor.engines.athena import sql_target
from auditor.errors import ConfigError
from auditor.plan import build_plan
from auditor.render import render_all
from auditor.resources import shipped_rule_dirs
from auditor.rule import load_rule
from auditor.synth import assumed_role, bedrock_policy_call, iam_user, log_key, write_log

TEST_RULE = Path(__file__).parent / "rules" / "bedrock_policy_changed"
PROD = "111122223333"
REGION = "us-east-1"
RANGE = DateRange(date(2026, 10, 10), date(2026, 10, 12))
NOW = datetime(2026, 11, 30, tzinfo=UTC)
T0 = datetime(2026, 10, 10, 8, tzinfo=UTC)
ci = assumed_role(PROD, "ci", "run-1")
bob = iam_user(PROD, "bob")
eve = assumed_role(PROD, "eve", "s1")


def test_the_shipped_rule_is_the_only_one_installed_and_comes_from_its_folder() -> None:
    rule = load_rule()
    assert shipped_rule_dirs() == (rule.path,)
    assert rule.path.parts[-2:] == ("rules", "bedrock_policy_denied")
    assert rule.meta.id == "2e99477f-6099-48a9-ae0e-68801d97079c"
    assert (rule.meta.severity, rule.meta.risk_score) == ("low", 21)
    assert rule.finding_prefix == "BRP" and rule.main_query == "denied_policy_changes"
    assert (rule.later_success_query, rule.other_denials_query) == (
        "later_success",
        "other_denials",
    )
    assert [q.name for q in rule.queries] == [
        "denied_policy_changes",
        "later_success",
        "other_denials",
    ]
    assert load_rule(rule.path) is rule


def _copy(tmp_path: Path, name: str = "r") -> Path:
    folder = tmp_path / name
    shutil.copytree(TEST_RULE, folder)
    return folder


def test_a_broken_rule_folder_is_one_config_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no rule.toml"):
        load_rule(tmp_path)
    bad = _copy(tmp_path, "bad-main")
    toml = bad / "rule.toml"
    toml.write_text(
        toml.read_text().replace('main_query = "policy_changes"', 'main_query = "nope"')
    )
    with pytest.raises(ConfigError, match=r"rule\.toml: query 'nope' is not in queries\.toml"):
        load_rule(bad)
    bad = _copy(tmp_path, "bad-prefix")
    toml = bad / "rule.toml"
    toml.write_text(toml.read_text().replace('"BRC"', '"brc-"'))
    with pytest.raises(ConfigError, match="finding_prefix"):
        load_rule(bad)
    bad = _copy(tmp_path, "no-guide")
    (bad / "guide.j2").unlink()
    with pytest.raises(ConfigError, match="guide 'guide.j2' is not in"):
        load_rule(bad)


def test_two_folders_may_not_share_a_rule_id(tmp_path: Path) -> None:
    load_rule(TEST_RULE)
    with pytest.raises(ConfigError, match="already the id of the rule in"):
        load_rule(_copy(tmp_path))


def _trail(root: Path) -> Path:
    h = timedelta(hours=1)
    recs = [
        bedrock_policy_call(T0, identity=ci, account=PROD, region=REGION, error=None),
        bedrock_policy_call(
            T0 + h,
            identity=ci,
            account=PROD,
            region=REGION,
            error=None,
            action="DeleteResourcePolicy",
        ),
        bedrock_policy_call(T0 + 2 * h, identity=bob, account=PROD, region=REGION, error=None),
        # denied: the shipped rule's, not this one's
        bedrock_policy_call(T0 + 3 * h, identity=eve, account=PROD, region=REGION),
        # outside the range
        bedrock_policy_call(T0 + 80 * h, identity=bob, account=PROD, region=REGION, error=None),
    ]
    for i, rec in enumerate(recs):
        when = datetime.fromisoformat(rec["eventTime"])
        write_log(root, log_key(PROD, REGION, when + timedelta(minutes=5), salt=str(i)), [rec])
    return root


def test_a_second_rule_runs_end_to_end_on_the_local_engine(tmp_path: Path) -> None:
    cfg = AuditConfig(range=RANGE, source=str(_trail(tmp_path / "trail")), rule=TEST_RULE, now=NOW)
    report = run_audit(cfg)
    assert report.rule.name == "Bedrock resource policy changed"
    assert [q.name for q in report.provenance.queries] == ["policy_changes"]
    by = {f.principal: f for f in report.findings}
    assert set(by) == {"arn:aws:iam::111122223333:role/ci", bob["arn"]}
    assert by["arn:aws:iam::111122223333:role/ci"].actions == {
        "DeleteResourcePolicy": 1,
        "PutResourcePolicy": 1,
    }
    assert all(f.id.startswith("BRC-") for f in report.findings)
    assert sorted(e.finding_id or "" for e in report.events) == sorted(
        f.id for f in report.findings for _ in range(f.attempts)
    )
    # the same trail under the shipped rule: only the denial
    shipped = run_audit(replace(cfg, rule=None))
    assert [f.principal for f in shipped.findings] == ["arn:aws:iam::111122223333:role/eve"]
    assert shipped.findings[0].id.startswith("BRP-")

    out = render_all(report, ("json", "md", "html", "csv"))
    assert json.loads(out["report.json"])["rule"]["name"] == "Bedrock resource policy changed"
    rows = list(csv.DictReader(io.StringIO(out["report.csv"])))
    assert len(rows) == 3 and all(r["finding_id"].startswith("BRC-") for r in rows)
    html = out["report.html"]
    # its own guide, with the finding's values; none of the shipped rule's
    assert "<dt>Who changed it</dt>" in html and "Read the policy now in place" in html
    assert "changed a resource policy 2 times" in html
    assert "Who made the call" not in html and "revoke" not in html.lower()
    assert "Bedrock resource policy changed" in out["report.md"]


@pytest.mark.parametrize("scheme", ["timestamp", "org"])
def test_a_second_rule_renders_for_athena(scheme: str) -> None:
    cfg = AuditConfig(
        range=RANGE,
        engine="athena",
        rule=TEST_RULE,
        accounts=(PROD,),
        athena=AthenaSettings(
            database="cloudtrail", table="cloudtrail_logs", partition_scheme=scheme
        ),
    )
    plan = build_plan(cfg, sql_target(cfg.athena, None))
    assert plan.rule.meta.name == "Bedrock resource policy changed"
    (q,) = plan.queries
    assert q.name == "policy_changes" and q.spec.chunk_merge == "rows"
    for text in (q.sql, q.display):
        (tree,) = sqlglot.parse(text, read="athena")
        assert tree is not None and tree.find(exp.Select) is not None
    tree = sqlglot.parse_one(q.display, read="athena")
    nulls = [
        n
        for n in tree.find_all(exp.Is)
        if isinstance(n.this, exp.Column) and n.this.name.lower() == "errorcode"
    ]
    assert nulls, "errorcode IS NULL"
    bounds = [
        b
        for b in tree.find_all(exp.Between)
        if isinstance(b.this, exp.Column) and b.this.name == "timestamp"
    ]
    assert bounds and bounds[0].args["low"].this == "2026/10/10"
    assert PROD in q.params and "?" in q.sql and PROD not in q.sql
