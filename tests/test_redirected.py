"""Output redirected to files (flux run --output=FILE), read from the files.

The fixtures' redirect events name files under /tmp/fluxout-capture/ that
are not here: a saved job directory has them in ``redirected/``, found by
name. Each test works on its own copy, with the events' paths rewritten
where it needs them elsewhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.conftest import FIXTURES, Run
from tests.test_cli_fixtures import expected_files, split_own

CASES = ("redirect", "redirect-per-task", "redirect-many-ranks", "label-io-file")
JOBID = {
    "redirect": "ƒApoty3u",
    "redirect-per-task": "ƒB9yogQX",
    "redirect-many-ranks": "ƒ2r3u9D9",
    "label-io-file": "ƒBXQBJZV",
}


def copy_case(case: str, tmp_path: Path, prefix: str | None = None) -> Path:
    """A copy of the case; with ``prefix``, its events' paths are rewritten
    to start there instead of /tmp/fluxout-capture/CASE."""
    d = tmp_path / case
    shutil.copytree(FIXTURES / case, d)
    # The capture directory must not exist here, or it would be read.
    assert not Path(f"/tmp/fluxout-capture/{case}").exists()
    if prefix is not None:
        log = d / "output.eventlog"
        text = log.read_text().replace(f"/tmp/fluxout-capture/{case}", prefix)
        log.write_text(text)
    return d


def notes(err: bytes) -> list[bytes]:
    return [line for line in err.splitlines() if line.startswith(b"fluxout: ")]


# -- saved jobs: redirected/ by name -------------------------------------------


def test_one_file_per_stream_is_read_byte_exact(tmp_path: Path, run: Run) -> None:
    d = copy_case("redirect", tmp_path)
    out, err, rc = run("cat", d)
    assert rc == 0
    assert out == (d / "redirected" / "job.out").read_bytes()
    data, own = split_own(err)
    assert data == (d / "redirected" / "job.err").read_bytes()
    assert own == [
        f"fluxout: ƒApoty3u: stdout read from {d}/redirected/job.out\n".encode(),
        f"fluxout: ƒApoty3u: stderr read from {d}/redirected/job.err\n".encode(),
    ]
    assert b"redirected to" not in err


def test_per_task_files_are_each_tasks_stream(tmp_path: Path, run: Run) -> None:
    d = copy_case("redirect-per-task", tmp_path)
    expected = expected_files(d)
    assert expected
    for (stream, rank), want in expected.items():
        out, err, rc = run("cat", "-t", str(rank), "--stream", stream, d)
        assert rc == 0
        got = out if stream == "stdout" else split_own(err)[0]
        assert got == want, (stream, rank)
        assert got == (d / "redirected" / f"{stream[3:]}.{rank}").read_bytes()
    _, err, _ = run("cat", d)
    assert notes(err) == [
        f"fluxout: ƒB9yogQX: stdout read from {d}/redirected/out.{{{{taskid}}}}, "
        "a file per task (2 files)".encode(),
        f"fluxout: ƒB9yogQX: stderr read from {d}/redirected/err.{{{{taskid}}}}, "
        "a file per task (2 files)".encode(),
    ]


def test_per_task_lines_are_labelled_by_task(tmp_path: Path, run: Run) -> None:
    d = copy_case("redirect-per-task", tmp_path)
    out, _, rc = run("cat", "-l", "--stream", "stdout", d)
    assert rc == 0
    want = b"".join(
        f"{rank}: ".encode() + line
        for rank in (0, 1)
        for line in (d / "redirected" / f"out.{rank}").read_bytes().splitlines(keepends=True)
    )
    assert out == want


def test_line_options_work_on_file_data(tmp_path: Path, run: Run) -> None:
    d = copy_case("redirect-per-task", tmp_path)
    out, _, rc = run("cat", "-l", "--head", "1", "--stream", "stdout", d)
    assert rc == 0
    assert out == b"0: rank 0: redirected stdout line 1\n1: rank 1: redirected stdout line 1\n"
    out, _, _ = run("cat", "--grep", "line 2", "-t", "1", d)
    assert out == b"rank 1: redirected stdout line 2\n"
    out, _, _ = run("cat", "--exclude", "line", d)
    assert out == b""
    out, _, _ = run("cat", "--tail", "1", "--stream", "stdout", "-t", "0", d)
    assert out == b"rank 0: redirected stdout line 2\n"
    out, _, rc = run("lines", "--json", "--stream", "stdout", d)
    assert rc == 0
    records = [orjson.loads(line) for line in out.splitlines()]
    assert [(r["rank"], r["line"]) for r in records] == [
        (0, "rank 0: redirected stdout line 1"),
        (0, "rank 0: redirected stdout line 2"),
        (1, "rank 1: redirected stdout line 1"),
        (1, "rank 1: redirected stdout line 2"),
    ]
    # When a byte was written is not kept: no later than the job's finish.
    finish = next(
        orjson.loads(line)["timestamp"]
        for line in (d / "eventlog").read_bytes().splitlines()
        if b'"finish"' in line
    )
    assert all(r["timestamp"] <= finish for r in records)


def test_split_writes_each_tasks_file(tmp_path: Path, run: Run) -> None:
    d = copy_case("redirect-per-task", tmp_path)
    _, err, rc = run("cat", "--split", tmp_path / "out", d)
    assert rc == 0, err
    for rank in (0, 1):
        for stream in ("out", "err"):
            got = (tmp_path / "out" / d.name / f"{rank}.{stream}").read_bytes()
            assert got == (d / "redirected" / f"{stream}.{rank}").read_bytes()


def test_a_shared_file_is_the_output_of_its_rank_set(tmp_path: Path, run: Run) -> None:
    """-n16 --output=FILE: stdout and stderr of every task in one file,
    read once (as stdout, the first stream that names it), labelled with
    the rank set."""
    d = copy_case("redirect-many-ranks", tmp_path)
    data = (d / "redirected" / "job.out").read_bytes()
    out, err, rc = run("cat", d)
    assert (out, rc) == (data, 0)
    assert split_own(err) == (
        b"",
        [f"fluxout: ƒ2r3u9D9: stdout and stderr read from {d}/redirected/job.out\n".encode()],
    )
    out, _, _ = run("cat", "-l", d)
    assert out == b"".join(b"[0-15]: " + line for line in data.splitlines(keepends=True))
    # Any task of the set selects the whole file: its lines are not told apart.
    out, _, _ = run("cat", "-t", "3", d)
    assert out == data
    out, _, _ = run("cat", "-t", "3", "--grep", "rank 0[12]", d)
    assert out == b"rank 01: line 1 (rank specific)\nrank 02: line 1 (rank specific)\n"
    # Only stderr asked for: the same file, as stderr.
    out, err, _ = run("cat", "--stream", "stderr", d)
    assert out == b"" and split_own(err)[0] == data
    # attach -u -l's label: the event's rank set.
    out, _, _ = run("cat", "-u", "-l", d)
    assert out == b"[0-15]: " + data
    # Kept per task, it is the lowest rank's.
    out, _, _ = run("cat", "--coalesce", d)
    assert out == b"----------------\n0\n----------------\n" + data
    out, _, _ = run("lines", "--json", d)
    assert {orjson.loads(line)["rank"] for line in out.splitlines()} == {0}


def test_label_io_file_keeps_the_jobs_own_labels(tmp_path: Path, run: Run) -> None:
    d = copy_case("label-io-file", tmp_path)
    out, _, rc = run("cat", d)
    assert (out, rc) == ((d / "redirected" / "job.out").read_bytes(), 0)


def test_no_redirected_is_attach(tmp_path: Path, run: Run) -> None:
    for case in CASES:
        d = copy_case(case, tmp_path)
        out, err, rc = run("cat", "--no-redirected", d)
        assert (out, err, rc) == (b"", (d / "attach.stderr").read_bytes(), 0), case


def test_quiet_drops_the_note(tmp_path: Path, run: Run) -> None:
    d = copy_case("redirect", tmp_path)
    out, err, rc = run("cat", "-q", d)
    assert (out, rc) == ((d / "redirected" / "job.out").read_bytes(), 0)
    assert err == (d / "redirected" / "job.err").read_bytes()


# -- paths that are there, or not -----------------------------------------------


def test_a_path_that_exists_is_read_in_place(tmp_path: Path, run: Run) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "job.out").write_bytes(b"in place\n\x00\xff binary, no newline")
    (shared / "job.err").write_bytes(b"")
    d = copy_case("redirect", tmp_path, prefix=str(shared))
    out, err, rc = run("cat", d)
    assert (out, rc) == (b"in place\n\x00\xff binary, no newline", 0)
    assert notes(err)[0] == f"fluxout: ƒApoty3u: stdout read from {shared}/job.out".encode()
    # The last line, without its newline, gets one when decorated.
    out, _, _ = run("cat", "-l", d)
    assert out == b"[0-1]: in place\n[0-1]: \x00\xff binary, no newline\n"


def test_a_missing_file_is_attachs_notice_and_one_warning(tmp_path: Path, run: Run) -> None:
    d = copy_case("redirect", tmp_path)
    (d / "redirected" / "job.err").unlink()
    out, err, rc = run("cat", d)
    assert (out, rc) == ((d / "redirected" / "job.out").read_bytes(), 0)
    assert (
        err
        == (
            f"fluxout: ƒApoty3u: stdout read from {d}/redirected/job.out\n"
            "fluxout: ƒApoty3u: warning: cannot read stderr's file "
            "/tmp/fluxout-capture/redirect/job.err (No such file or directory)\n"
            "[0-1]: stderr redirected to /tmp/fluxout-capture/redirect/job.err\n"
        ).encode()
    )


def test_a_missing_shared_file_tells_both_streams(tmp_path: Path, run: Run) -> None:
    d = copy_case("redirect-many-ranks", tmp_path)
    shutil.rmtree(d / "redirected")
    out, err, rc = run("follow", d)
    assert (out, rc) == (b"", 0)
    path = "/tmp/fluxout-capture/redirect-many-ranks/job.out"
    assert (
        err
        == (
            f"fluxout: ƒ2r3u9D9: warning: cannot read stdout's file {path} "
            "(No such file or directory)\n"
            f"[0-15]: stdout redirected to {path}\n"
            f"[0-15]: stderr redirected to {path}\n"
        ).encode()
    )


def test_a_missing_per_task_file(tmp_path: Path, run: Run) -> None:
    d = copy_case("redirect-per-task", tmp_path)
    (d / "redirected" / "out.1").unlink()
    out, err, rc = run("cat", "--stream", "stdout", d)
    assert (out, rc) == ((d / "redirected" / "out.0").read_bytes(), 0)
    assert (
        err
        == (
            "fluxout: ƒB9yogQX: warning: cannot read stdout's file "
            "/tmp/fluxout-capture/redirect-per-task/out.1 (No such file or directory)\n"
            "[0-1]: stdout redirected to /tmp/fluxout-capture/redirect-per-task/out.{{taskid}}\n"
        ).encode()
    )


def test_a_fifo_is_not_read(tmp_path: Path, run: Run) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.mkfifo(shared / "job.out")
    (shared / "job.err").write_bytes(b"err\n")
    d = copy_case("redirect", tmp_path, prefix=str(shared))
    out, err, rc = run("cat", d)
    assert (out, rc) == (b"", 0)
    assert f"cannot read stdout's file {shared}/job.out (not a regular file)".encode() in err
    assert split_own(err)[0] == f"err\n[0-1]: stdout redirected to {shared}/job.out\n".encode()


def test_tags_that_cannot_be_expanded(tmp_path: Path, run: Run) -> None:
    d = copy_case("redirect-per-task", tmp_path)
    log = d / "output.eventlog"
    log.write_text(log.read_text().replace("out.{{taskid}}", "out.{{node.name}}"))
    out, err, rc = run("cat", "--stream", "stdout", d)
    assert (out, rc) == (b"", 0)
    path = "/tmp/fluxout-capture/redirect-per-task/out.{{node.name}}"
    assert (
        err
        == (
            f"fluxout: ƒB9yogQX: warning: stdout redirected to {path}: not read, "
            "{{node.name}} cannot be expanded here\n"
            f"[0-1]: stdout redirected to {path}\n"
        ).encode()
    )


def _many_ranks_per(tmp_path: Path, template: str, names: dict[str, bytes]) -> Path:
    """redirect-many-ranks (16 tasks, 2 on each of 8 nodes: taskmap
    [[0,8,2,1]]) with its stdout sent to ``template``, and those files."""
    d = copy_case("redirect-many-ranks", tmp_path)
    log = d / "output.eventlog"
    lines = log.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace("job.out", template)
    log.write_text("".join(lines[:2]))  # no stderr redirect
    shutil.rmtree(d / "redirected")
    (d / "redirected").mkdir()
    for name, data in names.items():
        (d / "redirected" / name).write_bytes(data)
    return d


def test_a_file_per_node_from_the_taskmap(tmp_path: Path, run: Run) -> None:
    files = {f"out.{node}": f"node {node}\n".encode() for node in range(8)}
    d = _many_ranks_per(tmp_path, "out.{{node.id}}", files)
    out, err, rc = run("cat", "-l", d)
    assert rc == 0
    assert out == b"".join(f"[{2 * n}-{2 * n + 1}]: node {n}\n".encode() for n in range(8))
    assert notes(err) == [
        f"fluxout: ƒ2r3u9D9: stdout read from {d}/redirected/out.{{{{node.id}}}}, "
        "a file per node (8 files)".encode()
    ]
    out, _, _ = run("cat", "-t", "5", d)
    assert out == b"node 2\n"


def test_a_file_per_task_by_local_index(tmp_path: Path, run: Run) -> None:
    files = {f"out.{r // 2}-{r % 2}": f"task {r}\n".encode() for r in range(16)}
    d = _many_ranks_per(tmp_path, "out.{{node.id}}-{{task.localid}}", files)
    out, _, rc = run("cat", "-l", "-t", "2-3,15", d)
    assert (out, rc) == (b"2: task 2\n3: task 3\n15: task 15\n", 0)


def test_taskmap_tags_without_an_exec_eventlog(tmp_path: Path, run: Run) -> None:
    d = _many_ranks_per(tmp_path, "out.{{task.index}}", {"out.0": b"x\n"})
    (d / "exec.eventlog").unlink()
    out, err, rc = run("cat", d)
    assert (out, rc) == (b"", 0)
    path = "/tmp/fluxout-capture/redirect-many-ranks/out.{{task.index}}"
    assert (
        err
        == (
            f"fluxout: {d.name}: warning: stdout redirected to {path}: not read, "
            "no taskmap (the exec eventlog's shell.start) to expand it with\n"
            f"[0-15]: stdout redirected to {path}\n"
        ).encode()
    )


@pytest.mark.parametrize("tag", ["taskid", "task.id", "task.rank"])
def test_task_tags(tag: str) -> None:
    from fluxout.sources.redirected import expand, other_tags, per_task

    template = f"/o/{{{{id}}}}-{{{{{tag}}}}}.out"
    assert expand(template, 7) == "/o/{{id}}-7.out"
    assert per_task(template)
    assert other_tags(template) == ["{{id}}"]


# -- follow: the files as they grow ---------------------------------------------


def test_follow_tail_counts_what_the_files_hold(tmp_path: Path, run: Run) -> None:
    d = copy_case("redirect-per-task", tmp_path)
    out, err, rc = run("follow", "--tail", "1", "-l", d)
    assert (out, rc) == (
        b"0: rank 0: redirected stdout line 2\n1: rank 1: redirected stdout line 2\n",
        0,
    )
    assert (
        split_own(err)[0]
        == b"0: rank 0: redirected stderr line\n1: rank 1: redirected stderr line\n"
    )


def test_follow_reads_a_file_as_it_grows_until_the_job_ends(tmp_path: Path) -> None:
    """A saved job not over yet (no finish, clean): follow prints what the
    file gains as it is written, and ends when the eventlog says the job did."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "job.out").write_bytes(b"")
    (shared / "job.err").write_bytes(b"")
    d = copy_case("redirect", tmp_path, prefix=str(shared))
    main = (d / "eventlog").read_bytes().splitlines(keepends=True)
    end = next(i for i, line in enumerate(main) if b'"finish"' in line)
    (d / "eventlog").write_bytes(b"".join(main[:end]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "fluxout", "follow", str(d)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        with open(shared / "job.out", "ab", buffering=0) as f:
            for i in range(3):
                f.write(f"line {i}\n".encode())
                # Each line comes while the job is still running.
                assert proc.stdout.readline() == f"line {i}\n".encode()
            f.write(b"last, no newline")
            time.sleep(0.3)
        assert proc.poll() is None  # not over: no finish yet
        with open(d / "eventlog", "ab") as log:
            log.write(b"".join(main[end:]))
        rc = proc.wait(timeout=20)
        assert proc.stdout.read() == b"last, no newline"
        assert rc == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- live: a real instance of our own ---------------------------------------------


def _live() -> tuple[object, object]:
    from tests import test_integration

    if not test_integration.FLUX:
        pytest.skip("no flux command: put flux on PATH or set FLUXOUT_TEST_FLUX")
    return test_integration.in_instance, test_integration.result


def test_live_redirected_files_are_read_back(tmp_path: Path) -> None:
    in_instance, result = _live()
    script = r"""
id=$($FLUX submit -n2 --output=$PWD/one.out --error=$PWD/one.err \
    sh -c 'echo "out $FLUX_TASK_RANK"; echo "err $FLUX_TASK_RANK" >&2; printf "\001\377"')
id2=$($FLUX submit -n2 --output="$PWD/out.{{taskid}}" \
    sh -c 'echo "task $FLUX_TASK_RANK"; printf "no newline $FLUX_TASK_RANK"')
id4=$($FLUX submit -N2 -n4 --output="$PWD/o.{{node.id}}-{{task.index}}" \
    sh -c 'echo "task $FLUX_TASK_RANK"')
$FLUX job wait-event $id clean && $FLUX job wait-event $id2 clean
$FLUX job wait-event $id4 clean
save cat4 fo cat -l $id4
save cat fo cat $id
save plain fo cat --no-redirected $id
save cat2 fo cat --stream stdout $id2
save cat2l fo cat -l $id2
echo $id2 >jobid2
id3=$($FLUX submit -n1 --output=$PWD/slow.out \
    sh -c 'for i in 1 2 3 4 5 6 7 8; do echo "slow $i"; sleep 0.4; done')
echo $id3 >jobid3
$FLUX job wait-event $id3 start
save follow fo follow $id3 &
f=$!
until_true 20 grep -q "slow 2" follow.out
$FLUX jobs -no {state} $id3 >state-at-slow-2
wait $f
"""
    proc = in_instance(tmp_path, script)  # type: ignore[operator]
    assert (tmp_path / "jobid3").is_file(), proc.stderr.decode(errors="replace")
    out, err, rc = result(tmp_path, "cat")  # type: ignore[operator]
    assert (out, rc) == ((tmp_path / "one.out").read_bytes(), 0)
    assert out.count(b"\x01\xff") == 2 and sorted(out.replace(b"\x01\xff", b"").split()) == [
        b"0",
        b"1",
        b"out",
        b"out",
    ]
    data, own = split_own(err)
    assert data == (tmp_path / "one.err").read_bytes()
    assert sorted(data.splitlines()) == [b"err 0", b"err 1"]
    assert own[0].endswith(f"stdout read from {tmp_path}/one.out\n".encode())
    out, err, rc = result(tmp_path, "plain")  # type: ignore[operator]
    assert (out, rc) == (b"", 0)
    assert f"stdout redirected to {tmp_path}/one.out".encode() in err
    # A file per task, each read as its task's stream (stderr followed stdout there).
    files = [(tmp_path / f"out.{rank}").read_bytes() for rank in (0, 1)]
    assert files == [b"task 0\nno newline 0", b"task 1\nno newline 1"]
    out, err, rc = result(tmp_path, "cat2")  # type: ignore[operator]
    assert (out, rc) == (b"".join(files), 0)
    out, _, _ = result(tmp_path, "cat2l")  # type: ignore[operator]
    # Last lines without a newline come at the end, each ended by its label's line.
    assert sorted(out.splitlines(keepends=True)) == [
        b"0: no newline 0\n",
        b"0: task 0\n",
        b"1: no newline 1\n",
        b"1: task 1\n",
    ]
    # Tags from the taskmap: 2 tasks on each of the 2 nodes.
    out, _, rc = result(tmp_path, "cat4")  # type: ignore[operator]
    names = ["o.0-0", "o.0-1", "o.1-0", "o.1-1"]
    assert [(tmp_path / n).read_bytes() for n in names] == [
        f"task {r}\n".encode() for r in range(4)
    ]
    assert (out, rc) == (b"0: task 0\n1: task 1\n2: task 2\n3: task 3\n", 0)
    # follow got the lines as they were written, and ended with the job.
    assert (tmp_path / "state-at-slow-2").read_text().strip() == "RUN"
    out, err, rc = result(tmp_path, "follow")  # type: ignore[operator]
    assert (out, rc) == ((tmp_path / "slow.out").read_bytes(), 0)
    assert out == b"".join(f"slow {i}\n".encode() for i in range(1, 9))


# -- the reader alone ---------------------------------------------------------------


def test_reader_reopens_many_files_where_it_left_and_rereads_a_truncated_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fluxout.eventlog import Redirect
    from fluxout.idset import IdSet
    from fluxout.sources import redirected

    monkeypatch.setattr(redirected, "MAX_OPEN", 1)  # every file is reopened per read
    told: list[str] = []
    reader = redirected.Redirected(
        None,
        False,
        None,
        told.append,
        told.append,
        lambda rec: told.append("notice"),
        lambda *a: None,
    )
    template = str(tmp_path / "out.{{taskid}}")
    assert reader.add(Redirect(1.0, "stdout", "[0-2]", IdSet(((0, 2),)), template))
    for rank in range(3):
        (tmp_path / f"out.{rank}").write_bytes(f"a{rank}\n".encode())

    def got() -> list[tuple[str, bytes]]:
        return [(rec.rank, rec.data) for rec, _ in reader.poll()]

    assert got() == [("0", b"a0\n"), ("1", b"a1\n"), ("2", b"a2\n")]
    assert all(f.handle is None for g in reader.groups for f in g.files)
    with open(tmp_path / "out.1", "ab") as f:
        f.write(b"b1\n")
    assert got() == [("1", b"b1\n")]
    # Truncated, and written again (less than was read: as tail -F, a file
    # that grew past its old size again is not told from one that grew).
    (tmp_path / "out.2").write_bytes(b"n\n")
    assert got() == [("2", b"n\n")]
    assert told[-1] == f"{tmp_path}/out.2: file truncated; reading it from the start"
    ended = [(rec.rank, rec.data, rec.eof) for rec, _ in reader.end()]
    assert ended == [("0", b"", True), ("1", b"", True), ("2", b"", True)]
    assert told[0] == f"stdout read from {tmp_path}/out.{{{{taskid}}}}, a file per task (3 files)"
    assert "notice" not in told
