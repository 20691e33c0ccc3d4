"""Helpers for the Athena tests: moto's Athena backend seeded with results, and a thin
wrapper around a real (moto) boto3 client that adds what moto does not simulate:
statistics, a FAILED reason, throttling, result pages."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from auditor.config import AthenaSettings, AuditConfig, DateRange
from auditor.model import Report
from auditor.plan import PlannedQuery

if TYPE_CHECKING:
    from auditor.athena.tableshape import TableShape

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
NOW = datetime(2026, 12, 1, tzinfo=UTC)

# The columns of denied_policy_changes, in its SELECT order.
MAIN_COLUMNS = (
    "event_id",
    "event_time",
    "account_id",
    "region",
    "action",
    "error_code",
    "error_message",
    "principal",
    "principal_type",
    "caller_account_id",
    "identity_arn",
    "session",
    "access_key_id",
    "source_ip",
    "user_agent",
    "resource",
    "request_parameters",
)


def backend() -> Any:
    from moto.athena.models import athena_backends

    return athena_backends[ACCOUNT][REGION]


def seed(rows: list[dict[str, Any]], columns: tuple[str, ...] = MAIN_COLUMNS) -> None:
    """Queue one result set (header row first, as Athena returns it) for the next query."""
    backend().query_results_queue.append(results(rows, columns))


def results(rows: list[dict[str, Any]], columns: tuple[str, ...] = MAIN_COLUMNS) -> Any:
    """A moto QueryResults: header row first, as Athena returns it."""
    from moto.athena.models import QueryResults

    data = [{"Data": [{"VarCharValue": c} for c in columns]}]
    for r in rows:
        data.append(
            {"Data": [{} if r.get(c) is None else {"VarCharValue": str(r[c])} for c in columns]}
        )
    info = [{"Name": c, "Label": c, "Type": "varchar", "Nullable": "UNKNOWN"} for c in columns]
    return QueryResults(rows=data, column_info=info)


def answer(qid: str, rows: list[dict[str, Any]], columns: tuple[str, ...] = MAIN_COLUMNS) -> None:
    """Give one execution its result set (deterministic, whatever the start order)."""
    backend().query_results[qid] = results(rows, columns)


def query_name(kw: dict[str, Any]) -> str:
    """The query a start_query_execution call runs (each template says `-- auditor: name`)."""
    for line in kw["QueryString"].splitlines():
        if line.startswith("-- auditor: "):
            return line[len("-- auditor: ") :].strip()
    return "?"


def denied_row(
    event_id: str,
    when: str,
    principal: str = "arn:aws:iam::111122223333:role/ci",
    account: str = "111122223333",
    **kw: Any,
) -> dict[str, Any]:
    row = {
        "event_id": event_id,
        "event_time": when,
        "account_id": account,
        "region": "us-east-1",
        "action": "PutResourcePolicy",
        "error_code": "AccessDeniedException",
        "error_message": "denied",
        "principal": principal,
        "principal_type": "AssumedRole",
        "caller_account_id": account,
        "identity_arn": f"{principal}/session",
        "session": "AROAEXAMPLE:session",
        "access_key_id": "ASIAEXAMPLE",
        "source_ip": "203.0.113.10",
        "user_agent": "aws-cli/2.17.0",
        "resource": f"arn:aws:bedrock:us-east-1:{account}:agent/AGENT12345",
        "request_parameters": '{"resourceArn": "x"}',
    }
    row.update(kw)
    return row


def config(first: date, last: date, **athena: Any) -> AuditConfig:
    athena.setdefault("poll_interval", 0.01)
    athena.setdefault("database", "cloudtrail")
    athena.setdefault("table", "cloudtrail_logs")
    return AuditConfig(
        range=DateRange(first, last), engine="athena", athena=AthenaSettings(**athena), now=NOW
    )


def throttle(op: str, code: str = "ThrottlingException") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        op,
    )


class FakeAthena:
    """A real boto3 Athena client (talking to moto) with what moto lacks added on top."""

    def __init__(self, client: Any, scanned: int = 1024**2, engine_ms: int = 0) -> None:
        self.client = client
        self.scanned = scanned
        self.engine_ms = engine_ms
        self.fail: dict[str, tuple[str, str, bool]] = {}  # qid -> (state, reason, retryable)
        self.throttles: dict[str, list[str]] = {}  # op -> error codes to raise first
        self.on_start: Callable[[str, dict[str, Any]], None] | None = None
        self.page_size: int | None = None
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.started: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        # What is not faked is the real client's (get_table when it stands for Glue).
        return getattr(self.client, name)

    def _maybe_throttle(self, op: str) -> None:
        with self._lock:
            codes = self.throttles.get(op)
            if codes:
                raise throttle(op, codes.pop(0))

    def start_query_execution(self, **kw: Any) -> dict[str, Any]:
        with self._lock:
            self.calls.append(("start_query_execution", kw))
        self._maybe_throttle("start_query_execution")
        out = self.client.start_query_execution(**kw)
        with self._lock:
            self.started.append(kw)
        if self.on_start:
            self.on_start(out["QueryExecutionId"], kw)
        return out

    def get_query_execution(self, **kw: Any) -> dict[str, Any]:
        with self._lock:
            self.calls.append(("get_query_execution", kw))
        self._maybe_throttle("get_query_execution")
        out = self.client.get_query_execution(**kw)
        ex = out["QueryExecution"]
        ex["Statistics"]["DataScannedInBytes"] = self.scanned
        ex["Statistics"]["EngineExecutionTimeInMillis"] = self.engine_ms
        failed = self.fail.get(kw["QueryExecutionId"])
        if failed:
            state, reason, retryable = failed
            ex["Status"]["State"] = state
            ex["Status"]["StateChangeReason"] = reason
            ex["Status"]["AthenaError"] = {
                "ErrorCategory": 2,
                "Retryable": retryable,
                "ErrorMessage": reason,
            }
        return out

    def get_query_results(self, **kw: Any) -> dict[str, Any]:
        with self._lock:
            self.calls.append(("get_query_results", kw))
        token = kw.pop("NextToken", None)
        kw.pop("MaxResults", None)
        out = self.client.get_query_results(**kw)
        if not self.page_size:
            return out
        rows = out["ResultSet"]["Rows"]
        start = int(token or 0)
        page = rows[start : start + self.page_size]
        out["ResultSet"]["Rows"] = page
        if start + self.page_size < len(rows):
            out["NextToken"] = str(start + self.page_size)
        return out

    def stop_query_execution(self, **kw: Any) -> dict[str, Any]:
        with self._lock:
            self.calls.append(("stop_query_execution", kw))
        return self.client.stop_query_execution(**kw)

    def count(self, op: str) -> int:
        return sum(1 for name, _ in self.calls if name == op)


def athena_audit(cfg: AuditConfig, client: Any, progress: bool = False) -> Report:
    """run_audit on an Athena engine built from cfg's Athena settings, on `client` (the
    table's shape from (moto's) Glue, unless given)."""
    from auditor.audit import run_audit
    from auditor.engines.athena import AthenaEngine

    return run_audit(cfg, AthenaEngine(cfg.athena, athena_client=client, progress=progress))


def planned(cfg: AuditConfig, shape: TableShape | None = None) -> list[PlannedQuery]:
    """Every statement the Athena engine would run for cfg on a table of that shape."""
    from auditor.engines.athena import sql_target
    from auditor.plan import build_plan

    return list(build_plan(cfg, sql_target(cfg.athena, shape)).queries)


def ddl_table_input(scheme: str = "timestamp", name: str = "cloudtrail_logs") -> dict[str, Any]:
    """Glue TableInput of `auditor ddl`'s table for a partition scheme."""
    from auditor import ddl
    from auditor.table import COLUMNS, hive_type

    parts = {
        "timestamp": ["timestamp"],
        "org": ["account", "region", "timestamp"],
        "manual": ["region", "year", "month", "day"],
    }[scheme]
    params = {"EXTERNAL": "TRUE"}
    if scheme != "manual":
        params.update(
            {
                "projection.enabled": "true",
                "projection.timestamp.type": "date",
                "projection.timestamp.format": "yyyy/MM/dd",
                "storage.location.template": "s3://b/AWSLogs/${timestamp}",
            }
        )
    if scheme == "org":
        params.update(
            {
                "projection.account.type": "enum",
                "projection.account.values": ACCOUNT,
                "projection.region.type": "enum",
                "projection.region.values": REGION,
            }
        )
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": params,
        "PartitionKeys": [{"Name": p, "Type": "string"} for p in parts],
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": hive_type(t).lower()} for n, t in COLUMNS],
            "Location": "s3://b/AWSLogs/",
            "InputFormat": ddl.INPUT_FORMAT,
            "SerdeInfo": {"SerializationLibrary": ddl.SERDE},
        },
    }


def glue_table(
    scheme: str = "timestamp", database: str = "cloudtrail", name: str = "cloudtrail_logs"
) -> None:
    """Create `auditor ddl`'s table in (moto's) Glue, replacing one of that name."""
    import boto3

    glue = boto3.client("glue", region_name=REGION)
    try:
        glue.create_database(DatabaseInput={"Name": database})
    except glue.exceptions.AlreadyExistsException:
        pass
    try:
        glue.delete_table(DatabaseName=database, Name=name)
    except glue.exceptions.EntityNotFoundException:
        pass
    glue.create_table(DatabaseName=database, TableInput=ddl_table_input(scheme, name))
