"""The Athena engine: the same SQL as the local engine, run by Amazon Athena.

    plan (monthly chunks: one statement per query and month) -> scan estimate from S3
    listings (cost guard) -> statements run concurrently (retries, deadline) -> each finished
    unit saved in the state folder -> rows merged in date order -> EngineResult

An enrichment unit (later_success, other_denials) that still fails after retries is
named in `coverage.failed_queries` and the audit goes on, incomplete. A unit of the
rule's own query (denied_policy_changes) failing fails the audit (QueryFailed, exit 3):
a report without those rows would read as clean. Finished units stay saved, so
`--resume` redoes only the failed ones. Saved units are trusted only when they verify
(backfill.StateStore); a run that scanned 0 bytes is a `nothing-read` shortfall. Files
and records are not counted by Athena (0 in coverage); bytes are the sum of
`DataScannedInBytes`.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.athena import materialize, onescan
from auditor.athena.backfill import StateStore, default_state_dir, merge
from auditor.athena.cost import (
    ListerSizer,
    S3Sizer,
    ScanEstimate,
    check_budget,
    estimate,
)
from auditor.athena.runner import (
    AthenaApiError,
    AthenaQueryFailed,
    AthenaRunner,
    Interrupted,
    Row,
)
from auditor.athena.tableshape import TableShape, assumed, resolve
from auditor.aws import make_client
from auditor.config import AthenaSettings
from auditor.engines.base import DryRun, EngineResult
from auditor.errors import ConfigError, QueryFailed, SourceError
from auditor.model import Coverage, FailedQuery, QueryRecord, Shortfall
from auditor.plan import Plan, PlannedQuery, SqlTarget
from auditor.render.scrub import inert
from auditor.sources.layout import gaps
from auditor.sources.layout import shortfalls as listing_shortfalls
from auditor.sqlgen import quote_ident
from auditor.units import fmt_bytes


@dataclass
class Prepared:
    """Everything decided before the first query: the units, what is already done,
    the estimate and the state folder."""

    units: list[PlannedQuery]
    state_dir: Path
    shape: TableShape | None = None
    done: dict[str, tuple[list[Row], QueryRecord]] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)  # saved units that did not verify
    estimate: ScanEstimate | None = None
    estimate_note: str = ""

    @property
    def todo(self) -> list[PlannedQuery]:
        return [u for u in self.units if u.key not in self.done]

    @property
    def chunks(self) -> list[str]:
        return list(dict.fromkeys(u.chunk.label for u in self.units))

    @property
    def todo_bytes(self) -> int | None:
        if self.estimate is None:
            return None
        return self.estimate.bytes_for(u.key for u in self.todo)


def sql_target(settings: AthenaSettings, shape: TableShape | None) -> SqlTarget:
    """The SQL target of a table: its name, the --partition-scheme, and its shape when
    known (the macros then read partitions and fields from it)."""
    return SqlTarget(
        dialect="athena",
        table=quote_ident(f"{settings.database}.{settings.table}"),
        scheme=settings.partition_scheme,
        monthly=True,
        context=(("shape", shape),) if shape is not None else (),
    )


class AthenaEngine:
    name = "athena"

    def __init__(
        self,
        settings: AthenaSettings,
        *,
        athena_client: Any = None,
        s3_client: Any = None,
        runner: AthenaRunner | None = None,
        progress: bool | None = None,
        glue_client: Any = None,
        shape: TableShape | None = None,
    ) -> None:
        self.settings = settings
        self._athena = athena_client
        self._s3 = s3_client
        self._runner = runner
        self._progress = progress
        self._glue = glue_client
        self._shape = shape  # given (tests, `auditor check`) or read from Glue once

    def table_shape(self) -> TableShape:
        """The table as it is (Glue GetTable; `auditor ddl`'s table for the scheme when
        the settings say not to read it), an explicit --partition-scheme checked against
        it. Read once per engine."""
        a = self.settings
        if self._shape is None:
            self._shape = (
                resolve(a, self._glue or make_client("glue")) if a.read_table else assumed(a)
            )
        else:
            self._shape.check_scheme(a.partition_scheme)
        return self._shape

    @property
    def target(self) -> SqlTarget:
        """The table the SQL reads, as it is; long ranges are sent as monthly chunks
        (each statement bounded, each finished one saved for --resume)."""
        return sql_target(self.settings, self.table_shape())

    def notes(self, plan: Plan) -> tuple[str, ...]:
        """What the report and `auditor sql` say about the table; ConfigError when the
        plan's --account/--region cannot be queried on it."""
        shape = self.table_shape()
        shape.check_filters(plan.accounts, plan.regions)
        return shape.coverage_notes()

    # -- before any query ---------------------------------------------------------------

    def prepare(self, plan: Plan) -> Prepared:
        a = self.settings
        if a.concurrency < 1:
            raise ConfigError(f"--concurrency: {a.concurrency} must be at least 1")
        if a.query_timeout <= 0:
            raise ConfigError(f"--query-timeout: {a.query_timeout:g} must be positive")
        shape = self.table_shape()
        shape.check_filters(plan.accounts, plan.regions)
        units = list(plan.queries)
        prepared = Prepared(
            units=units, state_dir=a.state_dir or default_state_dir(units), shape=shape
        )
        store = StateStore(prepared.state_dir)
        if a.resume:
            for u in units:
                got = store.load(u)
                if got is not None:
                    prepared.done[u.key] = got
            prepared.rejected = dict(store.rejected)
        if a.trail:
            prepared.estimate = self._estimate(plan, units, shape)
        else:
            prepared.estimate_note = (
                "unknown: no --trail given (pass --trail s3://bucket/prefix, the trail root "
                "the table reads, to size the partitions before querying)"
            )
        return prepared

    def _estimate(self, plan: Plan, units: list[PlannedQuery], shape: TableShape) -> ScanEstimate:
        trail = self.settings.trail
        assert trail
        spans = {u.key: u.folders for u in units}
        # Size only what the SQL prunes: an --account/--region the partition filter does
        # not bind is filtered in WHERE, after Athena has read every folder.
        prunes = shape.prunes
        accounts = plan.accounts if "account" in prunes else ()
        regions = plan.regions if "region" in prunes else ()
        try:
            if trail.startswith("s3://"):
                from auditor.sources.s3 import S3Lister

                s3 = self._s3 or make_client("s3", max_attempts=8)
                lister: Any = S3Lister(trail, client=s3)
                sizer: Any = S3Sizer(s3)
            else:  # a local copy of the trail: same layout, same sums
                from auditor.sources.local import LocalLister

                lister = LocalLister(trail)
                sizer = ListerSizer(lister)
            est = estimate(lister, sizer, trail, spans, accounts, regions)
            if shape.date is None and shape.ymd is None:
                # No day partition: every statement reads the whole LOCATION (the
                # trail's copy of it when the trail is local).
                where = (
                    shape.location
                    if (
                        trail.startswith("s3://")
                        and shape.location
                        and shape.location.startswith("s3://")
                    )
                    else trail
                )
                whole = sum(size for _, size in sizer.sizes(where.rstrip("/")))
                est.per_unit = {key: whole for key in spans}
            return est
        except SourceError as exc:  # the listers speak of --source; here it is --trail
            raise SourceError(str(exc).replace("--source", "--trail", 1)) from None

    # -- the run ------------------------------------------------------------------------

    def dry_run(self, plan: Plan) -> DryRun:
        """The plan, its SQL and the scan estimate; lists S3 (for the estimate) when
        --trail is given, never calls Athena."""
        from auditor.athena.dryrun import describe

        return describe(self.settings, plan, self.prepare(plan))

    def execute(self, plan: Plan) -> EngineResult:
        a = self.settings
        prep = self.prepare(plan)
        # -- one read of the raw table per chunk (auditor/athena/onescan.py) --
        # -- days held by the materialized table are read from it (materialize.py) --
        served = materialize.Served.load(a, self._glue_client)
        raw = [u for u in prep.units if served is None or not served.covers(u)]
        store = StateStore(prep.state_dir)
        if not a.resume:
            store.clear(prep.units)
        scan = onescan.OneScan(
            a,
            raw,
            prep.shape,
            glue=self._glue_client,
            s3=self._s3_client,
            budgeted=a.max_scan_gb is not None,
            served=served,
            store=store,
        )
        runner = None
        if prep.todo:
            runner = self._runner or AthenaRunner(self._client(), a)
            scan.resolve(runner)
        raw_todo = [u for u in prep.todo if u in raw]
        check_budget(a.max_scan_gb, onescan.budget_bytes(prep.estimate, raw_todo, scan.active))
        # --
        est = prep.estimate
        result = EngineResult(estimated_scan_bytes=est.total if est else None)
        with scan:  # its temp tables are dropped however the run ends
            failures = self._run_units(prep, store, runner, scan)
        # chunks whose queries all came from saved state: their saved checks
        busy = {u.chunk.label for u in prep.todo}
        scan.restore([u for u in raw if u.chunk.label not in busy], prep.done)
        unreadable, more = scan.unreadable()
        if store.warning:
            print(f"auditor: warning: {store.warning}", file=sys.stderr)

        rows, records = merge(prep.units, prep.done)
        records[:0] = scan.records  # the reads of the raw table first
        # Failed and timed-out statements stay in provenance: a stopped query is billed.
        records.extend(exc.record for _, exc in failures if exc.record is not None)
        failures.sort(key=lambda f: f[0].key)
        self._raise_if_rule_failed(prep, failures, store, plan.rule.main_query)

        result.rows = rows
        result.queries = records
        disc = est.discovery if est else None
        failed_keys = {u.key for u, _ in failures}
        shortfalls = [
            Shortfall("saved-state", f"saved chunk {why}; rerunning it failed too")
            for key, why in sorted(prep.rejected.items())
            if key in failed_keys
        ]
        notes = [
            f"saved chunk {why}: not trusted, rerun"
            for key, why in sorted(prep.rejected.items())
            if key not in failed_keys
        ]
        if disc is not None and a.trail:
            shortfalls.extend(listing_shortfalls(disc, a.trail))
        nothing = _nothing_read(plan, records, est)
        if nothing:
            shortfalls.append(Shortfall("nothing-read", nothing))
        shortfalls.extend(Shortfall("other", line) for line in more)
        shortfalls.extend(
            Shortfall(
                "saved-state",
                f"chunk {label}: its queries came from saved state, its eventTime check "
                "did not (it failed); rerun without --resume to check it",
            )
            for label in scan.unchecked
        )
        if prep.shape is not None:
            shortfalls.extend(Shortfall("other", line) for line in prep.shape.shortfalls())
        result.coverage = Coverage(
            bytes_scanned=sum(r.data_scanned_bytes or 0 for r in records),
            files_unreadable=len({f.path for f in unreadable}),
            unreadable=tuple(unreadable),
            failed_queries=tuple(
                FailedQuery(u.name, u.chunk.label, exc.reason, exc.query_id, exc.state)
                for u, exc in failures + sorted(scan.check_failures, key=lambda f: f[0].key)
            ),
            gaps=gaps(disc, plan.range, plan.accounts, plan.regions) if disc else (),
            accounts=plan.accounts or (disc.accounts if disc else ()),
            regions=plan.regions or (disc.regions if disc else ()),
            shortfalls=tuple(shortfalls),
            notes=tuple(notes)
            + (prep.shape.coverage_notes() if prep.shape else ())
            + tuple(scan.coverage_notes())
            + tuple(served.coverage_notes() if served else ()),
        )
        return result

    @staticmethod
    def _raise_if_rule_failed(
        prep: Prepared,
        failures: list[tuple[PlannedQuery, AthenaQueryFailed]],
        store: StateStore,
        main_query: str,
    ) -> None:
        """Exit 3 when any unit of the rule's own query failed: the report would lack
        denials it cannot see, and read as clean."""
        rule = [(u, exc) for u, exc in failures if u.name == main_query]
        if not rule:
            return
        u, first = rule[0]
        more = ""
        if len(failures) > 1:
            more = f" ({len(failures)} of {len(prep.units)} queries failed)"
        msg = f"{inert(first, None)}{more}{_time_hint(first.reason)}"
        if len(prep.chunks) > 1:
            msg = f"chunk {u.chunk.label}: {msg}"
        saved = len(prep.done)
        if saved and not store.warning:
            msg += (
                f"; {saved} finished query/chunk(s) are saved in {prep.state_dir}: "
                f"rerun with --resume to redo only the failed ones"
            )
        raise QueryFailed(msg, first.query_id)

    def _client(self) -> Any:
        if self._athena is None:
            self._athena = make_client("athena")
        return self._athena

    def _glue_client(self) -> Any:
        if self._glue is None:
            self._glue = make_client("glue")
        return self._glue

    def _s3_client(self) -> Any:
        if self._s3 is None:
            self._s3 = make_client("s3", max_attempts=8)
        return self._s3

    def _run_units(
        self,
        prep: Prepared,
        store: StateStore,
        runner: AthenaRunner | None,
        scan: onescan.OneScan,
    ) -> list[tuple[PlannedQuery, AthenaQueryFailed]]:
        """Run the missing units, `--concurrency` at a time (each through `scan`: over its
        chunk's candidate table when there is one). Returns the failed ones."""
        todo = prep.todo
        failures: list[tuple[PlannedQuery, AthenaQueryFailed]] = []
        if not todo:
            return failures
        assert runner is not None
        cancel = runner.cancel
        bar = _Progress(prep, self._progress)
        pending: dict[Future[tuple[list[Row], QueryRecord]], PlannedQuery] = {}
        queue = list(todo)
        fatal: Exception | None = None
        concurrency = self.settings.concurrency
        with bar, ThreadPoolExecutor(max_workers=concurrency) as pool:
            try:
                while queue or pending:
                    while queue and len(pending) < concurrency and fatal is None:
                        u = queue.pop(0)
                        pending[pool.submit(scan.run, u)] = u
                    if not pending:
                        break
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        u = pending.pop(fut)
                        try:
                            rows, rec = fut.result()
                        except (AthenaApiError, ConfigError) as exc:
                            fatal = fatal or exc
                            cancel.set()
                            continue
                        except Interrupted:
                            continue
                        except AthenaQueryFailed as exc:
                            failures.append((u, exc))
                            bar.finished(u, exc.record)
                            continue
                        store.save(u, rows, rec)
                        prep.done[u.key] = (rows, rec)
                        bar.finished(u, rec)
            except KeyboardInterrupt:
                # Stop what is running in Athena (it bills until stopped), then leave.
                cancel.set()
                for fut in pending:
                    fut.cancel()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        if fatal is not None:
            raise fatal
        return failures


def _time_hint(reason: str) -> str:
    """What to do when Athena's from_iso8601_timestamp met a record's eventTime that is
    not a time ('Invalid format: "..." is malformed at ...'): only a crafted log file
    holds one, and the one-scan path names such records instead of failing."""
    if "Invalid format" not in reason:
        return ""
    return (
        " (a record's eventTime may not be an ISO-8601 time: with a query results "
        "location, --output-location or the workgroup's, the one-read-per-chunk path names "
        "such records in coverage instead of failing)"
    )


def _nothing_read(plan: Plan, records: list[QueryRecord], est: ScanEstimate | None) -> str | None:
    """Why a run that read nothing is not a clean audit: Athena scanned 0 bytes in all,
    or for the rule's query, over a range that should hold logs (not in the future, and
    not known empty from the --trail listing)."""
    ran = [r for r in records if r.state == "SUCCEEDED"]
    if not ran:
        return None
    if plan.now is not None and plan.range.first > plan.now.date():
        return None
    if est is not None and est.total == 0:
        return None  # the trail holds nothing there: gaps say so
    main_query = plan.rule.main_query
    span = f"{plan.range.first}..{plan.range.last}"
    why = "the table's partitions may not match the trail (check LOCATION / projection)"
    if sum(r.data_scanned_bytes or 0 for r in ran) == 0:
        return f"Athena scanned 0 bytes for {span}: {why}"
    # Over a candidate table, the rule's query reads what the CTAS kept: the CTAS read
    # the raw table for it.
    main = [r for r in ran if r.name in (main_query, onescan.CANDIDATES)]
    if main and sum(r.data_scanned_bytes or 0 for r in main) == 0:
        return f"Athena's rule query {main_query} scanned 0 bytes for {span}: {why}"
    return None


class _Progress:
    """A rich progress bar on stderr: chunks done, bytes scanned, cost so far."""

    def __init__(self, prep: Prepared, enabled: bool | None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.left: dict[str, int] = {}
        for u in prep.todo:
            self.left[u.chunk.label] = self.left.get(u.chunk.label, 0) + 1
        self.total = len(prep.chunks)
        self.chunks_done = self.total - len(self.left)
        self.scanned = sum(r.data_scanned_bytes or 0 for _, r in prep.done.values())
        self.cost = sum(r.cost_usd or 0.0 for _, r in prep.done.values())
        self._progress: Any = None
        self._task: Any = None
        self._lock = threading.Lock()

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("Athena chunks"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[scanned]} scanned, ${task.fields[cost]:.4f}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(
                "athena",
                total=self.total,
                completed=self.chunks_done,
                scanned=fmt_bytes(self.scanned),
                cost=self.cost,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def finished(self, unit: PlannedQuery, rec: QueryRecord | None) -> None:
        with self._lock:
            if rec is not None:
                self.scanned += rec.data_scanned_bytes or 0
                self.cost += rec.cost_usd or 0.0
            self.left[unit.chunk.label] -= 1
            if self.left[unit.chunk.label] == 0:
                self.chunks_done += 1
            if self._progress is not None:
                self._progress.update(
                    self._task,
                    completed=self.chunks_done,
                    scanned=fmt_bytes(self.scanned),
                    cost=self.cost,
                )
