"""report.html: one self-contained page (inline CSS, SVG and a little JS; no network).

The template runs with autoescape ON. The stylesheet and script are our own static files
in `reports/`; they are inlined as-is and allowed by SHA-256 in the page's Content
Security Policy, so no other style or script (injected or not) would run, and nothing
may be fetched: `default-src 'none'`.
"""

from __future__ import annotations

import base64
import hashlib

from markupsafe import Markup

from auditor.errors import RenderError
from auditor.model import Report
from auditor.render.templating import asset, env
from auditor.render.view import FIRST_ACCOUNTS, FIRST_GROUPS, FIRST_ROWS, view


def csp_hash(text: str) -> str:
    """The CSP source expression allowing exactly this inline <style>/<script> body."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def csp(css: str, js: str) -> str:
    return (
        "default-src 'none'; "
        f"style-src {csp_hash(css)}; "
        f"script-src {csp_hash(js)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def _assets() -> tuple[str, str]:
    css, js = asset("report.css"), asset("report.js")
    for name, text, end in (("report.css", css, "</style"), ("report.js", js, "</script")):
        if end in text.lower():  # would close the element early
            raise RenderError(f"reports/{name} must not contain {end}>")
    return css, js


def render(report: Report) -> str:
    css, js = _assets()
    return (
        env(True)
        .get_template("report.html.j2")
        .render(
            r=report,
            v=view(report),
            css=Markup(css),
            js=Markup(js),
            csp=csp(css, js),
            rows_shown=FIRST_ROWS,
            accounts_shown=FIRST_ACCOUNTS,
            groups_shown=FIRST_GROUPS,
        )
    )
