"""`auditor ddl`: the CREATE TABLE of AWS's CloudTrail table for a trail root, the
folder discovery that fills it, and --apply through Athena (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp
from typer.testing import CliRunner

from auditor.cli import app
from auditor.ddl import TrailLayout, create_table, discover_layout, layout_from_flags
from auditor.errors import ConfigError
from auditor.table import COLUMNS
from tests.conftest import golden

GOLDEN = Path(__file__).parent / "golden" / "ddl"
ORG = "o-a1b2c3d4e5"


def _parsed(sql: str) -> tuple[list[str], list[str], str, dict[str, str]]:
    tree = sqlglot.parse_one(sql, read="athena")
    assert isinstance(tree, exp.Create)
    schema = tree.this
    cols = [c.name for c in schema.expressions]
    parts = [c.name for c in tree.find(exp.PartitionedByProperty).this.expressions]
    location = tree.find(exp.LocationProperty).this.this
    props = {
        p.name: p.args["value"].this
        for p in tree.find_all(exp.Property)
        if isinstance(p.args.get("value"), exp.Literal) and p.name
    }
    return cols, parts, location, props


def test_golden_ddl_timestamp_scheme_is_awss_documented_table() -> None:
    layout = layout_from_flags("s3://trail-bucket/audit/", None, ("111122223333",), ("eu-west-1",))
    ddl = create_table(layout, "timestamp", "cloudtrail", "cloudtrail_logs")
    golden(GOLDEN / "timestamp.sql", ddl.sql + ";\n")
    cols, parts, location, props = _parsed(ddl.sql)
    assert cols == [name for name, _ in COLUMNS]  # one source for the shape
    assert parts == ["timestamp"]
    assert location == "s3://trail-bucket/audit/AWSLogs/111122223333/CloudTrail/eu-west-1/"
    assert props["storage.location.template"] == location + "${timestamp}"
    assert props["projection.timestamp.format"] == "yyyy/MM/dd"
    assert props["projection.enabled"] == "true"
    assert "org.apache.hive.hcatalog.data.JsonSerDe" in ddl.sql
    assert "com.amazon.emr.cloudtrail.CloudTrailInputFormat" in ddl.sql
    assert not ddl.placeholders


def test_golden_ddl_org_scheme_projects_accounts_and_regions() -> None:
    layout = TrailLayout(
        "s3://trail-bucket",
        "s3://trail-bucket/AWSLogs",
        ORG,
        ("111122223333", "444455556666"),
        ("eu-west-1", "us-east-1"),
    )
    ddl = create_table(layout, "org")
    golden(GOLDEN / "org.sql", ddl.sql + ";\n")
    _, parts, location, props = _parsed(ddl.sql)
    assert parts == ["account", "region", "timestamp"]
    assert location == f"s3://trail-bucket/AWSLogs/{ORG}/"
    assert props["projection.account.values"] == "111122223333,444455556666"
    assert props["projection.region.values"] == "eu-west-1,us-east-1"
    assert props["storage.location.template"] == (
        f"s3://trail-bucket/AWSLogs/{ORG}/${{account}}/CloudTrail/${{region}}/${{timestamp}}"
    )


def test_manual_scheme_has_region_year_month_day_partitions() -> None:
    layout = layout_from_flags("s3://trail-bucket", None, ("111122223333",), ())
    ddl = create_table(layout, "manual")
    _, parts, location, props = _parsed(ddl.sql)
    assert parts == ["region", "year", "month", "day"]
    assert location == "s3://trail-bucket/AWSLogs/111122223333/CloudTrail/"
    assert "storage.location.template" not in props
    assert any("ADD PARTITION" in n for n in ddl.notes)


def test_missing_values_become_marked_placeholders() -> None:
    ddl = create_table(layout_from_flags("s3://trail-bucket", None, (), ()), "timestamp")
    assert ddl.placeholders and "<account-id>" in ddl.sql and "<region>" in ddl.sql
    two = create_table(
        layout_from_flags("s3://trail-bucket", None, ("111122223333",), ("eu-west-1", "us-east-1")),
        "timestamp",
    )
    assert two.placeholders and any("one --region" in n for n in two.notes)


@pytest.mark.parametrize(
    "bad",
    ["http://x/y", "s3://", "s3://b", "s3://Bad_Bucket/x", "s3://bucket/it's", "s3://bucket/../x"],
)
def test_bad_trail_urls_are_refused(bad: str) -> None:
    with pytest.raises(ConfigError, match="--trail"):
        layout_from_flags(bad, None, (), ())


@pytest.mark.parametrize("bad", ["x;drop", "a`b", ""])
def test_bad_table_names_are_refused(bad: str) -> None:
    with pytest.raises(ConfigError):
        create_table(
            layout_from_flags("s3://trail-bucket", None, ("111122223333",), ("us-east-1",)),
            "timestamp",
            table=bad,
        )


# -- discovery and --apply under moto ----------------------------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    from moto import mock_aws

    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    with mock_aws():
        yield


class Recorder:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.listings: list[dict[str, Any]] = []

    def list_objects_v2(self, **kw: Any) -> Any:
        self.listings.append(kw)
        return self.client.list_objects_v2(**kw)


def _trail_bucket() -> Any:
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="trail-bucket")
    keys = [
        f"audit/AWSLogs/{ORG}/111122223333/CloudTrail/us-east-1/2026/10/01/a.json.gz",
        f"audit/AWSLogs/{ORG}/111122223333/CloudTrail/eu-west-1/2026/10/01/b.json.gz",
        f"audit/AWSLogs/{ORG}/444455556666/CloudTrail/us-east-1/2026/10/02/c.json.gz",
        f"audit/AWSLogs/{ORG}/444455556666/CloudTrail-Digest/us-east-1/2026/10/02/d.json.gz",
        "audit/AWSLogs/777788889999/CloudTrail/ap-southeast-2/2026/10/01/e.json.gz",
        "audit/AWSLogs/777788889999/CloudTrail-Insight/ap-southeast-2/2026/10/01/f.json.gz",
    ]
    for k in keys:
        s3.put_object(Bucket="trail-bucket", Key=k, Body=b"x")
    return s3


def test_discover_uses_folder_listings_only(aws: None) -> None:
    from auditor.sources.s3 import S3Lister

    rec = Recorder(_trail_bucket())
    root = "s3://trail-bucket/audit"
    layout = discover_layout(S3Lister(root, client=rec), root)
    assert layout.org_id == ORG
    assert layout.accounts == ("111122223333", "444455556666")
    assert layout.regions == ("eu-west-1", "us-east-1")  # not the digest's, not the other trail's
    assert any("777788889999" in n for n in layout.notes)  # the per-account trail beside it
    assert rec.listings and all(kw.get("Delimiter") == "/" for kw in rec.listings)
    assert all(kw["Prefix"].startswith("audit/") for kw in rec.listings[1:])
    ddl = create_table(layout, "org")
    assert not ddl.placeholders and f"AWSLogs/{ORG}/" in ddl.sql


def test_cli_discover_and_apply_through_athena(aws: None) -> None:
    from moto.athena.models import athena_backends

    _trail_bucket()
    result = CliRunner().invoke(
        app,
        [
            "ddl",
            "--trail",
            "s3://trail-bucket/audit",
            "--partition-scheme",
            "org",
            "--discover",
            "--apply",
            "--database",
            "default",
            "--table",
            "trail",
            "--output-location",
            "s3://trail-bucket/results/",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS `default`.`trail`" in result.stdout
    assert "projection.account.values'='111122223333,444455556666'" in result.stdout
    assert "discovered under" in result.stderr and "created default.trail" in result.stderr
    executions = list(athena_backends["123456789012"]["us-east-1"].executions.values())
    assert len(executions) == 1
    assert executions[0].query.startswith("CREATE EXTERNAL TABLE IF NOT EXISTS `default`.`trail`")


def test_cli_apply_refuses_placeholders() -> None:
    result = CliRunner().invoke(app, ["ddl", "--trail", "s3://trail-bucket", "--apply"])
    assert result.exit_code == 2
    assert "placeholders" in result.stderr and "Traceback" not in result.output


def test_cli_ddl_needs_a_trail(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "empty.toml").write_text("")
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "empty.toml"))
    result = CliRunner().invoke(app, ["ddl"])
    assert result.exit_code == 2 and "--trail" in result.stderr


def test_cli_discover_reads_an_asked_per_account_trail_where_it_is(aws: None) -> None:
    # 777788889999 delivers to AWSLogs/777788889999/, beside the organisation trail: its
    # table must not point under AWSLogs/o-.../ (an empty table, so a silently clean audit).
    _trail_bucket()
    result = CliRunner().invoke(
        app,
        [
            "ddl",
            "--trail",
            "s3://trail-bucket/audit",
            "--discover",
            "--account",
            "777788889999",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        "LOCATION 's3://trail-bucket/audit/AWSLogs/777788889999/CloudTrail/ap-southeast-2/'"
        in result.stdout
    )
    assert ORG not in result.stdout
    mixed = CliRunner().invoke(
        app,
        [
            "ddl",
            "--trail",
            "s3://trail-bucket/audit",
            "--discover",
            "--partition-scheme",
            "org",
            "--account",
            "777788889999",
            "--account",
            "111122223333",
        ],
    )
    assert mixed.exit_code == 2 and "one table reads one layout" in mixed.stderr


def test_cli_discover_of_a_missing_bucket_names_the_trail_flag(aws: None) -> None:
    result = CliRunner().invoke(app, ["ddl", "--trail", "s3://no-such-bucket/x", "--discover"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "auditor: error: --trail s3://no-such-bucket/x: no such bucket"
