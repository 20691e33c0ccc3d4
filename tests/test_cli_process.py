"""The command line as a process: a reader that goes away, Ctrl-C, and a demo that
never deletes what it did not write."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.errors import ConfigError


@pytest.fixture(autouse=True)
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITOR_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AUDITOR_"))}
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    return env


def test_demo_refuses_to_replace_a_trail_folder_it_did_not_write(tmp_path: Path) -> None:
    mine = tmp_path / "d" / "trail" / "AWSLogs" / "notes.txt"
    mine.parent.mkdir(parents=True)
    mine.write_text("the user's own files")
    res = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "d")])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "was not written by the demo" in lines[0], res.stderr
    assert mine.read_text() == "the user's own files"
    assert not (tmp_path / "d" / "report.json").exists()


def test_a_demo_trail_is_replaced_and_a_symlink_to_one_is_not(tmp_path: Path) -> None:
    from auditor.synth import DEMO_MARKER, remove_demo_trail

    ours = tmp_path / "trail"
    (ours / "AWSLogs").mkdir(parents=True)
    (ours / DEMO_MARKER).write_text("")
    link = tmp_path / "link"
    link.symlink_to(ours)
    with pytest.raises(ConfigError, match="not written by the demo"):
        remove_demo_trail(link)
    assert (ours / "AWSLogs").is_dir()
    remove_demo_trail(ours)
    assert not ours.exists()
    remove_demo_trail(ours)  # nothing there: nothing to do


@pytest.mark.parametrize("args", [["sql", "--month", "2026-10"], ["demo", "--out", "{tmp}"]])
def test_a_reader_that_went_away_is_a_quiet_exit(tmp_path: Path, args: list[str]) -> None:
    """`auditor demo | head`: no traceback, no 'internal error', the shell's SIGPIPE code."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "auditor", *(a.format(tmp=tmp_path / "d") for a in args)],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            timeout=120,
        )
    finally:
        os.close(write)
    assert proc.stderr == ""
    assert proc.returncode == 141


def test_ctrl_c_anywhere_in_a_command_is_one_line_and_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(**_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("auditor.cli.load_config", interrupted)
    res = CliRunner().invoke(app, ["audit", "--month", "2026-10", "--source", str(tmp_path)])
    assert res.exit_code == 130
    assert res.stderr == "auditor: interrupted\n"
