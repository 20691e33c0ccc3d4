"""report.ocsf.json: OCSF Detection Findings (class 2004) that validate against the OCSF
models Prowler uses for Security Hub (py-ocsf-models), one per finding."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import GOLDEN, build_report
from hostile import STRINGS, hostile
from hypothesis import HealthCheck, given, settings
from orgscale import build_org_report

from auditor.model import Report
from auditor.render import ocsf
from tests.conftest import REPO, golden

models = pytest.importorskip("py_ocsf_models.events.findings.detection_finding")


def validate(objs: list[dict]) -> None:
    for obj in objs:
        # Re-reading the JSON through the schema models: required fields, types, enums.
        df = models.DetectionFinding.model_validate(obj)
        assert df.class_uid == 2004 and df.category_uid == 2
        assert df.type_uid == 200401  # class_uid * 100 + activity_id (Create)
        assert obj["class_name"] == "Detection Finding"
        assert obj["metadata"]["version"].startswith("1.")


def test_golden(report: Report) -> None:
    golden(GOLDEN / "report.ocsf.json", ocsf.render(report))


def test_one_valid_detection_finding_per_finding(report: Report) -> None:
    objs = json.loads(ocsf.render(report))
    validate(objs)
    assert [o["finding_info"]["uid"] for o in objs] == [f.id for f in report.findings]
    by_id = {o["metadata"]["uid"]: o for o in objs}
    for f in report.findings:
        o = by_id[f.id]
        assert o["count"] == f.attempts
        assert o["severity_id"] == {"low": 2, "medium": 3, "high": 4}[f.severity]
        assert o["cloud"] == {
            "account": {
                "name": f.account_id,
                "type": "AWS Account",
                "type_id": 10,
                "uid": f.account_id,
            },
            "provider": "AWS",
            "region": f.regions[0],
        }
        assert o["finding_info"]["attacks"][0]["technique"]["uid"] == "T1098"
        assert o["start_time"] <= o["end_time"] <= o["time"]
    # suppressed findings are not exported: they are not findings to work
    assert not {f.id for f in report.suppressed} & set(by_id)


def test_org_scale() -> None:
    r = build_org_report()
    objs = json.loads(ocsf.render(r))
    assert len(objs) == len(r.findings) == 520
    validate(objs)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(STRINGS)
def test_any_string_still_validates(report: Report, s: str) -> None:
    validate(json.loads(ocsf.render(hostile(report, s))))


def test_other_formats_do_not_import_pydantic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The ocsf extra is optional and heavy: rendering the default formats never loads it."""
    code = (
        "import sys; sys.path.insert(0, 'tests/render')\n"
        "from conftest import build_report\n"
        "from auditor.audit import write_reports\n"
        f"write_reports(build_report(), __import__('pathlib').Path({str(tmp_path)!r}), "
        "('json', 'md', 'html', 'csv', 'jira'))\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('pydantic', 'py_ocsf_models')]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert build_report  # the fixture module is importable from the subprocess too
