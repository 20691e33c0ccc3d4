"""The real CloudTrail sample corpus (../shared/samples/cloudtrail-real) through the
local engine: it is read without a crash and counted exactly, none of it is a finding,
and every userIdentity shape it holds, grafted verbatim onto a denied Bedrock
PutResourcePolicy record, yields the principal key issue 2 asks for."""

from __future__ import annotations

import copy
import gzip
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.audit import run_audit
from auditor.config import AuditConfig, DateRange
from auditor.model import Report
from auditor.synth import bedrock_policy_call, log_key, write_log

NOW = datetime(2026, 12, 1, tzinfo=UTC)
DAY = date(2026, 10, 5)
WHEN = datetime(2026, 10, 5, 12, tzinfo=UTC)
DELIVERED = datetime(2026, 10, 5, 12, 5, tzinfo=UTC)
TRAIL_ACCOUNT = "123456789012"
ABSENT = object()  # userIdentity key missing altogether


def audit(root: Path) -> Report:
    cfg = AuditConfig(range=DateRange(DAY, DAY), source=str(root), workers=1, now=NOW)
    return run_audit(cfg)


def corpus(samples_dir: Path) -> dict[str, list[Any]]:
    return {
        p.name: json.loads(p.read_text())["Records"] for p in sorted(samples_dir.glob("*.json"))
    }


def _lower(d: Any) -> Any:
    if isinstance(d, dict):
        return {k.lower(): _lower(v) for k, v in d.items()}
    return d


def shape_of(ui: Any) -> tuple:
    """What distinguishes one userIdentity shape from another for the principal key."""
    if ui is ABSENT:
        return ("absent",)
    if not isinstance(ui, dict):
        return ("not-an-object", type(ui).__name__)
    low = _lower(ui)
    sc = low.get("sessioncontext")
    si = sc.get("sessionissuer") if isinstance(sc, dict) else None
    arn = low.get("arn")
    return (
        low.get("type", "<no type>"),
        "no arn" if arn is None else ("empty arn" if arn == "" else "arn"),
        "no issuer" if si is None else ("issuer with arn" if si.get("arn") else "issuer, no arn"),
        "accountId" in low,
        "principalid" in low,
        "username" in low,
        "invokedby" in low,
        "onbehalfof" in low,
    )


def identity_shapes(samples_dir: Path) -> dict[tuple, list[tuple[Any, str | None]]]:
    """Shape -> every distinct (userIdentity, recipientAccountId) of that shape."""
    out: dict[tuple, list[tuple[Any, str | None]]] = {}
    seen: set[str] = set()
    for records in corpus(samples_dir).values():
        for rec in records:
            ui = rec.get("userIdentity", ABSENT)
            pair = (ui, rec.get("recipientAccountId"))
            key = json.dumps([None if ui is ABSENT else ui, pair[1], ui is ABSENT], sort_keys=True)
            if key not in seen:
                seen.add(key)
                out.setdefault(shape_of(ui), []).append(pair)
    return out


def identifiers(ui: Any) -> tuple:
    """What tells two identities that logged no ARN apart."""
    low = _lower(ui)
    return (
        low.get("type"),
        low.get("accountid"),
        low.get("principalid"),
        low.get("username"),
        low.get("invokedby"),
        (low.get("onbehalfof") or {}).get("userid"),
        ((low.get("sessioncontext") or {}).get("sessionissuer") or {}).get("username"),
    )


def expected_principal(ui: Any) -> str | None:
    """The issue's rule, written independently of the SQL. None: no ARN was logged, so
    the key must be a readable non-ARN string (checked by `check_readable_key`)."""
    if not isinstance(ui, dict):
        return "unknown"
    low = _lower(ui)
    arn = low.get("arn") or ""
    if low.get("type") == "AssumedRole":
        sc = low.get("sessioncontext") or {}
        issuer_arn = (sc.get("sessionissuer") or {}).get("arn")
        if issuer_arn:
            return issuer_arn
        m = re.match(r"^arn:([^:]+):sts::([^:]*):assumed-role/([^/]+)", arn)
        if m:
            return f"arn:{m[1]}:iam::{m[2]}:role/{m[3]}"
    return arn or None


def check_readable_key(key: str, ui: dict[str, Any]) -> None:
    low = _lower(ui)
    assert key and not key.startswith("arn:"), key
    assert key.isprintable() and key == key.strip(), key
    assert (low.get("type") or "Unknown") in key, key
    if low.get("accountid"):
        assert low["accountid"] in key, key
    ids = [
        low.get("principalid"),
        low.get("username"),
        low.get("invokedby"),
        ((low.get("onbehalfof") or {}).get("userid")),
        (((low.get("sessioncontext") or {}).get("sessionissuer") or {}).get("username")),
    ]
    present = [i for i in ids if i]
    if present:
        assert any(i in key for i in present), (key, present)


def graft(ui: Any, eid: str, recipient: str | None) -> dict[str, Any]:
    """A denied Bedrock PutResourcePolicy whose userIdentity is the sample's, verbatim."""
    rec = bedrock_policy_call(
        WHEN, identity={}, account=recipient or TRAIL_ACCOUNT, region="us-east-1", event_id=eid
    )
    if ui is ABSENT:
        del rec["userIdentity"]
    else:
        rec["userIdentity"] = copy.deepcopy(ui)
    return rec


@pytest.fixture(scope="module")
def grafted(  # type: ignore[no-untyped-def]
    samples_dir: Path, tmp_path_factory: pytest.TempPathFactory
):
    shapes = identity_shapes(samples_dir)
    cases: dict[str, tuple[Any, str | None]] = {}
    for i, pairs in enumerate(shapes.values()):
        for j, (ui, recipient) in enumerate(pairs):
            cases[f"shape-{i:02d}-{j:03d}"] = (
                ui,
                recipient if isinstance(recipient, str) else None,
            )
    cases["null"] = (None, None)  # userIdentity: null
    # Two Identity Center users of one account must not merge into one principal.
    icu = next(
        (
            ui
            for ui, _ in cases.values()
            if isinstance(ui, dict) and ui.get("type") == "IdentityCenterUser"
        ),
        None,
    )
    if icu is not None:
        for n in (1, 2):
            other = copy.deepcopy(icu)
            other["accountId"] = TRAIL_ACCOUNT
            other["onBehalfOf"] = dict(other.get("onBehalfOf") or {}, userId=f"user-{n}")
            cases[f"icu-{n}"] = (other, TRAIL_ACCOUNT)
    root = tmp_path_factory.mktemp("grafted")
    write_log(
        root,
        log_key(TRAIL_ACCOUNT, "us-east-1", DELIVERED),
        [graft(ui, eid, r) for eid, (ui, r) in cases.items()],
    )
    return cases, shapes, audit(root)


def test_the_corpus_holds_every_identity_shape_the_issue_names(grafted) -> None:
    _, shapes, _ = grafted
    kinds = {(s[0], s[1], s[2]) if len(s) > 2 else s for s in shapes}
    for want in [
        ("IAMUser", "arn", "no issuer"),
        ("IAMUser", "no arn", "no issuer"),
        ("Root", "arn", "no issuer"),
        ("AssumedRole", "arn", "issuer with arn"),
        ("AssumedRole", "no arn", "issuer, no arn"),
        ("AssumedRole", "arn", "no issuer"),
        ("FederatedUser", "arn", "no issuer"),
        ("AWSService", "no arn", "no issuer"),
        ("AWSAccount", "no arn", "no issuer"),
        ("SAMLUser", "no arn", "no issuer"),
        ("IdentityCenterUser", "empty arn", "no issuer"),
        ("<no type>", "no arn", "no issuer"),
        ("absent",),
    ]:
        assert want in kinds, f"no sample of {want}"


def test_every_identity_shape_gets_the_principal_the_issue_asks_for(grafted) -> None:
    cases, _, report = grafted
    events = {e.event_id: e for e in report.events}
    assert set(events) == set(cases), "every grafted denial is an attempt"
    for eid, (ui, _) in cases.items():
        got = events[eid].principal
        want = expected_principal(ui)
        if want is None:
            check_readable_key(got, ui)
        else:
            assert got == want, (eid, ui)
        if isinstance(ui, dict) and ui.get("type"):
            assert events[eid].principal_type == ui["type"]


def test_readable_keys_are_distinct_for_distinct_identities(grafted) -> None:
    cases, _, report = grafted
    events = {e.event_id: e for e in report.events}
    assert events["icu-1"].principal != events["icu-2"].principal
    keyless = {
        eid: events[eid].principal
        for eid, (ui, _) in cases.items()
        if expected_principal(ui) is None
    }
    # Identities with different ids never share a key; the same identity always does.
    by_key: dict[str, set[tuple]] = {}
    by_ids: dict[tuple, set[str]] = {}
    for eid, key in keyless.items():
        by_key.setdefault(key, set()).add(identifiers(cases[eid][0]))
        by_ids.setdefault(identifiers(cases[eid][0]), set()).add(key)
    assert len(keyless) >= 10
    for key, idents in by_key.items():
        assert len(idents) == 1, f"{key!r} merges different identities: {idents}"
    for idents, keys in by_ids.items():
        assert len(keys) == 1, f"one identity {idents} has several keys: {keys}"


def test_missing_or_null_identity_is_unknown(grafted) -> None:
    cases, _, report = grafted
    events = {e.event_id: e for e in report.events}
    absent = [eid for eid, (ui, _) in cases.items() if ui is ABSENT]
    assert absent and all(events[e].principal == "unknown" for e in absent + ["null"])
    assert events["null"].principal_type == "Unknown"


def test_cross_account_is_caller_account_against_recipient(grafted) -> None:
    cases, _, report = grafted
    crossed = 0
    for f in report.findings:
        evs = [
            e for e in report.events if (e.account_id, e.principal) == (f.account_id, f.principal)
        ]
        want = any(
            isinstance(cases[e.event_id][0], dict)
            and cases[e.event_id][0].get("accountId")
            and cases[e.event_id][0]["accountId"] != e.account_id
            for e in evs
        )
        assert f.cross_account == want, f
        crossed += want
    assert crossed, "the corpus holds callers from another account"


def test_sessions_of_one_sampled_role_group_together(samples_dir: Path, tmp_path: Path) -> None:
    ui = next(
        ui
        for pairs in identity_shapes(samples_dir).values()
        for ui, _ in pairs
        if isinstance(ui, dict)
        and ui.get("type") == "AssumedRole"
        and (ui.get("sessionContext") or {}).get("sessionIssuer", {}).get("arn")
        and ui.get("principalId")
    )
    other = copy.deepcopy(ui)
    other["principalId"] = ui["principalId"] + "-second-session"
    other["arn"] = ui["arn"] + "-second-session"
    write_log(
        tmp_path,
        log_key(TRAIL_ACCOUNT, "us-east-1", DELIVERED),
        [
            graft(ui, "s1", TRAIL_ACCOUNT),
            graft(other, "s2", TRAIL_ACCOUNT),
            graft(ui, "s3", TRAIL_ACCOUNT),
        ],
    )
    (f,) = audit(tmp_path).findings
    assert f.principal == ui["sessionContext"]["sessionIssuer"]["arn"]
    assert (f.attempts, f.sessions) == (3, 2)


@pytest.mark.parametrize("layout", ["as-published", "compact"])
def test_whole_corpus_is_read_and_counted_exactly(
    samples_dir: Path, tmp_path: Path, layout: str
) -> None:
    files = corpus(samples_dir)
    for name, records in files.items():
        key = log_key(TRAIL_ACCOUNT, "us-east-1", DELIVERED, salt=name)
        if layout == "compact":
            write_log(tmp_path, key, records)
        else:
            path = tmp_path / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(gzip.compress((samples_dir / name).read_bytes(), mtime=0))
    report = audit(tmp_path)
    total = sum(len(r) for r in files.values())
    assert total == 832
    cov = report.coverage
    assert (cov.files_scanned, cov.records_scanned, cov.files_unreadable) == (len(files), 832, 0)
    assert cov.unreadable == ()
    # Nothing in the corpus is a denied Bedrock resource-policy change.
    assert report.findings == () and report.events == ()
