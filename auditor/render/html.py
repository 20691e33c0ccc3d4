"""report.html: one self-contained page (inline CSS, no network), autoescaped."""

from __future__ import annotations

from auditor.model import Report
from auditor.render.templating import env
from auditor.render.view import view


def render(report: Report) -> str:
    return env(True).get_template("report.html.j2").render(r=report, v=view(report))
