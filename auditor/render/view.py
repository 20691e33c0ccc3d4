"""Derived figures the HTML and Markdown reports share (pure)."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

from auditor.model import Finding, Report
from auditor.render import json_report


@dataclass(frozen=True)
class AccountRow:
    account_id: str
    attempts: int
    principals: int
    cross_account_attempts: int
    first_seen: str
    last_seen: str


@dataclass(frozen=True)
class View:
    accounts: tuple[AccountRow, ...]
    json_sha256: str
    actions: dict[str, int]
    error_codes: dict[str, int]


def _accounts(findings: tuple[Finding, ...]) -> tuple[AccountRow, ...]:
    by: dict[str, list[Finding]] = {}
    for f in findings:
        by.setdefault(f.account_id, []).append(f)
    rows = [
        AccountRow(
            account_id=a,
            attempts=sum(f.attempts for f in fs),
            principals=len({f.principal for f in fs}),
            cross_account_attempts=sum(f.attempts for f in fs if f.cross_account),
            first_seen=min(f.first_seen for f in fs),
            last_seen=max(f.last_seen for f in fs),
        )
        for a, fs in by.items()
    ]
    return tuple(sorted(rows, key=lambda r: (-r.attempts, r.account_id)))


def view(report: Report) -> View:
    actions: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    for f in report.findings:
        actions.update(f.actions)
        codes.update(f.error_codes)
    return View(
        accounts=_accounts(report.findings),
        json_sha256=hashlib.sha256(json_report.render(report).encode()).hexdigest(),
        actions=dict(sorted(actions.items(), key=lambda kv: (-kv[1], kv[0]))),
        error_codes=dict(sorted(codes.items(), key=lambda kv: (-kv[1], kv[0]))),
    )
