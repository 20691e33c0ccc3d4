"""Finding a trail's log files on disk: both layouts in one tree under a custom key
prefix, the source given at any level above AWSLogs/, siblings and stray files never
read, --account/--region pruning folders, and gaps. Real files, real DuckDB."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.audit import run_audit
from auditor.config import AuditConfig, DateRange
from auditor.errors import SourceError
from auditor.model import Gap, Report
from auditor.sources.layout import discover
from auditor.sources.local import LocalLister
from auditor.synth import assumed_role, bedrock_policy_call, iam_user, log_key, write_log

NOW = datetime(2026, 12, 1, tzinfo=UTC)
PREFIX = "tmp/mycorp/trails/"
ORG = "o-a1b2c3d4e5"
STD = "111122223333"  # a per-account trail
MEMBER = "444455556666"  # an account of the organisation trail
MEMBER2 = "777788889999"
RANGE = DateRange(date(2026, 10, 1), date(2026, 10, 2))


def at(day: int, hh: int = 12) -> datetime:
    return datetime(2026, 10, day, hh, tzinfo=UTC)


def audit(source: Path, **kw: Any) -> Report:
    kw.setdefault("lookahead_days", 0)
    cfg = AuditConfig(range=RANGE, source=str(source), workers=1, now=NOW, **kw)
    return run_audit(cfg)


def denial(acct: str, region: str, day: int, eid: str) -> dict[str, Any]:
    return bedrock_policy_call(
        at(day), identity=iam_user(acct, f"user-{eid}"), account=acct, region=region, event_id=eid
    )


def _gz_log(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps({"Records": records}).encode(), mtime=0))


def build_tree(base: Path) -> dict[str, Any]:
    """A bucket copy holding a per-account trail and an organisation trail under one
    custom prefix, with siblings and strays that look like logs but must not be read.
    Returns what an audit of RANGE must find."""
    trails = base / "tmp" / "mycorp" / "trails"
    expected: dict[tuple[str, str], set[str]] = {}
    logs: list[Path] = []
    for acct, org, region in [
        (STD, None, "us-east-1"),
        (STD, None, "eu-west-1"),
        (MEMBER, ORG, "us-east-1"),
        (MEMBER2, ORG, "eu-west-1"),
    ]:
        for day in (1, 2, 3):  # 3 = the day after the range: delivery lag
            eid = f"{acct}-{region}-{day}"
            when = at(day, 0) if day == 3 else at(day)
            rec = bedrock_policy_call(
                when if day < 3 else datetime(2026, 10, 2, 23, 58, tzinfo=UTC),
                identity=assumed_role(acct, "r", "s"),
                account=acct,
                region=region,
                event_id=eid,
            )
            logs.append(write_log(base, log_key(acct, region, when, org, prefix=PREFIX), [rec]))
            expected.setdefault((acct, region), set()).add(eid)
    # Siblings of CloudTrail/ holding records that would match: never read.
    lure = {"Records": [denial(STD, "us-east-1", 1, "digest-lure")]}
    for sib in ("CloudTrail-Digest", "CloudTrail-Insight"):
        for acct_dir in (f"AWSLogs/{STD}", f"AWSLogs/{ORG}/{MEMBER}"):
            _gz_log(
                trails / acct_dir / sib / "us-east-1/2026/10/01" / f"{sib}.json.gz", lure["Records"]
            )
    # Stray files in day folders: skipped, counted, never parsed.
    day1 = logs[0].parent
    (day1 / "README.txt").write_text("copied by ops\n")
    (day1 / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (day1 / "extra.json").write_text(
        json.dumps({"Records": [denial(STD, "us-east-1", 1, "stray-lure")]})
    )
    return {
        "trails": trails,
        "logs": logs,
        "expected": expected,
        "strays": {str(day1 / n) for n in ("README.txt", ".DS_Store", "extra.json")},
    }


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("bucket")
    return {"base": base, **build_tree(base)}


def event_ids(report: Report) -> set[str]:
    return {e.event_id for e in report.events}


@pytest.mark.parametrize("level", ["trails", "mycorp", "tmp", "base"])
def test_both_layouts_under_a_prefix_from_any_level_above_awslogs(tree, level: str) -> None:
    source = {
        "trails": tree["trails"],
        "mycorp": tree["trails"].parent,
        "tmp": tree["trails"].parent.parent,
        "base": tree["base"],
    }[level]
    report = audit(source)
    everything = set().union(*tree["expected"].values())
    assert event_ids(report) == everything
    assert "digest-lure" not in event_ids(report) and "stray-lure" not in event_ids(report)
    cov = report.coverage
    assert cov.files_scanned == len(tree["logs"]) == 12
    assert cov.records_scanned == 12
    assert cov.files_skipped == 3
    assert cov.files_unreadable == 0
    assert cov.accounts == (STD, MEMBER, MEMBER2)
    assert cov.regions == ("eu-west-1", "us-east-1")
    assert {f.account_id for f in report.findings} == {STD, MEMBER, MEMBER2}


def test_discovery_lists_only_log_files_and_names_the_strays(tree) -> None:
    disc = discover(LocalLister(str(tree["base"])), str(tree["base"]), RANGE)
    assert sorted(f.path for f in disc.files) == sorted(str(p) for p in tree["logs"])
    assert set(disc.skipped) == tree["strays"]
    assert disc.roots == [str(tree["trails"] / "AWSLogs")]
    for f in disc.files:
        assert "/CloudTrail/" in f.path and "Digest" not in f.path and "Insight" not in f.path
    by_path = {f.path: f for f in disc.files}
    org_file = next(p for p in by_path if f"/{ORG}/" in p)
    assert by_path[org_file].account in (MEMBER, MEMBER2)
    assert by_path[org_file].day in RANGE.folder_days


@pytest.mark.parametrize(
    ("accounts", "regions", "files", "keep"),
    [
        ((STD,), (), 6, {(STD, "us-east-1"), (STD, "eu-west-1")}),
        ((MEMBER,), (), 3, {(MEMBER, "us-east-1")}),  # an organisation member
        ((STD, MEMBER2), (), 9, {(STD, "us-east-1"), (STD, "eu-west-1"), (MEMBER2, "eu-west-1")}),
        ((), ("eu-west-1",), 6, {(STD, "eu-west-1"), (MEMBER2, "eu-west-1")}),
        ((STD,), ("us-east-1",), 3, {(STD, "us-east-1")}),
        (("999999999999",), (), 0, set()),
    ],
)
def test_account_and_region_prune_folders_and_restrict_results(
    tree, accounts: tuple[str, ...], regions: tuple[str, ...], files: int, keep: set
) -> None:
    report = audit(tree["base"], accounts=accounts, regions=regions)
    assert report.coverage.files_scanned == files
    want = set().union(set(), *(tree["expected"][k] for k in keep))
    assert event_ids(report) == want
    assert {(e.account_id, e.region) for e in report.events} == keep
    assert set(report.coverage.accounts) == {a for a, _ in keep}


def test_org_and_per_account_trails_of_one_account_both_read(tmp_path: Path) -> None:
    # The same account under its own trail and under the organisation trail.
    write_log(tmp_path, log_key(STD, "us-east-1", at(1), None), [denial(STD, "us-east-1", 1, "a")])
    write_log(tmp_path, log_key(STD, "us-east-1", at(1), ORG), [denial(STD, "us-east-1", 1, "b")])
    report = audit(tmp_path, accounts=(STD,))
    assert event_ids(report) == {"a", "b"}
    assert report.coverage.files_scanned == 2


def test_gaps_name_the_days_a_trail_delivered_nothing(tmp_path: Path) -> None:
    rng = DateRange(date(2026, 10, 1), date(2026, 10, 6))
    for day in (1, 2, 5):
        write_log(tmp_path, log_key(STD, "us-east-1", at(day), None), [])
    for day in range(1, 8):
        write_log(tmp_path, log_key(MEMBER, "eu-west-1", at(day), ORG), [])
    report = run_audit(AuditConfig(range=rng, source=str(tmp_path), workers=1, now=NOW))
    assert report.coverage.gaps == (
        Gap(STD, "us-east-1", "2026-10-03", "2026-10-04", 2),
        Gap(STD, "us-east-1", "2026-10-06", "2026-10-06", 1),
    )


def test_a_stray_file_alone_in_a_day_folder_is_a_gap_not_a_log(tmp_path: Path) -> None:
    write_log(tmp_path, log_key(STD, "us-east-1", at(1), None), [])
    day2 = Path(log_key(STD, "us-east-1", at(2), None)).parent
    (tmp_path / day2).mkdir(parents=True)
    (tmp_path / day2 / "notes.txt").write_text("x")
    report = audit(tmp_path)
    assert report.coverage.files_skipped == 1
    assert report.coverage.gaps == (Gap(STD, "us-east-1", "2026-10-02", "2026-10-02", 1),)


def test_no_awslogs_folder_is_a_source_error(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "CloudTrail").mkdir()
    with pytest.raises(SourceError, match="no AWSLogs"):
        discover(LocalLister(str(tmp_path)), str(tmp_path), RANGE)


def test_missing_source_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such folder"):
        LocalLister(str(tmp_path / "nope"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(SourceError, match="not a folder"):
        LocalLister(str(tmp_path / "file"))


def test_an_account_with_only_digest_files_is_a_gap_not_a_clean_report(tmp_path: Path) -> None:
    from auditor.config import DateRange
    from auditor.sources.layout import discover, gaps
    from auditor.sources.local import LocalLister

    digest = tmp_path / "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/10/05/d.json.gz"
    digest.parent.mkdir(parents=True)
    digest.write_bytes(b"")
    rng = DateRange(date(2026, 10, 5), date(2026, 10, 6))
    disc = discover(LocalLister(str(tmp_path)), str(tmp_path), rng)
    assert disc.files == []
    (gap,) = gaps(disc, rng)
    assert (gap.account_id, gap.region, gap.days) == (
        "111122223333",
        "(no CloudTrail/ log folder)",
        2,
    )
