"""The audit against the tables teams already have: for each table of the corpus
(tests/athena/tables/*.json, Glue TableInput), the shape read from it, and the SQL
rendered for it parses as Athena SQL, reads only columns the table has, and bounds its
partitions to the range."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from auditor.athena.tableshape import (
    DatePart,
    for_scheme,
    from_glue,
    infer_format,
    java_to_strftime,
    parse_type,
)
from auditor.config import AthenaSettings, AuditConfig, DateRange
from auditor.engines.athena import sql_target
from auditor.errors import ConfigError
from auditor.plan import build_plan
from tests.athena.tables import NAMES, partition_bounds, table_input, unknown_columns

RANGE = DateRange(date(2026, 10, 1), date(2026, 10, 10))
FIRST, LAST, AHEAD = date(2026, 10, 1), date(2026, 10, 11), date(2026, 10, 18)
ONBEHALF = "useridentity.onbehalfof.userid"
ISSUER = (
    "useridentity.sessioncontext.sessionissuer.arn",
    "useridentity.sessioncontext.sessionissuer.username",
)

# table -> (scheme, date column and format | ymd columns | None, account, region, missing)
EXPECTED: dict[str, tuple[str, object, str | None, str | None, tuple[str, ...]]] = {
    "auditor_ddl_timestamp": ("timestamp", ("timestamp", "yyyy/MM/dd"), None, None, ()),
    "aws_current_projection": ("timestamp", ("timestamp", "yyyy/MM/dd"), None, None, ()),
    "aws_older_classic": ("manual", ("year", "month", "day"), None, "region", (ONBEHALF,)),
    "console_unpartitioned": ("none", None, None, None, (ONBEHALF, *ISSUER)),
    "dt_projection": ("custom", ("dt", "yyyy-MM-dd"), None, None, ()),
    "org_account_region_timestamp": ("org", ("timestamp", "yyyy/MM/dd"), "account", "region", ()),
    "classic_renamed_int": ("custom", ("yyyy", "mm", "dd"), None, "aws_region", (ONBEHALF,)),
    "parquet_dt_date": ("custom", ("dt", "yyyy-MM-dd"), None, None, ()),
}


def test_the_corpus_is_the_expected_one() -> None:
    assert sorted(EXPECTED) == NAMES


def _config(**kw: object) -> AuditConfig:
    return AuditConfig(
        range=RANGE, engine="athena", athena=AthenaSettings(database="cloudtrail", table="t"), **kw
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("name", NAMES)
def test_shape_read_from_the_table(name: str) -> None:
    scheme, day, account, region, missing = EXPECTED[name]
    shape = from_glue(table_input(name), "cloudtrail")
    assert shape.scheme == scheme
    if day is None:
        assert shape.date is None and shape.ymd is None and not shape.partitions
    elif len(day) == 2:  # type: ignore[arg-type]
        assert shape.date is not None
        assert (
            shape.date.name,
            shape.date.format if shape.date.type != "date" else "yyyy-MM-dd",
        ) == day
    else:
        assert shape.ymd is not None and tuple(p.name for p in shape.ymd) == day
    assert (shape.account.name if shape.account else None) == account
    assert (shape.region.name if shape.region else None) == region
    assert shape.missing == missing
    notes = shape.coverage_notes()
    for field in missing:  # the report says what each missing field changes
        assert any(n.startswith(f"{field} missing from the table: ") for n in notes)


def _day(d: date, shape_day: DatePart) -> str:
    return shape_day.value(f"{d:%Y/%m/%d}")


@pytest.mark.parametrize("name", NAMES)
def test_sql_reads_only_existing_columns_and_bounds_the_partitions(name: str) -> None:
    shape = from_glue(table_input(name), "cloudtrail")
    cfg = _config(accounts=("111122223333",), regions=("us-east-1",))
    for q in build_plan(cfg, sql_target(cfg.athena, shape)).queries:
        for text in (q.sql, q.display):
            assert not unknown_columns(text, shape), (name, q.name)
        ahead = q.spec.lookahead
        last = AHEAD if ahead else LAST
        if shape.date is not None:
            want = (_day(FIRST, shape.date), _day(last, shape.date))
            assert partition_bounds(q.display, shape.date.name) == [want], q.name
        elif shape.ymd is not None:
            assert f"BETWEEN '{FIRST:%Y/%m/%d}' AND '{last:%Y/%m/%d}'" in q.display
            assert "concat(" in q.display
        else:
            assert (
                "WHERE TRUE" in q.display.replace("\n", " ").replace("  ", " ")
                or "TRUE\n" in q.display
            )
        for part, value in ((shape.account, "111122223333"), (shape.region, "us-east-1")):
            if part is not None:
                assert f"{part.sql} IN ('{value}')" in q.display


@pytest.mark.parametrize("name", NAMES)
def test_missing_fields_render_as_typed_nulls(name: str) -> None:
    shape = from_glue(table_input(name), "cloudtrail")
    cfg = _config()
    q = build_plan(cfg, sql_target(cfg.athena, shape)).queries[0]
    for field in shape.missing:
        assert field not in q.display
    if shape.missing:
        assert "CAST(NULL AS varchar)" in q.display


@pytest.mark.parametrize("scheme", ["timestamp", "org", "manual"])
def test_our_ddl_shapes_render_the_sql_of_the_goldens(scheme: str) -> None:
    """auditor ddl's tables through the shape give exactly the SQL of tests/golden/sql."""
    cfg = replace(
        _config(accounts=("111122223333",), regions=("us-east-1",)),
        athena=AthenaSettings(database="cloudtrail", table="t", partition_scheme=scheme),
    )
    plain = build_plan(cfg, sql_target(cfg.athena, None))
    shaped = build_plan(cfg, sql_target(cfg.athena, for_scheme(scheme)))
    for a, b in zip(plain.queries, shaped.queries):
        assert (a.sql, a.params, a.display) == (b.sql, b.params, b.display)


def test_backfill_chunks_carry_the_shape() -> None:
    shape = from_glue(table_input("dt_projection"), "cloudtrail")
    cfg = replace(_config(), range=DateRange(date(2026, 9, 20), date(2026, 10, 10)))
    units = build_plan(cfg, sql_target(cfg.athena, shape)).queries
    assert len({u.chunk.label for u in units}) == 2
    for u in units:
        lo, hi = partition_bounds(u.display, "dt")[0]
        assert (lo, hi) == (f"{u.folders[0]:%Y-%m-%d}", f"{u.folders[1]:%Y-%m-%d}")


def test_unsortable_format_is_bound_by_every_day() -> None:
    ti = table_input("dt_projection")
    ti["Parameters"]["projection.dt.format"] = "dd-MM-yyyy"
    shape = from_glue(ti, "cloudtrail")
    assert shape.date is not None and not shape.date.sortable
    cfg = _config()
    q = build_plan(cfg, sql_target(cfg.athena, shape)).queries[0]
    assert "dt IN ('01-10-2026', '02-10-2026'," in q.display and "'11-10-2026')" in q.display
    assert not partition_bounds(q.display, "dt")


def test_injected_account_needs_an_account() -> None:
    ti = table_input("org_account_region_timestamp")
    ti["Parameters"]["projection.account.type"] = "injected"
    shape = from_glue(ti, "cloudtrail")
    with pytest.raises(ConfigError, match="injected projection.*pass --account"):
        shape.check_filters((), ())
    shape.check_filters(("111122223333",), ())


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda t: t["StorageDescriptor"].update(
                Columns=[c for c in t["StorageDescriptor"]["Columns"] if c["Name"] != "eventname"]
            ),
            "is not a CloudTrail table: no eventname column",
        ),
        (
            lambda t: t["StorageDescriptor"]["SerdeInfo"].update(
                SerializationLibrary="org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
            ),
            "SerDe org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe is neither JSON",
        ),
        (
            lambda t: t["StorageDescriptor"].update(
                Columns=[c for c in t["StorageDescriptor"]["Columns"] if c["Name"] != "errorcode"]
            ),
            "lacks errorcode, which the audit reads",
        ),
        (lambda t: t.update(TableType="VIRTUAL_VIEW"), "is a view"),
    ],
)
def test_tables_that_are_not_cloudtrail_are_refused_in_one_line(change, message) -> None:  # type: ignore[no-untyped-def]
    ti = table_input("aws_current_projection")
    change(ti)
    with pytest.raises(ConfigError, match=message) as err:
        from_glue(ti, "cloudtrail")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("value, skips", [("true", True), ("TRUE", True), ("false", False)])
def test_a_serde_that_skips_malformed_json_is_a_shortfall(value: str, skips: bool) -> None:
    ti = table_input("aws_current_projection")
    ti["StorageDescriptor"]["SerdeInfo"] = {
        "SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
        "Parameters": {"ignore.malformed.json": value},
    }
    shape = from_glue(ti, "cloudtrail")
    assert shape.skips_malformed is skips
    assert bool(shape.shortfalls()) is skips
    assert not from_glue(table_input("aws_current_projection"), "cloudtrail").shortfalls()


def test_explicit_scheme_is_checked_against_the_table() -> None:
    shape = from_glue(table_input("dt_projection"), "cloudtrail")
    shape.check_scheme("auto")
    with pytest.raises(
        ConfigError,
        match="--partition-scheme timestamp does not match "
        "cloudtrail.cloudtrail_flat, which has projection dt",
    ):
        shape.check_scheme("timestamp")
    from_glue(table_input("org_account_region_timestamp"), "c").check_scheme("org")


def test_classic_day_partition_format_is_read_from_a_registered_value() -> None:
    ti = table_input("dt_projection")
    ti["Parameters"] = {}
    shape = from_glue(ti, "cloudtrail", sample=["2026-10-01"])
    assert shape.date is not None and shape.date.format == "yyyy-MM-dd"
    assert shape.date.projection is None
    guessed = from_glue(ti, "cloudtrail")
    assert guessed.date is not None and guessed.date.format == "yyyy/MM/dd"
    assert any("assumed" in n for n in guessed.notes)


def test_hive_types_and_formats() -> None:
    t = parse_type(
        "struct<a:string,B:struct<c:int>,d:array<struct<ARN:string>>,"
        "m:map<string,string>,x:decimal(10,2)>"
    )
    assert t[1]["b"] == ("struct", {"c": "int"}) and t[1]["x"] == "decimal"
    assert java_to_strftime("yyyy/MM/dd") == "%Y/%m/%d"
    with pytest.raises(ConfigError):
        java_to_strftime("yyyy/MM/dd/HH")
    assert infer_format("20261001") == "yyyyMMdd" and infer_format("2026/10") == "yyyy/MM"
    assert infer_format("x") is None
