"""The Athena protocol under moto (in-process): results, failures, deadline, throttling,
the cost guard, and what ends up in the report's provenance."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from athena_support import (
    MAIN_COLUMNS,
    NOW,
    FakeAthena,
    athena_audit,
    backend,
    config,
    denied_row,
    glue_table,
    planned,
    seed,
)

from auditor.athena.cost import MIN_BILLED_BYTES, query_cost_usd
from auditor.athena.runner import (
    AthenaApiError,
    AthenaQueryFailed,
    AthenaRunner,
    RetryPolicy,
)
from auditor.aws import make_client
from auditor.config import AthenaSettings
from auditor.errors import BudgetError, QueryFailed


@pytest.fixture
def athena(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """A boto3 Athena client on moto's in-process mock, fake credentials only."""
    from moto import mock_aws

    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.chdir(tmp_path)  # the default state folder lands in tmp_path
    with mock_aws():
        glue_table()  # auditor ddl's timestamp table, read by the engine before any SQL
        yield make_client("athena")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def runner(client: Any, clock: FakeClock | None = None, **settings: Any) -> AthenaRunner:
    settings.setdefault("poll_interval", 0.01)
    settings.setdefault("database", "cloudtrail")
    clock = clock or FakeClock()
    return AthenaRunner(
        client, AthenaSettings(**settings), sleep=clock.sleep, clock=clock.clock, rand=lambda: 1.0
    )


OCT = (date(2026, 10, 1), date(2026, 10, 31))


def test_client_uses_botocore_standard_retries(athena: Any) -> None:
    assert athena.meta.config.retries["mode"] == "standard"
    assert athena.meta.config.retries["total_max_attempts"] >= 3


def test_seeded_results_become_rows_with_nulls_and_types(athena: Any) -> None:
    fake = FakeAthena(athena, scanned=123 * 1024**2, engine_ms=4321)
    seed(
        [
            denied_row("e1", "2026-10-02T10:00:00Z", user_agent=None),
            denied_row("e2", "2026-10-03T11:00:00Z"),
        ]
    )
    r = runner(
        fake,
        workgroup="audits-wg" if False else "primary",
        output_location="s3://results-bucket/auditor/",
    )
    rows, rec = r.run(
        "denied_policy_changes", "SELECT 1 WHERE x = ? AND y = ?", ("2026/10/01", "it's")
    )
    assert [row["event_id"] for row in rows] == ["e1", "e2"]  # header row skipped
    assert rows[0]["user_agent"] is None  # no VarCharValue: NULL
    assert list(rows[0]) == list(MAIN_COLUMNS)
    sent = fake.started[0]
    assert sent["ExecutionParameters"] == ["'2026/10/01'", "'it''s'"]  # SQL literals
    assert sent["QueryExecutionContext"] == {"Database": "cloudtrail"}
    assert sent["WorkGroup"] == "primary"
    assert sent["ResultConfiguration"] == {"OutputLocation": "s3://results-bucket/auditor/"}
    assert rec.query_id and rec.state == "SUCCEEDED" and rec.rows == 2
    assert rec.data_scanned_bytes == 123 * 1024**2 and rec.engine_ms == 4321
    assert rec.cost_usd == pytest.approx(123 / 1024**2 * 5.0, rel=1e-6)


def test_no_execution_parameters_without_values(athena: Any) -> None:
    fake = FakeAthena(athena)
    runner(fake).run("ddl", "CREATE DATABASE x", (), fetch=False)
    assert "ExecutionParameters" not in fake.started[0]
    assert "ResultConfiguration" not in fake.started[0]  # the workgroup's location


def test_results_are_read_page_by_page(athena: Any) -> None:
    fake = FakeAthena(athena)
    fake.page_size = 2
    seed([denied_row(f"e{i}", f"2026-10-0{i}T00:00:00Z") for i in range(1, 6)])
    rows, rec = runner(fake).run("q", "SELECT 1")
    assert [r["event_id"] for r in rows] == ["e1", "e2", "e3", "e4", "e5"]
    assert fake.count("get_query_results") == 3
    assert rec.rows == 5


def test_typed_columns_are_converted(athena: Any) -> None:
    from moto.athena.models import QueryResults

    cols = [("principal", "varchar"), ("denials", "bigint"), ("ok", "boolean")]
    backend().query_results_queue.append(
        QueryResults(
            rows=[
                {"Data": [{"VarCharValue": n} for n, _ in cols]},
                {"Data": [{"VarCharValue": "p"}, {"VarCharValue": "42"}, {"VarCharValue": "true"}]},
            ],
            column_info=[{"Name": n, "Type": t} for n, t in cols],
        )
    )
    rows, _ = runner(athena).run("other_denials", "SELECT 1")
    assert rows == [{"principal": "p", "denials": 42, "ok": True}]


@pytest.mark.parametrize("state", ["FAILED", "CANCELLED"])
def test_failed_or_cancelled_names_query_id_and_reason(athena: Any, state: str) -> None:
    fake = FakeAthena(athena)
    fake.on_start = lambda qid, kw: fake.fail.__setitem__(
        qid, (state, "TABLE_NOT_FOUND: Table cloudtrail.nope does not exist", False)
    )
    with pytest.raises(AthenaQueryFailed) as info:
        runner(fake).run("denied_policy_changes", "SELECT 1")
    exc = info.value
    assert isinstance(exc, QueryFailed) and exc.exit_code == 3
    assert exc.query_id and exc.query_id in str(exc)
    assert state in str(exc) and "TABLE_NOT_FOUND" in str(exc)
    assert exc.record is not None and exc.record.state == state


def test_failed_query_costs_nothing_cancelled_costs_the_minimum() -> None:
    assert query_cost_usd(5 * 1024**3, "FAILED") == 0.0
    assert query_cost_usd(1, "CANCELLED") == pytest.approx(MIN_BILLED_BYTES / 1024**4 * 5)
    assert query_cost_usd(1024**4) == pytest.approx(5.0)
    # rounded up to the whole megabyte
    assert query_cost_usd(11 * 1024**2 + 1) == query_cost_usd(12 * 1024**2)


def test_retryable_failure_is_rerun(athena: Any) -> None:
    fake = FakeAthena(athena)
    first: list[str] = []

    def fail_first(qid: str, kw: dict[str, Any]) -> None:
        if not first:
            first.append(qid)
            fake.fail[qid] = ("FAILED", "Query exhausted resources at this scale factor", True)

    fake.on_start = fail_first
    seed([])  # moto hands queued results to executions in start order
    seed([denied_row("e1", "2026-10-02T10:00:00Z")])
    rows, rec = runner(fake).run("q", "SELECT 1")
    assert fake.count("start_query_execution") == 2
    assert rec.query_id != first[0] and [r["event_id"] for r in rows] == ["e1"]


def test_slow_query_hits_the_deadline_and_is_stopped(athena: Any) -> None:
    from moto.moto_api import state_manager

    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 10**9})
    try:
        fake = FakeAthena(athena, scanned=50 * 1024**2)
        clock = FakeClock()
        with pytest.raises(AthenaQueryFailed) as info:
            runner(fake, clock, query_timeout=30.0, poll_interval=2.0).run("q", "SELECT 1")
    finally:
        state_manager.unset_transition("athena::execution")
    exc = info.value
    assert "--query-timeout 30s" in str(exc) and "QUEUED" in str(exc)
    assert fake.count("stop_query_execution") == 1
    assert backend().executions[exc.query_id].status == "CANCELLED"
    assert exc.record is not None and exc.record.state == "CANCELLED"
    assert exc.record.cost_usd and exc.record.cost_usd > 0  # a stopped query is billed
    assert clock.now - 1000.0 == pytest.approx(30.0)  # polled until, not past, the deadline
    assert max(clock.sleeps) <= 2.0


def test_throttling_then_success(athena: Any) -> None:
    fake = FakeAthena(athena)
    fake.throttles = {
        "start_query_execution": ["ThrottlingException", "TooManyRequestsException"],
        "get_query_execution": ["ThrottlingException"],
    }
    seed([denied_row("e1", "2026-10-02T10:00:00Z")])
    clock = FakeClock()
    r = runner(fake, clock)
    rows, rec = r.run("q", "SELECT 1")
    assert rec.state == "SUCCEEDED" and len(rows) == 1
    assert r.throttled == 3
    assert fake.count("start_query_execution") == 3  # two refused, one started
    # exponential backoff (jitter fixed at its maximum here): 0.5, 1.0 then 0.5 s
    assert clock.sleeps[:2] == [0.5, 1.0]


def test_throttling_that_never_ends_is_an_api_error(athena: Any) -> None:
    fake = FakeAthena(athena)
    fake.throttles = {"start_query_execution": ["TooManyRequestsException"] * 10}
    clock = FakeClock()
    r = AthenaRunner(
        fake, AthenaSettings(), sleep=clock.sleep, clock=clock.clock, retry=RetryPolicy(attempts=4)
    )
    with pytest.raises(AthenaApiError, match="TooManyRequestsException"):
        r.run("q", "SELECT 1")
    assert fake.count("start_query_execution") == 4
    assert all(0 <= s <= 20.0 for s in clock.sleeps)


def test_unknown_workgroup_is_one_clear_error(athena: Any) -> None:
    with pytest.raises(AthenaApiError, match="WorkGroup does not exist"):
        runner(athena, workgroup="nope").run("q", "SELECT 1")


def test_unreachable_endpoint_is_one_clear_error_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A wrong AWS_ENDPOINT_URL (or no network) used to escape as a raw botocore error
    # (exit 70, "internal error"); it is a failed query naming the call instead.
    for var in ("AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    client = make_client("athena", max_attempts=1)
    with pytest.raises(AthenaApiError, match="start_query_execution: failed: EndpointConnection"):
        runner(client).run("q", "SELECT 1")


def test_unknown_profile_is_a_config_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from auditor.errors import ConfigError

    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(ConfigError, match="no-such-profile"):
        make_client("s3")


# -- the engine end to end (library) ------------------------------------------------------


def test_report_provenance_carries_ids_bytes_and_cost(athena: Any) -> None:
    fake = FakeAthena(athena, scanned=200 * 1024**2, engine_ms=1500)
    seed([denied_row("e1", "2026-10-02T10:00:00Z"), denied_row("e2", "2026-10-05T10:00:00Z")])
    cfg = config(*OCT, concurrency=1)  # queued results go to executions in start order
    report = athena_audit(cfg, fake)
    assert report.engine == "athena"
    assert report.totals.attempts == 2 and len(report.findings) == 1
    main = [q for q in report.provenance.queries if q.name == "denied_policy_changes"]
    assert len(main) == 1 and main[0].query_id and main[0].state == "SUCCEEDED"
    assert main[0].data_scanned_bytes == 200 * 1024**2 and main[0].engine_ms == 1500
    n = len(report.provenance.queries)
    assert report.provenance.total_cost_usd == pytest.approx(n * 200 / 1024**2 * 5.0, rel=1e-4)
    assert report.coverage.bytes_scanned == n * 200 * 1024**2
    assert report.coverage.files_scanned == 0 and report.coverage.complete
    assert report.provenance.estimated_scan_bytes is None  # no --trail
    assert report.provenance.generated_at == NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    # every statement bound its values, and bounded the timestamp partition
    for kw in fake.started:
        assert '"timestamp" BETWEEN ? AND ?' in kw["QueryString"]
        assert "'2026/10/01'" in kw["ExecutionParameters"]


def test_single_range_failure_is_exit_3(athena: Any) -> None:
    fake = FakeAthena(athena)
    fake.on_start = lambda qid, kw: fake.fail.__setitem__(qid, ("FAILED", "HIVE_BAD_DATA", False))
    with pytest.raises(QueryFailed, match="HIVE_BAD_DATA") as info:
        athena_audit(config(*OCT), fake)
    assert info.value.exit_code == 3


def test_no_trail_means_unknown_estimate_and_budget_refuses(athena: Any) -> None:
    fake = FakeAthena(athena)
    with pytest.raises(BudgetError, match="--trail"):
        athena_audit(config(*OCT, max_scan_gb=10), fake)
    assert fake.count("start_query_execution") == 0


def test_budget_refuses_before_any_query(athena: Any, tmp_path: Path) -> None:
    from auditor.synth import write_log

    trail = tmp_path / "trail"
    for day in (1, 15, 31):
        write_log(
            trail,
            f"AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/{day:02d}/a.json.gz",
            [{"eventTime": "x", "pad": "y" * 5000}],
        )
    fake = FakeAthena(athena)
    cfg = config(*OCT, trail=str(trail), max_scan_gb=1e-7)
    with pytest.raises(BudgetError) as info:
        athena_audit(cfg, fake)
    assert "estimated" in str(info.value) and "--max-scan-gb 1e-07" in str(info.value)
    assert info.value.exit_code == 2
    assert fake.count("start_query_execution") == 0


def test_interrupt_stops_the_running_query(athena: Any) -> None:
    from moto.moto_api import state_manager

    from auditor.athena.runner import Interrupted

    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 10**9})
    try:
        fake = FakeAthena(athena)
        r = runner(fake)
        r.cancel.set()  # what Ctrl-C does to every worker of a backfill
        with pytest.raises(Interrupted):
            r.run("q", "SELECT 1")
    finally:
        state_manager.unset_transition("athena::execution")
    assert fake.count("stop_query_execution") == 1
    qid = fake.calls[-1][1]["QueryExecutionId"]
    assert backend().executions[qid].status == "CANCELLED"


def test_estimate_sums_only_in_range_folders_of_the_selected_accounts(tmp_path: Path) -> None:
    from auditor.athena.cost import ListerSizer, estimate
    from auditor.sources.local import LocalLister

    root = tmp_path / "trail"
    sizes = {
        ("111122223333", "2026/09/30"): 1,
        ("111122223333", "2026/10/01"): 20,
        ("111122223333", "2026/10/31"): 300,
        ("111122223333", "2026/11/01"): 4000,
        ("111122223333", "2026/11/02"): 50000,
        ("444455556666", "2026/10/10"): 600000,
    }
    for (acct, day), n in sizes.items():
        p = root / f"AWSLogs/o-a1b2c3d4e5/{acct}/CloudTrail/us-east-1/{day}/x.json.gz"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"\0" * n)
    cfg = replace(config(*OCT), accounts=("111122223333",), lookahead_days=0)
    units = planned(cfg)
    spans = {u.key: u.folders for u in units}
    lister = LocalLister(str(root))
    est = estimate(lister, ListerSizer(lister), str(root), spans, ("111122223333",))
    assert all(v == 20 + 300 + 4000 for v in est.per_unit.values())
    assert est.total == len(units) * 4320
    assert est.discovery.trails == {("111122223333", "us-east-1")}
    everyone = estimate(lister, ListerSizer(lister), str(root), spans)
    assert everyone.total == len(units) * (4320 + 600000)
