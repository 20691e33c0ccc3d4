"""report.jira.txt: Jira wiki markup (h2., ||header||, |cell|, {noformat}) sized for a Jira
comment (32,767 characters), whatever the data. Event text is escaped by `jira_escape`."""

from __future__ import annotations

from auditor.model import Report
from auditor.render import ticket
from auditor.render.templating import env
from auditor.render.view import QueryRow, View, view

LIMIT = ticket.JIRA_LIMIT - ticket.MARGIN


def _distinct_sql(queries: tuple[QueryRow, ...]) -> tuple[QueryRow, ...]:
    """The first run of each query name: chunks of a backfill share their SQL."""
    seen: dict[str, QueryRow] = {}
    for row in queries:
        seen.setdefault(row.q.name, row)
    return tuple(seen.values())


def render_ticket(report: Report, v: View, limit: int = LIMIT) -> str:
    template = env(False).get_template("report.jira.j2")
    caps = ticket.Caps()
    sql = _distinct_sql(v.queries)

    def text(k: int, n_sql: int) -> str:
        top = v.findings[:k]
        return template.render(
            r=report,
            v=v,
            top=top,
            left_out=len(v.findings) - len(top),
            cap=caps,
            sql=sql[:n_sql],
            sql_left_out=len(sql) - n_sql,
        )

    # The SQL goes in only when it leaves room for every finding ticket.TOP_MAX allows.
    n_top = min(len(v.findings), ticket.TOP_MAX)
    n_sql = len(sql) if len(text(n_top, len(sql))) <= limit or not sql else 0
    return ticket.fit(
        lambda k: text(k, n_sql),
        n_top,
        limit,
        cut_note="_Cut here to fit a Jira comment: findings.md and report.json hold the rest._",
    )


def render(report: Report) -> str:
    return render_ticket(report, view(report))
