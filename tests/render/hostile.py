"""Put an arbitrary string into every field of a Report that event data can reach.

`hostile(report, s)` replaces each such string with `s` plus a short tag unique to the
field (so that two fields never compare equal by accident, in the baseline as in the
hostile run). The same call with a harmless `s` is the baseline: any difference in
document structure between the two can only come from the content of `s`.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from hypothesis import strategies as st

from auditor.model import Report

# Fields that are not event data (our own values or fixed formats the renderers parse).
KEEP = {"id", "severity", "event_time", "expired", "schema_version", "finding_id"}

UNSAFE_AGENT_WORDS = (
    "terraform",
    "pulumi",
    "cloudformation",
    "aws-cdk",
    "cdk/",
    "crossplane",
    "ansible",
    "console.amazonaws.com",
    "aws internal",
    "signin.amazonaws.com",
)


# Random text, and text made of the characters that matter to HTML, Markdown and CSV
# (so that tags, entities, quotes and breaks are generated often, not by luck).
MARKUP = "<>&\"'`|[]()=+-@/:\\\n\r\t *#_!~$;aAbBscriptimgonerror"
STRINGS = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.sampled_from(MARKUP), max_size=60),
    st.lists(
        st.sampled_from(
            [
                "<script>",
                "</script>",
                "<img src=x onerror=alert(1)>",
                "<b>",
                "&amp;",
                "&#60;",
                '"',
                "'",
                "<!--",
                "-->",
                "<![CDATA[",
                "javascript:",
                "</textarea>",
                "<svg onload=x>",
                "x",
            ]
        ),
        max_size=6,
    ).map("".join),
)


def _swap(obj: Any, s: str, counter: itertools.count) -> Any:  # type: ignore[type-arg]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {}
        for f in dataclasses.fields(obj):
            if f.name in KEEP:
                continue
            changes[f.name] = _swap(getattr(obj, f.name), s, counter)
        return dataclasses.replace(obj, **changes)
    if isinstance(obj, str):
        return f"{s}~{next(counter)}"
    if isinstance(obj, tuple):
        return tuple(_swap(x, s, counter) for x in obj)
    if isinstance(obj, dict):
        return {_swap(k, s, counter): v for k, v in obj.items()}
    return obj


def hostile(report: Report, s: str) -> Report:
    counter = itertools.count()
    cov = report.coverage
    return dataclasses.replace(
        report,
        findings=_swap(report.findings, s, counter),
        suppressed=_swap(report.suppressed, s, counter),
        events=_swap(report.events, s, counter),
        exemptions=_swap(report.exemptions, s, counter),
        coverage=dataclasses.replace(
            cov,
            unreadable=_swap(cov.unreadable, s, counter),
            failed_queries=_swap(cov.failed_queries, s, counter),
            gaps=_swap(cov.gaps, s, counter),
            accounts=_swap(cov.accounts, s, counter),
            regions=_swap(cov.regions, s, counter),
        ),
    )


def unescaped(text: str, i: int) -> bool:
    """True if text[i] is not escaped by a backslash (an even run of them before it)."""
    n = 0
    while i - n - 1 >= 0 and text[i - n - 1] == "\\":
        n += 1
    return n % 2 == 0


def unescaped_count(text: str, ch: str) -> int:
    return sum(1 for i, c in enumerate(text) if c == ch and unescaped(text, i))
