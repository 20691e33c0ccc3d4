"""Bytes-level helpers of the prefilter, for files whose contents a caller may have chosen:
bounded gunzip, substring search, the index of a file's top-level records (a validating
parse, msgspec), and a record-by-record parse for a file that does not parse whole.

Kept import-light (isal, msgspec, orjson): it runs in forked workers.
"""

from __future__ import annotations

import bisect
import ctypes
import ctypes.util
import itertools
import operator
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import msgspec
import orjson
from isal import isal_zlib

GZIP_MAGIC = b"\x1f\x8b"
# An eventTime the engine hands on: ISO-8601 in UTC, as CloudTrail writes it, naming a
# real time. DuckDB's timestamp cast refuses another script's digits (Python's \d takes
# them: re.ASCII), a 13th month, a 25th hour, a 60th second or a 30 February, and its error
# fails the whole query: `event_time_ok` keeps such a record out (it is named instead).
_MONTH_TO_SECOND = r"(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
TIME_BODY = r"\d{4}-" + _MONTH_TO_SECOND + r"(?:\.\d+)?Z"
EVENT_TIME = re.compile("^" + TIME_BODY + "$", re.ASCII)


@lru_cache(maxsize=4096)
def real_day(day: str) -> bool:
    """Whether YYYY-MM-DD names a day of the calendar (no 30 February, no year 0)."""
    try:
        date.fromisoformat(day)
    except ValueError:
        return False
    return True


def event_time_ok(value: object) -> bool:
    """Whether an eventTime can be handed on (see EVENT_TIME)."""
    return isinstance(value, str) and EVENT_TIME.match(value) is not None and real_day(value[:10])


MiB = 1 << 20


class Unusable(Exception):
    """A file that is not read, and why (one line, shown in the coverage)."""


@dataclass(frozen=True)
class Limits:
    """What one file or record may cost. Real CloudTrail files hold tens of MiB of JSON at
    most and compress 6-10:1; a file past a limit is named in the coverage, not read."""

    max_json_bytes: int = 1 << 30  # a file's JSON after gunzip (and its gzip bytes)
    max_ratio: int = 200  # JSON bytes per gzip byte (deflate tops out at ~1032:1) ...
    ratio_floor: int = 16 * MiB  # ... counted only past this much JSON
    max_record_bytes: int = 64 * MiB  # one record handed to DuckDB (its reader: 128 MiB)
    max_depth: int = 64  # nesting of one record handed to DuckDB (its reader: 128)


def _size(n: int) -> str:
    return f"{n / (1 << 30):g} GiB" if n >= 1 << 30 else f"{n / MiB:g} MiB"


def gunzip(raw: bytes, limits: Limits = Limits()) -> bytes:
    """The JSON of a gzip file (every member), never more than the limits allow. Inflate
    runs in steps of at most `ratio_floor` bytes of output: a real log file takes one step
    (one isal call, ~25% faster than igzip.decompress's reader); past the first step the
    ratio of output to gzip bytes consumed so far is checked after each, so a gzip bomb
    costs about `ratio_floor` of memory. Raises Unusable past a limit or for bytes that are
    not gzip, EOFError/ValueError for a damaged stream."""
    if raw[:2] != GZIP_MAGIC:
        raise Unusable("not gzip (does not start with the bytes 1f 8b)")
    step = max(1, min(limits.ratio_floor, limits.max_json_bytes + 1))
    parts: list[bytes] = []
    total = 0
    rest = raw
    while True:  # one gzip member per round
        d = isal_zlib.decompressobj(wbits=31)
        buf = rest
        while True:
            out = d.decompress(buf, step)
            total += len(out)
            parts.append(out)
            if total > limits.max_json_bytes:
                raise Unusable(
                    f"stopped reading: more than {_size(limits.max_json_bytes)} "
                    "of JSON (the size limit)"
                )
            buf = d.unconsumed_tail
            consumed = len(raw) - len(buf) - len(d.unused_data)
            if total > limits.ratio_floor and total > consumed * limits.max_ratio:
                raise Unusable(
                    f"stopped reading: expands more than {limits.max_ratio}:1 past "
                    f"{_size(limits.ratio_floor)} (the compression-ratio limit: "
                    "a gzip bomb?)"
                )
            if d.eof:
                break
            if not buf and len(out) < step:
                raise EOFError("Compressed file ended before the end-of-stream marker was reached")
        rest = d.unused_data
        if not rest or not rest.strip(b"\x00"):
            break
        if rest[:2] != GZIP_MAGIC:
            raise ValueError("bytes after the gzip stream that are not gzip")
    return parts[0] if len(parts) == 1 else b"".join(parts)


# -- substring search -------------------------------------------------------------------


def _load_memmem() -> Any:
    """The C library's memmem: about 3x faster than bytes.find for needles of 10-20
    bytes in JSON (glibc's two-way search with SIMD). None where there is none."""
    try:
        name = ctypes.util.find_library("c")
        fn = ctypes.CDLL(name).memmem if name else None
    except (OSError, AttributeError):
        return None
    if fn is not None:
        fn.restype = ctypes.c_void_p
        fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
    return fn


_MEMMEM = _load_memmem()


def positions(data: bytes, needle: bytes, start: int = 0, limit: int | None = None) -> list[int]:
    """Every offset >= start at which needle occurs (overlaps included), in order; only
    the first `limit` of them when given."""
    out: list[int] = []
    if _MEMMEM is None:
        pos = data.find(needle, start)
        while pos >= 0 and (limit is None or len(out) < limit):
            out.append(pos)
            pos = data.find(needle, pos + 1)
        return out
    holder = ctypes.c_char_p(data)  # points at the bytes' own buffer: no copy
    base = ctypes.cast(holder, ctypes.c_void_p).value or 0
    end, m = len(data), len(needle)
    off = start
    while off <= end - m:
        hit = _MEMMEM(base + off, end - off, needle, m)
        if not hit:
            break
        out.append(hit - base)
        if limit is not None and len(out) >= limit:
            break
        off = hit - base + 1
    return out


def contains(data: bytes, needle: bytes) -> bool:
    if _MEMMEM is None or len(data) < len(needle):
        return needle in data
    holder = ctypes.c_char_p(data)
    base = ctypes.cast(holder, ctypes.c_void_p).value or 0
    return bool(_MEMMEM(base, len(data), needle, len(needle)))


# -- the top-level records ---------------------------------------------------------------


class _RecordsFile(msgspec.Struct):
    Records: list[msgspec.Raw]


_DECODE_RECORDS = msgspec.json.Decoder(_RecordsFile).decode
_COMPACT_HEAD = b'{"Records":['
HEAD_LEN = len(_COMPACT_HEAD)  # where a compact file's first record starts


@dataclass(frozen=True)
class RecordIndex:
    """The elements of a file's top-level Records array, each as its own bytes, found by a
    full, validating parse that builds no Python object for a field (msgspec, C speed).
    A nested object that mimics a record start (`{"eventVersion":` inside a caller's
    requestParameters) is never taken for a record: the parser knows the nesting.
    `offsets`: where each record starts in the text, when the file is laid out as AWS
    writes it (`{"Records":[` then records joined by single commas); None otherwise."""

    data: bytes
    records: list[msgspec.Raw]
    offsets: list[int] | None

    def __len__(self) -> int:
        return len(self.records)

    def record(self, i: int) -> bytes:
        """The bytes of record i."""
        if self.offsets is None:
            return bytes(self.records[i])
        start = self.offsets[i]
        return self.data[start : start + len(self.records[i])]

    def all_objects(self) -> bool:
        """Whether every record is a JSON object (C speed where the offsets are known)."""
        if not self.records:
            return True
        if self.offsets is not None:
            if len(self.offsets) == 1:
                return self.data[self.offsets[0]] == 0x7B
            firsts: tuple[int, ...] = operator.itemgetter(*self.offsets)(self.data)
            return firsts.count(0x7B) == len(firsts)
        return all(bytes(r).startswith(b"{") for r in self.records)

    def holding(
        self, needles: tuple[bytes, ...], hits: list[list[int]] | None = None
    ) -> Iterator[tuple[int, bytes, int]]:
        """(index, bytes, mask) of each record holding one of the needles, in order; bit j
        of mask is set when the record holds needles[j]. `hits`: every position of each
        needle past the head, when already found."""
        if self.offsets is None:
            for i, r in enumerate(self.records):
                b = bytes(r)
                mask = 0
                for j, n in enumerate(needles):
                    if n in b:
                        mask |= 1 << j
                if mask:
                    yield i, b, mask
            return
        offsets, records, data = self.offsets, self.records, self.data
        found: dict[int, int] = {}
        for j, needle in enumerate(needles):
            bit = 1 << j
            last = -1
            at = positions(data, needle, HEAD_LEN) if hits is None else hits[j]
            for pos in at:
                i = bisect.bisect_right(offsets, pos) - 1
                if i == last:
                    continue
                if pos + len(needle) > offsets[i] + len(records[i]):  # between records
                    continue
                last = i
                found[i] = found.get(i, 0) | bit
        for i in sorted(found):
            yield i, self.record(i), found[i]


def record_index(data: bytes) -> RecordIndex | None:
    """The records of a `{"Records": [...]}` text, or None when the text is not valid JSON
    of that shape (bad syntax, deeper than the parser goes, no Records array): the caller
    then parses it whole, record by record, to name what is wrong.

    The offsets are computed from the records' lengths: in a valid text that starts with
    `{"Records":[` and whose records' lengths, one comma between each, and the closing
    `]}` add up to the whole text, every separator is exactly one comma (JSON requires
    one), so each record starts where the sum says. Any other layout has no offsets."""
    try:
        records = _DECODE_RECORDS(data).Records
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    offsets: list[int] | None = None
    if data.startswith(_COMPACT_HEAD):
        # start of record i: the head, the lengths of the records before it, i commas
        offs = list(
            map(
                operator.add,
                itertools.accumulate(map(len, records), initial=HEAD_LEN),
                range(len(records) + 1),
            )
        )
        end = offs.pop() - (1 if records else 0)
        if data[end:].rstrip() == b"]}":
            offsets = offs
    return RecordIndex(data, records, offsets)


# -- parsing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BadRecord:
    """An element of the Records array that does not parse on its own."""

    reason: str


def lenient_loads(data: bytes) -> object | None:
    """JSON that orjson refuses for an escaped lone surrogate ("\\ud800") or for bytes that
    are not UTF-8: a caller can put either in the text it sends, and one such record must
    not hide every attempt in its file (Athena's reader accepts it). Each lone surrogate
    and each invalid byte becomes U+FFFD. None when it does not parse at all."""
    import json

    try:
        return _no_lone_surrogates(json.loads(data.decode("utf-8", "replace")))
    except (ValueError, RecursionError):
        return None


def _no_lone_surrogates(v: object) -> object:
    if isinstance(v, str):
        return v.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(v, list):
        return [_no_lone_surrogates(x) for x in v]
    if isinstance(v, dict):
        return {_no_lone_surrogates(k): _no_lone_surrogates(x) for k, x in v.items()}
    return v


def loads_one(text: bytes) -> object:
    """One JSON value, leniently where orjson refuses caller text; BadRecord if unusable."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if "surrogate" in str(exc) or "utf-8" in str(exc).lower():
            doc = lenient_loads(text)
            if doc is not None:
                return doc
        return BadRecord(f"not usable JSON ({str(exc)[:120]})")


_HEAD = re.compile(rb'\s*\{\s*"Records"\s*:\s*\[\s*')
_WS = re.compile(rb"\s*")
_STRUCT = re.compile(rb'[{}\[\]"]')
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_SCALAR = re.compile(rb"[^,\]\s]+")


def _value_end(data: bytes, i: int) -> int | None:
    """End offset of the JSON value starting at data[i] (brackets counted outside strings,
    no recursion), or None when the text breaks off or is not JSON-shaped."""
    c = data[i : i + 1]
    if c == b'"':
        m = _JSON_STRING.match(data, i)
        return m.end() if m else None
    if c not in (b"{", b"["):
        m = _SCALAR.match(data, i)
        return m.end() if m else None
    depth, pos = 0, i
    while True:
        m = _STRUCT.search(data, pos)
        if m is None:
            return None
        ch = data[m.start()]
        if ch == 0x22:  # a string: skip it whole
            s = _JSON_STRING.match(data, m.start())
            if s is None:
                return None
            pos = s.end()
            continue
        depth += 1 if ch in (0x7B, 0x5B) else -1
        pos = m.end()
        if depth == 0:
            return pos
        if depth < 0:
            return None


def records_one_by_one(data: bytes) -> list[object] | None:
    """The elements of a `{"Records": [...]}` text parsed one at a time, an element that
    does not parse (too deep, not JSON) as a BadRecord; None when the text itself is not
    shaped so (cut short, another object)."""
    m = _HEAD.match(data)
    if m is None:
        return None
    out: list[object] = []
    pos = m.end()
    if data[pos : pos + 1] == b"]":
        pos += 1
    else:
        while True:
            end = _value_end(data, pos)
            if end is None:
                return None
            out.append(loads_one(data[pos:end]))
            pos = _WS.match(data, end).end()  # type: ignore[union-attr]
            sep = data[pos : pos + 1]
            pos = _WS.match(data, pos + 1).end()  # type: ignore[union-attr]
            if sep == b"]":
                break
            if sep != b",":
                return None
    return out if re.fullmatch(rb"\s*\}\s*", data[pos:]) else None
