"""The shape of AWS's documented CloudTrail table (Athena), in one place.

Used three ways: the local engine turns raw records into rows of this shape (what
Athena's CloudTrailInputFormat + JsonSerDe do), DuckDB gets the matching column
types, and `auditor ddl` prints the CREATE TABLE.

A type is "string", ("struct", [(name, type), ...]), ("array", type) or
("map", "string", "string"). Names are Athena's lower-case column names; the raw
record's camelCase key is found case-insensitively.
"""

from __future__ import annotations

from typing import Any, Union

Type = Union[str, tuple]

S = "string"

USER_IDENTITY: Type = (
    "struct",
    [
        ("type", S),
        ("principalid", S),
        ("arn", S),
        ("accountid", S),
        ("invokedby", S),
        ("accesskeyid", S),
        ("username", S),
        ("onbehalfof", ("struct", [("userid", S), ("identitystorearn", S)])),
        (
            "sessioncontext",
            (
                "struct",
                [
                    ("attributes", ("struct", [("mfaauthenticated", S), ("creationdate", S)])),
                    (
                        "sessionissuer",
                        (
                            "struct",
                            [
                                ("type", S),
                                ("principalid", S),
                                ("arn", S),
                                ("accountid", S),
                                ("username", S),
                            ],
                        ),
                    ),
                    ("ec2roledelivery", S),
                    ("webidfederationdata", ("struct", [("federatedprovider", S), ("attributes", ("map", S, S))])),
                ],
            ),
        ),
    ],
)

COLUMNS: list[tuple[str, Type]] = [
    ("eventversion", S),
    ("useridentity", USER_IDENTITY),
    ("eventtime", S),
    ("eventsource", S),
    ("eventname", S),
    ("awsregion", S),
    ("sourceipaddress", S),
    ("useragent", S),
    ("errorcode", S),
    ("errormessage", S),
    ("requestparameters", S),
    ("responseelements", S),
    ("additionaleventdata", S),
    ("requestid", S),
    ("eventid", S),
    ("readonly", S),
    ("resources", ("array", ("struct", [("arn", S), ("accountid", S), ("type", S)]))),
    ("eventtype", S),
    ("apiversion", S),
    ("recipientaccountid", S),
    ("serviceeventdetails", S),
    ("sharedeventid", S),
    ("vpcendpointid", S),
    ("vpcendpointaccountid", S),
    ("eventcategory", S),
    ("addendum", ("struct", [("reason", S), ("updatedfields", S), ("originalrequestid", S),
                             ("originaleventid", S)])),
    ("sessioncredentialfromconsole", S),
    ("edgedevicedetails", S),
    ("tlsdetails", ("struct", [("tlsversion", S), ("ciphersuite", S),
                               ("clientprovidedhostheader", S)])),
]

# Partition columns the local engine adds from the file's path (org-trail scheme).
PARTITIONS: list[tuple[str, Type]] = [("account", S), ("region", S), ("timestamp", S)]


def duckdb_type(t: Type) -> str:
    if t == S:
        return "VARCHAR"
    kind = t[0]
    if kind == "struct":
        inner = ", ".join(f'"{n}" {duckdb_type(ft)}' for n, ft in t[1])
        return f"STRUCT({inner})"
    if kind == "array":
        return f"{duckdb_type(t[1])}[]"
    if kind == "map":
        return f"MAP({duckdb_type(t[1])}, {duckdb_type(t[2])})"
    raise ValueError(t)


def hive_type(t: Type) -> str:
    if t == S:
        return "STRING"
    kind = t[0]
    if kind == "struct":
        return "STRUCT<" + ",".join(f"{n}:{hive_type(ft)}" for n, ft in t[1]) + ">"
    if kind == "array":
        return f"ARRAY<{hive_type(t[1])}>"
    if kind == "map":
        return f"MAP<{hive_type(t[1])},{hive_type(t[2])}>"
    raise ValueError(t)


def duckdb_columns() -> dict[str, str]:
    cols = {name: duckdb_type(t) for name, t in COLUMNS + PARTITIONS}
    cols["_file"] = "VARCHAR"
    return cols


def _scalar(v: Any) -> str | None:
    """What JsonSerDe puts in a STRING column: text as is, anything else as JSON text."""
    if v is None or isinstance(v, str):
        return v
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return str(v)
    import orjson

    return orjson.dumps(v).decode()


def shape(v: Any, t: Type) -> Any:
    """A raw JSON value -> the value of a column of type t (None where the type does not fit).

    Struct fields and columns absent from the input are left out: DuckDB reads them as NULL.
    """
    return _shaper(t)(v)


def _shaper(t: Type):  # type: ignore[no-untyped-def]
    key = repr(t)
    fn = _SHAPERS.get(key)
    if fn is None:
        fn = _SHAPERS[key] = _compile(t)
    return fn


def _compile(t: Type):  # type: ignore[no-untyped-def]
    if t == S:
        return _scalar
    kind = t[0]
    if kind == "struct":
        fields = {n: _compile(ft) for n, ft in t[1]}

        def struct(v: Any) -> Any:
            if not isinstance(v, dict):
                return None
            out = {}
            for k, x in v.items():
                if isinstance(k, str):
                    f = fields.get(k.lower())
                    if f is not None:
                        out[k.lower()] = f(x)
            return out

        return struct
    if kind == "array":
        item = _compile(t[1])
        return lambda v: [item(x) for x in v] if isinstance(v, list) else None
    if kind == "map":
        val = _compile(t[2])
        return lambda v: {str(k): val(x) for k, x in v.items()} if isinstance(v, dict) else None
    raise ValueError(t)


_SHAPERS: dict[str, Any] = {}
_RECORD = _compile(("struct", COLUMNS))


def shape_record(rec: dict) -> dict:
    """A raw CloudTrail record -> one row of the Athena table (without partitions)."""
    return _RECORD(rec)
