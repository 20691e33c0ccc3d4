"""The fast path of the prefilter for records only column-limited queries want (the
`other_denials` enrichment wants 8 columns of every denial: in an error storm, most of
a trail). Such a record is decoded straight into those columns by msgspec, at C speed,
and written as its row, instead of parsed whole, checked and picked in Python.

It is an optimisation only: it gives up (returns None) wherever its answer could differ
from the general path's (prefilter.scan: orjson, `table.pick_columns`), which then
handles the record: a value of another type than a string where the table has a string,
a userIdentity key the table does not spell so (a typo, another spelling, an unknown
key), an escaped character (`\\u...`, which could spell a key), a column whose key is
missing while another spelling of it may be there, an eventTime that is not ISO-8601 UTC.
A row it writes holds the same values DuckDB would read from the general path's row
(a field that is null is left out: DuckDB reads a missing field as null).

Kept import-light (msgspec): it runs in forked workers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec
from msgspec.structs import astuple

from auditor.engines.rawjson import TIME_BODY, event_time_ok, real_day
from auditor.table import CAMEL, COLUMNS

_Str = str | None


class _Struct(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, gc=False):
    """A decoded JSON object of strings (and such objects): never part of a reference
    cycle, so never tracked by Python's cycle collector (gc=False: the collector no longer
    walks the ~10 objects of each of a storm file's records while they are decoded)."""


class _Issuer(_Struct):
    type: _Str = None
    principalId: _Str = None
    arn: _Str = None
    accountId: _Str = None
    userName: _Str = None


class _Attributes(_Struct):
    mfaAuthenticated: _Str = None
    creationDate: _Str = None


class _WebIdentity(_Struct):
    federatedProvider: _Str = None
    attributes: dict[str, _Str] | None = None


class _Session(_Struct):
    attributes: _Attributes | None = None
    sessionIssuer: _Issuer | None = None
    ec2RoleDelivery: _Str = None
    webIdFederationData: _WebIdentity | None = None
    # in CloudTrail's records, not in the table (DuckDB ignores them)
    sourceIdentity: _Str = None
    assumedRoot: _Str = None


class _OnBehalfOf(_Struct):
    userId: _Str = None
    identityStoreArn: _Str = None


class _Identity(_Struct):
    type: _Str = None
    principalId: _Str = None
    arn: _Str = None
    accountId: _Str = None
    invokedBy: _Str = None
    accessKeyId: _Str = None
    userName: _Str = None
    onBehalfOf: _OnBehalfOf | None = None
    sessionContext: _Session | None = None
    # in CloudTrail's records, not in the table (DuckDB ignores them)
    credentialId: _Str = None
    identityProvider: _Str = None
    inScopeOf: Any = None


_TYPES: dict[str, Any] = {name: _Str for name, t in COLUMNS if isinstance(t, str)}
_TYPES["useridentity"] = _Identity | None


# EVENT_TIME for many times, one a line
_EVENT_TIMES = re.compile(f"(?:{TIME_BODY}\n)*{TIME_BODY}\\Z", re.ASCII)

_Tests = tuple[tuple[Mapping[str, frozenset[str]], Mapping[str, tuple[str, ...]]], ...]


def _compile(tests: _Tests, others: _Tests) -> tuple[Any, Any]:
    """The prefilter tests as two functions made for these queries (a loop over a storm
    file's records is the fast path's hot spot: generic loops over the fields cost 20x):
    meets(rec) -> [per query in `tests`, whether its prefilter holds]; select(records) ->
    ([(rec, meets(rec)) for the records some query in `tests` wants and none in `others`
    does], [the indices of the records some query in `others` wants]). A prefilter's
    field must hold one of its values (`exact`) and contain one of its substrings
    (`contains`); a missing (None) field holds nothing. The values are bound as names,
    never written into the code; the field names are CloudTrail's keys (identifiers)."""
    consts: dict[str, object] = {}

    def bind(value: object) -> str:
        name = f"_c{len(consts)}"
        consts[name] = value
        return name

    def condition(
        exact: Mapping[str, frozenset[str]], contains: Mapping[str, tuple[str, ...]]
    ) -> str:
        for k in (*exact, *contains):
            if not k.isidentifier():
                raise ValueError(f"no fast path for the field {k!r}")
        parts = [f"r.{k} in {bind(frozenset(v))}" for k, v in exact.items()]
        for k, subs in contains.items():
            any_of = " or ".join(f"{bind(x)} in r.{k}" for x in subs) or "False"
            parts.append(f"(r.{k} is not None and ({any_of}))")
        return "(" + (" and ".join(parts) or "True") + ")"

    mine = [condition(ex, sub) for ex, sub in tests]
    names = [f"m{i}" for i in range(len(mine))]
    theirs = " or ".join(condition(ex, sub) for ex, sub in others) or "False"
    lines = [
        "def meets(r):",
        f"    return [{', '.join(mine)}]",
        "def select(records):",
        "    out = []",
        "    whole = []",
        "    for i, r in enumerate(records):",
        f"        if {theirs}:",
        "            whole.append(i)",
        "            continue",
        *(f"        {n} = {c}" for n, c in zip(names, mine)),
        f"        if {' or '.join(names) or 'False'}:",
        f"            out.append((r, [{', '.join(names)}]))",
        "    return out, whole",
    ]
    namespace: dict[str, Any] = dict(consts)
    exec(compile("\n".join(lines), "<auditor.limited prefilter>", "exec"), namespace)
    return namespace["meets"], namespace["select"]


class Limited:
    """The decoder of one set of column-limited queries: their columns and prefilter
    fields, each as CloudTrail spells it."""

    def __init__(
        self,
        columns: frozenset[str],
        exact: tuple[Mapping[str, frozenset[str]], ...],
        contains: tuple[Mapping[str, tuple[str, ...]], ...],
        others: tuple[tuple[Mapping[str, frozenset[str]], Mapping[str, tuple[str, ...]]], ...] = (),
    ) -> None:
        """`others`: the prefilters (exact, contains) of the queries reading whole records;
        a record meeting one is left to the general path (`file_rows`)."""
        fields = {CAMEL[c] for c in columns} | {"eventTime"}
        for pf in (*exact, *contains, *(x for o in others for x in o)):
            fields |= set(pf)
        if not {f.lower() for f in fields} <= set(_TYPES):
            raise ValueError(f"no fast path for columns {sorted(columns)}")
        self.keys = tuple(sorted(fields))
        self._type = msgspec.defstruct(
            "LimitedRecord",
            [(k, _TYPES[k.lower()], None) for k in self.keys],
            omit_defaults=True,
            gc=False,
        )
        self._decode = msgspec.json.Decoder(self._type).decode
        self._decode_file = msgspec.json.Decoder(
            msgspec.defstruct("LimitedFile", [("Records", list[self._type])])  # type: ignore[name-defined]
        ).decode
        self._encode = msgspec.json.Encoder().encode
        self._keys_json = {k: f'"{k.lower()}"'.encode() for k in self.keys}
        # file_rows needs a prefilter of every query reading whole records
        self.whole_files = all(ex or sub for ex, sub in others)
        self._meets, self._select = _compile(tuple(zip(exact, contains)), others)

    def file_rows(
        self, data: bytes, head: bytes = b"", tail: bytes = b""
    ) -> tuple[int, list[bytes], list[list[bool]], list[int]] | None:
        """A whole file in one pass: (its record count, the row of each record a
        column-limited query wants (its JSON between `head` and `tail`), per such record
        whether each query's prefilter holds, the indices of the records a query reading
        whole records may want: the general path's), or None where the general path must
        decide (a record of another shape or type, a wanted record with a column missing
        or null, an eventTime that is not ISO-8601 UTC or names no real time). A key
        spelled with escapes decodes as the general path's parser decodes it; another
        spelling of a column's key matters only where the column's own key is missing
        (the general path prefers CloudTrail's spelling), which gives up here."""
        try:
            records = self._decode_file(data).Records  # type: ignore[attr-defined]
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
            return None
        wanted, whole = self._select(records)
        for rec, _ in wanted:
            if None in astuple(rec):
                return None
        # Every eventTime in one match and each day once, where none holds a line break;
        # otherwise one at a time, as the general path checks them.
        times = [rec.eventTime for rec, _ in wanted]
        joined = "\n".join(times)
        quick = (
            joined.count("\n") == len(times) - 1
            and _EVENT_TIMES.match(joined) is not None
            and all(real_day(d) for d in {t[:10] for t in times})
        )
        if times and not quick and not all(event_time_ok(t) for t in times):
            return None
        encode = self._encode
        rows = [head + encode(rec) + tail for rec, _ in wanted]
        return len(records), rows, [meets for _, meets in wanted], whole

    def row(self, chunk: bytes) -> tuple[bytes, list[bool]] | None:
        """(the row's JSON, per query whether its prefilter holds), or None: the general
        path must decide (see the module). The row holds the prefilter fields too: no
        other query reads a limited row, and the queries wanting it ignore them."""
        if b"\\" in chunk and b"\\u" in chunk:  # (a one-byte search is memchr: fast)
            return None
        try:
            rec = self._decode(chunk)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
        if None in astuple(rec):  # missing or null: another spelling may be there
            low = chunk.lower()
            for k in self.keys:
                if getattr(rec, k) is None and self._keys_json[k] in low:
                    return None
        et = rec.eventTime  # type: ignore[attr-defined]
        if not event_time_ok(et):
            return None
        return self._encode(rec), self._meets(rec)
