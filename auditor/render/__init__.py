"""Renderers: each takes a Report and returns text. None does I/O.

A format writes one file, except `md`: a ticket-sized `report.md` and the full
per-finding `findings.md` next to it."""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_never

from auditor.config import ReportFormat
from auditor.model import Report

Renderer = Callable[[Report], str]

FILENAMES = {
    "json": "report.json",
    "md": "report.md",
    "html": "report.html",
    "csv": "report.csv",
    "jira": "report.jira.txt",
    "ocsf": "report.ocsf.json",
}

# Files a format writes beside its main one (kept in step with `outputs` by a test).
EXTRA_FILES = {"md": ("findings.md",)}


def all_filenames() -> tuple[str, ...]:
    """Every file name any format writes: what a run may remove as another run's."""
    return tuple(FILENAMES.values()) + tuple(n for v in EXTRA_FILES.values() for n in v)


def renderer(fmt: str) -> Renderer:
    """The renderer of a format's main file (FILENAMES[fmt])."""
    return outputs(fmt)[0][1]


def outputs(fmt: str) -> list[tuple[str, Renderer]]:
    """(file name, renderer) for every file a format writes."""
    try:
        name = ReportFormat(fmt)
    except ValueError:
        from auditor.errors import ConfigError

        raise ConfigError(f"unknown format {fmt!r} (use {', '.join(FILENAMES)})") from None
    main = FILENAMES[name]
    match name:
        case ReportFormat.JSON:
            from auditor.render import json_report

            return [(main, json_report.render)]
        case ReportFormat.MD:
            from auditor.render import markdown

            return [(main, markdown.render), ("findings.md", markdown.render_findings)]
        case ReportFormat.HTML:
            from auditor.render import html

            return [(main, html.render)]
        case ReportFormat.CSV:
            from auditor.render import csv_report

            return [(main, csv_report.render)]
        case ReportFormat.JIRA:
            from auditor.render import jira

            return [(main, jira.render)]
        case ReportFormat.OCSF:
            from auditor.render import ocsf  # needs the `ocsf` extra: imported only here

            return [(main, ocsf.render)]
        case _:
            assert_never(name)


def render_all(report: Report, formats: tuple[str, ...]) -> dict[str, str]:
    """File name -> text. JSON first: the HTML/Markdown provenance quote its SHA-256."""
    out: dict[str, str] = {}
    for fmt in sorted(formats, key=lambda f: f != "json"):
        for name, render in outputs(fmt):
            out[name] = render(report)
    return out
