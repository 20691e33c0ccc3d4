"""Renderers: each takes a Report and returns text. None does I/O."""

from __future__ import annotations

from collections.abc import Callable

from auditor.model import Report

FILENAMES = {"json": "report.json", "md": "report.md", "html": "report.html", "csv": "report.csv"}


def renderer(fmt: str) -> Callable[[Report], str]:
    if fmt == "json":
        from auditor.render.json_report import render
    elif fmt == "md":
        from auditor.render.markdown import render
    elif fmt == "html":
        from auditor.render.html import render
    elif fmt == "csv":
        from auditor.render.csv_report import render
    else:
        from auditor.errors import ConfigError

        raise ConfigError(f"unknown format {fmt!r} (use json, md, html, csv)")
    return render


def render_all(report: Report, formats: tuple[str, ...]) -> dict[str, str]:
    """File name -> text. JSON first: the HTML/Markdown provenance quote its SHA-256."""
    out: dict[str, str] = {}
    for fmt in sorted(formats, key=lambda f: f != "json"):
        out[FILENAMES[fmt]] = renderer(fmt)(report)
    return out
