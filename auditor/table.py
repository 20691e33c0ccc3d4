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

Type = Union[str, tuple[Any, ...]]

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
                    (
                        "webidfederationdata",
                        ("struct", [("federatedprovider", S), ("attributes", ("map", S, S))]),
                    ),
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
    ("resources", ("array", ("struct", [("arn", S, "ARN"), ("accountid", S), ("type", S)]))),
    ("eventtype", S),
    ("apiversion", S),
    ("recipientaccountid", S),
    ("serviceeventdetails", S),
    ("sharedeventid", S),
    ("vpcendpointid", S),
    ("vpcendpointaccountid", S),
    ("eventcategory", S),
    (
        "addendum",
        (
            "struct",
            [("reason", S), ("updatedfields", S), ("originalrequestid", S), ("originaleventid", S)],
        ),
    ),
    ("sessioncredentialfromconsole", S),
    ("edgedevicedetails", S),
    (
        "tlsdetails",
        ("struct", [("tlsversion", S), ("ciphersuite", S), ("clientprovidedhostheader", S)]),
    ),
]

# Partition columns the local engine adds from the file's path (org-trail scheme).
PARTITIONS: list[tuple[str, Type]] = [("account", S), ("region", S), ("timestamp", S)]


def duckdb_type(t: Type) -> str:
    if isinstance(t, str):
        return "VARCHAR"
    kind = t[0]
    if kind == "struct":
        inner = ", ".join(f'"{n}" {duckdb_type(ft)}' for n, ft, *_ in t[1])
        return f"STRUCT({inner})"
    if kind == "array":
        return f"{duckdb_type(t[1])}[]"
    if kind == "map":
        return f"MAP({duckdb_type(t[1])}, {duckdb_type(t[2])})"
    raise ValueError(t)


def hive_type(t: Type) -> str:
    if isinstance(t, str):
        return "STRING"
    kind = t[0]
    if kind == "struct":
        return "STRUCT<" + ",".join(f"{n}:{hive_type(ft)}" for n, ft, *_ in t[1]) + ">"
    if kind == "array":
        return f"ARRAY<{hive_type(t[1])}>"
    if kind == "map":
        return f"MAP<{hive_type(t[1])},{hive_type(t[2])}>"
    raise ValueError(t)


# CloudTrail's own spelling of every key the table reads (its column names lower-case them).
CAMEL = {
    n.lower(): n
    for n in (
        "eventVersion userIdentity type principalId arn accountId invokedBy accessKeyId "
        "userName onBehalfOf userId identityStoreArn sessionContext attributes "
        "mfaAuthenticated creationDate sessionIssuer ec2RoleDelivery webIdFederationData "
        "federatedProvider eventTime eventSource eventName awsRegion sourceIPAddress "
        "userAgent errorCode errorMessage requestParameters responseElements "
        "additionalEventData requestID eventID readOnly resources eventType apiVersion "
        "recipientAccountId serviceEventDetails sharedEventID vpcEndpointId "
        "vpcEndpointAccountId eventCategory addendum reason updatedFields originalRequestID "
        "originalEventID sessionCredentialFromConsole edgeDeviceDetails tlsDetails "
        "tlsVersion cipherSuite clientProvidedHostHeader"
    ).split()
}


def _spell(field: tuple[Any, ...]) -> str:
    """CloudTrail's spelling of a struct field: its own where it differs (resources' ARN)."""
    return field[2] if len(field) > 2 else CAMEL[field[0]]


def _camel_type(t: Type) -> str:
    """The DuckDB type of t with CloudTrail's key spelling (raw records are read as is)."""
    if isinstance(t, str):
        return "VARCHAR"
    kind = t[0]
    if kind == "struct":
        return "STRUCT(" + ", ".join(f'"{_spell(f)}" {_camel_type(f[1])}' for f in t[1]) + ")"
    if kind == "array":
        return f"{_camel_type(t[1])}[]"
    if kind == "map":
        return f"MAP({_camel_type(t[1])}, {_camel_type(t[2])})"
    raise ValueError(t)


def raw_row_columns() -> dict[str, str]:
    """read_json columns of the local engine's row file: partitions, the source file and
    the record `r` as CloudTrail wrote it (DuckDB turns objects, numbers and booleans in
    a VARCHAR field into their JSON text, as Athena's JsonSerDe does)."""
    cols = {name: "VARCHAR" for name, _ in PARTITIONS}
    cols["_file"] = "VARCHAR"
    cols["r"] = _camel_type(("struct", COLUMNS))
    return cols


def raw_row_select() -> str:
    """The SELECT list that turns raw rows into the Athena table's columns."""
    cols = [f'r."{CAMEL[name]}" AS {name}' for name, _ in COLUMNS]
    cols += [f'"{name}"' for name, _ in PARTITIONS] + ["_file"]
    return ", ".join(cols)


def _check(t: Type):  # type: ignore[no-untyped-def]
    """A function telling whether a value of type t can be handed to DuckDB as it is:
    struct keys in CloudTrail's spelling (other keys are ignored), structs and arrays
    where the type says so. Anything else is rewritten by `canonical`."""
    if isinstance(t, str):
        return lambda v: True
    kind = t[0]
    if kind == "struct":
        exact = {_spell(f): _check(f[1]) for f in t[1]}
        lower = {f[0] for f in t[1]}
        own = frozenset(exact)
        # Only fields of a struct, array or map type need a look at their values.
        typed = tuple((_spell(f), exact[_spell(f)]) for f in t[1] if not isinstance(f[1], str))

        def struct(v: Any) -> bool:
            if v is None:
                return True
            if not isinstance(v, dict):
                return False
            if v.keys() <= own:  # every key in CloudTrail's spelling (the common case)
                for k, f in typed:
                    x = v.get(k)
                    if x is not None and not f(x):
                        return False
                return True
            for k, x in v.items():
                f = exact.get(k)
                if f is not None:
                    if not f(x):
                        return False
                elif not isinstance(k, str) or k.lower() in lower:
                    return False
            return True

        return struct
    if kind == "array":
        item = _check(t[1])
        return lambda v: v is None or (isinstance(v, list) and all(item(x) for x in v))
    if kind == "map":
        return lambda v: (
            v is None
            or (isinstance(v, dict) and all(isinstance(x, (str, type(None))) for x in v.values()))
        )
    raise ValueError(t)


def _canon(t: Type):  # type: ignore[no-untyped-def]
    if isinstance(t, str):
        return lambda v: v
    kind = t[0]
    if kind == "struct":
        fields = {f[0]: (_spell(f), _canon(f[1])) for f in t[1]}

        def struct(v: Any) -> Any:
            if not isinstance(v, dict):
                return None
            out = {}
            for k, x in v.items():
                if isinstance(k, str) and (f := fields.get(k.lower())) is not None:
                    out[f[0]] = f[1](x)
            return out

        return struct
    if kind == "array":
        item = _canon(t[1])
        return lambda v: [item(x) for x in v] if isinstance(v, list) else None
    if kind == "map":
        return lambda v: {str(k): _scalar(x) for k, x in v.items()} if isinstance(v, dict) else None
    raise ValueError(t)


is_canonical = _check(("struct", COLUMNS))
canonical = _canon(("struct", COLUMNS))
# Per column: (CloudTrail's key, check, rewrite), for loading a few columns of a record.
COLUMN_FIXERS = {name: (CAMEL[name], _check(t), _canon(t)) for name, t in COLUMNS}


# CloudTrail's own spelling of each column's key -> the column (no lower() for those).
_OWN_KEY = {CAMEL[name]: name for name, _ in COLUMNS}


_COLUMN_NAMES = frozenset(CAMEL[name] for name, _ in COLUMNS)
_LOWER_NAMES = frozenset(name for name, _ in COLUMNS)
_PICKS: dict[frozenset[str], tuple[tuple[str, Any, Any], ...]] = {}


def _picks(columns: frozenset[str]) -> tuple[tuple[str, Any, Any], ...]:
    got = _PICKS.get(columns)
    if got is None:
        got = _PICKS[columns] = tuple(COLUMN_FIXERS[c] for c in sorted(columns))
    return got


def pick_columns(rec: dict[str, Any], columns: frozenset[str]) -> dict[str, Any]:
    """Only the given columns of a raw record, each as DuckDB can read it (see canonical)."""
    odd = rec.keys() - _COLUMN_NAMES
    if not odd or all(not (isinstance(k, str) and k.lower() in _LOWER_NAMES) for k in odd):
        # Every column's key in CloudTrail's spelling (the common case): no other key
        # can stand for a column.
        out = {}
        for key, check, fix in _picks(columns):
            if key in rec:
                v = rec[key]
                out[key] = v if check(v) else fix(v)
        return out
    out = {}
    for k, v in rec.items():
        low = _OWN_KEY.get(k)
        if low is None:
            if not isinstance(k, str):
                continue
            low = k.lower()
            if CAMEL.get(low, k) in rec:  # CloudTrail's own spelling is there too: it wins
                continue
        if low in columns:
            key, check, fix = COLUMN_FIXERS[low]
            out[key] = v if check(v) else fix(v)
    return out


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


def _compile(t: Type):  # type: ignore[no-untyped-def]
    if isinstance(t, str):
        return _scalar
    kind = t[0]
    if kind == "struct":
        fields = {n: _compile(ft) for n, ft, *_ in t[1]}

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


_RECORD = _compile(("struct", COLUMNS))


def shape_record(rec: dict[str, Any]) -> dict[str, Any]:
    """A raw CloudTrail record -> one row of the Athena table (without partitions)."""
    out: dict[str, Any] = _RECORD(rec)
    return out
