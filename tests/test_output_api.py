"""fluxout.output: flux.job.output's interface, on the captured fixtures.

No Flux is needed: a job directory is read as flux.job.output would read
the job. The oracles are the fixtures' own bytes (``attach.stdout``,
``expected/``) and the output eventlog decoded here, event by event, with
flux.job.output's rules (and its bugs fixed: log messages end in a newline,
redirects are told). tests/test_integration.py compares fluxout.output with
flux.job.output itself on a live instance.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from fluxout import output
from fluxout.idset import IdSet
from tests.conftest import CASES

FIXTURES = Path(__file__).parent / "data" / "fixtures"
RAN = [c for c in CASES if not c.startswith("never-started")]


def _events(d: Path) -> list[dict[str, Any]]:
    path = d / "output.eventlog"
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line]


def _data(context: dict[str, Any]) -> str:
    data: str = context["data"]
    if context.get("encoding") == "base64":
        return base64.b64decode(data).decode("utf-8", "surrogateescape")
    return data


LEVELS = ["FATAL", "FATAL", "FATAL", "ERROR", " WARN", "", "DEBUG", "TRACE"]


def _log(context: dict[str, Any]) -> str:
    text = f"flux-shell[{context['rank']}]: "
    if LEVELS[context["level"]]:
        text += f"{LEVELS[context['level']]}: "
    if context.get("component"):
        text += f"{context['component']}: "
    return text + context["message"] + "\n"


def oracle(d: Path, tasks: IdSet | None = None, level: int = 7) -> output.JobOutput:
    """flux.job.output's job_output, event by event, with its bugs fixed."""
    streams: dict[str, list[str]] = {"stdout": [], "stderr": [], "log": []}
    for event in _events(d):
        ctx = event["context"]
        name = event["name"]
        ranks = output.Taskset(ctx["rank"]).ids if "rank" in ctx else None
        wanted = tasks is None or (ranks is not None and bool(ranks.intersect(tasks)))
        if name == "data" and "data" in ctx and wanted:
            streams[ctx["stream"]].append(_data(ctx))
        elif name == "log":
            streams["stderr" if ctx["level"] <= level else "log"].append(_log(ctx))
        elif name == "redirect" and wanted:
            rank = output.Taskset(ctx["rank"])
            streams["stderr"].append(f"{rank}: {ctx['stream']} redirected to {ctx['path']}\n")
    return output.JobOutput(*("".join(streams[s]) for s in ("stdout", "stderr", "log")))


@pytest.mark.parametrize("case", RAN)
def test_job_output(case: str, case_dir: Any) -> None:
    d = case_dir(case)
    result = output.job_output(None, d)
    assert result == oracle(d)
    # The job's stdout is attach's, byte for byte.
    assert result.stdout.encode("utf-8", "surrogateescape") == (d / "attach.stdout").read_bytes()


@pytest.mark.parametrize("case", ["hello", "exit-code", "many-ranks", "unbuffered-partial"])
def test_job_output_tasks(case: str, case_dir: Any) -> None:
    d = case_dir(case)
    result = output.job_output(None, d, tasks="1")
    assert result == oracle(d, IdSet.of((1,)))
    assert result.stdout.encode() == (d / "expected" / "stdout.1").read_bytes()
    assert output.job_output(None, d, tasks="0-1") == oracle(d, IdSet.of((0, 1)))


def test_job_output_log_levels(case_dir: Any) -> None:
    d = case_dir("shell-log-verbose")
    for level in (output.LOG_QUIET, output.LOG_WARN, output.LOG_DEBUG, output.LOG_TRACE):
        result = output.job_output(None, d, log_stderr_level=level)
        assert result == oracle(d, level=level)
    quiet = output.job_output(None, d, log_stderr_level=output.LOG_QUIET)
    assert "flux-shell" not in quiet.stderr and quiet.log.count("\n") == 17
    assert quiet.log.startswith("flux-shell[0]: DEBUG: Loading ")


def labelled(d: Path) -> dict[str, bytes]:
    """Each task's bytes as job_output(labelio=True) labels them: R: before
    every line, a newline after every line, a last partial one too."""
    out: dict[str, bytes] = {}
    for path in sorted((d / "expected").glob("std*.*")):
        stream, rank = path.name.split(".")
        data = path.read_bytes()
        if data:
            lines = data.split(b"\n")
            if lines[-1] == b"":
                lines.pop()
            out[f"{stream}.{rank}"] = b"".join(f"{rank}: ".encode() + x + b"\n" for x in lines)
    return out


def split_labels(text: str, stream: str) -> dict[str, bytes]:
    out: dict[str, bytes] = defaultdict(bytes)
    for line in text.encode("utf-8", "surrogateescape").split(b"\n")[:-1]:
        rank = line.split(b": ", 1)[0].decode()
        out[f"{stream}.{rank}"] += line + b"\n"
    return dict(out)


@pytest.mark.parametrize("case", ["hello", "unbuffered-partial", "no-trailing-newline", "binary"])
def test_job_output_labelio_labels_whole_lines(case: str, case_dir: Any) -> None:
    d = case_dir(case)
    result = output.job_output(None, d, labelio=True)
    got = {**split_labels(result.stdout, "stdout"), **split_labels(result.stderr, "stderr")}
    assert got == labelled(d)


@pytest.mark.parametrize("case", RAN)
def test_output_watch_is_job_output_as_it_comes(case: str, case_dir: Any) -> None:
    d = case_dir(case)
    joined: dict[str, str] = defaultdict(str)
    for stream, data in output.output_watch(None, d):
        assert stream in ("stdout", "stderr", "log") and data
        joined[stream] += data
    result = output.job_output(None, d)
    assert joined["stdout"] == result.stdout
    # The watch tells the job's exceptions too, on stderr.
    exceptions = [
        json.loads(line)
        for line in (d / "eventlog").read_text().splitlines()
        if json.loads(line)["name"] == "exception"
    ]
    told = "".join(output.JobExceptionEvent(e).render() + "\n" for e in exceptions)
    assert sorted(joined["stderr"]) == sorted(result.stderr + told)
    assert all(line in joined["stderr"].splitlines(keepends=True) for line in told.splitlines(True))


@pytest.mark.parametrize("case", RAN)
def test_output_watch_lines_whole_lines(case: str, case_dir: Any) -> None:
    d = case_dir(case)
    lines = list(output.output_watch_lines(None, d, keepends=True))
    plain = list(output.output_watch_lines(None, d))
    assert [(s, t.removesuffix("\n")) for s, t in lines] == plain
    assert all("\n" not in t for _, t in plain)
    # With their newlines, the lines are the stream's bytes (what output_watch gives).
    joined: dict[str, str] = defaultdict(str)
    for stream, data in output.output_watch(None, d):
        joined[stream] += data
    mine: dict[str, str] = defaultdict(str)
    for stream, line in lines:
        mine[stream] += line
    assert sorted(mine["stdout"]) == sorted(joined["stdout"])
    assert sorted(mine["stderr"]) == sorted(joined["stderr"])


def test_output_watch_lines_completes_partial_writes(case_dir: Any) -> None:
    d = case_dir("unbuffered-partial")
    lines = list(output.output_watch_lines(None, d, keepends=True))
    assert lines == [
        ("stdout", "rank 1: partial line in pieces\n"),
        ("stdout", "rank 0: partial line in pieces\n"),
        ("stderr", "rank 1 stderr: abc\n"),
        ("stderr", "rank 0 stderr: abc\n"),
        ("stdout", "rank 1: second line\n"),
        ("stdout", "rank 0: second line\n"),
        ("stdout", "third line starts and ends\n"),
        ("stdout", "third line starts and ends\n"),
        ("stdout", "rank 1: no newline at the very end"),
        ("stdout", "rank 0: no newline at the very end"),
    ]
    labelled = list(output.output_watch_lines(None, d, labelio=True))
    assert labelled[0] == ("stdout", "1: rank 1: partial line in pieces")
    assert labelled[-1] == ("stdout", "0: rank 0: no newline at the very end")


def test_lines_end_at_newline_only(case_dir: Any) -> None:
    """\\r progress and CRLF stay in the line (str.splitlines lost them)."""
    lines = [t for _, t in output.output_watch_lines(None, case_dir("utf8-and-escapes"))]
    assert "progress [#    ]  20%\rprogress [###  ]  60%\rprogress [#####] 100%" in lines
    assert "crlf line\r" in lines


@pytest.mark.parametrize("case", RAN)
def test_output_event_watch(case: str, case_dir: Any) -> None:
    d = case_dir(case)
    events = list(output.output_event_watch(None, d))
    mains = [json.loads(line) for line in (d / "eventlog").read_text().splitlines()]
    finish = next((i for i, e in enumerate(mains) if e["name"] == "finish"), len(mains))
    exceptions = [e for e in mains[:finish] if e["name"] == "exception"]
    raw = _events(d)
    assert [dict(e) for e in events if e.name != "exception"] == raw
    assert [dict(e) for e in events if e.name == "exception"] == exceptions
    kinds = {
        "data": output.OutputEvent,
        "log": output.LogEvent,
        "header": output.OutputHeaderEvent,
        "redirect": output.RedirectEvent,
        "exception": output.JobExceptionEvent,
    }
    for event in events:
        assert type(event) is kinds[event.name]
        assert isinstance(event.timestamp, float) and isinstance(event.context, dict)
        if isinstance(event, output.OutputEvent):
            ctx = event.context
            assert event.stream == ctx["stream"] and event.eof == bool(ctx.get("eof"))
            assert event.data == (_data(ctx) if "data" in ctx else None) == event.render()
            assert str(event.rank) == str(output.Taskset(ctx["rank"]))
        elif isinstance(event, output.LogEvent):
            assert event.render() + "\n" == _log(event.context)
            assert event.levelstr == LEVELS[event.level]


def test_event_classes_render() -> None:
    log = output.LogEvent(
        {
            "timestamp": 1.5,
            "name": "log",
            "context": {
                "rank": 3,
                "level": 4,
                "message": "m",
                "component": "c",
                "file": "f.c",
                "line": 7,
            },
        }
    )
    assert log.render() == "flux-shell[3]:  WARN: c: m"
    assert log.render(include_file_and_line=True) == "flux-shell[3]:  WARN: c: f.c:7: m"
    assert (log.rank.all, str(log.rank), log.levelstr, log.line) == (False, "3", " WARN", 7)
    notice = output.LogEvent(
        '{"timestamp":1,"name":"log","context":{"rank":0,"level":5,"message":"n"}}'
    )
    assert notice.render() == "flux-shell[0]: n" and notice.component is None and notice.line == -1
    redirect = output.RedirectEvent(
        {
            "timestamp": 1,
            "name": "redirect",
            "context": {"stream": "stderr", "rank": "[0-3]", "path": "p"},
        }
    )
    assert redirect.render() == "0-3: stderr redirected to p"
    exc = output.JobExceptionEvent(
        {
            "timestamp": 1,
            "name": "exception",
            "context": {"type": "cancel", "severity": 0, "note": ""},
        }
    )
    assert (exc.render(), exc.exc_type, exc.severity) == (
        "job.exception: type=cancel severity=0",
        "cancel",
        0,
    )
    data = output.OutputEvent(
        {
            "timestamp": 1,
            "name": "data",
            "context": {"stream": "stdout", "rank": "[0-1]", "data": "a\nb"},
        },
        labelio=True,
    )
    assert data.render() == "0-1: a\n0-1: b" and not data.eof
    header = output.OutputHeaderEvent(
        {
            "timestamp": 1,
            "name": "header",
            "context": {
                "version": 1,
                "encoding": {"stdout": "UTF-8", "stderr": "base64"},
                "count": {"stdout": 2, "stderr": 3},
            },
        }
    )
    assert (header.version, header.stdout_count, header.stderr_count) == (1, 2, 3)
    assert (header.stdout_encoding, header.stderr_encoding) == ("UTF-8", "base64")
    with pytest.raises(ValueError, match="not a data event"):
        output.OutputEvent(exc)


def test_taskset() -> None:
    everything = output.Taskset("*")
    assert everything.all and str(everything) == "all" and bool(everything)
    some = output.Taskset("[0-3]")
    assert not some.all and str(some) == "0-3" and len(some.ids or ()) == 4
    assert str(some.intersect("2-5")) == "2-3"
    assert str(everything.intersect(some)) == "0-3" and str(some.intersect("all")) == "0-3"
    assert not some.intersect("7") and str(output.Taskset(5)) == "5"
    assert str(output.Taskset([3, 1])) == "1,3" and str(output.Taskset(output.Taskset("1"))) == "1"


def test_output_event_watch_labels_lines_not_events(case_dir: Any) -> None:
    """Labels go where lines start: a task's labelled events, joined, are its labelled lines."""
    d = case_dir("unbuffered-partial")
    joined: dict[str, str] = defaultdict(str)
    for event in output.output_event_watch(None, d, labelio=True):
        if isinstance(event, output.OutputEvent) and event.data:
            joined[f"{event.stream}.{event.rank}"] += event.data
    want = labelled(d)
    for key, text in joined.items():
        got = text.encode() if text.endswith("\n") else text.encode() + b"\n"
        assert got == want[key]


def test_nowait(case_dir: Any, tmp_path: Path) -> None:
    d = case_dir("hello")
    assert output.job_output(None, d, nowait=True) == output.job_output(None, d)
    assert list(output.output_watch(None, d, nowait=True)) == list(output.output_watch(None, d))
    main_only = tmp_path / "job"
    main_only.mkdir()
    (main_only / "eventlog").write_bytes((d / "eventlog").read_bytes())
    with pytest.raises(FileNotFoundError, match="does not exist or output not ready") as info:
        output.job_output(None, main_only, nowait=True)
    assert info.value.errno == errno.ENOENT


@pytest.mark.parametrize("case", ["never-started", "never-started-unsatisfiable"])
def test_never_started(case: str, case_dir: Any) -> None:
    d = case_dir(case)
    exception = next(
        json.loads(line)
        for line in (d / "eventlog").read_text().splitlines()
        if json.loads(line)["name"] == "exception"
    )
    with pytest.raises(output.JobException) as info:  # type: ignore[attr-defined]
        output.job_output(None, d)
    assert info.value.type == exception["context"]["type"]
    assert info.value.severity == 0 and str(info.value).startswith("job.exception: type=")
    for watch in (output.output_watch, output.output_watch_lines):
        got = []
        with pytest.raises(OSError, match=f"job {d} never started") as err:
            for item in watch(None, d):
                got.append(item)
        assert err.value.errno == errno.EIO and err.value.strerror == f"job {d} never started"
        assert got == [
            (
                "stderr",
                output.JobExceptionEvent(exception).render()
                + ("\n" if watch is output.output_watch else ""),
            )
        ]
    events = []
    with pytest.raises(OSError, match="never started"):
        for event in output.output_event_watch(None, d):
            events.append(event)
    assert [dict(e) for e in events] == [exception]


def test_no_such_job(tmp_path: Path) -> None:
    missing = tmp_path / "nothing"
    for call in (
        lambda: output.job_output(None, missing),
        lambda: list(output.output_watch(None, missing)),
        lambda: list(output.output_watch_lines(None, str(missing))),
        lambda: list(output.output_event_watch(None, missing)),
    ):
        with pytest.raises(FileNotFoundError) as info:
            call()
        assert info.value.errno == errno.ENOENT


def test_bad_lines_are_skipped_with_a_warning(case_dir: Any, tmp_path: Path) -> None:
    lines = (case_dir("hello") / "output.eventlog").read_bytes().splitlines(keepends=True)
    path = tmp_path / "output.eventlog"
    odd = b'{"timestamp":2.0,"name":"future-event","context":{}}\n'
    path.write_bytes(b"".join([*lines[:2], b"junk\n", odd, *lines[2:]]))
    with pytest.warns(output.EventlogWarning) as told:
        events = list(output.output_event_watch(None, path))
    assert len(events) == len(lines)
    assert any("line 3" in str(w.message) for w in told)
    assert any("future-event" in str(w.message) for w in told)
    with pytest.warns(output.EventlogWarning):
        assert output.job_output(None, path) == oracle(case_dir("hello"))


def _made(event: Any) -> tuple[Any, ...]:
    """All an event shows: its type, entry (keys in order), attributes, text."""
    attrs = [(k, str(v) if k == "rank" else v) for k, v in vars(event).items()]
    return type(event), str(event), list(event.items()), list(event.context.items()), attrs


def test_output_event_watch_plain_and_careful_lines_alike(tmp_path: Path) -> None:
    """Plain data events take a fast way (output._EventReader.feed): among
    lines that go the careful way, each event is what OutputEvent makes of its
    line, in order, labels and warnings as well (bad lines told first)."""
    plain = b'{"timestamp":%d.5,"name":"data","context":{"stream":"stdout","rank":"%s",'
    plain += b'"data":"%s"}}'
    careful = [
        b'{"timestamp":3,"name":"data","context":{"stream":"stdout","rank":"0","data":"int "}}',
        b'{"timestamp":4.5,"name":"data","context":{"rank":"1","stream":"stdout","data":"a\\nb"}}',
        b'{"timestamp":5.5,"name":"data","context":{"stream":"stdout","rank":"0","data":"aGkK",'
        b'"encoding":"base64"}}',
        b'{"timestamp":6.5,"name":"data","context":{"stream":"stdout","rank":"x","data":"bad\\n"}}',
        b"junk",
        b'{"timestamp":7.5,"name":"data","context":{"stream":"stdout","rank":"0","eof":true}}',
    ]
    lines = [plain % (1, b"0-1", b"both\\n"), careful[0], plain % (2, b"0", b"ts\\nopen ")]
    lines += [careful[1], plain % (5, b"1", b"c\\n"), *careful[2:5], plain % (6, b"1", b"d")]
    lines += [careful[5], plain % (8, b"1", b"\\n")]
    path = tmp_path / "output.eventlog"
    path.write_bytes(b"\n".join(lines) + b"\n")
    entries = []
    for line in lines:
        try:
            obj = orjson.loads(line)
            entries.append({**obj, "timestamp": float(obj["timestamp"])})
        except orjson.JSONDecodeError:
            pass
    want = []
    for entry in entries:
        with contextlib.suppress(ValueError):  # a bad rank: skipped
            want.append(_made(output.OutputEvent(entry)))
    with pytest.warns(output.EventlogWarning) as told:
        got = [_made(e) for e in output.output_event_watch(None, path)]
    assert got == want
    assert ["line 8" in str(w.message) for w in told] == [True, False]  # junk, then rank x
    with pytest.warns(output.EventlogWarning):
        events = list(output.output_event_watch(None, path, labelio=True))
    labelled = [e.data for e in events if isinstance(e, output.OutputEvent)]
    assert labelled == [
        "0-1: both\n",
        "0: int ",
        "ts\n0: open ",
        "1: a\n1: b",
        "c\n",
        "hi\n",
        "1: d",
        None,
        "\n",
    ]
