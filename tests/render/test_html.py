"""report.html: self-contained, escaped, complete, and as the golden file says."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace
from html.parser import HTMLParser

from conftest import GOLDEN, MARK, PAYLOAD
from hostile import STRINGS, UNSAFE_AGENT_WORDS, hostile
from hypothesis import HealthCheck, assume, given, settings

from auditor.model import Report
from auditor.render import html, json_report, view
from auditor.render.templating import asset, visible
from tests.conftest import golden


class Doc(HTMLParser):
    """Every start tag with its attributes, and all text, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, tuple[str, ...]]] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.text: list[str] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, tuple(sorted(a for a, _ in attrs))))
        self.attrs += [(tag, a, v or "") for a, v in attrs]
        self._in = tag if tag in self.raw else None

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.raw[self._in].append(data)
        else:
            self.text.append(data)


def parse(text: str) -> Doc:
    d = Doc()
    d.feed(text)
    d.close()
    return d


def test_golden(report: Report) -> None:
    golden(GOLDEN / "report.html", html.render(report))


def test_nothing_can_be_fetched(report: Report) -> None:
    out = html.render(report)
    doc = parse(out)
    csp = next(v for t, a, v in doc.attrs if t == "meta" and a == "content" and "default-src" in v)
    assert csp.startswith("default-src 'none';")
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    # No element that loads anything, and no URL-valued attribute pointing anywhere but
    # inside the page.
    tags = {t for t, _ in doc.tags}
    assert not tags & {
        "link",
        "img",
        "iframe",
        "object",
        "embed",
        "audio",
        "video",
        "source",
        "base",
        "form",
        "image",
        "use",
        "input",
        "frame",
    }
    for tag, attr, value in doc.attrs:
        if attr in ("href", "src", "xlink:href", "action", "srcset", "poster", "data"):
            assert value.startswith("#"), (tag, attr, value)
    css = "".join(doc.raw["style"])
    assert "url(" not in css and "@import" not in css and "@font-face" not in css
    assert [s for t, a, s in doc.attrs if a == "src"] == []


def test_csp_hashes_allow_exactly_our_style_and_script(report: Report) -> None:
    out = html.render(report)
    doc = parse(out)
    css, js = "".join(doc.raw["style"]), "".join(doc.raw["script"])
    assert css == asset("report.css") and js == asset("report.js")
    csp = next(v for t, a, v in doc.attrs if t == "meta" and a == "content" and "default-src" in v)
    for text, directive in ((css, "style-src"), (js, "script-src")):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}';" in csp
    assert out.count("<script") == 1 and out.count("<style") == 1


def test_light_dark_and_print_styles() -> None:
    css = asset("report.css")
    assert "@media (prefers-color-scheme: dark)" in css
    assert "@media print" in css


def test_planted_markup_stays_text(report: Report) -> None:
    out = html.render(report)
    doc = parse(out)
    ids = {v for _, a, v in doc.attrs if a == "id"}
    # the page is still whole: one script (ours, intact), every section an element
    assert [t for t in doc.tags if t[0] == "script"] == [("script", ())]
    assert "".join(doc.raw["script"]) == asset("report.js")
    assert {"summary", "principals", "events", "investigate", "coverage", "provenance"} <= ids
    assert not {t for t, _ in doc.tags} & {"img", "b"}
    assert MARK not in ids and MARK + "b" not in ids
    assert "onerror" not in {a for _, a, _ in doc.attrs}
    assert PAYLOAD in "".join(doc.text)  # shown, verbatim, as text
    assert "sqlmark" not in ids  # the SQL text too


def test_sections_and_facts_a_reviewer_needs(report: Report) -> None:
    out = html.render(report)
    text = " ".join("".join(parse(out).text).split())
    for section in (
        "summary",
        "charts",
        "accounts",
        "principals",
        "events",
        "investigate",
        "suppressed",
        "coverage",
        "provenance",
    ):
        assert f'<section id="{section}">' in out
    r = report.rule
    for fact in (
        r.id,
        r.name,
        "T1098 Account Manipulation",
        "TA0003 Persistence",
        "2026-10-01T00:00:00Z",
        "2026-11-01T00:00:00Z",
        "athena",
        "auditor 0.1.0",
        "2026-11-02T07:00:00Z",
        "777788889999",
        "eu-west-1",
    ):
        assert fact in text, fact
    # summary figures (tiles: number and label are separate blocks)
    spaced = " ".join(" ".join(parse(out).text).split())
    assert "20 denied attempts" in spaced and "2 cross-account attempts" in spaced
    assert "1 high" in spaced and "2 medium" in spaced and "1 low" in spaced
    # every finding, with its id, and the why of its severity
    for f in report.findings:
        assert f.id in out
    assert "the attempted policy grants * (anyone)" in text
    # coverage holes named with their reasons
    assert "not a complete gzip file" in text and "record has no eventTime" in text
    assert "2026-10/later_success" in text and "CANCELLED: did not finish within" in text
    assert "a1b2c3d4-0000-0000-0000-000000000002" in text
    assert "2026-10-09" in text and "2026-10-11" in text
    assert "expired" in text and "old-terraform" in text
    # suppressed: the exemption's window beside the attempts' event times
    sup = " ".join(
        "".join(
            parse(out.split('<section id="suppressed">')[1].split("</section>")[0]).text
        ).split()
    )
    assert "onboarding-pipelinewindow 2026-10-01 .. 2026-12-31" in sup
    assert "2026-10-07T06:00:00Z2026-10-08T06:00:00Z" in sup
    # a reported attempt an exemption matched outside its window names it
    assert text.count("exemption old-terraform matched, outside its window") == 12
    assert "12 attempts matched an exemption outside its window" in text
    # provenance: SQL as run, parameters, ids, bytes, cost, estimate, fingerprint, checksum
    assert "a1b2c3d4-0000-4000-8000-000000000001" in text
    assert (
        "2026/10/01" in text and "$0.0062" in text and "estimated 1.2 GiB, actual 1.2 GiB" in text
    )
    assert report.provenance.input_fingerprint in text
    assert 'WHERE "timestamp" BETWEEN ? AND ?' in text


def test_investigation_guide_fills_in_the_findings_values(report: Report) -> None:
    text = " ".join("".join(parse(html.render(report)).text).split())
    assert (
        "The role arn:aws:iam::111122223333:role/ci-deployer (AssumedRole) was denied 5 "
        "times between 2026-10-04T10:00:00Z and 2026-10-05T09:00:00Z."
    ) in text
    assert "Source addresses: 203.0.113.10; user agents: aws-cli/2.17.0 Python/3.11." in text
    # a role session's ASIA key is temporary: revoke sessions, never "deactivate" it
    assert "The keys ASIAEXAMPLEKEY01 are temporary role-session credentials" in text
    assert "deactivate the access keys ASIA" not in text
    assert "deactivate the access keys AKIAEXAMPLEKEY02" in text  # the IAM user's
    assert "It SUCCEEDED later" in text and "2026-10-06T09:12:00Z" in text
    assert "iam.amazonaws.com CreateAccessKey (AccessDenied) × 3" in text
    assert "is an infrastructure-as-code tool" in text  # the Terraform user agent
    # the later-success query failed in this report: the guide must not claim "none found"
    assert "could NOT be checked" in text


def test_report_json_checksum_is_of_the_exact_json_bytes(report: Report) -> None:
    digest = hashlib.sha256(json_report.render(report).encode("utf-8")).hexdigest()
    assert digest in html.render(report)


def test_secrets_in_command_and_config_are_scrubbed(report: Report) -> None:
    out = html.render(report)
    for secret in (
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "FQoGZXIvYXdzEXAMPLE",
        "IQoJb3JpZ2luEXAMPLE",
        "AKIAIOSFODNN7EXAMPLE",
    ):
        assert secret not in out
    assert "--aws-secret-access-key [redacted]" in out


def test_event_table_is_capped_and_says_where_the_rest_is(report: Report) -> None:
    base = report.events[0]
    many = tuple(
        replace(base, event_id=f"id-{i:04d}", event_time=f"2026-10-{1 + i % 28:02d}T00:00:00Z")
        for i in range(view.EVENT_ROWS + 37)
    )
    out = html.render(replace(report, events=many))
    body = out.split('data-name="events"', 1)[1].split("</table>", 1)[0]
    assert body.count("<tr>") == view.EVENT_ROWS + 1  # + the header row
    assert "the 37 left out are in <code>report.csv</code>" in out


def test_empty_report_renders(empty_report: Report) -> None:
    out = html.render(empty_report)
    assert "No denied attempts in the range" in out
    assert "<svg" not in out


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(STRINGS)
def test_any_string_in_any_event_field_stays_text(report: Report, s: str) -> None:
    assume(not any(w in s.lower() for w in UNSAFE_AGENT_WORDS))
    base = parse(html.render(hostile(report, "x")))
    doc = parse(html.render(hostile(report, s)))

    def shape(d: Doc) -> list[tuple[str, tuple[str, ...]]]:
        return [t for t in d.tags if t[0] != "wbr"]  # wbr: break hints after : and /

    assert shape(doc) == shape(base)  # no element or attribute came from the data
    assert "".join(doc.raw["script"]) == asset("report.js")
    text = "".join(doc.text)
    # Controls and bidi overrides are shown as [U+XXXX]; every other character as is.
    for tagged in (f"{visible(s)}~",):
        assert tagged in text
    # the user agent of the first event, in full, as text
    ua = hostile(report, s).events[0].user_agent
    assert ua is not None and visible(ua) in text


def test_wbr_filter_only_adds_break_hints() -> None:
    from auditor.render.templating import wbr

    assert str(wbr('arn:aws:iam::1:role/<x>"&')) == (
        "arn:<wbr>aws:<wbr>iam::<wbr>1:<wbr>role/<wbr>&lt;x&gt;&#34;&amp;"
    )
    assert re.sub(r"<wbr>", "", str(wbr("a:/b"))) == "a:/b"


def test_direction_overrides_and_nul_are_shown_not_obeyed(report: Report) -> None:
    out = html.render(hostile(report, "admin\u202egnp.exe nul-a\x00b"))
    assert "admin[U+202E]gnp.exe" in out and "nul-a[U+0000]b" in out
    assert "\u202e" not in out and "\x00" not in out
