"""The --out folder: reports appear whole or not at all, symlinks are not followed, an
older run's other formats do not linger, and two audits never write one folder at once."""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from auditor import render
from auditor.audit import write_reports
from auditor.cli import app
from auditor.errors import RenderError
from auditor.outdir import LOCK_NAME, out_lock, replace_files
from auditor.render import json_report
from auditor.synth import bedrock_policy_call, iam_user, log_key, write_log

ACCT = "111122223333"
DAY = ["--from", "2026-10-05", "--to", "2026-10-05"]
NAMES = ["report.csv", "report.html", "report.json", "report.md"]


@pytest.fixture(autouse=True)
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITOR_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    when = datetime(2026, 10, 5, 12, tzinfo=UTC)
    rec = bedrock_policy_call(
        when, identity=iam_user(ACCT, "bob"), account=ACCT, region="us-east-1", event_id="e1"
    )
    write_log(tmp_path / "trail", log_key(ACCT, "us-east-1", when), [rec])
    return tmp_path / "trail"


def audit(trail: Path, out: Path, *extra: str) -> Any:
    return CliRunner().invoke(
        app, ["audit", "--source", str(trail), *DAY, "--out", str(out), *extra]
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def previous_run(trail: Path, out: Path) -> dict[str, bytes]:
    assert audit(trail, out).exit_code == 0
    return snapshot(out)


def another_report(trail: Path, tmp_path: Path) -> Any:
    """A report that differs from the one in the previous run's files (its range)."""
    other = tmp_path / "other"
    res = CliRunner().invoke(
        app,
        [
            "audit",
            "--source",
            str(trail),
            "--from",
            "2026-10-04",
            "--to",
            "2026-10-05",
            "--out",
            str(other),
        ],
    )
    assert res.exit_code == 0, res.output
    return json_report.loads((other / "report.json").read_text())


def test_a_full_disk_mid_way_leaves_the_previous_reports_whole(trail: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    before = previous_run(trail, out)
    report = another_report(trail, tmp_path)
    texts = render.render_all(report, ("json", "html"))
    small, big = len(texts["report.json"].encode()), len(texts["report.html"].encode())
    assert small < big
    # The file system refuses bytes past `limit` (EFBIG, as ENOSPC would): report.json
    # fits, report.html is cut off part-way.
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, ((small + big) // 2, hard))
    try:
        with pytest.raises(RenderError, match="cannot write the reports"):
            write_reports(report, out, ("json", "html"))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)
    assert snapshot(out) == before  # every old report whole, no temporary file left


def test_enospc_on_the_second_format_leaves_the_previous_reports_whole(
    trail: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    before = previous_run(trail, out)
    report = another_report(trail, tmp_path)
    real_fsync, calls = os.fsync, []

    def full_disk(fd: int) -> None:  # the second file's data never reaches the disk
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(RenderError, match="No space left on device"):
        write_reports(report, out, ("json", "md", "html", "csv"))
    assert snapshot(out) == before


class _InterruptedAfterFirst(dict[str, str]):
    """render_all's answer, but Ctrl-C arrives after the first file was handed over."""

    def items(self) -> Iterator[tuple[str, str]]:  # type: ignore[override]
        first = True
        for item in super().items():
            if not first:
                raise KeyboardInterrupt
            first = False
            yield item


def test_ctrl_c_while_writing_is_130_and_leaves_the_previous_reports_whole(
    trail: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    before = previous_run(trail, out)
    real = render.render_all
    monkeypatch.setattr(render, "render_all", lambda *a: _InterruptedAfterFirst(real(*a)))
    res = CliRunner().invoke(
        app,
        [
            "audit",
            "--source",
            str(trail),
            "--from",
            "2026-10-04",
            "--to",
            "2026-10-05",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 130, res.output
    assert res.stderr.strip() == "auditor: interrupted"
    assert snapshot(out) == before  # nothing replaced, no temporary file, no lock file


def test_a_symlink_at_a_report_name_is_replaced_not_followed(trail: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    for name in NAMES:
        (out / name).symlink_to(victim)
    res = audit(trail, out)
    assert res.exit_code == 0, res.output
    assert victim.read_text() == "keep me"
    for name in NAMES:
        assert not (out / name).is_symlink() and (out / name).is_file()
    assert json.loads((out / "report.json").read_text())["totals"]["attempts"] == 1


def test_format_json_removes_an_older_runs_other_formats(trail: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    previous_run(trail, out)
    (out / "notes.md").write_text("mine")  # not one of our names: kept
    res = audit(trail, out, "--format", "json")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.md", "report.json"]


def test_a_second_audit_into_a_locked_out_refuses_and_writes_nothing(
    trail: Path, tmp_path: Path
) -> None:
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    with open(out / LOCK_NAME, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        res = audit(trail, out)
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("auditor: error: --out ")
    assert "another auditor" in lines[0]
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]  # no report written


def test_the_lock_is_reentrant_in_one_process_and_removed_after(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with out_lock(out):
        assert (out / LOCK_NAME).exists()
        with out_lock(out):  # write_reports inside the CLI's own lock
            replace_files(out, {"report.json": b"{}"})
        assert (out / LOCK_NAME).exists()
    assert [p.name for p in out.iterdir()] == ["report.json"]


def test_a_run_that_fails_before_writing_leaves_no_out_folder(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app, ["audit", "--source", str(tmp_path / "nope"), *DAY, "--out", str(tmp_path / "a" / "b")]
    )
    assert res.exit_code == 2
    assert not (tmp_path / "a").exists()
