"""The events store (--store): an audit gives the same report with no store, a cold
store and a warm one; changed, grown, damaged and unreadable days are read from the trail
again; an older store is rebuilt; two audits can share one; `auditor store info|prune`."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from auditor import store as store_mod
from auditor.audit import run_audit
from auditor.cli import app
from auditor.config import AuditConfig, DateRange
from auditor.model import Report
from auditor.render.json_report import to_dict
from auditor.synth import bedrock_policy_call, event, iam_user, log_key, write_log

ACCTS = ("111122223333", "444455556666")
REGIONS = ("us-east-1", "eu-west-1")
NOW = datetime(2026, 12, 1, tzinfo=UTC)
STORE_KEYS = ("from_store_days", "from_store_files", "from_store", "notes")


def at(day: int, hh: int = 12, mm: int = 0) -> datetime:
    return datetime(2026, 10, 1, tzinfo=UTC) + timedelta(days=day - 1, hours=hh, minutes=mm)


def audit(root: Path, first: int, last: int, store: Path | None = None, **kw: Any) -> Report:
    config = AuditConfig(
        range=DateRange(date(2026, 10, first), date(2026, 10, last)),
        source=str(root),
        store_dir=store,
        now=NOW,
        workers=1,
        **kw,
    )
    return run_audit(config)


def same(report: Report) -> dict[str, Any]:
    """report.json without the provenance and coverage's store lines."""
    d = to_dict(report)
    d.pop("provenance")
    for k in STORE_KEYS:
        d["coverage"].pop(k)
    return d


def record(kind: str, when: datetime, acct: str, region: str, who: str, eid: str) -> dict:
    ident = iam_user(acct, who)
    if kind == "denied":
        return bedrock_policy_call(when, identity=ident, account=acct, region=region, event_id=eid)
    if kind == "denied-delete":
        return bedrock_policy_call(
            when,
            identity=ident,
            account=acct,
            region=region,
            action="DeleteResourcePolicy",
            error="AccessDenied",
            event_id=eid,
        )
    if kind == "success":
        return bedrock_policy_call(
            when, identity=ident, account=acct, region=region, error=None, event_id=eid
        )
    if kind == "other-denial":
        return event(
            when,
            identity=ident,
            source="s3.amazonaws.com",
            name="GetObject",
            region=region,
            account=acct,
            error="AccessDenied",
            message="no",
            event_id=eid,
        )
    return event(
        when,
        identity=ident,
        source="ec2.amazonaws.com",
        name="DescribeInstances",
        region=region,
        account=acct,
        event_id=eid,
    )


KINDS = ("denied", "denied-delete", "success", "other-denial", "noise")
# (folder day 1..10, hour, account, region, who, kind, delivered twice)
FILE = st.tuples(
    st.integers(1, 10),
    st.integers(0, 23),
    st.sampled_from(ACCTS),
    st.sampled_from(REGIONS),
    st.lists(
        st.tuples(st.sampled_from(("bob", "eve")), st.sampled_from(KINDS)), min_size=1, max_size=4
    ),
    st.booleans(),
)


def write_trail(root: Path, files: list[tuple], salt: str = "") -> None:
    for i, (day, hh, acct, region, recs, twice) in enumerate(files):
        delivered = at(day, hh, 7)
        rows = [
            record(kind, delivered - timedelta(minutes=5 + j), acct, region, who, f"e{salt}{i}-{j}")
            for j, (who, kind) in enumerate(recs)
        ]
        write_log(root, log_key(acct, region, delivered, salt=f"{salt}{i}"), rows)
        if twice:  # an organisation trail delivers the same events again
            write_log(
                root,
                log_key(acct, region, delivered, org_id="o-abcdef1234", salt=f"{salt}{i}"),
                rows,
            )


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    files=st.lists(FILE, min_size=1, max_size=8),
    later=st.lists(FILE, max_size=3),
    first=st.integers(1, 3),
    span=st.integers(0, 2),
)
def test_no_store_cold_and_warm_store_give_the_same_report(
    tmp_path_factory: pytest.TempPathFactory, files: list, later: list, first: int, span: int
) -> None:
    root = tmp_path_factory.mktemp("trail")
    store = tmp_path_factory.mktemp("store")
    write_trail(root, files)
    last = first + span
    plain = same(audit(root, first, last))
    cold = audit(root, first, last, store)
    assert same(cold) == plain
    assert cold.coverage.from_store_days == 0
    warm = audit(root, first, last, store)
    assert same(warm) == plain
    assert (warm.coverage.from_store_days > 0) == (cold.coverage.files_scanned > 0)
    assert warm.coverage.notes == ()
    # Late deliveries: the days they land in are read again, the others still served.
    write_trail(root, later, salt="late")
    assert same(audit(root, first, last, store)) == same(audit(root, first, last))
    # Another range over the same store: a look-ahead day stored with fewer rows never
    # serves a full read.
    assert same(audit(root, first + 2, last + 4, store)) == same(audit(root, first + 2, last + 4))
    assert same(audit(root, first, last, store)) == plain or later


def test_a_changed_day_is_read_again(tmp_path: Path) -> None:
    bob = iam_user(ACCTS[0], "bob")
    store = tmp_path / "store"
    write_log(
        tmp_path,
        log_key(ACCTS[0], REGIONS[0], at(2, 12, 7)),
        [
            bedrock_policy_call(
                at(2), identity=bob, account=ACCTS[0], region=REGIONS[0], event_id="d1"
            )
        ],
    )
    write_log(
        tmp_path,
        log_key(ACCTS[0], REGIONS[0], at(3, 12, 7)),
        [
            bedrock_policy_call(
                at(3), identity=bob, account=ACCTS[0], region=REGIONS[0], event_id="d2"
            )
        ],
    )
    assert audit(tmp_path, 2, 3, store).totals.attempts == 2
    # The file of day 3 is rewritten with one more denial (same name, new size and mtime).
    write_log(
        tmp_path,
        log_key(ACCTS[0], REGIONS[0], at(3, 12, 7)),
        [
            bedrock_policy_call(
                at(3), identity=bob, account=ACCTS[0], region=REGIONS[0], event_id=eid
            )
            for eid in ("d2", "d3")
        ],
    )
    report = audit(tmp_path, 2, 3, store)
    assert report.totals.attempts == 3
    assert report.coverage.from_store_days == 1  # day 2; day 3 (and folder 4, empty) read
    assert [(s.start, s.end) for s in report.coverage.from_store] == [("2026-10-02", "2026-10-02")]
    assert audit(tmp_path, 2, 3, store).coverage.from_store_days == 2


def _parts(store: Path) -> list[Path]:
    return sorted((store / "parts").rglob("*.parquet"))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "manifest", "manifest-rows"])
def test_a_damaged_part_is_named_and_rebuilt(tmp_path: Path, damage: str) -> None:
    trail, store = tmp_path / "trail", tmp_path / "store"
    write_trail(trail, [(2, 12, ACCTS[0], REGIONS[0], [("bob", "denied")] * 3, False)])
    plain = same(audit(trail, 2, 2))
    audit(trail, 2, 2, store)
    (part,) = _parts(store)
    manifest = part.with_suffix(".json")
    if damage == "truncate":
        part.write_bytes(part.read_bytes()[:-30])
    elif damage == "garbage":
        part.write_bytes(b"PAR1 not really" * 40)
    elif damage == "manifest":
        manifest.write_text("{not json")
    else:
        man = json.loads(manifest.read_text())
        man["days"]["2026/10/02"]["rows"] = 0
        manifest.write_text(json.dumps(man))
    report = audit(trail, 2, 2, store)
    assert same(report) == plain
    assert report.coverage.from_store_days == 0
    (note,) = report.coverage.notes
    assert f"damaged part {ACCTS[0]} {REGIONS[0]} 2026/10 (full)" in note and "rebuilt" in note
    again = audit(trail, 2, 2, store)
    assert again.coverage.from_store_days == 1 and again.coverage.notes == ()
    assert same(again) == plain


def test_a_day_with_an_unreadable_file_is_not_stored(tmp_path: Path) -> None:
    trail, store = tmp_path / "trail", tmp_path / "store"
    write_trail(
        trail,
        [
            (2, 12, ACCTS[0], REGIONS[0], [("bob", "denied")], False),
            (3, 12, ACCTS[0], REGIONS[0], [("bob", "denied")], False),
        ],
    )
    day2 = next((trail / "AWSLogs").rglob("2026/10/02"))
    (day2 / "broken.json.gz").write_bytes(b"not gzip")
    first = audit(trail, 2, 3, store)
    second = audit(trail, 2, 3, store)
    assert same(second) == same(first)
    assert [u.path.rsplit("/", 1)[-1] for u in second.coverage.unreadable] == ["broken.json.gz"]
    served = {(s.start, s.end) for s in second.coverage.from_store}
    assert served == {("2026-10-03", "2026-10-03")}  # day 2 read again, never served


def test_a_store_of_another_version_is_rebuilt(tmp_path: Path) -> None:
    trail, store = tmp_path / "trail", tmp_path / "store"
    write_trail(trail, [(2, 12, ACCTS[0], REGIONS[0], [("bob", "denied")], False)])
    audit(trail, 2, 2, store)
    meta = json.loads((store / "STORE.json").read_text())
    (store / "STORE.json").write_text(json.dumps({**meta, "version": 0}))
    report = audit(trail, 2, 2, store)
    assert report.coverage.from_store_days == 0
    assert any("version 0" in n and "rebuilt" in n for n in report.coverage.notes)
    assert audit(trail, 2, 2, store).coverage.from_store_days == 1


def test_two_audits_sharing_a_store(tmp_path: Path) -> None:
    trail, store = tmp_path / "trail", tmp_path / "store"
    write_trail(
        trail,
        [
            (d, h, a, r, [("bob", "denied"), ("eve", "other-denial")], False)
            for d in range(1, 6)
            for h in (3, 15)
            for a in ACCTS
            for r in REGIONS
        ],
    )
    plain = same(audit(trail, 1, 4))
    out: list[Report] = []
    threads = [
        threading.Thread(target=lambda: out.append(audit(trail, 1, 4, store))) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 3 and all(same(r) == plain for r in out)
    warm = audit(trail, 1, 4, store)
    assert same(warm) == plain and warm.coverage.notes == ()
    assert warm.coverage.from_store_days == 2 * 2 * 5  # folders 1..5
    assert not list((store / "tmp").iterdir())


def test_store_info_and_prune(tmp_path: Path) -> None:
    trail, store = tmp_path / "trail", tmp_path / "store"
    write_trail(
        trail,
        [(d, 12, a, REGIONS[0], [("bob", "denied")], False) for d in (1, 2, 3) for a in ACCTS],
    )
    audit(trail, 1, 3, store)
    runner = CliRunner()
    res = runner.invoke(app, ["store", "info", "--store", str(store)])
    assert res.exit_code == 0, res.output
    assert f"schema: version {store_mod.VERSION}" in res.output
    assert f"{ACCTS[0]} {REGIONS[0]}: 3 day(s) 2026-10-01..2026-10-03" in res.output
    res = runner.invoke(app, ["store", "prune", "--store", str(store), "--before", "2026-10-03"])
    assert res.exit_code == 0 and "removed 4 day folder(s)" in res.output
    res = runner.invoke(app, ["store", "prune", "--store", str(store), "--account", ACCTS[1]])
    assert "removed 1 day folder(s)" in res.output
    res = runner.invoke(app, ["store", "info", "--store", str(store)])
    assert f"{ACCTS[0]} {REGIONS[0]}: 1 day(s) 2026-10-03..2026-10-03" in res.output
    assert ACCTS[1] not in res.output
    report = audit(trail, 1, 3, store)
    assert report.coverage.from_store_days == 1
    res = runner.invoke(app, ["store", "info", "--store", str(tmp_path / "none")])
    assert res.exit_code == 2


def test_store_from_the_config_file(tmp_path: Path) -> None:
    from auditor.settings import load_config

    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[audit]\nstore = "{tmp_path / "s"}"\n')
    assert load_config(config=cfg, month="2026-10").store_dir == tmp_path / "s"
    assert load_config(config=cfg, month="2026-10", store=str(tmp_path / "t")).store_dir == (
        tmp_path / "t"
    )


def test_the_reports_name_the_days_read_from_the_store(tmp_path: Path) -> None:
    from auditor.render import html, markdown

    trail, store = tmp_path / "trail", tmp_path / "store"
    write_trail(trail, [(2, 12, ACCTS[0], REGIONS[0], [("bob", "denied")], False)])
    assert "events store" not in markdown.render(audit(trail, 2, 2, store))
    report = audit(trail, 2, 2, store)
    md = markdown.render(report)
    assert (
        f"- From the events store (unchanged since stored): 1 day folder, 1 log files; "
        f"{ACCTS[0]} {REGIONS[0]} 2026-10-02 to 2026-10-02\n"
    ) in md
    assert "<th>From the events store</th><td>1 day folder, 1 log files" in html.render(report)
