"""Beyond attach: coalesce, timestamps, head/tail, since/until, grep, several
jobs, --split, the failure summary, lines --format, padded labels."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import orjson
import pytest

from tests.conftest import Run
from tests.test_cli_fixtures import expected_files
from tests.test_cli_tty import ANSI, run_in_pty


def write_eventlog(path: Path, data: list[tuple[str, str, str]], ntasks: int) -> Path:
    """An output eventlog: (stream, rank, text) data events, then eofs."""
    lines = [
        {
            "timestamp": 100.0,
            "name": "header",
            "context": {
                "version": 1,
                "encoding": {"stdout": "UTF-8", "stderr": "UTF-8"},
                "count": {"stdout": ntasks, "stderr": ntasks},
                "options": {},
            },
        }
    ]
    for i, (stream, rank, text) in enumerate(data):
        ctx = {"stream": stream, "rank": rank, "data": text}
        lines.append({"timestamp": 101.0 + i, "name": "data", "context": ctx})
    for rank in range(ntasks):
        for stream in ("stdout", "stderr"):
            ctx = {"stream": stream, "rank": str(rank), "eof": True}
            lines.append({"timestamp": 200.0, "name": "data", "context": ctx})
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in lines))
    return path


def test_cat_coalesce_groups_identical_blocks(tmp_path: Path, run: Run) -> None:
    data = [("stdout", str(r), "same\n") for r in range(4)] * 2
    data += [("stdout", "4", "other\n"), ("stdout", "[0-3]", "tail\n"), ("stdout", "4", "tail\n")]
    log = write_eventlog(tmp_path / "output.eventlog", data, 5)
    out, err, rc = run("cat", "--coalesce", log)
    rule = b"-" * 16 + b"\n"
    assert out == (
        rule + b"[0-3]\n" + rule + b"same\nsame\ntail\n" + rule + b"4\n" + rule + b"other\ntail\n"
    )
    assert (err, rc) == (b"", 0)


def test_follow_coalesce_groups_the_same_line_of_every_task(case_dir, run: Run) -> None:
    d = case_dir("many-ranks")
    out, _, rc = run("follow", "--coalesce", "--stream", "stdout", d)
    assert rc == 0
    expected = expected_files(d)
    firsts = [expected[("stdout", r)].split(b"\n")[0] for r in range(16)]
    seconds = {expected[("stdout", r)].split(b"\n")[1] for r in range(16)}
    assert len(seconds) == 1
    want = b"".join(b"%d: %s\n" % (r, firsts[r]) for r in range(16))
    want += b"[0-15]: " + seconds.pop() + b"\n"
    assert out == want


def _stdout_lines(d: Path) -> list[tuple[float, int, bytes]]:
    """(time, rank, line) for each stdout line, from the raw eventlog."""
    out = []
    for raw in (d / "output.eventlog").read_bytes().splitlines():
        e = orjson.loads(raw)
        ctx = e["context"]
        if e["name"] == "data" and ctx["stream"] == "stdout" and ctx.get("data"):
            out.append((e["timestamp"], int(ctx["rank"]), ctx["data"].encode().rstrip(b"\n")))
    return out


def _start(d: Path) -> float:
    for raw in (d / "eventlog").read_bytes().splitlines():
        e = orjson.loads(raw)
        if e["name"] == "start":
            return float(e["timestamp"])
    raise AssertionError("no start event")


def test_timestamps_rel_are_seconds_since_start(case_dir, run: Run) -> None:
    d = case_dir("hello")
    out, _, rc = run("cat", "--timestamps=rel", "-l", "--stream", "stdout", d)
    assert rc == 0
    start = _start(d)
    got = out.split(b"\n")[:-1]
    want = _stdout_lines(d)
    assert len(got) == len(want)
    for line, (ts, rank, text) in zip(got, want, strict=True):
        assert line == b"%9.3fs %d: %s" % (ts - start, rank, text)


@pytest.mark.parametrize(
    ("mode", "pattern"),
    [
        ("abs", rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} hello"),
        ("delta", rb"^\+\d+\.\d{3}s hello"),
    ],
)
def test_timestamp_forms(case_dir, run: Run, mode: str, pattern: bytes) -> None:
    d = case_dir("hello")
    out, _, rc = run("cat", f"--timestamps={mode}", "--stream", "stdout", d)
    assert rc == 0
    lines = out.split(b"\n")[:-1]
    assert len(lines) == 12
    assert all(re.match(pattern, line) for line in lines), lines[:2]
    if mode == "delta":
        assert lines[0].startswith(b"+0.000s ")


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_head_and_tail_count_lines_per_task(case_dir, run: Run, n: int) -> None:
    d = case_dir("unbuffered-partial")  # partial writes: lines span events
    expected = expected_files(d)
    for option, pick in (("--head", slice(None, n)), ("--tail", slice(-n if n else 3, None))):
        out, _, rc = run("cat", option, str(n), "-l", "--stream", "stdout", d)
        assert rc == 0
        got: dict[int, list[bytes]] = {}
        for line in out.split(b"\n")[:-1]:
            label, _, text = line.partition(b": ")
            got.setdefault(int(label), []).append(text)
        for rank in (0, 1):
            lines = expected[("stdout", rank)].split(b"\n")
            if lines[-1] == b"":
                lines.pop()
            want = lines[pick] if n else []
            assert got.get(rank, []) == want, (option, rank)


def test_since_until_window(case_dir, run: Run) -> None:
    d = case_dir("stderr-interleaved")
    start = _start(d)
    lines = _stdout_lines(d)
    times = sorted(ts for ts, _, _ in lines)
    # Bounds half-way between lines, so float rounding cannot move a line across.
    lo, hi = (times[2] + times[3]) / 2, (times[8] + times[9]) / 2
    out, _, rc = run(
        "cat", "--since", f"{lo - start:.6f}s", "--until", f"@{hi:.6f}", "--stream", "stdout", d
    )
    assert rc == 0
    want = b"".join(text + b"\n" for ts, _, text in lines if lo <= ts <= hi)
    assert want.count(b"\n") == 6
    assert out == want
    _, err, rc = run("cat", "--since", "yesterday-ish", d)
    assert rc == 2 and b"invalid time" in err


def test_grep_and_exclude(case_dir, run: Run) -> None:
    d = case_dir("hello")
    out, _, rc = run(
        "cat", "--grep", "line [23]", "--exclude", "rank [12]", "--stream", "stdout", d
    )
    assert rc == 0
    want = [
        text
        for _, _, text in _stdout_lines(d)
        if re.search(rb"line [23]", text) and not re.search(rb"rank [12]", text)
    ]
    assert out == b"".join(t + b"\n" for t in want)
    _, err, rc = run("cat", "--grep", "(", d)
    assert rc == 2 and b"invalid regular expression" in err


def test_highlight_colours_a_terminal_but_never_a_pipe(case_dir, run: Run) -> None:
    d = case_dir("hello")
    plain, _, _ = run("cat", d)
    piped, _, _ = run("cat", "--highlight", "line", d)
    assert piped == plain
    out, rc = run_in_pty(["cat", "--highlight", "line 2", "--stream", "stdout", str(d)])
    assert rc == 0
    assert out.count(b"\x1b[1;7mline 2\x1b[0m") == 4
    assert ANSI.sub(b"", out) == plain


def test_several_jobs_are_prefixed_and_the_worst_status_wins(case_dir, run: Run) -> None:
    hello, failed = case_dir("hello"), case_dir("exit-code")
    out, err, rc = run("follow", hello, failed)
    assert rc == 3
    names = {line.split(b": ", 1)[0] for line in out.split(b"\n")[:-1]}
    assert names == {b"hello", b"exit-code"}
    # Each job's lines, without the prefix, are its own output in order.
    for d in (hello, failed):
        prefix = d.name.encode() + b": "
        mine = [line[len(prefix) :] for line in out.split(b"\n")[:-1] if line.startswith(prefix)]
        assert b"".join(m + b"\n" for m in mine) == (d / "attach.stdout").read_bytes()
    assert b"fluxout: \xc6\x92239Rs6P: task(s) exited with exit code 3\n" in err
    out, _, rc = run("cat", hello, "./no-such-dir")
    assert rc == 1


@pytest.mark.parametrize("case", ["binary", "unbuffered-partial", "no-trailing-newline"])
def test_split_writes_each_task_stream_exactly(
    case: str, case_dir, run: Run, tmp_path: Path
) -> None:
    d = case_dir(case)
    out, err, rc = run("cat", "--split", tmp_path, d)
    assert (out, rc) == (b"", 0)
    assert b"wrote" in err
    for (stream, rank), want in expected_files(d).items():
        suffix = "out" if stream == "stdout" else "err"
        assert (tmp_path / case / f"{rank}.{suffix}").read_bytes() == want


@pytest.mark.parametrize(
    ("case", "name", "lines"),
    [
        ("exit-code", "ƒ239Rs6P", [b"task 2 exited with status 3"]),
        ("signaled", "ƒCGUGSQX", [b"task 1 killed by signal 9 (Killed)"]),
        ("timeout-exception", "ƒ7wmTtST", [b"task 0 killed by signal 14 (Alarm clock)"]),
        ("never-started", "never-started", [b"the job never started"]),
    ],
)
def test_failure_summary(case: str, name: str, lines: list[bytes], case_dir, run: Run) -> None:
    """The summary names the job by its jobid (from the exec eventlog), else
    by its directory's name; the exception attach prints is not repeated."""
    d = case_dir(case)
    _, err, rc = run("follow", d)
    assert rc != 0
    for line in lines:
        assert b"fluxout: " + name.encode() + b": " + line + b"\n" in err
    assert str(d).encode() not in err
    exceptions = (d / "eventlog").read_bytes().count(b'"exception"')
    assert err.count(b"exception") == exceptions
    _, err, rc = run("cat", d)
    assert rc == 0 and not any(line in err for line in lines)


def test_no_summary_for_success(case_dir, run: Run) -> None:
    _, err, rc = run("follow", case_dir("hello"))
    assert rc == 0 and b"fluxout:" not in err


def test_lines_format_substitutes_data_without_interpreting_it(case_dir, run: Run) -> None:
    d = case_dir("utf8-and-escapes")
    out, _, rc = run("lines", "--format", "{rank}|{stream}|{eol}|{line}", "-t", "0", d)
    assert rc == 0
    records = [line.split(b"|", 3) for line in out.split(b"\n")[:-1]]
    stdout = [r[3] for r in records if r[1] == b"stdout"]
    want = (d / "expected" / "stdout.0").read_bytes()
    assert b"\n".join(stdout) == want.rstrip(b"\n")
    assert any(b"{0}" in r[3] or b"%s" in r[3] for r in records)
    _, err, rc = run("lines", "--format", "{nope}", d)
    assert rc == 2 and b"unknown field {nope}" in err


def test_lines_json_marks_non_utf8_as_base64(case_dir, run: Run) -> None:
    import base64

    d = case_dir("binary")
    out, _, rc = run("lines", "--json", "-t", "0", "--stream", "stdout", d)
    assert rc == 0
    records = [orjson.loads(line) for line in io.BytesIO(out)]
    data = b""
    for r in records:
        text = base64.b64decode(r["line"]) if r.get("encoding") == "base64" else r["line"].encode()
        data += text + (b"\n" if r["eol"] else b"")
    assert data == (d / "expected" / "stdout.0").read_bytes()
    assert any(r.get("encoding") == "base64" for r in records)


def test_labels_are_padded_on_a_terminal(case_dir) -> None:
    d = case_dir("many-ranks")
    out, rc = run_in_pty(["cat", "-l", "--stream", "stdout", str(d)])
    plain = ANSI.sub(b"", out)
    assert rc == 0
    assert b" 3: rank 03: line 1" in plain
    assert b"12: rank 12: line 1" in plain


# -- one origin for times: the job's submit ------------------------------------


def _times(listing: bytes) -> dict[bytes, bytes]:
    """'0.767s: output.data {...}' -> {b'output.data {...}': b'0.767'}."""
    out = {}
    for line in listing.splitlines():
        time, _, rest = line.partition(b"s: ")
        out[rest] = time
    return out


def test_events_times_do_not_change_with_eventlog(case_dir, run: Run) -> None:
    d = case_dir("exit-code")
    every, _, rc = run("events", d)
    assert rc == 0 and every.startswith(b"0.000s: main.submit ")
    for eventlog in ("output", "exec"):
        some, _, rc = run("events", "--eventlog", eventlog, d)
        assert rc == 0 and some
        mine = _times(some)
        assert mine.items() <= _times(every).items(), eventlog
        assert not some.startswith(b"0.000s: ")  # the submit came before


def test_lines_and_events_count_from_the_same_submit(case_dir, run: Run) -> None:
    """hello writes one whole line per data event: each line's time is its event's."""
    d = case_dir("hello")
    submit = orjson.loads((d / "eventlog").read_bytes().splitlines()[0])["timestamp"]
    data = [
        e
        for e in map(orjson.loads, (d / "output.eventlog").read_bytes().splitlines())
        if e["name"] == "data" and e["context"].get("data")
    ]
    want = sorted(
        f"{e['timestamp'] - submit:.3f} {e['context']['rank']} {e['context']['data'].rstrip()}"
        for e in data
    )
    lines, _, rc = run("lines", "--format", "{time} {rank} {line}", d)
    assert rc == 0
    assert sorted(lines.decode().splitlines()) == want
    human, _, _ = run("lines", d)
    shown = []
    for ln in human.decode().splitlines():
        time, rank, _stream, text = ln.split(None, 3)
        shown.append(f"{time.removesuffix('s')} {rank} {text}")
    assert sorted(shown) == want
    events, _, _ = run("events", "--eventlog", "output", d)
    first = next(e for e in data)
    assert f"{first['timestamp'] - submit:.3f}s: output.data ".encode() in events


def test_without_the_main_eventlog_times_count_from_the_first_event(
    case_dir, run: Run, tmp_path: Path
) -> None:
    d = tmp_path / "hello"
    shutil.copytree(case_dir("hello"), d)
    (d / "eventlog").unlink()
    events, _, _ = run("events", d)
    assert events.startswith(b"0.000s: exec.init")
    init = orjson.loads((d / "exec.eventlog").read_bytes().splitlines()[0])["timestamp"]
    out, _, _ = run("lines", "--format", "{time}|{timestamp}", d)
    for line in out.splitlines():
        rel, absolute = line.split(b"|")
        assert rel == f"{float(absolute) - init:.3f}".encode()
