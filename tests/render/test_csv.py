"""report.csv: one row per attempt, finding id and severity on each, no formula cells."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import GOLDEN, PAYLOAD
from hostile import STRINGS, hostile
from hypothesis import HealthCheck, given, settings

from auditor.model import Report
from auditor.render import csv_report
from auditor.render.csv_report import COLUMNS, safe_cell
from tests.conftest import golden

TRIGGERS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_golden(report: Report) -> None:
    golden(GOLDEN / "report.csv", csv_report.render(report))


def test_one_row_per_attempt_newest_first_with_finding_and_severity(report: Report) -> None:
    out = rows(csv_report.render(report))
    assert len(out) == len(report.events)
    times = [r["event_time"] for r in out]
    assert times == sorted(times, reverse=True)
    ids = {f.id: f.severity for f in report.findings}
    by_id = {r["finding_id"]: r["severity"] for r in out if not r["suppressed_by"]}
    assert by_id == ids  # every reported finding, with its severity
    suppressed = [r for r in out if r["suppressed_by"]]
    assert len(suppressed) == report.totals.suppressed_attempts
    assert {r["suppressed_by"] for r in suppressed} == {"onboarding-pipeline"}
    # a reported attempt an exemption matched outside its window names the entry
    late = [r for r in out if r["outside_window_of"]]
    assert len(late) == 12 and {r["outside_window_of"] for r in late} == {"old-terraform"}
    assert not any(r["suppressed_by"] for r in late)
    assert list(out[0]) == list(COLUMNS)


def test_planted_formula_is_neutralised(report: Report) -> None:
    out = rows(csv_report.render(report))
    bob = [r for r in out if r["principal"].endswith("contractor-bob")]
    assert bob and all(r["user_agent"] == PAYLOAD for r in bob)  # starts with "<": kept as is
    for r in out:
        for cell in r.values():
            assert not cell.lstrip().startswith(TRIGGERS) or cell.startswith("'")


@pytest.mark.parametrize(
    ("raw", "cell"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("  =1+1", "'  =1+1"),
        ("\n=1", "'\n=1"),
        ("\uff1dcmd", "'\uff1dcmd"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        ("arn:aws:iam::1:role/x", "arn:aws:iam::1:role/x"),
    ],
)
def test_safe_cell(raw: str | None, cell: str) -> None:
    assert safe_cell(raw) == cell


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(STRINGS)
def test_any_string_round_trips_neutralised(report: Report, s: str) -> None:
    r = hostile(report, s)
    out = rows(csv_report.render(r))
    assert len(out) == len(r.events)  # line breaks in data never split a row
    newest = max(r.events, key=lambda e: (e.event_time, e.event_id))
    row = next(x for x in out if x["event_id"] == safe_cell(newest.event_id))
    assert row["user_agent"] == safe_cell(newest.user_agent)
    assert row["principal"] == safe_cell(newest.principal)
    for x in out:
        for cell in x.values():
            assert not cell.lstrip().startswith(TRIGGERS) or cell.startswith("'")
            assert not cell.startswith(("\t", "\r"))
