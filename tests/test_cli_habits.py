"""Command-line habits (issue 11 item 6) as a user meets them: -h, --quiet, --json,
--month last / --last Nd, shell completion, help in panels with real metavars, the summary
most severe first naming what failed --fail-on, and config-file paths relative to the file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.config import last_days, previous_month, read_config_file, relative_range
from auditor.errors import ConfigError
from auditor.synth import bedrock_policy_call, iam_user, log_key, policy, write_log

ACCT = "111122223333"
RANGE = ["--from", "2026-10-05", "--to", "2026-10-05"]


@pytest.fixture(autouse=True)
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITOR_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def mixed_trail(root: Path) -> Path:
    """bob: low x1; carol: low x3; eve: high x1 (an attempted policy granting '*')."""
    when = datetime(2026, 10, 5, 12, tzinfo=UTC)
    recs = [
        bedrock_policy_call(
            when, identity=iam_user(ACCT, "bob"), account=ACCT, region="us-east-1", event_id="b1"
        )
    ]
    recs += [
        bedrock_policy_call(
            when + timedelta(minutes=i),
            identity=iam_user(ACCT, "carol"),
            account=ACCT,
            region="us-east-1",
            event_id=f"c{i}",
        )
        for i in range(3)
    ]
    recs.append(
        bedrock_policy_call(
            when,
            identity=iam_user(ACCT, "eve"),
            account=ACCT,
            region="us-east-1",
            event_id="e1",
            resource_policy=policy({"AWS": "*"}),
        )
    )
    write_log(root, log_key(ACCT, "us-east-1", when), recs)
    return root


# -- -h -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cmd", [[], ["audit"], ["sql"], ["check"], ["ddl"], ["render"], ["demo"]])
def test_dash_h_is_help_like_dash_dash_help(cmd: list[str]) -> None:
    short, long = run(*cmd, "-h"), run(*cmd, "--help")
    assert short.exit_code == 0 and long.exit_code == 0, short.output
    assert short.output == long.output
    assert "Usage: auditor" in short.output


def test_dash_h_at_the_real_entry_point() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AUDITOR_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    res = subprocess.run(
        [sys.executable, "-m", "auditor", "audit", "-h"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert "--fail-on" in res.stdout and res.stderr == ""


# -- help panels, metavars, completion -----------------------------------------------------


def test_audit_help_is_grouped_in_panels_with_real_metavars() -> None:
    text = run("audit", "--help").output
    panels = ["Range", "Scope", "Local engine", "Athena", "Report", "Gates"]
    at = [text.index(f"─ {p} ─") for p in panels]
    assert at == sorted(at), "panels in this order"
    for metavar in (
        "YYYY-MM-DD",
        "ACCOUNT_ID",
        "REGION",
        "PATH",
        "S3_URL",
        "SECONDS",
        "GB",
        "LEVEL",
        " N ",
    ):
        assert metavar in text, metavar
    assert "TEXT" not in text and "<str>" not in text and "INTEGER" not in text
    # Each option in its panel: --from under Range, --fail-on under Gates.
    assert at[0] < text.index("--from") < at[1]
    assert at[5] < text.index("--fail-on")


def test_shell_completion_is_offered() -> None:
    text = run("--help").output
    assert "--install-completion" in text and "--show-completion" in text


# -- --quiet and --json --------------------------------------------------------------------


def test_quiet_prints_nothing_but_writes_the_reports_and_keeps_the_exit_code(
    tmp_path: Path,
) -> None:
    trail = mixed_trail(tmp_path / "trail")
    out = tmp_path / "out"
    res = run(
        "audit", "--source", str(trail), *RANGE, "--out", str(out), "--quiet", "--fail-on", "high"
    )
    assert res.exit_code == 1
    assert res.stdout == "" and res.stderr == ""
    assert (out / "report.json").exists()


def test_quiet_still_prints_errors(tmp_path: Path) -> None:
    res = run("audit", "--source", str(tmp_path / "nope"), *RANGE, "-q")
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr.startswith("auditor: error: ")


def test_json_is_the_summary_for_scripts(tmp_path: Path) -> None:
    trail = mixed_trail(tmp_path / "trail")
    out = tmp_path / "out"
    res = run(
        "audit", "--source", str(trail), *RANGE, "--out", str(out), "--json", "--fail-on", "high"
    )
    assert res.exit_code == 1, res.output
    data = json.loads(res.stdout)  # stdout is the JSON object and nothing else
    assert data["range"] == {
        "start": "2026-10-05T00:00:00Z",
        "end_exclusive": "2026-10-06T00:00:00Z",
    }
    assert data["engine"] == "local"
    assert data["totals"]["attempts"] == 5 and data["totals"]["findings"] == 3
    assert [(f["severity"], f["attempts"]) for f in data["findings"]] == [
        ("high", 1),
        ("low", 3),
        ("low", 1),
    ]
    assert set(data["findings"][0]) == {
        "id",
        "severity",
        "account",
        "principal",
        "attempts",
        "fails_gate",
    }
    assert data["findings"][0]["principal"].endswith(":user/eve")
    assert [f["fails_gate"] for f in data["findings"]] == [True, False, False]
    assert data["coverage"] == {"complete": True, "reasons": []}
    written = [Path(p) for p in data["files_written"]]
    assert {"report.csv", "report.html", "report.json", "report.md"} <= {p.name for p in written}
    assert all(p.exists() and p.parent == out for p in written)
    assert data["exit_code"] == 1 and data["fail_on"] == "high"


def test_json_names_why_coverage_is_incomplete(tmp_path: Path) -> None:
    trail = mixed_trail(tmp_path / "trail")
    (next(trail.rglob("*.json.gz")).parent / "broken.json.gz").write_bytes(b"\x1f\x8b cut")
    res = run(
        "audit", "--source", str(trail), *RANGE, "--out", str(tmp_path / "o"), "--json", "--strict"
    )
    assert res.exit_code == 4
    data = json.loads(res.stdout)
    assert data["coverage"]["complete"] is False and data["coverage"]["reasons"]
    assert data["exit_code"] == 4


# -- the terminal summary ------------------------------------------------------------------


def test_summary_lists_findings_most_severe_first_then_by_attempts(tmp_path: Path) -> None:
    trail = mixed_trail(tmp_path / "trail")
    res = run("audit", "--source", str(trail), *RANGE, "--out", str(tmp_path / "o"))
    assert res.exit_code == 0, res.output
    rows = [
        ln.split()
        for ln in res.stdout.splitlines()
        if ln.startswith("    ") and ln.split()[0] in ("low", "medium", "high")
    ]
    assert [(r[0], r[-1]) for r in rows] == [("high", "x1"), ("low", "x3"), ("low", "x1")]
    assert "--fail-on" not in res.stdout


def test_summary_names_the_findings_that_fail_the_gate(tmp_path: Path) -> None:
    trail = mixed_trail(tmp_path / "trail")
    out = tmp_path / "o"
    res = run("audit", "--source", str(trail), *RANGE, "--out", str(out), "--fail-on", "high")
    assert res.exit_code == 1
    report = json.loads((out / "report.json").read_text())
    (high,) = [f["id"] for f in report["findings"] if f["severity"] == "high"]
    lows = [f["id"] for f in report["findings"] if f["severity"] == "low"]
    (line,) = [ln for ln in res.stdout.splitlines() if "--fail-on" in ln]
    assert line == f"  --fail-on high: 1 finding(s) at or above high, exit 1: {high}"
    assert not any(i in line for i in lows)


def test_summary_names_at_most_ten_failing_findings(tmp_path: Path) -> None:
    when = datetime(2026, 10, 5, 12, tzinfo=UTC)
    recs = [
        bedrock_policy_call(
            when,
            identity=iam_user(ACCT, f"u{i:02}"),
            account=ACCT,
            region="us-east-1",
            event_id=f"e{i}",
        )
        for i in range(12)
    ]
    write_log(tmp_path / "trail", log_key(ACCT, "us-east-1", when), recs)
    res = run(
        "audit",
        "--source",
        str(tmp_path / "trail"),
        *RANGE,
        "--out",
        str(tmp_path / "o"),
        "--fail-on",
        "low",
    )
    assert res.exit_code == 1
    (line,) = [ln for ln in res.stdout.splitlines() if "--fail-on" in ln]
    assert "12 finding(s)" in line and "(first 10)" in line
    assert len(line.split("): ", 1)[1].split(", ")) == 10


# -- --month last and --last Nd ------------------------------------------------------------


def test_month_last_is_the_previous_calendar_month() -> None:
    assert previous_month(date(2026, 11, 30)) == "2026-10"
    assert previous_month(date(2027, 1, 1)) == "2026-12"
    assert previous_month(date(2024, 3, 31)) == "2024-02"


def test_last_nd_is_the_n_whole_days_before_today() -> None:
    assert last_days("7d", date(2026, 11, 30)) == ("2026-11-23", "2026-11-29")
    assert last_days("1d", date(2026, 3, 1)) == ("2026-02-28", "2026-02-28")
    assert last_days("30d", date(2026, 11, 30)) == ("2026-10-31", "2026-11-29")
    for bad in ("7", "12h", "0d", "-3d", "d", "7 days", "1w"):
        with pytest.raises(ConfigError, match="--last"):
            last_days(bad, date(2026, 11, 30))


def test_last_does_not_mix_with_other_ranges() -> None:
    with pytest.raises(ConfigError, match="one of --last, --month or --from/--to"):
        relative_range("2026-10-01", None, None, "7d", date(2026, 11, 30))
    with pytest.raises(ConfigError, match="one of --last"):
        relative_range(None, None, "2026-10", "7d", date(2026, 11, 30))
    assert relative_range(None, None, "LAST", None, date(2026, 11, 30)) == (None, None, "2026-10")
    assert relative_range("a", "b", None, None) == ("a", "b", None)


def _range_of(tmp_path: Path, *flags: str) -> dict[str, str]:
    trail = mixed_trail(tmp_path / "trail")
    res = run("audit", "--source", str(trail), *flags, "--out", str(tmp_path / "o"), "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)["range"]


def test_audit_last_7d_from_the_clock(tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    rng = _range_of(tmp_path, "--last", "7d")
    assert rng == {
        "start": f"{today - timedelta(days=7)}T00:00:00Z",
        "end_exclusive": f"{today}T00:00:00Z",
    }


def test_audit_month_last_from_the_clock(tmp_path: Path) -> None:
    this_month = datetime.now(UTC).date().replace(day=1)
    first = (this_month - timedelta(days=1)).replace(day=1)
    rng = _range_of(tmp_path, "--month", "last")
    assert rng == {"start": f"{first}T00:00:00Z", "end_exclusive": f"{this_month}T00:00:00Z"}


def test_bad_last_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for args in (["--last", "12h"], ["--last", "7d", "--month", "last"]):
        res = run("audit", "--source", str(tmp_path), *args)
        assert res.exit_code == 2, res.output
        assert res.stderr.startswith("auditor: error: --last") or "--last" in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1


def test_sql_takes_last_too() -> None:
    today = datetime.now(UTC).date()
    res = run("sql", "--last", "3d")
    assert res.exit_code == 0, res.output
    assert str(today - timedelta(days=3)) in res.stdout


# -- config-file paths ---------------------------------------------------------------------


def test_config_paths_are_relative_to_the_config_files_folder(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    f = conf / "auditor.toml"
    f.write_text(
        '[audit]\nsource = "trail"\nexemptions = "ex.toml"\ncache = "~/c"\n'
        'store = "/abs/store"\n'
        '[athena]\nstate_dir = "state"\n'
    )
    data = read_config_file(f)
    assert data["audit"]["source"] == str(conf / "trail")
    assert data["audit"]["exemptions"] == str(conf / "ex.toml")
    assert data["audit"]["cache"] == str(Path("~/c").expanduser())
    assert data["audit"]["store"] == "/abs/store"
    assert data["athena"]["state_dir"] == str(conf / "state")
    f.write_text('[audit]\nsource = "s3://bucket/prefix"\n')
    assert read_config_file(f)["audit"]["source"] == "s3://bucket/prefix"


def test_an_audit_run_elsewhere_finds_the_config_files_trail_and_exemptions(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = tmp_path / "conf"
    mixed_trail(conf / "trail")
    (conf / "auditor.toml").write_text('[audit]\nsource = "trail"\nexemptions = "ex.toml"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    res = run("audit", "--config", str(conf / "auditor.toml"), *RANGE, "--out", "o")
    # The exemptions file is looked for next to the config file, not in the cwd.
    assert res.exit_code == 2
    assert str(conf / "ex.toml") in res.stderr
    (conf / "auditor.toml").write_text('[audit]\nsource = "trail"\n')
    res = run("audit", "--config", str(conf / "auditor.toml"), *RANGE, "--out", "o", "-q")
    assert res.exit_code == 0, res.output
    assert (elsewhere / "o" / "report.json").exists()
