"""Hostile input: crafted eventlogs that once took gigabytes, hours or a crash.

A saved eventlog can come from anyone. Each test makes its input here (none
needs more than a few MB on disk) and runs fluxout in a subprocess whose
address space is limited (RLIMIT_AS), so that a regression fails instead of
swapping.
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxout.idset import IdsetError, parse_idset
from fluxout.render.terminal import Terminal
from fluxout.watch import Request, run
from tests.conftest import FIXTURES

# What fluxout may use: its own baseline is about 150 MB of address space.
LIMIT = 600 << 20
HELLO = FIXTURES / "hello"


def fluxout(
    *args: str | Path, stdin: bytes = b"", limit: int = LIMIT, timeout: float = 120, **kw: Any
) -> tuple[bytes, bytes, int]:
    """Run fluxout under an address-space limit: (stdout, stderr, status)."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "fluxout", *map(str, args)],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        preexec_fn=cap,
        check=False,
        **kw,
    )
    assert b"Traceback" not in proc.stderr, proc.stderr[-2000:].decode(errors="replace")
    assert b"internal error" not in proc.stderr, proc.stderr[-2000:].decode(errors="replace")
    assert b"MemoryError" not in proc.stderr
    return proc.stdout, proc.stderr, proc.returncode


def event(name: str, context: dict[str, Any] | None = None, ts: float = 1795619483.0) -> bytes:
    entry: dict[str, Any] = {"timestamp": ts, "name": name}
    if context is not None:
        entry["context"] = context
    return orjson.dumps(entry) + b"\n"


def header(ntasks: int) -> bytes:
    count = {"stdout": ntasks, "stderr": ntasks}
    return event("header", {"version": 1, "encoding": {}, "count": count, "options": {}})


def data(rank: str, text: str, stream: str = "stdout") -> bytes:
    return event("data", {"stream": stream, "rank": rank, "data": text})


# -- one event for a million tasks ----------------------------------------------------


def test_ranks_past_the_task_count_are_not_expanded(tmp_path: Path) -> None:
    """200 events of "[0-1048575]" in a 2-task job: once 34 s and 6.4 GB."""
    log = header(2) + b"".join(data("[0-1048575]", f"line {i}\n") for i in range(200))
    out, err, rc = fluxout("cat", "-l", "-", stdin=log)
    assert out == b"".join(f"{r}: line {i}\n".encode() for i in range(200) for r in (0, 1))
    assert err.count(b"\n") == 1  # one warning for the rank string, not 200
    assert b"past the job's 2 tasks: only [0-1] kept" in err
    assert rc == 0
    out, _, rc = fluxout("lines", "--json", "-", stdin=log)
    assert len(out.splitlines()) == 400 and rc == 0
    out, _, rc = fluxout("cat", "--coalesce", "-", stdin=log)
    assert out.startswith(b"----------------\n[0-1]\n----------------\nline 0\n") and rc == 0
    out, err, rc = fluxout("cat", "--split", tmp_path / "out", "-", stdin=log)
    assert rc == 0
    assert sum(1 for p in (tmp_path / "out").rglob("*") if p.is_file()) == 4  # .out, .err


def test_an_event_of_no_task_of_the_job_is_an_error() -> None:
    out, err, rc = fluxout(
        "cat", "-l", "-", stdin=header(2) + data("[5-9]", "x\n") + data("1", "y\n")
    )
    assert out == b"1: y\n"
    assert b"line 2: data event: rank '[5-9]' is past the job's 2 tasks" in err
    assert rc == 1


def test_many_distinct_rank_strings_of_many_tasks_stay_bounded() -> None:
    """Each rank string of 100k tasks once kept its labels (75 MB per string
    for 1M tasks) in a cache never freed."""
    ntasks = 100_000
    ranks = [f"[{i}-{ntasks - 1}]" for i in range(30)]
    log = header(ntasks) + b"".join(data(r, "x\n") for r in ranks)
    out, err, rc = fluxout("cat", "-l", "-", stdin=log, limit=400 << 20)
    assert rc == 0, err
    assert out.count(b"\n") == sum(ntasks - i for i in range(30))
    assert out.startswith(b"0: x\n1: x\n")


def test_one_event_may_expand_only_so_far() -> None:
    """tasks x bytes past 256 MiB: one line, and the rest is still read."""
    ntasks = 1 << 20
    log = header(ntasks) + data(f"[0-{ntasks - 1}]", "y" * 300 + "\n") + data("7", "after\n")
    out, err, rc = fluxout("cat", "-l", "-", stdin=log)
    assert out == b"7: after\n"
    assert err == (
        b"fluxout: -: output eventlog line 2: data event for 1048576 tasks of 301 bytes "
        b"each skipped (301 MiB in all, more than 256 MiB)\n"
    )
    assert rc == 1
    # Raw output writes the data once, as attach does: nothing to limit.
    out, err, rc = fluxout("cat", "-", stdin=log)
    assert out == b"y" * 300 + b"\nafter\n" and rc == 0


def test_one_event_of_ten_million_lines(tmp_path: Path) -> None:
    """Once 41 s and 2.1 GB with cat -l: now a slice at a time."""
    text = "abcdefgh\n" * 3_000_000
    log = header(1) + data("0", text)
    out, err, rc = fluxout("cat", "-l", "-", stdin=log)
    assert rc == 0, err
    assert len(out) == 3_000_000 * len(b"0: abcdefgh\n")
    assert out[:24] == b"0: abcdefgh\n0: abcdefgh\n"
    out, err, rc = fluxout("lines", "--json", "-", stdin=log)
    assert rc == 0 and out.count(b"\n") == 3_000_000


# -- not an eventlog at all ----------------------------------------------------------


def test_dev_zero_says_so_as_the_line_passes_the_limit() -> None:
    """/dev/zero ran on without a word: the line is reported as it passes
    256 MiB, while fluxout still runs (its own words are flushed at once,
    even into a pipe), and reading goes on in bounded memory."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))

    proc = subprocess.Popen(
        [sys.executable, "-m", "fluxout", "cat", "/dev/zero"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=cap,
    )
    try:
        assert proc.stderr is not None
        ready, _, _ = select.select([proc.stderr], [], [], 120)
        line = proc.stderr.readline() if ready else b"(nothing within 120 s)"
        running = proc.poll() is None
    finally:
        proc.kill()
        proc.communicate()
    assert line == b"fluxout: /dev/zero: output eventlog line 1: line longer than 256 MiB skipped\n"
    assert running  # said while reading, not at the end


def test_huge_values_are_quoted_short() -> None:
    """A 20 MB event name was quoted whole into each warning."""
    name = "n" * 20_000_000
    log = header(1) + event(name, {}) + data("x" * 5_000_000, "a\n") + data("0", "b\n")
    out, err, rc = fluxout("cat", "-", stdin=log)
    assert out == b"b\n"
    assert len(err) < 600, err[:600]
    assert b"(20000000 characters)" in err and b"(5000000 characters)" in err
    assert rc == 1


def test_a_huge_rank_number_is_quoted_short() -> None:
    with pytest.raises(IdsetError) as info:
        parse_idset("9" * 300)
    message = str(info.value)
    assert message.endswith(f"{'9' * 80}... (300 characters) is larger than 4294967294")
    assert len(message) < 300
    log = header(1) + data("9" * 300, "x\n") + data("0", "y\n")
    out, err, rc = fluxout("cat", "-", stdin=log)
    assert out == b"y\n" and rc == 1
    assert err.endswith(b"... (300 characters) is larger than 4294967294)\n")
    assert len(err) < 400


def test_warnings_are_bounded_too() -> None:
    log = header(1) + b"".join(event(f"unknown-{i}") for i in range(1000)) + data("0", "ok\n")
    out, err, rc = fluxout("cat", "-", stdin=log)
    assert out == b"ok\n"
    lines = err.splitlines()
    assert len(lines) == 22
    assert lines[-2] == b"fluxout: -: too many warnings: only counting the rest"
    assert lines[-1] == b"fluxout: -: 1000 warnings in all"
    assert rc == 0


# -- crashes ------------------------------------------------------------------------


def test_events_nested_300_deep() -> None:
    nested: Any = "leaf"
    for _ in range(300):
        nested = {"k": nested}
    context = {"rank": 0, "level": 3, "message": "m", "deep": nested}
    entry = {"timestamp": 1795619483.0, "name": "log", "context": context}
    log = header(1) + json.dumps(entry).encode() + b"\n"  # orjson writes 254 levels at most
    out, err, rc = fluxout("events", "--json", "-", stdin=log)
    assert rc == 0, err
    assert json.loads(out.splitlines()[1])["context"]["deep"] == nested
    out, err, rc = fluxout("events", "-", stdin=log)
    assert rc == 0 and out.count(b"\n") == 2


@pytest.mark.parametrize("ts", ["1e300", "18446744073709551615", "-1e18"])
def test_timestamps_no_clock_can_show(ts: str) -> None:
    log = header(1) + f'{{"timestamp":{ts},"name":"data","context":'.encode()
    log += b'{"stream":"stdout","rank":"0","data":"x\\n"}}\n'
    for how in ("abs", "rel", "delta"):
        out, err, rc = fluxout("cat", f"--timestamps={how}", "-", stdin=log)
        assert rc == 0, err
        assert out.endswith(b" x\n")
    out, _, rc = fluxout("cat", "--timestamps=abs", "-", stdin=log)
    assert out == f"{float(ts):.3f} x\n".encode()


def _job_dir(tmp_path: Path, finish: int | None, task_exit: int | None) -> Path:
    job = tmp_path / "job"
    job.mkdir()
    (job / "output.eventlog").write_bytes((HELLO / "output.eventlog").read_bytes())
    main = [
        event("submit", {}, 1.0),
        event("start", {}, 2.0),
        event("finish", {"status": finish}, 3.0),
        event("clean", {}, 4.0),
    ]
    (job / "eventlog").write_bytes(b"".join(main))
    exits = [event("shell.task-exit", {"rank": 0, "exitcode": task_exit, "signaled": 0}, 2.5)]
    (job / "exec.eventlog").write_bytes(event("init", {}, 1.5) + b"".join(exits))
    return job


def test_wait_statuses_no_wait_gives(tmp_path: Path) -> None:
    job = _job_dir(tmp_path, 4294967296, 2**31)
    out, err, rc = fluxout("follow", job)
    assert out == (HELLO / "attach.stdout").read_bytes()
    assert b"unexpected wait(2) status 4294967296" in err
    assert rc == 1
    out, err, rc = fluxout("cat", "--wait", job)
    assert rc == 1


def test_a_huge_tail_is_every_line() -> None:
    out, err, rc = fluxout("cat", "--tail", "99999999999999999999", HELLO)
    assert (out, rc) == ((HELLO / "attach.stdout").read_bytes(), 0), err
    out, err, rc = fluxout("cat", "--head", "99999999999999999999", HELLO)
    assert (out, rc) == ((HELLO / "attach.stdout").read_bytes(), 0), err


def _closed(fd: int, *args: str) -> tuple[bytes, bytes, int]:
    """fluxout started with one of its standard file descriptors closed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "fluxout", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(fd),
    )
    out, err = proc.communicate(timeout=60)
    return out, err, proc.returncode


def test_closed_standard_streams() -> None:
    hello = str(HELLO)
    _, err, rc = _closed(1, "cat", hello)
    assert (err, rc) == (b"fluxout: cannot write to stdout: it is closed\n", 1)
    out, _, rc = _closed(2, "cat", hello)
    assert (out, rc) == ((HELLO / "attach.stdout").read_bytes(), 0)
    out, err, rc = _closed(0, "cat", "-", hello)
    lines = (HELLO / "attach.stdout").read_bytes().splitlines(keepends=True)
    assert out == b"".join(b"hello: " + line for line in lines)  # the next job is still shown
    assert err.startswith(b"fluxout: -: cannot read stdin: it is closed\n")
    assert rc == 1


def test_a_bug_in_one_job_does_not_stop_the_others(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from fluxout.job import JobOutput

    feed = JobOutput.feed

    def broken(self: JobOutput, eventlog: str, chunk: bytes) -> None:
        if self.name == "./first":
            raise RuntimeError("boom")
        feed(self, eventlog, chunk)

    monkeypatch.setattr(JobOutput, "feed", broken)
    (tmp_path / "first").symlink_to(HELLO)
    (tmp_path / "hello").symlink_to(HELLO)
    monkeypatch.chdir(tmp_path)
    for command, follow in (("cat", False), ("follow", True)):
        term = Terminal(io.BytesIO(), io.BytesIO(), False, False, False, {})
        rc = run(Request(command, ["./first", "./hello"], follow=follow), term)
        assert isinstance(term.stdout, io.BytesIO) and isinstance(term.stderr, io.BytesIO)
        expected = (HELLO / "attach.stdout").read_bytes().splitlines(keepends=True)
        assert term.stdout.getvalue() == b"".join(b"hello: " + line for line in expected)
        assert b"fluxout: ./first: internal error: RuntimeError: boom" in term.stderr.getvalue()
        assert rc == 1


# -- RFC 22, exactly -------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["0\n", " 0", "\u20280", "0\t", "\u0660", "+1", "0x1"])
def test_idsets_are_rfc22_exactly(bad: str) -> None:
    with pytest.raises(IdsetError):
        parse_idset(bad)


def test_a_rank_with_a_newline_is_no_label() -> None:
    log = header(1) + data("0\n", "x\n") + data("0", "y\n")
    out, err, rc = fluxout("cat", "-u", "-l", "-", stdin=log)
    assert out == b"0: y\n"
    assert b"bad rank '0\\n'" in err
    assert rc == 1


def test_follow_coalesce_does_not_pile_up(tmp_path: Path) -> None:
    """One task far ahead of the other: its lines go out, memory bounded."""
    job = tmp_path / "job"
    job.mkdir()
    for name in ("eventlog", "exec.eventlog"):
        (job / name).write_bytes((HELLO / name).read_bytes())
    lines = 300_000
    chunk = "".join(f"line {i}\n" for i in range(1000))
    log = header(2) + data("1", "only\n") + b"".join(data("0", chunk) for _ in range(lines // 1000))
    log += event("data", {"stream": "stdout", "rank": "[0-1]", "eof": True})
    log += event("data", {"stream": "stderr", "rank": "[0-1]", "eof": True})
    (job / "output.eventlog").write_bytes(log)
    out, err, rc = fluxout("follow", "--coalesce", job, limit=230 << 20)
    assert rc == 0, err
    assert out.count(b"\n") == lines + 1
    assert out.startswith(b"[0-1]: line 0\n") or out.startswith(b"0: line 0\n")


# -- properties over crafted values ----------------------------------------------------

_RFC22 = re.compile(r"(0|[1-9][0-9]*)(-(0|[1-9][0-9]*))?(,(0|[1-9][0-9]*)(-(0|[1-9][0-9]*))?)*")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789-,[] \n\t\u2028\u0660x", max_size=24))
def test_crafted_rank_strings_are_rfc22_or_an_error(text: str) -> None:
    """What parses is RFC 22 to the letter; nothing else parses, nothing raises
    but IdsetError."""
    try:
        ids = parse_idset(text)
    except IdsetError:
        return
    body = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    assert body == "" or _RFC22.fullmatch(body)
    assert ids.format(brackets=False) == "" or parse_idset(ids.format()) == ids


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.integers(min_value=-(2**63), max_value=2**64 - 1).map(float),
    )
)
def test_any_timestamp_renders(ts: float) -> None:
    from fluxout.lines import Line
    from fluxout.render.output import LineFormat, Output, TextRenderer
    from fluxout.render.sink import Sink

    for how in ("abs", "rel", "delta"):
        term = Terminal(io.BytesIO(), io.BytesIO(), False, False, False, {})
        output = Output(term, Sink(term.stdout, term.stderr, False), (False, False), False)
        renderer = TextRenderer(output, LineFormat(timestamps=how))
        renderer.lines([Line(ts, "stdout", 0, b"x", True)], 0.0)
        renderer.flush()
        assert isinstance(term.stdout, io.BytesIO)
        assert term.stdout.getvalue().endswith(b" x\n")


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_any_wait_status_gives_an_exit_code(status: int) -> None:
    from fluxout.status import waitstatus_to_exitcode

    code, message = waitstatus_to_exitcode(status)
    assert 0 <= code <= 255
    assert (code == 0) == (message == "")
