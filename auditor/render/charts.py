"""Chart geometry for the HTML report's inline SVG (pure: numbers in, shapes out).

The template only draws what is computed here, so a chart is as deterministic and as
testable as the rest of the report. Labels are plain strings; the template escapes them.
Colours are CSS classes (`s0`..`s7`, `sev-high`, ...) so light, dark and print styles
apply to the SVG like to the page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

PALETTE = 8  # series classes s0..s7; beyond that, the rest is grouped as "other"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    cls: str
    title: str


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class LegendItem:
    cls: str
    label: str
    value: int


@dataclass(frozen=True)
class StackedChart:
    """Vertical bars, one per day, stacked by series (account)."""

    width: int
    height: int
    left: int
    top: int
    plot_w: float
    plot_h: float
    bars: tuple[Rect, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    legend: tuple[LegendItem, ...]
    x_label: str
    y_label: str
    summary: str  # one sentence for screen readers and the <title>
    bucket: str = "day"  # what one bar counts: day, week or month

    @property
    def bottom(self) -> float:
        return self.top + self.plot_h


@dataclass(frozen=True)
class HBar:
    label: str  # shown (possibly shortened)
    full: str  # the whole value, in the bar's <title>
    value: int
    y: float
    w: float
    cls: str


@dataclass(frozen=True)
class HBarChart:
    """Horizontal bars with a label column on the left and the value at the bar's end."""

    width: int
    height: int
    label_w: int
    bar_h: int
    bars: tuple[HBar, ...]
    summary: str
    left_out: int = 0  # rows not drawn (shown as a note under the chart)


def fmt_int(n: int) -> str:
    return f"{n:,}"


def nice_step(top: int, max_ticks: int = 5) -> int:
    """An integer step of 1, 2 or 5 x 10^k giving at most `max_ticks` steps up to `top`."""
    if top <= 0:
        return 1
    raw = top / max_ticks
    mag = 10 ** max(0, math.floor(math.log10(raw))) if raw >= 1 else 1
    for m in (1, 2, 5, 10):
        if m * mag >= raw:
            return int(m * mag)
    return int(10 * mag)  # pragma: no cover - the loop always returns


def short_label(text: str, limit: int) -> str:
    """Keep the end of long values: an ARN's distinguishing part is its tail."""
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


BUCKETS = ("day", "week", "month")
DAY_MAX = 62  # up to two months: one bar a day
WEEK_MAX = 366  # up to a year: one bar a week (weeks start on Monday, ISO 8601)


def bucket_for(first: date, last: date) -> str:
    """The bar width for a range: day up to two months, week up to a year, then month."""
    days = (last - first).days + 1
    return "day" if days <= DAY_MAX else "week" if days <= WEEK_MAX else "month"


def bucket_start(d: date, bucket: str) -> date:
    if bucket == "week":
        return d - timedelta(days=d.weekday())
    if bucket == "month":
        return d.replace(day=1)
    return d


def _next(d: date, bucket: str) -> date:
    if bucket == "week":
        return d + timedelta(days=7)
    if bucket == "month":
        return date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return d + timedelta(days=1)


def bucket_starts(first: date, last: date, bucket: str) -> list[date]:
    out, d = [], bucket_start(first, bucket)
    while d <= last:
        out.append(d)
        d = _next(d, bucket)
    return out


def _label(d: date, bucket: str, *, with_year: bool) -> str:
    text = _MONTHS[d.month - 1] if bucket == "month" else f"{_MONTHS[d.month - 1]} {d.day}"
    return f"{text} {d.year}" if with_year else text


def _title(d: date, bucket: str) -> str:
    if bucket == "month":
        return f"{d:%Y-%m}"
    return f"week of {d.isoformat()}" if bucket == "week" else d.isoformat()


def daily_stacked(
    counts: dict[tuple[str, str], int],
    series_order: Sequence[str],
    first: date,
    last: date,
    *,
    width: int = 960,
    height: int = 240,
    bucket: str | None = None,
) -> StackedChart:
    """`counts[(YYYY-MM-DD, series)]` -> one stacked bar per day, week or month (`bucket`,
    else chosen from the range's length) from `first` to `last`.

    Series past the palette are merged into "other accounts" so colours stay distinct.
    Tick labels carry the year on the first tick and at each new year, and on every tick
    when the range spans more than one year. A narrow chart (`width`) gets fewer ticks.
    """
    bucket = bucket or bucket_for(first, last)
    shown = list(series_order[: PALETTE - 1]) if len(series_order) > PALETTE else list(series_order)
    cls = {s: f"s{i}" for i, s in enumerate(shown)}
    other = "other accounts"
    per_slot: dict[date, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for (day, series), n in counts.items():
        key = series if series in cls else other
        slot_day = bucket_start(date.fromisoformat(day), bucket)
        per_slot.setdefault(slot_day, {})
        per_slot[slot_day][key] = per_slot[slot_day].get(key, 0) + n
        totals[key] = totals.get(key, 0) + n
    if other in totals:
        cls[other] = f"s{PALETTE - 1}"
        shown.append(other)
    slots = bucket_starts(first, last, bucket)
    peak = max((sum(v.values()) for v in per_slot.values()), default=0)
    step = nice_step(peak)
    y_max = max(step, math.ceil(peak / step) * step)
    # Room left of the plot for the widest tick label ("12,000": ~7 px a character at
    # 11 px) and, beyond it, the rotated axis title, so the two never overlap.
    widest = max(len(fmt_int(v)) for v in range(0, y_max + 1, step))
    left, right, top, bottom = max(48, 26 + 7 * widest), 12, 12, 46
    plot_w, plot_h = float(width - left - right), float(height - top - bottom)
    slot = plot_w / max(1, len(slots))
    gap = min(4.0, slot * 0.2)
    bars: list[Rect] = []
    for i, d in enumerate(slots):
        y = top + plot_h
        for s in shown:
            n = per_slot.get(d, {}).get(s, 0)
            if not n:
                continue
            h = plot_h * n / y_max
            y -= h
            bars.append(
                Rect(
                    x=round(left + i * slot + gap / 2, 2),
                    y=round(y, 2),
                    w=round(max(1.0, slot - gap), 2),
                    h=round(h, 2),
                    cls=cls[s],
                    title=f"{_title(d, bucket)}: {fmt_int(n)} attempt{'s' * (n != 1)} in {s}",
                )
            )
    # A label needs ~80 px ("Oct 12 2026" at 11 px); fewer ticks on a narrow chart.
    many_years = first.year != last.year
    max_ticks = max(3, min(12, int(plot_w // (90 if many_years else 70))))
    every = max(1, math.ceil(len(slots) / max_ticks))
    x_ticks = []
    last_year = None
    for i, d in enumerate(slots):
        if i % every:
            continue
        x_ticks.append(
            Tick(
                round(left + (i + 0.5) * slot, 2),
                _label(d, bucket, with_year=many_years or d.year != last_year),
            )
        )
        last_year = d.year
    y_ticks = tuple(
        Tick(round(top + plot_h - plot_h * v / y_max, 2), fmt_int(v))
        for v in range(0, y_max + 1, step)
    )
    legend = tuple(LegendItem(cls[s], s, totals.get(s, 0)) for s in shown)
    total = sum(totals.values())
    return StackedChart(
        width=width,
        height=height,
        left=left,
        top=top,
        plot_w=plot_w,
        plot_h=plot_h,
        bars=tuple(bars),
        x_ticks=tuple(x_ticks),
        y_ticks=y_ticks,
        legend=legend,
        x_label={"day": "day (UTC)", "week": "week from Monday (UTC)", "month": "month (UTC)"}[
            bucket
        ],
        y_label="attempts",
        summary=(
            f"{fmt_int(total)} denied attempts from {first.isoformat()} to {last.isoformat()}, "
            f"by {bucket} and account; busiest {bucket} {fmt_int(peak)}."
        ),
        bucket=bucket,
    )


def hbars(
    rows: Sequence[tuple[str, int, str]],
    *,
    what: str,
    limit: int = 10,
    width: int = 960,
    label_w: int = 470,
    label_chars: int = 64,
) -> HBarChart:
    """`rows` of (label, value, css class), largest first; at most `limit` drawn."""
    value_w, bar_h, pad = 56, 20, 6
    drawn = list(rows[:limit])
    peak = max((v for _, v, _ in drawn), default=0) or 1
    room = width - label_w - value_w
    bars = tuple(
        HBar(
            label=short_label(label, label_chars),
            full=label,
            value=v,
            y=i * (bar_h + pad),
            w=round(max(2.0, room * v / peak), 2),
            cls=c,
        )
        for i, (label, v, c) in enumerate(drawn)
    )
    height = max(1, len(bars)) * (bar_h + pad)
    top = ", ".join(f"{label} ({fmt_int(v)})" for label, v, _ in drawn[:3])
    return HBarChart(
        width=width,
        height=height,
        label_w=label_w,
        bar_h=bar_h,
        bars=bars,
        summary=f"{what}, largest first: {top}." if drawn else f"{what}: none.",
        left_out=max(0, len(rows) - limit),
    )
