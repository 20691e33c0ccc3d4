"""The Jinja environment for `reports/` templates and the per-format escaping filters."""

from __future__ import annotations

import re
from functools import lru_cache

import jinja2

from auditor.resources import data_dir

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def md_escape(value: object) -> str:
    """Event data as inert Markdown text: no markup, no HTML, no table breaks, one line."""
    if value is None:
        return ""
    text = str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = re.sub(r"[\r\n\u2028\u2029]+", " ", text)
    return "".join(ch if ch >= " " or ch == "\t" else "\ufffd" for ch in text)


def md_code(value: object) -> str:
    """A value shown as inline code in Markdown; backticks can't close it."""
    text = "" if value is None else re.sub(r"[\r\n]+", " ", str(value))
    text = text.replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if "`" in text else f"`{text}`"


@lru_cache(maxsize=2)
def env(autoescape: bool) -> jinja2.Environment:
    e = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("reports"))),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    e.filters["md"] = md_escape
    e.filters["mdcode"] = md_code
    return e
