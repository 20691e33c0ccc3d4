"""The prefilter is only a speed-up: for any trail, the local engine's rows (prefilter ->
candidate rows -> DuckDB) equal those of the same plan SQL run over EVERY record of
every log file, shaped by auditor.table.shape_record with no prefilter at all. Checked
for every query in sqlgen.query_specs(), on synthetic Bedrock calls and on the real
sample corpus (moved into the range and grafted into rule-shaped calls)."""

from __future__ import annotations

import copy
import gzip
import json
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from auditor.config import AuditConfig, DateRange
from auditor.engines import prefilter
from auditor.engines.hints import ScanHints
from auditor.engines.local import LOCAL_TABLE, TARGET, LocalEngine
from auditor.plan import build_plan
from auditor.sqlgen import QuerySpec, query_specs
from auditor.synth import assumed_role, bedrock_policy_call, iam_user, log_key, root_user
from auditor.table import duckdb_columns, raw_row_columns, raw_row_select, shape_record

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "cloudtrail-real"
RANGE = DateRange(date(2026, 10, 10), date(2026, 10, 11))
T0 = datetime(2026, 10, 10, tzinfo=UTC)
ACCTS = ("111122223333", "444455556666")
REGIONS = ("us-east-1", "eu-west-1")
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def load_samples() -> list[dict[str, Any]]:
    if not SAMPLES.is_dir():
        return []
    out: list[dict[str, Any]] = []
    for p in sorted(SAMPLES.glob("*.json")):
        out.extend(json.loads(p.read_text())["Records"])
    return out


SAMPLE_RECORDS = load_samples()


# -- the oracle: every record, no prefilter ------------------------------------------------


def _partitions(path: Path) -> dict[str, str]:
    parts = path.parts
    i = parts.index("CloudTrail")
    return {
        "account": parts[i - 1],
        "region": parts[i + 1],
        "timestamp": "/".join(parts[i + 2 : i + 5]),
        "_file": str(path),
    }


def oracle_rows(root: Path, config: AuditConfig) -> dict[str, list[tuple]]:
    """Load every record of every log file into an Athena-shaped table, run the plan."""
    plan = build_plan(config, TARGET)
    ndjson = root.parent / f"{root.name}-all.ndjson"
    with open(ndjson, "wb") as out:
        for path in sorted(root.rglob("*.json.gz")):
            if "CloudTrail" not in path.parts:
                continue
            for rec in json.loads(gzip.decompress(path.read_bytes()))["Records"]:
                # source_file as the engine reports it: relative to --source
                row = shape_record(rec) | _partitions(path) | {"_file": str(path.relative_to(root))}
                out.write(orjson.dumps(row) + b"\n")
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in duckdb_columns().items()) + "}"
        con.execute(
            f"CREATE TABLE {LOCAL_TABLE} AS SELECT * FROM read_json(?, "
            f"format = 'newline_delimited', columns = {spec})",
            [str(ndjson)],
        )
        result = {}
        for q in plan.queries:
            cur = con.execute(q.sql, list(q.params))
            names = [d[0] for d in cur.description]
            result[q.name] = normalise([dict(zip(names, r)) for r in cur.fetchall()])
        return result
    finally:
        con.close()


def normalise(rows: list[dict[str, Any]]) -> list[tuple]:
    return sorted(tuple(sorted((k, repr(v)) for k, v in r.items())) for r in rows)


def engine_rows(root: Path, config: AuditConfig) -> dict[str, list[tuple]]:
    result = LocalEngine(config.local).execute(build_plan(config, TARGET))
    return {name: normalise(rows) for name, rows in result.rows.items()}


def config_for(root: Path, **kw: Any) -> AuditConfig:
    return AuditConfig(range=RANGE, source=str(root), workers=1, now=NOW, **kw)


def write_file(
    root: Path,
    acct: str,
    region: str,
    delivered: datetime,
    org: bool,
    records: list[dict[str, Any]],
    pretty: bool,
    salt: str,
) -> None:
    key = log_key(acct, region, delivered, "o-abcdefghij" if org else None, salt=salt)
    body = json.dumps(
        {"Records": records},
        indent=1 if pretty else None,
        separators=None if pretty else (",", ":"),
    ).encode()
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(body, mtime=0))


def assert_same(root: Path, **kw: Any) -> dict[str, list[tuple]]:
    config = config_for(root, **kw)
    got, want = engine_rows(root, config), oracle_rows(root, config)
    assert set(got) == {s.name for s in query_specs()}
    for spec in query_specs():
        if spec.lookahead_if and not want[spec.lookahead_if]:
            # Its gate query has no rows, so the look-ahead days need not be read and
            # its rows (unused: no finding to join them to) may be fewer, never others.
            assert set(got[spec.name]) <= set(want[spec.name]), f"query {spec.name} differs"
            continue
        assert got[spec.name] == want[spec.name], f"query {spec.name} differs"
    return got


# -- records ----------------------------------------------------------------------------

IDENTITIES = [
    iam_user(ACCTS[0], "bob"),
    iam_user(ACCTS[1], "eve"),  # cross-account in ACCTS[0]
    assumed_role(ACCTS[0], "ci", "run-1"),
    assumed_role(ACCTS[0], "ci", "run-2"),
    root_user(ACCTS[1]),
    {"type": "AWSService", "invokedBy": "bedrock.amazonaws.com"},
    None,
]
SOURCES = [
    "bedrock.amazonaws.com",
    "bedrock-agentcore.amazonaws.com",
    "secretsmanager.amazonaws.com",
    "ec2.amazonaws.com",
]
NAMES = ["PutResourcePolicy", "DeleteResourcePolicy", "GetResourcePolicy", "RunInstances"]
ERRORS = [
    None,
    "AccessDenied",
    "AccessDeniedException",
    "accessdenied",
    "AccessDeniedExceptionX",
    "ValidationException",
    "Client.UnauthorizedOperation",
    "AuthorizationError",
    "VpceAccessDenied",
    "",
]
REQUESTS = ["default", None, "redacted", {"policy": "{}", "expectedRevisionId": "1"}]


@st.composite
def synthetic(draw: st.DrawFn) -> dict[str, Any]:
    when = T0 + timedelta(minutes=draw(st.integers(-24 * 60, 4 * 24 * 60)))
    ident = draw(st.sampled_from(IDENTITIES))
    acct = draw(st.sampled_from(ACCTS))
    rec = bedrock_policy_call(
        when,
        identity=ident or {},
        account=acct,
        region=draw(st.sampled_from(REGIONS)),
        action="PutResourcePolicy",
        error=draw(st.sampled_from(ERRORS)),
        request=draw(st.sampled_from(REQUESTS)),
        event_id="x",
    )
    rec["eventSource"] = draw(st.sampled_from(SOURCES))
    rec["eventName"] = draw(st.sampled_from(NAMES))
    if ident is None:
        rec["userIdentity"] = None
    # Records laid out unlike AWS's: no eventVersion, or a nested object that starts like
    # a record (and holds a needle), to push the byte-level record split off its path.
    mangle = draw(st.sampled_from(["none", "none", "no-version", "nested-record"]))
    if mangle == "no-version":
        del rec["eventVersion"]
    elif mangle == "nested-record":
        rec["additionalEventData"] = {"eventVersion": "1.0", "note": "ResourcePolicy"}
    return rec


def from_sample(rec: dict[str, Any], when: datetime, how: str) -> dict[str, Any]:
    """A sample record: as published, moved into the window, or grafted into a call the
    rule (or a sibling query) is about, keeping its identity and everything else."""
    rec = copy.deepcopy(rec)
    if how == "verbatim":
        return rec
    rec["eventTime"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    if how in ("denied", "succeeded"):
        rec["eventSource"] = "bedrock.amazonaws.com"
        rec["eventName"] = "DeleteResourcePolicy" if len(str(rec)) % 2 else "PutResourcePolicy"
        rec.pop("errorCode", None)
        if how == "denied":
            rec["errorCode"] = "AccessDeniedException"
    return rec


@st.composite
def sampled(draw: st.DrawFn) -> dict[str, Any]:
    rec = draw(st.sampled_from(SAMPLE_RECORDS))
    when = T0 + timedelta(minutes=draw(st.integers(-60, 3 * 24 * 60)))
    return from_sample(
        rec, when, draw(st.sampled_from(["verbatim", "moved", "denied", "succeeded"]))
    )


record = st.one_of(synthetic(), sampled()) if SAMPLE_RECORDS else synthetic()


@st.composite
def trails(draw: st.DrawFn) -> list[tuple[tuple, list[dict[str, Any]]]]:
    """Files: ((account, region, delivery day offset, org?, pretty?), records)."""
    files = draw(
        st.lists(
            st.tuples(
                st.tuples(
                    st.sampled_from(ACCTS),
                    st.sampled_from(REGIONS),
                    st.integers(-1, 3),
                    st.booleans(),
                    st.booleans(),
                ),
                st.lists(record, min_size=1, max_size=12),
            ),
            min_size=1,
            max_size=5,
        )
    )
    n = 0
    for _, records in files:
        for rec in records:  # unique event ids: duplicate deliveries are tested elsewhere
            n += 1
            if rec.get("eventID") is not None or n % 5:
                rec["eventID"] = f"evt-{n:04d}"
    return files


def write_trail(root: Path, files: list[tuple[tuple, list[dict[str, Any]]]]) -> None:
    for i, ((acct, region, day, org, pretty), records) in enumerate(files):
        delivered = T0 + timedelta(days=day, hours=12)
        write_file(root, acct, region, delivered, org, records, pretty, salt=str(i))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=trails(),
    accounts=st.sampled_from([(), (ACCTS[0],)]),
    regions=st.sampled_from([(), (REGIONS[1],)]),
)
def test_prefilter_never_changes_a_result(  # type: ignore[no-untyped-def]
    files, accounts, regions
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "trail"
        write_trail(root, files)
        assert_same(root, accounts=accounts, regions=regions)


def test_prefilter_never_changes_a_result_on_the_whole_corpus(
    samples_dir: Path, tmp_path: Path
) -> None:
    # Every sample record four times over: as published, moved into the range, grafted
    # into a denied and into a successful Bedrock policy change, in both file layouts.
    records = SAMPLE_RECORDS
    assert len(records) == 832
    n = 0
    for f, how in enumerate(["verbatim", "moved", "denied", "succeeded"]):
        batch = []
        for i, rec in enumerate(records):
            out = from_sample(rec, T0 + timedelta(minutes=37 * i % (2 * 24 * 60)), how)
            n += 1
            out["eventID"] = f"{how}-{i}"
            batch.append(out)
        write_file(
            tmp_path / "trail",
            ACCTS[f % 2],
            REGIONS[f % 2],
            T0 + timedelta(days=f % 3, hours=1),
            f % 2 == 1,
            batch,
            f >= 2,
            str(f),
        )
    got = assert_same(tmp_path / "trail")
    assert len(got["denied_policy_changes"]) > 500  # the grafted denials in the window


# -- scan() itself --------------------------------------------------------------------------


def _scan(path: Path) -> prefilter.FileResult:
    config = config_for(path.parent)
    plan = build_plan(config, TARGET)
    prefilter.init(prefilter.ScanSettings.from_plan(ScanHints.of(plan)))
    return prefilter.scan(prefilter.Task(str(path), ACCTS[0], REGIONS[0], "2026/10/10"))


def test_a_file_without_needles_is_counted_not_parsed(tmp_path: Path) -> None:
    rec = bedrock_policy_call(
        T0, identity=iam_user(ACCTS[0], "b"), account=ACCTS[0], region=REGIONS[0], error=None
    )
    rec["eventName"] = "InvokeModel"
    rec["requestParameters"] = {"modelId": "m"}
    path = tmp_path / "a.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"Records": [rec, rec, rec]}).encode()))
    res = _scan(path)
    assert (res.error, res.records, res.candidates, res.rows, res.needle_hit) == (
        None,
        3,
        0,
        b"",
        False,
    )


def test_candidates_become_athena_shaped_rows_with_partitions(tmp_path: Path) -> None:
    rec = bedrock_policy_call(
        T0, identity=assumed_role(ACCTS[0], "r", "s"), account=ACCTS[0], region=REGIONS[0]
    )
    other = dict(rec, eventName="GetResourcePolicy", errorCode=None, eventID="other")
    path = tmp_path / "a.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"Records": [other, rec]}).encode()))
    res = _scan(path)
    assert (res.error, res.records, res.candidates, res.needle_hit) == (None, 2, 1, True)
    (line,) = res.rows.splitlines()
    raw = orjson.loads(line)
    # The record goes on as CloudTrail wrote it, with its partitions and file beside it.
    assert raw["r"] == json.loads(json.dumps(rec))
    assert (raw["account"], raw["region"], raw["timestamp"], raw["_file"]) == (
        ACCTS[0],
        REGIONS[0],
        "2026/10/10",
        str(path),
    )
    # DuckDB reads it as a row of AWS's CloudTrail table.
    rows_path = tmp_path / "rows.ndjson"
    rows_path.write_bytes(res.rows)
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in raw_row_columns().items()) + "}"
    con = duckdb.connect()
    cur = con.execute(
        f"SELECT {raw_row_select()} FROM read_json(?, format = "
        f"'newline_delimited', columns = {spec})",
        [str(rows_path)],
    )
    names = [d[0] for d in cur.description]
    (values,) = cur.fetchall()
    row = dict(zip(names, values))
    assert names == list(duckdb_columns())
    assert row["eventname"] == "PutResourcePolicy"
    assert row["useridentity"]["sessionContext"]["sessionIssuer"]["arn"].endswith(":role/r")
    assert (
        json.loads(row["requestparameters"])["resourceArn"]
        == rec["requestParameters"]["resourceArn"]
    )
    assert (row["account"], row["region"], row["timestamp"]) == (ACCTS[0], REGIONS[0], "2026/10/10")


@pytest.mark.parametrize("cut", ["after-a-needle-record", "inside-a-record"])
def test_a_log_cut_short_after_a_needle_is_unreadable(tmp_path: Path, cut: str) -> None:
    recs = [
        bedrock_policy_call(
            T0 + timedelta(minutes=i),
            identity=iam_user(ACCTS[0], "b"),
            account=ACCTS[0],
            region=REGIONS[0],
            event_id=f"e{i}",
        )
        for i in range(3)
    ]
    recs[2]["eventName"] = "InvokeModel"
    recs[2]["requestParameters"] = None
    recs[2]["errorMessage"] = None
    body = json.dumps({"Records": recs}, separators=(",", ":")).encode()
    # A copy that stopped after record 2's closing brace looks like `...}` too.
    end = body.rindex(b"}") - 1 if cut == "after-a-needle-record" else body.rindex(b'"InvokeModel"')
    path = tmp_path / "a.json.gz"
    path.write_bytes(gzip.compress(body[:end]))
    res = _scan(path)
    assert res.error, f"a truncated log was read as whole ({res.records} records)"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = [
    "userIdentity",
    "eventTime",
    "eventSource",
    "errorCode",
    "requestParameters",
    "resources",
    "recipientAccountId",
    "eventID",
    "sourceIPAddress",
    "readOnly",
]


@settings(max_examples=60, deadline=None)
@given(
    changes=st.lists(st.tuples(st.sampled_from(FIELDS), json_values), max_size=4),
    extra=st.lists(json_values, max_size=2),
)
# No query's conditions can hold (no event source, no error code): its `null` record is
# still named.
@example(changes=[("eventSource", None), ("errorCode", None)], extra=[None])
def test_any_field_of_any_type_is_used_or_named_never_raised(  # type: ignore[no-untyped-def]
    changes, extra
) -> None:
    rec = bedrock_policy_call(
        T0, identity=iam_user(ACCTS[0], "b"), account=ACCTS[0], region=REGIONS[0], event_id="e"
    )
    for key, value in changes:
        rec[key] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "a.json.gz"
        path.write_bytes(gzip.compress(json.dumps({"Records": [rec, *extra]}).encode()))
        res = _scan(path)
    assert res.error is None
    wanted = prefilter._wanted(rec) is not False  # a query prefilter holds (after _scan)
    # Every record is counted, whether or not one is wanted.
    assert res.records == 1 + len(extra)
    named = len(res.broken or ())
    # The candidate (while a prefilter holds) is a row or named as broken; each
    # non-object extra record is named when the file is parsed at all (a file whose
    # records can meet no query's conditions is only shape-checked and counted).
    malformed = sum(not isinstance(x, dict) for x in extra) if res.needle_hit else 0
    assert res.candidates + named >= wanted + malformed
    for line in res.rows.splitlines():
        row = orjson.loads(line)
        assert set(row) == {"r", "account", "region", "timestamp", "_file"}
    if res.rows:  # DuckDB loads every row with the table's declared types
        with tempfile.TemporaryDirectory() as tmp:
            rows = Path(tmp) / "rows.ndjson"
            rows.write_bytes(res.rows)
            spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in raw_row_columns().items()) + "}"
            got = duckdb.sql(
                f"SELECT {raw_row_select()} FROM read_json('{rows}', "
                f"format = 'newline_delimited', columns = {spec})"
            ).fetchall()
        assert len(got) == res.candidates


def test_a_forged_denial_in_an_other_denials_file_never_reaches_a_finding(tmp_path: Path) -> None:
    """A file whose only candidates are other_denials' is proven too: a nested lookalike
    naming a finding's principal never counts as one of its denials."""
    bob = iam_user(ACCTS[0], "bob")
    finding = bedrock_policy_call(
        T0 + timedelta(hours=3), identity=bob, account=ACCTS[0], region=REGIONS[0], event_id="real"
    )
    forged = {
        "eventVersion": "1.08",
        "userIdentity": bob,
        "eventTime": "2026-10-10T04:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": REGIONS[0],
        "errorCode": "AccessDenied",
        "recipientAccountId": ACCTS[0],
        "eventID": "forged",
    }
    own = dict(
        finding,
        eventName="ListRoles",
        eventSource="iam.amazonaws.com",
        errorCode="AccessDenied",
        errorMessage="no",
        requestParameters=None,
        resources=None,
        eventID="own",
    )  # bob's real denial in that file
    carrier = {k: v for k, v in own.items() if k not in ("errorCode", "errorMessage")}
    carrier.update(eventID="carrier", requestParameters={"p": [forged, {"eventVersion": "2"}]})
    root = tmp_path / "trail"
    write_file(root, ACCTS[0], REGIONS[0], T0 + timedelta(hours=5), False, [finding], False, "a")
    write_file(
        root, ACCTS[0], REGIONS[0], T0 + timedelta(hours=6), False, [own, carrier], False, "b"
    )
    (path,) = [
        p for p in root.rglob("*.json.gz") if b"ListRoles" in gzip.decompress(p.read_bytes())
    ]
    ids = {orjson.loads(line)["r"].get("eventID") for line in _scan(path).rows.splitlines()}
    assert ids == {"own"}  # read whole: the carrier is not a candidate, the forgery no record
    got = assert_same(root)
    assert "GetObject" not in repr(got["other_denials"])
    assert "ListRoles" in repr(got["other_denials"])


@pytest.mark.parametrize("spec", [s for s in query_specs() if s.needles], ids=lambda s: s.name)
def test_every_needle_set_is_a_necessary_condition_of_its_prefilter(spec: QuerySpec) -> None:
    """A record the query can match holds one of its needles: for some field of its
    prefilter, every value it may equal (or substring it must contain) holds a needle.
    (A needle that is only in some of them would skip the others' records unparsed.)"""
    fields = [*spec.prefilter.items(), *spec.prefilter_contains.items()]
    assert any(all(any(n in v for n in spec.needles) for v in vals) for _, vals in fields), (
        f"{spec.name}: no prefilter field whose every value holds a needle"
    )
