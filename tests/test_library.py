"""fluxout as a library: fluxout.lines and fluxout.events.

On the captured fixtures (no Flux): each task's lines, joined, are the
bytes it wrote (``expected/``); the records are those ``fluxout lines
--json`` writes, filters included, since both run the same pipeline; the
generators hold a chunk, not the job. On the fake Flux boundary: a jobid
reads as its saved directory does, and several jobs followed at once share
one boundary (one handle, one reactor).
"""

from __future__ import annotations

import base64
import io
import json
import re
import tracemalloc
import warnings
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fluxout import library as fluxout
from fluxout.errors import NotFoundError
from fluxout.render.terminal import Terminal
from fluxout.sources.flux import boundary as flux_boundary
from fluxout.watch import Request, run
from tests.conftest import CASES
from tests.fakeflux import FakeFlux, SharedFake
from tests.test_fastlane import EVENT, eventlog

# Cases whose output eventlog holds exactly what each task wrote.
EXACT = [
    case
    for case in CASES
    if json.loads((Path(__file__).parent / "data/fixtures" / case / "case.json").read_text())[
        "observed"
    ].get("expected_matches_output_eventlog")
    and case not in ("redirect", "redirect-per-task", "redirect-many-ranks", "label-io-file")
]


def by_task(lines: list[fluxout.Line]) -> dict[str, bytes]:
    """Each task's stream as bytes, keyed as expected/ names its files."""
    out: dict[str, bytes] = defaultdict(bytes)
    for line in lines:
        out[f"{line.stream}.{line.rank}"] += line.text + (b"\n" if line.eol else b"")
    return dict(out)


def expected(d: Path) -> dict[str, bytes]:
    files = (
        {p.name: p.read_bytes() for p in (d / "expected").iterdir()}
        if (d / "expected").is_dir()
        else {}
    )
    return {name: data for name, data in files.items() if data}


@pytest.mark.parametrize("case", EXACT)
def test_each_task_gets_its_bytes(case: str, case_dir: Any) -> None:
    d = case_dir(case)
    lines = list(fluxout.lines(d, on_problem=pytest.fail))
    assert by_task(lines) == expected(d)
    assert {line.job for line in lines} <= {str(d)}
    # Only a last line may lack its newline.
    last: dict[tuple[str, int], fluxout.Line] = {}
    for line in lines:
        assert (line.stream, line.rank) not in last or last[(line.stream, line.rank)].eol
        last[(line.stream, line.rank)] = line


def test_partial_writes_make_whole_lines(case_dir: Any) -> None:
    lines = list(fluxout.lines(case_dir("unbuffered-partial"), streams="stdout", tasks=0))
    assert [(line.text, line.eol) for line in lines] == [
        (b"rank 0: partial line in pieces", True),
        (b"rank 0: second line", True),
        (b"third line starts and ends", True),
        (b"rank 0: no newline at the very end", False),
    ]
    assert lines[0].decode() == "rank 0: partial line in pieces"
    # A line's time is its first piece's.
    events = [e for e in fluxout.events(case_dir("unbuffered-partial"), eventlogs="output")]
    first = next(e for e in events if e.name == "data" and e.context.get("rank") == "0")
    assert lines[0].timestamp == first.timestamp


def cli_lines_and_warnings(d: Path, **options: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """What ``fluxout lines --json`` writes for the same request, and the
    warnings it writes on stderr (without their ``fluxout: `` prefix)."""
    term = Terminal(io.BytesIO(), io.BytesIO(), False, False, False, {})
    assert run(Request("lines", [str(d)], json=True, **options), term) == 0
    assert isinstance(term.stdout, io.BytesIO) and isinstance(term.stderr, io.BytesIO)
    records = [orjson.loads(line) for line in term.stdout.getvalue().splitlines()]
    told = [line.removeprefix("fluxout: ") for line in term.stderr.getvalue().decode().splitlines()]
    return records, told


def cli_lines(d: Path, **options: Any) -> list[dict[str, Any]]:
    """What ``fluxout lines --json`` writes for the same request."""
    return cli_lines_and_warnings(d, **options)[0]


def as_json(line: fluxout.Line) -> dict[str, Any]:
    record: dict[str, Any] = {
        "job": line.job,
        "rank": line.rank,
        "stream": line.stream,
        "line": "",
        "eol": line.eol,
        "timestamp": line.timestamp,
    }
    try:
        record["line"] = line.text.decode()
    except UnicodeDecodeError:
        record["line"] = base64.b64encode(line.text).decode()
        record["encoding"] = "base64"
    return record


FILTERS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({}, {}),
    ({"tasks": "1"}, {"tasks": fluxout._tasks("1")}),
    ({"tasks": [0, 2]}, {"tasks": fluxout._tasks("0,2")}),
    ({"streams": "stderr"}, {"streams": frozenset({"stderr"})}),
    ({"grep": "line"}, {"include": [re.compile(b"line")]}),
    ({"grep": [b"first", "second"]}, {"include": [re.compile(b"first"), re.compile(b"second")]}),
    ({"exclude": re.compile("rank [01]")}, {"exclude": [re.compile(b"rank [01]")]}),
    ({"head": 1}, {"head": 1}),
    ({"tail": 1}, {"tail": 1}),
    ({"since": 0.5}, {"since": fluxout._when("0.5s")}),  # a float is told as seconds
    ({"until": timedelta(seconds=0.5)}, {"until": fluxout._when("0.5s")}),
]


@pytest.mark.parametrize("case", ["hello", "unbuffered-partial", "binary", "many-small-lines"])
@pytest.mark.parametrize(("ours", "theirs"), FILTERS)
def test_records_are_what_lines_json_writes(
    case: str, ours: dict[str, Any], theirs: dict[str, Any], case_dir: Any
) -> None:
    d = case_dir(case)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = [as_json(line) for line in fluxout.lines(str(d), **ours)]
    # A window outside the job's output is told by both, in the same words.
    assert (records, [str(w.message) for w in caught]) == cli_lines_and_warnings(d, **theirs)


def test_several_jobs_one_after_the_other(case_dir: Any) -> None:
    a, b = case_dir("hello"), case_dir("exit-code")
    lines = list(fluxout.lines(a, b))
    jobs = [line.job for line in lines]
    assert jobs == sorted(jobs, key=[str(a), str(b)].index)
    assert by_task([x for x in lines if x.job == str(b)]) == expected(b)


def test_several_jobs_followed_at_once(case_dir: Any) -> None:
    a, b = case_dir("hello"), case_dir("stderr-interleaved")
    lines = list(fluxout.lines(a, b, follow=True))
    for d in (a, b):
        assert by_task([x for x in lines if x.job == str(d)]) == expected(d)


def test_a_generator_holds_a_chunk_not_the_job(tmp_path: Path) -> None:
    """40 MB of output read line by line stays within a few MB."""
    path = tmp_path / "output.eventlog"
    header = {
        "version": 1,
        "encoding": {"stdout": "UTF-8", "stderr": "UTF-8"},
        "count": {"stdout": 2, "stderr": 2},
        "options": {},
    }
    with path.open("wb") as f:
        f.write(orjson.dumps({"timestamp": 1.0, "name": "header", "context": header}) + b"\n")
        text = "x" * 100 + "\n"
        event = (
            orjson.dumps(
                {
                    "timestamp": 2.0,
                    "name": "data",
                    "context": {"stream": "stdout", "rank": "0", "data": text},
                }
            )
            + b"\n"
        )
        f.write(event * 400_000)
    tracemalloc.start()
    try:
        count = 0
        for line in fluxout.lines(path):
            count += 1
            assert line.text == b"x" * 100
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 400_000
    assert peak < 16 << 20, f"peak {peak >> 20} MiB"


def test_problems_are_told_and_skipped(tmp_path: Path, case_dir: Any) -> None:
    path = tmp_path / "output.eventlog"
    good = (case_dir("hello") / "output.eventlog").read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([*good[:3], b"{not json\n", *good[3:]]))
    told: list[str] = []
    lines = list(fluxout.lines(path, on_problem=told.append))
    assert len(lines) == 16
    assert len(told) == 1
    assert told[0].startswith(f"{path}: output eventlog line 4: invalid JSON (")
    with pytest.warns(fluxout.EventlogWarning, match="line 4"):
        assert len(list(fluxout.lines(path))) == 16


def test_errors() -> None:
    with pytest.raises(NotFoundError, match="no such file or directory"):
        fluxout.lines("./no/such/job")
    with pytest.raises(ValueError, match="invalid idset"):
        fluxout.lines("./x", tasks="1-")
    with pytest.raises(ValueError, match="streams"):
        fluxout.lines("./x", streams="stdin")
    with pytest.raises(ValueError, match="head"):
        fluxout.lines("./x", head=-1)
    with pytest.raises(ValueError, match="eventlogs"):
        fluxout.events("./x", eventlogs="guest")
    with pytest.raises(TypeError):
        fluxout.lines()


def test_events_merged_by_time(case_dir: Any) -> None:
    d = case_dir("hello")
    entries = list(fluxout.events(d))
    names = {(e.eventlog, e.name) for e in entries}
    assert ("main", "submit") in names and ("exec", "shell.init") in names
    assert ("output", "header") in names
    times = [e.timestamp for e in entries]
    assert times == sorted(times)
    count = sum(
        len((d / f).read_bytes().splitlines())
        for f in ("eventlog", "exec.eventlog", "output.eventlog")
    )
    assert len(entries) == count
    ranks = {
        e.context.get("rank")
        for e in fluxout.events(d, eventlogs="output", tasks="2")
        if e.name == "data"
    }
    assert ranks == {"2"}


def test_events_followed(case_dir: Any) -> None:
    a, b = case_dir("hello"), case_dir("exit-code")
    entries = list(fluxout.events(a, b, follow=True, eventlogs=["main"]))
    assert {e.job for e in entries} == {str(a), str(b)}
    assert [e.name for e in entries if e.job == str(a)][-1] == "clean"


# -- live, on the fake boundary ---------------------------------------------


def test_a_jobid_reads_as_its_directory(case_dir: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    d = case_dir("unbuffered-partial")
    fake = FakeFlux(d, scale=0.0)
    connects: list[str | None] = []

    def connect(uri: str | None, name: str) -> FakeFlux:
        connects.append(uri)
        return fake

    monkeypatch.setattr(flux_boundary, "connect", connect)
    live = list(fluxout.lines(fake.f58, uri="local:///x", follow=True))
    assert connects == ["local:///x"]
    assert [x[1:] for x in live] == [x[1:] for x in fluxout.lines(d)]
    assert {x.job for x in live} == {fake.f58}
    assert fake.hazards == []
    with pytest.raises(NotFoundError, match="no such job"):
        fluxout.lines(fake.jobid + 1)


def test_several_live_jobs_share_one_boundary(
    case_dir: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = case_dir("hello"), case_dir("many-small-lines")
    fa, fb = FakeFlux(a, scale=0.0), FakeFlux(b, scale=0.0)
    both = SharedFake(fa, fb)
    connects = []
    monkeypatch.setattr(flux_boundary, "connect", lambda uri, name: connects.append(name) or both)
    lines = list(fluxout.lines(fa.f58, fb.f58, follow=True))
    assert len(connects) == 1
    assert by_task([x for x in lines if x.job == fa.f58]) == expected(a)
    assert by_task([x for x in lines if x.job == fb.f58]) == expected(b)
    # They came as they were written, interleaved, not one job after the other.
    jobs = [x.job for x in lines]
    first_b = jobs.index(fb.f58)
    assert fa.f58 in jobs[first_b:]
    assert fa.hazards == fb.hazards == []


# -- the records lane against the careful path ------------------------------


def _both_ways(path: Path, chunk: int = 0, **options: Any) -> tuple[list[Any], list[Any]]:
    """The library's lines (and what it told) with the records lane, and
    with the careful path only."""
    from fluxout.job import JobOutput
    from fluxout.sources import file as file_source

    out = []
    for fast in (True, False):
        with pytest.MonkeyPatch.context() as m:
            if not fast:
                m.setattr(JobOutput, "_fast_ok", lambda self: False)
            if chunk and fast:
                m.setattr(file_source, "CHUNK", chunk)
            told: list[str] = []
            out.append((list(fluxout.lines(path, on_problem=told.append, **options)), told))
    return out[0], out[1]


@settings(max_examples=150, deadline=None)
@given(
    events=st.lists(EVENT, max_size=25),
    chunk=st.integers(0, 300),
    options=st.sampled_from(
        [
            {},
            {"tasks": "1"},
            {"streams": "stderr"},
            {"grep": "a"},
            {"exclude": "b"},
            {"head": 1},
            {"tail": 2},
        ]
    ),
)
@example(
    events=[
        ("data", "stdout", "0", "a"),
        ("data", "stdout", "1", "x\ny"),
        ("log", "", "0", "note"),
        ("data", "stdout", "0", "b\nc"),
        ("data", "stdout", "1", "z\n"),
        ("eof", "stdout", "0", ""),
        ("data", "stdout", "[0-1]", "both\n"),
    ],
    chunk=0,
    options={},
)
def test_records_lane_equals_careful_path(
    tmp_path_factory: pytest.TempPathFactory,
    events: list[tuple[str, str, str, str]],
    chunk: int,
    options: dict[str, Any],
) -> None:
    path = tmp_path_factory.mktemp("lane") / "output.eventlog"
    path.write_bytes(eventlog(events))
    fast, careful = _both_ways(path, chunk, **options)
    assert fast == careful
