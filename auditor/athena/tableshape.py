"""The Athena table as it is, read from Glue before any SQL is written.

Teams query CloudTrail through tables of many shapes: AWS's current documented table,
its older versions (no `useridentity.onbehalfof`), public gists, the CloudTrail
console's "Create Athena table" (no partitions at all), projection on `dt` with
`yyyy-MM-dd`, organisation tables partitioned by account/region/timestamp, classic
region/year/month/day partitions under other names. `TableShape` is what the SQL needs
to know about one of them, derived from Glue `GetTable` (`from_glue`):

partitions  How the SQL bounds the delivery days, in this order of preference:
            1. a *date partition*: a projected column of `projection.<col>.type=date`
               (any name), its values written with `projection.<col>.format`; without
               projection, a partition column named like a day (timestamp, dt, date,
               day, ds, ...) of Glue type `date` (yyyy-MM-dd) or string (its format
               read from one registered partition value, `sample`);
            2. *classic* year/month/day partitions (names year|yyyy|y, month|mm|m,
               day|dd|d, all three present), compared as `yyyy/MM/dd` text;
            3. none: every query reads the table's whole LOCATION (the dry run and the
               report say so; the estimate sizes all of it).
            A column named account|account_id|accountid|aws_account_id is the account
            partition, region|aws_region|awsregion the region partition: bound with
            --account / --region when given. An `injected` projection needs a value in
            every query (Athena refuses one without): --account/--region is required.
            Formats whose text does not sort as dates (dd-MM-yyyy) are bound with IN
            (one value per day) instead of BETWEEN.
fields      Every column and struct field the table has (Glue's Hive type strings
            parsed, names lower-cased). A field of `OPTIONAL_FIELDS` the table lacks is
            rendered as a typed NULL by the SQL macros (`c.f(path)`), and the report
            says what that changes. A field of `REQUIRED` the table lacks refuses the
            table (exit 2): the rule cannot be evaluated honestly without it.
format      JSON SerDes (hcatalog, openx, CloudTrailSerde), Parquet and ORC are
            accepted; anything else, and views, are refused with one line (exit 2).

`for_scheme(name)` is the shape of `auditor ddl`'s table for an explicit
--partition-scheme (timestamp, org, manual), used where no Glue call is made
(`auditor sql` without --glue) and to check an explicit scheme against the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from auditor.errors import ConfigError
from auditor.sqlgen import quote_ident

# The table columns/fields the shipped templates read directly: without any of them the
# rule cannot be evaluated (a NULL errorcode would make every denial vanish).
REQUIRED: tuple[str, ...] = (
    "eventtime",
    "eventsource",
    "eventname",
    "errorcode",
    "errormessage",
    "eventid",
    "recipientaccountid",
    "awsregion",
    "sourceipaddress",
    "useragent",
    "requestparameters",
    "useridentity",
    "useridentity.type",
    "useridentity.arn",
    "useridentity.accountid",
    "useridentity.principalid",
    "useridentity.accesskeyid",
    "resources",
    "resources.arn",
)
# Fields the SQL reads through the `c.f(...)` macro: a table without one gets a typed
# NULL, and the report says what that changes.
OPTIONAL_FIELDS: dict[str, str] = {
    "useridentity.onbehalfof.userid": (
        "IAM Identity Center users without an ARN are keyed by principalId/userName, "
        "not their Identity Center user id"
    ),
    "useridentity.sessioncontext.sessionissuer.arn": (
        "assumed-role sessions are grouped by the role read from the session ARN"
    ),
    "useridentity.sessioncontext.sessionissuer.username": (
        "identities without ARN, principalId or userName are keyed by invokedBy"
    ),
    "useridentity.username": "identities without ARN or principalId lack a userName key",
    "useridentity.invokedby": "identities without any other id are keyed 'no-id'",
}
# The SerDes and formats a CloudTrail table is stored with.
JSON_SERDES = frozenset(
    {
        "org.apache.hive.hcatalog.data.JsonSerDe",
        "org.openx.data.jsonserde.JsonSerDe",
        "com.amazon.emr.hive.serde.CloudTrailSerde",
    }
)
COLUMNAR_SERDES = frozenset(
    {
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
    }
)
CLOUDTRAIL_INPUT = "com.amazon.emr.cloudtrail.CloudTrailInputFormat"

DATE_NAMES = (
    "timestamp",
    "dt",
    "date",
    "day",
    "ds",
    "delivery_date",
    "event_date",
    "partition_date",
    "snapshot_date",
)
ACCOUNT_NAMES = ("account", "account_id", "accountid", "aws_account", "aws_account_id")
REGION_NAMES = ("region", "aws_region", "awsregion")
YEAR_NAMES, MONTH_NAMES, DAY_NAMES = ("year", "yyyy", "y"), ("month", "mm", "m"), ("day", "dd", "d")
SCHEMES = ("timestamp", "org", "manual")
# Partition names written double-quoted in SQL (types, literals' prefixes, reserved words).
_KEYWORDS = frozenset(
    {
        "timestamp",
        "date",
        "time",
        "interval",
        "first",
        "last",
        "values",
        "table",
        "from",
        "order",
        "group",
        "by",
        "end",
        "case",
        "when",
        "in",
        "is",
        "like",
        "join",
        "with",
    }
)

# Java DateTimeFormatter letters (projection.<col>.format) a day partition may use.
_JAVA = {"yyyy": "%Y", "uuuu": "%Y", "MM": "%m", "dd": "%d"}
_JAVA_TOKEN = re.compile(r"yyyy|uuuu|MM|dd|'[^']*'|[A-Za-z]+|[^A-Za-z']+")


# -- Glue's Hive type strings ------------------------------------------------------------

_IDENT_RE = re.compile(r"\s*`?([^:<>,`()]+?)`?\s*(?=[:<>,(]|$)")
Node = Any  # "string" | ("struct", {name: Node}) | ("array", Node) | ("map", Node, Node)


def parse_type(text: str) -> Node:
    """A Hive type string (`struct<a:string,b:array<struct<c:int>>>`) as a tree; field
    names lower-cased (Athena resolves struct fields case-insensitively)."""
    pos = 0
    s = text.strip()

    def ident() -> str:
        nonlocal pos
        m = _IDENT_RE.match(s, pos)
        if not m:
            raise ConfigError(f"cannot read the column type {text[:80]!r}")
        pos = m.end()
        return m.group(1).strip()

    def expect(ch: str) -> None:
        nonlocal pos
        while pos < len(s) and s[pos].isspace():
            pos += 1
        if pos >= len(s) or s[pos] != ch:
            raise ConfigError(f"cannot read the column type {text[:80]!r}")
        pos += 1

    def node() -> Node:
        nonlocal pos
        name = ident().lower()
        if name == "struct":
            expect("<")
            fields: dict[str, Node] = {}
            while True:
                key = ident().lower()
                expect(":")
                fields[key] = node()
                while pos < len(s) and s[pos].isspace():
                    pos += 1
                if s[pos : pos + 1] == ",":
                    pos += 1
                    continue
                expect(">")
                return ("struct", fields)
        if name == "array":
            expect("<")
            item = node()
            expect(">")
            return ("array", item)
        if name == "map":
            expect("<")
            k = node()
            expect(",")
            v = node()
            expect(">")
            return ("map", k, v)
        if s[pos : pos + 1] == "(":  # decimal(10,2), varchar(20)
            pos = s.index(")", pos) + 1
        return name

    tree = node()
    if s[pos:].strip():
        raise ConfigError(f"cannot read the column type {text[:80]!r}")
    return tree


def field_paths(name: str, tree: Node) -> set[str]:
    """`name` and every struct field below it, dotted (an array's element fields are
    listed under the array's own path: `resources.arn`)."""
    out = {name}
    if isinstance(tree, tuple):
        if tree[0] == "struct":
            for k, sub in tree[1].items():
                out |= field_paths(f"{name}.{k}", sub)
        elif tree[0] == "array":
            out |= {p for p in field_paths(name, tree[1])}
    return out


# -- partitions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One partition column as the SQL uses it."""

    name: str
    type: str = "string"
    projection: str | None = None  # date | enum | injected | integer | None (classic)
    values: tuple[str, ...] = ()  # an enum projection's values

    @property
    def sql(self) -> str:
        """The column in SQL: validated; double-quoted where a bare name would read as
        a keyword or type (`"timestamp"`, as AWS's examples write it)."""
        quoted = quote_ident(self.name)
        return quoted if self.name in _KEYWORDS else self.name

    @property
    def is_text(self) -> bool:
        return self.type in ("string", "varchar") or self.type.startswith(("varchar", "char"))


@dataclass(frozen=True)
class DatePart(Part):
    """A partition holding the delivery day, written in `format` (Java letters)."""

    format: str = "yyyy/MM/dd"

    @property
    def is_date_type(self) -> bool:
        return self.type == "date"

    @property
    def strftime(self) -> str:
        return java_to_strftime(self.format)

    @property
    def sortable(self) -> bool:
        """Text of this format sorts as the dates it names: years, then months, then
        days, fixed width (so BETWEEN on the text is a range of days)."""
        order = [t for t in ("%Y", "%m", "%d") if t in self.strftime]
        return self.is_date_type or (
            order[:1] == ["%Y"]
            and [self.strftime.index(t) for t in order]
            == sorted(self.strftime.index(t) for t in order)
        )

    def value(self, folder: str) -> str:
        """A delivery folder day ('2026/10/01') as this partition writes it."""
        day = datetime.strptime(folder, "%Y/%m/%d").date()
        return f"{day:%Y-%m-%d}" if self.is_date_type else day.strftime(self.strftime)

    def day_values(self, first: str, last: str) -> list[str]:
        """Every distinct value from `first` to `last` (folders), for IN lists."""
        from datetime import timedelta

        a = datetime.strptime(first, "%Y/%m/%d").date()
        b = datetime.strptime(last, "%Y/%m/%d").date()
        out = [self.value(f"{a + timedelta(days=i):%Y/%m/%d}") for i in range((b - a).days + 1)]
        return list(dict.fromkeys(out))


def java_to_strftime(fmt: str) -> str:
    """`yyyy/MM/dd` -> `%Y/%m/%d`; refuses anything finer or coarser than days that a
    delivery-day partition cannot hold (hours, names of months)."""
    out = []
    for tok in _JAVA_TOKEN.findall(fmt):
        if tok in _JAVA:
            out.append(_JAVA[tok])
        elif tok.startswith("'"):
            out.append(tok.strip("'").replace("%", "%%"))
        elif tok[0].isalpha():
            raise ConfigError(
                f"partition format {fmt!r}: {tok!r} is not supported (a day partition "
                f"uses yyyy, MM and dd)"
            )
        else:
            out.append(tok.replace("%", "%%"))
    text = "".join(out)
    if "%Y" not in text or "%m" not in text:
        raise ConfigError(f"partition format {fmt!r} does not name a year and a month")
    return text


_SAMPLE_FORMATS = (
    ("%Y/%m/%d", "yyyy/MM/dd"),
    ("%Y-%m-%d", "yyyy-MM-dd"),
    ("%Y%m%d", "yyyyMMdd"),
    ("%Y/%m", "yyyy/MM"),
    ("%Y-%m", "yyyy-MM"),
)


def infer_format(value: str) -> str | None:
    """The Java format of one registered partition value ('2026-10-01' -> yyyy-MM-dd)."""
    for py, java in _SAMPLE_FORMATS:
        try:
            datetime.strptime(value, py)
        except ValueError:
            continue
        if len(value) == len(date(2026, 10, 10).strftime(py)):
            return java
    return None


# -- the shape ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TableShape:
    database: str
    table: str
    fields: frozenset[str]
    location: str | None = None
    serde: str | None = None
    input_format: str | None = None
    partitions: tuple[Part, ...] = ()
    date: DatePart | None = None
    ymd: tuple[Part, Part, Part] | None = None
    account: Part | None = None
    region: Part | None = None
    template: str | None = None
    source: str = "glue"  # glue | ddl (auditor ddl's table, assumed)
    notes: tuple[str, ...] = field(default=())
    # The SerDe's ignore.malformed.json: a record it cannot parse is read as a row of
    # NULLs, which no query can tell from nothing (from_glue sets it).
    skips_malformed: bool = False

    def has(self, path: str) -> bool:
        return path.lower() in self.fields

    @property
    def missing(self) -> tuple[str, ...]:
        """Optional fields the SQL reads that this table lacks (rendered NULL)."""
        return tuple(p for p in OPTIONAL_FIELDS if not self.has(p))

    @property
    def unbound(self) -> tuple[Part, ...]:
        used = {
            p.name
            for p in (self.date, self.account, self.region, *(self.ymd or ()))
            if p is not None
        }
        return tuple(p for p in self.partitions if p.name not in used)

    @property
    def prunes(self) -> frozenset[str]:
        """Which of --account/--region the partition filter binds (the estimate shrinks
        only with those)."""
        return frozenset(
            k for k, p in (("account", self.account), ("region", self.region)) if p is not None
        )

    @property
    def scheme(self) -> str:
        """auditor's name for this layout: timestamp, org, manual, none or custom."""
        names = [p.name for p in self.partitions]
        if not names:
            return "none"
        std = (
            self.date is not None
            and self.date.name == "timestamp"
            and self.date.format == "yyyy/MM/dd"
        )
        if names == ["timestamp"] and std:
            return "timestamp"
        if names == ["account", "region", "timestamp"] and std:
            return "org"
        if names == ["region", "year", "month", "day"] and self.ymd is not None:
            return "manual"
        return "custom"

    def describe(self) -> str:
        """One line: how the SQL bounds this table's partitions."""
        if not self.partitions:
            return (
                "no partitions: every query reads the whole table LOCATION "
                f"{self.location or '(unknown)'}"
            )
        bits = []
        if self.date is not None:
            how = "projection" if self.date.projection else "partition"
            bits.append(f"{how} {self.date.name} ({self.date.format})")
        elif self.ymd is not None:
            bits.append("partitions " + "/".join(p.name for p in self.ymd) + " (yyyy/MM/dd)")
        else:
            bits.append("no day partition: every day of the LOCATION is read")
        for label, p in (("account", self.account), ("region", self.region)):
            if p is not None:
                bits.append(f"{label} {p.name} ({p.projection or 'partition'})")
        for p in self.unbound:
            bits.append(f"{p.name} not bound (every value read)")
        return ", ".join(bits)

    def shortfalls(self) -> tuple[str, ...]:
        """What reading through this table keeps any report from claiming complete."""
        if not self.skips_malformed:
            return ()
        return (
            f"Athena table {self.database}.{self.table}: its SerDe skips the records it "
            f"cannot parse (ignore.malformed.json = true), reading each as an empty row "
            f"that no query can count; recreate the table without it (auditor ddl) to "
            f"have such a file fail the query instead",
        )

    def coverage_notes(self) -> tuple[str, ...]:
        """What the report says about the table: its partitions, missing fields."""
        out = [f"Athena table {self.database}.{self.table}: {self.describe()}"]
        out += [f"{p} missing from the table: {OPTIONAL_FIELDS[p]}" for p in self.missing]
        out += list(self.notes)
        return tuple(out)

    def check_scheme(self, scheme: str) -> None:
        """An explicit --partition-scheme must be this table's layout."""
        if scheme in ("auto", self.scheme):
            return
        raise ConfigError(
            f"--partition-scheme {scheme} does not match {self.database}.{self.table}, "
            f"which has {self.describe()}: use --partition-scheme auto"
        )

    def check_filters(self, accounts: tuple[str, ...], regions: tuple[str, ...]) -> None:
        """Refuse what the SQL cannot do on this table."""
        for label, flag, part, given in (
            ("account", "--account", self.account, accounts),
            ("region", "--region", self.region, regions),
        ):
            if part is not None and part.projection == "injected" and not given:
                raise ConfigError(
                    f"{self.database}.{self.table}: the {label} partition {part.name} is an "
                    f"injected projection, which Athena queries only with values: pass {flag}"
                )
        for p in self.unbound:
            if p.projection == "injected":
                raise ConfigError(
                    f"{self.database}.{self.table}: partition {p.name} is an injected "
                    f"projection auditor cannot fill in: query it through a table without it"
                )


def for_scheme(
    scheme: str, database: str = "default", table: str = "cloudtrail_logs"
) -> TableShape:
    """The shape of `auditor ddl`'s table for one explicit --partition-scheme."""
    from auditor.table import COLUMNS, hive_type

    fields: set[str] = set()
    for name, t in COLUMNS:
        fields |= field_paths(name, parse_type(hive_type(t)))
    stamp = DatePart("timestamp", projection="date", format="yyyy/MM/dd")
    if scheme == "timestamp":
        parts: tuple[Part, ...] = (stamp,)
        return TableShape(
            database, table, frozenset(fields), partitions=parts, date=stamp, source="ddl"
        )
    if scheme == "org":
        acct, reg = Part("account", projection="enum"), Part("region", projection="enum")
        return TableShape(
            database,
            table,
            frozenset(fields),
            partitions=(acct, reg, stamp),
            date=stamp,
            account=acct,
            region=reg,
            source="ddl",
        )
    if scheme == "manual":
        reg = Part("region")
        y, m, d = Part("year"), Part("month"), Part("day")
        return TableShape(
            database,
            table,
            frozenset(fields),
            partitions=(reg, y, m, d),
            ymd=(y, m, d),
            region=reg,
            source="ddl",
        )
    raise ConfigError(f"--partition-scheme: {scheme!r} is not one of auto, {', '.join(SCHEMES)}")


def from_glue(
    table: dict[str, Any], database: str | None = None, sample: list[str] | None = None
) -> TableShape:
    """The shape of a Glue table (GetTable's `Table`, or a TableInput). `sample` is one
    registered partition's values (GetPartitions), to read a day format from."""
    name = str(table.get("Name", "?"))
    db = database or str(table.get("DatabaseName", "default"))
    where = f"{db}.{name}"
    if table.get("TableType") == "VIRTUAL_VIEW":
        raise ConfigError(f"{where} is a view: point --table at the CloudTrail table itself")
    sd = table.get("StorageDescriptor") or {}
    params = {str(k): str(v) for k, v in (table.get("Parameters") or {}).items()}
    fields: set[str] = set()
    for col in sd.get("Columns") or ():
        fields |= field_paths(str(col["Name"]).lower(), parse_type(str(col.get("Type", "string"))))
    serde = (sd.get("SerdeInfo") or {}).get("SerializationLibrary")
    serde_params = (sd.get("SerdeInfo") or {}).get("Parameters") or {}
    skips_malformed = str(serde_params.get("ignore.malformed.json", "")).strip().lower() == "true"
    input_format = sd.get("InputFormat")
    iceberg = params.get("table_type", "").upper() == "ICEBERG"
    lacking = [c for c in ("eventname", "eventsource", "eventtime") if c not in fields]
    if lacking:
        raise ConfigError(f"{where} is not a CloudTrail table: no {', '.join(lacking)} column")
    columnar = (
        serde in COLUMNAR_SERDES
        or iceberg
        or any(k in str(input_format or "").lower() for k in ("parquet", "orc"))
    )
    if serde not in JSON_SERDES and not columnar:
        raise ConfigError(
            f"{where} is not a CloudTrail table: SerDe {serde or 'none'} is "
            f"neither JSON (CloudTrail's logs) nor Parquet/ORC"
        )
    missing = [c for c in REQUIRED if c not in fields]
    if missing:
        raise ConfigError(
            f"{where} lacks {', '.join(missing)}, which the audit reads: "
            f"recreate it with `auditor ddl`"
        )
    notes: list[str] = []
    if serde in JSON_SERDES and input_format != CLOUDTRAIL_INPUT:
        notes.append(
            f"{where} is not read with {CLOUDTRAIL_INPUT}: auditor assumes one "
            f"event per line (CloudTrail's own files hold one Records array)"
        )

    projected = params.get("projection.enabled", "").lower() == "true"
    parts: list[Part] = []
    for col in table.get("PartitionKeys") or ():
        pname = str(col["Name"]).lower()
        ptype = str(col.get("Type", "string")).lower()
        kind = params.get(f"projection.{pname}.type") if projected else None
        values = tuple(
            v.strip() for v in params.get(f"projection.{pname}.values", "").split(",") if v.strip()
        )
        if kind == "date" or (kind is None and ptype == "date"):
            fmt = params.get(f"projection.{pname}.format") or "yyyy-MM-dd"
            if ptype != "date":
                java_to_strftime(fmt)  # refuses a format that does not hold days
            parts.append(DatePart(pname, ptype, kind, values, format=fmt))
        else:
            parts.append(Part(pname, ptype, kind, values))
    by = {p.name: p for p in parts}

    def pick(names: tuple[str, ...]) -> Part | None:
        return next((by[n] for n in names if n in by), None)

    date_part = next((p for p in parts if isinstance(p, DatePart)), None)
    ymd = None
    if date_part is None:
        y, m, d = pick(YEAR_NAMES), pick(MONTH_NAMES), pick(DAY_NAMES)
        if y and m and d and not any(isinstance(p, DatePart) for p in (y, m, d)):
            ymd = (y, m, d)
        else:
            named = next((by[n] for n in DATE_NAMES if n in by and by[n].projection is None), None)
            if named is not None:
                i = [p.name for p in parts].index(named.name)
                seen = sample[i] if sample and i < len(sample) else None
                day_fmt = infer_format(seen) if seen else None
                if day_fmt is None:
                    notes.append(
                        f"partition {named.name}: no registered value shows its date "
                        f"format; yyyy/MM/dd (CloudTrail's folders) assumed"
                    )
                    day_fmt = "yyyy/MM/dd"
                date_part = DatePart(named.name, named.type, None, (), format=day_fmt)
                parts[i] = date_part
    location = sd.get("Location")
    template = params.get("storage.location.template")
    if projected and parts and not template:
        notes.append(
            f"{where} projects partitions without storage.location.template: Athena "
            f"looks for <column>=<value>/ folders, which CloudTrail never writes"
        )
    if not parts:
        notes.append(f"{where} has no partitions: every query reads all of {location}")
    return TableShape(
        database=db,
        table=name,
        fields=frozenset(fields),
        location=location,
        serde=serde,
        input_format=input_format,
        partitions=tuple(parts),
        date=date_part,
        ymd=ymd,
        account=pick(ACCOUNT_NAMES),
        region=pick(REGION_NAMES),
        template=template,
        source="glue",
        notes=tuple(notes),
        skips_malformed=skips_malformed and not columnar,
    )


# -- Glue --------------------------------------------------------------------------------


def read_glue_table(glue: Any, database: str, table: str) -> TableShape:
    """GetTable (and, for a classic day partition, one GetPartitions value) -> shape.
    Every refusal is one line (ConfigError, exit 2)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from auditor.aws import aws_error, classify

    where = f"{database}.{table}"
    try:
        got = glue.get_table(DatabaseName=database, Name=table)["Table"]
    except (ClientError, BotoCoreError) as exc:
        if classify(exc).code == "EntityNotFoundException":
            raise ConfigError(
                f"--database/--table: {where} not found in the Glue Data "
                f"Catalog (create it with `auditor ddl --apply`)"
            ) from None
        raise aws_error(exc, f"glue:GetTable {where}", ConfigError) from None
    sample = None
    params = got.get("Parameters") or {}
    if got.get("PartitionKeys") and params.get("projection.enabled", "").lower() != "true":
        try:
            page = glue.get_partitions(DatabaseName=database, TableName=table, MaxResults=1)
            first = (page.get("Partitions") or [{}])[0]
            sample = [str(v) for v in first.get("Values") or ()] or None
        except (ClientError, BotoCoreError):
            sample = None  # the shape notes the assumed format
    return from_glue(got, database, sample)


def resolve(settings: Any, glue: Any) -> TableShape:
    """The shape the audit uses: read from Glue, then an explicit scheme checked."""
    shape = read_glue_table(glue, settings.database, settings.table)
    shape.check_scheme(settings.partition_scheme)
    return shape


def assumed(settings: Any) -> TableShape:
    """Without Glue: `auditor ddl`'s table for the scheme (`timestamp` for auto)."""
    scheme = settings.partition_scheme
    shape = for_scheme(
        "timestamp" if scheme == "auto" else scheme, settings.database, settings.table
    )
    if scheme == "auto":
        shape = replace(
            shape,
            notes=(
                "table shape assumed (auditor ddl's timestamp table): "
                "pass --glue to read it from Glue",
            ),
        )
    return shape
