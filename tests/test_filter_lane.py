"""The fast lane runs the line filters and timestamps in batched form: its
bytes are the careful path's for every option, on the captured fixtures and
on synthetic shapes, and on a real eventlog it takes the plain events."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxout.filters import TimeBound, compile_regex, line_local
from fluxout.idset import parse_idset
from fluxout.job import JobOutput
from fluxout.plan import Plan
from fluxout.watch import Request
from tests.conftest import CASES
from tests.test_fastlane import EVENT, eventlog, show

# Option sets of the line pipeline, each of which the lane carries.
OPTIONS: dict[str, dict[str, Any]] = {
    "grep": {"include": [compile_regex(r"[13]")]},
    "grep-anchored": {"include": [compile_regex(r"1$"), compile_regex(r"^a")]},
    "exclude": {"exclude": [compile_regex(r"2|b")]},
    "grep-exclude-label": {
        "include": [compile_regex(r"\w")],
        "exclude": [compile_regex(r"0")],
        "label": True,
    },
    "since": {"since": TimeBound(0.3, False)},
    "until": {"until": TimeBound(0.6, False)},
    "since-until-abs": {"since": TimeBound(2.5, True), "until": TimeBound(1e10, True)},
    "head": {"head": 2},
    "head-label-tasks": {"head": 1, "label": True, "tasks": parse_idset("0,2-7")},
    "ts-abs": {"timestamps": "abs"},
    "ts-rel-label": {"timestamps": "rel", "label": True},
    "ts-delta": {"timestamps": "delta"},
    "everything": {
        "timestamps": "rel",
        "label": True,
        "include": [compile_regex(r".")],
        "since": TimeBound(0.1, False),
        "head": 3,
        "streams": frozenset({"stdout"}),
    },
    "tail": {"tail": 2},
    "head-tail-grep-label": {
        "head": 1,
        "tail": 2,
        "include": [compile_regex("[0-8]")],
        "label": True,
    },
    "tail-0-ts": {"tail": 0, "timestamps": "rel"},
}


def lane_of(args: dict[str, Any]) -> str | None:
    return Plan.of(Request("cat", ["x"], **args), False).lane


def test_the_options_take_the_lane() -> None:
    assert lane_of(OPTIONS["grep"]) == "text"
    assert lane_of(OPTIONS["grep-exclude-label"]) == "labelled"
    assert lane_of(OPTIONS["ts-abs"]) == "text:abs"
    assert lane_of(OPTIONS["everything"]) == "labelled:rel"
    assert lane_of(OPTIONS["tail"]) == "text"
    assert lane_of(OPTIONS["ts-delta"]) == "text:delta"
    # lines --format: a template of a task's text and then the line takes
    # the labelled lane; one with a time, or text after the line, does not.
    for template, lane in [
        ("{rank} {stream} {line}", "labelled"),
        ("{line}", "labelled"),
        ("{line:>9}", None),
        ("{time} {line}", None),
        ("{line} <", None),
    ]:
        assert Plan.of(Request("lines", ["x"], template=template), False).lane == lane
    # Coloured times stay careful for now.
    assert Plan.of(Request("cat", ["x"], timestamps="abs"), False, (True, True)).lane is None


@pytest.mark.parametrize("option", sorted(OPTIONS))
@pytest.mark.parametrize("case", CASES)
def test_lane_equals_careful_path_on_fixtures(case_dir, case: str, option: str) -> None:  # type: ignore[no-untyped-def]
    path = str(case_dir(case))
    args = OPTIONS[option]
    assert show(path, args, True) == show(path, args, False)


# lines --format through the labelled lane, with and without line filters.
TEMPLATES: dict[str, dict[str, Any]] = {
    "plain": {"template": "{rank} {stream} {line}"},
    "spec-grep": {"template": "[{rank:>4}] {eol} {line}", "include": [compile_regex("[13]")]},
    "head-tail-stream": {
        "template": "{job} {line}\\n",
        "head": 1,
        "tail": 2,
        "streams": frozenset({"stderr"}),
    },
    "since": {"template": "{stream}: {line}", "since": TimeBound(0.3, False)},
}


@pytest.mark.parametrize("option", sorted(TEMPLATES))
@pytest.mark.parametrize("case", CASES)
def test_format_lane_equals_careful_path_on_fixtures(case_dir, case: str, option: str) -> None:  # type: ignore[no-untyped-def]
    path = str(case_dir(case))
    args = TEMPLATES[option]
    assert show(path, args, True, command="lines") == show(path, args, False, command="lines")


# The synthetic eventlogs have their header at 1.0 and event i at 2 + i/8.
DRAWN = st.fixed_dictionaries(
    {},
    optional={
        # Line-local regexes (searched over a run at once) and others (^, $, \s).
        "include": st.sampled_from(
            [
                [compile_regex("a")],
                [compile_regex(r"^\s"), compile_regex("b$")],
                [compile_regex(r"\w+"), compile_regex("x*")],
                [compile_regex(r"(?i)A|\bb"), compile_regex("é")],
                [compile_regex(r"\xff|€")],
                [compile_regex(r"^a|b$"), compile_regex(r"^$")],
                [compile_regex(r"\Aa"), compile_regex(r"(?m)b$")],
            ]
        ),
        "exclude": st.sampled_from(
            [
                [compile_regex("b")],
                [compile_regex(r"\xff|\x00")],
                [compile_regex(r"a$|z*")],
                [compile_regex(r"^\t|^$")],
            ]
        ),
        "since": st.sampled_from([TimeBound(1.5, False), TimeBound(3.0, True)]),
        "until": st.sampled_from([TimeBound(2.0, False), TimeBound(4.5, True)]),
        "head": st.integers(0, 3),
        "tail": st.integers(0, 3),
        "timestamps": st.sampled_from(["abs", "rel", "delta"]),
        "label": st.booleans(),
        "tasks": st.sampled_from([parse_idset("1"), parse_idset("0,7")]),
    },
)


@settings(max_examples=300, deadline=None)
@given(events=st.lists(EVENT, max_size=25), args=DRAWN, chunk=st.sampled_from([0, 1, 40, 200]))
def test_lane_equals_careful_path_on_any_events(
    tmp_path_factory: pytest.TempPathFactory,
    events: list[tuple[str, str, str, str]],
    args: dict[str, Any],
    chunk: int,
) -> None:
    """Partial lines, several ranks, base64, bad lines, logs and eofs among
    whole lines: each goes the careful way, and the bytes stay the same."""
    path = tmp_path_factory.mktemp("lane") / "output.eventlog"
    path.write_bytes(eventlog(events))
    assert show(str(path), args, True, chunk) == show(str(path), args, False)


def careful_lines(
    path: str, args: dict[str, Any], monkeypatch: pytest.MonkeyPatch, chunk: int = 0
) -> int:
    """How many output eventlog records took the careful path (with no
    lane at all, every one does)."""
    seen = []
    record = JobOutput._record

    def counted(self: JobOutput, rec: Any) -> None:
        seen.append(rec)
        record(self, rec)

    with monkeypatch.context() as m:
        m.setattr(JobOutput, "_record", counted)
        show(path, args, True, chunk)
    return len(seen)


@pytest.mark.parametrize(
    "option", ["grep", "exclude", "since", "head", "tail", "ts-abs", "ts-rel-label"]
)
def test_lane_takes_the_plain_events_of_a_real_eventlog(
    case_dir, option: str, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """many-small-lines: 20000 events of one whole line; only the header,
    the eofs and the first event of each task (which teaches the lane its
    route) take the careful path."""
    case = case_dir("many-small-lines")
    lines = (case / "output.eventlog").read_bytes().splitlines()
    plain = [
        line
        for line in lines
        if (ev := orjson.loads(line))["name"] == "data"
        and set(ev["context"]) == {"stream", "rank", "data"}
        and ev["context"]["data"].count("\n") == 1
        and ev["context"]["data"].endswith("\n")
    ]
    assert len(plain) >= 20000
    routes = {(ev["context"]["stream"], ev["context"]["rank"]) for ev in map(orjson.loads, plain)}
    allowed = len(lines) - len(plain) + len(routes)
    assert careful_lines(str(case), OPTIONS[option], monkeypatch) <= allowed


def test_line_local_regexes() -> None:
    local = [r"line.0000[0-4]", r"\d+", r"\bfoo\b", r"\S+x", r"(?i)ERROR", r"x*", r"[a-z]{2,}"]
    anchored = [
        r"^a",
        r"a$",
        r"^$",
        r"(?m)^x",
        r"\Aa",
        r"a\Z",
        r"\s",
        r"[^a]",
        r"(?s:.)",
        r"a|b\n",
        r"(a)\1",
        r"a(?=b)",
        r"\W",
    ]
    anchored += [r"(?-m:^a)", r"(?<=a)b"]
    assert all(line_local(compile_regex(p)) for p in local)
    assert not any(line_local(compile_regex(p)) for p in anchored)


def test_lane_leaves_a_partial_line_to_the_assembler(tmp_path: Path) -> None:
    """A task's unfinished line, then whole lines of it and of others: the
    line that completes it goes the careful way, the others take the lane."""
    events = [
        ("data", "stdout", "0", "a"),
        ("data", "stdout", "1", "b1\n"),
        ("data", "stdout", "0", "a2\n"),
        ("data", "stdout", "1", "b3\n"),
    ]
    path = tmp_path / "output.eventlog"
    path.write_bytes(eventlog(events))
    args = {"include": [compile_regex("a|3")], "label": True, "timestamps": "rel"}
    fast = show(str(path), args, True)
    assert fast == show(str(path), args, False)
    assert fast[0] == b"    1.000s 0: aa2\n    1.375s 1: b3\n"


@pytest.mark.parametrize("times", ["abs", "rel"])
def test_times_in_the_same_millisecond(tmp_path: Path, times: str) -> None:
    """Lines a few microseconds apart, across millisecond and second
    boundaries (and on the half millisecond that rel rounds): the time the
    lane reuses for a millisecond is the one the renderer shows."""
    start = 1795619276.0
    stamps = [start + 0.9990 + k * 0.00007 for k in range(40)]
    stamps += [start + 2 + ms / 1000 + d for ms in range(5) for d in (-1e-6, 0.0, 5e-4, 1e-6)]
    lines = [orjson.dumps({"timestamp": start, "name": "header", "context": HEADER})]
    for i, ts in enumerate(stamps):
        ctx = {"stream": "stdout", "rank": str(i % 2), "data": f"line {i}\n"}
        lines.append(orjson.dumps({"timestamp": ts, "name": "data", "context": ctx}))
    path = tmp_path / "output.eventlog"
    path.write_bytes(b"\n".join(lines) + b"\n")
    args = {"timestamps": times}
    assert show(str(path), args, True) == show(str(path), args, False)


HEADER = {
    "version": 1,
    "encoding": {"stdout": "UTF-8", "stderr": "UTF-8"},
    "count": {"stdout": 2, "stderr": 2},
    "options": {},
}


def followed(data: bytes, args: dict[str, Any], fast: bool, cut: int) -> tuple[bytes, bytes]:
    """A job's output fed in two parts, the history read after the first
    (as follow does), with or without the lane."""
    from fluxout.job import OutputOptions
    from fluxout.render.output import LineFormat, Output, TextRenderer
    from fluxout.render.sink import Sink
    from fluxout.render.terminal import Terminal

    out, err = io.BytesIO(), io.BytesIO()
    terminal = Terminal(out, err, False, False, False, {})
    output = Output(terminal, Sink(out, err, False), (False, False), False)
    req = Request("cat", ["x"], **args)
    plan = Plan.of(req, False)
    fmt = LineFormat(label=req.label, timestamps=req.timestamps)
    opts = OutputOptions(mode=plan.data, lane=plan.lane if fast else None, filters=req.filters())
    job = JobOutput("x", False, opts, TextRenderer(output, fmt))
    job.feed("output", data[:cut])
    job.idle()
    job.feed("output", data[cut:])
    job.finish()
    return out.getvalue(), err.getvalue()


@settings(max_examples=200, deadline=None)
@given(events=st.lists(EVENT, max_size=25), args=DRAWN, cut=st.integers(0, 2000))
def test_lane_after_the_history_equals_careful_path(
    events: list[tuple[str, str, str, str]], args: dict[str, Any], cut: int
) -> None:
    """--tail holds lines until the history is read, then passes the new
    ones: the lane's lines are held and released with the careful ones."""
    data = eventlog(events)
    assert followed(data, args, True, cut) == followed(data, args, False, cut)


@pytest.mark.parametrize("option", ["grep", "exclude", "head", "tail", "ts-abs", "everything"])
def test_mostly_partial_batches_go_careful_and_whole_lines_come_back(
    tmp_path: Path, option: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unbuffered output (pieces of lines of 3 tasks interleaved), then
    whole lines: the lane gives up on the partial part of a batch at once,
    and the bytes are the careful path's."""
    events = [("data", "stdout", str(i % 3), f"{i}a" if i % 2 else "b\n") for i in range(600)]
    events += [("data", "stdout", str(i % 3), f"{i} whole 1\n") for i in range(600)]
    path = tmp_path / "output.eventlog"
    path.write_bytes(eventlog(events))
    args = OPTIONS[option]
    for chunk in (0, 4096):
        assert show(str(path), args, True, chunk) == show(str(path), args, False)
    # Read 4 KiB at a time, the batches of whole lines take the lane.
    assert careful_lines(str(path), args, monkeypatch, 4096) < 900


# Gaps between events around delta's rounding to a millisecond (and none).
GAPS = [0.0, 1e-6, 0.000494, 0.0004999, 0.0005, 0.0005001, 0.0015, 0.9996, 1.2345]


@settings(max_examples=200, deadline=None)
@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(GAPS),
            st.sampled_from(["0", "1", "[0-1]"]),
            st.sampled_from(["a\n", "b\n", "pa", "rt\n", "x\ny\n"]),
        ),
        max_size=30,
    ),
    args=st.sampled_from(
        [
            {"timestamps": "delta"},
            {"timestamps": "delta", "label": True},
            {"timestamps": "delta", "include": [compile_regex("a|b|x")]},
            {"timestamps": "delta", "head": 2, "label": True},
            {"timestamps": "delta", "tail": 1},
            {"timestamps": "delta", "head": 1, "tail": 1, "exclude": [compile_regex("b")]},
        ]
    ),
    chunk=st.sampled_from([0, 1, 300]),
)
def test_delta_lane_equals_careful_path(
    tmp_path_factory: pytest.TempPathFactory,
    events: list[tuple[float, str, str]],
    args: dict[str, Any],
    chunk: int,
) -> None:
    """--timestamps delta: the lane's lines and the careful ones (pieces,
    several ranks) share one clock, and round as the renderer does."""
    header = {
        "version": 1,
        "encoding": {"stdout": "UTF-8", "stderr": "UTF-8"},
        "count": {"stdout": 2, "stderr": 2},
        "options": {},
    }
    out = [orjson.dumps({"timestamp": 1.0, "name": "header", "context": header})]
    ts = 1_700_000_000.25
    for gap, rank, text in events:
        ts += gap
        ctx = {"stream": "stdout", "rank": rank, "data": text}
        out.append(orjson.dumps({"timestamp": ts, "name": "data", "context": ctx}))
    path = tmp_path_factory.mktemp("delta") / "output.eventlog"
    path.write_bytes(b"\n".join(out) + b"\n")
    assert show(str(path), args, True, chunk) == show(str(path), args, False)
