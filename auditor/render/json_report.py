"""report.json: the versioned contract other tools read (docs/report-schema.md).

`to_dict` / `from_dict` round-trip a Report exactly, so `auditor render report.json`
rebuilds every other format without touching data.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any

from auditor.errors import RenderError
from auditor.model import SCHEMA_VERSION, Report


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_plain(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    return obj


# Report fields laid out by hand below; any other (newer) field is written under its own
# name after these, and read back the same way, so additive model changes flow through.
_LAID_OUT = (
    "schema_version",
    "rule",
    "range_start",
    "range_end",
    "engine",
    "totals",
    "findings",
    "suppressed",
    "events",
    "coverage",
    "provenance",
)


def _extra_fields() -> list[str]:
    return [f.name for f in dataclasses.fields(Report) if f.name not in _LAID_OUT]


def to_dict(report: Report) -> dict[str, Any]:
    cov = _plain(report.coverage)
    cov["complete"] = report.coverage.complete
    prov = _plain(report.provenance)
    prov["total_cost_usd"] = report.provenance.total_cost_usd
    prov["total_scanned_bytes"] = report.provenance.total_scanned_bytes
    out = {
        "schema_version": report.schema_version,
        "rule": _plain(report.rule),
        "range": {"start": report.range_start, "end": report.range_end},
        "engine": report.engine,
        "totals": _plain(report.totals),
        "findings": _plain(report.findings),
        "suppressed": _plain(report.suppressed),
        "events": _plain(report.events),
        "coverage": cov,
        "provenance": prov,
    }
    for name in _extra_fields():
        out[name] = _plain(getattr(report, name))
    return out


def render(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"


def _build(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _build(inner[0], value)
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in value:
                kwargs[f.name] = _build(hints[f.name], value[f.name])
        return typing.cast(Any, tp)(**kwargs)
    if origin is tuple:
        (inner, *_rest) = typing.get_args(tp)
        return tuple(_build(inner, v) for v in value)
    if origin is dict:
        return dict(value)
    return value


def from_dict(data: dict[str, Any]) -> Report:
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        found = data.get("schema_version") if isinstance(data, dict) else type(data).__name__
        raise RenderError(f"not a report.json of schema_version {SCHEMA_VERSION} (found {found})")
    hints = typing.get_type_hints(Report)
    try:
        extra = {n: _build(hints[n], data[n]) for n in _extra_fields() if n in data}
        return Report(
            **extra,
            schema_version=data["schema_version"],
            rule=_build(hints["rule"], data["rule"]),
            range_start=data["range"]["start"],
            range_end=data["range"]["end"],
            engine=data["engine"],
            totals=_build(hints["totals"], data["totals"]),
            findings=_build(hints["findings"], data["findings"]),
            suppressed=_build(hints["suppressed"], data.get("suppressed", [])),
            events=_build(hints["events"], data.get("events", [])),
            coverage=_build(hints["coverage"], data["coverage"]),
            provenance=_build(hints["provenance"], data["provenance"]),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise RenderError(f"report.json is missing or has a malformed field: {exc}") from None


def loads(text: str) -> Report:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RenderError(f"report.json is not valid JSON: {exc}") from None
    return from_dict(data)
