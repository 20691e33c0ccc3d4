"""One registry of engines keyed by EngineName, one renderer per ReportFormat, and an
engine is one object: a tiny engine registered here runs a whole audit."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from athena_support import denied_row

from auditor import engines
from auditor.audit import run_audit
from auditor.config import AthenaSettings, AuditConfig, DateRange, EngineName, ReportFormat
from auditor.engines.base import EngineResult, SupportsDryRun
from auditor.model import QueryRecord
from auditor.plan import Plan, SqlTarget
from auditor.render import FILENAMES, outputs

NOW = datetime(2026, 12, 1, tzinfo=UTC)
OCT = DateRange(date(2026, 10, 1), date(2026, 10, 31))


@pytest.mark.parametrize("name", list(EngineName))
def test_every_engine_name_builds_its_engine(name: EngineName) -> None:
    offline = AthenaSettings(read_table=False)  # Athena: assume the table, no Glue
    engine = engines.build_engine(AuditConfig(range=OCT, engine=name, athena=offline))
    assert engine.name == name
    assert isinstance(engine.target, SqlTarget)


def test_only_athena_has_a_dry_run() -> None:
    built = {n: engines.build_engine(AuditConfig(range=OCT, engine=n)) for n in EngineName}
    assert {n for n, e in built.items() if isinstance(e, SupportsDryRun)} == {EngineName.ATHENA}


@pytest.mark.parametrize("fmt", list(ReportFormat))
def test_every_report_format_has_a_file_and_a_renderer(fmt: ReportFormat) -> None:
    files = outputs(fmt)
    assert files and files[0][0] == FILENAMES[fmt]
    assert all(callable(render) for _, render in files)


@dataclass(frozen=True)
class CannedSettings:
    rows: tuple[dict[str, Any], ...]


class CannedEngine:
    """A third engine: its settings, a target, and execute(plan). Nothing else."""

    name = "canned"
    target = SqlTarget(dialect="duckdb", table="cloudtrail", scheme="org")

    def __init__(self, settings: CannedSettings) -> None:
        self.settings = settings
        self.plans: list[Plan] = []

    def execute(self, plan: Plan) -> EngineResult:
        self.plans.append(plan)
        main = plan.rule.main_query
        return EngineResult(
            rows={main: [dict(r) for r in self.settings.rows]},
            queries=[
                QueryRecord(q.name, self.name, q.sql, q.params, state="SUCCEEDED")
                for q in plan.queries
            ],
        )


def test_a_registered_engine_runs_a_whole_audit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    made: list[CannedEngine] = []
    canned = CannedSettings(
        (denied_row("e1", "2026-10-02T10:00:00Z"), denied_row("e2", "2026-10-05T10:00:00Z"))
    )

    def factory(config: AuditConfig) -> CannedEngine:
        made.append(CannedEngine(canned))
        return made[-1]

    monkeypatch.setitem(engines.REGISTRY, "canned", factory)
    report = run_audit(AuditConfig(range=OCT, engine="canned", now=NOW))

    (engine,) = made
    (plan,) = engine.plans
    assert plan.range == OCT and plan.target == CannedEngine.target
    assert {e.event_id for e in report.events} == {"e1", "e2"}
    assert len(report.findings) == 1 and report.findings[0].attempts == 2
    assert report.engine == "canned"
    assert [q.engine for q in report.provenance.queries] == ["canned"] * len(plan.queries)


def test_an_unknown_engine_is_a_config_error() -> None:
    from auditor.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown engine 'nope'"):
        engines.build_engine(replace(AuditConfig(range=OCT), engine="nope"))
