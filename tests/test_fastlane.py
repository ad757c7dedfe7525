"""The fast lane (plain data events written in batches) must give exactly
the bytes of the careful path, record by record, for any event sequence."""

from __future__ import annotations

import io

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fluxout.idset import parse_idset
from fluxout.job import JobOutput
from fluxout.render.terminal import Terminal
from fluxout.sources import file as file_source
from fluxout.watch import Request, run

# a, \xff, é, é\n, \x80\n\x81, \n, the halves of é\n, nothing; bad: short, not base64
BYTES = st.sampled_from(
    ["YQ==", "/w==", "w6k=", "w6kK", "gAqB", "Cg==", "ww==", "qQo=", "", "YQ", "Y*=="]
)
TEXT = st.text(alphabet=st.sampled_from(list('ab \n\t{}[]%é€\x00"\\')), max_size=12)
RANK = st.sampled_from(["0", "1", "0", "1", "[0-1]", "7"])
EVENT = st.one_of(
    st.tuples(st.just("data"), st.sampled_from(["stdout", "stderr"]), RANK, TEXT),
    st.tuples(st.just("eof"), st.sampled_from(["stdout", "stderr"]), RANK, st.just("")),
    st.tuples(st.just("junk"), st.sampled_from(["{", "[]", '{"name":"x"}']), RANK, TEXT),
    st.tuples(st.just("log"), st.just(""), RANK, TEXT),
    # A data that is not a string: the run holding it goes to the careful path.
    st.tuples(st.just("baddata"), st.sampled_from(["stdout", "stderr"]), RANK, st.just("")),
    # Bytes that are not UTF-8 (base64 data), bad base64 among them.
    st.tuples(st.just("base64"), st.sampled_from(["stdout", "stderr"]), RANK, BYTES),
)
BAD_DATA = [None, 5, ["x\n"], {"a": "\n"}]


def eventlog(events: list[tuple[str, str, str, str]]) -> bytes:
    header = {
        "version": 1,
        "encoding": {"stdout": "UTF-8", "stderr": "UTF-8"},
        "count": {"stdout": 3, "stderr": 3},
        "options": {},
    }
    out = [orjson.dumps({"timestamp": 1.0, "name": "header", "context": header})]
    for i, (kind, stream, rank, text) in enumerate(events):
        ts = 2.0 + i / 8
        if kind == "data":
            ctx = {"stream": stream, "rank": rank, "data": text}
            out.append(orjson.dumps({"timestamp": ts, "name": "data", "context": ctx}))
        elif kind == "eof":
            ctx = {"stream": stream, "rank": rank, "eof": True}
            out.append(orjson.dumps({"timestamp": ts, "name": "data", "context": ctx}))
        elif kind == "base64":
            ctx = {"stream": stream, "rank": rank, "data": text, "encoding": "base64"}
            out.append(orjson.dumps({"timestamp": ts, "name": "data", "context": ctx}))
        elif kind == "baddata":
            ctx = {"stream": stream, "rank": rank, "data": BAD_DATA[i % len(BAD_DATA)]}
            out.append(orjson.dumps({"timestamp": ts, "name": "data", "context": ctx}))
        elif kind == "log":
            ctx = {"rank": 0, "level": 4, "message": text}
            out.append(orjson.dumps({"timestamp": ts, "name": "log", "context": ctx}))
        else:
            out.append(stream.encode())
    return b"\n".join(out) + b"\n"


def show(
    path: str, args: dict[str, object], fast: bool, chunk: int = 0, command: str = "cat"
) -> tuple:
    """stdout, stderr and status of cat, with or without the fast lane
    (and read ``chunk`` bytes at a time, if given)."""
    with pytest.MonkeyPatch.context() as m:
        if not fast:
            m.setattr(JobOutput, "_fast_ok", lambda self: False)
        if chunk:
            m.setattr(file_source, "CHUNK", chunk)
        out, err = io.BytesIO(), io.BytesIO()
        request = Request(command, [path], **args)
        status = run(request, Terminal(out, err, False, False, False, {}))
    return out.getvalue(), err.getvalue(), status


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("cat", {}),
        ("cat", {"label": True}),
        ("cat", {"tasks": None, "label": True, "streams": frozenset({"stdout"})}),
        ("cat", {"tasks": parse_idset("0,2-7"), "label": True}),
        ("cat", {"tasks": parse_idset("1"), "streams": frozenset({"stderr"})}),
        ("lines", {"json": True}),
        ("lines", {"json": True, "tasks": parse_idset("1")}),
        # A template that is a task's text, then the line: the labelled lane.
        ("lines", {"template": "{rank} {stream} {line}"}),
        ("lines", {"template": "{job}|{rank:>3}|{eol}: {line}\\n", "tasks": parse_idset("1")}),
    ],
)
@settings(max_examples=200, deadline=None)
@given(events=st.lists(EVENT, max_size=25))
# A partial line completed later by the same task: the lane must leave it to the assembler.
@example(events=[("data", "stdout", "0", "a"), ("data", "stdout", "0", "b\n")])
# An unfinished line the lane holds, handed to the assembler by a careful line
# (a log, an eof), then completed by the lane or ended by the eof.
@example(
    events=[
        ("data", "stdout", "0", "a"),
        ("data", "stdout", "1", "x\ny"),
        ("log", "", "0", "note"),
        ("data", "stdout", "0", "b\nc"),
        ("data", "stdout", "1", "z\n"),
        ("eof", "stdout", "0", ""),
        ("data", "stdout", "[0-1]", "both\n"),
    ]
)
# A character whose UTF-8 bytes are split between two base64 events.
@example(events=[("base64", "stdout", "0", "ww=="), ("base64", "stdout", "0", "qQo=")])
@example(
    events=[
        ("data", "stdout", "0", "x"),
        ("base64", "stdout", "0", "/w=="),
        ("eof", "stdout", "0", ""),
    ]
)
# Runs that fail their check: two lines in one event, a data that is not a string.
@example(events=[("data", "stdout", "0", "a\n"), ("data", "stdout", "1", "b\nc\n")])
@example(
    events=[
        ("data", "stdout", "0", "a\n"),
        ("baddata", "stdout", "0", ""),
        ("data", "stdout", "1", "b\n"),
    ]
)
def test_fast_lane_equals_careful_path(
    tmp_path_factory: pytest.TempPathFactory,
    command: str,
    args: dict[str, object],
    events: list[tuple[str, str, str, str]],
) -> None:
    path = tmp_path_factory.mktemp("lane") / "output.eventlog"
    path.write_bytes(eventlog(events))
    fast = show(str(path), args, True, 0, command)
    assert fast == show(str(path), args, False, 0, command)


@settings(max_examples=100, deadline=None)
@given(events=st.lists(EVENT, max_size=25), chunk=st.integers(1, 300))
def test_fast_lane_in_any_chunks_equals_careful_path(
    tmp_path_factory: pytest.TempPathFactory, events: list[tuple[str, str, str, str]], chunk: int
) -> None:
    """Batches end anywhere: runs, routes and unfinished lines carry over."""
    path = tmp_path_factory.mktemp("lane") / "output.eventlog"
    path.write_bytes(eventlog(events))
    for args in ({}, {"label": True}):
        assert show(str(path), args, True, chunk) == show(str(path), args, False)
    json = {"json": True}
    assert show(str(path), json, True, chunk, "lines") == show(str(path), json, False, 0, "lines")


def test_task_filter_in_the_fast_lane(tmp_path) -> None:
    events = [("data", "stdout", r, f"line from {r}\n") for r in ("0", "1", "2", "[0-2]")] * 3
    path = tmp_path / "output.eventlog"
    path.write_bytes(eventlog(events))
    args = {"tasks": parse_idset("1"), "label": True}
    fast = show(str(path), args, True)
    assert fast == show(str(path), args, False)
    assert fast[0] == b"1: line from 1\n1: line from [0-2]\n" * 3


def test_labelled_event_of_several_ranks_takes_the_lane(tmp_path) -> None:
    """Each selected rank gets the line, in rank order, as the assembler gives it."""
    events = [("data", "stdout", "[0-2]", "all\n"), ("data", "stdout", "1", "one\n")] * 2
    path = tmp_path / "output.eventlog"
    path.write_bytes(eventlog(events))
    args = {"tasks": parse_idset("0,2"), "label": True}
    fast = show(str(path), args, True)
    assert fast == show(str(path), args, False)
    assert fast[0] == b"0: all\n2: all\n" * 2


def test_bad_data_in_a_run_is_reported_and_the_rest_kept(tmp_path) -> None:
    events = [
        ("data", "stdout", "0", "a\n"),
        ("baddata", "stdout", "1", ""),
        ("data", "stdout", "0", "b\n"),
    ]
    path = tmp_path / "output.eventlog"
    path.write_bytes(eventlog(events))
    out, err, status = show(str(path), {}, True)
    assert out == b"a\nb\n"
    assert b"output eventlog line 3: data event: data is" in err
    assert status == 1
