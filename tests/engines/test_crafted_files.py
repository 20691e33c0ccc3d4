"""One crafted file must not take the audit down: a gzip bomb, a file too large, bytes that
are not gzip, a log path that is a device, FIFO, directory or symlink loop, a record too
large or nested too deep, are each named in coverage while the rest of the trail is read;
and the fast path never turns a caller's nested object into a record."""

from __future__ import annotations

import gzip
import json
import os
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.engines import prefilter
from auditor.synth import bedrock_policy_call, iam_user, log_key, write_log

ACCT = "111122223333"
REGION = "us-east-1"
DAY = date(2026, 10, 5)
WHEN = datetime(2026, 10, 5, 12, tzinfo=UTC)
MiB = 1 << 20


def denial(eid: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("identity", iam_user(ACCT, "bob"))
    return bedrock_policy_call(WHEN, event_id=eid, account=ACCT, region=REGION, **kw)


def log_path(root: Path, salt: str, minute: int = 5) -> Path:
    path = root / log_key(ACCT, REGION, WHEN.replace(hour=13, minute=minute), salt=salt)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def reasons(report: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for u in report.coverage.unreadable:
        out.setdefault(Path(u.path).name, []).append(u.reason)
    return out


# -- bounded decompression ------------------------------------------------------------------


def zeros_bomb(members: int = 16, member_mib: int = 64) -> bytes:
    """~1 MB of gzip that inflates to members x member_mib MiB of zeros (many members)."""
    one = gzip.compress(b"\0" * (member_mib * MiB), compresslevel=9, mtime=0)
    return one * members


def test_a_gzip_bomb_is_named_and_memory_stays_bounded(tmp_path: Path, audit) -> None:
    write_log(tmp_path, log_key(ACCT, REGION, WHEN.replace(hour=13)), [denial("good")])
    bomb = log_path(tmp_path, "bomb", 9)
    bomb.write_bytes(zeros_bomb())  # 1 GiB of zeros in ~1 MB
    assert bomb.stat().st_size < 2 * MiB
    tracemalloc.start()
    try:
        report = audit(tmp_path, DAY)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert {e.event_id for e in report.events} == {"good"}
    (why,) = reasons(report)[bomb.name]
    assert "compression-ratio limit" in why
    assert peak < 200 * MiB, f"peak {peak / MiB:.0f} MiB while inflating a gzip bomb"
    assert not report.coverage.complete


def test_a_file_past_the_json_size_limit_is_named(
    tmp_path: Path, audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prefilter, "DEFAULT_LIMITS", prefilter.Limits(max_json_bytes=MiB))
    write_log(tmp_path, log_key(ACCT, REGION, WHEN.replace(hour=13)), [denial("small")])
    big = write_log(
        tmp_path,
        log_key(ACCT, REGION, WHEN.replace(hour=14)),
        [denial(f"big-{i}", agent="x" * 4000) for i in range(400)],
    )
    report = audit(tmp_path, DAY)
    assert {e.event_id for e in report.events} == {"small"}
    (why,) = reasons(report)[big.name]
    assert "size limit" in why and "1 MiB" in why


def test_bytes_that_are_not_gzip_are_named_not_gzip(tmp_path: Path, audit) -> None:
    plain = log_path(tmp_path, "plain")
    plain.write_bytes(json.dumps({"Records": [denial("plain")]}).encode())
    report = audit(tmp_path, DAY)
    (why,) = reasons(report)[plain.name]
    assert why.startswith("not gzip")


def test_a_record_past_the_record_size_limit_is_named_and_the_file_still_read(
    tmp_path: Path, audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prefilter, "DEFAULT_LIMITS", prefilter.Limits(max_record_bytes=20_000))
    path = write_log(
        tmp_path,
        log_key(ACCT, REGION, WHEN.replace(hour=13)),
        [denial("huge", resource_policy="p" * 50_000), denial("fine")],
    )
    report = audit(tmp_path, DAY)
    assert {e.event_id for e in report.events} == {"fine"}
    (why,) = reasons(report)[path.name]
    assert "record 0 (eventID huge)" in why and "record size limit" in why


# -- only regular files -----------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_devices_fifos_directories_and_symlink_loops_are_named_and_skipped(
    tmp_path: Path, audit, workers: int
) -> None:
    trail = tmp_path / "trail"
    for i in range(20 if workers > 1 else 1):  # enough files for worker processes
        write_log(
            trail,
            log_key(ACCT, REGION, WHEN.replace(hour=13, minute=i), salt=str(i)),
            [denial(f"good-{i}")],
        )
    zero = log_path(trail, "zero", 30)
    zero.symlink_to("/dev/zero")
    fifo = log_path(trail, "fifo", 31)
    os.mkfifo(fifo)
    folder = log_path(trail, "dir", 32)
    folder.mkdir()
    loop = log_path(trail, "loop", 33)
    loop.symlink_to(loop.name)  # points at itself
    report = audit(trail, DAY, workers=workers)
    got = reasons(report)
    assert "character device" in got[zero.name][0]
    assert "FIFO" in got[fifo.name][0]
    assert "directory" in got[folder.name][0]
    assert "symbolic links" in got[loop.name][0]
    assert len({e.event_id for e in report.events}) == (20 if workers > 1 else 1)
    assert not report.coverage.complete


# -- hostile JSON -------------------------------------------------------------------------------


def nested(depth: int) -> str:
    """JSON text of objects nested `depth` deep (too deep for json.dumps to write)."""
    return '{"a":' * depth + '"x"' + "}" * depth


def hostile_body(records: list[dict[str, Any]], **dumps: Any) -> bytes:
    """The file's JSON, each "NESTED<n>" string replaced by objects nested n deep."""
    text = json.dumps({"Records": records}, **dumps)
    for n in (300, 1000, 1100):
        text = text.replace(f'"NESTED{n}"', nested(n))
    return text.encode()


@pytest.mark.parametrize("depth", [300, 1000, 1100])
def test_a_deeply_nested_record_is_named_never_fatal(tmp_path: Path, audit, depth: int) -> None:
    # orjson refuses more than 1,024 levels and will not write more than 255; DuckDB's JSON
    # reader refuses more than 128. The caller chooses its request's nesting.
    records = [
        denial("deep", request={"resourceArn": "arn", "x": f"NESTED{depth}"}),
        denial("bystander"),
    ]
    path = log_path(tmp_path, "deep")
    path.write_bytes(gzip.compress(hostile_body(records, separators=(",", ":")), mtime=0))
    report = audit(tmp_path, DAY)
    assert {e.event_id for e in report.events} == {"bystander"}
    (why,) = reasons(report)[path.name]
    assert why.startswith("record 0")
    assert "deep" in why or "depth" in why


def test_hostile_records_in_one_file_are_named_and_the_rest_used(tmp_path: Path, audit) -> None:
    records = [
        denial("surrogate", agent="ua-\udc00"),
        denial("deep", request="NESTED1100"),
        denial("ok"),
    ]
    path = log_path(tmp_path, "hostile")
    path.write_bytes(gzip.compress(hostile_body(records, indent=1), mtime=0))  # not AWS's layout
    report = audit(tmp_path, DAY)
    assert {e.event_id for e in report.events} == {"surrogate", "ok"}
    (why,) = reasons(report)[path.name]
    assert why.startswith("record 1: not usable JSON")


# -- the fast path never forges a record ------------------------------------------------------

FORGED = {
    "eventVersion": "1",
    "eventTime": "2026-10-05T12:00:00Z",
    "eventSource": "bedrock.amazonaws.com",
    "eventName": "DeleteResourcePolicy",
    "errorCode": "AccessDenied",
    "eventID": "forged",
    "awsRegion": REGION,
    "recipientAccountId": ACCT,
    "userIdentity": {"type": "IAMUser", "arn": "arn:x"},
}


def test_a_nested_record_lookalike_in_request_parameters_is_no_finding(
    tmp_path: Path, audit
) -> None:
    innocent = bedrock_policy_call(
        WHEN,
        event_id="innocent",
        account=ACCT,
        region=REGION,
        identity=iam_user(ACCT, "alice"),
        error=None,
    )
    innocent["eventSource"] = "iam.amazonaws.com"
    innocent["eventName"] = "ListRoleTags"
    innocent["requestParameters"] = {"p": [FORGED, {"eventVersion": "2"}]}
    write_log(
        tmp_path,
        log_key(ACCT, REGION, WHEN.replace(hour=13)),
        [denial("real"), innocent, denial("real-2")],
    )
    report = audit(tmp_path, DAY)
    assert {e.event_id for e in report.events} == {"real", "real-2"}
    assert report.coverage.unreadable == ()


# -- an eventTime DuckDB cannot read never fails a query ---------------------------------------

ODD_TIMES = {
    "other digits": "\u0662\u0660\u0662\u0666-10-05T12:00:00Z",  # 2026 in Arabic-Indic digits
    "no such day": "2026-02-30T12:00:00Z",
    "no such hour": "2026-10-05T25:00:00Z",
    "leap second": "2026-10-05T12:00:60Z",
}


@pytest.mark.parametrize("odd", list(ODD_TIMES.values()), ids=list(ODD_TIMES))
@pytest.mark.parametrize("denials", [1, 70], ids=["record by record", "one-pass file"])
def test_an_event_time_duckdb_cannot_read_is_named_not_a_failed_query(
    tmp_path: Path, audit, denials: int, odd: str
) -> None:
    """An eventTime shaped like ISO-8601 but in another script's digits (Python's \\d
    takes them) or naming no real time passed the check, and DuckDB's timestamp cast then
    failed the whole query (exit 3): such a record is named in coverage, as the general
    path and the fast paths say alike. 70 denials take the one-pass decode."""
    from auditor.synth import event

    others = [
        event(
            WHEN,
            identity=iam_user(ACCT, "eve"),
            source="sts.amazonaws.com",
            name="AssumeRole",
            region=REGION,
            account=ACCT,
            error="AccessDenied",
            event_id=f"d{i}",
        )
        for i in range(denials)
    ]
    others[0]["eventTime"] = odd
    odd_finding = denial("odd")
    odd_finding["eventTime"] = odd
    write_log(
        tmp_path, log_key(ACCT, REGION, WHEN.replace(hour=13)), [denial("ok"), *others, odd_finding]
    )
    report = audit(tmp_path, DAY)
    assert {e.event_id for e in report.events} == {"ok"}
    why = [r for rs in reasons(report).values() for r in rs]
    assert len(why) == 2 and all("is not an ISO-8601 UTC time" in r for r in why), why
    assert not report.coverage.complete
