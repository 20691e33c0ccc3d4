"""Backfills: monthly chunks, merging (a property test on DuckDB), the state folder and
--resume after an injected chunk failure (moto)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from athena_support import (
    NOW,
    FakeAthena,
    answer,
    athena_audit,
    config,
    denied_row,
    glue_table,
    planned,
    query_name,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.aggregate import build_report
from auditor.athena.backfill import StateStore, merge
from auditor.aws import make_client
from auditor.config import AuditConfig, DateRange
from auditor.engines.base import EngineResult
from auditor.engines.local import TARGET
from auditor.errors import ConfigError, QueryFailed
from auditor.plan import MergeRule, build_plan, chunks_at, month_chunks, split_range
from auditor.sqlgen import load_specs, query_specs

# -- chunks --------------------------------------------------------------------------------


def test_month_chunks_clip_to_the_range() -> None:
    chunks = month_chunks(DateRange(date(2024, 1, 15), date(2024, 3, 10)))
    assert [(c.label, c.range.first, c.range.last) for c in chunks] == [
        ("2024-01", date(2024, 1, 15), date(2024, 1, 31)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2024-03", date(2024, 3, 1), date(2024, 3, 10)),
    ]
    assert [c.label for c in month_chunks(DateRange(date(2026, 10, 1), date(2026, 10, 31)))] == [
        "2026-10"
    ]
    years = month_chunks(DateRange(date(2023, 12, 31), date(2026, 10, 31)))
    assert len(years) == 35 and years[0].range == DateRange(date(2023, 12, 31), date(2023, 12, 31))


@given(
    st.dates(date(2020, 1, 1), date(2030, 1, 1)),
    st.integers(0, 900),
    st.lists(st.dates(date(2019, 1, 1), date(2031, 1, 1)), max_size=8),
)
def test_split_range_covers_the_range_exactly(first: date, days: int, cuts: list[date]) -> None:
    rng = DateRange(first, first + timedelta(days=days))
    pieces = split_range(rng, cuts)
    assert pieces[0].first == rng.first and pieces[-1].last == rng.last
    for a, b in zip(pieces, pieces[1:]):
        assert b.first == a.last + timedelta(days=1)
    assert all(p.first <= p.last for p in pieces)


def test_every_shipped_query_has_a_merge_kind() -> None:
    kinds = {spec.name: str(MergeRule.parse(spec.chunk_merge)) for spec in query_specs()}
    assert kinds == {
        "denied_policy_changes": "rows",
        "later_success": "rows",
        "other_denials": "sum:denials",
    }


def test_an_undeclared_merge_kind_is_whole_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text("SELECT 1")
    (tmp_path / "queries.toml").write_text('[[query]]\nname = "q"\ntemplate = "q.sql"\n')
    (spec,) = load_specs(tmp_path)
    assert str(MergeRule.parse(spec.chunk_merge)) == "whole"  # never split: always right
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "q.sql").write_text("SELECT 1")
    (bad / "queries.toml").write_text(
        '[[query]]\nname = "q"\ntemplate = "q.sql"\nchunk_merge = "avg:x"\n'
    )
    with pytest.raises(ConfigError, match="chunk_merge 'avg:x'"):
        load_specs(bad)


def test_a_backfill_plan_has_one_statement_per_query_and_month() -> None:
    cfg = config(date(2026, 8, 20), date(2026, 10, 31))
    units = planned(cfg)
    split = [u for u in units if u.merge.kind != "whole"]
    assert len(split) == 3 * len({u.name for u in split})
    main = [u for u in units if u.name == "denied_policy_changes"]
    assert [u.record_chunk for u in main] == ["2026-08", "2026-09", "2026-10"]
    assert main[0].params[:2] == ("2026/08/20", "2026/09/01")  # folder bounds
    assert main[-1].params[:2] == ("2026/10/01", "2026/11/01")


# -- merging equals one query over the whole range (DuckDB over synthetic rows) -------------

FIRST, LAST = date(2026, 8, 1), date(2026, 10, 31)
ACCOUNTS = ("111122223333", "444455556666")
PRINCIPALS = ("ci-deployer", "intern", "etl")


def _records(seed: int = 11) -> list[dict[str, Any]]:
    """Three months (+ a week either side) of the events every query looks at, many
    close to midnight and to month ends, delivered up to 20 minutes late."""
    from auditor.synth import assumed_role, bedrock_policy_call, event

    rnd = random.Random(seed)
    rows: list[dict[str, Any]] = []
    day = FIRST - timedelta(days=3)
    while day <= LAST + timedelta(days=12):
        for _ in range(rnd.randint(1, 5)):
            if rnd.random() < 0.4:
                t = datetime(
                    day.year,
                    day.month,
                    day.day,
                    23,
                    40 + rnd.randint(0, 19),
                    rnd.randint(0, 59),
                    tzinfo=UTC,
                )
            else:
                t = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
                    seconds=rnd.randint(0, 86399)
                )
            acct = rnd.choice(ACCOUNTS)
            ident = assumed_role(acct, rnd.choice(PRINCIPALS), f"s{rnd.randint(1, 3)}")
            kind = rnd.random()
            eid = f"{t.isoformat()}-{rnd.random()}"
            if kind < 0.45:
                rec = bedrock_policy_call(
                    t,
                    identity=ident,
                    account=acct,
                    region="us-east-1",
                    event_id=eid,
                    action=rnd.choice(["PutResourcePolicy", "DeleteResourcePolicy"]),
                    error=rnd.choice(["AccessDenied", "AccessDeniedException"]),
                )
            elif kind < 0.6:
                rec = bedrock_policy_call(
                    t, identity=ident, account=acct, region="us-east-1", error=None, event_id=eid
                )
            else:
                src, name = rnd.choice(
                    [
                        ("ec2.amazonaws.com", "DescribeInstances"),
                        ("s3.amazonaws.com", "GetObject"),
                        ("iam.amazonaws.com", "ListRoles"),
                    ]
                )
                rec = event(
                    t,
                    identity=ident,
                    source=src,
                    name=name,
                    region="us-east-1",
                    account=acct,
                    error=rnd.choice(["AccessDenied", "Client.UnauthorizedOperation"]),
                    message="no",
                    event_id=eid,
                )
            delivered = t + timedelta(minutes=rnd.randint(1, 20))
            rows.append((rec, acct, delivered))
        day += timedelta(days=1)
    return rows


@pytest.fixture(scope="module")
def cloudtrail_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """DuckDB with the local engine's `cloudtrail` table over the synthetic events."""
    import duckdb

    from auditor.engines.local import LOCAL_TABLE
    from auditor.table import duckdb_columns, shape_record

    path = tmp_path_factory.mktemp("chunks") / "rows.ndjson"
    with open(path, "wb") as out:
        for rec, acct, delivered in _records():
            row = shape_record(rec)
            row.update(
                account=acct, region="us-east-1", timestamp=f"{delivered:%Y/%m/%d}", _file="f"
            )
            out.write(orjson.dumps(row) + b"\n")
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in duckdb_columns().items()) + "}"
    con.execute(
        f"CREATE TABLE {LOCAL_TABLE} AS SELECT * FROM read_json(?, "
        f"format = 'newline_delimited', columns = {spec})",
        [str(path)],
    )
    yield con
    con.close()


def _run(con: Any, sql: str, params: tuple[str, ...]) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    first=st.dates(FIRST, LAST),
    days=st.integers(0, 91),
    cuts=st.lists(st.dates(FIRST, LAST), max_size=5),
    lookahead=st.integers(0, 7),
)
def test_merged_chunks_equal_one_query_over_the_whole_range(
    cloudtrail_db: Any, first: date, days: int, cuts: list[date], lookahead: int
) -> None:
    last = min(LAST, first + timedelta(days=days))
    cfg = AuditConfig(
        range=DateRange(first, last), engine="local", lookahead_days=lookahead, now=NOW
    )
    whole_plan = build_plan(cfg, TARGET)
    whole = {q.name: _run(cloudtrail_db, q.sql, q.params) for q in whole_plan.queries}

    units = list(build_plan(cfg, TARGET, chunks_at(cfg.range, cuts)).queries)
    done = {u.key: (_run(cloudtrail_db, u.sql, u.params), None) for u in units}
    rows, _ = merge(units, done)  # type: ignore[arg-type]

    assert rows == whole
    assert sum(len(v) for v in whole.values()) > 0 or days < 2  # the fixture has events
    a = build_report(cfg, EngineResult(rows=rows), NOW)
    b = build_report(cfg, EngineResult(rows=whole), NOW)
    assert (a.findings, a.events, a.totals) == (b.findings, b.events, b.totals)


def test_monthly_chunks_merge_to_the_whole_range_answer(cloudtrail_db: Any) -> None:
    cfg = AuditConfig(range=DateRange(FIRST, LAST), engine="local", now=NOW)
    plan = build_plan(cfg, TARGET)
    whole = {q.name: _run(cloudtrail_db, q.sql, q.params) for q in plan.queries}
    units = list(build_plan(cfg, replace(TARGET, monthly=True)).queries)
    assert len({u.chunk.label for u in units}) == 3
    done = {u.key: (_run(cloudtrail_db, u.sql, u.params), None) for u in units}
    rows, _ = merge(units, done)  # type: ignore[arg-type]
    assert rows == whole and len(whole["denied_policy_changes"]) > 50


# -- state folder and --resume under moto ---------------------------------------------------


@pytest.fixture
def athena(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    from moto import mock_aws

    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.chdir(tmp_path)
    with mock_aws():
        glue_table()  # auditor ddl's timestamp table, read by the engine before any SQL
        yield make_client("athena")


def _by_month(fake: FakeAthena, failing: set[str] | None = None) -> None:
    """Answer each main query with one denial dated in its chunk; fail the named chunks."""

    def on_start(qid: str, kw: dict[str, Any]) -> None:
        first_folder = kw["ExecutionParameters"][0].strip("'")  # 'YYYY/MM/DD'
        month = first_folder[:7].replace("/", "-")
        if month in (failing or set()):
            fake.fail[qid] = ("FAILED", f"HIVE_CURSOR_ERROR in {month}", False)
        if query_name(kw) == "denied_policy_changes":
            answer(qid, [denied_row(f"e-{month}", f"{month}-15T12:00:00Z")])

    fake.on_start = on_start


def test_failed_chunk_is_named_and_resume_reruns_only_it(athena: Any, tmp_path: Path) -> None:
    cfg = config(date(2026, 8, 1), date(2026, 10, 31), concurrency=2, state_dir=tmp_path / "state")
    fake = FakeAthena(athena, scanned=64 * 1024**2)
    _by_month(fake, failing={"2026-09"})
    # September's rule query failed with the rest of its chunk: no report reads as clean.
    with pytest.raises(QueryFailed, match="HIVE_CURSOR_ERROR in 2026-09") as info:
        athena_audit(cfg, fake)
    assert info.value.exit_code == 3 and "--resume" in str(info.value)

    n_queries = len(query_specs())
    assert fake.count("start_query_execution") == 3 * n_queries
    saved = sorted(p.name for p in (tmp_path / "state").iterdir())
    assert len(saved) == 2 * n_queries and not any("2026-09" in n for n in saved)

    fake2 = FakeAthena(athena, scanned=64 * 1024**2)
    _by_month(fake2)
    resumed = athena_audit(replace(cfg, athena=replace(cfg.athena, resume=True)), fake2)
    assert fake2.count("start_query_execution") == n_queries  # only September's
    assert all(kw["ExecutionParameters"][0] == "'2026/09/01'" for kw in fake2.started)
    assert resumed.coverage.complete
    assert [e.event_id for e in resumed.events] == ["e-2026-08", "e-2026-09", "e-2026-10"]
    assert len(resumed.provenance.queries) == 3 * n_queries
    assert {q.chunk for q in resumed.provenance.queries} == {"2026-08", "2026-09", "2026-10"}

    # A third run with --resume has nothing left to do.
    fake3 = FakeAthena(athena)
    again = athena_audit(replace(cfg, athena=replace(cfg.athena, resume=True)), fake3)
    assert fake3.count("start_query_execution") == 0
    assert again.events == resumed.events


def test_without_resume_everything_reruns(athena: Any, tmp_path: Path) -> None:
    cfg = config(date(2026, 9, 1), date(2026, 10, 31), state_dir=tmp_path / "s")
    for _ in range(2):
        fake = FakeAthena(athena)
        _by_month(fake)
        athena_audit(cfg, fake)
        assert fake.count("start_query_execution") == 2 * len(query_specs())


def test_all_chunks_failing_is_exit_3(athena: Any, tmp_path: Path) -> None:
    fake = FakeAthena(athena)
    _by_month(fake, failing={"2026-09", "2026-10"})
    with pytest.raises(QueryFailed, match="HIVE_CURSOR_ERROR") as info:
        athena_audit(config(date(2026, 9, 1), date(2026, 10, 31)), fake)
    assert info.value.exit_code == 3
    assert f"{2 * len(query_specs())} of {2 * len(query_specs())} queries failed" in str(info.value)


def test_default_state_folder_and_changed_sql_is_not_reused(athena: Any, tmp_path: Path) -> None:
    cfg = config(date(2026, 10, 1), date(2026, 10, 31))
    fake = FakeAthena(athena)
    _by_month(fake)
    athena_audit(cfg, fake)
    folders = list((tmp_path / ".auditor-state").iterdir())
    assert len(folders) == 1 and len(list(folders[0].iterdir())) == len(query_specs())
    units = planned(cfg)
    store = StateStore(folders[0])
    assert store.load(units[0]) is not None
    other = planned(replace(cfg, accounts=("111122223333",)))
    assert StateStore(folders[0]).load(other[0]) is None  # different SQL: run again


def test_progress_bar_reports_chunks_bytes_and_cost(athena: Any, capsys: Any) -> None:
    fake = FakeAthena(athena, scanned=3 * 1024**3)
    _by_month(fake)
    athena_audit(config(date(2026, 9, 1), date(2026, 10, 31)), fake, progress=True)
    err = capsys.readouterr().err
    assert "2/2" in err and "GiB scanned" in err and "$" in err


def test_unwritable_state_folder_warns_and_the_audit_goes_on(
    athena: Any, tmp_path: Path, capsys: Any
) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("not a folder")
    fake = FakeAthena(athena)
    _by_month(fake)
    report = athena_audit(config(date(2026, 10, 1), date(2026, 10, 31), state_dir=blocker), fake)
    assert [e.event_id for e in report.events] == ["e-2026-10"] and report.coverage.complete
    err = capsys.readouterr().err
    assert "warning: --state-dir" in err and "--resume will redo" in err
