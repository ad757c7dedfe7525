"""fluxout stats: per task and stream lines, bytes, times, exit status.

The numbers are checked against each fixture's expected/ files (the bytes
each task wrote, captured from real Flux 0.88.0), counted here: never
written into the test.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from fluxout.render.stats import sparkline
from fluxout.render.terminal import Terminal
from fluxout.sources.flux import boundary as flux_boundary
from fluxout.stats import SLOTS, Grid
from fluxout.statsrun import run_stats
from fluxout.watch import Request
from tests.conftest import CASES, Run
from tests.fakeflux import FakeFlux

REDIRECTED = ("redirect", "redirect-many-ranks", "redirect-per-task", "label-io-file")


def expected_counts(case: Path) -> dict[tuple[int, str], tuple[int, int]]:
    """(rank, stream) -> (lines, bytes) of expected/: a last line without
    a newline counts as a line."""
    out = {}
    for f in (case / "expected").iterdir():
        stream, rank = f.name.split(".")
        data = f.read_bytes()
        lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
        out[(int(rank), stream)] = (lines, len(data))
    return out


def rows(stdout: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.mark.parametrize("case", CASES)
def test_counts_equal_expected(case: str, case_dir: Any, run: Run) -> None:
    d = case_dir(case)
    if not (d / "expected").is_dir():
        pytest.skip("the job never started: no expected output")
    out, err, rc = run("stats", "--json", d)
    assert rc == 0, err
    got = {(r["rank"], r["stream"]): r for r in rows(out)}
    want = expected_counts(d)
    assert set(got) == set(want)
    if case in REDIRECTED:
        # The KVS holds no data: the rows say where the streams went.
        redirected = [r for r in got.values() if r["redirect"] is not None]
        assert redirected and all(r["lines"] == 0 for r in redirected)
        return
    for key, (lines, size) in want.items():
        assert (got[key]["lines"], got[key]["bytes"]) == (lines, size), key
        written = got[key]
        if size:
            assert written["first"] is not None and written["first"] <= written["last"]
            assert sum(written["activity"]["bytes"]) > 0
        else:
            assert written["first"] is None and written["last"] is None


def test_fast_lane_equals_careful_path(case_dir: Any, run: Run, tmp_path: Path) -> None:
    """An eventlog whose data events all take the careful path (each rank
    as an idset "[R]" is learnt, but eof on every event forbids the lane)
    gives the same numbers as the plain one."""
    d = case_dir("many-small-lines")
    plain, err, rc = run("stats", "--json", d / "output.eventlog")
    assert rc == 0, err
    careful = tmp_path / "careful.eventlog"
    with open(d / "output.eventlog", "rb") as src, open(careful, "wb") as dst:
        for line in src:
            event = orjson.loads(line)
            if event["name"] == "data":
                event["context"]["rank"] = f"[{event['context']['rank']}]"
                event["context"]["eof"] = event["context"].get("eof", False)
            dst.write(orjson.dumps(event) + b"\n")
    slow, err, rc = run("stats", "--json", careful)
    assert rc == 0, err

    def numbers(out: bytes) -> list[tuple[Any, ...]]:
        return [(r["rank"], r["stream"], r["lines"], r["bytes"], r["first"]) for r in rows(out)]

    assert numbers(plain) == numbers(slow)
    assert sum(r["lines"] for r in rows(plain)) > 1000


def test_exit_status_per_task(case_dir: Any, run: Run) -> None:
    out, _, rc = run("stats", "--json", "--stream", "stdout", case_dir("exit-code"))
    assert rc == 0
    exits = {r["rank"]: r["exit"] for r in rows(out)}
    # Flux posts shell.task-exit for the first task to exit: rank 2 here.
    assert exits[2] == {"code": 3, "signal": None, "from": "task-exit"}
    assert all(exits[r] == {"code": 3, "signal": None, "from": "job"} for r in (0, 1, 3))
    out, _, _ = run("stats", "--json", "-t", "1", "--stream", "stdout", case_dir("signaled"))
    (row,) = rows(out)
    assert row["exit"] == {"code": None, "signal": 9, "from": "task-exit"}


def test_table_in_a_pipe(case_dir: Any, run: Run) -> None:
    out, err, rc = run("stats", "-t", "2", case_dir("exit-code"))
    assert rc == 0 and err == b""
    text = out.decode()
    header, *lines = text.splitlines()
    assert header.split() == [
        "RANK",
        "STREAM",
        "LINES",
        "BYTES",
        "FIRST",
        "LAST",
        "EXIT",
        "HOST",
        "OUTPUT",
    ]
    assert len(lines) == 2 and "\x1b" not in text
    stdout_row = lines[0].split()
    want = expected_counts(case_dir("exit-code"))[(2, "stdout")]
    assert stdout_row[:4] == ["2", "stdout", str(want[0]), str(want[1])]
    assert "exit 3" in lines[0] and "(job)" not in lines[0]


def test_several_jobs_and_selection(case_dir: Any, run: Run) -> None:
    hello, code = case_dir("hello"), case_dir("exit-code")
    out, _, rc = run("stats", "--json", "-t", "0,3", "--stream", "stderr", hello, code)
    assert rc == 0
    got = [(r["job"], r["rank"], r["stream"]) for r in rows(out)]
    assert got == [(str(j), r, "stderr") for j in (hello, code) for r in (0, 3)]
    table, _, _ = run("stats", "-t", "0", hello, code)
    assert table.splitlines()[0].split()[0] == b"JOB"
    assert [line.split()[0] for line in table.splitlines()[1:]] == [b"hello"] * 2 + [
        b"exit-code"
    ] * 2


def test_no_task_selected_warns(case_dir: Any, run: Run) -> None:
    out, err, rc = run("stats", "--json", "-t", "100", case_dir("hello"))
    assert rc == 0 and out == b""
    assert err.startswith(b"fluxout: ") and err.count(b"\n") == 1
    assert err.endswith(b": warning: -t 100 selects no task of the job's 4 (0-3)\n")


def test_errors_and_usage(case_dir: Any, run: Run, tmp_path: Path) -> None:
    out, err, rc = run("stats", "--json", tmp_path / "nope", case_dir("hello"))
    assert rc == 1
    assert err.startswith(b"fluxout: ") and err.count(b"\n") == 1
    assert len(rows(out)) == 8  # the other job is still shown
    _, err, rc = run("stats", "-t", "x", case_dir("hello"))
    assert rc == 2 and b"-t" in err and b"Traceback" not in err
    _, err, rc = run("stats", "--stream", "both", case_dir("hello"))
    assert rc == 2 and b"--stream" in err
    _, err, rc = run("stats", "--timestamps", case_dir("hello"))
    assert rc == 2


def test_bad_lines_are_status_1(case_dir: Any, run: Run, tmp_path: Path) -> None:
    src = (case_dir("hello") / "output.eventlog").read_bytes().splitlines(keepends=True)
    bad = tmp_path / "bad.eventlog"
    bad.write_bytes(b"".join([*src[:3], b"{not json\n", *src[3:]]))
    out, err, rc = run("stats", "--json", bad)
    assert rc == 1
    assert b"output eventlog line 4" in err
    # Everything valid around the bad line is still counted.
    want = expected_counts(case_dir("hello"))
    got = {(r["rank"], r["stream"]): (r["lines"], r["bytes"]) for r in rows(out)}
    assert got == want


def test_stdin(case_dir: Any, run: Run) -> None:
    data = (case_dir("hello") / "output.eventlog").read_bytes()
    out, err, rc = run("stats", "--json", "-", stdin=data)
    assert rc == 0, err
    assert {(r["rank"], r["stream"]): (r["lines"], r["bytes"]) for r in rows(out)} == (
        expected_counts(case_dir("hello"))
    )


def _eventlog(events: list[tuple[float, int, str]], ntasks: int) -> bytes:
    header = {
        "timestamp": 100.0,
        "name": "header",
        "context": {
            "version": 1,
            "encoding": {"stdout": "UTF-8", "stderr": "UTF-8"},
            "count": {"stdout": ntasks, "stderr": ntasks},
            "options": {},
        },
    }
    lines = [orjson.dumps(header)]
    for ts, rank, text in events:
        ctx = {"stream": "stdout", "rank": str(rank), "data": text}
        lines.append(orjson.dumps({"timestamp": ts, "name": "data", "context": ctx}))
    return b"\n".join(lines) + b"\n"


def test_sparkline_shows_a_task_that_stopped_early(run: Run, tmp_path: Path) -> None:
    # Rank 0 writes for 100 s, rank 1 stops after 20 s.
    events = [(100.0 + t, 0, f"line {t}\n") for t in range(100)]
    events += [(100.0 + t + 0.5, 1, f"line {t}\n") for t in range(20)]
    events.sort()
    path = tmp_path / "output.eventlog"
    path.write_bytes(_eventlog(events, 2))
    out, _, rc = run("stats", "--json", "--stream", "stdout", path)
    assert rc == 0
    zero, one = rows(out)
    assert sum(zero["activity"]["bytes"]) == zero["bytes"]
    assert sum(one["activity"]["bytes"]) == one["bytes"]
    assert all(zero["activity"]["bytes"])
    # 20 s of 99.5: the first 4 of 20 buckets (and a bit), then nothing.
    assert all(one["activity"]["bytes"][:4]) and not any(one["activity"]["bytes"][5:])
    assert (one["first"], one["last"]) == (0.5, 19.5)  # no main eventlog: from the header
    table, _, _ = run("stats", "--stream", "stdout", path)
    spark0, spark1 = (line.split(b"|")[1].decode() for line in table.splitlines()[1:])
    assert " " not in spark0
    assert spark1[:4].strip() and spark1[5:] == " " * 15


def test_sparkline_scale() -> None:
    assert sparkline([0, 1, 8, 4]) == " ▁█▄"
    assert sparkline([0, 0]) == "  "
    assert sparkline([3]) == "█"


def test_grid_folds_and_keeps_totals() -> None:
    grid = Grid()
    hist = grid.new()
    grid.cover(0.0)
    hist[grid.slot(0.0)] += 5
    grid.cover(1000.0)  # far past the first width: folded many times
    hist[grid.slot(1000.0)] += 7
    assert sum(hist) == 12 and hist[0] == 5 and hist[grid.slot(1000.0)] == 7
    assert grid.width * SLOTS > 1000.0


def test_terminal_table_is_coloured(case_dir: Any) -> None:
    term = Terminal(io.BytesIO(), io.BytesIO(), True, True, False, {"COLUMNS": "120"})
    rc = run_stats(Request("stats", [str(case_dir("exit-code"))]), term)
    assert rc == 0
    assert isinstance(term.stdout, io.BytesIO)
    text = term.stdout.getvalue().decode()
    assert "\x1b[" in text and "exit 3" in text and "RANK" in text


def test_live_jobid_through_the_fake_boundary(
    case_dir: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = case_dir("exit-code")
    fake = FakeFlux(d, start_at=None)
    monkeypatch.setattr(flux_boundary, "connect", lambda uri, name: fake)
    term = Terminal(io.BytesIO(), io.BytesIO(), False, False, False, {})
    rc = run_stats(Request("stats", [fake.f58], json=True), term)
    assert rc == 0 and fake.hazards == []
    assert isinstance(term.stdout, io.BytesIO)
    got = {(r["rank"], r["stream"]): (r["lines"], r["bytes"]) for r in rows(term.stdout.getvalue())}
    assert got == expected_counts(d)
    assert all(r["job"] == fake.f58 for r in rows(term.stdout.getvalue()))


def test_batches_mixing_tasks_streams_and_odd_events(run: Run, tmp_path: Path) -> None:
    """Several MiB: batches decoded whole (3 tasks, both streams, non-ASCII
    text), and batches with an event of several ranks, base64 data or a
    bad line, read one by one; the numbers are each task's bytes, counted
    here from what was written."""
    import base64
    import random

    rng = random.Random(17)
    written: dict[tuple[int, str], bytearray] = {
        (r, s): bytearray() for r in range(3) for s in ("stdout", "stderr")
    }
    lines = [_eventlog([], 3).rstrip(b"\n")]
    ts = 100.0
    for i in range(60000):
        ts += 0.001
        rank, stream = rng.randrange(3), rng.choice(("stdout", "stdout", "stderr"))
        text = f"{i} é ✓ line of task {rank}\n" if i % 7 else f"piece {i} "
        ctx: dict[str, Any] = {"stream": stream, "rank": str(rank), "data": text}
        ranks = [rank]
        if i in (20000, 45000):  # every task at once
            ctx["rank"], ranks = "[0-2]", [0, 1, 2]
        if i == 30000:  # bytes that are not UTF-8
            raw = b"\xff\xfe binary\n"
            ctx["data"], ctx["encoding"] = base64.b64encode(raw).decode(), "base64"
            text_bytes = raw
        else:
            text_bytes = text.encode()
        for r in ranks:
            written[(r, stream)] += text_bytes
        lines.append(orjson.dumps({"timestamp": ts, "name": "data", "context": ctx}))
        if i == 40000:
            lines.append(b'{"timestamp": oops')
    path = tmp_path / "mixed.eventlog"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert path.stat().st_size > 4 << 20

    def counts(data: bytes) -> tuple[int, int]:
        return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0), len(data)

    out, err, rc = run("stats", "--json", path)
    assert rc == 1 and err.count(b"\n") == 1 and b"line 40003" in err  # the bad line, by number
    got = {(r["rank"], r["stream"]): (r["lines"], r["bytes"]) for r in rows(out)}
    assert got == {key: counts(bytes(data)) for key, data in written.items()}
    for r in rows(out):
        assert sum(r["activity"]["bytes"]) == r["bytes"]
    out, _, _ = run("stats", "--json", "-t", "1", "--stream", "stderr", path)
    (row,) = rows(out)
    assert (row["lines"], row["bytes"]) == counts(bytes(written[(1, "stderr")]))


@pytest.mark.parametrize("json_", [(), ("--json",)])
def test_job_that_never_started(case_dir: Any, run: Run, json_: tuple[str, ...]) -> None:
    out, err, rc = run("stats", *json_, case_dir("never-started"))
    assert rc == 0 and out == b""
    assert err.startswith(b"fluxout: ") and err.count(b"\n") == 1
    assert err.endswith(b": no job output found (the job never started)\n")


@pytest.mark.parametrize("case", ["n4-t8", "n2-t3", "cyclic", "split-nodes"])
def test_the_host_column_is_where_each_task_said_it_ran(run: Run, case: str) -> None:
    from tests.test_host_labels import HOSTS, truth

    out, err, status = run("stats", "--json", HOSTS / case)
    assert (err, status) == (b"", 0)
    rows = [json.loads(line) for line in out.splitlines()]
    assert {row["rank"]: row["host"].encode() for row in rows} == truth(case)


def test_without_r_the_host_column_is_empty(run: Run, case_dir: Any) -> None:
    out, _, status = run("stats", "--json", case_dir("hello"))
    assert status == 0
    assert {json.loads(line)["host"] for line in out.splitlines()} == {None}
