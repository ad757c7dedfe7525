"""Property tests: line assembly and eventlog decoding do not depend on chunking.

The real fixtures' data events are re-cut at arbitrary points and fed in an
arbitrary interleaving of tasks; the lines of every (stream, rank) must be
exactly those of its concatenated bytes split on b"\\n".
"""

from __future__ import annotations

import itertools
import json
import lzma
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluxout.eventlog import (
    MAX_EVENT_RANKS,
    STREAMS,
    Data,
    Header,
    LineSplitter,
    Log,
    OutputDecoder,
    Problem,
    Redirect,
    iter_lines,
)
from fluxout.idset import IdSet, IdsetError, parse_idset
from fluxout.lines import Line, LineAssembler

FIXTURES = Path(__file__).parent / "data" / "fixtures"
CASES = [
    "unbuffered-partial",
    "stderr-interleaved",
    "utf8-and-escapes",
    "binary",
    "hello",
    "no-trailing-newline",
]

Key = tuple[str, int]


def read_fixture(path: Path) -> bytes:
    """A fixture file; files over 256 KiB are stored as NAME.xz."""
    if path.exists():
        return path.read_bytes()
    with lzma.open(path.with_name(path.name + ".xz")) as f:
        return f.read()


@cache
def fixture_streams(case: str) -> dict[Key, bytes]:
    """Each (stream, rank)'s bytes, decoded from the case's output eventlog."""
    problems: list[Problem] = []
    raw = read_fixture(FIXTURES / case / "output.eventlog")
    streams: dict[Key, bytes] = {}
    records = list(OutputDecoder(problems.append).decode(iter_lines([raw])))
    assert problems == []
    for record in records:
        if isinstance(record, Data):
            for rank in record.ranks:
                key = (record.stream, rank)
                streams[key] = streams.get(key, b"") + record.data
    return streams


def split_lines(data: bytes) -> list[tuple[bytes, bool]]:
    """The oracle: (text, eol) per line of a byte string."""
    parts = data.split(b"\n")
    tail = parts.pop()
    lines = [(part, True) for part in parts]
    if tail:
        lines.append((tail, False))
    return lines


def first_byte_times(
    lines: Sequence[tuple[bytes, bool]], pieces: Sequence[tuple[float, int, int]]
) -> list[float]:
    """The timestamp of the piece holding each line's first byte.

    ``pieces`` are (timestamp, start, end) byte offsets in the stream.
    """
    times = []
    offset = 0
    for text, _eol in lines:
        times.append(next(ts for ts, lo, hi in pieces if lo <= offset < hi))
        offset += len(text) + 1
    return times


def cut(data: bytes, points: Iterable[int]) -> list[tuple[int, int]]:
    """(start, end) of the pieces of data cut at points (empty pieces kept)."""
    bounds = [0, *sorted(min(p, len(data)) for p in points), len(data)]
    return list(itertools.pairwise(bounds))


def assemble(
    data: st.DataObject, streams: dict[Key, bytes], max_cuts: int = 30
) -> tuple[dict[Key, list[Line]], dict[Key, list[tuple[float, int, int]]]]:
    """Feed streams re-cut and interleaved as drawn; lines and pieces per key."""
    pieces: dict[Key, list[tuple[int, int]]] = {}
    for key in sorted(streams):
        n = len(streams[key])
        points = data.draw(st.lists(st.integers(0, n), max_size=max_cuts), label=str(key))
        pieces[key] = cut(streams[key], points)
    order = data.draw(st.permutations([k for k in sorted(pieces) for _ in pieces[k]]))
    asm = LineAssembler()
    got: dict[Key, list[Line]] = {key: [] for key in streams}
    fed: dict[Key, list[tuple[float, int, int]]] = {key: [] for key in streams}
    next_piece = dict.fromkeys(pieces, 0)
    for i, key in enumerate(order):
        lo, hi = pieces[key][next_piece[key]]
        next_piece[key] += 1
        ts = float(i)
        fed[key].append((ts, lo, hi))
        stream, rank = key
        for line in asm.feed(ts, stream, [rank], streams[key][lo:hi]):
            assert (line.stream, line.rank) in got
            got[(line.stream, line.rank)].append(line)
    for stream, rank in sorted(streams):
        last = asm.end(stream, rank)
        if last is not None:
            got[(stream, rank)].append(last)
    assert asm.pending_bytes() == 0
    return got, fed


def check_lines(
    streams: dict[Key, bytes],
    got: dict[Key, list[Line]],
    fed: dict[Key, list[tuple[float, int, int]]],
) -> None:
    for key, data in streams.items():
        expected = split_lines(data)
        lines = got[key]
        assert [(ln.text, ln.eol) for ln in lines] == expected, key
        assert [ln.timestamp for ln in lines] == first_byte_times(expected, fed[key])
        assert all((ln.stream, ln.rank) == key for ln in lines)


# --- the fixtures --------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_fixture_streams_match_expected(case: str) -> None:
    """Sanity of the oracle's input: decoded bytes are what the tasks wrote."""
    streams = fixture_streams(case)
    assert streams
    for (stream, rank), data in streams.items():
        assert data == read_fixture(FIXTURES / case / "expected" / f"{stream}.{rank}")


@pytest.mark.parametrize("case", CASES)
def test_fixture_events_as_captured(case: str) -> None:
    """The real event boundaries give the oracle's lines too."""
    problems: list[Problem] = []
    raw = read_fixture(FIXTURES / case / "output.eventlog")
    asm = LineAssembler()
    got: dict[Key, list[Line]] = {}
    for record in OutputDecoder(problems.append).decode(iter_lines([raw])):
        if isinstance(record, Data):
            for line in asm.feed(record.timestamp, record.stream, record.ranks, record.data):
                got.setdefault((line.stream, line.rank), []).append(line)
    for line in asm.end_all():
        got.setdefault((line.stream, line.rank), []).append(line)
    streams = fixture_streams(case)
    for key, data in streams.items():
        assert [(ln.text, ln.eol) for ln in got.get(key, [])] == split_lines(data)
    assert set(got) <= set(streams)


@pytest.mark.parametrize("case", CASES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_fixture_rechunked(case: str, data: st.DataObject) -> None:
    streams = fixture_streams(case)
    got, fed = assemble(data, streams)
    check_lines(streams, got, fed)


# --- arbitrary bytes -----------------------------------------------------------

# Plain binary() seldom holds a newline; mix in strings made of line ends.
chunky_bytes = st.one_of(
    st.binary(max_size=300),
    st.lists(
        st.sampled_from([b"\n", b"\n\n", b"\r\n", b"x", b" ", b"\t", b"\x00", b"\xff", b"\xc3"])
        | st.binary(max_size=6),
        max_size=40,
    ).map(b"".join),
)
stream_keys = st.tuples(st.sampled_from(STREAMS), st.integers(0, 4))


@settings(max_examples=300)
@given(streams=st.dictionaries(stream_keys, chunky_bytes, max_size=6), data=st.data())
def test_arbitrary_bytes_rechunked(streams: dict[Key, bytes], data: st.DataObject) -> None:
    got, fed = assemble(data, streams)
    check_lines(streams, got, fed)


@settings(max_examples=200)
@given(shared=chunky_bytes, own=chunky_bytes, data=st.data())
def test_multi_rank_events_rechunked(shared: bytes, own: bytes, data: st.DataObject) -> None:
    """Bytes for ranks [0-2] in multi-rank events, rank 3 in between."""
    shared_cuts = cut(shared, data.draw(st.lists(st.integers(0, len(shared)))))
    own_cuts = cut(own, data.draw(st.lists(st.integers(0, len(own)))))
    order = data.draw(st.permutations(["s"] * len(shared_cuts) + ["o"] * len(own_cuts)))
    ranks = parse_idset("[0-2]")
    asm = LineAssembler()
    got: dict[int, list[Line]] = {rank: [] for rank in range(4)}
    it_shared, it_own = iter(shared_cuts), iter(own_cuts)
    for ts, which in enumerate(order):
        if which == "s":
            lo, hi = next(it_shared)
            lines = asm.feed(float(ts), "stdout", ranks, shared[lo:hi])
        else:
            lo, hi = next(it_own)
            lines = asm.feed(float(ts), "stdout", [3], own[lo:hi])
        for line in lines:
            got[line.rank].append(line)
    for line in asm.end_all():
        got[line.rank].append(line)
    for rank in range(3):
        assert [(ln.text, ln.eol) for ln in got[rank]] == split_lines(shared)
    assert [(ln.text, ln.eol) for ln in got[3]] == split_lines(own)


# --- LineSplitter / iter_lines -------------------------------------------------


def numbered(data: bytes) -> list[tuple[int, bytes]]:
    return list(enumerate((text for text, _ in split_lines(data)), start=1))


@settings(max_examples=300)
@given(data=chunky_bytes, cuts=st.lists(st.integers(0, 400), max_size=20))
def test_iter_lines_any_chunking(data: bytes, cuts: list[int]) -> None:
    chunks = [data[lo:hi] for lo, hi in cut(data, cuts)]
    assert list(iter_lines(chunks)) == numbered(data)


@settings(max_examples=200)
@given(data=chunky_bytes, cuts=st.lists(st.integers(0, 400), max_size=20))
def test_line_splitter_feed_and_end(data: bytes, cuts: list[int]) -> None:
    splitter = LineSplitter()
    out: list[tuple[int, bytes]] = []
    for lo, hi in cut(data, cuts):
        out.extend(splitter.feed(data[lo:hi]))
        assert splitter.lineno == len(out)
    out.extend(splitter.end())
    assert out == numbered(data)
    assert splitter.end() == []


# --- OutputDecoder never raises ------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
rank_texts = st.sampled_from(
    [
        *("0", "1", "[0-1]", "0-3", "", "[]", "3-1", "all", "01", "4294967295"),
        # MAX_EVENT_RANKS is 2**20: the first fits, the others do not.
        *("[0-1048575]", "[0-1048576]", "0-4294967294"),
    ]
)
contexts = st.fixed_dictionaries(
    {},
    optional={
        "stream": st.sampled_from(["stdout", "stderr", "stdin"]) | json_values,
        "rank": rank_texts | json_values,
        "data": st.text(max_size=20)
        | st.sampled_from(["aGVsbG8K", "aGVsbG8", "!!", "w6k="])
        | json_values,
        "encoding": st.sampled_from(["base64", "UTF-8", "utf-8", "latin1"]) | json_values,
        "eof": st.booleans() | json_values,
        "version": st.sampled_from([1, 2]) | json_values,
        "encoding_map": json_values,
        "count": json_values,
        "options": json_values,
        "path": json_values,
        "level": st.integers(0, 7) | json_values,
        "message": st.text(max_size=10) | json_values,
        "component": json_values,
        "file": json_values,
        "line": json_values,
    },
)
events = st.fixed_dictionaries(
    {},
    optional={
        "timestamp": st.floats(1e9, 2e9) | json_values,
        "name": st.sampled_from(["header", "data", "redirect", "log", "other", "x"]) | json_values,
        "context": contexts | json_values,
    },
)


def dump(obj: Any) -> bytes:
    # stdlib json: writes NaN/Infinity and big ints, which orjson rejects.
    return json.dumps(obj).encode()


event_lines = st.one_of(
    events.map(dump),
    events.map(dump).flatmap(lambda b: st.integers(0, len(b)).map(lambda n: b[:n])),
    st.binary(max_size=60),
    st.sampled_from([b"", b"   ", b"[]", b"null", b"{}", b'"data"', b"{\xff}"]),
)
HEADER = orjson.dumps(
    {
        "timestamp": 1.5e9,
        "name": "header",
        "context": {
            "version": 1,
            "encoding": {"stdout": "UTF-8", "stderr": "UTF-8"},
            "count": {"stdout": 1, "stderr": 1},
            "options": {},
        },
    }
)


def unknown_name(line: bytes) -> str | None:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if isinstance(obj, dict) and isinstance(obj.get("name"), str):
        name: str = obj["name"]
        if name not in ("header", "data", "redirect", "log"):
            return name
    return None


def is_not_json(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return bool(line.strip())
    return False


def is_entry(line: bytes) -> bool:
    """An RFC 18 entry, as far as its timestamp, name and context go."""
    obj = orjson.loads(line)
    if not isinstance(obj, dict):
        return False
    ts, name = obj.get("timestamp"), obj.get("name")
    return (
        isinstance(ts, (int, float))
        and not isinstance(ts, bool)
        and isinstance(name, str)
        and bool(name)
        and isinstance(obj.get("context", {}), dict)
    )


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(with_header=st.booleans(), lines=st.lists(event_lines, max_size=15))
def test_decoder_never_raises(with_header: bool, lines: list[bytes]) -> None:
    if with_header:
        lines = [HEADER, *lines]
    problems: list[Problem] = []
    decoder = OutputDecoder(problems.append)
    seen_names: set[str] = set()
    told_not_json = False  # before a first entry, lines not JSON are told once
    entry_seen = False
    for lineno, line in enumerate(lines, start=1):
        before = len(problems)
        records = list(decoder.decode([(lineno, line)]))
        assert len(records) <= 1
        new = problems[before:]
        for problem in new:
            assert problem.lineno == lineno
            assert problem.severity in ("error", "warning")
            assert isinstance(problem.message, str)
            assert problem.message
        for record in records:
            assert isinstance(record, (Header, Data, Redirect, Log))
            if isinstance(record, (Data, Redirect)):
                assert record.stream in STREAMS
                assert isinstance(record.ranks, IdSet)
                assert record.ranks
                assert record.ranks == parse_idset(record.rank)
            if isinstance(record, Data):
                assert isinstance(record.data, bytes)
        if not line.strip():
            assert records == []
            assert new == []
        name = unknown_name(line)
        not_json = is_not_json(line)
        if not records and not new:
            # Silently skipped: a blank line, an unknown event name that was
            # reported once already, or a line that is not JSON after the
            # first such was told, before any entry.
            assert (
                not line.strip()
                or (name is not None and name in seen_names)
                or (not_json and told_not_json and not entry_seen)
            )
        if name is not None:
            seen_names.add(name)
        if not_json and new and not entry_seen:
            told_not_json = True
        if line.strip() and not not_json and is_entry(line):
            entry_seen = True


@settings(max_examples=300)
@given(
    stream=st.sampled_from(STREAMS),
    rank=rank_texts,
    text=st.text(max_size=30),
    eof=st.sampled_from([None, True, False, 1]),
    ts=st.floats(1e9, 2e9),
)
def test_decoder_data_event(stream: str, rank: str, text: str, eof: Any, ts: float) -> None:
    """A data event decodes the same before the header (checked field by
    field) and after it (where well-formed events take a fast path)."""
    context: dict[str, Any] = {"stream": stream, "rank": rank, "data": text}
    if eof is not None:
        context["eof"] = eof
    line = orjson.dumps({"timestamp": ts, "name": "data", "context": context})
    problems: list[Problem] = []
    # A job as large as one event may name: every rank is one of its tasks.
    wide = HEADER.replace(
        b'"stdout":1,"stderr":1', b'"stdout":%d,"stderr":%d' % ((MAX_EVENT_RANKS,) * 2)
    )
    assert wide != HEADER
    records = list(OutputDecoder(problems.append).decode([(1, line), (2, wide), (3, line)]))
    try:
        ranks = parse_idset(rank)
    except IdsetError:
        ranks = IdSet()
    if ranks and len(ranks) <= MAX_EVENT_RANKS:
        expected = Data(ts, stream, rank, ranks, text.encode(), eof is True)
        assert records[0] == records[2] == expected
        assert isinstance(records[1], Header)
        # Only the "data before the header" warning.
        assert [(p.lineno, p.severity) for p in problems] == [(1, "warning")]
    else:
        assert len(records) == 1
        assert isinstance(records[0], Header)
        assert [(p.lineno, p.severity) for p in problems] == [
            (1, "error"),
            (3, "error"),
        ]
        assert all(rank in p.message or repr(rank) in p.message for p in problems)
