"""The library entry point: `run_audit(config) -> Report`, and writing the reports.

AuditConfig -> engine (registry) -> build_plan(config, engine.target) -> Plan
-> engine.execute(plan) -> EngineResult -> build_report -> Report
"""

from __future__ import annotations

from pathlib import Path

from auditor.config import AuditConfig
from auditor.engines import build_engine
from auditor.engines.base import Engine
from auditor.errors import RenderError
from auditor.exemptions import load as load_exemptions
from auditor.model import Report
from auditor.plan import build_plan


def run_audit(config: AuditConfig, engine: Engine | None = None) -> Report:
    config = config.with_now()
    exemptions = load_exemptions(config.exemptions)  # before the scan: a bad file fails fast
    engine = engine or build_engine(config)
    plan = build_plan(config, engine.target)
    result = engine.execute(plan)
    assert config.now is not None
    from auditor.aggregate import build_report  # after the scan: not on the start-up path

    return build_report(config, result, config.now, exemptions, plan.rule)


def write_reports(report: Report, out: Path, formats: tuple[str, ...]) -> list[Path]:
    """Write report.<format> for each format to `out`, all or nothing (auditor.outdir):
    an older run's report.* of the other formats are removed, not left looking current."""
    from auditor.outdir import out_lock, replace_files
    from auditor.render import all_filenames, render_all

    texts = render_all(report, formats)
    stale = [name for name in all_filenames() if name not in texts]
    with out_lock(out):
        try:
            # The same bytes on every OS.
            return replace_files(out, ((n, t.encode("utf-8")) for n, t in texts.items()), stale)
        except OSError as exc:
            raise RenderError(
                f"--out {out}: cannot write the reports: {exc.strerror or exc}"
            ) from None
