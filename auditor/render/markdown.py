"""report.md (sized for a GitHub/GitLab ticket) and findings.md (every finding)."""

from __future__ import annotations

from auditor.model import Report
from auditor.render import ticket
from auditor.render.templating import env
from auditor.render.view import View, view

LIMIT = ticket.GITHUB_LIMIT - ticket.MARGIN


def render_ticket(report: Report, v: View, limit: int = LIMIT) -> str:
    template = env(False).get_template("report.md.j2")
    caps = ticket.Caps()

    def text(k: int) -> str:
        top = v.findings[:k]
        return template.render(
            r=report, v=v, top=top, left_out=len(v.findings) - len(top), cap=caps
        )

    return ticket.fit(
        text,
        min(len(v.findings), ticket.TOP_MAX),
        limit,
        cut_note="*Cut here to fit a ticket: findings.md and report.json hold the rest.*",
    )


def render(report: Report) -> str:
    return render_ticket(report, view(report))


def render_findings(report: Report) -> str:
    """findings.md: every finding, account and coverage entry, and the SQL as run."""
    return env(False).get_template("findings.md.j2").render(r=report, v=view(report))
