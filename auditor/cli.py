"""The command line: parse -> settings (auditor.settings, from the command's parameters)
-> run_audit() -> render -> exit code.

Exit codes (README "Exit codes"):
  0  audit done, reports written (`check`: every check ok, an audit would run)
  1  a finding at or above --fail-on remains
  2  bad input: flags, dates, config, source, table, or a plan over --max-scan-gb
  3  a query failed, was cancelled or timed out (`check`: AWS refused a call the audit
     needs, or the workgroup cannot run it)
  4  --strict and coverage is incomplete (unreadable files/records, failed queries)
  130 interrupted
  141 stdout closed early (`auditor sql | head`): stopped quietly, as on SIGPIPE
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from auditor import __version__
from auditor.config import relative_range
from auditor.errors import AuditorError, ConfigError
from auditor.render.terminal import summary, summary_json
from auditor.settings import load_config

app = typer.Typer(
    name="auditor",
    help="Audit a CloudTrail trail for denied Amazon Bedrock resource-policy changes "
    "(Elastic rule 2e99477f) on Athena or an embedded DuckDB engine.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, pwsh)
    pretty_exceptions_enable=False,
    # Rich help: options grouped in panels (Range, Scope, ...). Help text is plain (no
    # markup in it: a literal "[" before a letter is written "\\[").
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Help panels.
RANGE, SCOPE, LOCAL, ATHENA, REPORT, GATES = (
    "Range",
    "Scope",
    "Local engine",
    "Athena",
    "Report",
    "Gates",
)

EXIT_FINDINGS = 1
EXIT_INCOMPLETE = 4

_state: dict[str, Any] = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"auditor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = None,
) -> None:
    _state["debug"] = debug


# Options shared by audit, sql and check.
From = Annotated[
    Optional[str],
    typer.Option("--from", metavar="YYYY-MM-DD", rich_help_panel=RANGE, help="First day (UTC)."),
]
To = Annotated[
    Optional[str],
    typer.Option("--to", metavar="YYYY-MM-DD", rich_help_panel=RANGE, help="Last day, inclusive."),
]
Month = Annotated[
    Optional[str],
    typer.Option(
        "--month",
        metavar="YYYY-MM|last",
        rich_help_panel=RANGE,
        help="A whole month; last: the previous calendar month (UTC).",
    ),
]
Last = Annotated[
    Optional[str],
    typer.Option(
        "--last",
        metavar="Nd",
        rich_help_panel=RANGE,
        help="The N whole UTC days before today (today excluded): --last 7d.",
    ),
]
Account = Annotated[
    Optional[list[str]],
    typer.Option(
        "--account",
        metavar="ACCOUNT_ID",
        rich_help_panel=SCOPE,
        help="Only this account (repeatable).",
    ),
]
Region = Annotated[
    Optional[list[str]],
    typer.Option(
        "--region", metavar="REGION", rich_help_panel=SCOPE, help="Only this region (repeatable)."
    ),
]
EngineOpt = Annotated[
    Optional[str],
    typer.Option(
        "--engine",
        metavar="ENGINE",
        rich_help_panel=SCOPE,
        help="local (embedded DuckDB, default) or athena.",
    ),
]
ConfigOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--config",
        metavar="PATH",
        help="TOML settings file (default: $AUDITOR_CONFIG or ~/.config/auditor/config.toml); "
        "relative paths in it are relative to its folder.",
    ),
]
Database = Annotated[
    Optional[str],
    typer.Option("--database", metavar="NAME", rich_help_panel=ATHENA, help="Glue database."),
]
Table = Annotated[
    Optional[str],
    typer.Option("--table", metavar="NAME", rich_help_panel=ATHENA, help="CloudTrail table."),
]
Workgroup = Annotated[
    Optional[str],
    typer.Option("--workgroup", metavar="NAME", rich_help_panel=ATHENA, help="Athena workgroup."),
]
OutputLocation = Annotated[
    Optional[str],
    typer.Option(
        "--output-location",
        metavar="S3_URL",
        rich_help_panel=ATHENA,
        help="s3:// results location (else the workgroup's).",
    ),
]
Scheme = Annotated[
    Optional[str],
    typer.Option(
        "--partition-scheme",
        metavar="SCHEME",
        rich_help_panel=ATHENA,
        help="Table partitions: auto (read the table from Glue, the default), or check that it "
        "is timestamp (AWS's default), org (account/region/timestamp) or manual "
        "(region/year/month/day).",
    ),
]
Trail = Annotated[
    Optional[str],
    typer.Option(
        "--trail",
        metavar="S3_URL",
        rich_help_panel=ATHENA,
        help="s3:// trail root, for the scan-cost estimate.",
    ),
]
Quiet = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        rich_help_panel=REPORT,
        help="No summary or progress on the terminal; errors are still printed.",
    ),
]
Json = Annotated[
    bool,
    typer.Option(
        "--json",
        rich_help_panel=REPORT,
        help="The summary as one JSON object on stdout, for scripts (no progress display).",
    ),
]


StoreOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--store",
        metavar="PATH",
        rich_help_panel=LOCAL,
        help="Events store folder; unchanged days are read from it, the others stored there "
        "(see `auditor store`).",
    ),
]


def _command_line() -> str:
    return "auditor " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _engine(cfg: Any, progress: bool) -> Any:
    """The engine to run; None (the default one) unless its progress display is off
    (--quiet, --json)."""
    if progress:
        return None
    if cfg.engine == "athena":
        from auditor.engines.athena import AthenaEngine

        return AthenaEngine(cfg.athena, progress=False)
    from auditor.engines.local import LocalEngine

    return LocalEngine(cfg.local, progress=False)


def _finish(report: Any, config: Any) -> int:
    from auditor.severity import at_or_above

    if config.fail_on and any(at_or_above(f.severity, config.fail_on) for f in report.findings):
        return EXIT_FINDINGS
    if config.strict and not report.coverage.complete:
        return EXIT_INCOMPLETE
    return 0


@app.command()
def audit(
    ctx: typer.Context,
    start: From = None,
    end: To = None,
    month: Month = None,
    last: Last = None,
    engine: EngineOpt = None,
    account: Account = None,
    region: Region = None,
    own_account: Annotated[
        Optional[list[str]],
        typer.Option(
            "--own-account",
            metavar="ACCOUNT_ID",
            rich_help_panel=SCOPE,
            help="An account of yours (repeatable): policies naming other accounts are flagged "
            "external.",
        ),
    ] = None,
    exemptions: Annotated[
        Optional[Path],
        typer.Option(
            "--exemptions",
            metavar="PATH",
            rich_help_panel=SCOPE,
            help="TOML allowlist of expected attempts.",
        ),
    ] = None,
    lookahead_days: Annotated[
        Optional[int],
        typer.Option(
            "--lookahead-days",
            metavar="N",
            rich_help_panel=SCOPE,
            help="Days after the range to look for a later success (default: 7).",
        ),
    ] = None,
    source: Annotated[
        Optional[str],
        typer.Option(
            "--source",
            metavar="PATH|S3_URL",
            rich_help_panel=LOCAL,
            help="The trail root (folder or s3://bucket/prefix holding AWSLogs/).",
        ),
    ] = None,
    workers: Annotated[
        Optional[int],
        typer.Option(
            "--workers",
            metavar="N",
            rich_help_panel=LOCAL,
            help="Worker processes (default: cores).",
        ),
    ] = None,
    cache: Annotated[
        Optional[Path],
        typer.Option(
            "--cache",
            metavar="PATH",
            rich_help_panel=LOCAL,
            help="With an s3:// source: keep files here.",
        ),
    ] = None,
    store: StoreOpt = None,
    database: Database = None,
    table: Table = None,
    workgroup: Workgroup = None,
    output_location: OutputLocation = None,
    partition_scheme: Scheme = None,
    trail: Trail = None,
    query_timeout: Annotated[
        Optional[float],
        typer.Option(
            "--query-timeout",
            metavar="SECONDS",
            rich_help_panel=ATHENA,
            help="Seconds per query (default: 1800).",
        ),
    ] = None,
    max_scan_gb: Annotated[
        Optional[float],
        typer.Option(
            "--max-scan-gb",
            metavar="GB",
            rich_help_panel=ATHENA,
            help="Refuse a plan estimated to scan more (exit 2).",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            rich_help_panel=ATHENA,
            help="Print the plan, SQL and estimate; run nothing.",
        ),
    ] = False,
    concurrency: Annotated[
        Optional[int],
        typer.Option(
            "--concurrency",
            metavar="N",
            rich_help_panel=ATHENA,
            help="Monthly chunks at once (default: 4).",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", rich_help_panel=ATHENA, help="Backfill: redo only unfinished chunks."
        ),
    ] = False,
    state_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--state-dir",
            metavar="PATH",
            rich_help_panel=ATHENA,
            help="Backfill: chunk results folder.",
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out", metavar="PATH", rich_help_panel=REPORT, help="Folder for the reports."
        ),
    ] = Path("."),
    formats: Annotated[
        Optional[list[str]],
        typer.Option(
            "--format",
            metavar="FORMAT",
            rich_help_panel=REPORT,
            help="json, md, html, csv (repeatable; default: all).",
        ),
    ] = None,
    quiet: Quiet = False,
    as_json: Json = False,
    min_attempts: Annotated[
        Optional[int],
        typer.Option(
            "--min-attempts",
            metavar="N",
            rich_help_panel=REPORT,
            help="Report principals with at least N attempts.",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", rich_help_panel=GATES, help="Exit 4 when coverage is incomplete."),
    ] = False,
    fail_on: Annotated[
        Optional[str],
        typer.Option(
            "--fail-on",
            metavar="LEVEL",
            rich_help_panel=GATES,
            help="Exit 1 if a finding at or above LEVEL (low, medium, high) remains; the summary "
            "names those findings.",
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Audit a date range and write report.json/.md/.html/.csv to --out."""

    def go() -> int:
        from auditor.audit import run_audit, write_reports
        from auditor.outdir import out_lock

        flags = dict(ctx.params)
        flags["start"], flags["end"], flags["month"] = relative_range(
            start, end, month, flags.pop("last")
        )
        cfg = load_config(**flags, command=_command_line())
        if cfg.dry_run:
            from auditor.engines import build_engine
            from auditor.engines.base import SupportsDryRun
            from auditor.plan import build_plan

            engine = build_engine(cfg)
            if isinstance(engine, SupportsDryRun):  # else (local) the audit just runs
                shown = engine.dry_run(build_plan(cfg, engine.target))
                typer.echo(shown.text, nl=False)
                if shown.refused is not None:
                    raise shown.refused
                return 0
        with out_lock(out):  # a second audit into this --out refuses before it scans
            report = run_audit(cfg, _engine(cfg, progress=not (quiet or as_json)))
            written = write_reports(report, out, cfg.formats)
        code = _finish(report, cfg)
        if as_json:
            typer.echo(summary_json(report, written, code, cfg.fail_on))
        elif not quiet:
            typer.echo(summary(report, written, cfg.fail_on))
        return code

    _run(go)


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", metavar="PATH", help="Folder for the demo trail and reports.")
    ] = Path("demo-report"),
) -> None:
    """Write a realistic synthetic trail (October 2026) and audit it on the local engine."""

    def go() -> int:
        from datetime import date

        from auditor.audit import run_audit, write_reports
        from auditor.outdir import out_lock
        from auditor.synth import remove_demo_trail, write_demo_trail

        trail_dir = out / "trail"
        with out_lock(out):
            remove_demo_trail(trail_dir)
            trail = write_demo_trail(trail_dir, month=date(2026, 10, 1))
            typer.echo(f"demo: wrote a synthetic trail of {trail.files} log files to {trail_dir}")
            for note in trail.notes:
                typer.echo(f"  {note}")
            cfg = load_config(
                source=str(trail_dir),
                month="2026-10",
                out=str(out),
                command=_command_line(),
                config=None,
            )
            report = run_audit(cfg)
            written = write_reports(report, out, cfg.formats)
        typer.echo(summary(report, written))
        return 0

    _run(go)


@app.command()
def sql(
    ctx: typer.Context,
    start: From = None,
    end: To = None,
    month: Month = None,
    last: Last = None,
    engine: EngineOpt = None,
    account: Account = None,
    region: Region = None,
    config: ConfigOpt = None,
    database: Database = None,
    table: Table = None,
    partition_scheme: Scheme = None,
    glue: Annotated[
        bool,
        typer.Option(
            "--glue",
            rich_help_panel=ATHENA,
            help="Read the table's shape from Glue (needs AWS); "
            "else auto means auditor ddl's timestamp table.",
        ),
    ] = False,
) -> None:
    """Print every statement exactly as it would be sent, values inlined. No AWS needed."""

    def go() -> int:
        from auditor.engines import build_engine
        from auditor.engines.base import SupportsNotes
        from auditor.plan import build_plan

        flags = dict(ctx.params)
        flags["start"], flags["end"], flags["month"] = relative_range(
            start, end, month, flags.pop("last")
        )
        cfg = load_config(**flags)
        engine = build_engine(cfg)
        plan = build_plan(cfg, engine.target)
        if isinstance(engine, SupportsNotes):  # Athena: the table as read (or assumed)
            for note in engine.notes(plan):
                typer.echo(f"-- {note}", err=True)
        # A backfill on Athena is sent as monthly chunks: every statement of every chunk.
        several = len(plan.chunks) > 1
        for q in plan.queries:
            where = f" ({q.chunk.label})" if several else ""
            typer.echo(f"-- {q.title}{where}\n{q.display};\n")
        return 0

    _run(go)


@app.command()
def check(
    ctx: typer.Context,
    start: From = None,
    end: To = None,
    month: Month = None,
    last: Last = None,
    account: Account = None,
    region: Region = None,
    config: ConfigOpt = None,
    database: Database = None,
    table: Table = None,
    workgroup: Workgroup = None,
    output_location: OutputLocation = None,
    partition_scheme: Scheme = None,
    trail: Trail = None,
    max_scan_gb: Annotated[
        Optional[float],
        typer.Option(
            "--max-scan-gb",
            metavar="GB",
            rich_help_panel=ATHENA,
            help="Check the range's estimate against this.",
        ),
    ] = None,
) -> None:
    """Athena preflight: table, partitions, fields, workgroup, permissions, estimate.
    One line per check; exit 0 only when an audit would run (else 2, or 3 when AWS
    refuses a call the audit needs)."""

    def go() -> int:
        from datetime import UTC, datetime

        from auditor.athena.check import run_checks
        from auditor.aws import make_client

        kw = dict(ctx.params, engine="athena")
        kw["start"], kw["end"], kw["month"] = relative_range(start, end, month, kw.pop("last"))
        with_range = bool(kw["start"] or kw["end"] or kw["month"])
        if not with_range:  # the checks but the estimate need no range: take this month
            kw["month"] = f"{datetime.now(UTC):%Y-%m}"
        cfg = load_config(**kw)
        checks = run_checks(
            cfg,
            make_client("glue"),
            make_client("athena"),
            make_client("s3"),
            with_range=with_range,
        )
        for c in checks:
            typer.echo(c.line())
        return max((c.exit_code for c in checks if not c.ok), default=0)

    _run(go)


@app.command()
def ddl(
    ctx: typer.Context,
    trail: Annotated[
        Optional[str],
        typer.Option(
            "--trail",
            metavar="S3_URL",
            help="The trail's root: s3://bucket/prefix holding AWSLogs/.",
        ),
    ] = None,
    partition_scheme: Scheme = None,
    database: Database = None,
    table: Table = None,
    account: Annotated[
        Optional[list[str]],
        typer.Option(
            "--account",
            metavar="ACCOUNT_ID",
            help="Account id (repeatable): the "
            "one account of the "
            "timestamp/manual schemes, or the org scheme's projected accounts.",
        ),
    ] = None,
    region: Annotated[
        Optional[list[str]],
        typer.Option(
            "--region",
            metavar="REGION",
            help="Region (repeatable): the one "
            "region of the timestamp "
            "scheme, or the org scheme's projected regions.",
        ),
    ] = None,
    org_id: Annotated[
        Optional[str],
        typer.Option("--org-id", metavar="ORG_ID", help="Organisation id (o-...) of an org trail."),
    ] = None,
    start_date: Annotated[
        Optional[str],
        typer.Option(
            "--start-date",
            metavar="YYYY-MM-DD",
            help="First day of the timestamp projection (default: 2013-11-01).",
        ),
    ] = None,
    discover: Annotated[
        bool,
        typer.Option(
            "--discover",
            help="List the trail's folders (org id, accounts, "
            "regions) to fill the table; folder listings only.",
        ),
    ] = False,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="Run the statement on Athena (needs --workgroup or "
            "the primary workgroup's result location).",
        ),
    ] = False,
    workgroup: Workgroup = None,
    output_location: OutputLocation = None,
    config: ConfigOpt = None,
) -> None:
    """Print the CREATE TABLE for a trail (AWS's CloudTrail table shape); --apply runs it."""

    def go() -> int:
        from dataclasses import replace

        from auditor import ddl as ddlmod
        from auditor.config import not_before_cloudtrail, parse_day
        from auditor.errors import SourceError
        from auditor.settings import athena_settings, load_file

        settings = athena_settings(ctx.params, load_file(ctx.params))
        root = settings.trail
        if not root:
            raise ConfigError("--trail s3://bucket/prefix is required (the trail's root)")
        scheme = settings.partition_scheme
        if scheme == "auto":  # nothing to read yet: the table is what ddl prints
            scheme = "timestamp"
        start = (
            not_before_cloudtrail(parse_day(start_date, "--start-date"), "--start-date")
            if start_date
            else ddlmod.DEFAULT_START
        )
        layout = ddlmod.layout_from_flags(root, org_id, tuple(account or ()), tuple(region or ()))
        if discover:
            from auditor.sources.s3 import S3Lister

            try:
                found = ddlmod.discover_layout(S3Lister(layout.root), root, layout.accounts)
            except SourceError as exc:  # the lister speaks of --source; here it is --trail
                raise SourceError(str(exc).replace("--source", "--trail", 1)) from None
            layout = replace(
                found,
                org_id=layout.org_id or found.org_id,
                accounts=layout.accounts or found.accounts,
                regions=layout.regions or found.regions,
            )
            typer.echo(
                f"-- discovered under {found.awslogs}/: organisation {found.org_id or 'none'}, "
                f"{len(found.accounts)} account(s) {', '.join(found.accounts) or '-'}, "
                f"{len(found.regions)} region(s) {', '.join(found.regions) or '-'}",
                err=True,
            )
        stmt = ddlmod.create_table(layout, scheme, settings.database, settings.table, start)
        for note in stmt.notes:
            typer.echo(f"-- note: {note}", err=True)
        typer.echo(stmt.sql + ";")
        if apply:
            if stmt.placeholders:
                raise ConfigError(
                    "the statement still holds <placeholders>: give --account/"
                    "--region/--org-id or use --discover before --apply"
                )
            from auditor.athena.runner import AthenaRunner
            from auditor.aws import make_client

            runner = AthenaRunner(make_client("athena"), settings)
            _, rec = runner.run("create_table", stmt.sql, fetch=False)
            typer.echo(
                f"-- created {settings.database}.{settings.table} "
                f"(Athena query {rec.query_id}, {rec.state})",
                err=True,
            )
        return 0

    _run(go)


@app.command()
def materialize(
    ctx: typer.Context,
    start: From = None,
    end: To = None,
    month: Month = None,
    config: ConfigOpt = None,
    database: Database = None,
    table: Table = None,
    workgroup: Workgroup = None,
    output_location: OutputLocation = None,
    materialized_table: Annotated[
        Optional[str],
        typer.Option(
            "--materialized-table",
            help="The Parquet table to maintain "
            "[default: materialized_table in [athena], else auditor_events].",
        ),
    ] = None,
) -> None:
    """Athena: keep a Parquet table of audit-relevant events for --from..--to: creates it
    on the first run, inserts the missing days, refreshes the days within CloudTrail's
    delivery lag. Audits with materialized_table set read those days from it."""

    def go() -> int:
        from dataclasses import replace

        from auditor.athena.materialize import run_materialize

        cfg = load_config(**dict(ctx.params, engine="athena"))
        if not cfg.athena.materialized_table:
            cfg = replace(cfg, athena=replace(cfg.athena, materialized_table="auditor_events"))
        for line in run_materialize(cfg).lines():
            typer.echo(line)
        return 0

    _run(go)


@app.command()
def render(
    report_json: Annotated[
        Path, typer.Argument(metavar="REPORT_JSON", help="A saved report.json.")
    ],
    out: Annotated[
        Path, typer.Option("--out", metavar="PATH", help="Folder for the rebuilt reports.")
    ] = Path("."),
    formats: Annotated[
        Optional[list[str]],
        typer.Option("--format", metavar="FORMAT", help="md, html, csv, json (default: all)."),
    ] = None,
) -> None:
    """Rebuild every report format from a saved report.json, touching no data."""

    def go() -> int:
        from auditor.audit import write_reports
        from auditor.errors import RenderError
        from auditor.render import json_report

        try:
            text = report_json.read_text(encoding="utf-8")
        except OSError as exc:
            raise RenderError(f"cannot read {report_json}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise RenderError(
                f"{report_json} is not a report.json: not UTF-8 text (byte {exc.start})"
            ) from None
        report = json_report.loads(text)
        fmts = tuple(formats or ("json", "md", "html", "csv"))
        try:
            written = write_reports(report, out, fmts)
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            # A hand-edited report.json whose values have the wrong types.
            raise RenderError(
                f"{report_json}: a field has a value of the wrong type ({exc})"
            ) from None
        typer.echo("wrote " + ", ".join(str(p) for p in written))
        return 0

    _run(go)


store_app = typer.Typer(
    help="The local engine's events store (--store DIR): see what it holds, trim it.",
    no_args_is_help=True,
)
app.add_typer(store_app, name="store")


def _store_dir(store: Optional[Path], config: Optional[Path]) -> Path:
    from auditor.settings import load_file, setting

    file = load_file({"config": config})
    where = setting(file.get("audit", {}), "store", store, None)
    if not where:
        raise ConfigError("--store DIR is required (or `store` in the config's [audit])")
    return Path(where)


@store_app.command("info")
def store_info(store: StoreOpt = None, config: ConfigOpt = None) -> None:
    """Size, schema version, and the accounts, regions and day folders held."""

    def go() -> int:
        from auditor.store import info

        typer.echo(info(_store_dir(store, config)), nl=False)
        return 0

    _run(go)


@store_app.command("prune")
def store_prune(
    store: StoreOpt = None,
    before: Annotated[
        Optional[str],
        typer.Option("--before", metavar="YYYY-MM-DD", help="Remove day folders before this day."),
    ] = None,
    account: Annotated[
        Optional[list[str]],
        typer.Option("--account", metavar="ACCOUNT_ID", help="Remove this account (repeatable)."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Remove parts of the store: days before --before, and/or every day of --account.
    With both, only that account's days before that day."""

    def go() -> int:
        from auditor.config import parse_day, validate_accounts
        from auditor.store import prune

        if not before and not account:
            raise ConfigError("give --before YYYY-MM-DD and/or --account ID")
        day = parse_day(before, "--before") if before else None
        accounts = validate_accounts(tuple(account or ()))
        n = prune(_store_dir(store, config), day, accounts)
        typer.echo(f"removed {n} day folder(s)")
        return 0

    _run(go)


def _run(fn: Any) -> None:
    try:
        code = fn()
    except AuditorError as exc:
        if _state["debug"]:
            raise
        typer.echo(f"auditor: error: {exc}", err=True)
        code = exc.exit_code
    except KeyboardInterrupt:
        typer.echo("auditor: interrupted", err=True)
        code = 130
    except BrokenPipeError:  # stdout closed early (`auditor sql | head`): stop quietly
        code = _stdout_closed()
    except Exception as exc:  # noqa: BLE001 - last resort: one line, not a traceback
        if _state["debug"]:
            raise
        typer.echo(
            f"auditor: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True
        )
        code = 70
    raise typer.Exit(code)


EXIT_PIPE = 141  # 128 + SIGPIPE, as a shell reports a command whose reader went away


def _stdout_closed() -> int:
    """Point stdout at /dev/null so no later flush (ours, or the interpreter's at exit)
    meets the broken pipe again; the exit code of a command killed by SIGPIPE."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return EXIT_PIPE


def _click_class(name: str) -> type[BaseException]:
    """click's exception class of that name, from whichever click typer uses."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


def _exit_code(app_call: Any) -> int:
    """Run the app; click's own usage errors become one line too (exit 2)."""
    usage_error, click_exception = _click_class("UsageError"), _click_class("ClickException")
    try:
        result = app_call()
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except usage_error as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `auditor`: the help
            exc.show()  # type: ignore[attr-defined]
            return int(exc.exit_code)  # type: ignore[attr-defined]
        ctx = getattr(exc, "ctx", None)
        where = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        print(f"auditor: error: {exc.format_message()}{where}", file=sys.stderr)  # type: ignore[attr-defined]
        return 2
    except click_exception as exc:
        print(f"auditor: error: {exc.format_message()}", file=sys.stderr)  # type: ignore[attr-defined]
        return int(exc.exit_code)  # type: ignore[attr-defined]
    except (typer.Abort, KeyboardInterrupt):
        print("auditor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # --help or --version into a closed pipe
        return _stdout_closed()
    return result if isinstance(result, int) else 0


def main() -> None:
    try:
        code = _exit_code(lambda: app(standalone_mode=False))
    except KeyboardInterrupt:  # between commands' own handlers: still one line
        code = 130
        _print_err("auditor: interrupted")
    # Reports are written and every file closed: skip the interpreter's teardown of
    # DuckDB and friends (~0.1 s) as a command line tool may.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away: nothing more to say
            if stream is sys.stdout and code == 0:
                code = EXIT_PIPE
        except KeyboardInterrupt:
            code = 130
    os._exit(code)


def _print_err(line: str) -> None:
    try:
        print(line, file=sys.stderr)
    except (OSError, ValueError):
        pass
