"""benchmarks/gen_trail.py: each trail kind's ground truth is what the rule finds in the
files written, and the kinds carry the decoys and error shares they promise."""

from __future__ import annotations

import gzip
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
import gen_trail  # noqa: E402

RULE_CODES = {"AccessDenied", "AccessDeniedException"}


def _records(out: Path):
    for f in sorted(out.glob("AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz")):
        yield from json.loads(gzip.decompress(f.read_bytes()))["Records"]


@pytest.mark.parametrize("kind", list(gen_trail.KINDS))
def test_ground_truth_is_the_rule_applied_to_the_files(tmp_path: Path, kind: str) -> None:
    out = tmp_path / "t"
    gen_trail.main(
        [
            "--out",
            str(out),
            "--trail",
            kind,
            "--days",
            "2",
            "--files-per-day",
            "4",
            "--records-per-file",
            "300",
            "--workers",
            "1",
            "--no-digests",
        ]
    )
    manifest = json.loads((tmp_path / "t.manifest.json").read_text())
    by_day: Counter = Counter()
    errors = 0
    codes: Counter = Counter()
    for r in _records(out):
        errors += "errorCode" in r
        if r["eventSource"] == "bedrock.amazonaws.com" and r["eventName"] in (
            "PutResourcePolicy",
            "DeleteResourcePolicy",
        ):
            codes[r.get("errorCode")] += 1
            if (
                r.get("errorCode") in RULE_CODES
                and "2026-10-01" <= r["eventTime"][:10] <= "2026-10-02"
            ):
                by_day[r["eventTime"][:10]] += 1
    assert manifest["denied_by_day"] == dict(sorted(by_day.items()))
    assert manifest["denied_total"] > 0
    assert manifest["error_records"] == errors
    share = errors / manifest["records"]
    if kind.startswith("storm"):
        assert 0.6 < share < 0.75
        assert manifest["params"]["accounts"] == 4
    else:
        assert share < 0.08


def test_new_kinds_hold_the_decoys(tmp_path: Path) -> None:
    out = tmp_path / "t"
    gen_trail.main(
        [
            "--out",
            str(out),
            "--trail",
            "storm-dense",
            "--days",
            "2",
            "--files-per-day",
            "3",
            "--records-per-file",
            "300",
            "--workers",
            "1",
            "--no-digests",
        ]
    )
    seen: Counter = Counter()
    for r in _records(out):
        src, name, code = r["eventSource"], r["eventName"], r.get("errorCode")
        if name == "PutResourcePolicy" and src != "bedrock.amazonaws.com" and code in RULE_CODES:
            seen["other service denied Put"] += 1
        if src == "bedrock-agentcore.amazonaws.com" and code in RULE_CODES:
            seen["agentcore denied"] += 1
        if src == "bedrock.amazonaws.com" and name == "GetResourcePolicy" and code in RULE_CODES:
            seen["bedrock Get denied"] += 1
        if src == "bedrock.amazonaws.com" and name in ("PutResourcePolicy", "DeleteResourcePolicy"):
            if (
                code
                and code not in RULE_CODES
                and code.lower() in ("accessdenied", "accessdeniedexception")
            ):
                seen["code case variant"] += 1
            if code in RULE_CODES:
                seen[code] += 1
        if name in gen_trail.NAME_CASE_VARIANTS:
            seen["name case variant"] += 1
        if src in gen_trail.SOURCE_VARIANTS:
            seen["source variant"] += 1
    assert set(seen) == {
        "other service denied Put",
        "agentcore denied",
        "bedrock Get denied",
        "code case variant",
        "AccessDenied",
        "AccessDeniedException",
        "name case variant",
        "source variant",
    }, seen


def test_same_options_same_bytes(tmp_path: Path) -> None:
    digests = []
    for i, workers in enumerate(("1", "2")):
        out = tmp_path / f"t{i}"
        gen_trail.main(
            [
                "--out",
                str(out),
                "--trail",
                "storm-sparse",
                "--days",
                "1",
                "--files-per-day",
                "2",
                "--records-per-file",
                "200",
                "--workers",
                workers,
            ]
        )
        digests.append(sorted((str(f.relative_to(out)), f.read_bytes()) for f in out.rglob("*.gz")))
    assert digests[0] == digests[1]
