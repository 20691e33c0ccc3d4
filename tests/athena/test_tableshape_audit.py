"""A whole Athena audit over a table lacking fields: the SQL sent reads NULL for them and
the report's coverage notes say which fields were missing and what that changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from auditor.audit import run_audit
from auditor.aws import make_client
from auditor.engines.athena import AthenaEngine
from tests.athena.tables import DATABASE, create_in_glue
from tests.engines.athena_support import FakeAthena, config


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    from moto import mock_aws

    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.chdir(tmp_path)
    with mock_aws():
        yield make_client("glue")


def test_report_names_missing_fields_and_the_table_partitions(aws: Any) -> None:
    table = create_in_glue(aws, "console_unpartitioned")
    fake = FakeAthena(make_client("athena"))
    cfg = config(date(2026, 10, 1), date(2026, 10, 3), database=DATABASE, table=table)
    report = run_audit(cfg, AthenaEngine(cfg.athena, athena_client=fake, progress=False))
    notes = report.coverage.notes
    assert any("no partitions: every query reads the whole table LOCATION" in n for n in notes)
    assert any(
        n.startswith(
            "useridentity.onbehalfof.userid missing from the table: IAM Identity Center users"
        )
        for n in notes
    )
    sent = [kw["QueryString"] for kw in fake.started]
    assert len(sent) == 3
    assert all("onbehalfof" not in q and "sessionissuer" not in q for q in sent)
    assert all("WHERE TRUE" in q for q in sent)
