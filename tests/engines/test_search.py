"""The prefilter's byte search (the C library's memmem through ctypes, else bytes.find)
must find exactly what bytes.find finds: a missed needle is a missed attempt."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.engines import prefilter

alphabet = st.sampled_from([b"a", b"b", b"{", b'"', b"ab", b"\x00", b"\xff"])
chunks = st.lists(alphabet, max_size=60).map(b"".join)


def naive(data: bytes, needle: bytes, start: int) -> list[int]:
    return [i for i in range(start, len(data) - len(needle) + 1) if data.startswith(needle, i)]


@settings(max_examples=300, deadline=None)
@given(data=chunks, needle=chunks.filter(bool), start=st.integers(0, 70))
def test_positions_and_contains_match_a_plain_scan(data: bytes, needle: bytes, start: int):
    assert prefilter.positions(data, needle, start) == naive(data, needle, start)
    assert prefilter.contains(data, needle) == (needle in data)


def test_memmem_is_used_where_the_c_library_has_it():
    import sys

    if sys.platform.startswith("linux"):
        assert prefilter._MEMMEM is not None


def test_the_fallback_finds_the_same(monkeypatch):
    data = b'{"Records":[{"errorCode":"x"},{"errorCode":"y"}]}'
    fast = prefilter.positions(data, b'"errorCode"')
    monkeypatch.setattr(prefilter, "_MEMMEM", None)
    assert prefilter.positions(data, b'"errorCode"') == fast == [13, 31]
    assert prefilter.contains(data, b"Records") and not prefilter.contains(data, b"nope")
