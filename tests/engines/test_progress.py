"""The local engine's progress: listing, then files and bytes read, rate and time left,
drawn on a terminal only (rich's own test console stands in for one)."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from auditor.engines import local
from auditor.engines.progress import QUIET_ENV, ScanProgress
from auditor.synth import bedrock_policy_call, iam_user, log_key, write_log
from tests.engines.conftest import Audit
from tests.engines.test_local import ACCT, REGION, at


def terminal() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=100)


def text(console: Console) -> str:
    """What was drawn, without the terminal's escape sequences."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", console.file.getvalue())  # type: ignore[attr-defined]


def test_the_bar_shows_files_bytes_rate_and_time_left() -> None:
    console = terminal()
    now = [0.0]
    bar = ScanProgress(console=console, clock=lambda: now[0])
    assert bar.enabled
    bar.start(3, 3 * 1_000_000)
    bar.more(1, 500_000)  # the look-ahead days (rich starts its rate estimate again)
    now[0] = 1.0
    bar.done(1_000_000)
    now[0] = 2.0
    bar.done(1_000_000)
    bar.close()
    out = text(console)
    assert "Reading" in out
    assert "2/4 files" in out
    assert "2.0/3.5 MB" in out
    assert "1.0 MB/s" in out  # the rate
    assert "ETA 0:00:02" in out  # 1.5 MB left at 1 MB/s


def test_the_listing_counts_folders() -> None:
    class Lister:
        def files(self, prefix: str) -> list[tuple[str, int]]:
            return []

        def dirs(self, prefix: str) -> list[str]:
            return ["a"]

        def join(self, *parts: str) -> str:
            return "/".join(parts)

    console = terminal()
    bar = ScanProgress(console=console)
    with bar.listing(Lister(), "s3://bucket/trail") as counted:
        assert counted.dirs("x") == ["a"]
        counted.files("x/a")
        counted.files("x/b")
        assert counted.join("a", "b") == "a/b"  # everything else passes through
        assert not hasattr(counted, "files_many")  # as the lister: none
    assert "Listing s3://bucket/trail: 3 folders" in text(console)


def test_silent_when_stderr_is_no_terminal_or_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = Console(file=io.StringIO(), force_terminal=False, width=100)
    bar = ScanProgress(console=plain)
    assert not bar.enabled
    lister = object()
    with bar.listing(lister, "x") as counted:
        assert counted is lister
    bar.start(1, 10)
    bar.done(10)
    bar.close()
    assert text(plain) == ""
    monkeypatch.setenv(QUIET_ENV, "1")
    assert not ScanProgress(console=terminal()).enabled
    assert not ScanProgress(False, console=terminal()).enabled


def test_an_audit_draws_the_listing_and_the_scan(
    tmp_path: Path, audit: Audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    for h in range(3):
        rec = bedrock_policy_call(
            at(10, h), identity=iam_user(ACCT, "bob"), account=ACCT, region=REGION, event_id=f"e{h}"
        )
        write_log(tmp_path, log_key(ACCT, REGION, at(10, h, 5)), [rec])
    console = terminal()
    monkeypatch.setattr(
        local, "ScanProgress", lambda enabled=None: ScanProgress(enabled, console=console)
    )
    report: Any = audit(tmp_path, date(2026, 10, 10))
    assert len(report.events) == 3
    out = text(console)
    assert "Listing" in out and "folders" in out
    assert "3/3 files" in out
