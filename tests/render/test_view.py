"""The pure helpers behind the reports: scrubbing, chart geometry, event facts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from auditor.model import Report
from auditor.render import charts, view
from auditor.render.events import denial_reason, event_suppression
from auditor.render.scrub import scrub, scrub_config


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("auditor audit --month 2026-10", "auditor audit --month 2026-10"),
        (
            "--aws-secret-access-key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY --x 1",
            "--aws-secret-access-key [redacted] --x 1",
        ),
        ("--token='abc def'", "--token='[redacted] def'"),
        (
            "'s3://r/x?X-Amz-Security-Token=FQoG&X-Amz-Signature=ab12' --out o",
            "'s3://r/x?X-Amz-Security-Token=[redacted]&X-Amz-Signature=[redacted]' --out o",
        ),
        ("key AKIAIOSFODNN7EXAMPLE here", "key [redacted] here"),
        (
            "--source /data/trails/acct-111122223333/AWSLogs",
            "--source /data/trails/acct-111122223333/AWSLogs",
        ),
        ("--source ./Backups2026/CloudTrail", "--source ./Backups2026/CloudTrail"),
    ],
)
def test_scrub(raw: str, clean: str) -> None:
    assert scrub(raw) == clean


def test_scrub_config_hides_values_of_secret_named_keys() -> None:
    assert scrub_config({"engine": "athena", "session_token": "x", "api_key": ""}) == (
        ("engine", "athena"),
        ("session_token", "[redacted]"),
        ("api_key", ""),
    )


def test_denial_reason_keeps_the_because() -> None:
    msg = (
        "User: arn:aws:iam::1:user/u is not authorized to perform: bedrock:PutResourcePolicy"
        " on resource: arn:x with an explicit deny in a service control policy"
    )
    assert denial_reason(msg) == msg
    assert denial_reason(
        "User: u is not authorized because no identity-based policy allows it"
    ) == ("because no identity-based policy allows it")
    assert denial_reason(None) is None
    assert denial_reason("x" * 400).endswith("…") and len(denial_reason("x" * 400) or "") == 300


@pytest.mark.parametrize(
    ("top", "step"), [(0, 1), (1, 1), (3, 1), (7, 2), (12, 5), (40, 10), (999, 200)]
)
def test_nice_step(top: int, step: int) -> None:
    assert charts.nice_step(top) == step


def test_daily_chart_stacks_and_labels() -> None:
    from datetime import date

    c = charts.daily_stacked(
        {("2026-10-04", "a"): 2, ("2026-10-04", "b"): 1, ("2026-10-05", "a"): 1},
        ["a", "b"],
        date(2026, 10, 1),
        date(2026, 10, 31),
    )
    assert len(c.bars) == 3
    day4 = [b for b in c.bars if b.title.startswith("2026-10-04")]
    assert {b.cls for b in day4} == {"s0", "s1"}
    assert abs(sum(b.h for b in day4) - c.plot_h) < 0.01  # the busiest day reaches the top
    assert [t.label for t in c.y_ticks] == ["0", "1", "2", "3"]
    assert c.x_ticks[0].label == "Oct 1 2026"
    many = {("2026-10-01", f"acct{i}"): 1 for i in range(12)}
    c = charts.daily_stacked(
        many, [f"acct{i}" for i in range(12)], date(2026, 10, 1), date(2026, 10, 1)
    )
    assert [legend.label for legend in c.legend][-1] == "other accounts"
    assert len(c.legend) == charts.PALETTE


def test_daily_chart_leaves_room_for_wide_tick_labels() -> None:
    # "4,000" right-aligned 6 px left of the plot must end clear of the rotated axis
    # title drawn around x = 12 (11 px text: ~7 px a character).
    from datetime import date

    for peak in (3, 4_000, 250_000):
        c = charts.daily_stacked(
            {("2026-10-05", "a"): peak}, ["a"], date(2026, 10, 5), date(2026, 10, 5)
        )
        widest = max(len(t.label) for t in c.y_ticks)
        assert c.left - 6 - 7 * widest >= 20, (peak, c.left)
        assert c.left + c.plot_w + 12 == c.width


def test_events_of_an_older_report_are_matched_to_suppressed_findings(report: Report) -> None:
    old = replace(report, events=tuple(replace(e, suppressed_by=None) for e in report.events))
    assert set(event_suppression(old).values()) == {"onboarding-pipeline"}
    assert len(event_suppression(old)) == report.totals.suppressed_attempts


def test_view_orders_findings_by_severity(report: Report) -> None:
    v = view.view(report)
    assert [r.f.severity for r in v.findings] == ["high", "medium", "medium", "low"]
    assert v.severity_counts == {"high": 1, "medium": 2, "low": 1}
    assert v.first_day == "2026-10-01" and v.last_day == "2026-10-31" and v.days == 31
    assert {(p.value, p.kind) for p in v.policy_flags} == {
        ("*", "wildcard"),
        ("arn:aws:iam::999988887777:root", "external-account"),
    }
    assert v.expired_exemptions == 1


@pytest.mark.parametrize(
    ("first", "last", "bucket", "bars"),
    [
        ("2026-10-01", "2026-10-31", "day", 31),
        ("2026-10-01", "2026-11-30", "day", 61),
        ("2026-10-01", "2026-12-31", "week", 14),  # weeks from Monday 2026-09-28
        ("2026-01-01", "2026-12-31", "week", 53),
        ("2025-06-01", "2026-11-30", "month", 18),
    ],
)
def test_chart_bucket_follows_the_range(first: str, last: str, bucket: str, bars: int) -> None:
    from datetime import date

    f, la = date.fromisoformat(first), date.fromisoformat(last)
    counts = {(d.isoformat(), "a"): 1 for d in (f, la)}
    c = charts.daily_stacked(counts, ["a"], f, la)
    assert c.bucket == bucket
    assert len(charts.bucket_starts(f, la, bucket)) == bars
    assert sum(int(b.title.split(": ")[1].split()[0]) for b in c.bars) == 2  # nothing lost
    assert len(c.x_ticks) <= 12


def test_chart_labels_show_years_when_the_range_spans_two() -> None:
    from datetime import date

    c = charts.daily_stacked({("2026-12-30", "a"): 3}, ["a"], date(2026, 12, 1), date(2027, 1, 31))
    assert c.bucket == "day"
    assert all(t.label.endswith((" 2026", " 2027")) for t in c.x_ticks)
    assert c.x_ticks[0].label == "Dec 1 2026"
    m = charts.daily_stacked({("2026-03-02", "a"): 1}, ["a"], date(2025, 6, 1), date(2026, 6, 30))
    assert m.bucket == "month" and m.x_ticks[0].label == "Jun 2025"
    assert all(t.label[-4:] in ("2025", "2026") for t in m.x_ticks)
    one = charts.daily_stacked(
        {("2026-10-02", "a"): 1}, ["a"], date(2026, 10, 1), date(2026, 10, 31)
    )
    assert one.x_ticks[0].label == "Oct 1 2026" and one.x_ticks[1].label.count(" ") == 1


def test_narrow_chart_has_fewer_ticks_and_readable_text() -> None:
    from datetime import date

    wide = charts.daily_stacked(
        {("2026-10-02", "a"): 1}, ["a"], date(2026, 10, 1), date(2026, 10, 31)
    )
    narrow = charts.daily_stacked(
        {("2026-10-02", "a"): 1}, ["a"], date(2026, 10, 1), date(2026, 10, 31), width=420
    )
    assert narrow.width == 420 and len(narrow.x_ticks) < len(wide.x_ticks)
    gaps = [b.pos - a.pos for a, b in zip(narrow.x_ticks, narrow.x_ticks[1:])]
    assert min(gaps) >= 60  # labels of ~6 characters at 11 px never overlap
