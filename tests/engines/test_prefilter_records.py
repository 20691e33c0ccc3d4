"""The prefilter parses only the records holding a needle when a file is laid out as AWS
writes it. Whatever the file holds (hostile nested keys that mimic a record start,
pretty-printing, other key orders), it hands on exactly the rows, record count and
broken-record reasons that parsing the whole file gives; and the substring prefilter
(`prefilter_contains`) keeps exactly the records whose field holds a substring."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from auditor.config import AuditConfig, DateRange
from auditor.engines import prefilter
from auditor.engines.hints import ScanHints
from auditor.engines.local import TARGET
from auditor.plan import build_plan
from auditor.synth import bedrock_policy_call, event, iam_user

WHEN = datetime(2026, 10, 10, 12, tzinfo=UTC)
BOB = iam_user("111122223333", "bob")


@pytest.fixture(autouse=True)
def shipped_plan() -> None:
    from datetime import date

    plan = build_plan(AuditConfig(range=DateRange(date(2026, 10, 10), date(2026, 10, 10))), TARGET)
    prefilter.init(prefilter.ScanSettings.from_plan(ScanHints.of(plan)))


def scan_both(
    tmp_path: Path, body: bytes, monkeypatch: pytest.MonkeyPatch
) -> tuple[prefilter.FileResult, prefilter.FileResult, bool]:
    """(fast-path result, whole-file result, whether the fast path was taken)."""
    path = tmp_path / "f.json.gz"
    path.write_bytes(gzip.compress(body, mtime=0))
    task = prefilter.Task(str(path), "111122223333", "us-east-1", "2026/10/10")
    took = prefilter._needle_records(body) is not None
    fast = prefilter.scan(task)
    with monkeypatch.context() as m:
        m.setattr(prefilter, "_needle_records", lambda *a: None)
        whole = prefilter.scan(task)
    return fast, whole, took


def compact(records: list[Any]) -> bytes:
    return json.dumps({"Records": records}, separators=(",", ":")).encode()


def same(fast: prefilter.FileResult, whole: prefilter.FileResult, exact_count: bool = True) -> None:
    # The same rows as DuckDB reads them (a record may pass on as its own bytes or
    # re-serialised, a null field left out; the fast path's rows may come first).
    def rows(r: prefilter.FileResult) -> list[Any]:
        return sorted(
            (_no_nulls(json.loads(line)) for line in r.rows.splitlines()),
            key=lambda x: json.dumps(x, sort_keys=True),
        )

    assert (rows(fast), fast.candidates, fast.error) == (rows(whole), whole.candidates, whole.error)
    assert fast.broken == whole.broken
    if exact_count:
        assert fast.records == whole.records


def _no_nulls(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _no_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_no_nulls(x) for x in v]
    return v


def denied(**kw: Any) -> dict[str, Any]:
    return bedrock_policy_call(WHEN, identity=BOB, account="111122223333", region="us-east-1", **kw)


def noise(code: str | None = None, **kw: Any) -> dict[str, Any]:
    return event(
        WHEN,
        identity=BOB,
        source="iam.amazonaws.com",
        name="ListRoles",
        region="us-east-1",
        account="111122223333",
        error=code,
        message="m",
        **kw,
    )


def test_only_needle_records_are_parsed_and_rows_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recs = [noise(event_id=f"n{i}") for i in range(50)] + [
        denied(event_id="d1"),
        noise("AccessDenied", event_id="x"),
    ]
    fast, whole, took = scan_both(tmp_path, compact(recs), monkeypatch)
    assert took and fast.candidates == 2 and fast.records == 52
    same(fast, whole)


def test_a_nested_object_mimicking_a_record_start_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A map key chosen by a caller: {"eventVersion": ...} nested in requestParameters,
    # next to a needle, so a naive split would cut the record in two.
    fake = {"eventVersion": "1.0", "errorCode": "AccessDenied", "eventName": "PutResourcePolicy"}
    recs = [
        noise(event_id="a"),
        denied(event_id="d", request={"tags": fake}),
        noise(event_id="b", request={"x": fake}),
        noise("AccessDenied", event_id="c"),
    ]
    fast, whole, took = scan_both(tmp_path, compact(recs), monkeypatch)
    assert fast.candidates == 2
    same(fast, whole)


@pytest.mark.parametrize("layout", ["pretty", "key order", "spaces"])
def test_other_layouts_give_the_same_answer(
    layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recs = [noise(event_id="a"), denied(event_id="d"), noise("Client.UnauthorizedOperation")]
    if layout == "pretty":
        body = json.dumps({"Records": recs}, indent=2).encode()
    elif layout == "key order":
        body = compact([dict(reversed(list(r.items()))) for r in recs])
    else:
        body = json.dumps({"Records": recs}).encode()
    fast, whole, took = scan_both(tmp_path, body, monkeypatch)
    assert fast.candidates == 2
    same(fast, whole)


def test_broken_records_are_named_by_index_on_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = noise("AccessDenied", event_id="bad")
    bad["eventTime"] = "yesterday"
    recs = [noise(event_id="a"), noise(event_id="b"), bad]
    fast, whole, took = scan_both(tmp_path, compact(recs), monkeypatch)
    assert took and fast.broken and fast.broken[0].startswith("record 2 (eventID bad)")
    same(fast, whole)


def test_substring_prefilter_keeps_denials_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = [
        "AccessDenied",
        "VpceAccessDenied",
        "Client.UnauthorizedOperation",
        "AuthorizationError",
        "ThrottlingException",
        "accessdenied",
        "",
        None,
    ]
    recs = [noise(code, event_id=f"e{i}") for i, code in enumerate(codes)]
    fast, whole, _ = scan_both(tmp_path, compact(recs), monkeypatch)
    kept = [json.loads(line)["r"]["errorCode"] for line in fast.rows.splitlines()]
    assert kept == codes[:4]
    same(fast, whole)


def test_a_file_cut_inside_a_record_is_not_valid_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = compact([noise(event_id="a"), denied(event_id="d")])
    fast, whole, _ = scan_both(tmp_path, body[:-40], monkeypatch)
    assert fast.error and "not valid JSON" in fast.error
    same(fast, whole)


keys = st.sampled_from(["eventVersion", "errorCode", "eventName", "tags", "x", "Records"])
values = st.recursive(
    st.none()
    | st.integers()
    | st.sampled_from(
        ["AccessDenied", "PutResourcePolicy", '{"eventVersion":', "ResourcePolicy", "]}", "\\"]
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=10,
)


@st.composite
def a_record(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["denied", "noise", "error"]))
    req = draw(values)
    if kind == "denied":
        return denied(event_id=draw(st.text(max_size=4)), request=req)
    code = draw(st.sampled_from(["AccessDenied", "Throttling", "xUnauthorizedx"]))
    return noise(code if kind == "error" else None, request=req, event_id=draw(st.text(max_size=4)))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(recs=st.lists(a_record(), max_size=8))
def test_any_records_same_answer_on_both_paths(
    recs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = compact(recs)
    fast, whole, _ = scan_both(tmp_path, body, monkeypatch)
    # Records are counted by the parse: a caller's nested "eventVersion" key adds none.
    same(fast, whole)
    assert fast.records == len(recs)


def test_bytes_that_are_not_utf8_in_one_record_do_not_hide_the_file(tmp_path: Path) -> None:
    bad = dict(denied(), userAgent="placeholder-agent", eventID="bad")
    good = dict(denied(), eventID="good")
    body = compact([bad, good]).replace(b"placeholder-agent", b"caf\xe9-agent")
    path = tmp_path / "f.json.gz"
    path.write_bytes(gzip.compress(body, mtime=0))
    res = prefilter.scan(prefilter.Task(str(path), "111122223333", "us-east-1", "2026/10/10"))
    assert res.error is None
    assert res.candidates == 2
    rows = [json.loads(line)["r"] for line in res.rows.splitlines()]
    assert {r["eventID"] for r in rows} == {"bad", "good"}
    assert "caf\ufffd-agent" in {r["userAgent"] for r in rows}


# -- a caller's nested record lookalikes ----------------------------------------------------

# A nested object that starts like a record, and may look like a denied Bedrock call.
lookalike = st.fixed_dictionaries(
    {"eventVersion": st.sampled_from(["1.0", "2"])},
    optional={
        "eventTime": st.just("2026-10-10T12:00:00Z"),
        "eventSource": st.sampled_from(["bedrock.amazonaws.com", "iam.amazonaws.com"]),
        "eventName": st.sampled_from(["PutResourcePolicy", "DeleteResourcePolicy"]),
        "errorCode": st.sampled_from(["AccessDenied", "AccessDeniedException"]),
        "eventID": st.sampled_from(["forged", "f2"]),
        "userIdentity": st.just({"type": "IAMUser", "arn": "arn:aws:iam::1:user/x"}),
    },
)
params = st.recursive(
    st.none()
    | st.integers()
    | lookalike
    | st.sampled_from(['{"eventVersion":', '"}]', "\\", "bedrock.amazonaws.com", '{["x"]}']),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(keys, inner, max_size=3)
        | st.builds(
            lambda d, kv: {**d, **kv},
            lookalike,
            st.dictionaries(st.sampled_from(["x", "tags"]), inner, max_size=2),
        )
    ),
    max_leaves=12,
)


@st.composite
def a_request_record(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["denied", "noise", "other"]))
    req = draw(params)
    eid = draw(st.sampled_from(["a", "b", "c"]))
    if kind == "denied":
        return denied(event_id=eid, request=req)
    rec = noise("AccessDenied" if kind == "noise" else None, request=req, event_id=eid)
    if draw(st.booleans()):  # requestParameters before the fields the prefilter reads
        rec = {
            "eventVersion": rec.pop("eventVersion"),
            "requestParameters": rec.pop("requestParameters"),
            **rec,
        }
    return rec


FORGERY = [
    noise(
        event_id="innocent",
        request={
            "p": [
                {
                    "eventVersion": "1",
                    "eventTime": "2026-10-10T12:00:00Z",
                    "eventSource": "bedrock.amazonaws.com",
                    "eventName": "DeleteResourcePolicy",
                    "errorCode": "AccessDenied",
                    "eventID": "forged",
                },
                {"eventVersion": "2"},
            ]
        },
    )
]


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(recs=FORGERY)
@example(
    recs=[
        denied(event_id="x", request={"tags": [{"a": 1}, *FORGERY[0]["requestParameters"]["p"]]}),
        *FORGERY,
    ]
)
@given(recs=st.lists(a_request_record(), min_size=1, max_size=6))
def test_nested_lookalikes_never_become_records(
    recs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path and a parse of the whole file give the same candidate records for any
    file, whatever nested objects starting with "eventVersion" the callers' requests hold."""
    fast, whole, _ = scan_both(tmp_path, compact(recs), monkeypatch)
    same(fast, whole, exact_count=False)
    ids = {json.loads(line)["r"].get("eventID") for line in fast.rows.splitlines()}
    assert not ids & {"forged", "f2"}


def test_real_layouts_are_indexed_record_by_record() -> None:
    """CloudTrail's own nested objects (tlsDetails, policies with "Version") and a caller's
    nested object starting with "eventVersion" are not records: the index holds exactly
    the top-level ones, at the offsets where they start in AWS's compact layout."""
    from auditor.engines.rawjson import record_index

    tls = {"tlsVersion": "TLSv1.3", "cipherSuite": "x", "clientProvidedHostHeader": "h"}
    recs = [
        dict(
            noise(event_id=f"n{i}"),
            tlsDetails=tls,
            additionalEventData={"SignatureVersion": "SigV4", "x": 'a{[\\"}'},
        )
        for i in range(5)
    ] + [denied(event_id="e", request={"p": [{"a": 1}, {"eventVersion": "1"}]})]
    body = compact(recs)
    index = record_index(body)
    assert index is not None and len(index) == len(recs) and index.offsets is not None
    for r, off in zip(recs, index.offsets):
        assert json.loads(body[off:].decode()[: len(compact([r])) - 14]) == json.loads(
            json.dumps(r)
        )
    # Pretty-printed: the same records, found without offsets.
    pretty = record_index(json.dumps({"Records": recs}, indent=1).encode())
    assert pretty is not None and len(pretty) == len(recs) and pretty.offsets is None
    for bad in (body[:-1], body.replace(b'"Records"', b'"records"'), b'{"Records": 5}'):
        assert record_index(bad) is None


lookalikes = st.recursive(  # a nested object starting with "eventVersion", wrapped anyhow
    st.just({"eventVersion": "1", "eventName": "DeleteResourcePolicy", "eventID": "forged"}),
    lambda inner: (
        st.lists(inner, min_size=1, max_size=2)
        | st.dictionaries(
            st.sampled_from(["p", 'q\\"{[', "eventVersion"]), inner, min_size=1, max_size=2
        )
    ),
    max_leaves=3,
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    before=st.lists(a_request_record(), max_size=4),
    lookalike=lookalikes,
    between=st.lists(a_request_record(), max_size=3),
    after=st.lists(a_request_record(), max_size=3),
)
def test_a_lookalike_anywhere_never_becomes_a_record(
    before, lookalike, between, after, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A nested lookalike before, between or after the candidates (however deep, whichever
    record holds it) is never a record: the answer is the whole-file parse's."""
    carrier = noise(event_id="carrier", request={"p": lookalike})
    for recs in (
        [*before, carrier, *between, denied(event_id="last"), *after],
        [*before, *between, denied(event_id="last"), carrier, *after],
    ):
        fast, whole, took = scan_both(tmp_path, compact(recs), monkeypatch)
        assert took
        same(fast, whole)
        assert fast.records == len(recs)
        assert "forged" not in {json.loads(x)["r"].get("eventID") for x in fast.rows.splitlines()}


@pytest.mark.parametrize("error", [None, "AccessDenied"])
def test_a_record_split_by_a_lookalike_is_not_skipped_unparsed(
    error: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record's bytes are tested for each of a query's values before it is parsed; a
    nested lookalike can split a real record so that its needle and its eventSource lie in
    different slices. The slice skipped must then be proven a whole record: the real
    record is found, as the whole-file parse finds it."""
    rec = denied(event_id="real", error=error)
    split = {
        "eventVersion": rec.pop("eventVersion"),
        "eventSource": rec.pop("eventSource"),
        "requestParameters": {"p": [{"eventVersion": "2"}, {"eventVersion": "3"}]},
        **{k: v for k, v in rec.items() if k != "requestParameters"},
    }
    for recs in ([split], [split, noise(event_id="n")], [noise(event_id="n"), split]):
        fast, whole, _ = scan_both(tmp_path, compact(recs), monkeypatch)
        same(fast, whole, exact_count=False)
        assert "real" in {json.loads(x)["r"].get("eventID") for x in fast.rows.splitlines()}


# -- the fast path of records only column-limited queries want (engines/limited.py) ---------

odd_keys = st.sampled_from(
    ["ARN", "Arn", "principalid", "accesKeyId", "credentialId", "inScopeOf", "sessionContext"]
)
odd_values = st.none() | st.integers() | st.sampled_from(["x", "A\\u0041", ""]) | st.just({"a": 1})
top_keys = st.sampled_from(
    [
        "errorcode",
        "ErrorCode",
        "userIdentity",
        "useridentity",
        "eventTime",
        "EventTime",
        "recipientAccountId",
        "eventSource",
        "awsRegion",
        "eventID",
    ]
)


# eventTimes the check must judge alike on every path (DuckDB's cast fails on the odd ones)
event_times = st.sampled_from(
    [
        "2026-10-05T12:00:00Z",
        "2026-10-05T12:00:00.123456789Z",
        "2026-10-05T12:00:00Z\n",
        "2024-02-29T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2026-10-05T24:00:00Z",
        "2026-10-05T12:00:60Z",
        "0000-01-01T00:00:00Z",
        "\u0662\u0660\u0662\u0666-10-05T12:00:00Z",
        "2026-10-05 12:00:00Z",
    ]
)


@st.composite
def a_denial_with_odd_parts(draw: st.DrawFn) -> dict[str, Any]:
    rec = noise(draw(st.sampled_from(["AccessDenied", "Client.UnauthorizedOperation"])))
    if draw(st.booleans()):
        rec["eventTime"] = draw(event_times)
    ui = dict(rec["userIdentity"])
    for k, v in draw(st.lists(st.tuples(odd_keys, odd_values), max_size=2)):
        ui[k] = v
    rec["userIdentity"] = draw(st.sampled_from([ui, ui, "a string", None]))
    for k in draw(
        st.lists(st.sampled_from(["userIdentity", "errorCode", "eventTime"]), max_size=2)
    ):
        rec.pop(k, None)  # a column missing (perhaps spelled otherwise below)
    for k, v in draw(st.lists(st.tuples(top_keys, odd_values), max_size=2)):
        rec[k] = v
    return rec


# Keys spelled with an escape: the same key to a JSON parser, other bytes to a search.
ESCAPED = [
    (b'"errorCode"', b'"error\\u0043ode"'),
    (b'"userIdentity"', b'"user\\u0069dentity"'),
    (b'"arn"', b'"\\u0061rn"'),
]


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    recs=st.lists(a_denial_with_odd_parts(), min_size=1, max_size=5),
    escape=st.lists(st.sampled_from(ESCAPED), max_size=2),
    others=st.lists(st.sampled_from(["denied", "success", "noise"]), max_size=2),
    dense=st.booleans(),
)
@example(recs=[noise("AccessDenied")], escape=[], others=["denied", "success"], dense=True)
@example(  # a day not in the calendar: the one-pass path, then a record at a time
    recs=[dict(noise("AccessDenied"), eventTime="2026-02-29T00:00:00Z")],
    escape=[],
    others=["noise"],
    dense=True,
)
@example(
    recs=[dict(noise("AccessDenied"), eventTime="2026-02-29T00:00:00Z")],
    escape=[],
    others=["noise"],
    dense=False,
)
@example(recs=[noise("AccessDenied")], escape=[], others=["denied", "noise"], dense=False)
def test_the_fast_path_of_limited_records_gives_the_general_paths_rows(
    recs, escape, others, dense, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other spellings, other types, unknown or escaped keys, null and missing fields: the
    rows written by the fast paths (a record at a time, or the whole file in one pass
    where a needle is dense: DENSE = 1 here) read as the general path's (or they leave
    the record or file to the general path), and what is broken is named the same."""
    recs = recs + [
        denied(event_id="d")
        if o == "denied"
        else denied(event_id="s", error=None)
        if o == "success"
        else noise(event_id="n")
        for o in others
    ]
    body = compact(recs)
    for plain, escaped in escape:
        body = body.replace(plain, escaped, 1)
    with monkeypatch.context() as m:
        m.setattr(prefilter, "DENSE", 1 if dense else 10**6)
        fast, whole, took = scan_both(tmp_path, body, monkeypatch)
    assert took
    same(fast, whole)


def test_a_dense_file_is_decoded_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a denial needle occurs DENSE times the file is decoded in one pass; a record
    a whole-record query may want (a denied Bedrock call) is still the general path's."""
    recs = [noise("AccessDenied", event_id=f"e{i}") for i in range(5)] + [denied(event_id="d")]
    calls: list[int] = []
    real = prefilter._file_rows

    def spy(*a: Any) -> Any:
        calls.append(1)
        return real(*a)

    monkeypatch.setattr(prefilter, "_file_rows", spy)
    monkeypatch.setattr(prefilter, "DENSE", 3)
    got = prefilter._needle_records(compact(recs), None, b'{"x":1,"r":')
    assert calls and got is not None
    assert len(got.rows) == 5 and [i for i, _, _ in got.records] == [5] and got.count == 6


def test_the_fast_path_is_taken_for_plain_denials(tmp_path: Path) -> None:
    """A plain denial (every column in CloudTrail's spelling and type) is written by the
    fast path, not parsed in Python: the check that the optimisation is in use."""
    recs = [noise("AccessDenied", event_id=f"e{i}") for i in range(3)] + [denied(event_id="d")]
    got = prefilter._needle_records(compact(recs), None, b'{"x":1,"r":')
    assert got is not None
    assert len(got.rows) == 3 and [i for i, _, _ in got.records] == [3]


def test_settings_pickle_for_a_spawned_worker_after_the_fast_path_was_made() -> None:
    """Where workers are spawned (not Linux) the settings are pickled: the fast path's
    decoder, made at run time from msgspec types, is left out and made again."""
    import pickle

    prof = prefilter._S.queries
    assert prof.fast is not None  # made (and cached) in this process
    copy = pickle.loads(pickle.dumps(prof))
    assert copy == prof and copy.fast is not None
    recs = [noise("AccessDenied", event_id="e")]
    got = prefilter._needle_records(compact(recs), copy, b'{"x":1,"r":')
    assert got is not None and len(got.rows) == 1
