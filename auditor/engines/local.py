"""The embedded engine: the same SQL as Athena, run by DuckDB over the candidate records
of a local or S3 copy of the trail.

    discover (list folders) -> prefilter (worker processes: gunzip, needle test,
    record prefilter, Athena-shaped rows) -> DuckDB table `cloudtrail` -> the plan's SQL
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from auditor import store
from auditor.config import LocalSettings
from auditor.engines import prefilter
from auditor.engines.base import EngineResult
from auditor.engines.hints import ScanHints
from auditor.engines.pool import WorkerPool
from auditor.engines.progress import ScanProgress
from auditor.errors import ConfigError, QueryFailed
from auditor.model import Coverage, QueryRecord, StoredDays, Unreadable
from auditor.plan import Plan, SqlTarget
from auditor.sources.layout import Discovery, LogFile, discover, gaps, shortfalls
from auditor.sqlgen import sql_literal
from auditor.table import raw_row_columns, raw_row_select

# Below this many files, worker processes cost more than they save.
MIN_FILES_FOR_POOL = 16
FETCH_ROWS = 10_000  # result rows taken from DuckDB at a time
# At most this many worker processes per core (reading local files is CPU-bound; S3
# reads mostly wait on the network).
MAX_WORKERS_PER_CORE = 2
MAX_WORKERS_PER_CORE_S3 = 8

# The table this engine builds in DuckDB: AWS's CloudTrail table shape plus the
# org-trail partition columns, so the same templates run unchanged.
LOCAL_TABLE = "cloudtrail"
TARGET = SqlTarget(dialect="duckdb", table=LOCAL_TABLE, scheme="org")


def open_lister(source: str):  # type: ignore[no-untyped-def]
    if source.startswith("s3://"):
        from auditor.sources.s3 import S3Lister

        return S3Lister(source)
    from auditor.sources.local import LocalLister

    return LocalLister(source)


def _tasks(files: list[LogFile], last_folder: date | None = None) -> list[prefilter.Task]:
    """Largest first (keeps both workers busy to the end); a file delivered after
    `last_folder` (the range's last day + 1) is read by the look-ahead queries only."""
    ordered = sorted(files, key=lambda f: -f.size)
    return [
        prefilter.Task(
            f.path,
            f.account,
            f.region,
            f"{f.day:%Y/%m/%d}",
            lookahead_only=last_folder is not None and f.day > last_folder,
        )
        for f in ordered
    ]


Scan = Callable[[list[prefilter.Task]], Iterator[prefilter.FileResult]]
_IN_PROCESS = threading.Lock()


def _unreadable(task: prefilter.Task, reason: str) -> prefilter.FileResult:
    return prefilter.FileResult(task.path, error=reason)


def _import_duckdb() -> Any:
    """DuckDB, imported with Ctrl-C held back until the import is done: a
    KeyboardInterrupt raised inside its native module's start (nanobind) is a "Critical
    nanobind error" that left the process hung instead of exiting 130. The Ctrl-C then
    goes to the handler SIGINT had (KeyboardInterrupt, as usual). Python handles signals
    in the main thread only: elsewhere the import is left as it is."""
    if threading.current_thread() is not threading.main_thread():
        import duckdb

        return duckdb
    held: list[int] = []
    old = signal.signal(signal.SIGINT, lambda signum, _frame: held.append(signum))
    try:
        import duckdb
    finally:
        signal.signal(signal.SIGINT, old)
        if held:
            signal.raise_signal(signal.SIGINT)  # to the handler it had before
    return duckdb


def worker_count(requested: int | None, n_files: int, s3: bool) -> int:
    """Worker processes to use: as asked (default one per core, or 4 per core for S3,
    whose reads wait on the network), never more than there are files, nor more than
    MAX_WORKERS_PER_CORE per core (a process each costs memory and start-up)."""
    cores = os.cpu_count() or 1
    wanted = requested or (4 * cores if s3 else cores)
    cap = (MAX_WORKERS_PER_CORE_S3 if s3 else MAX_WORKERS_PER_CORE) * cores
    return max(1, min(wanted, cap, n_files))


@contextmanager
def _scanner(settings: prefilter.ScanSettings, workers: int, n_files: int) -> Iterator[Scan]:
    """A function scanning tasks in worker processes (one pool for every batch, forked
    before DuckDB is loaded), or in this process for a handful of files."""
    if workers <= 1 or n_files < MIN_FILES_FOR_POOL:
        # The prefilter keeps its settings in the process: audits run by threads of one
        # process (a library caller) take turns per file, and their rows stay in-band.
        own = dataclasses.replace(settings, rows_dir=None)

        def one(task: prefilter.Task) -> prefilter.FileResult:
            with _IN_PROCESS:
                prefilter.init(own)
                return prefilter.scan(task)

        yield lambda tasks: (one(t) for t in tasks)
        return
    # prefilter.scan is looked up now: a forked worker runs whatever it names.
    with WorkerPool(workers, prefilter.init, settings, prefilter.scan, _unreadable) as pool:
        yield pool.map


def _scan_all(
    tasks: list[prefilter.Task], plan: Plan, workers: int, cache_dir: str | None
) -> Iterator[prefilter.FileResult]:
    settings = prefilter.ScanSettings.from_plan(ScanHints.of(plan), cache_dir)
    with _scanner(settings, workers, len(tasks)) as scan:
        yield from scan(tasks)


@dataclass
class _Tally:
    """What the scan read, summed over FileResults."""

    sizes: dict[str, int]
    files_scanned: int = 0
    records: int = 0
    bytes_scanned: int = 0
    files_bad: int = 0
    gate_hits: int = 0
    unreadable: list[Unreadable] = field(default_factory=list)

    def add(self, res: prefilter.FileResult) -> bytes:
        """Count one file; returns its candidate rows."""
        if res.error:
            self.files_bad += 1
            self.unreadable.append(Unreadable(res.path, res.error))
            return b""
        self.files_scanned += 1
        self.records += res.records
        self.bytes_scanned += self.sizes.get(res.path, 0)
        self.gate_hits += res.gate_hits
        for b in res.broken or ():
            self.unreadable.append(Unreadable(res.path, b))
        return res.rows


def _display_path(path: str, source: str) -> str:
    """Local paths relative to --source (the report names the source); s3:// URLs whole."""
    if path.startswith("s3://"):
        return path
    rel = os.path.relpath(path, source)
    return path if rel.startswith("..") else rel


def fingerprint(files: list[LogFile], source: str) -> str:
    """SHA-256 over the sorted (path relative to the source, size) of every file read."""
    h = hashlib.sha256()
    for path, size in sorted((_display_path(f.path, source), f.size) for f in files):
        h.update(f"{path}\t{size}\n".encode())
    return "sha256:" + h.hexdigest()


def _store_session(
    store_dir: Path | None, settings: prefilter.ScanSettings, files: list[LogFile], lister: object
) -> store.Session | None:
    if not store_dir:
        return None
    return store.Session(store.Store(store_dir), settings, files, getattr(lister, "etags", None))


def _serve(
    session: store.Session, tally: _Tally, tasks: list[prefilter.Task], profile: str
) -> list[prefilter.Task]:
    """The tasks left once the store serves what it can; served days counted as read."""
    left = session.serve(tasks, profile)
    for part in session.served_parts(profile):
        m = part.entry
        tally.files_scanned += m["files_read"]
        tally.records += m["records"]
        tally.bytes_scanned += m["bytes"]
        tally.gate_hits += m["gate_hits"]
    return left


def _store_rows(duckdb, con, session: store.Session) -> str | None:  # type: ignore[no-untyped-def]
    """The days read from the trail out to the store; a SELECT of the days it serves. The
    store only saves work: a part it cannot write is a note, never a failed audit."""
    try:
        session.save(con, LOCAL_TABLE)
    except (duckdb.Error, OSError) as exc:
        session.notes.append(f"events store: could not save the days read: {exc}")
    try:
        return session.source(con)
    except duckdb.Error as exc:
        raise QueryFailed(f"events store {session.store.root}: cannot read a part: {exc}") from None


class LocalEngine:
    name = "local"
    target = TARGET

    def __init__(self, settings: LocalSettings, progress: bool | None = None) -> None:
        """progress: draw the listing and scan progress on stderr (None: when stderr is
        a terminal and AUDITOR_QUIET is not set; False: quiet)."""
        self.settings = settings
        self._progress = progress

    def execute(self, plan: Plan) -> EngineResult:
        source = self.settings.source
        if not source:
            raise ConfigError("--source is required with --engine local")
        lister = open_lister(source)
        bar = ScanProgress(self._progress)
        # plan.folder_days: the range's folders plus any look-ahead (later_success);
        # gaps below are still reported for the range only.
        with bar.listing(lister, source) as counted:
            disc: Discovery = discover(
                counted,
                source,
                plan.range,
                plan.accounts,
                plan.regions,
                days=plan.folder_days,
            )
        workers = worker_count(self.settings.workers, len(disc.files), source.startswith("s3://"))
        cache = str(self.settings.cache_dir) if self.settings.cache_dir else None
        hints = ScanHints.of(plan)
        settings = prefilter.ScanSettings.from_plan(hints, cache)

        tally = _Tally({f.path: f.size for f in disc.files})
        gets: list[tuple[int, int]] = []  # (S3 GETs, bytes) per file read
        # --store: days whose files are unchanged come from the events store (auditor.store)
        session = _store_session(self.settings.store_dir, settings, disc.files, lister)
        held = session.store.reading() if session else nullcontext()
        with tempfile.TemporaryDirectory(prefix="auditor-") as tmp, held:
            rows = _Rows(tmp)
            tasks = _tasks(disc.files, plan.range.folder_days[-1])
            in_range = [t for t in tasks if not t.lookahead_only]
            ahead = [t for t in tasks if t.lookahead_only]
            if session:
                in_range = _serve(session, tally, in_range, store.FULL)

            def consume(results: Iterator[prefilter.FileResult]) -> None:
                for res in results:
                    bar.done(tally.sizes.get(res.path, 0))
                    gets.append(res.s3_reads)
                    if session:
                        session.record(res, tally.sizes.get(res.path, 0))
                    tally.add(res)
                    rows.add(res)

            bar.start(len(in_range), sum(tally.sizes.get(t.path, 0) for t in in_range))

            rows_dir = os.path.join(tmp, "parts")
            os.mkdir(rows_dir)
            scanning = dataclasses.replace(settings, rows_dir=rows_dir)
            with _scanner(scanning, workers, len(in_range) + len(ahead)) as scan:
                results = scan(in_range)
                # Import DuckDB and render the SQL while the workers run.
                first = next(results, None)
                duckdb = _import_duckdb()

                plan.render()  # renders (and caches) the SQL now
                rows.open(duckdb)
                try:
                    consume(itertools.chain([first] if first else [], results))
                    # The look-ahead days serve a query that matters only when its gate
                    # query can have rows: with no record in the range meeting the gate's
                    # prefilter (a necessary condition), they are not read at all.
                    if ahead and (hints.lookahead_gate is None or tally.gate_hits):
                        if session:
                            ahead = _serve(session, tally, ahead, store.AHEAD)
                        bar.more(len(ahead), sum(tally.sizes.get(t.path, 0) for t in ahead))
                        consume(scan(ahead))
                    bar.close()
                    # The store keeps rows before the dedupe, which then runs over them all.
                    rows.build(
                        disc.overlapping,
                        (lambda con: _store_rows(duckdb, con, session)) if session else None,
                    )
                    result = self._run_sql(duckdb, rows.con, plan, rows.use)
                finally:
                    bar.close()
                    rows.close()
        for row in itertools.chain.from_iterable(result.rows.values()):
            if row.get("source_file"):
                row["source_file"] = _display_path(row["source_file"], source)

        unreadable = [Unreadable(_display_path(u.path, source), u.reason) for u in tally.unreadable]
        unreadable.sort(key=lambda u: (u.path, u.reason))
        result.coverage = Coverage(
            files_scanned=tally.files_scanned,
            records_scanned=tally.records,
            bytes_scanned=tally.bytes_scanned,
            files_unreadable=tally.files_bad,
            unreadable=tuple(unreadable),
            files_skipped=len(disc.skipped),
            gaps=gaps(disc, plan.range, plan.accounts, plan.regions),
            accounts=disc.accounts,
            regions=disc.regions,
            shortfalls=shortfalls(disc, source),
            notes=tuple(session.notes) if session else (),
            from_store_days=len(session.served) if session else 0,
            from_store_files=sum(len(p.entry["files"]) for p in session.served.values())
            if session
            else 0,
            from_store=tuple(StoredDays(*r) for r in session.runs()) if session else (),
        )
        result.input_fingerprint = fingerprint(disc.files, source)
        if hasattr(lister, "calls"):  # an s3:// source: its LIST and GET requests
            result.s3_calls = lister.calls.with_reads(gets)
        return result

    def _run_sql(  # type: ignore[no-untyped-def]
        self, duckdb, con, plan: Plan, use: Callable[[bool], None] | None = None
    ) -> EngineResult:
        """Each query of the plan; `use(limited)` readies the table for it (views)."""
        result = EngineResult()
        for q in plan.queries:
            t0 = time.perf_counter()
            try:
                if use is not None:
                    use(q.spec.columns is not None)
                cur = con.execute(q.sql, list(q.params))
                names = [d[0] for d in cur.description]
                rows: list[dict[str, Any]] = []
                # In batches: a large result is never held twice (tuples and dicts).
                while batch := cur.fetchmany(FETCH_ROWS):
                    rows.extend(dict(zip(names, r)) for r in batch)
            except duckdb.InterruptException:
                raise KeyboardInterrupt from None
            except duckdb.Error as exc:
                raise QueryFailed(f"local query {q.name} failed: {exc}") from None
            ms = int((time.perf_counter() - t0) * 1000)
            result.rows[q.name] = rows
            result.queries.append(
                QueryRecord(
                    name=q.name,
                    engine=self.name,
                    sql=q.sql,
                    parameters=q.params,
                    state="SUCCEEDED",
                    engine_ms=ms,
                    cost_usd=0.0,
                    rows=len(rows),
                    chunk=q.record_chunk,
                )
            )
        return result


# Workers write their rows to NDJSON parts (prefilter.ScanSettings.rows_dir); DuckDB
# reads them only once the scan is done (a table load while workers scan stalls them).
# Where a table is needed (an events store, overlapping trails) it lives in a database
# file that spills past MEMORY_LIMIT.
MEMORY_LIMIT = "192MB"
WHOLE, LIMITED = prefilter.WHOLE, prefilter.LIMITED


class _Rows:
    """The candidate rows, as NDJSON parts on disk of two kinds (prefilter.FileResult):
    `whole`, records some query reads whole, and `limited`, records only column-limited
    queries want (with those columns only).

    Without an events store or overlapping trails, the table `cloudtrail` is a view over
    the parts, set per query (`use`): a query reading whole records sees the whole parts
    only, for a limited record cannot be its row (the record fails its prefilter, a
    necessary condition of its WHERE clause); a column-limited query sees both kinds.
    Otherwise the parts are loaded once into a table `cloudtrail` (the store saves from it
    and adds the days it serves; overlapping trails are deduplicated by eventID)."""

    def __init__(self, tmp: str) -> None:
        self.tmp = tmp
        self.con: Any = None
        self.parts: dict[str, list[str]] = {WHOLE: [], LIMITED: []}
        self._own = prefilter.Parts(tmp, "main")  # rows handed on in-band
        self.widest = 0
        self._acked: dict[str, int] = {}  # a part -> bytes its results acknowledged
        self.views = False
        self._empty = os.path.join(tmp, "empty.ndjson")

    def open(self, duckdb: Any) -> None:
        self.con = con = duckdb.connect(os.path.join(self.tmp, "rows.duckdb"))
        for setting in (
            "TimeZone = 'UTC'",
            "threads = 2",
            f"memory_limit = '{MEMORY_LIMIT}'",
            "preserve_insertion_order = false",
            f"temp_directory = '{os.path.join(self.tmp, 'spill')}'",
            "enable_progress_bar = false",
        ):
            con.execute(f"SET {setting}")
        open(self._empty, "wb").close()

    def add(self, res: prefilter.FileResult) -> None:
        # Written by a worker (ScanSettings.rows_dir), or here.
        for kind, path, end in res.parts or self._own.write(res):
            if path not in self._acked:
                self.parts[kind].append(path)
            self._acked[path] = max(end, self._acked.get(path, 0))
        self.widest = max(self.widest, res.widest)

    def _source(self, kinds: tuple[str, ...]) -> str:
        """A SELECT of the table's columns over the parts of these kinds."""
        files = [p for k in kinds for p in self.parts[k]] or [self._empty]
        # DuckDB's reader buffers twice its maximum_object_size per thread: only a row
        # past the default (16 MiB) asks for more.
        most = max(DEFAULT_OBJECT_BYTES, self.widest + 1024)
        return (
            f"SELECT {raw_row_select()} FROM read_json([{', '.join(map(sql_literal, files))}], "
            f"format = 'newline_delimited', columns = {_SPEC}, maximum_object_size = {most})"
        )

    def build(
        self, overlapping: bool, store_hook: Callable[[Any], str | None] | None = None
    ) -> None:
        """Make the table: views, or one row per eventID where two trails deliver the same
        account and region (an org trail beside an older per-account trail).
        `store_hook` sees the table of the rows read (the events store saves days from
        it) and gives a SELECT of the days it serves, which the queries read too."""
        self._own.close()
        for path, end in self._acked.items():
            if os.path.getsize(path) > end:  # a worker died writing: only acknowledged rows
                os.truncate(path, end)
        if not overlapping and store_hook is None:
            self.views = True
            self.use(limited=True)
            return
        self.con.execute(f"CREATE TABLE {LOCAL_TABLE} AS {self._source((WHOLE, LIMITED))}")
        served = store_hook(self.con) if store_hook is not None else None
        if served is None and not overlapping:
            return
        self.con.execute(f"ALTER TABLE {LOCAL_TABLE} RENAME TO _read")
        every = "SELECT * FROM _read" + (f" UNION ALL BY NAME {served}" if served else "")
        if not overlapping:
            self.con.execute(f"CREATE VIEW {LOCAL_TABLE} AS {every}")
            return
        self.con.execute(
            f"CREATE TABLE {LOCAL_TABLE} AS SELECT * FROM ({every}) QUALIFY eventid IS NULL "
            "OR row_number() OVER (PARTITION BY eventid ORDER BY _file) = 1"
        )

    def use(self, limited: bool) -> None:
        """Before a query: the view holds the limited rows too only for a query that may
        read them (see the class)."""
        if self.views:
            kinds = (WHOLE, LIMITED) if limited else (WHOLE,)
            self.con.execute(f"CREATE OR REPLACE VIEW {LOCAL_TABLE} AS {self._source(kinds)}")

    def close(self) -> None:
        self._own.close()
        if self.con is not None:
            self.con.close()


_SPEC = "{" + ", ".join(f"'{k}': '{v}'" for k, v in raw_row_columns().items()) + "}"
DEFAULT_OBJECT_BYTES = 1 << 24
