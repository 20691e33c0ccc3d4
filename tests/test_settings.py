"""Numeric settings that would make a run hang, never stop or swamp the machine are
refused as bad input (one line, exit 2), from flags and from the config file alike."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.errors import ConfigError
from auditor.settings import load_config

MONTH = {"month": "2026-10", "config": None}


@pytest.fixture(autouse=True)
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITOR_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


BAD_NUMBERS = [
    ("--query-timeout", "nan"),
    ("--query-timeout", "inf"),
    ("--query-timeout", "-1"),
    ("--query-timeout", "0"),
    ("--max-scan-gb", "nan"),
    ("--max-scan-gb", "inf"),
    ("--max-scan-gb", "-0.5"),
    ("--concurrency", "0"),
    ("--concurrency", "100000"),
]


@pytest.mark.parametrize(("flag", "value"), BAD_NUMBERS)
def test_bad_numbers_from_flags_are_one_line_and_exit_2(flag: str, value: str) -> None:
    res = CliRunner().invoke(
        app, ["audit", "--engine", "athena", "--month", "2026-10", "--dry-run", flag, value]
    )
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"auditor: error: {flag}: "), res.stderr


@pytest.mark.parametrize(
    ("key", "toml"),
    [
        ("query_timeout", "nan"),
        ("query_timeout", "inf"),
        ("query_timeout", "-inf"),
        ("query_timeout", "0"),
        ("max_scan_gb", "nan"),
        ("max_scan_gb", "-1"),
        ("concurrency", "0"),
    ],
)
def test_bad_numbers_from_the_config_file_are_refused(tmp_path: Path, key: str, toml: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[athena]\n{key} = {toml}\n")
    flag = "--" + key.replace("_", "-")
    with pytest.raises(ConfigError, match=f"^{flag}: "):
        load_config(month="2026-10", config=cfg)


def test_sane_numbers_pass_and_zero_gb_is_a_budget() -> None:
    cfg = load_config(**MONTH, query_timeout=0.5, max_scan_gb=0.0, concurrency=8)
    assert (cfg.athena.query_timeout, cfg.athena.max_scan_gb, cfg.athena.concurrency) == (
        0.5,
        0.0,
        8,
    )


def test_workers_are_capped_at_64_per_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert load_config(**MONTH, workers=128).workers == 128
    with pytest.raises(ConfigError, match=r"^--workers: 129 is not a whole number from 1 to 128"):
        load_config(**MONTH, workers=129)


def test_ddl_refuses_a_bad_query_timeout_in_the_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[athena]\nquery_timeout = nan\n")
    res = CliRunner().invoke(app, ["ddl", "--trail", "s3://my-trail-bucket/", "--config", str(cfg)])
    assert res.exit_code == 2, res.output
    assert res.stderr.strip().startswith("auditor: error: --query-timeout: ")


def test_ddl_refuses_a_start_date_before_cloudtrail_existed() -> None:
    res = CliRunner().invoke(
        app,
        [
            "ddl",
            "--trail",
            "s3://my-trail-bucket/",
            "--account",
            "111122223333",
            "--region",
            "us-east-1",
            "--start-date",
            "2013-10-31",
        ],
    )
    assert res.exit_code == 2, res.output
    assert res.stderr.strip().startswith("auditor: error: --start-date: 2013-10-31 is before")
    ok = CliRunner().invoke(
        app,
        [
            "ddl",
            "--trail",
            "s3://my-trail-bucket/",
            "--account",
            "111122223333",
            "--region",
            "us-east-1",
            "--start-date",
            "2013-11-01",
        ],
    )
    assert ok.exit_code == 0 and "2013/11/01" in ok.stdout, ok.output
