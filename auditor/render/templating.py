"""The Jinja environment for `reports/` templates and the per-format escaping filters.

HTML templates run with autoescape ON (every value is escaped unless a renderer marks
its own static asset as safe); Markdown templates run with autoescape off and pipe every
value taken from events through `md` (table cells, prose) or `mdcode` (code spans).
"""

from __future__ import annotations

import re
from functools import lru_cache

import jinja2
from markupsafe import Markup, escape

from auditor.resources import data_dir
from auditor.units import fmt_bytes

# Every ASCII punctuation character CommonMark would read as markup; `\x` makes it text.
# `$` is GitHub's math delimiter. `<`, `>` and `&` become entities instead (below).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~$])")
# Line and paragraph breaks of every kind: a table row must stay on one line.
_MD_BREAKS = re.compile(r"[\r\n\x0b\x0c\x85\u2028\u2029]+")
# C0/C1 controls and the bidirectional overrides that can make text read backwards.
_MD_INVISIBLE = re.compile(
    r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
# Text that would start a block if it began a line: a bullet, thematic break or setext
# underline ("- ", "---", "==="), or an ordered-list marker ("1. ").
_MD_LEADING = re.compile(r"^(?:([-=])(?=[-=\s]|$)|(\d{1,9})(\.)(?=\s|$))")
# "@name" notifies a user or team on GitHub and GitLab ("@all": the whole GitLab project),
# and a backslash does not stop it (mentions are found in the rendered text): an invisible
# word joiner after the "@" does. CSV and JSON keep the value exact.
_MD_MENTION = re.compile(r"@(?=\w)")
# GitHub/GitLab turn bare URLs and www. names into links; a backslash keeps them text.
_MD_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|(?<![a-z0-9.])(www)(\.)")


def md_escape(value: object) -> str:
    """Event data as inert Markdown text: no markup, no HTML, no table breaks, one line.

    Renders as the original text on GitHub and GitLab (Jira shows the backslashes)."""
    if value is None:
        return ""
    text = _MD_BREAKS.sub(" ", str(value)).replace("\t", " ").strip()
    text = _MD_INVISIBLE.sub("\ufffd", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _MD_AUTOLINK.sub(lambda m: "\\:" if m.group(1) else f"{m.group(2)}\\.", text)
    text = _MD_MENTION.sub("@\u2060", text)
    return _MD_LEADING.sub(
        lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\.", text, count=1
    )


def md_code(value: object) -> str:
    """A value as inline code (outside tables): literal text, any backticks inside it."""
    text = "" if value is None else _MD_BREAKS.sub(" ", str(value)).replace("\t", " ")
    text = _MD_INVISIBLE.sub("\ufffd", text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_fence(value: object) -> str:
    """A fence for a code block that no backtick run inside the block can close."""
    text = "" if value is None else str(value)
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    return "`" * max(3, longest + 1)


# Jira wiki markup: every character that starts or ends markup ({macro}, [link], |cell|,
# *bold*, _italic_, -strike-, +under+, ^sup^, ~sub~, !image!, ??cite??, # list, (x) and
# :P emoticons) is escaped with a backslash. A backslash itself (and "\\" would be a line
# break) and "&" are written as HTML entities, which Jira renders as the character; so is
# the "." of a leading "h1." / "bq." that would make a heading or a quote.
_JIRA_SPECIAL = re.compile(r"[{}\[\]|*_\-+^~!()?#]|:(?=[PpDd]|//)|[&\\]|^(?:h[1-6]|bq)(\.)")
_JIRA_ENTITY = {"&": "&amp;", "\\": "&#92;"}


def _jira_char(m: re.Match[str]) -> str:
    if m.group(1):  # the "." of a leading "h1." or "bq."
        return m.group(0)[:-1] + "&#46;"
    return _JIRA_ENTITY.get(m.group(0)) or "\\" + m.group(0)


def jira_escape(value: object) -> str:
    """Event data as inert Jira wiki text on one line (a table cell or a list item)."""
    if value is None:
        return ""
    text = _MD_BREAKS.sub(" ", str(value)).replace("\t", " ").strip()
    text = _MD_INVISIBLE.sub("\ufffd", text)
    return _JIRA_SPECIAL.sub(_jira_char, text)


def jira_clip(value: object, limit: int = 160) -> str:
    """A long event value cut for a ticket's table cell, then made inert Jira text."""
    return jira_escape(None if value is None else clip(value, limit))


def jira_block(value: object) -> str:
    """Text for a {noformat} block: literal, except the one thing that would end it."""
    text = "" if value is None else str(value)
    return re.sub(r"(?i)\{noformat", "{ noformat", text)


_WBR = re.compile(r"([:/]+)")
# In HTML, C0/C1 controls (a browser drops NUL: "a\0b" would read "ab") and the
# bidirectional controls (U+202E makes "admin\u202egnp.exe" read "adminexe.png") are
# shown as visible code points instead; tab and newline stay.
_HTML_INVISIBLE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def visible(value: object) -> object:
    """Strings with invisible or direction-changing characters made visible as [U+XXXX];
    anything else (numbers, Markup our templates made) as it is."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _HTML_INVISIBLE.sub(lambda m: f"[U+{ord(m.group()):04X}]", value)
    return value


def wbr(value: object) -> Markup:
    """HTML: the value escaped, with line-break opportunities after `:` and `/` so that
    ARNs wrap at their separators. Escaping comes first; the entities it writes contain
    neither character, so only `<wbr>` is added."""
    text = str(escape(visible("" if value is None else str(value))))
    return Markup(_WBR.sub(r"\1<wbr>", text))


def clip(value: object, limit: int = 240) -> str:
    """A long value cut for a table cell, saying how much was left out (the JSON and CSV
    keep every character)."""
    text = "" if value is None else str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters in report.json)"


def md_clip(value: object, limit: int = 160) -> str:
    """A long event value cut for a ticket's table cell, then made inert Markdown."""
    return md_escape(None if value is None else clip(value, limit))


def fmt_int(value: object) -> str:
    return f"{int(value):,}" if value is not None else "n/a"  # type: ignore[call-overload]


def fmt_usd(value: object) -> str:
    return "n/a" if value is None else f"${float(value):,.4f}"  # type: ignore[arg-type]


@lru_cache(maxsize=2)
def env(autoescape: bool) -> jinja2.Environment:
    e = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("reports"))),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=visible if autoescape else None,
    )
    e.filters["md"] = md_escape
    e.filters["mdcode"] = md_code
    e.filters["mdfence"] = md_fence
    e.filters["mdclip"] = md_clip
    e.filters["jira"] = jira_escape
    e.filters["jiraclip"] = jira_clip
    e.filters["jiranoformat"] = jira_block
    e.filters["wbr"] = wbr
    e.filters["clip"] = clip
    e.filters["n"] = fmt_int
    e.filters["bytes"] = fmt_bytes
    e.filters["usd"] = fmt_usd
    return e


def asset(name: str) -> str:
    """The text of a static file in `reports/` (CSS, JS), read through the template loader."""
    source, _, _ = env(True).loader.get_source(env(True), name)  # type: ignore[union-attr]
    return source
