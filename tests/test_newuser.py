"""What a new user types: bare flags before JOB, paths that look like
jobids, task lists in any order, a missing file beside a good one, options
from the environment, format specs."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, Run

HELLO = FIXTURES / "hello"


def expected_stdout(ranks: list[int]) -> bytes:
    """The hello job's stdout of these ranks, in the order the job wrote it."""
    lines = {r: (HELLO / "expected" / f"stdout.{r}").read_bytes().splitlines(True) for r in ranks}
    # Each task's n-th line was written before any task's (n+1)-th (the
    # fixture's notes: one event per line, ranks interleave); the order of
    # ranks within a round is the eventlog's.
    return b"".join(line for r in ranks for line in lines[r])


@pytest.mark.parametrize("flag", ["--timestamps", "--color", "--colour"])
def test_a_bare_flag_before_job_does_not_take_it(run: Run, flag: str) -> None:
    out, err, rc = run("cat", flag, HELLO)
    assert rc == 0, err
    assert out.count(b"\n") == 12


@pytest.mark.parametrize(("flag", "value"), [("--timestamps", "rel"), ("--color", "never")])
def test_a_flag_still_takes_its_value(run: Run, flag: str, value: str) -> None:
    out, err, rc = run("cat", flag, value, HELLO)
    assert rc == 0, err
    if flag == "--timestamps":
        assert all(line.lstrip()[:1].isdigit() for line in out.splitlines())


def test_a_bare_flag_is_not_the_value_of_a_value_option(run: Run) -> None:
    """--grep takes the next word as its regex, whatever it looks like."""
    out, err, rc = run("cat", "--grep", "--timestamps", HELLO)
    assert (out, rc) == (b"", 0), err


@pytest.mark.parametrize("name", ["fixtures", "fresh", "42"])
def test_an_existing_path_that_parses_as_a_jobid_is_read_as_a_path(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    shutil.copytree(HELLO, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    assert run("cat", name) == run("cat", HELLO)


@pytest.mark.parametrize(("tasks", "ranks"), [("2,0", [0, 2]), ("1,1", [1]), ("3-3,0", [0, 3])])
def test_a_task_list_in_any_order_is_the_set_it_means(
    run: Run, tasks: str, ranks: list[int]
) -> None:
    out, err, rc = run("cat", "--stream", "stdout", "-t", tasks, HELLO)
    assert rc == 0, err
    want, _, _ = run("cat", "--stream", "stdout", "-t", ",".join(map(str, ranks)), HELLO)
    assert out == want
    assert sorted(out.splitlines()) == sorted(expected_stdout(ranks).splitlines())


def test_a_missing_file_is_that_jobs_error_and_the_others_are_shown(run: Run) -> None:
    good_out, good_err, _ = run("cat", HELLO)
    out, err, rc = run("cat", "nope", HELLO)
    assert out.splitlines() == [b"hello: " + line for line in good_out.splitlines()]
    first, *rest = err.splitlines()
    assert first == b"fluxout: nope: no such file or directory"
    assert rest == [b"hello: " + line for line in good_err.splitlines()]
    assert rc == 1


def test_grep_from_the_environment_is_one_regex(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUXOUT_GREP", "line 2")
    out, err, rc = run("cat", HELLO)
    assert rc == 0, err
    assert out.splitlines() and all(b"line 2" in line for line in out.splitlines())


def test_several_regexes_from_the_environment_one_per_line(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLUXOUT_GREP", "line 2\nrank 3: this")
    out, err, rc = run("cat", HELLO)
    assert rc == 0
    assert len(out.splitlines()) == 4  # "line 2" of each task
    assert err == b"rank 3: this line went to stderr\n"


def test_a_bad_value_from_the_environment_names_the_variable(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLUXOUT_COLOR", "bogus")
    _, err, rc = run("cat", HELLO)
    assert rc == 2
    assert b"FLUXOUT_COLOR" in err and b"bogus" in err


@pytest.mark.parametrize(
    ("variable", "off", "args"),
    [
        ("FLUXOUT_CAT_LABEL", "--no-label", ()),
        ("FLUXOUT_CAT_UNBUFFERED", "--no-unbuffered", ("-l", FIXTURES / "unbuffered-partial")),
        ("FLUXOUT_CAT_COALESCE", "--no-coalesce", ()),
    ],
)
def test_a_flag_set_in_the_environment_can_be_turned_off(
    run: Run, monkeypatch: pytest.MonkeyPatch, variable: str, off: str, args: tuple[str, ...]
) -> None:
    args = args or (HELLO,)
    plain, _, _ = run("cat", *args)
    monkeypatch.setenv(variable, "1")
    on, _, _ = run("cat", *args)
    assert on != plain
    out, err, rc = run("cat", off, *args)
    assert (out, rc) == (plain, 0), err


def test_format_fields_take_format_specs(run: Run) -> None:
    out, err, rc = run(
        "lines", "--stream", "stdout", "-t", "1", "--format", "{rank:>4}|{line}", HELLO
    )
    assert rc == 0, err
    assert out.splitlines() == [b"   1|" + line for line in expected_stdout([1]).splitlines()]


def test_a_bad_format_spec_is_a_usage_error(run: Run) -> None:
    _, err, rc = run("lines", "--format", "{rank:>>>x}", HELLO)
    assert rc == 2
    assert b"--format" in err


def test_a_text_file_that_is_no_eventlog_gets_one_line(run: Run, tmp_path: Path) -> None:
    """cat /etc/passwd printed one message per line (22 there)."""
    passwd = tmp_path / "passwd"
    passwd.write_text(
        "".join(f"user{i}:x:{1000 + i}:100::/home/user{i}:/bin/sh\n" for i in range(22))
    )
    for command in ("cat", "lines", "events"):
        out, err, rc = run(command, passwd)
        assert (out, rc) == (b"", 1)
        assert err.count(b"\n") == 1
        assert b"line 1: not an eventlog: invalid JSON" in err


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("cat", "--zzz", "x"), b"fluxout: no such option '--zzz' (see fluxout cat --help)"),
        (
            ("cat",),
            b"fluxout: no JOB: name one, or select jobs (-a, -A, --filter, --name, "
            b"--in and more) (see fluxout cat --help)",
        ),
        (("nope",), b"fluxout: no such command 'nope' (see fluxout --help)"),
        (
            ("lines", "--head", "-1", "x"),
            b"fluxout: invalid value for '--head': -1 is not in the range x>=0"
            b" (see fluxout lines --help)",
        ),
    ],
)
def test_a_usage_error_is_one_line_with_a_hint(
    run: Run, args: tuple[str, ...], line: bytes
) -> None:
    _, err, rc = run(*args)
    assert rc == 2
    assert err == line + b"\n"


# -- silent empty results get one warning (status 0) ----------------------------

MANY = FIXTURES / "many-ranks"
# When the hello job ran: its first and last output lines.
FIRST_LINE = 1795619482.9910402
LAST_LINE = 1795619482.9991367


def _local(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def test_tasks_the_job_does_not_have(run: Run) -> None:
    out, err, rc = run("cat", "-t", "100", MANY)
    assert (out, rc) == (b"", 0)
    want = "fluxout: ƒWVriCw: warning: -t 100 selects no task of the job's 16 (0-15)\n"
    assert err == want.encode()
    out, err, rc = run("lines", "-t", "16-20,99", MANY)
    assert (out, rc) == (b"", 0)
    assert err.count(b"warning: -t 16-20,99 selects no task of the job's 16") == 1
    # events still shows the main and exec eventlogs, but none of the output.
    out, err, rc = run("events", "-t", "100", MANY)
    assert rc == 0 and b"main.submit" in out and b"output.data" not in out
    assert err == want.encode()
    # Some of them is no empty result.
    out, err, rc = run("cat", "-t", "15-99", MANY)
    assert out and err == b""


def test_since_after_until_is_said_up_front_once(run: Run) -> None:
    out, err, rc = run("cat", "--since", "2s", "--until", "1s", HELLO, MANY)
    assert (out, rc) == (b"", 0)
    assert err == b"fluxout: warning: --since 2s is after --until 1s: nothing can match\n"
    out, err, rc = run("cat", "--since", "@2000000000", "--until", "2030-01-01T00:00:00", HELLO)
    assert err.count(b"warning: --since @2000000000 is after --until 2030-01-01T00:00:00") == 1


def test_a_window_outside_the_jobs_output(run: Run) -> None:
    later = f"@{LAST_LINE + 86400:.0f}"  # the next day
    out, err, rc = run("cat", "--since", later, HELLO)
    assert (out, rc) == (b"", 0)
    # hello's directory has an exec eventlog: the job is named by its id.
    last = _local(LAST_LINE)
    want = f"fluxout: ƒJP8adV: warning: --since {later} is after the job's last output ({last})\n"
    assert err == want.encode()
    out, err, rc = run("lines", "--until", "2020-01-01T00:00:00", HELLO)
    assert (out, rc) == (b"", 0)
    first = _local(FIRST_LINE)
    want = (
        "fluxout: ƒJP8adV: warning: --until 2020-01-01T00:00:00 is before the job's first "
        f"output ({first})\n"
    )
    assert err == want.encode()
    out, err, rc = run("cat", "--since", "1h", HELLO)
    assert (out, rc) == (b"", 0)
    assert err.count(b"warning: --since 1h is after the job's last output (") == 1
    assert b"s after its start)" in err


def test_a_window_before_and_after_in_two_ways_is_one_warning(run: Run) -> None:
    # --since after the last output and after --until (mixed kinds: known once read).
    out, err, rc = run("cat", "--since", f"@{LAST_LINE + 10:.0f}", "--until", "1s", HELLO)
    assert (out, rc) == (b"", 0)
    assert err.count(b"warning") == 1
    assert b"is after --until 1s: nothing can match" in err


def test_a_window_that_holds_output_is_not_warned_of(run: Run) -> None:
    out, err, rc = run("cat", "--since", f"@{FIRST_LINE:.3f}", "--until", "10m", HELLO)
    assert out and rc == 0 and b"warning" not in err


def test_a_time_of_day_on_a_job_of_another_day(run: Run) -> None:
    """A time of day is today's: on a job of an earlier day it holds nothing."""
    if time.time() < LAST_LINE + 86400:
        pytest.skip("this clock is not a day after the job")
    out, err, rc = run("cat", "--since", "00:00:01", HELLO)
    assert (out, rc) == (b"", 0)
    assert err.count(b"warning: --since 00:00:01 is after the job's last output (") == 1
