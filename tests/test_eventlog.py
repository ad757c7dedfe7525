"""Unit tests of fluxout.eventlog: RFC 18 lines to events, RFC 24 to records."""

from __future__ import annotations

import binascii
import json
import lzma
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fluxout import eventlog
from fluxout.eventlog import (
    MAX_EVENT_RANKS,
    MAX_LINE,
    Data,
    Event,
    EventlogLineError,
    Header,
    LineSplitter,
    Log,
    OutputDecoder,
    OutputRecord,
    OverlongLine,
    Problem,
    Redirect,
    decode_base64,
    decode_events,
    event_ranks,
    iter_lines,
    overlong_line,
    parse_entry,
)
from fluxout.idset import IdSet, IdsetError
from tests.conftest import CASES, FIXTURES

HELLO = (FIXTURES / "hello" / "output.eventlog").read_bytes()
HEADER = HELLO.split(b"\n")[0]


def read_fixture(path: Path) -> bytes:
    """A fixture file, decompressed when it is stored as ``NAME.xz``."""
    if path.is_file():
        return path.read_bytes()
    return lzma.decompress(path.with_name(path.name + ".xz").read_bytes())


def has_fixture(path: Path) -> bool:
    return path.is_file() or path.with_name(path.name + ".xz").is_file()


def numbered(data: bytes) -> list[tuple[int, bytes]]:
    return list(iter_lines([data]))


def decode(
    lines: bytes | list[bytes], decoder: OutputDecoder | None = None
) -> tuple[list[OutputRecord], list[Problem]]:
    """Records and problems of some output eventlog lines."""
    problems: list[Problem] = []
    if decoder is None:
        decoder = OutputDecoder(problems.append)
    else:
        decoder.warn = problems.append
    pairs = numbered(lines) if isinstance(lines, bytes) else list(enumerate(lines, start=1))
    return list(decoder.decode(pairs)), problems


def entry(name: str, context: Any, ts: float = 1795619483.25) -> bytes:
    return orjson.dumps({"timestamp": ts, "name": name, "context": context})


def after_header(*lines: bytes) -> tuple[list[OutputRecord], list[Problem]]:
    """Records (the header left out) of lines that follow hello's header."""
    records, problems = decode([HEADER, *lines])
    assert isinstance(records[0], Header)
    return records[1:], problems


# -- parse_entry --------------------------------------------------------------


def test_parse_entry_valid() -> None:
    line = HELLO.split(b"\n")[1]
    ts, name, context = parse_entry(line)
    assert ts == 1795619482.9910402
    assert name == "data"
    assert context == {
        "stream": "stderr",
        "rank": "1",
        "data": "rank 1: this line went to stderr\n",
    }


def test_parse_entry_accepts_str_int_timestamp_and_no_context() -> None:
    # RFC 18: context is optional (the main eventlog's "validate" has none).
    ts, name, context = parse_entry('{"timestamp": 12, "name": "validate"}')
    assert (ts, name, context) == (12.0, "validate", {})
    assert type(ts) is float


def test_parse_entry_allows_whitespace_around_the_object() -> None:
    assert parse_entry(b' {"timestamp":1.5,"name":"x","context":{}}\r')[1] == "x"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"", "invalid JSON (Input is a zero-length, empty document at column 1)"),
        (b'{"timestamp":1.5,', "invalid JSON (unexpected end of data at column 18)"),
        (b'{"a":1}x', "invalid JSON (unexpected content after document at column 8)"),
        (b'{"a":"\xff"}', "invalid JSON (not UTF-8 at byte 7)"),
        (b"[1, 2]", "not a JSON object but an array"),
        (b'"text"', "not a JSON object but a string"),
        (b"3.5", "not a JSON object but a number"),
        (b"false", "not a JSON object but a boolean"),
        (b"null", "not a JSON object but null"),
        (b'{"name":"x","context":{}}', "missing or non-numeric timestamp"),
        (b'{"timestamp":"1.5","name":"x"}', "missing or non-numeric timestamp"),
        (b'{"timestamp":true,"name":"x"}', "missing or non-numeric timestamp"),
        (b'{"timestamp":1.5,"context":{}}', "missing or non-string name"),
        (b'{"timestamp":1.5,"name":7}', "missing or non-string name"),
        (b'{"timestamp":1.5,"name":""}', "missing or non-string name"),
        (b'{"timestamp":1.5,"name":"x","context":[]}', "context is not an object"),
        (b'{"timestamp":1.5,"name":"x","context":null}', "context is not an object"),
    ],
)
def test_parse_entry_errors(line: bytes, message: str) -> None:
    with pytest.raises(EventlogLineError) as info:
        parse_entry(line)
    assert str(info.value) == message


def test_parse_entry_error_message_is_one_line_without_the_data() -> None:
    line = b'{"timestamp":1.5,"name":"data","context":{"data":"secret\\n' + b"x" * 1000
    with pytest.raises(EventlogLineError) as info:
        parse_entry(line)
    message = str(info.value)
    assert "\n" not in message
    assert "secret" not in message
    assert len(message) < 100


# -- LineSplitter ---------------------------------------------------------------


SAMPLE = b'{"a":1}\n\n{"b":2}\r\n{"c":"long' + b"x" * 300 + b'"}\n{"d":4}'
SAMPLE_LINES = [
    (1, b'{"a":1}'),
    (2, b""),
    (3, b'{"b":2}\r'),
    (4, b'{"c":"long' + b"x" * 300 + b'"}'),
    (5, b'{"d":4}'),
]


def split_with(data: bytes, size: int) -> list[tuple[int, bytes]]:
    splitter = LineSplitter()
    out: list[tuple[int, bytes]] = []
    for i in range(0, len(data), size):
        out.extend(splitter.feed(data[i : i + size]))
    out.extend(splitter.end())
    return out


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 9, 64, 300, 10_000])
def test_line_splitter_any_chunking(size: int) -> None:
    assert split_with(SAMPLE, size) == SAMPLE_LINES


def test_line_splitter_every_cut_of_hello() -> None:
    whole = split_with(HELLO, len(HELLO))
    assert len(whole) == 25
    for cut in range(len(HELLO) + 1):
        splitter = LineSplitter()
        lines = splitter.feed(HELLO[:cut]) + splitter.feed(HELLO[cut:])
        assert lines + splitter.end() == whole


def test_line_splitter_numbers_and_end() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"") == []
    assert splitter.feed(b"ab") == []
    assert splitter.feed(b"c\nde") == [(1, b"abc")]
    assert splitter.feed(b"\n") == [(2, b"de")]
    assert splitter.feed(b"\n\n") == [(3, b""), (4, b"")]
    assert splitter.end() == []  # ends with a newline: no last line
    assert splitter.feed(b"tail") == []
    assert splitter.end() == [(5, b"tail")]
    assert splitter.end() == []
    assert splitter.lineno == 5


def test_line_splitter_long_line_in_many_chunks() -> None:
    line = bytes(range(11, 256)) * 4000  # no newline byte (10) in it
    splitter = LineSplitter()
    for i in range(0, len(line), 1000):
        assert splitter.feed(line[i : i + 1000]) == []
    assert splitter.feed(b"\nnext\n") == [(1, line), (2, b"next")]


def test_line_splitter_drops_overlong_lines() -> None:
    """A line past the limit is dropped as it comes, and reported as it
    passes the limit (its end may never come): memory stays bounded."""
    splitter = LineSplitter(max_line=10)
    out = splitter.feed(b"0123456789\n0123")  # exactly the limit: kept
    assert out == [(1, b"0123456789")]
    assert splitter.feed(b"456789") == []
    out = splitter.feed(b"ABC")  # 13 bytes: over the limit, reported, dropped
    assert [n for n, _ in out] == [2]
    line = out[0][1]
    assert isinstance(line, OverlongLine) and line.more
    assert line.size == 13
    assert splitter._pending == []
    assert splitter.feed(b"x" * 100) == []
    assert splitter._pending == []
    out = splitter.feed(b"yz\nok\n")  # its end: nothing more to say
    assert out == [(3, b"ok")]
    # A whole long line inside one big chunk, and one closed by end().
    out = splitter.feed(b"short\n" + b"L" * 11 + b"\n" + b"T" * 12)
    assert out[0] == (4, b"short")
    assert isinstance(out[1][1], OverlongLine)
    assert out[1][1].size == 11
    assert isinstance(out[2][1], OverlongLine) and out[2][1].more  # the T line
    assert out[2][0] == 6
    assert splitter.end() == []


def test_overlong_line_is_one_problem() -> None:
    splitter = LineSplitter(max_line=1000)
    lines = splitter.feed(HEADER + b"\n" + b"z" * 5000 + b"\n" + HELLO.split(b"\n")[2])
    lines += splitter.end()
    records, problems = decode([line for _, line in lines])
    assert [type(r) for r in records] == [Header, Data]
    assert problems == [Problem(2, "line of 5000 bytes skipped (longer than 1000 bytes)")]
    events_problems: list[Problem] = []
    assert len(list(decode_events(lines, events_problems.append, "output"))) == 2
    assert [p.message for p in events_problems] == [problems[0].message]
    assert MAX_LINE == 256 << 20
    with pytest.raises(EventlogLineError) as info:
        parse_entry(overlong_line(MAX_LINE + 5, MAX_LINE))
    assert str(info.value) == f"line of {MAX_LINE + 5} bytes skipped (longer than 256 MiB)"


def test_iter_lines() -> None:
    assert list(iter_lines([b"a\nb", b"c\n", b"d"])) == [
        (1, b"a"),
        (2, b"bc"),
        (3, b"d"),
    ]
    assert list(iter_lines([])) == []


# -- decode_events (main and exec eventlogs) ------------------------------------


def test_decode_events_main_fixture() -> None:
    problems: list[Problem] = []
    data = (FIXTURES / "exit-code" / "eventlog").read_bytes()
    events = list(decode_events(numbered(data), problems.append))
    assert problems == []
    assert [e.name for e in events][:2] == ["submit", "validate"]
    assert events[1].context == {}
    assert [e.lineno for e in events] == list(range(1, len(events) + 1))
    finish = next(e for e in events if e.name == "finish")
    assert finish.context["status"] == 768


def test_decode_events_skips_blank_and_reports_bad_lines() -> None:
    problems: list[Problem] = []
    lines = [
        (1, b'{"timestamp":1.0,"name":"submit","context":{}}'),
        (2, b""),
        (3, b"   "),
        (4, b"garbage"),
        (5, b'{"timestamp":2.0,"name":"clean"}'),
    ]
    events = list(decode_events(lines, problems.append, "exec"))
    assert events == [
        Event(1.0, "submit", {}, 1),
        Event(2.0, "clean", {}, 5),
    ]
    assert problems == [
        Problem(
            4,
            "invalid JSON (unexpected character, expected a JSON value at column 1)",
            "exec",
        )
    ]
    assert str(problems[0]).startswith("exec eventlog line 4: invalid JSON")


# -- OutputDecoder: each record kind -------------------------------------------


def test_header_record() -> None:
    records, problems = decode(HEADER)
    assert problems == []
    assert records == [
        Header(
            1795619482.7688756,
            1,
            {"stdout": "UTF-8", "stderr": "UTF-8"},
            {"stdout": 4, "stderr": 4},
            {},
        )
    ]


def test_header_fields_of_the_wrong_type_are_emptied() -> None:
    records, problems = decode(
        entry("header", {"version": 1, "encoding": 5, "count": [], "options": "x"})
    )
    assert records == [Header(1795619483.25, 1, {}, {}, {})]
    assert problems == []


def test_second_header_warns_and_keeps_the_first() -> None:
    second = entry("header", {"version": 1, "count": {"stdout": 9}})
    records, problems = decode([HEADER, second])
    assert records[0] is records[1]
    assert isinstance(records[0], Header)
    assert records[0].count == {"stdout": 4, "stderr": 4}
    assert problems == [Problem(2, "a second header (the first one is kept)", severity="warning")]


@pytest.mark.parametrize(("version", "shown"), [(2, "2"), ("1", "'1'"), (None, "None")])
def test_header_of_unknown_version_warns(version: object, shown: str) -> None:
    records, problems = decode(entry("header", {"version": version}))
    assert isinstance(records[0], Header)
    assert records[0].version == (2 if version == 2 else 0)
    assert problems == [Problem(1, f"unknown header version {shown}", severity="warning")]


def test_data_records_of_hello() -> None:
    records, problems = decode(HELLO)
    assert problems == []
    assert isinstance(records[0], Header)
    data = [r for r in records if isinstance(r, Data)]
    assert len(data) == 24
    first = data[0]
    assert first == Data(
        1795619482.9910402,
        "stderr",
        "1",
        IdSet.of([1]),
        b"rank 1: this line went to stderr\n",
        False,
    )
    eofs = [r for r in data if r.eof]
    assert len(eofs) == 8
    assert all(r.data == b"" for r in eofs)


def test_data_utf8_is_encoded_exactly() -> None:
    text = "é \u0000 \U0001f600 \r\n\t\x1b[31m"
    records, problems = after_header(
        entry("data", {"stream": "stdout", "rank": "[0-3]", "data": text})
    )
    assert problems == []
    assert records == [
        Data(1795619483.25, "stdout", "[0-3]", IdSet(((0, 3),)), text.encode(), False)
    ]


def test_data_eof_with_and_without_data() -> None:
    records, problems = after_header(
        entry("data", {"stream": "stderr", "rank": "2", "eof": True}),
        entry("data", {"stream": "stderr", "rank": "2", "data": "x", "eof": True}),
        entry("data", {"stream": "stderr", "rank": "2", "data": "", "eof": 1}),
    )
    assert problems == []
    assert [(r.data, r.eof) for r in records if isinstance(r, Data)] == [
        (b"", True),
        (b"x", True),
        (b"", False),  # only JSON true is an eof
    ]


def test_data_base64() -> None:
    records, problems = after_header(
        entry(
            "data",
            {"stream": "stdout", "rank": "0", "encoding": "base64", "data": "AP/+Cg=="},
        )
    )
    assert problems == []
    assert isinstance(records[0], Data)
    assert records[0].data == b"\x00\xff\xfe\n"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("AP/+Cg=", "length 7 is not a multiple of 4"),
        ("AP/+ Cg=", "a character outside the base64 alphabet"),
        ("AP/+Cg==\n", "a character outside the base64 alphabet"),
        ("A=/+Cg==", "a character outside the base64 alphabet"),
        ("AP/+C===", "a character outside the base64 alphabet"),
        ("AP_-Cg==", "a character outside the base64 alphabet"),  # urlsafe
        ("é===", "a character outside the base64 alphabet"),
    ],
)
def test_data_bad_base64(payload: str, reason: str) -> None:
    records, problems = after_header(
        entry(
            "data",
            {"stream": "stdout", "rank": "0", "encoding": "base64", "data": payload},
        )
    )
    assert records == []
    assert problems == [Problem(2, f"data event: bad base64 data ({reason})")]


def binary_streams(case: str) -> tuple[dict[tuple[str, int], bytes], list[Problem]]:
    """Every task's bytes per (stream, rank), decoded from a fixture."""
    data = read_fixture(FIXTURES / case / "output.eventlog")
    records, problems = decode(data)
    out: dict[tuple[str, int], bytearray] = {}
    for rec in records:
        if isinstance(rec, Data):
            for rank in rec.ranks:
                out.setdefault((rec.stream, rank), bytearray()).extend(rec.data)
    return {key: bytes(value) for key, value in out.items()}, problems


def test_binary_fixture_decodes_to_expected() -> None:
    streams, problems = binary_streams("binary")
    assert problems == []
    expected = FIXTURES / "binary" / "expected"
    assert streams[("stdout", 0)] == (expected / "stdout.0").read_bytes()
    assert streams[("stdout", 1)] == (expected / "stdout.1").read_bytes()
    assert streams[("stderr", 0)] == (expected / "stderr.0").read_bytes()
    # The fixture really holds both encodings.
    text = (FIXTURES / "binary" / "output.eventlog").read_bytes()
    assert b'"encoding":"base64"' in text
    assert b"\\u0000" in text


def fixture_cases_with_data() -> list[str]:
    cases = []
    for case in CASES:
        info = json.loads((FIXTURES / case / "case.json").read_text())
        observed = info.get("observed", {})
        counts = observed.get("output_event_counts", {})
        if observed.get("expected_matches_output_eventlog") and not counts.get("redirect"):
            cases.append(case)
    return cases


@pytest.mark.parametrize("case", fixture_cases_with_data())
def test_every_fixture_decodes_to_its_expected_bytes(case: str) -> None:
    """Real Flux output: no problem reported, every task's bytes exact."""
    streams, problems = binary_streams(case)
    assert problems == []
    expected_dir = FIXTURES / case / "expected"
    names = {p.name.removesuffix(".xz") for p in expected_dir.iterdir()}
    assert names
    for name in sorted(names):
        stream, rank = name.split(".")
        expected = read_fixture(expected_dir / name)
        assert streams.get((stream, int(rank)), b"") == expected, name


def test_redirect_record() -> None:
    records, problems = after_header(
        entry("redirect", {"stream": "stderr", "rank": "[0-1]", "path": "/tmp/e"}),
        entry("redirect", {"stream": "stdout", "rank": "3"}),
    )
    assert problems == []
    assert records == [
        Redirect(1795619483.25, "stderr", "[0-1]", IdSet(((0, 1),)), "/tmp/e"),
        Redirect(1795619483.25, "stdout", "3", IdSet.of([3]), None),
    ]


def test_redirect_fixture() -> None:
    records, problems = decode((FIXTURES / "redirect" / "output.eventlog").read_bytes())
    assert problems == []
    redirects = [r for r in records if isinstance(r, Redirect)]
    assert {r.stream for r in redirects} == {"stdout", "stderr"}
    assert all(r.ranks == IdSet(((0, 1),)) and r.path for r in redirects)


def test_log_record_all_fields() -> None:
    records, problems = after_header(
        entry(
            "log",
            {
                "rank": 1,
                "level": 4,
                "message": "stdout: 16384 of 20480 bytes truncated",
                "component": "output",
                "file": "output.c",
                "line": 321,
            },
        )
    )
    assert problems == []
    assert records == [
        Log(
            1795619483.25,
            1,
            4,
            "stdout: 16384 of 20480 bytes truncated",
            "output",
            "output.c",
            321,
        )
    ]


def test_log_record_optional_fields_missing_or_odd() -> None:
    records, problems = after_header(
        entry("log", {"level": 0, "message": "fatal"}),
        entry(
            "log",
            {
                "level": 7,
                "message": "m",
                "rank": "0",
                "component": 3,
                "file": None,
                "line": True,
            },
        ),
    )
    assert problems == []
    assert records == [
        Log(1795619483.25, None, 0, "fatal"),
        Log(1795619483.25, None, 7, "m"),
    ]


def test_log_fixture() -> None:
    data = (FIXTURES / "shell-log-verbose" / "output.eventlog").read_bytes()
    records, problems = decode(data)
    assert problems == []
    logs = [r for r in records if isinstance(r, Log)]
    assert len(logs) == 17
    assert all(0 <= r.level <= 7 and r.message for r in logs)


@pytest.mark.parametrize(("level", "shown"), [(9, 7), (-1, 0), (1000, 7)])
def test_log_level_out_of_range_is_shown_with_a_warning(level: int, shown: int) -> None:
    records, problems = after_header(entry("log", {"level": level, "message": "m"}))
    assert records == [Log(1795619483.25, None, shown, "m")]
    assert problems == [
        Problem(
            2,
            f"log event: level {level} is not 0-7 (shown as {shown})",
            severity="warning",
        )
    ]


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"level": "info", "message": "m"}, "log event: level 'info' is not an integer"),
        ({"level": True, "message": "m"}, "log event: level True is not an integer"),
        ({"level": 1.5, "message": "m"}, "log event: level 1.5 is not an integer"),
        ({"message": "m"}, "log event: level missing"),
        ({"level": 3}, "log event: message missing or not a string"),
        ({"level": 3, "message": ["m"]}, "log event: message missing or not a string"),
    ],
)
def test_log_errors(context: dict[str, Any], message: str) -> None:
    records, problems = after_header(entry("log", context))
    assert records == []
    assert problems == [Problem(2, message)]


# -- OutputDecoder: bad data and redirect events --------------------------------


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({}, "data event: stream missing"),
        ({"stream": "stdlog", "rank": "0", "data": "x"}, "unknown stream 'stdlog'"),
        ({"stream": 1, "rank": "0", "data": "x"}, "data event: unknown stream 1"),
        ({"stream": "stdout", "data": "x"}, "data event: rank missing"),
        ({"stream": "stdout", "rank": 0, "data": "x"}, "bad rank 0 (not an idset"),
        ({"stream": "stdout", "rank": ["0"], "data": "x"}, "bad rank ['0'] (not an"),
        ({"stream": "stdout", "rank": "", "data": "x"}, "bad rank '' (empty)"),
        ({"stream": "stdout", "rank": "[]", "data": "x"}, "bad rank '[]' (empty)"),
        ({"stream": "stdout", "rank": "5-2", "data": "x"}, "(bad range '5-2')"),
        ({"stream": "stdout", "rank": "a", "data": "x"}, "bad rank 'a' ("),
        ({"stream": "stdout", "rank": "0"}, "data event: neither data nor eof"),
        ({"stream": "stdout", "rank": "0", "data": 4}, "data event: data is a number"),
        ({"stream": "stdout", "rank": "0", "data": None}, "neither data nor eof"),
        (
            {"stream": "stdout", "rank": "0", "data": "x", "encoding": "utf-16"},
            "data event: unknown data encoding 'utf-16'",
        ),
        (
            {"stream": "stdout", "rank": "0-4294967295", "data": "x"},
            "(4294967295 is larger than 4294967294)",
        ),
        (
            {"stream": "stdout", "rank": f"0-{MAX_EVENT_RANKS}", "data": "x"},
            f"(more than {MAX_EVENT_RANKS} tasks in one event)",
        ),
    ],
)
def test_bad_data_events(context: dict[str, Any], message: str) -> None:
    records, problems = after_header(entry("data", context))
    assert records == []
    assert len(problems) == 1
    assert problems[0].lineno == 2
    assert problems[0].severity == "error"
    assert problems[0].message.startswith("data event: ")
    assert message in problems[0].message


def test_biggest_rank_set_allowed() -> None:
    rank = f"0-{MAX_EVENT_RANKS - 1}"
    count = {"stdout": MAX_EVENT_RANKS, "stderr": MAX_EVENT_RANKS}
    header = entry("header", {"version": 1, "encoding": {}, "count": count, "options": {}})
    records, problems = decode(
        [header, entry("data", {"stream": "stdout", "rank": rank, "data": "x"})]
    )
    records = records[1:]
    assert problems == []
    assert isinstance(records[0], Data)
    assert len(records[0].ranks) == MAX_EVENT_RANKS


def test_event_ranks() -> None:
    assert event_ranks("[0-3]") == IdSet(((0, 3),))
    assert event_ranks("7") == IdSet.of([7])
    for bad in ("", "[]", "3-1", "x", f"0-{MAX_EVENT_RANKS}"):
        with pytest.raises(IdsetError):
            event_ranks(bad)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"rank": "0"}, "redirect event: stream missing"),
        ({"stream": "stdin", "rank": "0"}, "redirect event: unknown stream 'stdin'"),
        ({"stream": "stdout"}, "redirect event: rank missing"),
        ({"stream": "stdout", "rank": 0}, "redirect event: bad rank 0 (not an idset"),
    ],
)
def test_bad_redirect_events(context: dict[str, Any], message: str) -> None:
    records, problems = after_header(entry("redirect", context))
    assert records == []
    assert len(problems) == 1
    assert problems[0].message.startswith(message)


# -- OutputDecoder: state across lines ------------------------------------------


def test_unknown_event_warns_once_per_name() -> None:
    records, problems = after_header(
        entry("progress", {}),
        entry("progress", {"x": 1}),
        entry("other", {}),
        entry("progress", {}),
    )
    assert records == []
    assert problems == [
        Problem(2, "unknown event 'progress' skipped", severity="warning"),
        Problem(4, "unknown event 'other' skipped", severity="warning"),
    ]


def test_data_before_header_warns_once_and_is_kept() -> None:
    line = entry("data", {"stream": "stdout", "rank": "0", "data": "a\n"})
    records, problems = decode([line, line, HEADER, line])
    assert [type(r) for r in records] == [Data, Data, Header, Data]
    assert records[0] == records[1] == records[3]
    assert problems == [Problem(1, "data before the header", severity="warning")]


def test_blank_lines_are_skipped_silently() -> None:
    records, problems = decode([HEADER, b"", b"  ", b"\r", b"\t"])
    assert len(records) == 1
    assert problems == []


def test_decoder_goes_on_after_every_kind_of_bad_line() -> None:
    good = entry("data", {"stream": "stdout", "rank": "0", "data": "ok\n"})
    bad = [
        b"{",
        b"[]",
        b'{"timestamp":"x","name":"data"}',
        entry("data", {"stream": "stdout", "rank": "", "data": "x"}),
        entry("log", {"level": "x", "message": "m"}),
        b"\x00\xff",
    ]
    lines = [HEADER]
    for line in bad:
        lines += [line, good]
    records, problems = decode(lines)
    assert len([r for r in records if isinstance(r, Data)]) == len(bad)
    assert [p.lineno for p in problems] == list(range(2, 2 * len(bad) + 1, 2))
    assert all(p.severity == "error" for p in problems)


def test_every_truncation_of_every_hello_line_is_reported_or_decoded() -> None:
    """A line cut anywhere: never an exception, one record or one problem."""
    for line in HELLO.split(b"\n")[1:-1]:
        for cut in range(len(line)):
            decoder = OutputDecoder(lambda p: None)
            records, problems = decode([HEADER, line[:cut]], decoder)
            assert len(records) == 1 + (cut == len(line))
            assert len(problems) == (1 if cut else 0)
            if problems:
                assert problems[0].lineno == 2
                assert "\n" not in problems[0].message


def test_problem_str() -> None:
    assert str(Problem(3, "bad")) == "output eventlog line 3: bad"
    assert str(Problem(4, "odd", "main", "warning")) == "main eventlog line 4: odd"


# -- fast path and slow path agree -------------------------------------------------


def slow(line: bytes, lineno: int = 2) -> OutputRecord | None:
    decoder = OutputDecoder(lambda p: None)
    list(decoder.decode([(1, HEADER)]))
    return decoder._decode_slow(lineno, line)


def fast(line: bytes, lineno: int = 2) -> list[OutputRecord]:
    decoder = OutputDecoder(lambda p: None)
    list(decoder.decode([(1, HEADER)]))
    return list(decoder.decode([(lineno, line)]))


@pytest.mark.parametrize(
    "case", ["hello", "binary", "utf8-and-escapes", "unbuffered-partial", "exit-code"]
)
def test_fast_and_slow_paths_agree_on_fixtures(case: str) -> None:
    lines = (FIXTURES / case / "output.eventlog").read_bytes().split(b"\n")[1:-1]
    assert lines
    for n, line in enumerate(lines, start=2):
        record = slow(line, n)
        assert record is not None
        assert fast(line, n) == [record]


def written_differently(line: bytes) -> list[bytes]:
    """The same data event, written in ways the fast path does not take."""
    obj = orjson.loads(line)
    ctx = obj["context"]
    variants = []
    reordered = {
        "context": dict(reversed(list(ctx.items()))),
        "name": obj["name"],
        "timestamp": obj["timestamp"],
    }
    variants.append(orjson.dumps(reordered))
    variants.append(orjson.dumps(reordered, option=orjson.OPT_INDENT_2))
    variants.append(orjson.dumps({**obj, "context": {**ctx, "encoding": "utf-8"}}))
    variants.append(orjson.dumps({**obj, "context": {**ctx, "encoding": "UTF-8"}}))
    variants.append(orjson.dumps({**obj, "context": {**ctx, "encoding": None}}))
    if "eof" not in ctx:
        variants.append(orjson.dumps({**obj, "context": {**ctx, "eof": False}}))
    variants.append(b" " + line + b" \r")
    variants.append(line.replace(b'"name":"data"', b'"name" : "data"'))
    variants.append(json.dumps(obj, ensure_ascii=True).encode())
    return variants


def test_fast_path_equals_other_spellings_of_the_same_event() -> None:
    lines = HELLO.split(b"\n")[1:-1]
    for n, line in enumerate(lines, start=2):
        (record,) = fast(line, n)
        assert slow(line, n) == record
        for variant in written_differently(line):
            assert fast(variant, n) == [record], variant
            assert slow(variant, n) == record, variant


def test_integer_timestamp_gives_a_float() -> None:
    line = entry("data", {"stream": "stdout", "rank": "0", "data": "x"}, ts=1795619483)
    (record,) = fast(line)
    assert isinstance(record, Data)
    assert type(record.timestamp) is float
    assert record == slow(line)


def test_base64_fast_and_slow_agree() -> None:
    line = entry(
        "data",
        {"stream": "stdout", "rank": "0", "encoding": "base64", "data": "aGk="},
    )
    (record,) = fast(line)
    assert record == slow(line)
    assert isinstance(record, Data)
    assert record.data == b"hi"


def test_decode_never_raises_on_fixture_lines_with_bytes_flipped() -> None:
    lines = HELLO.split(b"\n")[1:-1]
    for line in lines:
        for i in range(0, len(line), 3):
            for byte in (b"\x00", b"\xff", b'"', b"}", b"\\", b"\n"):
                mutated = line[:i] + byte + line[i + 1 :]
                records, problems = decode([HEADER, mutated])
                assert len(records) - 1 + len(problems) >= 1


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 10_000])
def test_line_splitter_split_keeps_newlines(size: int) -> None:
    """split() (the fast lane's) gives feed()'s lines with their newline kept."""
    splitter = LineSplitter()
    numbers: list[int] = []
    lines: list[bytes] = []
    for i in range(0, len(SAMPLE), size):
        start, parts = splitter.split(SAMPLE[i : i + size])
        numbers.extend(range(start, start + len(parts)))
        lines.extend(parts)
    assert all(line.endswith(b"\n") for line in lines)
    assert list(zip(numbers, [line[:-1] for line in lines], strict=True)) == SAMPLE_LINES[:-1]
    assert splitter.end() == SAMPLE_LINES[-1:]


def _base64_by_the_rules(text: str) -> bytes | None:
    """RFC 4648 checked step by step (decode_base64 before it used binascii's
    strict mode): the alphabet, at most two '=' at the end, whole quanta."""
    if not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text) or len(text) % 4:
        return None
    return binascii.a2b_base64(text)


@settings(max_examples=2000)
@given(text=st.text(alphabet="AQw/+9=*\n é", max_size=16))
@example(text="AAAA====")
@example(text="AAAA=")
@example(text="QR==")
@pytest.mark.parametrize("strict", [True, False], ids=["strict-mode", "by-hand"])
def test_decode_base64_takes_exactly_what_the_rules_allow(text: str, strict: bool) -> None:
    """With binascii's strict mode (3.11+) and without it (3.10)."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(eventlog, "STRICT_BASE64", strict and eventlog.STRICT_BASE64)
        try:
            got: bytes | None = decode_base64(text)
        except ValueError:
            got = None
    assert got == _base64_by_the_rules(text)
