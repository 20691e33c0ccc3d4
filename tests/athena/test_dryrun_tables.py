"""`auditor audit --engine athena --dry-run` against each table of the corpus, created in
moto's Glue: the printed SQL touches only the table's columns and prunes to the range."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from auditor.athena.tableshape import from_glue
from auditor.cli import app
from tests.athena.tables import (
    DATABASE,
    NAMES,
    create_in_glue,
    partition_bounds,
    table_input,
    unknown_columns,
)


@pytest.fixture
def glue(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
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
        yield boto3.client("glue", region_name="us-east-1")


def _statements(output: str) -> list[str]:
    """The SQL statements a dry run prints (each after its `-- title` line)."""
    blocks = re.findall(r"^-- auditor: .*?;$", output, flags=re.M | re.S)
    return [b.rstrip(";") for b in blocks]


@pytest.mark.parametrize("name", NAMES)
def test_dry_run_sql_touches_only_existing_columns_and_prunes(glue: Any, name: str) -> None:
    table = create_in_glue(glue, name)
    shape = from_glue(table_input(name), DATABASE)
    result = CliRunner().invoke(
        app,
        [
            "audit",
            "--engine",
            "athena",
            "--dry-run",
            "--month",
            "2026-10",
            "--database",
            DATABASE,
            "--table",
            table,
            "--lookahead-days",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"reads     {shape.describe()}" in result.output
    for field in shape.missing:
        assert f"missing   {field}: rendered NULL" in result.output
    statements = _statements(result.output)
    assert len(statements) == 3
    for sql in statements:
        assert not unknown_columns(sql, shape), name
        if shape.date is not None:
            want = (shape.date.value("2026/10/01"), shape.date.value("2026/11/01"))
            assert partition_bounds(sql, shape.date.name) == [want]
        elif shape.ymd is not None:
            assert "BETWEEN '2026/10/01' AND '2026/11/01'" in sql
        else:
            assert "WHERE TRUE" in sql.replace("\n", " ")
    if not shape.partitions:
        assert "every query reads the whole table LOCATION" in result.output


def test_explicit_scheme_that_does_not_match_is_one_line_exit_2(glue: Any) -> None:
    table = create_in_glue(glue, "dt_projection")
    result = CliRunner().invoke(
        app,
        [
            "audit",
            "--engine",
            "athena",
            "--dry-run",
            "--month",
            "2026-10",
            "--database",
            DATABASE,
            "--table",
            table,
            "--partition-scheme",
            "org",
        ],
    )
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "--partition-scheme org does not match cloudtrail.cloudtrail_flat" in result.output


def test_missing_table_is_one_line_exit_2(glue: Any) -> None:
    result = CliRunner().invoke(
        app,
        [
            "audit",
            "--engine",
            "athena",
            "--dry-run",
            "--month",
            "2026-10",
            "--database",
            DATABASE,
            "--table",
            "nope",
        ],
    )
    assert result.exit_code == 2
    assert "cloudtrail.nope not found in the Glue Data Catalog" in result.output


def test_sql_without_glue_assumes_the_ddl_table_and_with_glue_reads_it(glue: Any) -> None:
    table = create_in_glue(glue, "dt_projection")
    args = [
        "sql",
        "--engine",
        "athena",
        "--month",
        "2026-10",
        "--database",
        DATABASE,
        "--table",
        table,
    ]
    assumed = CliRunner().invoke(app, args)
    assert assumed.exit_code == 0 and "\"timestamp\" BETWEEN '2026/10/01'" in assumed.output
    read = CliRunner().invoke(app, [*args, "--glue"])
    assert read.exit_code == 0, read.output
    assert "dt BETWEEN '2026-10-01' AND '2026-11-01'" in read.output
