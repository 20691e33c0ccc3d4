"""The command line as a user meets it: bad input is one line and exit 2, reports land
in --out under fixed names, --strict turns incomplete coverage into exit 4, the demo
works from any folder, the wheel ships rules/, sql/ and reports/, and the local path does not
import the AWS stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.synth import bedrock_policy_call, iam_user, log_key, write_log

REPO = Path(__file__).resolve().parents[1]
ACCT = "111122223333"
RANGE = ["--from", "2026-10-05", "--to", "2026-10-05"]


@pytest.fixture(autouse=True)
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No config file of the machine's user leaks into these runs."""
    monkeypatch.delenv("AUDITOR_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def tiny_trail(root: Path, damaged: bool = False) -> Path:
    when = datetime(2026, 10, 5, 12, tzinfo=UTC)
    rec = bedrock_policy_call(
        when, identity=iam_user(ACCT, "bob"), account=ACCT, region="us-east-1", event_id="e1"
    )
    path = write_log(root, log_key(ACCT, "us-east-1", when), [rec])
    if damaged:
        (path.parent / "broken.json.gz").write_bytes(b"\x1f\x8b\x08\x00 cut")
    return root


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def assert_one_error_line(result, code: int = 2) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("auditor: error: "), lines[0]
    return lines[0]


BAD_INPUT = {
    "missing source": (["--source", "{tmp}/nope", *RANGE], "no such folder"),
    "source is a file": (["--source", "{tmp}/file.txt", *RANGE], "not a folder"),
    "no AWSLogs": (["--source", "{tmp}/empty", *RANGE], "no AWSLogs"),
    "month 13": (["--source", "{trail}", "--from", "2026-13-01", "--to", "2026-12-31"], "--from"),
    "yesterday": (
        ["--source", "{trail}", "--from", "yesterday", "--to", "2026-10-01"],
        "not a date",
    ),
    "from after to": (
        ["--source", "{trail}", "--from", "2026-10-02", "--to", "2026-10-01"],
        "after",
    ),
    "bad month": (["--source", "{trail}", "--month", "2026-1"], "--month"),
    "month 00": (["--source", "{trail}", "--month", "2026-00"], "--month"),
    "month and from": (
        ["--source", "{trail}", "--month", "2026-10", "--from", "2026-10-01"],
        "either --month or --from/--to",
    ),
    "no range": (["--source", "{trail}"], "date range"),
    "unknown engine": (["--source", "{trail}", *RANGE, "--engine", "bigquery"], "--engine"),
    "unknown format": (["--source", "{trail}", *RANGE, "--format", "pdf"], "--format"),
    "bad account": (["--source", "{trail}", *RANGE, "--account", "12'; DROP TABLE x"], "--account"),
    "bad region": (["--source", "{trail}", *RANGE, "--region", "US EAST"], "--region"),
    "missing config": (
        ["--source", "{trail}", *RANGE, "--config", "{tmp}/none.toml"],
        "does not exist",
    ),
    "no workers": (["--source", "{trail}", *RANGE, "--workers", "0"], "--workers"),
    "bad own account": (["--source", "{trail}", *RANGE, "--own-account", "x!"], "--own-account"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    args, fragment = BAD_INPUT[case]
    trail = tiny_trail(tmp_path / "trail")
    (tmp_path / "empty" / "a" / "b").mkdir(parents=True)
    (tmp_path / "file.txt").write_text("x")
    argv = [a.format(tmp=tmp_path, trail=trail) for a in args]
    result = run("audit", *argv, "--out", str(tmp_path / "out"))
    line = assert_one_error_line(result)
    assert fragment in line
    assert not (tmp_path / "out" / "report.json").exists()


def test_sql_command_rejects_bad_dates_the_same_way() -> None:
    assert "not a date" in assert_one_error_line(run("sql", "--from", "x", "--to", "y"))


def test_audit_writes_the_reports_under_fixed_names(tmp_path: Path) -> None:
    trail = tiny_trail(tmp_path / "trail")
    result = run("audit", "--source", str(trail), *RANGE, "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["findings.md", "report.csv", "report.html", "report.json", "report.md"]
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["schema_version"] == 1
    assert data["range"] == {"start": "2026-10-05T00:00:00Z", "end": "2026-10-06T00:00:00Z"}
    assert data["totals"]["attempts"] == 1
    assert data["findings"][0]["principal"] == f"arn:aws:iam::{ACCT}:user/bob"
    # The terminal summary: attempts and files scanned.
    assert "1 denied attempt(s)" in result.stdout
    assert "scanned 1 files" in result.stdout
    assert "report.json" in result.stdout


def test_format_json_writes_only_report_json(tmp_path: Path) -> None:
    trail = tiny_trail(tmp_path / "trail")
    result = run(
        "audit", "--source", str(trail), *RANGE, "--out", str(tmp_path / "out"), "--format", "json"
    )
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["report.json"]


def test_damaged_file_exit_0_with_report_and_exit_4_with_strict(tmp_path: Path) -> None:
    trail = tiny_trail(tmp_path / "trail", damaged=True)
    ok = run("audit", "--source", str(trail), *RANGE, "--out", str(tmp_path / "a"))
    assert ok.exit_code == 0, ok.output
    assert "1 unreadable file(s)" in ok.stdout and "INCOMPLETE" in ok.stdout
    data = json.loads((tmp_path / "a" / "report.json").read_text())
    assert data["coverage"]["files_unreadable"] == 1
    assert data["coverage"]["unreadable"][0]["path"].endswith("broken.json.gz")
    assert data["totals"]["attempts"] == 1  # the audit went on
    strict = run("audit", "--source", str(trail), *RANGE, "--out", str(tmp_path / "b"), "--strict")
    assert strict.exit_code == 4, strict.output
    assert (tmp_path / "b" / "report.json").exists()  # written all the same
    clean = tiny_trail(tmp_path / "clean")
    assert (
        run(
            "audit", "--source", str(clean), *RANGE, "--out", str(tmp_path / "c"), "--strict"
        ).exit_code
        == 0
    )


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AUDITOR_"))}
    env["PYTHONPATH"] = ""
    return env


def test_demo_works_from_an_unrelated_folder(tmp_path: Path) -> None:
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", "demo", "--out", "demo-out"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("report.json", "report.md", "report.html", "report.csv"):
        assert (cwd / "demo-out" / name).is_file()
    data = json.loads((cwd / "demo-out" / "report.json").read_text())
    attempts = data["totals"]["attempts"]
    assert attempts >= 5 and data["coverage"]["files_scanned"] > 100
    assert f"{attempts} denied attempt(s)" in proc.stdout


def test_local_audit_does_not_import_the_aws_stack(tmp_path: Path) -> None:
    trail = tiny_trail(tmp_path / "trail")
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "auditor",
            "audit",
            "--source",
            str(trail),
            *RANGE,
            "--out",
            str(tmp_path / "out"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "duckdb" in modules and "auditor" in modules  # the trace is real
    for heavy in ("awswrangler", "pandas", "boto3", "botocore"):
        assert heavy not in modules, f"the local path imports {heavy}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        pytest.skip(
            f"cannot build the wheel here (hatchling from the package index?): "
            f"{proc.stderr.strip().splitlines()[-1:]}"
        )
    (whl,) = out.glob("auditor-*.whl")
    return whl


def test_the_wheel_ships_rules_sql_and_report_templates(wheel: Path, tmp_path: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for top in ("rules", "sql"):
        for path in (REPO / top).rglob("*"):
            if path.is_file():
                assert f"auditor/_data/{top}/{path.relative_to(REPO / top).as_posix()}" in names
    rule = "auditor/_data/rules/bedrock_policy_denied"
    for name in ("rule.toml", "queries.toml", "guide.j2", "denied_policy_changes.sql"):
        assert f"{rule}/{name}" in names
    assert "auditor/_data/sql/macros/common.sql" in names
    # only the shipped rule: the tests' own rules stay out
    assert {n.split("/")[3] for n in names if n.startswith("auditor/_data/rules/")} == {
        "bedrock_policy_denied"
    }
    assert "auditor/_data/reports/report.html.j2" in names
    assert "auditor/_data/reports/report.md.j2" in names
    assert not any(n.startswith(("tests/", "bench")) for n in names)
    # Installed (unpacked on the path ahead of the checkout), it finds its own data and
    # runs the demo from an unrelated folder.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = _env() | {"PYTHONPATH": str(site)}
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import auditor.resources as r; print(r.data_dir('sql')); print(r.shipped_rule_dir())",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert where.stdout.split() == [
        str(site / "auditor" / "_data" / "sql"),
        str(site / "auditor" / "_data" / "rules" / "bedrock_policy_denied"),
    ]
    demo = subprocess.run(
        [sys.executable, "-m", "auditor", "demo", "--out", "d"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert demo.returncode == 0, demo.stderr
    assert (cwd / "d" / "report.html").is_file() and (cwd / "d" / "report.md").is_file()
    assert "<dt>Who made the call</dt>" in (cwd / "d" / "report.html").read_text()  # the guide


def test_out_that_is_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    trail = tiny_trail(tmp_path / "trail")
    (tmp_path / "taken").write_text("not a folder")
    result = run("audit", "--source", str(trail), *RANGE, "--out", str(tmp_path / "taken"))
    assert "cannot write the reports" in assert_one_error_line(result)


def test_source_may_name_the_awslogs_folder_itself(tmp_path: Path) -> None:
    trail = tiny_trail(tmp_path / "trail")
    out = tmp_path / "out"
    result = run(
        "audit", "--source", str(trail / "AWSLogs"), *RANGE, "--out", str(out), "--format", "json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads((out / "report.json").read_text())["totals"]["attempts"] == 1


def test_an_account_asked_for_but_absent_is_a_gap_not_silence(tmp_path: Path) -> None:
    trail = tiny_trail(tmp_path / "trail")
    out = tmp_path / "out"
    result = run(
        "audit",
        "--source",
        str(trail),
        *RANGE,
        "--out",
        str(out),
        "--format",
        "json",
        "--account",
        ACCT,
        "--account",
        "999988887777",
    )
    assert result.exit_code == 0, result.output
    gaps = json.loads((out / "report.json").read_text())["coverage"]["gaps"]
    assert [g["account_id"] for g in gaps] == ["999988887777"]
    assert gaps[0]["days"] == 1


def test_a_misspelt_config_setting_is_one_line_and_exit_2(tmp_path: Path) -> None:
    trail = tiny_trail(tmp_path / "trail")
    cfg = tmp_path / "auditor.toml"
    cfg.write_text('[audit]\nsource = "x"\nmin_attempt = 3\n')
    result = run("audit", "--source", str(trail), *RANGE, "--config", str(cfg))
    assert "unknown setting(s) in [audit]: min_attempt" in assert_one_error_line(result)


def test_config_file_settings_apply_and_flags_win(tmp_path: Path) -> None:
    trail = tiny_trail(tmp_path / "trail")
    out = tmp_path / "out"
    cfg = tmp_path / "auditor.toml"
    cfg.write_text(
        f'[audit]\nsource = "{tmp_path}/nope"\nformat = ["json"]\n'
        f'from = "2026-10-05"\nto = "2026-10-05"\n'
    )
    result = run("audit", "--source", str(trail), "--config", str(cfg), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["report.json"]


def test_render_of_a_report_json_with_wrong_types_is_exit_2(tmp_path: Path) -> None:
    trail = tiny_trail(tmp_path / "trail")
    out = tmp_path / "out"
    assert (
        run(
            "audit", "--source", str(trail), *RANGE, "--out", str(out), "--format", "json"
        ).exit_code
        == 0
    )
    data = json.loads((out / "report.json").read_text())
    data["findings"][0]["attempts"] = "many"
    data["findings"][0]["first_seen"] = 5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    result = run("render", str(bad), "--out", str(tmp_path / "again"))
    assert "wrong type" in assert_one_error_line(result)


@pytest.mark.parametrize(
    "setting",
    [
        'workers = "two"',
        'strict = "false"',
        'accounts = "111122223333"',
        'format = "json"',
        "exemptions = 5",
        "lookahead_days = 2.5",
        "audit = 3",
        '[athena]\nquery_timeout = "x"',
    ],
)
def test_a_config_value_of_the_wrong_type_is_one_line_and_exit_2(
    tmp_path: Path, setting: str
) -> None:
    # Not a crash (exit 70), and not a string read letter by letter as a list of accounts
    # or a "false" that turns --strict on.
    trail = tiny_trail(tmp_path / "trail")
    cfg = tmp_path / "auditor.toml"
    section = "" if setting.startswith(("[", "audit =")) else "[audit]\n"
    cfg.write_text(section + setting + "\n")
    result = run(
        "audit",
        "--source",
        str(trail),
        *RANGE,
        "--config",
        str(cfg),
        "--out",
        str(tmp_path / "out"),
    )
    assert "config file" in assert_one_error_line(result)
    assert not (tmp_path / "out").exists()


def test_config_dates_may_be_toml_dates(tmp_path: Path) -> None:
    trail = tiny_trail(tmp_path / "trail")
    cfg = tmp_path / "auditor.toml"
    cfg.write_text("[audit]\nfrom = 2026-10-05\nto = 2026-10-05\n")
    out = tmp_path / "out"
    result = run("audit", "--source", str(trail), "--config", str(cfg), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert json.loads((out / "report.json").read_text())["totals"]["attempts"] == 1


def test_render_of_a_file_that_is_not_utf8_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "report.json"
    bad.write_bytes(b'\xff\xfe{"schema_version": 1}')
    result = run("render", str(bad), "--out", str(tmp_path / "again"))
    assert "not UTF-8" in assert_one_error_line(result)


def test_the_terminal_summary_shows_hostile_principals_inert_and_short(tmp_path: Path) -> None:
    # An ARN is attacker-controlled: an ANSI escape or a newline must not reach the
    # terminal (a forged summary line), and a 100 KB value must not flood it.
    when = datetime(2026, 10, 5, 12, tzinfo=UTC)
    who = iam_user(ACCT, "x")
    who["arn"] = (
        "arn:aws:iam::111122223333:user/\x1b]0;pwned\x07\n  0 denied attempt(s)\u202e"
        + "A" * 100_000
    )
    rec = bedrock_policy_call(when, identity=who, account=ACCT, region="us-east-1", event_id="e1")
    write_log(tmp_path / "trail", log_key(ACCT, "us-east-1", when), [rec])
    out = tmp_path / "out"
    result = run(
        "audit", "--source", str(tmp_path / "trail"), *RANGE, "--out", str(out), "--format", "json"
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    (row,) = [ln for ln in lines if ln.startswith("    low ")]
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "\\u001b]0;pwned\\u0007\\u000a" in row and row.endswith("\u2026  x1")
    assert len(row) < 200
    assert not any(ln.startswith("  0 denied") for ln in lines)
    # The report keeps the value whole.
    finding = json.loads((out / "report.json").read_text())["findings"][0]
    assert finding["principal"] == who["arn"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )


def test_click_usage_errors_are_one_line_too() -> None:
    for args in (["audit", "--wrong"], ["audit", "--workers", "abc"], ["nosuchcommand"]):
        res = _cli(*args)
        assert res.returncode == 2, (args, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("auditor: error: "), res.stderr
        assert "Traceback" not in res.stderr


def test_exit_codes_survive_the_real_entry_point(tmp_path: Path) -> None:
    trail = tiny_trail(tmp_path / "trail", damaged=True)
    base = ["audit", "--source", str(trail), *RANGE, "--out", str(tmp_path / "o")]
    assert _cli(*base).returncode == 0
    assert _cli(*base, "--strict").returncode == 4
    assert _cli(*base, "--fail-on", "low").returncode == 1
    assert _cli("--version").stdout.startswith("auditor ")
