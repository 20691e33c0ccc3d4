"""The fast path's prefilter tests are code made for the queries (limited._compile): for
any record and any prefilters they must answer as the plain reading of a prefilter does
(every exact field holds one of its values, every contains field one of its substrings,
a missing field holds nothing)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.engines.limited import _compile

FIELDS = ("eventSource", "eventName", "errorCode")
WORDS = ("a", "ab", "b", "AccessDenied", "x'y", 'q"', "\\", "")


def plain(rec: Any, exact: dict[str, frozenset[str]], contains: dict[str, tuple[str, ...]]) -> bool:
    for k, vals in exact.items():
        v = getattr(rec, k)
        if v is None or v not in vals:
            return False
    for k, subs in contains.items():
        v = getattr(rec, k)
        if v is None or not any(s in v for s in subs):
            return False
    return True


words = st.sampled_from(WORDS)
value = st.one_of(st.none(), words, st.builds(lambda a, b: a + b, words, words))
a_record = st.builds(
    lambda vs: SimpleNamespace(**dict(zip(FIELDS, vs))), st.tuples(value, value, value)
)
exact = st.dictionaries(st.sampled_from(FIELDS), st.frozensets(words, max_size=3), max_size=2)
contains = st.dictionaries(
    st.sampled_from(FIELDS), st.tuples(words) | st.tuples(words, words), max_size=2
)
prefilters = st.lists(st.tuples(exact, contains), max_size=3)


@settings(max_examples=300, deadline=None)
@given(recs=st.lists(a_record, max_size=8), mine=prefilters, theirs=prefilters)
def test_compiled_tests_answer_as_the_prefilters_read(
    recs: list[Any], mine: list[Any], theirs: list[Any]
) -> None:
    meets, select = _compile(tuple(mine), tuple(theirs))
    want_rows = []
    want_whole = []
    for i, r in enumerate(recs):
        expected = [plain(r, ex, sub) for ex, sub in mine]
        assert meets(r) == expected
        if any(plain(r, ex, sub) for ex, sub in theirs):
            want_whole.append(i)
        elif any(expected):
            want_rows.append((r, expected))
    rows, whole = select(recs)
    assert whole == want_whole
    assert [(id(r), m) for r, m in rows] == [(id(r), m) for r, m in want_rows]


def test_a_field_that_is_not_a_name_is_refused() -> None:
    with pytest.raises(ValueError, match="no fast path"):
        _compile((({"error Code": frozenset({"x"})}, {}),), ())
