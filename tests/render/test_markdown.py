"""report.md: every finding, one line per table row, nothing from events read as markup."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import GOLDEN, PAYLOAD
from hostile import STRINGS, UNSAFE_AGENT_WORDS, hostile, unescaped_count
from hypothesis import HealthCheck, assume, given, settings

from auditor.model import Report
from auditor.render import markdown
from auditor.render.templating import md_code, md_escape
from auditor.rule import load_rule
from tests.conftest import golden

RULE = load_rule()  # the shipped rule

FINDINGS_HEADER = "| Severity | Finding | Principal |"
FINDINGS_COLUMNS = 15  # findings.md
TOP_COLUMNS = 12  # report.md


def table_rows(md: str, header_start: str) -> list[str]:
    lines = md.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def event_part(md: str) -> str:
    """Everything before the provenance block (which holds only our own SQL and settings)."""
    return md.split("## Provenance", 1)[0]


def test_golden(report: Report) -> None:
    golden(GOLDEN / "report.md", markdown.render(report))


def test_golden_findings(report: Report) -> None:
    golden(GOLDEN / "findings.md", markdown.render_findings(report))


def test_every_finding_gets_a_row_in_findings_md(report: Report) -> None:
    f0 = report.findings[0]
    many = tuple(
        replace(
            f0,
            principal=f"arn:aws:iam::111122223333:role/r{i}",
            id=RULE.finding_id("111122223333", f"arn:aws:iam::111122223333:role/r{i}"),
        )
        for i in range(450)
    )
    md = markdown.render_findings(replace(report, findings=many))
    rows = table_rows(md, FINDINGS_HEADER)
    assert len(rows) == 450
    assert {f.id for f in many} <= {r.split(" | ")[1] for r in rows}
    # report.md shows the top ones that fit a GitHub comment, and says where the rest are
    top = markdown.render(replace(report, findings=many))
    assert len(top) <= 65_536 - 1_536
    shown = table_rows(top, FINDINGS_HEADER)
    assert 100 <= len(shown) < 450
    assert f"**The top {len(shown)} of 450 findings**" in top
    assert f"The other {450 - len(shown)} are in findings.md" in top


def test_summary_coverage_and_provenance_are_there(report: Report) -> None:
    md = markdown.render(report)
    assert "**20** denied attempts (14 put, 6 delete)" in md
    assert "Findings by severity: 1 high, 2 medium, 1 low" in md
    assert "> **Coverage is incomplete:**" in md
    assert (
        "failed query: 2026-10/later\\_success (a1b2c3d4-0000-0000-0000-000000000002): "
        "CANCELLED: did not finish within"
    ) in md
    assert "777788889999 us-east-1: 2026-10-09 to 2026-10-11 (3 days)" in md
    assert "**expired** (stale)" in md
    # provenance folds away on GitHub/GitLab; the SQL sits in a fence nothing can close
    details = md.split("<details>", 1)[1]
    assert details.rstrip().endswith("</details>")
    assert "the SQL of each, as run, is in findings.md" in details
    details = markdown.render_findings(report).split("<details>", 1)[1]
    assert "```sql\nSELECT eventid AS event_id" in details
    assert "`1: 2026/10/01`" in details and "a1b2c3d4-0000-4000-8000-000000000001" in details
    assert "wJalrXUtnFEMI" not in md and "--aws-secret-access-key [redacted]" in md


def test_suppressed_shows_the_exemption_window_and_the_event_times(report: Report) -> None:
    (row,) = table_rows(markdown.render_findings(report), "| Finding | Principal | Account |")
    cells = [c.strip() for c in row.strip("|").split(" | ")]
    assert cells[4:] == [
        "2026-10-07T06:00:00Z",
        "2026-10-08T06:00:00Z",
        "onboarding-pipeline",
        "2026-10-01 .. 2026-12-31",
    ]
    for md in (markdown.render(report), markdown.render_findings(report)):
        assert (
            "onboarding-pipeline (window 2026-10-01 .. 2026-12-31); event times "
            "2026-10-07T06:00:00Z .. 2026-10-08T06:00:00Z"
        ) in md
        # the exemptions table: window, then attempts suppressed and matched outside it
        rows = table_rows(md, "| Entry | Principal |")
        assert rows[0].endswith("| 2026-10-01 .. 2026-12-31 | live | 2 | 0 |")
        assert rows[1].endswith("| until 2026-09-30 | **expired** (stale) | 0 | 12 |")
        assert "> **12 attempt(s) matched an exemption outside its window**" in md


def test_planted_payload_is_inert(report: Report) -> None:
    part = event_part(markdown.render(report)) + event_part(markdown.render_findings(report))
    assert PAYLOAD not in part
    assert "<" not in part  # no raw HTML at all before the provenance block
    assert "&lt;script&gt;document.title" in part
    assert "\\[link\\]\\(https\\://evil.example/\\)" in part  # no link, no autolink


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a|b", "a\\|b"),
        ("`x`", "\\`x\\`"),
        ("[x](y)", "\\[x\\]\\(y\\)"),
        ("<b>&amp;", "&lt;b&gt;&amp;amp;"),
        ("line1\nline2\r\nline3\u2028x\u2029y\x85z", "line1 line2 line3 x y z"),
        ("# heading", "\\# heading"),
        ("> quote", "&gt; quote"),
        ("- item", "\\- item"),
        ("1. item", "1\\. item"),
        ("203.0.113.10", "203.0.113.10"),
        ("https://evil.example/x", "https\\://evil.example/x"),
        ("see www.evil.example", "see www\\.evil.example"),
        ("**bold** _it_ ~~s~~ $x$", "\\*\\*bold\\*\\* \\_it\\_ \\~\\~s\\~\\~ \\$x\\$"),
        ("right\u202eleft", "right\ufffdleft"),
        ("nul\x00bell\x07", "nul\ufffdbell\ufffd"),
        (":x: emoji", ":x: emoji"),
        (
            "ping @all and @org/team, bob@example.com",
            "ping @\u2060all and @\u2060org/team, bob@\u2060example.com",
        ),
        ("@ alone", "@ alone"),
        (None, ""),
    ],
)
def test_md_escape(raw: str | None, escaped: str) -> None:
    assert md_escape(raw) == escaped


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("plain", "`plain`"),
        ("a `b` c", "``a `b` c``"),
        ("``x``", "``` ``x`` ```"),
        ("`", "`` ` ``"),
        ("two\nlines", "`two lines`"),
    ],
)
def test_md_code_cannot_be_closed_from_inside(raw: str, code: str) -> None:
    assert md_code(raw) == code


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(STRINGS)
def test_any_string_in_any_event_field_stays_text(report: Report, s: str) -> None:
    assume(not any(w in s.lower() for w in UNSAFE_AGENT_WORDS))
    r = hostile(report, s)
    for md, columns in (
        (markdown.render(r), TOP_COLUMNS),
        (markdown.render_findings(r), FINDINGS_COLUMNS),
    ):
        check_inert(md, columns, r)


def check_inert(md: str, columns: int, r: Report) -> None:
    part = event_part(md)
    assert "<" not in part  # never raw HTML from event data
    rows = table_rows(md, FINDINGS_HEADER)
    assert len(rows) == len(r.findings)  # one line per row
    for row in rows:
        assert unescaped_count(row, "|") == columns + 1
        assert unescaped_count(row, "`") == 0
        assert unescaped_count(row, "[") == 0 and unescaped_count(row, "]") == 0
    for line in part.split("\n"):
        if line.startswith("|"):
            assert unescaped_count(line, "`") == 0
            assert unescaped_count(line, "[") == 0 and unescaped_count(line, "]") == 0
    # a list item of the coverage section stays one item
    bullets = [line for line in part.split("\n") if line.startswith("  - not read: ")]
    assert len(bullets) == len(r.coverage.unreadable)
