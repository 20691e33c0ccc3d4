"""`auditor audit --engine athena` and `auditor sql --engine athena` through the CLI,
against moto's server on 127.0.0.1 (S3 for the estimate, Athena for the queries)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from athena_support import FakeAthena, backend, denied_row, glue_table, query_name, seed
from typer.testing import CliRunner

from auditor.cli import app
from auditor.sqlgen import query_specs

BUCKET = "org-trail"
ACCT = "111122223333"
# Object sizes per delivery folder (day) of one account/region under the trail.
SIZES = {
    date(2026, 9, 30): 1_000,  # before the range: never counted
    date(2026, 10, 1): 20_000,
    date(2026, 10, 15): 300_000,
    date(2026, 11, 1): 4_000,  # the delivery day after the range: counted
    date(2026, 11, 5): 50_000,  # only a look-ahead query reads it
    date(2026, 12, 20): 600_000,  # never counted
}


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def env(moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    (tmp_path / "empty.toml").write_text("")
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "empty.toml"))
    monkeypatch.chdir(tmp_path)
    backend().query_results_queue.clear()
    for database in ("cloudtrail", "default"):  # auditor ddl's table, read before any SQL
        glue_table(database=database)
    return moto_server


@pytest.fixture
def trail(env: str) -> str:
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    existing = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    if BUCKET not in existing:
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket="athena-results")
        for day, size in SIZES.items():
            key = (
                f"audit/AWSLogs/o-a1b2c3d4e5/{ACCT}/CloudTrail/us-east-1/{day:%Y/%m/%d}/"
                f"{ACCT}_CloudTrail_us-east-1_{day:%Y%m%d}T0005Z_X.json.gz"
            )
            s3.put_object(Bucket=BUCKET, Key=key, Body=b"\0" * size)
        # a digest sibling: listed, never counted
        s3.put_object(
            Bucket=BUCKET,
            Key=f"audit/AWSLogs/o-a1b2c3d4e5/{ACCT}/CloudTrail-Digest/"
            f"us-east-1/2026/10/15/d.json.gz",
            Body=b"\0" * 777,
        )
    return f"s3://{BUCKET}/audit"


def _expected_estimate(first: date, last: date, lookahead: int = 7) -> int:
    """What each shipped query reads, summed: folders first .. last+1 (+ look-ahead)."""
    total = 0
    for spec in query_specs():
        end = last + timedelta(days=1 + (lookahead if spec.lookahead else 0))
        total += sum(s for d, s in SIZES.items() if first <= d <= end)
    return total


def _audit(*extra: str, out: Path) -> Any:
    return CliRunner().invoke(
        app,
        [
            "audit",
            "--engine",
            "athena",
            "--database",
            "cloudtrail",
            "--table",
            "cloudtrail_logs",
            "--workgroup",
            "primary",
            "--output-location",
            "s3://athena-results/q/",
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-31",
            "--out",
            str(out),
            *extra,
        ],
    )


def test_end_to_end_report_from_seeded_rows(
    trail: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import auditor.engines.athena as engine_mod
    from auditor.aws import make_client

    # moto reports 0 bytes scanned, which is not a clean audit: add statistics
    monkeypatch.setattr(
        engine_mod,
        "make_client",
        lambda service="athena", **kw: (
            FakeAthena(make_client(service, **kw))
            if service == "athena"
            else make_client(service, **kw)
        ),
    )
    before = len(backend().executions)
    # moto hands queued results out in start order: first the one-scan CTAS (none), its
    # check of unreadable eventTimes (none), then the rule's query over the candidate table
    seed([])
    seed([])
    seed(
        [
            denied_row("ev-1", "2026-10-03T09:00:00Z", principal=f"arn:aws:iam::{ACCT}:role/ci"),
            denied_row(
                "ev-2",
                "2026-10-31T23:58:00Z",
                principal=f"arn:aws:iam::{ACCT}:role/ci",
                user_agent="<script>alert(1)</script>",
            ),
            denied_row(
                "ev-3",
                "2026-10-20T01:00:00Z",
                principal=f"arn:aws:iam::{ACCT}:user/bob",
                action="DeleteResourcePolicy",
            ),
        ]
    )
    out = tmp_path / "oct"
    # one at a time: moto hands its queued result to the first query started (the main one)
    result = _audit("--trail", trail, "--concurrency", "1", out=out)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["engine"] == "athena"
    assert report["totals"]["attempts"] == 3
    assert {f["principal"]: f["attempts"] for f in report["findings"]} == {
        f"arn:aws:iam::{ACCT}:role/ci": 2,
        f"arn:aws:iam::{ACCT}:user/bob": 1,
    }
    queries = report["provenance"]["queries"]
    # one read of the trail (the candidates CTAS), then each query over its table
    assert [q["name"] for q in queries] == ["candidates", "unreadable_times"] + [
        s.name for s in query_specs()
    ]
    assert len(queries) == len(backend().executions) - before
    assert all(q["query_id"] in backend().executions and q["state"] == "SUCCEEDED" for q in queries)
    assert report["provenance"]["estimated_scan_bytes"] == _expected_estimate(
        date(2026, 10, 1), date(2026, 10, 31)
    )
    assert report["provenance"]["total_cost_usd"] > 0  # the 10 MB minimum per query
    assert report["coverage"]["complete"] and report["coverage"]["files_scanned"] == 0
    assert report["coverage"]["accounts"] == [ACCT]
    ctas = next(e for e in backend().executions.values() if e.id == queries[0]["query_id"])
    assert ctas.execution_parameters[:2] == ["'2026/10/01'", "'2026/11/08'"]  # + look-ahead
    main = next(e for e in backend().executions.values() if e.id == queries[2]["query_id"])
    assert main.execution_parameters[:2] == ["'2026/10/01'", "'2026/11/01'"]
    assert main.workgroup.name == "primary"
    assert "<script>alert(1)" not in (out / "report.html").read_text()  # escaped
    assert "Athena:" in result.stdout and "estimate" in result.stdout


def test_dry_run_prints_plan_sql_and_estimate_and_runs_nothing(trail: str, tmp_path: Path) -> None:
    before = len(backend().executions)
    result = _audit("--trail", trail, "--dry-run", out=tmp_path / "x")
    assert result.exit_code == 0, result.output
    assert len(backend().executions) == before
    text = result.stdout
    assert "dry run" in text and "nothing was queried" in text
    assert f"({_expected_estimate(date(2026, 10, 1), date(2026, 10, 31)):,} bytes)" in text
    assert "2026/10/01..2026/11/01" in text
    assert "\"timestamp\" BETWEEN '2026/10/01' AND '2026/11/01'" in text
    assert text.count(";\n") >= len(query_specs())
    assert not (tmp_path / "x" / "report.json").exists()


def test_dry_run_without_trail_says_the_estimate_is_unknown(env: str, tmp_path: Path) -> None:
    result = _audit("--dry-run", out=tmp_path / "x")
    assert result.exit_code == 0, result.output
    assert "estimate  unknown: no --trail given" in result.stdout


def test_budget_guard_refuses_with_the_estimate(trail: str, tmp_path: Path) -> None:
    before = len(backend().executions)
    result = _audit("--trail", trail, "--max-scan-gb", "0.0001", out=tmp_path / "x")
    assert result.exit_code == 2
    assert "estimated" in result.stderr and "--max-scan-gb 0.0001" in result.stderr
    assert len(backend().executions) == before
    assert "Traceback" not in result.output
    dry = _audit("--trail", trail, "--max-scan-gb", "0.0001", "--dry-run", out=tmp_path / "x")
    assert dry.exit_code == 2 and "OVER" in dry.stdout


@pytest.mark.parametrize(
    "where, says",
    [
        ("s3://org-trail/nothing-here", "no AWSLogs/"),
        ("s3://no-such-bucket-here/x", "no such bucket"),
    ],
)
def test_a_bad_trail_is_one_line_exit_2(trail: str, tmp_path: Path, where: str, says: str) -> None:
    result = _audit("--trail", where, "--dry-run", out=tmp_path / "x")
    assert result.exit_code == 2, result.output
    assert says in result.stderr and "--trail" in result.stderr and "--source" not in result.stderr


def test_budget_guard_without_trail_asks_for_one(env: str, tmp_path: Path) -> None:
    result = _audit("--max-scan-gb", "100", out=tmp_path / "x")
    assert result.exit_code == 2 and "pass --trail" in result.stderr


def test_failed_chunk_is_exit_0_or_4_with_strict(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import auditor.engines.athena as engine_mod

    fakes: list[FakeAthena] = []

    def client(service: str = "athena", **kw: Any) -> Any:
        from auditor.aws import make_client

        fake = FakeAthena(make_client(service, **kw))

        def fail_september(qid: str, call: dict[str, Any]) -> None:
            # an enrichment query: the rule's own query failing is exit 3 (next test)
            if (
                call["ExecutionParameters"][0] == "'2026/09/01'"
                and query_name(call) != "denied_policy_changes"
            ):
                fake.fail[qid] = ("FAILED", "HIVE_BAD_DATA: broken file", False)

        fake.on_start = fail_september
        fakes.append(fake)
        return fake

    monkeypatch.setattr(engine_mod, "make_client", client)
    args = ["--from", "2026-08-01", "--to", "2026-10-31"]
    for strict, code in ((False, 0), (True, 4)):
        out = tmp_path / f"strict-{strict}"
        result = CliRunner().invoke(
            app,
            [
                "audit",
                "--engine",
                "athena",
                *args,
                "--out",
                str(out),
                *(["--strict"] if strict else []),
            ],
        )
        assert result.exit_code == code, result.output
        assert "INCOMPLETE" in result.stdout
        report = json.loads((out / "report.json").read_text())
        failed = [(f["chunk"], f["query"]) for f in report["coverage"]["failed_queries"]]
        assert failed == sorted(
            ("2026-09", s.name) for s in query_specs() if s.name != "denied_policy_changes"
        )
        assert "FAILED: HIVE\\_BAD\\_DATA: broken file" in (out / "report.md").read_text()


def test_every_chunk_failing_is_exit_3_naming_the_query(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import auditor.engines.athena as engine_mod

    def client(service: str = "athena", **kw: Any) -> Any:
        from auditor.aws import make_client

        fake = FakeAthena(make_client(service, **kw))
        fake.on_start = lambda qid, call: fake.fail.__setitem__(
            qid, ("CANCELLED", "Query exceeded the workgroup's BytesScannedCutoffPerQuery", False)
        )
        return fake

    monkeypatch.setattr(engine_mod, "make_client", client)
    result = _audit(out=tmp_path / "x")
    assert result.exit_code == 3
    assert "CANCELLED" in result.stderr and "BytesScannedCutoffPerQuery" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_one_failed_rule_chunk_is_exit_3_one_inert_line_and_no_report(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import auditor.engines.athena as engine_mod

    def client(service: str = "athena", **kw: Any) -> Any:
        from auditor.aws import make_client

        fake = FakeAthena(make_client(service, **kw))

        def fail(qid: str, call: dict[str, Any]) -> None:
            if (
                call["ExecutionParameters"][0] == "'2026/09/01'"
                and query_name(call) == "denied_policy_changes"
            ):
                fake.fail[qid] = ("FAILED", "HIVE_BAD_DATA\x1b[2J\u202ereversed\nnext", False)

        fake.on_start = fail
        return fake

    monkeypatch.setattr(engine_mod, "make_client", client)
    out = tmp_path / "x"
    result = CliRunner().invoke(
        app,
        [
            "audit",
            "--engine",
            "athena",
            "--from",
            "2026-08-01",
            "--to",
            "2026-10-31",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 3, result.output
    (line,) = result.stderr.strip().splitlines()
    assert "2026-09" in line and "denied_policy_changes" in line and "--resume" in line
    assert "\\u001b[2J\\u202ereversed\\u000anext" in line
    assert not out.exists() and "0 denied attempt" not in result.stdout


def test_sql_prints_every_chunk_statement() -> None:
    result = CliRunner().invoke(
        app,
        [
            "sql",
            "--engine",
            "athena",
            "--from",
            "2026-08-20",
            "--to",
            "2026-10-10",
            "--database",
            "cloudtrail",
            "--table",
            "cloudtrail_logs",
        ],
    )
    assert result.exit_code == 0, result.output
    statements = [s for s in sqlglot.parse(result.stdout, read="athena") if s is not None]
    assert len(statements) == 3 * len(query_specs())
    for month in ("2026-08", "2026-09", "2026-10"):
        assert f"({month})" in result.stdout
    assert "\"timestamp\" BETWEEN '2026/08/20' AND '2026/09/01'" in result.stdout
    assert (
        "from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('2026-10-11T00:00:00Z')"
        in result.stdout
    )
