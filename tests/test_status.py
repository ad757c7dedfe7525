"""A job's exit status and exception lines, checked against real attach runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from fluxout.eventlog import Event, Problem, decode_events, iter_lines
from fluxout.status import JobInfo, format_exception, waitstatus_to_exitcode
from tests.conftest import Run

FIXTURES = Path(__file__).parent / "data" / "fixtures"
ATTACH_CASES = sorted(
    p.name for p in FIXTURES.iterdir() if (p / "eventlog").is_file() and (p / "attach.rc").is_file()
)


def main_events(case: str) -> list[Event]:
    problems: list[Problem] = []
    raw = (FIXTURES / case / "eventlog").read_bytes()
    events = list(decode_events(iter_lines([raw]), problems.append))
    assert problems == []
    return events


def job_info(case: str) -> JobInfo:
    info = JobInfo()
    for event in main_events(case):
        info.feed_main(event)
    return info


def attach_stderr_lines(case: str) -> list[bytes]:
    return (FIXTURES / case / "attach.stderr").read_bytes().splitlines()


# --- waitstatus_to_exitcode ----------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        # The finish statuses of the fixtures, and what attach printed/exited.
        (0, 0, ""),
        (768, 3, "task(s) exited with exit code 3"),  # exit-code
        (36352, 142, "task(s) Alarm clock"),  # timeout-exception
        (36608, 143, "task(s) Terminated"),  # canceled-running
        (32512, 127, "task(s) exited with exit code 127"),  # command-not-found
        (35072, 137, "task(s) Killed"),  # signaled
        # WIFSIGNALED: the job shell itself was killed.
        (9, 137, "job shell Killed"),
        (15, 143, "job shell Terminated"),
        # 128 exactly is an exit code, not a signal.
        (128 << 8, 128, "task(s) exited with exit code 128"),
    ],
)
def test_waitstatus_to_exitcode(status: int, code: int, message: str) -> None:
    assert waitstatus_to_exitcode(status) == (code, message)


def test_waitstatus_fixture_statuses_are_what_they_claim() -> None:
    # The oracle's inputs, checked with the os module's own decoding.
    assert os.WEXITSTATUS(36352) - 128 == signal.SIGALRM
    assert os.WEXITSTATUS(36608) - 128 == signal.SIGTERM
    assert os.WEXITSTATUS(35072) - 128 == signal.SIGKILL
    assert os.WIFSIGNALED(9)
    assert os.WTERMSIG(9) == signal.SIGKILL


# --- JobInfo.exit_status -------------------------------------------------------


def ev(ts: float, name: str, **context: object) -> Event:
    return Event(ts, name, dict(context))


def test_never_finished_job_is_1() -> None:
    info = JobInfo()
    info.feed_main(ev(1.0, "submit", userid=0, urgency=16))
    info.feed_main(ev(1.1, "validate"))
    info.feed_main(ev(1.2, "depend"))
    assert info.exit_status() == (1, "")
    assert not info.started
    assert info.submit_time == 1.0


def test_nothing_fed_is_1() -> None:
    assert JobInfo().exit_status()[0] == 1


def test_fatal_exception_with_status_0_is_1() -> None:
    info = JobInfo()
    info.feed_main(ev(1.0, "submit"))
    info.feed_main(ev(1.5, "start"))
    info.feed_main(ev(2.0, "exception", type="cancel", severity=0, note=""))
    info.feed_main(ev(2.1, "finish", status=0))
    assert info.fatal
    assert info.started
    assert info.exit_status() == (1, "")


def test_nonfatal_exception_with_status_0_is_0() -> None:
    info = JobInfo()
    info.feed_main(ev(1.0, "submit"))
    info.feed_main(ev(2.0, "exception", type="test", severity=1, note="late"))
    info.feed_main(ev(2.1, "finish", status=0))
    assert not info.fatal
    assert info.exit_status() == (0, "")


def test_fatal_exception_keeps_nonzero_status() -> None:
    info = JobInfo()
    info.feed_main(ev(1.0, "submit"))
    info.feed_main(ev(2.0, "exception", type="cancel", severity=0, note=""))
    info.feed_main(ev(2.1, "finish", status=36608))
    assert info.exit_status() == (143, "task(s) Terminated")


def test_finish_status_not_an_int_is_ignored() -> None:
    info = JobInfo()
    info.feed_main(ev(1.0, "submit"))
    info.feed_main(ev(2.0, "finish", status=True))
    assert info.finish_status is None
    assert info.exit_status()[0] == 1


def test_clean_and_state() -> None:
    info = JobInfo()
    for name in ("submit", "start", "finish", "release", "free", "clean"):
        info.feed_main(ev(1.0, name, status=0) if name == "finish" else ev(1.0, name))
    assert info.clean
    assert info.state_event == "clean"


# --- every fixture: the status attach exited with ------------------------------


@pytest.mark.parametrize("case", ATTACH_CASES)
def test_exit_status_matches_attach(case: str) -> None:
    info = job_info(case)
    code, message = info.exit_status()
    assert code == int((FIXTURES / case / "attach.rc").read_text())
    flux_job = [ln for ln in attach_stderr_lines(case) if ln.startswith(b"flux-job:")]
    if message:
        assert flux_job == [f"flux-job: {message}".encode()]
    else:
        assert flux_job == []


@pytest.mark.parametrize("case", ATTACH_CASES)
def test_format_exception_matches_attach(case: str) -> None:
    events = main_events(case)
    jobid = json.loads((FIXTURES / case / "case.json").read_text())["jobid"]
    # attach's times are relative to the first event of the main eventlog.
    zero = events[0].timestamp
    ours = [format_exception(e, jobid, zero).encode() for e in events if e.name == "exception"]
    theirs = [ln for ln in attach_stderr_lines(case) if b": job.exception " in ln]
    assert ours == theirs


def test_fixtures_cover_exceptions() -> None:
    # The test above must see real exception lines, not only empty lists.
    with_exceptions = [
        c for c in ATTACH_CASES if any(e.name == "exception" for e in main_events(c))
    ]
    assert len(with_exceptions) >= 4
    assert {"never-started", "timeout-exception", "canceled-running"} <= set(with_exceptions)


def test_format_exception_layout() -> None:
    event = ev(12.3456, "exception", type="timeout", severity=0, note="expired")
    assert (
        format_exception(event, "ƒ7wmTtST", 10.0)
        == "2.346s: job.exception ƒ7wmTtST type=timeout severity=0 expired"
    )


# --- a saved job without its main eventlog ---------------------------------------

WITH_EXEC = [c for c in ATTACH_CASES if (FIXTURES / c / "exec.eventlog").is_file()]


def _without(case: str, tmp_path: Path, *names: str) -> Path:
    """A copy of a fixture's job directory without some of its files."""
    from tests.conftest import materialize

    d = tmp_path / case
    shutil.copytree(materialize(case, tmp_path / "all"), d)
    for name in names:
        (d / name).unlink()
    return d


@pytest.mark.parametrize("case", WITH_EXEC)
def test_without_the_main_eventlog_the_exec_eventlog_gives_attachs_status(
    case: str, tmp_path: Path, run: Run
) -> None:
    """The exec eventlog's complete event holds the wait status finish holds."""
    d = _without(case, tmp_path, "eventlog")
    _, err, rc = run("follow", d)
    assert rc == int((FIXTURES / case / "attach.rc").read_text()), err
    flux_job = [ln for ln in attach_stderr_lines(case) if ln.startswith(b"flux-job: ")]
    for line in flux_job:
        assert line.replace(b"flux-job: ", b"") in err
    # Whether the job started is the main eventlog's to say.
    assert b"never started" not in err
    _, _, rc = run("cat", "--wait", d)
    assert rc == int((FIXTURES / case / "attach.rc").read_text())


def test_exec_eventlog_without_complete_says_the_status_is_unknown(
    tmp_path: Path, run: Run
) -> None:
    d = _without("exit-code", tmp_path, "eventlog")
    lines = (d / "exec.eventlog").read_bytes().splitlines(keepends=True)
    (d / "exec.eventlog").write_bytes(b"".join(ln for ln in lines if b'"complete"' not in ln))
    _, err, rc = run("follow", d)
    assert rc == 0
    assert err.count(b"exit status is unknown") == 1
    assert b"no main eventlog" in err and b"complete" in err


def test_an_output_eventlog_alone_says_the_status_is_unknown(run: Run) -> None:
    out, err, rc = run("follow", FIXTURES / "hello" / "output.eventlog")
    assert (out, rc) == ((FIXTURES / "hello" / "attach.stdout").read_bytes(), 0)
    assert err.count(b"exit status is unknown") == 1
    # cat does not claim to give the job's status: nothing to say there.
    _, err, _ = run("cat", FIXTURES / "hello" / "output.eventlog")
    assert b"unknown" not in err
