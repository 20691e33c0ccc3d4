"""`auditor render report.json --out DIR`: every format rebuilt from the JSON alone,
byte for byte the same as the audit wrote, and the same on every run."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.audit import write_reports
from auditor.cli import app
from auditor.model import Report

FILES = ("report.json", "report.md", "report.html", "report.csv")


@pytest.fixture(autouse=True)
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITOR_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def render(src: Path, out: Path, *extra: str) -> None:
    res = CliRunner().invoke(app, ["render", str(src), "--out", str(out), *extra])
    assert res.exit_code == 0, res.output


def test_same_json_same_bytes_every_time(report: Report, tmp_path: Path) -> None:
    write_reports(report, tmp_path / "orig", ("json", "md", "html", "csv"))
    src = tmp_path / "orig" / "report.json"
    render(src, tmp_path / "a")
    render(tmp_path / "a" / "report.json", tmp_path / "b")
    for name in FILES:
        original = (tmp_path / "orig" / name).read_bytes()
        assert (tmp_path / "a" / name).read_bytes() == original, name
        assert (tmp_path / "b" / name).read_bytes() == original, name


def test_render_of_an_audits_json_equals_the_audits_own_reports(
    demo_trail,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    res = CliRunner().invoke(
        app,
        [
            "audit",
            "--source",
            str(demo_trail.root),
            "--month",
            "2026-10",
            "--out",
            str(tmp_path / "demo"),
        ],
    )
    assert res.exit_code == 0, res.output
    render(tmp_path / "demo" / "report.json", tmp_path / "again")
    for name in FILES:
        assert (tmp_path / "again" / name).read_bytes() == (
            tmp_path / "demo" / name
        ).read_bytes(), name


def test_one_format(report: Report, tmp_path: Path) -> None:
    write_reports(report, tmp_path, ("json",))
    render(tmp_path / "report.json", tmp_path / "md-only", "--format", "md")
    assert sorted(p.name for p in (tmp_path / "md-only").iterdir()) == ["findings.md", "report.md"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{broken", "not valid JSON"),
        ('{"schema_version": 7}', "schema_version 1"),
    ],
)
def test_bad_report_json_is_one_line_and_exit_2(
    tmp_path: Path, content: str | None, message: str
) -> None:
    src = tmp_path / "report.json"
    if content is not None:
        src.write_text(content, encoding="utf-8")
    res = CliRunner().invoke(app, ["render", str(src), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("auditor: error:") and message in lines[0]
    assert "Traceback" not in res.output


def test_every_file_a_format_writes_is_known_as_ours() -> None:
    """A run removes another run's files of formats it did not write: it must know them all."""
    from auditor.config import FORMATS
    from auditor.render import FILENAMES, all_filenames, outputs

    assert set(FILENAMES) == set(FORMATS)
    written = {name for fmt in FORMATS for name, _ in outputs(fmt)}
    assert written == set(all_filenames())
