"""`auditor check` against moto: one line per check, exit 0 only when an audit would run,
2 for the table/flags/budget, 3 when AWS refuses a call the audit needs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from tests.athena.tables import DATABASE, create_in_glue

BUCKET = "amzn-s3-demo-bucket"  # the corpus tables' LOCATION bucket
KEY = (
    "AWSLogs/o-aa111bb222/111122223333/CloudTrail/us-east-1/2026/10/{d:02d}/"
    "111122223333_CloudTrail_us-east-1_202610{d:02d}T0000Z_a.json.gz"
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    import boto3
    from moto import mock_aws

    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    (tmp_path / "empty.toml").write_text("")
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "empty.toml"))
    monkeypatch.chdir(tmp_path)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket="results")
        for d in (1, 2):
            s3.put_object(Bucket=BUCKET, Key=KEY.format(d=d), Body=b"\0" * 3000)
        athena = boto3.client("athena", region_name="us-east-1")
        athena.create_work_group(
            Name="auditor",
            Configuration={
                "ResultConfiguration": {
                    "OutputLocation": "s3://results/athena/",
                    "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
                },
                "EnforceWorkGroupConfiguration": True,
                "BytesScannedCutoffPerQuery": 10**12,
                "EngineVersion": {"SelectedEngineVersion": "Athena engine version 3"},
            },
        )
        glue = boto3.client("glue", region_name="us-east-1")
        yield {
            "s3": s3,
            "glue": glue,
            "table": create_in_glue(glue, "org_account_region_timestamp"),
        }


def _check(table: str, *extra: str) -> Any:
    return CliRunner().invoke(
        app,
        [
            "check",
            "--database",
            DATABASE,
            "--table",
            table,
            "--workgroup",
            "auditor",
            "--month",
            "2026-10",
            "--trail",
            f"s3://{BUCKET}",
            *extra,
        ],
    )


def _lines(output: str) -> dict[str, str]:
    return {line.split()[0]: line.split(None, 1)[1] for line in output.splitlines()}


def test_every_check_ok_is_exit_0(aws: dict[str, Any]) -> None:
    result = _check(aws["table"])
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    assert list(lines) == [
        "table",
        "format",
        "partitions",
        "fields",
        "workgroup",
        "trail",
        "results",
        "estimate",
    ]
    assert all(v.startswith("ok: ") for v in lines.values())
    assert f"reads s3://{BUCKET}/AWSLogs/o-aa111bb222/" in lines["table"]
    assert "partition scheme org" in lines["format"]
    assert "\"timestamp\" BETWEEN '2026/10/01' AND '2026/11/01'" in lines["partitions"]
    assert "every field the audit reads" in lines["fields"]
    for part in (
        "Athena engine version 3",
        "settings enforced",
        "s3://results/athena/",
        "encryption SSE_S3",
        "BytesScannedCutoffPerQuery 931.3 GiB",
    ):
        assert part in lines["workgroup"]
    assert "about $" in lines["estimate"] and "in 2 objects" in lines["estimate"]


def test_missing_fields_are_named_and_still_ok(aws: dict[str, Any]) -> None:
    table = create_in_glue(aws["glue"], "aws_older_classic")
    result = _check(table)
    assert result.exit_code == 0, result.output
    fields = _lines(result.output)["fields"]
    assert fields.startswith("ok: useridentity.onbehalfof.userid (rendered NULL: ")


def test_a_serde_that_skips_malformed_json_is_warned_of(aws: dict[str, Any]) -> None:
    from tests.athena.tables import table_input

    ti = table_input("org_account_region_timestamp")
    ti["StorageDescriptor"]["SerdeInfo"] = {
        "SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
        "Parameters": {"ignore.malformed.json": "true"},
    }
    aws["glue"].delete_table(DatabaseName=DATABASE, Name=ti["Name"])
    aws["glue"].create_table(DatabaseName=DATABASE, TableInput=ti)
    result = _check(aws["table"])
    assert result.exit_code == 0, result.output  # an audit runs; its coverage is incomplete
    fmt = _lines(result.output)["format"]
    assert fmt.startswith("ok: ") and "WARNING" in fmt and "ignore.malformed.json" in fmt


@pytest.mark.parametrize(
    "args, check, code, text",
    [
        (["--table", "nope"], "table", 2, "cloudtrail.nope not found in the Glue Data Catalog"),
        (["--partition-scheme", "manual"], "format", 2, "--partition-scheme manual does not match"),
        (["--max-scan-gb", "0.000001"], "estimate", 2, "over --max-scan-gb"),
        (["--workgroup", "missing"], "workgroup", 3, "GetWorkGroup"),
        (["--trail", "s3://no-such-bucket"], "trail", 3, "refused: NoSuchBucket"),
    ],
)
def test_a_failing_check_is_one_fail_line_and_the_audits_exit_code(
    aws: dict[str, Any], args: list[str], check: str, code: int, text: str
) -> None:
    table = aws["table"]
    if args[0] == "--table":
        table, args = args[1], []
    result = _check(table, *args)
    assert result.exit_code == code, result.output
    line = _lines(result.output)[check]
    assert line.startswith("FAIL: ") and text in line, line
    fails = {k for k, v in _lines(result.output).items() if v.startswith("FAIL")}
    assert fails == ({check, "estimate"} if check == "trail" else {check})
