"""report.md: pastes cleanly into GitHub, GitLab and Jira tickets."""

from __future__ import annotations

from auditor.model import Report
from auditor.render.templating import env
from auditor.render.view import view


def render(report: Report) -> str:
    return env(False).get_template("report.md.j2").render(r=report, v=view(report))
