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

from collections.abc import Mapping
from typing import Any

import msgspec
from msgspec.structs import astuple

from auditor.engines.rawjson import EVENT_TIME
from auditor.table import CAMEL, COLUMNS

_Str = str | None


class _Issuer(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    type: _Str = None
    principalId: _Str = None
    arn: _Str = None
    accountId: _Str = None
    userName: _Str = None


class _Attributes(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    mfaAuthenticated: _Str = None
    creationDate: _Str = None


class _WebIdentity(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    federatedProvider: _Str = None
    attributes: dict[str, _Str] | None = None


class _Session(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    attributes: _Attributes | None = None
    sessionIssuer: _Issuer | None = None
    ec2RoleDelivery: _Str = None
    webIdFederationData: _WebIdentity | None = None
    # in CloudTrail's records, not in the table (DuckDB ignores them)
    sourceIdentity: _Str = None
    assumedRoot: _Str = None


class _OnBehalfOf(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    userId: _Str = None
    identityStoreArn: _Str = None


class _Identity(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
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
        )
        self._decode = msgspec.json.Decoder(self._type).decode
        self._decode_file = msgspec.json.Decoder(
            msgspec.defstruct("LimitedFile", [("Records", list[self._type])])  # type: ignore[name-defined]
        ).decode
        self._encode = msgspec.json.Encoder().encode
        self._keys_json = {k: f'"{k.lower()}"'.encode() for k in self.keys}
        self._tests = tuple(
            (tuple(ex.items()), tuple(sub.items())) for ex, sub in zip(exact, contains)
        )
        self._others = tuple((tuple(ex.items()), tuple(sub.items())) for ex, sub in others)
        # file_rows needs a prefilter of every query reading whole records
        self.whole_files = all(ex or sub for ex, sub in self._others)

    def _meets(self, rec: Any, tests: Any = None) -> list[bool]:
        meets = []
        for ex, sub in self._tests if tests is None else tests:
            ok = True
            for k, vals in ex:
                if getattr(rec, k) not in vals:
                    ok = False
                    break
            if ok:
                for k, ss in sub:
                    v = getattr(rec, k)
                    if v is None:
                        ok = False
                        break
                    for x in ss:
                        if x in v:
                            break
                    else:
                        ok = False
                        break
            meets.append(ok)
        return meets

    def file_rows(
        self, data: bytes
    ) -> tuple[int, list[tuple[bytes, list[bool]]], list[int]] | None:
        """A whole file in one pass: (its record count, (row, per query whether its
        prefilter holds) for each record a column-limited query wants, the indices of the
        records a query reading whole records may want: the general path's), or None
        where the general path must decide (a record of another shape or type, a wanted
        record with a column missing or null, an eventTime that is not ISO-8601 UTC). A
        key spelled with escapes decodes as the general path's parser decodes it; another
        spelling of a column's key matters only where the column's own key is missing (the
        general path prefers CloudTrail's spelling), which gives up here."""
        try:
            records = self._decode_file(data).Records  # type: ignore[attr-defined]
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
            return None
        out = []
        whole = []
        encode = self._encode
        others = self._others
        for i, rec in enumerate(records):
            if others and any(self._meets(rec, others)):
                whole.append(i)
                continue
            meets = self._meets(rec)
            if not any(meets):
                continue
            if None in astuple(rec):
                return None
            if not EVENT_TIME.match(rec.eventTime):
                return None
            out.append((encode(rec), meets))
        return len(records), out, whole

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
        if et is None or not EVENT_TIME.match(et):
            return None
        return self._encode(rec), self._meets(rec)
