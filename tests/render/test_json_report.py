"""report.json: the documented contract, read back into the very same Report."""

from __future__ import annotations

import dataclasses
import json

import pytest
from conftest import GOLDEN

from auditor.errors import RenderError
from auditor.model import SCHEMA_VERSION, Report
from auditor.render import json_report
from tests.conftest import golden

DOCS = GOLDEN.parents[2] / "docs" / "report-schema.md"


def test_golden(report: Report) -> None:
    golden(GOLDEN / "report.json", json_report.render(report))


def test_round_trip_is_exact(report: Report) -> None:
    text = json_report.render(report)
    again = json_report.loads(text)
    assert again == report
    assert json_report.render(again) == text


def test_every_model_field_is_written(report: Report) -> None:
    data = json.loads(json_report.render(report))
    report_fields = {f.name for f in dataclasses.fields(Report)} - {"range_start", "range_end"}
    assert report_fields | {"range"} == set(data)
    assert set(data["findings"][0]) == {f.name for f in dataclasses.fields(report.findings[0])}
    assert set(data["events"][0]) == {f.name for f in dataclasses.fields(report.events[0])}
    assert data["coverage"]["complete"] is False
    assert data["provenance"]["total_cost_usd"] == report.provenance.total_cost_usd


def test_every_field_is_documented(report: Report) -> None:
    """docs/report-schema.md names every key report.json can hold."""
    doc = DOCS.read_text(encoding="utf-8")
    data = json.loads(json_report.render(report))

    def keys(obj: object, prefix: str = "") -> set[str]:
        out: set[str] = set()
        if isinstance(obj, dict):
            for k, v in obj.items():
                # maps keyed by data (actions, error_codes, config) document their shape only
                if prefix.rsplit(".", 1)[-1] in ("actions", "error_codes", "config"):
                    continue
                out.add(k)
                out |= keys(v, f"{prefix}.{k}")
        elif isinstance(obj, list):
            for v in obj:
                out |= keys(v, prefix)
        return out

    missing = sorted(k for k in keys(data) if f"`{k}`" not in doc)
    assert not missing, f"undocumented report.json keys: {missing}"
    assert f"schema_version` | integer | `{SCHEMA_VERSION}`" in doc


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"schema_version": 99}', "schema_version 1"),
        ("[]", "schema_version 1"),
        ('{"schema_version": 1, "rule": {}}', "missing or has a malformed field"),
    ],
)
def test_bad_json_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(RenderError, match=message):
        json_report.loads(text)


def test_every_event_names_its_finding(report: Report) -> None:
    ids = {f.id for f in report.findings + report.suppressed}
    assert all(e.finding_id in ids for e in report.events)


def test_a_report_written_before_events_carried_finding_id_still_renders(
    report: Report,
) -> None:
    from auditor.render import csv_report, html

    data = json_report.to_dict(report)
    for e in data["events"]:
        del e["finding_id"]
    old = json_report.from_dict(data)
    assert all(e.finding_id is None for e in old.events)
    assert csv_report.render(old) == csv_report.render(report)
    assert html.render(old).count("<tr") == html.render(report).count("<tr")


def test_a_report_of_a_rule_not_installed_renders_without_a_guide(report: Report) -> None:
    from auditor.render import html

    other = dataclasses.replace(report, rule=dataclasses.replace(report.rule, id="not-here"))
    page = html.render(other)
    assert "Investigation guide" in page and "<dt>Who made the call</dt>" not in page
