"""One read of the raw trail per audit (auditor/athena/onescan.py): under moto, which
statements read the raw table, provenance, cleanup on success, failure and Ctrl-C, and
the removal of what interrupted runs left; with DuckDB, that the candidate table gives
every query the same rows as the raw table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from athena_support import (
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

from auditor.athena import onescan
from auditor.athena.runner import AthenaRunner
from auditor.aws import make_client
from auditor.config import AuditConfig, DateRange
from auditor.engines.athena import AthenaEngine
from auditor.engines.local import LOCAL_TABLE, TARGET
from auditor.errors import QueryFailed
from auditor.plan import build_plan
from auditor.sqlgen import query_specs, quote_ident
from auditor.table import duckdb_columns, shape_record

RAW = '"cloudtrail"."cloudtrail_logs"'
RESULTS = "s3://athena-results/q/"
OCT = (date(2026, 10, 1), date(2026, 10, 31))


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
        glue_table()
        make_client("s3").create_bucket(Bucket="athena-results")
        yield make_client("athena")


def reads_raw(kw: dict[str, Any]) -> bool:
    return f"FROM {RAW}" in kw["QueryString"]


def ctas_like_athena(fake: FakeAthena, then: Any = None) -> None:
    """What moto does not: a CTAS creates its Glue table and writes Parquet objects
    under its external_location. `then(qid, kw)` runs after, for every statement."""
    glue, s3 = make_client("glue"), make_client("s3")

    def on_start(qid: str, kw: dict[str, Any]) -> None:
        sql = kw["QueryString"]
        if sql.lstrip().startswith("-- auditor: candidates") or "CREATE TABLE" in sql:
            name = sql.split("CREATE TABLE ", 1)[1].split()[0].split(".")[1].strip('"')
            where = sql.split("external_location = '", 1)[1].split("'", 1)[0]
            glue.create_table(
                DatabaseName="cloudtrail",
                TableInput={"Name": name, "StorageDescriptor": {"Location": where, "Columns": []}},
            )
            key = where[len("s3://athena-results/") :]
            s3.put_object(Bucket="athena-results", Key=f"{key}part-0.parquet", Body=b"PAR1")
        if then:
            then(qid, kw)

    fake.on_start = on_start


def tmp_tables() -> list[str]:
    got = make_client("glue").get_tables(DatabaseName="cloudtrail")["TableList"]
    return [t["Name"] for t in got if t["Name"].startswith(onescan.TMP_PREFIX)]


def tmp_objects() -> list[str]:
    got = make_client("s3").list_objects_v2(Bucket="athena-results", Prefix="q/auditor-tmp/")
    return [o["Key"] for o in got.get("Contents") or ()]


def answer_main(qid: str, kw: dict[str, Any]) -> None:
    if query_name(kw) == "denied_policy_changes":
        answer(qid, [denied_row("e1", "2026-10-02T10:00:00Z")])


# -- statements per audit ---------------------------------------------------------------


def test_one_statement_reads_the_raw_table_and_four_read_the_candidates(athena: Any) -> None:
    fake = FakeAthena(athena, scanned=50 * 1024**2)
    ctas_like_athena(fake, answer_main)
    report = athena_audit(config(*OCT, output_location=RESULTS), fake)
    raw = [kw for kw in fake.started if reads_raw(kw)]
    assert len(raw) == 1 and query_name(raw[0]) == "candidates"
    ctas = raw[0]["QueryString"]
    assert "CREATE TABLE" in ctas and "format = 'PARQUET'" in ctas
    assert f"external_location = '{RESULTS}auditor-tmp/" in ctas
    assert '"$path" AS auditor_source_file' in ctas
    # the partitions of the range, the delivery day and the look-ahead, in one read
    assert raw[0]["ExecutionParameters"][:2] == ["'2026/10/01'", "'2026/11/08'"]
    # the union of the queries' prefilters from queries.toml, as bound values
    assert "eventname IN (?, ?)" in ctas and "errorcode LIKE ?" in ctas
    assert "'%AccessDenied%'" in raw[0]["ExecutionParameters"]
    others = [kw for kw in fake.started if not reads_raw(kw)]
    # the check of unreadable eventTimes first, then the rule's queries
    assert query_name(others[0]) == onescan.UNREADABLE
    assert sorted(query_name(kw) for kw in others[1:]) == sorted(s.name for s in query_specs())
    assert all(f'FROM "cloudtrail"."{onescan.TMP_PREFIX}' in kw["QueryString"] for kw in others)
    main = next(kw for kw in others if query_name(kw) == "denied_policy_changes")
    assert "auditor_source_file AS source_file" in main["QueryString"]
    # over the candidate table an eventTime that is not a time leaves its row out
    assert "try(from_iso8601_timestamp(eventtime)) >=" in main["QueryString"]
    # provenance: the read of the trail, its check and the three queries, bytes of all five
    names = [q.name for q in report.provenance.queries]
    assert names[:2] == ["candidates", onescan.UNREADABLE]
    assert sorted(names[2:]) == sorted(s.name for s in query_specs())
    assert report.coverage.bytes_scanned == 5 * 50 * 1024**2
    assert report.totals.attempts == 1 and report.coverage.complete
    assert tmp_tables() == [] and tmp_objects() == []  # cleaned up


def test_backfill_makes_one_candidate_table_per_chunk_and_resume_keeps_working(
    athena: Any, tmp_path: Path
) -> None:
    cfg = config(
        date(2026, 8, 1),
        date(2026, 10, 31),
        output_location=RESULTS,
        state_dir=tmp_path / "state",
        concurrency=2,
    )
    fake = FakeAthena(athena)

    def fail_september(qid: str, kw: dict[str, Any]) -> None:
        if query_name(kw) == "other_denials" and kw["ExecutionParameters"][0] == "'2026/09/01'":
            fake.fail[qid] = ("FAILED", "HIVE_CURSOR_ERROR", False)

    ctas_like_athena(fake, fail_september)
    report = athena_audit(cfg, fake)
    raw = [kw for kw in fake.started if reads_raw(kw)]
    assert len(raw) == 3  # one CTAS per month
    assert [kw["ExecutionParameters"][:2] for kw in raw] == [
        ["'2026/08/01'", "'2026/09/01'"],
        ["'2026/09/01'", "'2026/10/01'"],
        ["'2026/10/01'", "'2026/11/08'"],
    ]  # only the last month looks ahead
    assert [f.chunk for f in report.coverage.failed_queries] == ["2026-09"]
    assert tmp_tables() == [] and tmp_objects() == []

    fake2 = FakeAthena(athena)
    ctas_like_athena(fake2)
    resumed = athena_audit(replace(cfg, athena=replace(cfg.athena, resume=True)), fake2)
    # September again: its one read of the trail and its check, then only the query that
    # failed; the other months' checks come from saved state, like their queries
    assert [query_name(kw) for kw in fake2.started] == [
        "candidates",
        onescan.UNREADABLE,
        "other_denials",
    ]
    saved = [q for q in resumed.provenance.queries if q.name == onescan.UNREADABLE]
    assert sorted((q.chunk, q.from_saved_state) for q in saved) == [
        ("2026-08", True),
        ("2026-09", False),
        ("2026-10", True),
    ]
    assert fake2.started[0]["ExecutionParameters"][:2] == ["'2026/09/01'", "'2026/10/01'"]
    assert resumed.coverage.complete
    assert tmp_tables() == [] and tmp_objects() == []


# -- cleanup ----------------------------------------------------------------------------


def test_failure_removes_the_temp_table_and_its_objects(athena: Any) -> None:
    fake = FakeAthena(athena)

    def fail_main(qid: str, kw: dict[str, Any]) -> None:
        if query_name(kw) == "denied_policy_changes":
            fake.fail[qid] = ("FAILED", "HIVE_BAD_DATA", False)

    ctas_like_athena(fake, fail_main)
    with pytest.raises(QueryFailed, match="HIVE_BAD_DATA"):
        athena_audit(config(*OCT, output_location=RESULTS), fake)
    assert sum(map(reads_raw, fake.started)) == 1
    assert tmp_tables() == [] and tmp_objects() == []


def test_ctrl_c_removes_the_temp_table_and_its_objects(athena: Any) -> None:
    fake = FakeAthena(athena)
    made: list[str] = []

    def interrupt(qid: str, kw: dict[str, Any]) -> None:
        if query_name(kw) == "candidates":
            made.extend(tmp_tables())
        elif query_name(kw) == "denied_policy_changes":
            raise KeyboardInterrupt

    ctas_like_athena(fake, interrupt)
    with pytest.raises(KeyboardInterrupt):  # raised in a worker, re-raised by the engine
        athena_audit(config(*OCT, output_location=RESULTS, concurrency=1), fake)
    assert made and tmp_tables() == [] and tmp_objects() == []


def test_a_failed_ctas_falls_back_to_the_raw_table_and_says_so(athena: Any) -> None:
    fake = FakeAthena(athena)

    def fail_ctas(qid: str, kw: dict[str, Any]) -> None:
        if query_name(kw) == "candidates":
            fake.fail[qid] = ("FAILED", "Insufficient permissions to execute the query", False)

    fake.on_start = fail_ctas
    report = athena_audit(config(*OCT, output_location=RESULTS), fake)
    assert sum(map(reads_raw, fake.started)) == 1 + len(query_specs())
    assert any("candidate table failed" in n and "raw table" in n for n in report.coverage.notes)
    assert report.provenance.queries[0].name == "candidates"
    assert report.provenance.queries[0].state == "FAILED"


def test_without_a_results_location_each_query_reads_the_raw_table(athena: Any) -> None:
    fake = FakeAthena(athena)
    report = athena_audit(config(*OCT), fake)
    assert sum(map(reads_raw, fake.started)) == len(query_specs())
    assert any(
        n.startswith("one scan not used: no query results location") for n in report.coverage.notes
    )


def test_leftovers_of_interrupted_runs_are_removed_by_prefix_and_age(athena: Any) -> None:
    glue, s3 = make_client("glue"), make_client("s3")
    now = datetime.now(UTC)
    old_run = f"{now - timedelta(hours=30):%Y%m%d%H%M%S}_0badc0de"
    new_run = f"{now - timedelta(hours=1):%Y%m%d%H%M%S}_0000cafe"
    for run in (old_run, new_run):
        s3.put_object(Bucket="athena-results", Key=f"q/auditor-tmp/{run}/0/x.parquet", Body=b"1")
    s3.put_object(Bucket="athena-results", Key="q/keep/result.csv", Body=b"1")
    glue.create_table(
        DatabaseName="cloudtrail",
        TableInput={
            "Name": f"{onescan.TMP_PREFIX}{old_run}_0",
            "StorageDescriptor": {"Location": f"{RESULTS}auditor-tmp/{old_run}/0/"},
        },
    )
    glue.create_table(
        DatabaseName="cloudtrail",
        TableInput={
            "Name": "auditor_tmp_outside",
            "StorageDescriptor": {"Location": "s3://trail/AWSLogs/"},
        },
    )
    cfg = config(*OCT, output_location=RESULTS)
    units = planned(cfg)
    # A clock 25 hours on: the tables Glue stamped just now, and both runs, are old.
    scan = onescan.OneScan(
        cfg.athena,
        units,
        None,
        glue=lambda: glue,
        s3=lambda: s3,
        clock=lambda: now + timedelta(hours=25),
    )
    scan.base = RESULTS
    notes = scan.clean_leftovers(hours=24)
    assert tmp_tables() == []  # both older than 24 h by that clock
    left = [o["Key"] for o in s3.list_objects_v2(Bucket="athena-results")["Contents"]]
    assert left == ["q/keep/result.csv"]  # never anything outside auditor-tmp/
    # a table by that name outside the results location: its Glue entry only
    assert any("removed 2 temp table" in n for n in notes)


def test_a_recent_run_is_not_cleaned(athena: Any) -> None:
    glue, s3 = make_client("glue"), make_client("s3")
    now = datetime.now(UTC)
    run = f"{now:%Y%m%d%H%M%S}_00000001"
    s3.put_object(Bucket="athena-results", Key=f"q/auditor-tmp/{run}/0/x.parquet", Body=b"1")
    glue.create_table(
        DatabaseName="cloudtrail",
        TableInput={
            "Name": f"{onescan.TMP_PREFIX}{run}_0",
            "StorageDescriptor": {"Location": f"{RESULTS}auditor-tmp/{run}/0/"},
        },
    )
    cfg = config(*OCT, output_location=RESULTS)
    scan = onescan.OneScan(cfg.athena, planned(cfg), None, glue=lambda: glue, s3=lambda: s3)
    scan.base = RESULTS
    assert scan.clean_leftovers() == []
    assert tmp_tables() == [f"{onescan.TMP_PREFIX}{run}_0"] and len(tmp_objects()) == 1


def test_without_the_table_shape_one_scan_is_off(athena: Any) -> None:
    cfg = config(*OCT, output_location=RESULTS)
    scan = onescan.OneScan(cfg.athena, planned(cfg), None, glue=make_client, s3=make_client)
    scan.resolve(AthenaRunner(FakeAthena(athena), cfg.athena))
    assert not scan.active and scan.disabled == "the table's shape is unknown"


# -- the union of prefilters is a necessary condition of every query (DuckDB) -------------

T0 = datetime(2026, 10, 10, tzinfo=UTC)
RANGE = DateRange(date(2026, 10, 10), date(2026, 10, 11))
NAMES = ["PutResourcePolicy", "DeleteResourcePolicy", "GetResourcePolicy", "RunInstances"]
ERRORS = [
    None,
    "AccessDenied",
    "AccessDeniedException",
    "accessdenied",
    "ValidationException",
    "Client.UnauthorizedOperation",
    "AuthorizationError",
    "VpceAccessDenied",
    "",
]
SOURCES = ["bedrock.amazonaws.com", "bedrock-agentcore.amazonaws.com", "ec2.amazonaws.com"]


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    from auditor.synth import assumed_role, bedrock_policy_call, iam_user

    when = T0 + timedelta(minutes=draw(st.integers(-24 * 60, 12 * 24 * 60)))
    ident = draw(
        st.sampled_from([iam_user("111122223333", "bob"), assumed_role("444455556666", "ci", "r1")])
    )
    rec = bedrock_policy_call(
        when,
        identity=ident,
        account="111122223333",
        region="us-east-1",
        action="PutResourcePolicy",
        error=draw(st.sampled_from(ERRORS)),
        event_id="x",
    )
    rec["eventSource"] = draw(st.sampled_from(SOURCES))
    rec["eventName"] = draw(st.sampled_from(NAMES))
    rec["eventID"] = f"ev-{draw(st.integers(0, 10**9))}"
    return rec


def _load(con: Any, rows: list[dict[str, Any]], path: Path) -> None:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows) or b"")
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in duckdb_columns().items()) + "}"
    con.execute(
        f"CREATE TABLE {LOCAL_TABLE} AS SELECT * FROM read_json(?, "
        f"format = 'newline_delimited', columns = {spec})",
        [str(path)],
    )


@contextmanager
def _duckdb_over(rows: list[dict[str, Any]], tmp_path: Path) -> Iterator[tuple[Any, list[Any]]]:
    """DuckDB with `rows` as the local table, and the monthly plan's units over RANGE."""
    cfg = AuditConfig(range=RANGE, lookahead_days=7, now=T0 + timedelta(days=60))
    units = list(build_plan(cfg, replace(TARGET, monthly=True)).queries)
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        _load(con, rows, tmp_path / "rows.ndjson")
        yield con, units
    finally:
        con.close()


def _candidate_table(con: Any, units: list[Any], name: str) -> None:
    """The one-scan CTAS, DuckDB's dialect, over the loaded table: table `name`."""
    cols = [c[0] for c in con.execute(f"DESCRIBE {LOCAL_TABLE}").fetchall() if c[0] != "_file"]
    cand = onescan.render_candidates(
        units,
        "duckdb",
        name,
        None,
        [quote_ident(c) for c in cols],
        onescan.candidate_conditions(u.spec for u in units),
    )
    con.execute(cand.sql, list(cand.params))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(records(), min_size=1, max_size=40))
def test_queries_over_the_candidate_table_equal_queries_over_the_raw_table(
    tmp_path: Path, recs: list[dict[str, Any]]
) -> None:
    rows = []
    for i, rec in enumerate(recs):
        delivered = datetime.fromisoformat(rec["eventTime"].replace("Z", "+00:00"))
        rows.append(
            shape_record(rec)
            | {
                "account": "111122223333",
                "region": "us-east-1",
                "timestamp": f"{delivered + timedelta(minutes=10):%Y/%m/%d}",
                "_file": f"f{i}",
            }
        )
    with _duckdb_over(rows, tmp_path) as (con, units):
        _candidate_table(con, units, "cand")
        for u in units:
            want = con.execute(u.sql, list(u.params)).fetchall()
            over = onescan.render_over(u, "duckdb", "cand")
            got = con.execute(over.sql, list(over.params)).fetchall()
            assert sorted(map(repr, got)) == sorted(map(repr, want)), u.name


def test_the_union_comes_from_queries_toml() -> None:
    conds = onescan.candidate_conditions(query_specs())
    assert conds is not None
    assert [[(c.column, c.kind, c.values) for c in q] for q in conds] == [
        [
            ("eventname", "in", ("PutResourcePolicy", "DeleteResourcePolicy")),
            ("eventsource", "in", ("bedrock.amazonaws.com",)),
        ],
        [
            ("eventname", "in", ("PutResourcePolicy", "DeleteResourcePolicy")),
            ("eventsource", "in", ("bedrock.amazonaws.com",)),
        ],
        [("errorcode", "contains", ("AccessDenied", "Unauthorized", "AuthorizationError"))],
    ]


def test_a_query_without_prefilter_makes_every_row_a_candidate(tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text("SELECT 1")
    (tmp_path / "queries.toml").write_text('[[query]]\nname = "q"\ntemplate = "q.sql"\n')
    from auditor.sqlgen import load_specs

    assert onescan.candidate_conditions(load_specs(tmp_path)) is None


def test_the_raw_bytes_of_an_audit_are_its_partitions_read_once(
    athena: Any, tmp_path: Path
) -> None:
    """moto reports no statistics, so the bytes come from the trail's object sizes, as
    Athena bills them for gzip'd JSON (every byte of each partition read): the one read
    per chunk is exactly the range's folders + the delivery day + the look-ahead days,
    where three direct queries would read them about three times."""
    from auditor.synth import write_log

    trail = tmp_path / "trail"
    sizes = {}
    for day in range(1, 31):
        when = date(2026, 10, 1) + timedelta(days=day - 1)
        path = f"AWSLogs/111122223333/CloudTrail/us-east-1/{when:%Y/%m/%d}/a.json.gz"
        write_log(trail, path, [{"eventTime": "x", "pad": "y" * (1000 * day)}])
        sizes[when] = (trail / path).stat().st_size
    cfg = config(date(2026, 10, 1), date(2026, 10, 15), trail=str(trail), output_location=RESULTS)
    engine = AthenaEngine(cfg.athena, athena_client=FakeAthena(athena), progress=False)
    prep = engine.prepare(build_plan(cfg, engine.target))
    in_range = sum(s for d, s in sizes.items() if d <= date(2026, 10, 16))  # + delivery day
    ahead = sum(s for d, s in sizes.items() if date(2026, 10, 16) < d <= date(2026, 10, 23))
    one = onescan.raw_bytes(prep.estimate, prep.units)
    assert one == in_range + ahead  # <= 1.05 x: each partition once, nothing else
    direct = onescan.budget_bytes(prep.estimate, prep.units, one_scan=False)
    assert direct is not None and direct >= 3 * in_range


# -- an eventTime that is not a time ------------------------------------------------------

BAD_TIMES = ["not a time", "2026-10-10T25:00:00Z", "", None]


def test_a_record_whose_event_time_is_not_a_time_is_named_not_fatal(tmp_path: Path) -> None:
    """Read straight from the raw table, one such candidate record fails the query (the
    instant cast): a bucket writer could stop every audit. Over the candidate table the
    queries leave it out and the check names its log file. Run with DuckDB, whose cast
    fails on such text as Athena's from_iso8601_timestamp does."""
    from auditor.synth import iam_user

    good = shape_record(
        bedrock_policy_call_at("2026-10-10T12:00:00Z", iam_user("111122223333", "bob"), "ev-good")
    )
    rows = [good | _partition("2026/10/10", "s3://trail/good.json.gz")]
    for i, t in enumerate(BAD_TIMES):
        rec = shape_record(
            bedrock_policy_call_at("2026-10-10T12:00:00Z", iam_user("111122223333", "eve"), f"b{i}")
        )
        rec["eventtime"] = t
        rows.append(rec | _partition("2026/10/10", "s3://trail/bad.json.gz"))
    # a record no query wants is not a candidate: not named, even with a bad time
    other = shape_record(
        bedrock_policy_call_at("2026-10-10T12:00:00Z", iam_user("111122223333", "eve"), "x")
    )
    other.update(eventname="ListAgents", errorcode=None, eventtime="garbage")
    rows.append(other | _partition("2026/10/10", "s3://trail/other.json.gz"))

    with _duckdb_over(rows, tmp_path) as (con, units):
        main = next(u for u in units if u.name == "denied_policy_changes")
        with pytest.raises(duckdb.ConversionException):
            con.execute(main.sql, list(main.params)).fetchall()  # the raw table: fails
        _candidate_table(con, units, "cand")
        over = onescan.render_over(main, "duckdb", "cand")
        got = con.execute(over.sql, list(over.params)).fetchall()
        assert [r[0] for r in got] == ["ev-good"]
        check = onescan.check_unit([u for u in units if u.chunk == main.chunk], "cand", "duckdb")
        found = con.execute(check.sql, list(check.params)).fetchall()
        assert found == [("s3://trail/bad.json.gz", len(BAD_TIMES))]


def bedrock_policy_call_at(when: str, ident: dict[str, Any], event_id: str) -> dict[str, Any]:
    from auditor.synth import bedrock_policy_call

    return bedrock_policy_call(
        datetime.fromisoformat(when.replace("Z", "+00:00")),
        identity=ident,
        account="111122223333",
        region="us-east-1",
        action="PutResourcePolicy",
        error="AccessDeniedException",
        event_id=event_id,
    )


def _partition(folder: str, path: str) -> dict[str, Any]:
    return {"account": "111122223333", "region": "us-east-1", "timestamp": folder, "_file": path}


CHECK_COLUMNS = ("source_file", "records")


def _answer_check(files: list[tuple[str, int]]) -> Any:
    def then(qid: str, kw: dict[str, Any]) -> None:
        if query_name(kw) == onescan.UNREADABLE:
            answer(qid, [{"source_file": f, "records": n} for f, n in files], CHECK_COLUMNS)
        answer_main(qid, kw)

    return then


def test_files_the_check_names_make_coverage_incomplete(athena: Any) -> None:
    fake = FakeAthena(athena)
    bad = "s3://trail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/09/x.json.gz"
    ctas_like_athena(fake, _answer_check([(bad, 3)]))
    report = athena_audit(config(*OCT, output_location=RESULTS), fake)
    assert report.totals.attempts == 1  # the queries still ran
    assert [(u.path, u.reason.split(" candidate")[0]) for u in report.coverage.unreadable] == [
        (bad, "3")
    ]
    assert "eventTime" in report.coverage.unreadable[0].reason
    assert report.coverage.files_unreadable == 1 and not report.coverage.complete


def test_a_check_that_names_its_limit_says_more_may_exist(athena: Any) -> None:
    fake = FakeAthena(athena)
    many = [(f"s3://trail/f{i:04d}.json.gz", 1) for i in range(onescan.UNREADABLE_LIMIT)]
    ctas_like_athena(fake, _answer_check(many))
    report = athena_audit(config(*OCT, output_location=RESULTS), fake)
    assert len(report.coverage.unreadable) == onescan.UNREADABLE_LIMIT
    assert [s.kind for s in report.coverage.shortfalls] == ["other"]
    assert f"more than {onescan.UNREADABLE_LIMIT}" in report.coverage.shortfalls[0].detail


def test_a_failed_check_is_a_failed_query_not_a_clean_result(athena: Any) -> None:
    fake = FakeAthena(athena)

    def fail_check(qid: str, kw: dict[str, Any]) -> None:
        if query_name(kw) == onescan.UNREADABLE:
            fake.fail[qid] = ("FAILED", "HIVE_CURSOR_ERROR", False)
        answer_main(qid, kw)

    ctas_like_athena(fake, fail_check)
    report = athena_audit(config(*OCT, output_location=RESULTS), fake)
    assert report.totals.attempts == 1
    assert [(f.query, f.reason) for f in report.coverage.failed_queries] == [
        (onescan.UNREADABLE, "HIVE_CURSOR_ERROR")
    ]
    assert not report.coverage.complete


def test_a_resumed_audit_names_what_the_saved_checks_named(athena: Any, tmp_path: Path) -> None:
    """Nothing left to run: every query and check comes from --resume state, and the
    files the first run's check named are named again."""
    cfg = config(*OCT, output_location=RESULTS, state_dir=tmp_path / "state")
    bad = "s3://trail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/09/x.json.gz"
    fake = FakeAthena(athena)
    ctas_like_athena(fake, _answer_check([(bad, 2)]))
    first = athena_audit(cfg, fake)
    assert [u.path for u in first.coverage.unreadable] == [bad]

    again = FakeAthena(athena)
    ctas_like_athena(again)
    resumed = athena_audit(replace(cfg, athena=replace(cfg.athena, resume=True)), again)
    assert again.started == []  # nothing ran
    assert [u.path for u in resumed.coverage.unreadable] == [bad]
    assert not resumed.coverage.complete
    check = [q for q in resumed.provenance.queries if q.name == onescan.UNREADABLE]
    assert [q.from_saved_state for q in check] == [True]


def test_a_resume_after_a_failed_check_is_not_complete(athena: Any, tmp_path: Path) -> None:
    """The queries of a chunk succeeded and were saved, its check failed: resumed with
    nothing left to run, the audit has no check of that chunk, and says so."""
    cfg = config(*OCT, output_location=RESULTS, state_dir=tmp_path / "state")
    fake = FakeAthena(athena)

    def fail_check(qid: str, kw: dict[str, Any]) -> None:
        if query_name(kw) == onescan.UNREADABLE:
            fake.fail[qid] = ("FAILED", "HIVE_CURSOR_ERROR", False)
        answer_main(qid, kw)

    ctas_like_athena(fake, fail_check)
    assert not athena_audit(cfg, fake).coverage.complete

    again = FakeAthena(athena)
    ctas_like_athena(again)
    resumed = athena_audit(replace(cfg, athena=replace(cfg.athena, resume=True)), again)
    assert again.started == []  # every query came from saved state
    assert resumed.totals.attempts == 1
    assert [s.kind for s in resumed.coverage.shortfalls] == ["saved-state"]
    assert "eventTime" in resumed.coverage.shortfalls[0].detail
    assert not resumed.coverage.complete
