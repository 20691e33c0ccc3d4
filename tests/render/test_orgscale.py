"""An organisation-scale month (tests/render/orgscale.py: 40 accounts, 520 findings, ~18,000
attempts): the ticket formats fit their limits, the HTML leads with counts and keeps its
long tables capped and grouped, and the chart picks its bucket from the range."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from orgscale import START, build_org_report

from auditor.model import Report
from auditor.render import html, jira, markdown
from auditor.render.view import EVENT_ROWS, FIRST_ACCOUNTS, FIRST_GROUPS, FIRST_ROWS, view

GITHUB, JIRA = 65_536, 32_767


@pytest.fixture(scope="module")
def org() -> Report:
    return build_org_report()


@pytest.fixture(scope="module")
def org_html(org: Report) -> str:
    return html.render(org)


def test_fixture_is_organisation_scale(org: Report) -> None:
    assert len(org.findings) == 520 and org.totals.accounts == 40
    assert 15_000 <= org.totals.attempts <= 25_000
    assert len(view(org).policy_flags) > 1_000  # the table that used to open the page


def test_markdown_fits_a_github_comment(org: Report) -> None:
    md = markdown.render(org)
    assert len(md) < GITHUB - 1_000
    shown = len(re.findall(r"^\| (high|medium|low) \| BRP-", md, flags=re.M))
    assert shown >= 100  # as many as fit: not a token few
    assert f"**The top {shown} of 520 findings**" in md
    assert f"The other {520 - shown} are in findings.md" in md
    assert "report.csv (every attempt), report.json and report.html" in md
    assert "… and 50 more files or records not read" in md  # coverage lists capped
    assert "… and 35 more gaps" in md
    print(f"\norg-scale report.md: {len(md):,} characters, {shown} findings shown")
    full = markdown.render_findings(org)
    assert len(re.findall(r"^\| (high|medium|low) \| BRP-", full, flags=re.M)) == 520


def test_jira_fits_a_jira_comment(org: Report) -> None:
    text = jira.render(org)
    assert len(text) < JIRA
    shown = len(re.findall(r"^\|(high|medium|low)\|BRP", text, flags=re.M))
    assert shown >= 50
    assert f"*The top {shown} of 520 findings*" in text
    print(f"\norg-scale report.jira.txt: {len(text):,} characters, {shown} findings shown")


def table_rows(page: str, cls: str) -> list[int]:
    """Body rows of each table with this class, in page order."""
    return [
        t.count("<tr") - 1  # the header row
        for t in re.findall(rf'<table class="[^"]*\b{cls}\b[^"]*".*?</table>', page, flags=re.S)
    ]


def test_html_leads_with_counts_and_caps_long_tables(org: Report, org_html: str) -> None:
    v = view(org)
    summary = org_html.split('<section id="summary">', 1)[1].split("</section>", 1)[0]
    # counts by severity come first, before any table
    assert summary.index('class="sevlead"') < summary.index("<table")
    for s, c in v.severity_counts.items():
        assert f'<span class="big">{c:,}</span> <span class="sev sev-{s}">{s}</span>' in summary
    assert "Top principals across accounts" in summary and "Accounts × severity" in summary
    # external principals: grouped by principal-in-policy, the rest behind "show all"
    groups = table_rows(org_html, "policy-groups")
    assert groups == [FIRST_GROUPS, len(v.policy_groups) - FIRST_GROUPS]
    assert sum(groups) == len(v.policy_groups) < 100
    assert f"Show all {len(v.policy_groups)} principals in attempted policies" in org_html
    # findings and accounts: the first rows, then the rest in a <details> (works without JS)
    assert table_rows(org_html, "findings") == [FIRST_ROWS, 520 - FIRST_ROWS]
    assert table_rows(org_html, "acct-sev") == [10, 30]
    assert f"Show the other {520 - FIRST_ROWS} findings" in org_html
    assert f"Show the other {40 - FIRST_ACCOUNTS} accounts" in org_html
    assert table_rows(org_html, "events") == [EVENT_ROWS]
    # no table outside a <details> is longer than the first-rows cap (events: their own cap)
    triage = org_html.split('<section id="coverage">', 1)[0]
    outside = re.sub(r"<details.*?</details>", "", triage, flags=re.S)
    tables = re.findall(r"<table(?! class=\"[^\"]*events).*?</table>", outside, flags=re.S)
    assert max(t.count("<tr") for t in tables) <= FIRST_ROWS + 1


@pytest.mark.parametrize(("days", "bucket"), [(31, "day"), (92, "week"), (540, "month")])
def test_chart_bucket_at_org_scale(days: int, bucket: str) -> None:
    r = build_org_report(
        findings=60, accounts=12, days=days, start=START - timedelta(days=days // 2)
    )
    v = view(r)
    assert v.chart_daily.bucket == v.chart_daily_narrow.bucket == bucket
    assert f"Attempts per {bucket}, stacked by account" in html.render(r)
    if bucket == "month":  # the range spans two years: every tick says which
        assert all(re.search(r" 20\d\d$", t.label) for t in v.chart_daily.x_ticks)


def test_sizes_hold_with_long_values(org: Report) -> None:
    """Long values in every cell (a 2 KB principal) still fit: cells are clipped."""
    long = "arn:aws:iam::123456789012:role/" + "x" * 2_000
    r = replace(org, findings=tuple(replace(f, principal=long + f.id) for f in org.findings))
    assert len(markdown.render(r)) < GITHUB and len(jira.render(r)) < JIRA
