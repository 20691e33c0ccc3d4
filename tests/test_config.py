"""Settings: the date range (inclusive UTC days, folders to+1), --month, validation of
accounts and regions, the TOML file, and flags over file over defaults."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from auditor.config import (
    DateRange,
    parse_range,
    read_config_file,
    validate_accounts,
    validate_regions,
)
from auditor.errors import ConfigError
from auditor.settings import load_config as build_config


def test_range_is_inclusive_days_with_one_folder_of_delivery_lag() -> None:
    rng = parse_range("2026-10-30", "2026-11-01", None)
    assert (rng.start_iso, rng.end_iso) == ("2026-10-30T00:00:00Z", "2026-11-02T00:00:00Z")
    assert rng.days == [date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1)]
    assert rng.folder_days == rng.days + [date(2026, 11, 2)]


@pytest.mark.parametrize(
    ("month", "first", "last"),
    [
        ("2026-10", date(2026, 10, 1), date(2026, 10, 31)),
        ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),  # leap year
        ("2026-12", date(2026, 12, 1), date(2026, 12, 31)),
    ],
)
def test_month_is_the_whole_month(month: str, first: date, last: date) -> None:
    rng = parse_range(None, None, month)
    assert (rng.first, rng.last) == (first, last)
    assert rng.end_iso == f"{last + timedelta(days=1)}T00:00:00Z"


def test_a_single_day() -> None:
    rng = parse_range("2026-10-05", "2026-10-05", None)
    assert rng == DateRange(date(2026, 10, 5), date(2026, 10, 5))
    assert rng.folder_days == [date(2026, 10, 5), date(2026, 10, 6)]


@pytest.mark.parametrize(
    ("start", "end", "month", "message"),
    [
        ("2026-13-01", "2026-12-01", None, "--from: '2026-13-01' is not a date"),
        ("2026-10-01", "yesterday", None, "--to: 'yesterday' is not a date"),
        ("2026-02-30", "2026-03-01", None, "is not a date"),
        ("2026-10-02", "2026-10-01", None, "--from 2026-10-02 is after --to 2026-10-01"),
        ("2026-10-01", None, None, "give a date range"),
        (None, None, None, "give a date range"),
        (None, None, "2026-1", "--month: '2026-1' is not a month"),
        (None, None, "2026-13", "is not a month"),
        (None, None, "2026-00", "is not a month"),
        (None, None, "0000-01", "is not a month"),
        (None, None, "october", "is not a month"),
        ("2026-10-01", None, "2026-10", "either --month or --from/--to"),
        (None, "2026-10-31", "2026-10", "either --month or --from/--to"),
        ("9999-12-30", "9999-12-31", None, "too far in the future"),
        (None, None, "9999-12", "too far in the future"),
    ],
)
def test_bad_dates_are_config_errors(  # type: ignore[no-untyped-def]
    start, end, month, message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_range(start, end, month)


def test_accounts_and_regions_are_validated_deduplicated_sorted() -> None:
    assert validate_accounts(("444455556666", "111122223333", "444455556666")) == (
        "111122223333",
        "444455556666",
    )
    assert validate_regions(("us-east-1", "eu-west-1")) == ("eu-west-1", "us-east-1")
    for bad in ("", "1111'; DROP", "../etc", "a b", "x" * 65):
        with pytest.raises(ConfigError, match="--account"):
            validate_accounts((bad,))
    for bad in ("US-EAST-1", "us_east_1", "", "us-east-1'"):
        with pytest.raises(ConfigError, match="--region"):
            validate_regions((bad,))


def test_config_file_missing_or_broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITOR_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert read_config_file(None) == {}  # no default file: no settings
    with pytest.raises(ConfigError, match="does not exist"):
        read_config_file(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[audit\nsource = ")
    with pytest.raises(ConfigError, match="bad.toml"):
        read_config_file(bad)
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        read_config_file(None)


def test_flags_win_over_the_file_which_wins_over_defaults(tmp_path: Path) -> None:
    cfg_file = tmp_path / "auditor.toml"
    cfg_file.write_text(
        '[audit]\nsource = "/from/file"\naccounts = ["111122223333"]\nformat = ["json"]\n'
        'from = "2026-09-01"\nto = "2026-09-30"\n'
    )
    from_file = build_config(config=cfg_file)
    assert from_file.source == "/from/file"
    assert from_file.accounts == ("111122223333",)
    assert from_file.formats == ("json",)
    assert (from_file.range.first, from_file.range.last) == (date(2026, 9, 1), date(2026, 9, 30))
    assert from_file.engine == "local"  # the default
    flags = build_config(
        config=cfg_file, source="/from/flag", account=["444455556666"], month="2026-10"
    )
    assert flags.source == "/from/flag"
    assert flags.accounts == ("444455556666",)
    assert (flags.range.first, flags.range.last) == (date(2026, 10, 1), date(2026, 10, 31))


def test_a_bad_value_in_the_file_is_a_config_error(tmp_path: Path) -> None:
    cfg_file = tmp_path / "auditor.toml"
    cfg_file.write_text('[audit]\nengine = "bigquery"\nfrom = "2026-10-01"\nto = "2026-10-02"\n')
    with pytest.raises(ConfigError, match="--engine"):
        build_config(config=cfg_file)


@pytest.mark.parametrize(
    ("start", "end", "month", "flag"),
    [
        ("2013-10-31", "2026-10-01", None, "--from"),
        ("1026-10-01", "1026-10-31", None, "--from"),
        (None, None, "2013-10", "--month"),
        (None, None, "0001-01", "--month"),
    ],
)
def test_a_range_before_cloudtrail_existed_is_refused(  # type: ignore[no-untyped-def]
    start, end, month, flag: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{flag}: .* before CloudTrail existed"):
        parse_range(start, end, month)
    assert parse_range(None, None, "2013-11").first == date(2013, 11, 1)
    assert parse_range("2013-11-01", "2013-11-01", None).first == date(2013, 11, 1)


REAL_REGIONS = (
    "us-east-1",
    "eu-central-2",
    "ap-southeast-5",
    "il-central-1",
    "ca-west-1",
    "mx-central-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "us-iso-east-1",
    "us-isob-east-1",
    "eu-isoe-west-1",
    "us-isof-south-1",
)


def test_accounts_are_12_digits_and_regions_region_shaped() -> None:
    for bad in ("12345", "1234567890123", "abcdefghijkl", "o-a1b2c3d4e5", "11112222333a"):
        with pytest.raises(ConfigError, match="12-digit"):
            validate_accounts((bad,))
    assert validate_regions(REAL_REGIONS) == tuple(sorted(REAL_REGIONS))
    for bad in ("global", "us-east", "useast1", "us-east-1a", "aws-global", "a-b-1", "east-1"):
        with pytest.raises(ConfigError, match="--region"):
            validate_regions((bad,))


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "--source", ".", "--month", "2026-10", "--account", "12345"],
        ["audit", "--source", ".", "--month", "2026-10", "--region", "mars-1"],
        ["audit", "--source", ".", "--month", "2026-10", "--own-account", "123"],
        ["sql", "--month", "2026-10", "--account", "1111-2222-3333"],
        ["sql", "--month", "2026-10", "--region", "us-east"],
        ["ddl", "--trail", "s3://my-trail-bucket/p", "--account", "1234", "--region", "us-east-1"],
        [
            "ddl",
            "--trail",
            "s3://my-trail-bucket/p",
            "--account",
            "111122223333",
            "--region",
            "global",
        ],
    ],
)
def test_a_bad_account_or_region_flag_is_one_line_and_exit_2(argv: list[str]) -> None:
    from typer.testing import CliRunner

    from auditor.cli import app

    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and (
        "--account" in lines[0] or "--region" in lines[0] or "--own-account" in lines[0]
    ), result.output


def test_a_bad_account_in_the_config_file_is_refused(tmp_path: Path) -> None:
    from auditor.settings import load_config

    cfg = tmp_path / "c.toml"
    cfg.write_text('[audit]\naccounts = ["12345"]\n')
    with pytest.raises(ConfigError, match="12-digit"):
        load_config(config=cfg, month="2026-10")
    cfg.write_text('[audit]\nregions = ["moon-base"]\n')
    with pytest.raises(ConfigError, match="region"):
        load_config(config=cfg, month="2026-10")
