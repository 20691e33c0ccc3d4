"""One statement through the Athena API, in a way that survives Athena.

    start_query_execution (values as ExecutionParameters) -> poll get_query_execution
    until SUCCEEDED / FAILED / CANCELLED or our own deadline (then stop_query_execution)
    -> get_query_results, page by page -> rows + a QueryRecord with Athena's statistics

Retries: botocore's standard mode retries throttling and 5xx itself; on top of that every
API call here backs off with full jitter on throttling (`TooManyRequestsException`, the
concurrent-query quota, which the legacy mode never retried): auditor.aws.with_backoff.
A query Athena reports FAILED with `AthenaError.Retryable` is rerun a few times; any
other FAILED/CANCELLED becomes `QueryFailed` naming the query id and Athena's reason
(exit 3).

boto3 directly, not awswrangler: its `wait_query` has no deadline (DOMAIN.md section 4),
and the local engine must never import it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from auditor.athena.cost import query_cost_usd
from auditor.aws import Backoff, aws_error, is_throttled, with_backoff
from auditor.config import AthenaSettings
from auditor.errors import ConfigError, QueryFailed
from auditor.model import QueryRecord
from auditor.render.scrub import inert
from auditor.sqlgen import sql_literal

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
MAX_QUERY_BYTES = 262_144  # Athena's limit on query text
RESULTS_PAGE = 1000  # get_query_results' maximum page
REASON_MAX = 1000  # characters of Athena's reason in an error line

Row = dict[str, Any]


@dataclass(frozen=True)
class RetryPolicy(Backoff):
    """Tries of one API call while Athena throttles (auditor.aws.Backoff), and reruns of
    a query Athena reports FAILED but retryable."""

    failed_reruns: int = 2


class AthenaQueryFailed(QueryFailed):
    """A query ended FAILED or CANCELLED, or ran past --query-timeout. `reason` is
    Athena's own (whole, not made inert: the message is, for a terminal), `state` the
    final state as far as we know it."""

    def __init__(
        self,
        message: str,
        query_id: str | None,
        record: QueryRecord | None,
        reason: str = "",
        state: str | None = None,
    ) -> None:
        super().__init__(message, query_id)
        self.record = record
        self.reason = reason or message
        self.state = state if state is not None else (record.state if record else None)


class AthenaApiError(QueryFailed):
    """An Athena API call was refused (access denied, no such workgroup, ...): the same
    for every query, so a backfill stops at once."""


class Interrupted(Exception):
    """The run was interrupted; the query was stopped."""


def _convert(value: str | None, typ: str) -> Any:
    if value is None:
        return None
    t = typ.lower()
    try:
        if t in ("tinyint", "smallint", "integer", "int", "bigint"):
            return int(value)
        if t in ("double", "float", "real"):
            return float(value)
    except ValueError:
        return value
    if t == "boolean":
        return value == "true"
    return value


class AthenaRunner:
    """Runs statements one at a time per call; safe to share between threads."""

    def __init__(
        self,
        client: Any,
        settings: AthenaSettings,
        *,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
        cancel: threading.Event | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.retry = retry
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self.cancel = cancel or threading.Event()
        self._lock = threading.Lock()
        self.throttled = 0  # API calls that were throttled and retried

    # -- API calls with our backoff ------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        return self.retry.delay(attempt, self._rand)

    def _throttled(self, _: BaseException) -> None:
        with self._lock:
            self.throttled += 1

    def call(self, op: str, **kw: Any) -> Any:
        """One API call, throttling retried with backoff (auditor.aws.with_backoff); a
        refusal is AthenaApiError naming the call, missing credentials a ConfigError."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return with_backoff(
                lambda: getattr(self.client, op)(**kw),
                is_throttled,
                self.retry,
                sleep=self._sleep,
                rand=self._rand,
                on_retry=self._throttled,
            )
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, f"Athena {op}", AthenaApiError) from None

    # -- one statement -------------------------------------------------------------------

    def start(self, sql: str, params: tuple[str, ...] = ()) -> str:
        if len(sql.encode()) > MAX_QUERY_BYTES:
            raise ConfigError(
                f"a query is {len(sql.encode()):,} bytes, over Athena's {MAX_QUERY_BYTES:,}: "
                f"use fewer --account/--region values"
            )
        s = self.settings
        kw: dict[str, Any] = {
            "QueryString": sql,
            "QueryExecutionContext": {"Database": s.database},
            "WorkGroup": s.workgroup,
        }
        if params:
            # Athena substitutes each value into the statement as SQL text: send literals.
            kw["ExecutionParameters"] = [sql_literal(p) for p in params]
        if s.output_location:
            kw["ResultConfiguration"] = {"OutputLocation": s.output_location}
        return str(self.call("start_query_execution", **kw)["QueryExecutionId"])

    def stop(self, qid: str) -> str | None:
        """Ask Athena to stop a query: None once asked, else why Athena refused (then
        the query may still be running, and billing)."""
        try:
            self.call("stop_query_execution", QueryExecutionId=qid)
        except QueryFailed as exc:
            return str(exc)
        return None

    def describe(self, qid: str) -> dict[str, Any]:
        return dict(self.call("get_query_execution", QueryExecutionId=qid)["QueryExecution"])

    def wait(self, qid: str, name: str) -> dict[str, Any]:
        """Poll until the query ends; past the deadline, stop it and raise."""
        timeout = self.settings.query_timeout
        deadline = self._clock() + timeout
        interval = min(0.25, self.settings.poll_interval)
        while True:
            ex = self.describe(qid)
            state = ex.get("Status", {}).get("State")
            if state in TERMINAL:
                return ex
            if self.cancel.is_set():
                self.stop(qid)
                raise Interrupted(qid)
            now = self._clock()
            if now >= deadline:
                refused = self.stop(qid)
                try:
                    ex = self.describe(qid)
                except QueryFailed:
                    pass
                rec = self._record(name, "", (), qid, ex, chunk=None)
                reason = f"did not finish within --query-timeout {timeout:g}s (last state {state})"
                if refused is None:
                    reason += "; it was stopped"
                    final = "CANCELLED"
                else:
                    # Not stopped: the query may still be running in Athena, and billing.
                    reason += (
                        f"; stopping it was refused ({refused}): it may still be "
                        f"running and billing, stop it by hand"
                    )
                    final = f"UNKNOWN (stop refused: {refused})"
                raise AthenaQueryFailed(
                    f"Athena query {name} ({qid}) {inert(reason, None)}",
                    qid,
                    replace(rec, state=final),
                    reason=reason,
                    state=final,
                )
            self._sleep(min(interval, max(0.0, deadline - now)))
            interval = min(interval * 2, self.settings.poll_interval)

    def results(self, qid: str) -> list[Row]:
        """Every row, header row skipped; a cell without VarCharValue is NULL."""
        rows: list[Row] = []
        columns: list[tuple[str, str]] | None = None
        token: str | None = None
        first_page = True
        while True:
            kw: dict[str, Any] = {"QueryExecutionId": qid, "MaxResults": RESULTS_PAGE}
            if token:
                kw["NextToken"] = token
            page = self.call("get_query_results", **kw)
            rs = page.get("ResultSet", {})
            if columns is None:
                info = rs.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                columns = [(c["Name"], c.get("Type", "varchar")) for c in info]
            data = rs.get("Rows", [])
            if first_page:
                data = data[1:]  # Athena's first row of a SELECT is the column names
                first_page = False
            for r in data:
                cells = r.get("Data", [])
                rows.append(
                    {
                        name: _convert(
                            cells[i].get("VarCharValue") if i < len(cells) else None, typ
                        )
                        for i, (name, typ) in enumerate(columns)
                    }
                )
            token = page.get("NextToken")
            if not token:
                return rows

    def _record(
        self,
        name: str,
        sql: str,
        params: tuple[str, ...],
        qid: str,
        ex: dict[str, Any],
        chunk: str | None,
    ) -> QueryRecord:
        state = str(ex.get("Status", {}).get("State") or "UNKNOWN")
        stats = ex.get("Statistics", {}) or {}
        scanned = stats.get("DataScannedInBytes")
        engine_ms = stats.get("EngineExecutionTimeInMillis")
        return QueryRecord(
            name=name,
            engine="athena",
            sql=sql,
            parameters=params,
            query_id=qid,
            state=state,
            data_scanned_bytes=int(scanned) if scanned is not None else None,
            engine_ms=int(engine_ms) if engine_ms is not None else None,
            cost_usd=query_cost_usd(scanned, state) if scanned is not None else None,
            chunk=chunk,
        )

    def run(
        self,
        name: str,
        sql: str,
        params: tuple[str, ...] = (),
        chunk: str | None = None,
        fetch: bool = True,
    ) -> tuple[list[Row], QueryRecord]:
        """Run one statement to the end: its rows and its record, or AthenaQueryFailed."""
        reruns = 0
        while True:
            qid = self.start(sql, params)
            try:
                ex = self.wait(qid, name)
            except AthenaQueryFailed as exc:
                rec = exc.record or QueryRecord(name, "athena", sql, params, qid, "CANCELLED")
                exc.record = replace(rec, sql=sql, parameters=params, chunk=chunk)
                raise
            rec = self._record(name, sql, params, qid, ex, chunk)
            status = ex.get("Status", {})
            if rec.state == "SUCCEEDED":
                rows = self.results(qid) if fetch else []
                return rows, replace(rec, rows=len(rows))
            err = status.get("AthenaError", {}) or {}
            reason = str(
                status.get("StateChangeReason") or err.get("ErrorMessage") or "no reason given"
            ).strip()
            if rec.state == "FAILED" and err.get("Retryable") and reruns < self.retry.failed_reruns:
                reruns += 1
                self._sleep(self._backoff(reruns))
                continue
            # Athena's reason is outside text: inert in the message (a terminal prints it).
            raise AthenaQueryFailed(
                f"Athena query {name} ({qid}) {rec.state}: {inert(reason, REASON_MAX)}",
                qid,
                rec,
                reason=reason,
                state=rec.state,
            )
