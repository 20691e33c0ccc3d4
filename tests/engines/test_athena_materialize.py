"""The materialized table (auditor/athena/materialize.py): under moto, what `materialize`
runs on a first and a second run (create, insert, skip, refresh the delivery lag, 100
partitions per INSERT), and how an audit routes its statements between the materialized
and the raw table; with object sizes, that an audit over materialized days reads <= 2%
of the raw bytes of those days."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from athena_support import (
    FakeAthena,
    answer,
    athena_audit,
    config,
    denied_row,
    glue_table,
    query_name,
)

from auditor.athena import materialize as mat
from auditor.athena.runner import AthenaRunner
from auditor.athena.tableshape import resolve
from auditor.aws import make_client
from auditor.sqlgen import query_specs

RAW = '"cloudtrail"."cloudtrail_logs"'
MAT = '"cloudtrail"."auditor_events"'
RESULTS = "s3://athena-results/q/"
WHERE = f"s3://athena-results/{mat.FOLDER}auditor_events/"


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


def _day(param: str) -> date:
    return datetime.strptime(param.strip("'"), "%Y/%m/%d").date()


def like_athena(fake: FakeAthena, then: Any = None) -> None:
    """What moto does not: an INSERT writes one Parquet object per day of its partition bounds and registers the
    partitions, as Athena does."""
    glue, s3 = make_client("glue"), make_client("s3")

    def on_start(qid: str, kw: dict[str, Any]) -> None:
        name = query_name(kw)
        if name == mat.INSERT:
            first, last = (_day(p) for p in kw["ExecutionParameters"][:2])
            d = first
            while d <= last:
                s3.put_object(
                    Bucket="athena-results",
                    Body=b"PAR1",
                    Key=f"{mat.FOLDER}auditor_events/{mat.PARTITION}={d}/{qid}",
                )
                try:
                    glue.create_partition(
                        DatabaseName="cloudtrail",
                        TableName="auditor_events",
                        PartitionInput={"Values": [d.isoformat()]},
                    )
                except glue.exceptions.AlreadyExistsException:
                    pass
                d += timedelta(days=1)
        if then:
            then(qid, kw)

    fake.on_start = on_start


def run(fake: FakeAthena, first: date, last: date, now: datetime) -> mat.MaterializeResult:
    cfg = config(first, last, output_location=RESULTS, materialized_table="auditor_events")
    return mat.run_materialize(cfg, athena=fake, now=now)


def objects(day: date) -> list[str]:
    got = make_client("s3").list_objects_v2(
        Bucket="athena-results", Prefix=f"{mat.FOLDER}auditor_events/{mat.PARTITION}={day}/"
    )
    return [o["Key"] for o in got.get("Contents") or ()]


# -- materialize --------------------------------------------------------------------------


def test_first_run_creates_the_table_and_fills_it_100_partitions_at_a_time(athena: Any) -> None:
    fake = FakeAthena(athena)
    like_athena(fake)
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    res = run(fake, date(2026, 8, 1), date(2026, 11, 30), now)
    names = [query_name(kw) for kw in fake.started]
    assert names == [mat.INSERT, mat.INSERT]  # 122 days: 100 + 22
    # created in Glue (not by a CTAS: an enforcing workgroup would put it below its
    # expiring results): Parquet, partitioned by delivery day, beside the results
    t = make_client("glue").get_table(DatabaseName="cloudtrail", Name="auditor_events")["Table"]
    assert [k["Name"] for k in t["PartitionKeys"]] == ["delivery_day"]
    assert t["StorageDescriptor"]["Location"] == WHERE
    assert "Parquet" in t["StorageDescriptor"]["InputFormat"]
    cols = [c["Name"] for c in t["StorageDescriptor"]["Columns"]]
    assert cols[-1] == "auditor_source_file" and "timestamp" in cols and "eventname" in cols
    types = {c["Name"]: c["Type"] for c in t["StorageDescriptor"]["Columns"]}
    assert types["useridentity"].startswith("struct<")
    bounds = [[_day(p) for p in kw["ExecutionParameters"][:2]] for kw in fake.started]
    assert bounds == [
        [date(2026, 8, 1), date(2026, 11, 8)],
        [date(2026, 11, 9), date(2026, 11, 30)],
    ]
    insert = fake.started[0]["QueryString"]
    assert insert.startswith("-- auditor: materialize_insert") and f"INSERT INTO {MAT}" in insert
    # the candidate rows: the union of the shipped queries' prefilters, with the log
    # file and the delivery day last (the partition column)
    assert "eventname IN (?, ?)" in insert and "errorcode LIKE ?" in insert
    # the SELECT's columns in the table's order (INSERT INTO maps by position)
    select = insert.split("SELECT", 1)[1].split("FROM", 1)[0]
    lines = [ln.strip().rstrip(",") for ln in select.strip().splitlines()]
    assert [ln.split(" AS ")[-1].strip('"') for ln in lines] == cols + ["delivery_day"]
    assert '"$path" AS auditor_source_file' in insert
    assert insert.rstrip().split("FROM")[0].rstrip().endswith("AS delivery_day")
    assert res.created and len(res.inserted) == 122 and not res.skipped
    assert objects(date(2026, 8, 1)) and objects(date(2026, 11, 30))


def test_second_run_skips_present_days_and_refreshes_only_the_delivery_lag(athena: Any) -> None:
    fake = FakeAthena(athena)
    like_athena(fake)
    run(fake, date(2026, 11, 1), date(2026, 11, 29), datetime(2026, 11, 30, 0, 30, tzinfo=UTC))
    stale = objects(date(2026, 11, 29))
    assert stale
    fake2 = FakeAthena(athena)
    like_athena(fake2)
    # 00:30 on Dec 1: Nov 30 ended 30 min ago and Nov 29 24.5 h ago: both within the
    # 1 h + 1 day lag; Nov 28 ended 48.5 h ago and is kept.
    res = run(fake2, date(2026, 11, 1), date(2026, 12, 5), datetime(2026, 12, 1, 0, 30, tzinfo=UTC))
    assert [query_name(kw) for kw in fake2.started] == [mat.INSERT]
    assert [_day(p) for p in fake2.started[0]["ExecutionParameters"][:2]] == [
        date(2026, 11, 29),
        date(2026, 12, 1),
    ]
    assert res.refreshed == [date(2026, 11, 29)]
    assert res.inserted == [date(2026, 11, 30), date(2026, 12, 1)]  # not after today
    assert len(res.skipped) == 28 and not res.created
    # the refreshed day's old objects are gone: only the new INSERT's remain
    assert not set(stale) & set(objects(date(2026, 11, 29)))


def test_batches_are_consecutive_runs_of_at_most_100_days() -> None:
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(250) if i != 120]
    got = mat.batches(days)
    assert all((b - a).days < 100 for a, b in got)
    assert [(b - a).days + 1 for a, b in got] == [100, 20, 100, 29]


# -- the audit ----------------------------------------------------------------------------


def test_audit_reads_materialized_days_from_it_and_the_rest_from_the_raw_table(athena: Any) -> None:
    fake = FakeAthena(athena)
    like_athena(fake)
    run(fake, date(2026, 9, 1), date(2026, 11, 8), datetime(2026, 12, 1, tzinfo=UTC))

    audit = FakeAthena(athena, scanned=1024**2)
    like_athena(
        audit,
        lambda qid, kw: (
            answer(qid, [denied_row("e1", "2026-10-02T10:00:00Z")])
            if query_name(kw) == "denied_policy_changes"
            else None
        ),
    )
    cfg = config(
        date(2026, 10, 1),
        date(2026, 10, 31),
        output_location=RESULTS,
        materialized_table="auditor_events",
    )
    report = athena_audit(cfg, audit)
    # every folder the queries read (Oct 1 .. Nov 1, look-ahead to Nov 8) is materialized:
    # no statement touches the raw table
    assert not [kw for kw in audit.started if RAW in kw["QueryString"]]
    assert sorted(query_name(kw) for kw in audit.started) == sorted(s.name for s in query_specs())
    main = next(kw for kw in audit.started if query_name(kw) == "denied_policy_changes")
    assert (
        f"FROM (SELECT * FROM {MAT} WHERE delivery_day BETWEEN '2026-10-01' AND '2026-11-01')"
    ) in main["QueryString"]
    assert "auditor_source_file AS source_file" in main["QueryString"]
    # no check names the materialized table's unreadable eventTimes: such a row fails
    # the query (exit 3) rather than vanish from it
    assert "try(from_iso8601_timestamp" not in main["QueryString"]
    assert "from_iso8601_timestamp(eventtime) >=" in main["QueryString"]
    assert (
        [f.event_id for f in report.findings[0].events] == ["e1"]
        if hasattr(report.findings[0], "events")
        else report.findings
    )
    notes = "\n".join(report.coverage.notes)
    assert (
        "2026-10/denied_policy_changes: delivery days 2026-10-01..2026-11-01 read from "
        "the materialized table cloudtrail.auditor_events" in notes
    )

    # December: not materialized: the raw table (one read of it, through onescan)
    later = FakeAthena(athena)
    like_athena(later)
    from athena_support import NOW

    dec = replace(
        cfg, range=replace(cfg.range, first=date(2026, 11, 20), last=date(2026, 11, 25)), now=NOW
    )
    report2 = athena_audit(dec, later)
    raw = [kw for kw in later.started if f"FROM {RAW}" in kw["QueryString"]]
    assert [query_name(kw) for kw in raw] == ["candidates"]
    assert "read from the raw table (" in "\n".join(report2.coverage.notes)


def test_a_partly_materialized_chunk_reads_the_raw_table_only_for_its_uncovered_queries(
    athena: Any,
) -> None:
    fake = FakeAthena(athena)
    like_athena(fake)
    run(fake, date(2026, 10, 1), date(2026, 11, 1), datetime(2026, 12, 1, tzinfo=UTC))
    audit = FakeAthena(athena)
    like_athena(audit)
    cfg = config(
        date(2026, 10, 1),
        date(2026, 10, 31),
        output_location=RESULTS,
        materialized_table="auditor_events",
    )
    report = athena_audit(cfg, audit)
    raw = [kw for kw in audit.started if f"FROM {RAW}" in kw["QueryString"]]
    # the look-ahead query needs Nov 2..8, which are not materialized: its chunk's one
    # read of the raw table; the other two read the materialized table
    assert [query_name(kw) for kw in raw] == ["candidates"]
    over_mat = sorted(query_name(kw) for kw in audit.started if MAT in kw["QueryString"])
    assert over_mat == ["denied_policy_changes", "other_denials"]
    notes = "\n".join(report.coverage.notes)
    assert (
        "2026-10/later_success: delivery days 2026-10-01..2026-11-08 read from the raw "
        "table (7 of them not in cloudtrail.auditor_events)" in notes
    )


# -- bytes ----------------------------------------------------------------------------------


def test_an_audit_over_materialized_days_reads_at_most_2_percent_of_their_raw_bytes(
    tmp_path: Path,
) -> None:
    """Athena bills gzip JSON by whole objects and Parquet by the column chunks read.
    One synthetic day with a realistic mix (about 1% denials, a few policy calls): the
    raw bytes are the gzip object's size; the materialized rows are the prefilters'
    candidates written as Parquet, and each query reads the column chunks of the columns
    its SQL names. (Athena's 10 MB minimum per query is on top: it matters for a day,
    not for a month of an organisation's trail.)"""
    from auditor.synth import bedrock_policy_call, event, iam_user, write_log
    from auditor.table import duckdb_columns, shape_record

    rnd = random.Random(7)
    t0 = datetime(2026, 10, 1, tzinfo=UTC)
    who = iam_user("111122223333", "bob")
    noise = [
        ("ec2.amazonaws.com", "DescribeInstances"),
        ("s3.amazonaws.com", "GetObject"),
        ("kms.amazonaws.com", "Decrypt"),
        ("sts.amazonaws.com", "AssumeRole"),
        ("bedrock.amazonaws.com", "InvokeModel"),
    ]
    recs = []
    for i in range(20000):
        when = t0 + timedelta(seconds=rnd.randrange(86400))
        if i % 2000 == 0:
            recs.append(
                bedrock_policy_call(
                    when,
                    identity=who,
                    account="111122223333",
                    region="us-east-1",
                    action="PutResourcePolicy",
                    error="AccessDeniedException",
                    event_id=f"p{i}",
                )
            )
            continue
        src, name = rnd.choice(noise)
        err = "AccessDenied" if rnd.random() < 0.01 else None
        recs.append(
            event(
                when,
                identity=who,
                source=src,
                name=name,
                region="us-east-1",
                account="111122223333",
                error=err,
                message="denied" if err else None,
                request={"bucketName": f"b{rnd.randrange(10**6)}", "key": "k" * 40},
                event_id=f"e{i}",
            )
        )
    raw = (
        write_log(tmp_path, "AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/a.json.gz", recs)
        .stat()
        .st_size
    )

    def candidate(r: dict[str, Any]) -> bool:
        return r["eventName"] in ("PutResourcePolicy", "DeleteResourcePolicy") or any(
            s in (r.get("errorCode") or "")
            for s in ("AccessDenied", "Unauthorized", "AuthorizationError")
        )

    import orjson

    kept = [
        shape_record(r) | {"auditor_source_file": "s3://b/a.json.gz"} for r in recs if candidate(r)
    ]
    nd = tmp_path / "kept.ndjson"
    nd.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in kept))
    cols = duckdb_columns() | {"auditor_source_file": "VARCHAR"}
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in cols.items()) + "}"
    pq = tmp_path / "day.parquet"
    con = duckdb.connect(":memory:")
    con.execute(
        f"COPY (SELECT * FROM read_json(?, format = 'newline_delimited', "
        f"columns = {spec})) TO '{pq}' (FORMAT PARQUET, COMPRESSION SNAPPY)",
        [str(nd)],
    )
    sizes: dict[str, int] = {}
    for path, size in con.execute(
        "SELECT path_in_schema, total_compressed_size FROM parquet_metadata(?)", [str(pq)]
    ).fetchall():
        top = str(path).split(",")[0].strip().lower()
        sizes[top] = sizes.get(top, 0) + int(size)
    con.close()
    # each query reads the column chunks of the columns its SQL names (an upper bound:
    # a name in a comment or a string counts too)
    from auditor.engines.athena import sql_target
    from auditor.plan import build_plan

    cfg = config(date(2026, 10, 1), date(2026, 10, 1))
    plan = build_plan(cfg, sql_target(cfg.athena, None))
    read = 0
    for q in plan.queries:
        text = q.sql.lower()
        read += sum(
            n
            for c, n in sizes.items()
            if re.search(rf"\b{re.escape(c)}\b", text) or c == "auditor_source_file"
        )
    assert 0 < len(kept) < len(recs) // 50
    assert read <= 0.02 * raw, (read, raw)
    # measured: 1.97% (read) against 1.76% for the whole Parquet file once; reading
    # every column three times would be 5.3%: the columns the queries skip matter
    assert read < 3 * sum(sizes.values())


def test_materialize_needs_a_day_partition(athena: Any) -> None:
    glue_table("timestamp")
    shape = resolve(config(date(2026, 10, 1), date(2026, 10, 1)).athena, make_client("glue"))
    no_day = replace(shape, date=None, ymd=None)
    cfg = config(date(2026, 10, 1), date(2026, 10, 1), materialized_table="t")
    from auditor.errors import ConfigError

    with pytest.raises(ConfigError, match="no day partition"):
        mat.materialize(
            cfg.athena,
            no_day,
            date(2026, 10, 1),
            date(2026, 10, 1),
            AthenaRunner(athena, cfg.athena),
            make_client("glue"),
            make_client("s3"),
            query_specs(),
            datetime(2026, 12, 1, tzinfo=UTC),
        )


def test_a_day_materialized_within_the_delivery_lag_is_read_from_the_raw_table() -> None:
    def unit_over(a: date, b: date) -> Any:
        from types import SimpleNamespace

        return SimpleNamespace(folders=(a, b), key=f"{a}/q")

    d = date(2026, 10, 1)
    end = datetime(2026, 10, 2, tzinfo=UTC)
    assert not mat.complete(d, end + timedelta(hours=24, minutes=59))
    assert mat.complete(d, end + timedelta(hours=25))
    assert not mat.complete(d, None)
    cfg = config(d, d, materialized_table="auditor_events")
    served = mat.Served(cfg.athena, {d})
    assert served.covers(unit_over(d, d)) and not served.covers(unit_over(d, d + timedelta(1)))
