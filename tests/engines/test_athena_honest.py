"""A report never claims more than it read (Athena): a failed rule query is exit 3, a
failed enrichment query shows as failed, a refused stop is not "stopped", saved state is
verified before it is trusted, 0 bytes scanned is not a clean audit, Athena's reasons
are inert on a terminal, and the estimate prunes exactly what the SQL prunes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from athena_support import (
    FakeAthena,
    answer,
    athena_audit,
    config,
    denied_row,
    glue_table,
    planned,
    query_name,
)
from botocore.exceptions import ClientError

from auditor.athena.runner import AthenaQueryFailed, AthenaRunner
from auditor.athena.tableshape import for_scheme, from_glue
from auditor.aws import make_client
from auditor.config import AthenaSettings
from auditor.engines.athena import AthenaEngine
from auditor.errors import QueryFailed
from auditor.plan import build_plan
from auditor.render import html, json_report, markdown
from auditor.sqlgen import query_specs
from tests.athena.tables import NAMES as CORPUS
from tests.athena.tables import table_input

MB = 1024**2
SEP_OCT = (date(2026, 9, 1), date(2026, 10, 31))
OCT = (date(2026, 10, 1), date(2026, 10, 31))


@pytest.fixture
def athena(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    from moto import mock_aws

    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.chdir(tmp_path)
    with mock_aws():
        glue_table()  # auditor ddl's timestamp table, read by the engine before any SQL
        yield make_client("athena")


def _answer(fake: FakeAthena, fail: dict[tuple[str, str], str] | None = None) -> None:
    """One denial per month; fail (month, query) pairs with the given reason."""

    def on_start(qid: str, kw: dict[str, Any]) -> None:
        month = kw["ExecutionParameters"][0].strip("'")[:7].replace("/", "-")
        name = query_name(kw)
        reason = (fail or {}).get((month, name))
        if reason:
            fake.fail[qid] = ("FAILED", reason, False)
        if name == "denied_policy_changes":
            answer(qid, [denied_row(f"e-{month}", f"{month}-15T12:00:00Z")])

    fake.on_start = on_start


# -- 1. the rule's own query failing is a failed audit --------------------------------


def test_failed_rule_chunk_among_successes_is_exit_3_and_resume_redoes_it(
    athena: Any, tmp_path: Path
) -> None:
    cfg = config(*SEP_OCT, state_dir=tmp_path / "state")
    fake = FakeAthena(athena, scanned=MB)
    _answer(fake, {("2026-09", "denied_policy_changes"): "HIVE_CURSOR_ERROR: bad file"})
    with pytest.raises(QueryFailed) as info:
        athena_audit(cfg, fake)
    msg = str(info.value)
    assert info.value.exit_code == 3
    assert "denied_policy_changes" in msg and "2026-09" in msg and "HIVE_CURSOR_ERROR" in msg
    assert info.value.query_id and info.value.query_id in msg
    assert "--resume" in msg
    n = len(query_specs())
    assert len(list((tmp_path / "state").iterdir())) == 2 * n - 1  # finished chunks kept

    fake2 = FakeAthena(athena, scanned=MB)
    _answer(fake2)
    report = athena_audit(replace(cfg, athena=replace(cfg.athena, resume=True)), fake2)
    assert [query_name(kw) for kw in fake2.started] == ["denied_policy_changes"]
    assert [e.event_id for e in report.events] == ["e-2026-09", "e-2026-10"]
    assert report.coverage.complete


def test_failed_enrichment_chunk_is_incomplete_not_exit_3(athena: Any, tmp_path: Path) -> None:
    fake = FakeAthena(athena, scanned=MB)
    _answer(fake, {("2026-09", "other_denials"): "HIVE_BAD_DATA"})
    report = athena_audit(config(*SEP_OCT, state_dir=tmp_path / "s"), fake)
    assert not report.coverage.complete
    (f,) = report.coverage.failed_queries
    assert (f.query, f.chunk, f.state) == ("other_denials", "2026-09", "FAILED")
    assert f.reason == "HIVE_BAD_DATA" and f.query_id


# -- 2. a failed enrichment query reads as failed in the guide ------------------------


def test_failed_later_success_renders_as_failed_in_the_guide(athena: Any) -> None:
    fake = FakeAthena(athena, scanned=MB)
    _answer(fake, {("2026-10", "later_success"): "HIVE_BAD_DATA"})
    report = athena_audit(config(*OCT), fake)
    # The guide reads the typed failure itself, not only the FAILED row in provenance.
    only_ok = replace(
        report,
        provenance=replace(
            report.provenance,
            queries=tuple(q for q in report.provenance.queries if q.state == "SUCCEEDED"),
        ),
    )
    for r in (report, only_ok):
        page = html.render(r)
        assert "the later-success query failed" in page
        assert "did not check for a later successful change" not in page
    again = json_report.loads(json_report.render(report))
    assert again.coverage.failed_queries == report.coverage.failed_queries
    assert json.loads(json_report.render(report))["coverage"]["failed_queries"][0]["query"] == (
        "later_success"
    )


# -- 3. a refused stop is not a stopped query -----------------------------------------


def test_refused_stop_is_reported_as_possibly_still_running(athena: Any) -> None:
    from moto.moto_api import state_manager

    class Refusing(FakeAthena):
        def stop_query_execution(self, **kw: Any) -> dict[str, Any]:
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "not allowed to stop"}},
                "StopQueryExecution",
            )

    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s

    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 10**9})
    try:
        r = AthenaRunner(
            Refusing(athena),
            AthenaSettings(poll_interval=0.01, query_timeout=1, database="cloudtrail"),
            sleep=sleep,
            clock=lambda: now[0],
            rand=lambda: 1.0,
        )
        with pytest.raises(AthenaQueryFailed) as info:
            r.run("q", "SELECT 1")
    finally:
        state_manager.unset_transition("athena::execution")
    rec = info.value.record
    assert rec is not None and rec.state.startswith("UNKNOWN (stop refused")
    assert "not allowed to stop" in rec.state
    assert "CANCELLED" not in str(info.value) and "was stopped" not in str(info.value)
    assert "still be running" in str(info.value)


# -- 4. saved state is verified before it is trusted ----------------------------------


def test_edited_saved_chunk_is_rerun_and_the_report_says_what_came_from_saved_state(
    athena: Any, tmp_path: Path
) -> None:
    cfg = config(*SEP_OCT, state_dir=tmp_path / "state")
    fake = FakeAthena(athena, scanned=MB)
    _answer(fake)
    athena_audit(cfg, fake)
    (path,) = (tmp_path / "state").glob("2026-09__denied_policy_changes.json")
    data = json.loads(path.read_text())
    data["rows"].append(dict(data["rows"][0], event_id="forged"))
    path.write_text(json.dumps(data))

    fake2 = FakeAthena(athena, scanned=MB)
    _answer(fake2)
    report = athena_audit(replace(cfg, athena=replace(cfg.athena, resume=True)), fake2)
    assert [query_name(kw) for kw in fake2.started] == ["denied_policy_changes"]
    assert [e.event_id for e in report.events] == ["e-2026-09", "e-2026-10"]
    assert report.coverage.complete  # rerun: a note, not a shortfall
    assert any(
        "2026-09__denied_policy_changes.json" in n and "rerun" in n for n in report.coverage.notes
    )
    saved = {(q.chunk, q.name) for q in report.provenance.queries if q.from_saved_state}
    assert ("2026-09", "denied_policy_changes") not in saved
    assert len(saved) == 2 * len(query_specs()) - 1
    assert any(
        q["from_saved_state"]
        for q in json.loads(json_report.render(report))["provenance"]["queries"]
    )
    assert "saved state" in markdown.render(report)


def test_saved_chunk_that_does_not_verify_and_cannot_be_rerun_is_a_shortfall(
    athena: Any, tmp_path: Path
) -> None:
    cfg = config(*SEP_OCT, state_dir=tmp_path / "state")
    fake = FakeAthena(athena, scanned=MB)
    _answer(fake)
    athena_audit(cfg, fake)
    (path,) = (tmp_path / "state").glob("2026-09__other_denials.json")
    path.write_text(path.read_text()[:-20])  # truncated

    fake2 = FakeAthena(athena, scanned=MB)
    _answer(fake2, {("2026-09", "other_denials"): "HIVE_BAD_DATA"})
    report = athena_audit(replace(cfg, athena=replace(cfg.athena, resume=True)), fake2)
    kinds = [s for s in report.coverage.shortfalls if s.kind == "saved-state"]
    assert len(kinds) == 1 and "2026-09__other_denials.json" in kinds[0].detail


# -- 5. Athena scanning nothing is not a clean audit ----------------------------------


def test_zero_bytes_scanned_is_a_nothing_read_shortfall(athena: Any) -> None:
    fake = FakeAthena(athena, scanned=0)
    _answer(fake)
    report = athena_audit(config(*OCT), fake)
    (s,) = [s for s in report.coverage.shortfalls if s.kind == "nothing-read"]
    assert "scanned 0 bytes for 2026-10-01..2026-10-31" in s.detail
    assert "LOCATION" in s.detail
    assert not report.coverage.complete


def test_a_table_that_skips_malformed_json_never_reads_as_complete(athena: Any) -> None:
    """OpenX's ignore.malformed.json reads a record it cannot parse as a row of NULLs: no
    query can count those, so no report over that table may claim it read everything."""
    from athena_support import ddl_table_input

    glue = make_client("glue")
    ti = ddl_table_input("timestamp", "cloudtrail_logs")
    ti["StorageDescriptor"]["SerdeInfo"] = {
        "SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
        "Parameters": {"ignore.malformed.json": "TRUE"},
    }
    glue.delete_table(DatabaseName="cloudtrail", Name="cloudtrail_logs")
    glue.create_table(DatabaseName="cloudtrail", TableInput=ti)
    fake = FakeAthena(athena, scanned=MB)
    _answer(fake)
    report = athena_audit(config(*OCT), fake)
    assert report.totals.attempts == 1
    (s,) = report.coverage.shortfalls
    assert s.kind == "other" and "ignore.malformed.json = true" in s.detail
    assert not report.coverage.complete


def test_rule_query_scanning_nothing_is_a_nothing_read_shortfall(athena: Any) -> None:
    class MainScansNothing(FakeAthena):
        def get_query_execution(self, **kw: Any) -> dict[str, Any]:
            out = super().get_query_execution(**kw)
            if kw["QueryExecutionId"] in self.main:
                out["QueryExecution"]["Statistics"]["DataScannedInBytes"] = 0
            return out

    fake = MainScansNothing(athena, scanned=MB)
    fake.main = set()  # type: ignore[attr-defined]

    def on_start(qid: str, kw: dict[str, Any]) -> None:
        if query_name(kw) == "denied_policy_changes":
            fake.main.add(qid)  # type: ignore[attr-defined]

    fake.on_start = on_start
    report = athena_audit(config(*OCT), fake)
    assert [s.kind for s in report.coverage.shortfalls] == ["nothing-read"]


# -- 6. Athena's reasons are inert on a terminal --------------------------------------


def test_hostile_failure_reason_prints_one_inert_line(athena: Any) -> None:
    fake = FakeAthena(athena, scanned=MB)
    _answer(fake, {("2026-10", "denied_policy_changes"): "boom\x1b[2J\u202eevil\nsecond line"})
    with pytest.raises(QueryFailed) as info:
        athena_audit(config(*OCT), fake)
    msg = str(info.value)
    assert "\x1b" not in msg and "\u202e" not in msg and "\n" not in msg
    assert "\\u001b[2J" in msg and "\\u202e" in msg


def test_a_crafted_event_time_on_the_raw_table_says_what_avoids_it(athena: Any) -> None:
    """Without a results location the queries read the raw table, where one record whose
    eventTime is not a time fails them (Trino's words below): exit 3, and how to get a
    report that names the record instead."""
    fake = FakeAthena(athena, scanned=MB)
    reason = 'INVALID_FUNCTION_ARGUMENT: Invalid format: "garbage" is malformed at "garbage"'
    _answer(fake, {("2026-10", "denied_policy_changes"): reason})
    with pytest.raises(QueryFailed) as info:
        athena_audit(config(*OCT), fake)
    assert "is malformed" in str(info.value)
    assert "--output-location" in str(info.value) and "names such records" in str(info.value)


def test_terminal_summary_shows_failed_queries_inert(athena: Any) -> None:
    from auditor.render.terminal import summary

    fake = FakeAthena(athena, scanned=MB)
    _answer(fake, {("2026-10", "other_denials"): "bad\x1b[31m\u202eend"})
    text = summary(athena_audit(config(*OCT), fake), [])
    assert "other_denials" in text and "\\u001b[31m" in text
    assert "\x1b" not in text and "\u202e" not in text


# -- 7. the estimate prunes exactly what the SQL prunes -------------------------------


def _trail(root: Path) -> None:
    for acct, region, n in (
        ("111122223333", "us-east-1", 1),
        ("111122223333", "eu-west-1", 20),
        ("444455556666", "us-east-1", 300),
    ):
        p = root / f"AWSLogs/o-a1b2c3d4e5/{acct}/CloudTrail/{region}/2026/10/05/x.json.gz"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"\0" * n)


@pytest.mark.parametrize(
    ("scheme", "expected"),
    [
        ("timestamp", 321),  # --account/--region only in WHERE: every folder is scanned
        ("org", 1),  # account and region are partitions
        ("manual", 301),  # region is a partition, account is not
    ],
)
def test_estimate_prunes_what_the_sql_prunes(tmp_path: Path, scheme: str, expected: int) -> None:
    _trail(tmp_path / "trail")
    cfg = replace(
        config(*OCT, trail=str(tmp_path / "trail"), partition_scheme=scheme),
        accounts=("111122223333",),
        regions=("us-east-1",),
        lookahead_days=0,
    )
    shape = for_scheme(scheme)
    engine = AthenaEngine(cfg.athena, progress=False, shape=shape)
    est = engine._estimate(build_plan(cfg, engine.target), planned(cfg, shape), shape)
    assert set(est.per_unit.values()) == {expected}


def test_unpartitioned_table_is_estimated_as_its_whole_location(tmp_path: Path) -> None:
    """Without a day partition every statement reads every object of the LOCATION."""
    _trail(tmp_path / "trail")
    shape = replace(for_scheme("timestamp"), partitions=(), date=None)
    cfg = replace(config(*OCT, trail=str(tmp_path / "trail")), lookahead_days=0)
    engine = AthenaEngine(cfg.athena, progress=False, shape=shape)
    est = engine._estimate(build_plan(cfg, engine.target), planned(cfg, shape), shape)
    whole = sum(f.stat().st_size for f in (tmp_path / "trail").rglob("*") if f.is_file())
    assert set(est.per_unit.values()) == {whole}


@pytest.mark.parametrize("name", CORPUS)
def test_partition_pruning_matches_the_sql(name: str) -> None:
    """What the estimate shrinks with (shape.prunes) is what the SQL binds."""
    shape = from_glue(table_input(name), "cloudtrail")
    cfg = replace(config(*OCT), accounts=("111122223333",), regions=("us-east-1",))
    for u in planned(cfg, shape):
        where = u.sql.split("WHERE", 1)[1].split("from_iso8601")[0]
        for key in ("account", "region"):
            part = getattr(shape, key)
            bound = part is not None and f"{part.sql} IN" in where
            assert bound == (key in shape.prunes), (name, key)


# -- 8. the folder span is planned, not parsed back --------------------------------------


def test_units_carry_their_folder_span() -> None:
    cfg = config(date(2026, 9, 20), date(2026, 10, 31))
    units = planned(cfg)
    spans = {(u.chunk.label, u.name): u.folders for u in units}
    assert spans[("2026-09", "denied_policy_changes")] == (date(2026, 9, 20), date(2026, 10, 1))
    assert spans[("2026-09", "later_success")] == (date(2026, 9, 20), date(2026, 10, 1))
    assert spans[("2026-10", "later_success")] == (date(2026, 10, 1), date(2026, 11, 8))


@pytest.mark.parametrize("scheme", ["timestamp", "org", "manual"])
def test_planned_folder_span_is_what_the_sql_binds(scheme: str) -> None:
    """The span is planned, not parsed: check it against the bound partition values."""
    import re

    cfg = config(date(2026, 8, 20), date(2026, 10, 31), partition_scheme=scheme)
    for u in planned(cfg, for_scheme(scheme)):
        days = []
        for p in u.params:
            m = re.fullmatch(r"(\d{4})/(\d{2})/(\d{2})", p)
            if m:
                days.append(date(*map(int, m.groups())))
        assert u.folders == (min(days), max(days)), u.key
