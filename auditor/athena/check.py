"""`auditor check`: will an Athena audit run? One line per check, before any query.

    table       glue:GetTable: the table exists, where it reads (LOCATION)
    format      it is CloudTrail-shaped (columns, SerDe) and fits --partition-scheme
    partitions  the partition predicate the audit will use for the range
    fields      fields the table lacks (rendered NULL) and what that changes
    workgroup   athena:GetWorkGroup: enabled, engine version, enforced settings, output
                location, encryption, BytesScannedCutoffPerQuery
    trail       s3:ListBucket on the trail root (--trail, else the table's LOCATION)
    results     s3:ListBucket on the results location
    estimate    the scan estimate of the range and --max-scan-gb (with --trail)

Each permission is proven with the cheapest call that needs it (one page of one key).
Exit code (the one the audit would end with): 0 when every check is ok, 3 when AWS
refused a call the audit needs (Athena, S3) or the workgroup cannot run it, else 2 (the
table, the flags or the budget: the audit would refuse before querying).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.athena.tableshape import OPTIONAL_FIELDS, TableShape, from_glue, read_glue_table
from auditor.aws import classify
from auditor.config import AuditConfig
from auditor.errors import AuditorError, ConfigError
from auditor.units import fmt_bytes


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    exit_code: int = 0  # what the audit would exit with, when not ok

    def line(self) -> str:
        return f"{self.name:<11} {'ok' if self.ok else 'FAIL'}: {self.detail}"


def _code(exc: Any) -> str:
    from botocore.exceptions import ClientError

    f = classify(exc)
    return f.code if isinstance(exc, ClientError) else f"{f.code}: {f.message}"


def _list(s3: Any, url: str) -> str | None:
    """None when one ListObjectsV2 page of `url` (delimiter /) is allowed, else why not."""
    from botocore.exceptions import BotoCoreError, ClientError

    from auditor.sources.s3 import split_url

    bucket, key = split_url(url.rstrip("/"))
    try:
        s3.list_objects_v2(Bucket=bucket, Prefix=f"{key}/" if key else "", Delimiter="/", MaxKeys=1)
    except (ClientError, BotoCoreError) as exc:
        return _code(exc)
    return None


def partition_predicate(config: AuditConfig, shape: TableShape) -> str:
    """The partition filter of the rule's query for the range, values inlined."""
    from auditor.engines.athena import sql_target
    from auditor.plan import build_plan

    sql = build_plan(config, sql_target(config.athena, shape)).queries[0].display
    # For people: the WHERE clause's partition part, as the dry run prints it whole.
    where = sql.split("\nWHERE ", 1)[1]
    return " ".join(where.split("AND from_iso8601_timestamp", 1)[0].split())


def run_checks(
    config: AuditConfig, glue: Any, athena: Any, s3: Any, with_range: bool = True
) -> list[Check]:
    """Every check, in order; later ones are skipped when the table cannot be read."""
    from auditor.athena.runner import AthenaRunner

    a = config.athena
    where = f"{a.database}.{a.table}"
    out: list[Check] = []
    shape: TableShape | None = None
    try:
        got = glue.get_table(DatabaseName=a.database, Name=a.table)["Table"]
        loc = (got.get("StorageDescriptor") or {}).get("Location") or "(no LOCATION)"
        out.append(Check("table", True, f"{where} reads {loc}"))
    except Exception as exc:  # noqa: BLE001 - every refusal is one FAIL line
        code = _code(exc)
        why = (
            "not found in the Glue Data Catalog"
            if code == "EntityNotFoundException"
            else f"glue:GetTable refused: {code}"
        )
        out.append(Check("table", False, f"{where} {why}", 2))
        got = None
    if got is not None:
        try:
            shape = (
                read_glue_table(glue, a.database, a.table)
                if got.get("PartitionKeys")
                else from_glue(got, a.database)
            )
            shape.check_scheme(a.partition_scheme)
            shape.check_filters(config.accounts, config.regions)
            skips = " ".join(f"WARNING: {line}" for line in shape.shortfalls())
            out.append(
                Check(
                    "format",
                    True,
                    f"CloudTrail-shaped ({shape.serde}), partition scheme {shape.scheme}"
                    + (f"; {skips}" if skips else ""),
                )
            )
        except ConfigError as exc:
            out.append(Check("format", False, str(exc), 2))
            shape = None
    if shape is not None:
        if with_range:
            pred = partition_predicate(config, shape)
            out.append(Check("partitions", True, f"{shape.describe()}; rule query: {pred}"))
        else:
            out.append(Check("partitions", True, shape.describe()))
        missing = [f"{p} (rendered NULL: {OPTIONAL_FIELDS[p]})" for p in shape.missing]
        out.append(
            Check(
                "fields",
                True,
                "; ".join(missing) if missing else "every field the audit reads is in the table",
            )
        )

    results = a.output_location
    try:
        wg = AthenaRunner(athena, a).call("get_work_group", WorkGroup=a.workgroup).get("WorkGroup")
        if not wg:
            raise ConfigError(f"athena:GetWorkGroup: no workgroup {a.workgroup}")
        conf = wg.get("Configuration") or {}
        rc = conf.get("ResultConfiguration") or {}
        enforced = bool(conf.get("EnforceWorkGroupConfiguration"))
        if enforced or not results:
            results = rc.get("OutputLocation") or results
        version = (
            (conf.get("EngineVersion") or {}).get("EffectiveEngineVersion")
            or (conf.get("EngineVersion") or {}).get("SelectedEngineVersion")
            or "unknown"
        )
        cutoff = conf.get("BytesScannedCutoffPerQuery")
        enc = (rc.get("EncryptionConfiguration") or {}).get("EncryptionOption") or "none"
        detail = (
            f"{a.workgroup}: {version}, settings "
            f"{'enforced' if enforced else 'not enforced'}, results "
            f"{results or 'none'}, encryption {enc}, BytesScannedCutoffPerQuery "
            f"{fmt_bytes(int(cutoff)) if cutoff else 'none'}"
        )
        if enforced and a.output_location and a.output_location != rc.get("OutputLocation"):
            detail += " (--output-location is overridden by the workgroup)"
        if wg.get("State") == "DISABLED":
            out.append(Check("workgroup", False, f"{a.workgroup} is disabled", 3))
        elif not results:
            out.append(
                Check(
                    "workgroup", False, f"{detail}: no results location (pass --output-location)", 2
                )
            )
        else:
            out.append(Check("workgroup", True, detail))
    except AuditorError as exc:  # refused or absent: the audit's first query fails (3)
        out.append(Check("workgroup", False, str(exc), 3))

    trail = a.trail or (shape.location if shape is not None else None)
    if trail and trail.startswith("s3://"):
        refused = _list(s3, trail)
        out.append(
            Check(
                "trail",
                refused is None,
                f"s3:ListBucket {trail}" + (f" refused: {refused}" if refused else ""),
                3,
            )
        )
    else:
        out.append(Check("trail", True, "skipped: no s3:// trail root or table LOCATION"))
    if results and results.startswith("s3://"):
        refused = _list(s3, results)
        out.append(
            Check(
                "results",
                refused is None,
                f"s3:ListBucket {results}" + (f" refused: {refused}" if refused else ""),
                3,
            )
        )

    out.append(_estimate(config, shape, s3, with_range))
    return out


def _estimate(config: AuditConfig, shape: TableShape | None, s3: Any, with_range: bool) -> Check:
    from auditor.athena.cost import check_budget
    from auditor.engines.athena import AthenaEngine
    from auditor.plan import build_plan

    a = config.athena
    if not with_range or not a.trail or shape is None:
        need = (
            "give --month or --from/--to"
            if not with_range
            else "pass --trail s3://bucket/prefix"
            if not a.trail
            else "the table cannot be read"
        )
        return Check("estimate", True, f"skipped: {need}")
    try:
        eng = AthenaEngine(a, s3_client=s3, shape=shape)
        prep = eng.prepare(build_plan(config, eng.target))
        est = prep.estimate
        assert est is not None
        span = f"{config.range.first}..{config.range.last}"
        detail = (
            f"{span}: {fmt_bytes(est.total)} in {est.objects:,} objects, about "
            f"${est.cost_usd():.4f}"
        )
        check_budget(a.max_scan_gb, est.total)
    except AuditorError as exc:
        return Check("estimate", False, str(exc), exc.exit_code)
    return Check("estimate", True, detail)
