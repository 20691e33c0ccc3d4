"""report.jira.txt: Jira wiki markup under a Jira comment's 32,767 characters, with every
string from events shown as text (no macro, link, table break, heading or emoticon)."""

from __future__ import annotations

import re

from conftest import GOLDEN, PAYLOAD
from hostile import STRINGS, UNSAFE_AGENT_WORDS, hostile
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from auditor.model import Report
from auditor.render import jira
from auditor.render.templating import jira_block, jira_escape
from tests.conftest import golden

TOP_HEADER = "||Severity||Finding||Principal||"
TOP_COLUMNS = 12
MARKUP = set("{}[]|*_-+^~!()?#")
# How Jira reads our escapes: a backslash makes the next character text; the three
# entities we write stand for their character.
_UNESCAPE = re.compile(r"\\(.)|&#92;|&#46;|&amp;")


def jira_text(escaped: str) -> str:
    """The text Jira shows for an escaped value."""
    return _UNESCAPE.sub(
        lambda m: m.group(1) or {"&#92;": "\\", "&#46;": ".", "&amp;": "&"}[m.group(0)], escaped
    )


def bare_markup(escaped: str) -> list[str]:
    """Markup characters not preceded by our backslash (there must be none)."""
    escaped = re.sub(r"&#92;|&#46;|&amp;", "", escaped)
    out, i = [], 0
    while i < len(escaped):
        c = escaped[i]
        if c == "\\":
            i += 2
            continue
        if c in MARKUP:
            out.append(c)
        i += 1
    return out


def one_line(s: str) -> str:
    """What any value becomes on a single line: breaks and tabs are spaces, the ends trimmed,
    invisible controls shown as U+FFFD."""
    from auditor.render.templating import _MD_BREAKS, _MD_INVISIBLE

    return _MD_INVISIBLE.sub("\ufffd", _MD_BREAKS.sub(" ", s).replace("\t", " ").strip())


def rows(text: str, header: str) -> list[str]:
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    out = []
    for line in lines[start + 1 :]:
        if not line.startswith("|"):
            break
        out.append(line)
    return out


def cells(row: str) -> int:
    """Table cells in a row: unescaped `|` separators, less the closing one. (Event data
    has no backslash of its own left: it is written as &#92;, so any `\\` is an escape.)"""
    return len(re.findall(r"(?<!\\)\|", row)) - 1


def test_golden(report: Report) -> None:
    golden(GOLDEN / "report.jira.txt", jira.render(report))


def test_suppressed_shows_the_exemption_window_and_the_event_times(report: Report) -> None:
    out = jira.render(report)
    assert (
        "onboarding\\-pipeline (window 2026\\-10\\-01 .. 2026\\-12\\-31); event times "
        "2026\\-10\\-07T06:00:00Z .. 2026\\-10\\-08T06:00:00Z"
    ) in out
    assert "|*expired* (stale)|0|12|" in out


@given(st.text(max_size=200) | STRINGS)
@settings(max_examples=400, deadline=None)
def test_any_string_survives_as_text(s: str) -> None:
    escaped = jira_escape(s)
    assert "\n" not in escaped and "\r" not in escaped
    assert bare_markup(escaped) == []  # nothing Jira would read as markup
    assert not re.match(r"(h[1-6]|bq)\.", escaped)  # no heading or quote
    assert not re.search(r":[PpDd]|://", escaped.replace("\\:", ""))  # no emoticon, no link
    assert "&" not in re.sub(r"&#92;|&#46;|&amp;", "", escaped)  # no entity of the data's own
    assert jira_text(escaped) == one_line(s)  # and Jira shows the original text


def test_escape_examples() -> None:
    assert jira_escape("h1. big") == "h1&#46; big"
    assert jira_escape("a|b") == "a\\|b"
    assert jira_escape("{code}x{code}") == "\\{code\\}x\\{code\\}"
    assert jira_escape("[~admin] (y) :P") == "\\[\\~admin\\] \\(y\\) \\:P"
    assert jira_escape("C:\\temp & co") == "C:&#92;temp &amp; co"
    assert jira_escape("-- *bold* --") == "\\-\\- \\*bold\\* \\-\\-"
    assert jira_escape("see https://evil.example") == "see https\\://evil.example"
    assert jira_escape(None) == ""
    assert jira_block("SELECT '{noformat}'") == "SELECT '{ noformat}'"


def test_planted_payload_is_inert(report: Report) -> None:
    text = jira.render(report)
    assert PAYLOAD not in text
    assert 'insertAdjacentHTML\\("beforeend"' in text  # cut for the cell, and escaped
    assert jira_escape(PAYLOAD).endswith(
        '\\[link\\]\\(https\\://evil.example/\\) =HYPERLINK\\("http\\://evil"\\)'
    )
    for row in rows(text, TOP_HEADER):
        assert cells(row) == TOP_COLUMNS


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(STRINGS)
def test_any_string_in_any_event_field_keeps_the_table(report: Report, s: str) -> None:
    assume(not any(w in s.lower() for w in UNSAFE_AGENT_WORDS))
    r = hostile(report, s)
    text = jira.render(r)
    assert len(text) <= jira.LIMIT
    top = rows(text, TOP_HEADER)
    assert len(top) == len(r.findings)
    for row in top:
        assert cells(row) == TOP_COLUMNS
    body = text.split("h2. Provenance", 1)[0]
    assert "{noformat}" not in body and "{code" not in body.replace("\\{code", "")
