"""follow --stall: a task quiet for DURATION while others write is told of,
and again when it resumes; finished tasks never are.

Times are the job's own (its events' timestamps), so the expected messages
are computed here from the events each test writes.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from fluxout.render.terminal import Terminal
from fluxout.sources.flux import boundary as flux_boundary
from fluxout.stall import StallTracker, format_duration
from fluxout.watch import Request, run
from tests.conftest import Run
from tests.fakeflux import FakeFlux

T0 = 1000.0


def header(ts: float, ntasks: int) -> bytes:
    return orjson.dumps(
        {
            "timestamp": ts,
            "name": "header",
            "context": {
                "version": 1,
                "encoding": {"stdout": "UTF-8", "stderr": "UTF-8"},
                "count": {"stdout": ntasks, "stderr": ntasks},
                "options": {},
            },
        }
    )


def data(ts: float, rank: int, text: str, stream: str = "stdout", eof: bool = False) -> bytes:
    ctx: dict[str, Any] = {"stream": stream, "rank": str(rank), "data": text}
    if eof:
        ctx["eof"] = True
    return orjson.dumps({"timestamp": ts, "name": "data", "context": ctx})


def eofs(ts: float, ranks: range) -> list[bytes]:
    return [data(ts, r, "", s, eof=True) for r in ranks for s in ("stdout", "stderr")]


def job_events(start: float, quiet: tuple[float, float], end: float, step: float) -> list[bytes]:
    """Rank 0 writes every ``step`` s from ``start`` to ``end``; rank 1 too,
    half a step later, except from quiet[0] to quiet[1]."""
    out = []
    t = start
    while t < end:
        out.append(data(t, 0, f"zero {t:.3f}\n"))
        t1 = t + step / 2
        if not quiet[0] <= t1 < quiet[1]:
            out.append(data(t1, 1, f"one {t1:.3f}\n"))
        t += step
    return out


def expected_messages(lines: list[bytes], job: str, duration: float) -> list[str]:
    """What --stall says of rank 1, from the events: computed the tracker's
    way (the first write of another task DURATION after rank 1's last)."""
    last1 = None
    told = None
    out = []
    for line in lines:
        event = orjson.loads(line)
        if event["name"] != "data" or not event["context"]["data"]:
            continue
        ts, rank = event["timestamp"], int(event["context"]["rank"])
        if rank == 1:
            if told is not None:
                out.append(f"fluxout: {job}: task 1 resumed after {format_duration(ts - told)}")
                told = None
            last1 = ts
        elif last1 is not None and told is None and ts - last1 >= duration:
            quiet = format_duration(ts - last1)
            out.append(f"fluxout: {job}: task 1 wrote nothing for {quiet} (others still write)")
            told = last1
    return out


def test_saved_eventlog(run: Run, tmp_path: Path) -> None:
    events = job_events(T0 + 1, (T0 + 10, T0 + 50), T0 + 60, 1.0)
    lines = [header(T0, 2), *events, *eofs(T0 + 61, range(2))]
    path = tmp_path / "job.eventlog"
    path.write_bytes(b"\n".join(lines) + b"\n")
    out, err, rc = run("follow", "--stall", "30s", path)
    assert rc == 0
    assert out.count(b"\n") == len(events)
    want = expected_messages(lines, "job.eventlog", 30.0)
    assert len(want) == 2 and "wrote nothing for 30s" in want[0] and "resumed after 41s" in want[1]
    told = [line for line in err.decode().splitlines() if "task 1" in line]
    assert told == want
    # No --stall, no word of it; a longer one than the gap, none either.
    _, err, _ = run("follow", path)
    assert b"task 1" not in err
    _, err, _ = run("follow", "--stall", "2m", path)
    assert b"task 1" not in err


def test_finished_task_is_not_stalled(run: Run, tmp_path: Path) -> None:
    # Rank 1 writes 5 lines and ends (eof on both streams); rank 0 goes on.
    lines = [header(T0, 2)]
    lines += [data(T0 + t, 1, f"{t}\n") for t in range(5)]
    lines += eofs(T0 + 5, range(1, 2))
    lines += [data(T0 + t, 0, f"{t}\n") for t in range(60)]
    lines += eofs(T0 + 61, range(1))
    path = tmp_path / "ended.eventlog"
    path.write_bytes(b"\n".join(lines) + b"\n")
    _, err, rc = run("follow", "--stall", "10s", path)
    assert rc == 0 and b"task 1" not in err and b"wrote nothing" not in err


def test_task_selection_and_silent_task(run: Run, tmp_path: Path) -> None:
    # Rank 2 never writes: it is stalled from the header on; -t 0,1 keeps it quiet.
    lines = [header(T0, 3), *job_events(T0 + 1, (0, 0), T0 + 20, 1.0), *eofs(T0 + 21, range(3))]
    path = tmp_path / "silent.eventlog"
    path.write_bytes(b"\n".join(lines) + b"\n")
    _, err, _ = run("follow", "--stall", "5s", path)
    assert b"task 2 wrote nothing for 5s (others still write)" in err
    _, err, _ = run("follow", "--stall", "5s", "-t", "0,1", path)
    assert b"wrote nothing" not in err


def test_bad_durations_are_usage_errors(run: Run, tmp_path: Path) -> None:
    for bad in ("0", "soon", "-3s", ""):
        out, err, rc = run("follow", "--stall", bad, tmp_path)
        assert rc == 2 and out == b"" and b"--stall" in err, bad
        assert err.count(b"\n") == 1


def test_follow_of_a_file_being_appended(tmp_path: Path) -> None:
    """The warning comes while the file is still growing, before the task
    writes again; the resume once it does."""
    path = tmp_path / "growing.eventlog"
    first = [header(T0, 2), *job_events(T0 + 1, (T0 + 5, T0 + 100), T0 + 20, 1.0)]
    path.write_bytes(b"\n".join(first) + b"\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "fluxout", "follow", "--stall", "3s", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline().decode()
        assert line == expected_messages(first, "growing.eventlog", 3.0)[0] + "\n"
        assert proc.poll() is None  # still following: nothing has ended
        more = [
            data(T0 + 20.5, 1, "one back\n"),
            data(T0 + 21, 0, "zero\n"),
            *eofs(T0 + 22, range(2)),
        ]
        with open(path, "ab") as f:
            f.write(b"\n".join(more) + b"\n")
        rest = proc.stderr.read().decode()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
    want = expected_messages(first + more, "growing.eventlog", 3.0)
    assert [line.rstrip("\n"), *(x for x in rest.splitlines() if "task 1" in x)] == want


def _fake_case(case: Path, tmp_path: Path, duration: float) -> tuple[Path, list[bytes]]:
    """The fixture job, its output replaced by two tasks' where rank 1 goes
    quiet, in the job's own time (between its start and its finish)."""
    dest = tmp_path / "stalling"
    shutil.copytree(case, dest)
    main = [orjson.loads(x) for x in (dest / "eventlog").read_bytes().splitlines()]
    start = next(e["timestamp"] for e in main if e["name"] == "start")
    finish = next(e["timestamp"] for e in main if e["name"] == "finish")
    span = finish - start
    step = span / 40
    events = job_events(start + step, (start + span * 0.3, start + span * 0.7), finish - step, step)
    lines = [header(start + step / 2, 2), *events, *eofs(finish - step / 2, range(2))]
    (dest / "output.eventlog").write_bytes(b"\n".join(lines) + b"\n")
    return dest, lines


def test_live_through_the_fake_boundary(
    case_dir: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d, lines = _fake_case(case_dir("hello"), tmp_path, 0.0)
    fake = FakeFlux(d, scale=0.5, start_at=0.0)  # replayed at half the job's pace
    monkeypatch.setattr(flux_boundary, "connect", lambda uri, name: fake)
    main = [orjson.loads(x) for x in (d / "eventlog").read_bytes().splitlines()]
    span = next(e["timestamp"] for e in main if e["name"] == "finish") - next(
        e["timestamp"] for e in main if e["name"] == "start"
    )
    duration = span * 0.2
    term = Terminal(io.BytesIO(), io.BytesIO(), False, False, False, {})
    rc = run(Request("follow", [fake.f58], follow=True, stall=duration), term)
    assert rc == 0 and fake.hazards == []
    assert isinstance(term.stderr, io.BytesIO)
    told = [x for x in term.stderr.getvalue().decode().splitlines() if "task 1" in x]
    want = expected_messages(lines, fake.f58, duration)
    assert len(want) == 2 and told == want


def test_status_line_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fluxout.sources.file

    # The file read in small chunks, as a live job's output comes.
    monkeypatch.setattr(fluxout.sources.file, "CHUNK", 256)
    lines = [header(T0, 2), *job_events(T0 + 1, (T0 + 5, T0 + 100), T0 + 20, 1.0)]
    lines += eofs(T0 + 21, range(2))
    path = tmp_path / "tty.eventlog"
    path.write_bytes(b"\n".join(lines) + b"\n")
    term = Terminal(io.BytesIO(), io.BytesIO(), True, True, False, {"COLUMNS": "100"})
    rc = run(Request("follow", [str(path)], follow=True, stall=3.0), term)
    assert rc == 0
    assert isinstance(term.stderr, io.BytesIO)
    err = term.stderr.getvalue().decode()
    assert "task 1 stalled (nothing for 3s+)" in err
    # Drawn with attach's carriage return and erase, and each draw erased
    # before anything else is written.
    drawn = err.count("\r\x1b[K\x1b[2m")
    assert drawn >= 1 and err.count("\r\x1b[K") - drawn >= 1
    assert not re.search(r"\x1b\[2mfluxout: [^\r]*\x1b\[0m(?!\r)", err)


def test_tracker_resumes_and_folds_duration() -> None:
    said: list[str] = []
    tracker = StallTracker("J", 2.0, None, said.append)
    feed = [header(0.0, 2), data(0.1, 0, "a\n"), data(0.2, 1, "b\n"), data(2.5, 0, "c\n")]
    tracker.feed("output", b"\n".join(feed) + b"\n")
    assert said == ["J: task 1 wrote nothing for 2.3s (others still write)"]
    assert tracker.status() == "J: task 1 stalled (nothing for 2s+)"
    tracker.feed("output", data(3.0, 1, "d\n") + b"\n")
    assert said[-1] == "J: task 1 resumed after 2.8s" and tracker.status() == ""
    exit_event = {"timestamp": 3.1, "name": "shell.task-exit", "context": {"rank": 1}}
    tracker.feed("exec", orjson.dumps(exit_event) + b"\n")
    tracker.feed("output", data(9.0, 0, "e\n") + b"\n")
    assert len(said) == 2  # rank 1 exited: not stalled
    assert [format_duration(x) for x in (0.05, 1.25, 30, 90, 3600)] == [
        "0.05s",
        "1.2s",
        "30s",
        "1m30s",
        "1h0m",
    ]


FLUX = os.environ.get("FLUXOUT_TEST_FLUX") or shutil.which("flux")


@pytest.mark.skipif(not FLUX, reason="no flux command: put flux on PATH or set FLUXOUT_TEST_FLUX")
def test_live_rank_1_sleeps(tmp_path: Path) -> None:
    """A real 2-task job: rank 0 prints every 0.1 s for 4 s, rank 1 prints,
    sleeps 2 s, prints again."""
    from tests.test_integration import in_instance, result

    script = r"""
id=$($FLUX submit -n2 sh -c 'if [ "$FLUX_TASK_RANK" = 1 ]; then echo one; sleep 2; echo back;
    else i=0; while [ $i -lt 40 ]; do echo $i; sleep 0.1; i=$((i+1)); done; fi')
echo "$id" >jobid
save follow fo follow --stall 1s $id
save json fo stats --json $id
"""
    proc = in_instance(tmp_path, script)
    assert proc.returncode == 0, proc.stderr
    out, err, rc = result(tmp_path, "follow")
    assert rc == 0 and out.count(b"\n") == 42  # every line still shown
    jobid = (tmp_path / "jobid").read_text().strip()
    text = err.decode()
    assert f"fluxout: {jobid}: task 1 wrote nothing for 1" in text, text
    assert f"fluxout: {jobid}: task 1 resumed after 2" in text, text
    assert text.index("wrote nothing") < text.index("resumed")
    rows = [json.loads(x) for x in result(tmp_path, "json")[0].splitlines()]
    one = next(r for r in rows if r["rank"] == 1 and r["stream"] == "stdout")
    assert one["lines"] == 2 and one["last"] - one["first"] >= 1.9
    zero = next(r for r in rows if r["rank"] == 0 and r["stream"] == "stdout")
    assert zero["lines"] == 40


def test_several_jobs_each_tracked(run: Run, tmp_path: Path) -> None:
    """follow of several jobs (a reader thread each): each job's stalls are
    told under its own name, from its own events."""
    quiet = {"a": (T0 + 10, T0 + 50), "b": (T0 + 30, T0 + 45)}
    want = []
    paths = []
    for name, window in quiet.items():
        lines = [header(T0, 2), *job_events(T0 + 1, window, T0 + 60, 1.0), *eofs(T0 + 61, range(2))]
        path = tmp_path / name
        path.write_bytes(b"\n".join(lines) + b"\n")
        paths.append(path)
        want += expected_messages(lines, name, 10.0)
    out, err, rc = run("follow", "--stall", "10s", *paths)
    assert rc == 0 and len(want) == 4
    written = [x for p in paths for x in p.read_bytes().splitlines() if b'"data":""' not in x]
    assert out.count(b"\n") == len(written) - 2  # every line shown (the headers aside)
    told = [line for line in err.decode().splitlines() if "task 1" in line]
    assert sorted(told) == sorted(want)
    for name in quiet:  # in order within each job
        assert [x for x in told if x.startswith(f"fluxout: {name}:")] == [
            x for x in want if x.startswith(f"fluxout: {name}:")
        ]
