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


def _lower_keys(d: dict) -> dict:
    return {k.lower(): v for k, v in d.items() if isinstance(k, str)}


def shape(v: Any, t: Type) -> Any:
    if t == S:
        return _scalar(v)
    kind = t[0]
    if kind == "struct":
        if not isinstance(v, dict):
            return None
        low = _lower_keys(v)
        return {n: shape(low.get(n), ft) for n, ft in t[1]}
    if kind == "array":
        if not isinstance(v, list):
            return None
        return [shape(x, t[1]) for x in v]
    if kind == "map":
        if not isinstance(v, dict):
            return None
        return {str(k): shape(x, t[2]) for k, x in v.items()}
    raise ValueError(t)


def shape_record(rec: dict) -> dict:
    """A raw CloudTrail record -> one row of the Athena table (without partitions)."""
    low = _lower_keys(rec)
    return {name: shape(low.get(name), t) for name, t in COLUMNS}
