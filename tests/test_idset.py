"""RFC 22 idsets: fluxout.idset against the RFC and flux-core's libidset."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fluxout.idset import (
    MAX_ID,
    IdSet,
    IdsetError,
    parse_idset,
    parse_rank,
    parse_task_filter,
)


def runs(ids: set[int]) -> str:
    """An independent RFC 22 encoder for tests: "1,7-9" style, no brackets."""
    out: list[str] = []
    ordered = sorted(ids)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        lo, hi = ordered[i], ordered[j]
        out.append(str(lo) if lo == hi else f"{lo}-{hi}")
        i = j + 1
    return ",".join(out)


# --- accepted forms ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("3", {3}),
        ("0", {0}),
        ("[0-3]", {0, 1, 2, 3}),
        ("0-3", {0, 1, 2, 3}),
        ("0,2-5", {0, 2, 3, 4, 5}),
        ("[0,2-5]", {0, 2, 3, 4, 5}),
        ("[7]", {7}),
        ("", set()),
        ("[]", set()),
    ],
)
def test_parse_rfc22_forms(text: str, ids: set[int]) -> None:
    parsed = parse_idset(text)
    assert set(parsed) == ids
    assert len(parsed) == len(ids)
    assert bool(parsed) == bool(ids)


# Vectors from flux-core v0.88.0 src/common/libidset/test/idset.c
# (test_inputs[]: idset_decode() then idset_encode() with
# IDSET_FLAG_RANGE | IDSET_FLAG_BRACKETS, which is what format() mimics).
FLUX_CORE_ACCEPT = [
    ("2", "2"),
    ("7-9", "[7-9]"),
    ("1,7-9", "[1,7-9]"),
    ("1,7-9,16", "[1,7-9,16]"),
    ("1,7-9,14,16", "[1,7-9,14,16]"),
    ("1-3,7-9,14,16", "[1-3,7-9,14,16]"),
    ("2,3,4,5", "[2-5]"),
    ("", ""),
    ("1048576", "1048576"),
    ("[2]", "2"),
    ("[7-9]", "[7-9]"),
    ("[2,3,4,5]", "[2-5]"),
    ("[0]", "0"),
    ("[]", ""),
]

# Expected failures from the same test_inputs[] table (flux-core v0.88.0
# src/common/libidset/test/idset.c), all EINVAL in idset_decode().
FLUX_CORE_REJECT = [
    "4.2",
    "x",
    "1-2x",
    "01,2",
    "00",
    "3,2",
    "3-0",
    "2,2,2,2",
    "[0",
    "0]",
    "[[0]]",
    "[[0,2]",
    "[0,2]]",
    "0,[2",
    "0]2",
    "0-",
    "[0-]",
    "-5",
    "[-5]",
]


@pytest.mark.parametrize(("text", "encoded"), FLUX_CORE_ACCEPT)
def test_flux_core_accept_vectors(text: str, encoded: str) -> None:
    assert parse_idset(text).format() == encoded


@pytest.mark.parametrize("text", FLUX_CORE_REJECT)
def test_flux_core_reject_vectors(text: str) -> None:
    with pytest.raises(IdsetError):
        parse_idset(text)


# --- rejected forms ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "3-1",  # descending range
        "1-1",  # flux-core parse_range(): hi must be > lo
        "01",  # leading zero
        "-1",  # sign
        "a",
        "[0-3",  # unbalanced
        "0-3]",
        "1,1",  # repeated id
        "2,1",  # out of order
        "0-3,2",  # overlap
        "4294967295",  # over MAX_ID
        "0-4294967295",
        "1 2",
        "+1",
        "0x1",
        "٣",  # Arabic-Indic digit three: str.isdigit() but not RFC 22
    ],
)
def test_reject_names_input(text: str) -> None:
    with pytest.raises(IdsetError) as info:
        parse_idset(text)
    assert text in str(info.value)
    assert isinstance(info.value, ValueError)


def test_max_id_boundary() -> None:
    assert MAX_ID == 2**32 - 2
    assert set(parse_idset(str(MAX_ID))) == {MAX_ID}
    with pytest.raises(IdsetError):
        parse_idset(str(MAX_ID + 1))


def test_huge_range_is_not_expanded() -> None:
    start = time.perf_counter()
    huge = parse_idset("0-4294967294")
    assert len(huge) == 2**32 - 1
    assert huge.first == 0
    assert huge.last == 4294967294
    assert 4294967294 in huge
    assert 4294967295 not in huge
    assert huge.format() == "[0-4294967294]"
    assert set(huge.intersect(parse_idset("5,9-10"))) == {5, 9, 10}
    assert huge.union(parse_idset("3")) == huge
    assert hash(huge) == hash(parse_idset("[0-4294967294]"))
    # Expanding 4 billion ids would take minutes; range arithmetic is instant.
    assert time.perf_counter() - start < 2.0


# --- format -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("ids", "with_brackets", "without"),
    [
        (set(), "", ""),
        ({4}, "4", "4"),
        ({4, 5}, "[4-5]", "4-5"),
        ({0, 2}, "[0,2]", "0,2"),
        ({0, 2, 3, 4, 5}, "[0,2-5]", "0,2-5"),
    ],
)
def test_format(ids: set[int], with_brackets: str, without: str) -> None:
    idset = IdSet.of(ids)
    assert idset.format() == with_brackets
    assert str(idset) == with_brackets
    assert idset.format(brackets=False) == without


small_sets = st.sets(st.integers(min_value=0, max_value=80), max_size=40)


@given(small_sets)
def test_format_round_trip(ids: set[int]) -> None:
    idset = IdSet.of(ids)
    text = idset.format()
    assert text.startswith("[") == (len(ids) > 1)
    assert text.strip("[]") == runs(ids)
    assert parse_idset(text) == idset
    assert parse_idset(idset.format(brackets=False)) == idset
    assert set(parse_idset(text)) == ids


@given(small_sets, small_sets)
def test_intersect_union_match_python_sets(a: set[int], b: set[int]) -> None:
    ia, ib = IdSet.of(a), IdSet.of(b)
    inter = ia.intersect(ib)
    union = ia.union(ib)
    assert set(inter) == a & b
    assert set(union) == a | b
    assert len(inter) == len(a & b)
    assert len(union) == len(a | b)
    # Results are normalised: equal to the set built directly from the ids.
    assert inter == IdSet.of(a & b)
    assert union == IdSet.of(a | b)
    assert inter.format() == parse_idset(runs(a & b)).format()


@given(small_sets, st.integers(min_value=-2, max_value=90))
def test_contains_matches_python_set(ids: set[int], probe: int) -> None:
    assert (probe in IdSet.of(ids)) == (probe in ids)


@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), max_size=10))
def test_overlapping_ranges_are_merged(spans: list[tuple[int, int]]) -> None:
    ranges = [(lo, lo + width) for lo, width in spans]
    expected: set[int] = set()
    for lo, hi in ranges:
        expected.update(range(lo, hi + 1))
    idset = IdSet(ranges)
    assert set(idset) == expected
    assert idset == IdSet.of(expected)


# --- parse_rank / parse_task_filter -----------------------------------------


def test_parse_rank_is_cached() -> None:
    # Built at run time so the two strings are equal but not the same object.
    first = parse_rank("".join(["[0", "-3]"]))
    second = parse_rank("".join(["[0-", "3]"]))
    assert first is second
    assert set(first) == {0, 1, 2, 3}


def test_parse_rank_rejects_like_parse_idset() -> None:
    with pytest.raises(IdsetError):
        parse_rank("3-1")


@pytest.mark.parametrize("text", ["all", "ALL", "*", " all "])
def test_task_filter_all_is_none(text: str) -> None:
    assert parse_task_filter(text) is None


def test_task_filter_idset() -> None:
    result = parse_task_filter("0,2-3")
    assert result is not None
    assert set(result) == {0, 2, 3}


@pytest.mark.parametrize("text", ["", "[]", "  "])
def test_task_filter_empty_is_error(text: str) -> None:
    with pytest.raises(IdsetError):
        parse_task_filter(text)


@pytest.mark.parametrize("text", ["x", "3-1", "al"])
def test_task_filter_bad(text: str) -> None:
    with pytest.raises(IdsetError) as info:
        parse_task_filter(text)
    assert text in str(info.value)
