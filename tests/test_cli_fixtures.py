"""fluxout against every captured fixture, byte for byte.

The oracles are files Flux itself produced: ``expected/`` (what each task
wrote), ``attach.*`` and ``attach-label.*`` (what ``flux job attach`` and
``flux job attach -l`` printed and returned for the same job).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import orjson
import pytest

from tests.conftest import CASES, Run

# Lines attach adds of its own from the main eventlog (not job data): their
# place among the job's stderr lines depends on timing, so they are compared
# apart from it.
ATTACH_OWN = re.compile(rb"^(\d+\.\d{3}s: job\.exception |flux-job: |fluxout: )")


def _lines(data: bytes) -> list[bytes]:
    """Lines ending in b"\n" only (bytes.splitlines also splits at \r)."""
    parts = data.split(b"\n")
    lines = [p + b"\n" for p in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


def split_own(stderr: bytes) -> tuple[bytes, list[bytes]]:
    """stderr without attach's (or fluxout's) own lines, and those lines."""
    data, own = [], []
    for line in _lines(stderr):
        (own if ATTACH_OWN.match(line) else data).append(line)
    return b"".join(data), own


def expected_files(case: Path) -> dict[tuple[str, int], bytes]:
    out = {}
    for path in (case / "expected").glob("std*.*"):
        stream, rank = path.name.split(".")
        out[(stream, int(rank))] = path.read_bytes()
    return out


def as_attach(case: Path) -> list[str]:
    """The options that make fluxout show a job as attach does: a job whose
    output went to files has them read, unless --no-redirected (see
    tests/test_redirected.py)."""
    return ["--no-redirected"] if (case / "redirected").is_dir() else []


def data_events(case: Path) -> list[dict]:
    path = case / "output.eventlog"
    if not path.exists():
        return []
    events = [orjson.loads(line) for line in path.read_bytes().splitlines() if line]
    return [e["context"] for e in events if e["name"] == "data" and "data" in e["context"]]


def one_line_per_event(case: Path) -> bool:
    """True when every data event holds exactly one whole line."""
    for ctx in data_events(case):
        if ctx.get("encoding") == "base64":
            return False
        text = ctx["data"]
        if not text.endswith("\n") or text.count("\n") != 1:
            return False
    return True


@pytest.mark.parametrize("case", CASES)
def test_cat_is_attach_stdout(case: str, case_dir, run: Run) -> None:
    d = case_dir(case)
    out, err, rc = run("cat", *as_attach(d), d)
    assert out == (d / "attach.stdout").read_bytes()
    assert rc == 0
    mine, _ = split_own(err)
    theirs, _ = split_own((d / "attach.stderr").read_bytes())
    assert mine == theirs


@pytest.mark.parametrize("case", CASES)
def test_cat_unbuffered_label_is_attach_label(case: str, case_dir, run: Run) -> None:
    d = case_dir(case)
    out, err, rc = run("cat", "-l", "-u", *as_attach(d), d)
    assert out == (d / "attach-label.stdout").read_bytes()
    assert rc == 0
    mine, _ = split_own(err)
    theirs, _ = split_own((d / "attach-label.stderr").read_bytes())
    assert mine == theirs


@pytest.mark.parametrize("case", CASES)
def test_follow_exit_status_and_exceptions_are_attach(case: str, case_dir, run: Run) -> None:
    d = case_dir(case)
    out, err, rc = run("follow", *as_attach(d), d)
    assert rc == int((d / "attach.rc").read_bytes())
    assert out == (d / "attach.stdout").read_bytes()
    jobid = json.loads((d / "case.json").read_text())["jobid"]
    # A saved job is named by its jobid where its exec eventlog gives it
    # (its shell's service), so that its exception lines are attach's byte
    # for byte; else by its directory's name, never by the whole path.
    name = (jobid if (d / "exec.eventlog").is_file() else d.name).encode()
    _, mine = split_own(err)
    _, theirs = split_own((d / "attach.stderr").read_bytes())
    # attach's exit message is fluxout's one error line.
    want = [
        line.replace(jobid.encode(), name).replace(b"flux-job: ", b"fluxout: " + name + b": ")
        for line in theirs
    ]
    # attach's own lines come first, in its order; then fluxout's failure summary.
    assert mine[: len(want)] == want
    summary = mine[len(want) :]
    if rc == 0:
        assert summary == []
    assert all(line.startswith(b"fluxout: " + name + b": ") for line in summary)
    # An exception printed as attach prints it is not repeated in the summary.
    assert not any(b"exception" in line for line in summary), summary


@pytest.mark.parametrize("case", CASES)
def test_each_task_stream_is_expected(case: str, case_dir, run: Run) -> None:
    d = case_dir(case)
    expected = expected_files(d)
    if not expected:
        pytest.skip("the job never started: no expected/ output")
    if case.startswith("redirect") or case == "label-io-file":
        pytest.skip("output went to files, not the KVS")
    for (stream, rank), want in expected.items():
        out, err, rc = run("cat", "-t", str(rank), "--stream", stream, d)
        got = out if stream == "stdout" else split_own(err)[0]
        if stream == "stderr":
            # Shell log lines are not task output.
            got = b"".join(
                line for line in _lines(got) if not re.match(rb"^\d+\.\d{3}s: flux-shell", line)
            )
        assert got == want, (stream, rank)
        assert rc == 0


@pytest.mark.parametrize("case", CASES)
def test_label_lines_reassemble_each_task(case: str, case_dir, run: Run) -> None:
    """cat -l: every line is one task's whole line; per task, the bytes are exact."""
    d = case_dir(case)
    expected = expected_files(d)
    if not expected or case.startswith("redirect") or case == "label-io-file":
        pytest.skip("no task output in the KVS")
    out, _err, rc = run("cat", "-l", "--stream", "stdout", d)
    assert rc == 0
    per_rank: dict[int, list[bytes]] = {}
    assert out.endswith(b"\n") or not out
    for line in _lines(out):
        label, sep, text = line.partition(b": ")
        assert sep and label.isdigit(), line[:80]
        per_rank.setdefault(int(label), []).append(text)
    for (stream, rank), want in expected.items():
        if stream != "stdout":
            continue
        got = b"".join(per_rank.get(rank, []))
        # Decorated output ends every line, the last partial one included.
        if want and not want.endswith(b"\n"):
            want += b"\n"
        assert got == want, rank


@pytest.mark.parametrize("case", CASES)
def test_label_is_attach_label_when_events_are_lines(case: str, case_dir, run: Run) -> None:
    d = case_dir(case)
    if not one_line_per_event(d):
        pytest.skip("partial or multi-line events: attach -l labels mid-line")
    out, _, _ = run("cat", "-l", *as_attach(d), d)
    assert out == (d / "attach-label.stdout").read_bytes()


def test_label_differs_from_attach_where_attach_splits_lines(case_dir, run: Run) -> None:
    d = case_dir("unbuffered-partial")
    out, _, _ = run("cat", "-l", d)
    assert out != (d / "attach-label.stdout").read_bytes()
    assert out.splitlines()[0] in (
        b"1: rank 1: partial line in pieces",
        b"0: rank 0: partial line in pieces",
    )


@pytest.mark.parametrize("name", ["output.eventlog", "-"])
def test_bare_output_eventlog_and_stdin(name: str, case_dir, run: Run) -> None:
    d = case_dir("hello")
    log = d / "output.eventlog"
    if name == "-":
        out, err, rc = run("cat", "-", stdin=log.read_bytes())
    else:
        out, err, rc = run("cat", log)
    assert (out, rc) == ((d / "attach.stdout").read_bytes(), 0)
    assert err == (d / "attach.stderr").read_bytes()


def test_multirank_redirect_shown_for_selected_tasks(case_dir, run: Run) -> None:
    d = case_dir("redirect-many-ranks")
    _, err, rc = run("cat", "--no-redirected", "-t", "3", d)
    assert rc == 0
    assert err.count(b"redirected to") == 2
    _, err, rc = run("cat", "-t", "100", d)
    # No redirect for a task the job does not have; one warning that it has none.
    want = "fluxout: ƒ2r3u9D9: warning: -t 100 selects no task of the job's 16 (0-15)\n"
    assert err == want.encode()


@pytest.mark.parametrize("case", ["never-started", "never-started-unsatisfiable"])
def test_a_job_directory_named_after_its_jobid_is_named_so(
    case: str, case_dir, run: Run, tmp_path: Path
) -> None:
    """No exec eventlog holds the jobid of a job that never started: a
    directory named after the job gives it, and attach's lines are exact."""
    jobid = json.loads((case_dir(case) / "case.json").read_text())["jobid"]
    d = tmp_path / jobid.replace("ƒ", "f")
    shutil.copytree(case_dir(case), d)
    _, err, rc = run("follow", d)
    assert rc == int((d / "attach.rc").read_bytes())
    _, mine = split_own(err)
    _, theirs = split_own((d / "attach.stderr").read_bytes())
    assert mine[: len(theirs)] == theirs
    assert all(line.startswith(f"fluxout: {jobid}: ".encode()) for line in mine[len(theirs) :])
    # A name that reads as a word is no jobid: the job keeps its name.
    word = tmp_path / "fresh"
    shutil.copytree(case_dir(case), word)
    _, err, _ = run("follow", word)
    assert b"job.exception fresh type=" in err
