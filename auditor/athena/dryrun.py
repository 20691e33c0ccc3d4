"""What `AthenaEngine.dry_run` prints (`auditor audit --engine athena --dry-run`): the
plan, the SQL and the estimate. Pure: the engine has prepared (and estimated) the plan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.athena.cost import GB, check_budget
from auditor.athena.tableshape import OPTIONAL_FIELDS
from auditor.config import AthenaSettings
from auditor.engines.base import DryRun
from auditor.errors import BudgetError
from auditor.plan import Plan
from auditor.units import fmt_bytes

if TYPE_CHECKING:
    from auditor.engines.athena import Prepared


def describe(a: AthenaSettings, plan: Plan, prep: Prepared) -> DryRun:
    """The text to print, and the BudgetError the real run would raise (or None)."""
    est = prep.estimate
    rng = plan.range
    shape = prep.shape
    assert shape is not None
    queries = list(dict.fromkeys(u.name for u in prep.units))
    lines = [
        "auditor: dry run on Athena: nothing was queried",
        f"  range     {rng.first} .. {rng.last} "
        f"(eventTime {rng.start_iso} .. {rng.end_iso}, end exclusive)",
        f"  table     {a.database}.{a.table} (partition scheme {shape.scheme}"
        f"{'' if a.partition_scheme != 'auto' else ', read from Glue'}), "
        f"workgroup {a.workgroup}",
        f"  reads     {shape.describe()}",
        f"  plan      {len(prep.chunks)} chunk(s) x {len(queries)} query(ies) = "
        f"{len(prep.units)} statement(s), {a.concurrency} at a time, "
        f"--query-timeout {a.query_timeout:g}s",
        f"  state     {prep.state_dir}"
        + (f" (--resume: {len(prep.done)} of {len(prep.units)} already done)" if a.resume else ""),
    ]
    lines += [f"  missing   {p}: rendered NULL; {OPTIONAL_FIELDS[p]}" for p in shape.missing]
    lines += [f"  note      {n}" for n in shape.notes]
    if est is None:
        lines.append(f"  estimate  {prep.estimate_note}")
    else:
        todo_bytes = prep.todo_bytes or 0
        lines.append(
            f"  estimate  {fmt_bytes(est.total)} ({est.total:,} bytes) in {est.objects:,} "
            f"objects, {len(est.discovery.trails)} account/region folder(s), "
            f"{est.listings:,} listing(s) under {a.trail}; about "
            f"${est.cost_usd():.4f} at $5/TB (10 MB minimum per query)"
        )
        if a.resume and prep.done:
            lines.append(f"            still to run: {fmt_bytes(todo_bytes)}")
    error: BudgetError | None = None
    try:
        check_budget(a.max_scan_gb, prep.todo_bytes)
        if a.max_scan_gb is not None:
            lines.append(
                f"  budget    --max-scan-gb {a.max_scan_gb:g}: within "
                f"({(prep.todo_bytes or 0) / GB:,.2f} GB)"
            )
    except BudgetError as exc:
        error = exc
        lines.append(f"  budget    --max-scan-gb {a.max_scan_gb:g}: OVER, the run would be refused")

    lines += ["", f"  {'chunk':<24} {'query':<28} {'folders':<23} {'estimate':>12}  state"]
    for u in prep.units:
        folders = f"{u.folders[0]:%Y/%m/%d}..{u.folders[1]:%Y/%m/%d}"
        size = fmt_bytes(est.per_unit.get(u.key)) if est else "unknown"
        state = "done" if u.key in prep.done else "to run"
        lines.append(f"  {u.chunk.label:<24} {u.name:<28} {folders:<23} {size:>12}  {state}")

    lines.append("")
    first = prep.units[0].chunk.label if prep.units else None
    for u in prep.units:
        if u.chunk.label != first:
            break
        where = f" (chunk {u.chunk.label})" if len(prep.chunks) > 1 else ""
        lines += [f"-- {u.title}{where}", f"{u.display};", ""]
    if len(prep.chunks) > 1:
        lines.append(
            f"-- The other {len(prep.chunks) - 1} chunk(s) run the same statements with their "
            f"own dates; `auditor sql --engine athena` prints every one."
        )
    return DryRun("\n".join(lines).rstrip() + "\n", error)
