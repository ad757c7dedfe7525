"""Every line option composes with every other.

First the combinations that were broken, one test each; then a property
test that draws option sets over the captured fixtures and compares
fluxout's bytes with a plain reference model that lives only here.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from fluxout.cli import main
from fluxout.filters import TimeBound
from fluxout.idset import parse_idset
from fluxout.render.terminal import Terminal
from fluxout.watch import Request, run
from tests.conftest import FIXTURES
from tests.test_features import write_eventlog


def show(command: str, jobs: list[str], **options: Any) -> tuple[bytes, bytes, int]:
    """A request run in-process: (stdout, stderr, status)."""
    out, err = io.BytesIO(), io.BytesIO()
    status = run(Request(command, jobs, **options), Terminal(out, err, False, False, False, {}))
    return out.getvalue(), err.getvalue(), status


def numbered(tmp_path: Path, counts: dict[int, int]) -> str:
    """A job whose task R writes lines "R.1" ... "R.<counts[R]>", the tasks
    taking turns, one line per event."""
    data = []
    for i in range(max(counts.values())):
        for rank, count in counts.items():
            if i < count:
                data.append(("stdout", str(rank), f"{rank}.{i + 1}\n"))
    return str(write_eventlog(tmp_path / "output.eventlog", data, len(counts)))


# -- --head with --tail: the first N and the last M, each line once ----------


def test_head_and_tail_give_the_first_and_the_last_lines(tmp_path: Path) -> None:
    job = numbered(tmp_path, {0: 5, 1: 3})
    out, err, rc = show("cat", [job], head=2, tail=1, label=True)
    assert (err, rc) == (b"", 0)
    assert out == b"0: 0.1\n1: 1.1\n0: 0.2\n1: 1.2\n1: 1.3\n0: 0.5\n"


def test_overlapping_head_and_tail_show_each_line_once(tmp_path: Path) -> None:
    job = numbered(tmp_path, {0: 3, 1: 4})
    out, _, rc = show("cat", [job], head=3, tail=3, label=True)
    assert rc == 0
    assert out == b"0: 0.1\n1: 1.1\n0: 0.2\n1: 1.2\n0: 0.3\n1: 1.3\n1: 1.4\n"


def test_head_and_tail_count_after_the_other_filters(tmp_path: Path) -> None:
    job = numbered(tmp_path, {0: 9})
    out, _, _ = show("cat", [job], head=1, tail=1, exclude=[re.compile(rb"\.[15]$")])
    assert out == b"0.2\n0.9\n"


def test_tail_keeps_the_order_the_lines_were_written_in(tmp_path: Path) -> None:
    # Task 0's line begins first but ends last: as without --tail, the
    # line that was finished first comes first.
    data = [("stdout", "0", "slow "), ("stdout", "1", "quick\n"), ("stdout", "0", "line\n")]
    job = str(write_eventlog(tmp_path / "output.eventlog", data, 2))
    plain, _, _ = show("cat", [job], label=True)
    assert plain == b"1: quick\n0: slow line\n"
    assert show("cat", [job], label=True, tail=5)[0] == plain
    assert show("lines", [job], json=True, tail=5)[0] == show("lines", [job], json=True)[0]


def test_follow_head_and_tail_go_on_with_the_new_lines(tmp_path: Path) -> None:
    job = numbered(tmp_path, {0: 5})
    out, _, rc = show("follow", [job], follow=True, head=1, tail=1)
    assert (out, rc) == (b"0.1\n0.5\n", 0)


# -- options that cannot be used together: one line, status 2 ---------------


def cli(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[bytes, bytes, int]:
    """fluxout's main in-process: (stdout, stderr, status)."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsysbinary.readouterr()
    assert isinstance(exc.value.code, int)
    return out, err, exc.value.code


HELLO = str(FIXTURES / "hello")
LINE_OPTIONS = [
    ("--grep", "x"),
    ("--include", "x"),
    ("--exclude", "x"),
    ("--since", "1s"),
    ("--until", "1s"),
    ("--timestamps", "rel"),
    ("--head", "1"),
    ("--tail", "1"),
    ("--coalesce",),
    ("--highlight", "x"),
]


@pytest.mark.parametrize("label", [(), ("-l",)])
@pytest.mark.parametrize("option", LINE_OPTIONS, ids=lambda o: o[0])
@pytest.mark.parametrize("command", ["cat", "follow"])
def test_unbuffered_writes_events_not_lines(
    command: str, option: tuple[str, ...], label: tuple[str, ...], capsysbinary
) -> None:
    out, err, rc = cli(capsysbinary, command, "-u", *label, *option, HELLO)
    name = "--grep" if option[0] == "--include" else option[0]
    assert (out, rc) == (b"", 2)
    why = b"-u writes events, not lines: it cannot be used with %s" % name.encode()
    assert err == b"fluxout: %s (see fluxout %s --help)\n" % (why, command.encode())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("cat", "--split", "DIR", "-l"),
            "--split writes each task's output to its own files: it cannot be used with -l",
        ),
        (
            ("cat", "--split", "DIR", "--timestamps=abs"),
            "--split writes each task's output to its own files: it cannot be used with "
            "--timestamps",
        ),
        (
            ("follow", "--split", "DIR", "--coalesce"),
            "--split writes each task's output to its own files: it cannot be used with --coalesce",
        ),
        (
            ("cat", "--split", "DIR", "--highlight", "x"),
            "--split writes each task's output to its own files: it cannot be used with "
            "--highlight",
        ),
        (
            ("cat", "--split", "DIR", "-u", "--grep", "x"),
            "--split writes each task's output to its own files: it cannot be used with -u",
        ),
        (
            ("cat", "--force"),
            "--force replaces the files of --split: it cannot be used without --split",
        ),
        (
            ("lines", "--json", "--format", "{line}"),
            "--format writes each line through its template: it cannot be used with --json",
        ),
        (
            ("lines", "--format", "{line}", "--timestamps=abs"),
            "--format writes each line through its template: it cannot be used with --timestamps",
        ),
        (
            ("lines", "--json", "--timestamps=delta"),
            "--json writes each line's timestamp as a number: it cannot be used with --timestamps",
        ),
        (
            ("events", "--eventlog", "main", "-t", "0"),
            "-t selects output events: it cannot be used without --eventlog output",
        ),
        (
            ("events", "--eventlog", "exec", "--stream", "stderr"),
            "--stream selects output events: it cannot be used without --eventlog output",
        ),
        (
            ("events", "--eventlog", "main", "-L", "error"),
            "-L selects output events: it cannot be used without --eventlog output",
        ),
    ],
)
def test_options_that_would_be_ignored_are_usage_errors(
    args: tuple[str, ...], message: str, capsysbinary, tmp_path: Path
) -> None:
    argv = [str(tmp_path / "out") if a == "DIR" else a for a in args]
    out, err, rc = cli(capsysbinary, *argv, HELLO)
    help_hint = f" (see fluxout {args[0]} --help)\n".encode()
    assert (out, err, rc) == (b"", b"fluxout: " + message.encode() + help_hint, 2)
    assert not (tmp_path / "out").exists()


def test_lines_timestamps_choose_the_time_column(capsysbinary) -> None:
    args = ("-t", "0", "--stream", "stdout", HELLO)
    rel = cli(capsysbinary, "lines", *args)[0].splitlines()
    assert rel[0].startswith(b"     0.767s   0 stdout hello")
    assert cli(capsysbinary, "lines", "--timestamps=rel", *args)[0].splitlines() == rel
    delta = cli(capsysbinary, "lines", "--timestamps=delta", *args)[0].splitlines()
    assert [d[:8] for d in delta] == [b"    +0.0"] * 3
    assert [d[11:] for d in delta] == [r[11:] for r in rel]
    absolute = cli(capsysbinary, "lines", "--timestamps=abs", *args)[0].splitlines()
    assert all(re.match(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}   0 stdout ", a) for a in absolute)


def test_events_log_level_keeps_the_shell_messages_at_or_above_it(capsysbinary) -> None:
    verbose = str(FIXTURES / "shell-log-verbose")
    every, _, rc = cli(capsysbinary, "events", "--json", "--eventlog", "output", verbose)
    assert rc == 0
    events = [orjson.loads(line) for line in every.splitlines()]
    levels = [e["context"]["level"] for e in events if e["name"] == "log"]
    assert min(levels) <= 6 < max(levels)
    warn, _, rc = cli(
        capsysbinary, "events", "--json", "--eventlog", "output", "-L", "info", verbose
    )
    assert rc == 0
    want = [e for e in events if e["name"] != "log" or e["context"]["level"] <= 6]
    assert [orjson.loads(line) for line in warn.splitlines()] == want


# -- --split holds the lines the filters keep ------------------------------


def split_files(directory: Path) -> dict[str, bytes]:
    return (
        {p.name: p.read_bytes() for p in sorted(directory.iterdir())} if directory.exists() else {}
    )


@pytest.mark.parametrize(
    ("options", "want"),
    [
        ({"include": [re.compile(rb"\.[13]")]}, {"0.out": b"0.1\n0.3\n", "1.out": b"1.1\n1.3\n"}),
        ({"exclude": [re.compile(rb"^0")]}, {"1.out": b"1.1\n1.2\n1.3\n"}),
        ({"head": 1, "tail": 1}, {"0.out": b"0.1\n0.5\n", "1.out": b"1.1\n1.3\n"}),
        ({"tail": 2, "tasks": parse_idset("0")}, {"0.out": b"0.4\n0.5\n"}),
        ({"head": 1, "streams": frozenset({"stderr"})}, {}),
        ({"since": TimeBound(105.5, True)}, {"0.out": b"0.4\n0.5\n", "1.out": b"1.3\n"}),
        ({"until": TimeBound(4.5, False)}, {"0.out": b"0.1\n0.2\n", "1.out": b"1.1\n1.2\n"}),
    ],
)
def test_split_holds_the_filtered_lines(
    options: dict[str, Any], want: dict[str, bytes], tmp_path: Path
) -> None:
    job = numbered(tmp_path, {0: 5, 1: 3})  # at 101.0, 102.0, ... (header at 100.0)
    _, err, rc = show("cat", [job], split=tmp_path / "out", **options)
    assert rc == 0, err
    # Every selected task has its files, empty when no line of it passed.
    tasks, streams = options.get("tasks"), options.get("streams", {"stdout", "stderr"})
    empty = {
        f"{rank}.{'out' if stream == 'stdout' else 'err'}": b""
        for rank in (0, 1)
        for stream in streams
        if tasks is None or rank in tasks
    }
    assert split_files(tmp_path / "out" / "output.eventlog") == {**empty, **want}


def test_split_keeps_a_last_line_without_its_newline(tmp_path: Path) -> None:
    data = [("stdout", "0", "one\ntw"), ("stdout", "1", "x\n"), ("stdout", "0", "o")]
    job = str(write_eventlog(tmp_path / "output.eventlog", data, 2))
    _, err, rc = show("cat", [job], split=tmp_path / "out", include=[re.compile(b"o")])
    assert rc == 0, err
    files = split_files(tmp_path / "out" / "output.eventlog")
    assert files == {"0.out": b"one\ntwo", "1.out": b"", "0.err": b"", "1.err": b""}
