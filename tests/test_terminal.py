"""main(argv, terminal): an injected terminal replaces the process's streams,
their isatty and its environment, so terminal behaviour is tested in-process
(a real pseudo-terminal has its own tests, in test_cli_tty.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import run_in_process

ANSI = re.compile(rb"\x1b\[[0-9;]*m")
TERM = {"TERM": "xterm-256color"}


@pytest.fixture
def hello(case_dir) -> Path:  # type: ignore[no-untyped-def]
    return case_dir("hello")


def test_a_terminal_stdout_gets_colour_and_the_same_bytes(hello: Path) -> None:
    piped, piped_err, _ = run_in_process("cat", "-l", hello, env=TERM)
    coloured, err, status = run_in_process("cat", "-l", hello, tty=(True, False), env=TERM)
    assert status == 0
    assert ANSI.search(coloured) and not ANSI.search(piped)
    assert ANSI.sub(b"", coloured) == piped
    assert err == piped_err  # stderr is still a pipe: no colour there


def test_the_injected_environment_is_read_not_the_process_one(
    hello: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain, _, _ = run_in_process("cat", hello, env={})
    labelled, _, _ = run_in_process("cat", hello, env={"FLUXOUT_CAT_LABEL": "1"})
    assert labelled != plain
    assert {line.split(b": ", 1)[1] for line in labelled.splitlines()} == set(plain.splitlines())
    monkeypatch.setenv("FLUXOUT_CAT_LABEL", "1")
    assert run_in_process("cat", hello, env={})[0] == plain
    # NO_COLOR from the injected environment turns a terminal's colour off.
    out, _, _ = run_in_process("cat", "-l", hello, tty=(True, False), env={**TERM, "NO_COLOR": "1"})
    assert out == labelled


def test_a_bad_value_from_the_injected_environment_names_its_variable(hello: Path) -> None:
    out, err, status = run_in_process("cat", hello, env={"FLUXOUT_COLOR": "bogus"})
    assert (out, status) == (b"", 2)
    assert err.startswith(b"fluxout: invalid value for FLUXOUT_COLOR (for '--color'")
    assert err.count(b"\n") == 1


def test_errors_are_escaped_on_a_terminal_stderr_only(tmp_path: Path) -> None:
    name = tmp_path / "job\x1b[31m"
    _, piped, status = run_in_process("cat", f"{name}/")
    assert status == 1 and b"\x1b[31m" in piped
    _, escaped, status = run_in_process("cat", f"{name}/", tty=(False, True), env=TERM)
    assert status == 1 and b"job\\x1b[31m/" in escaped
    # What is left of the raw escape is fluxout's own colour of the line.
    assert ANSI.sub(b"", escaped).replace(b"\\x1b", b"\x1b") == piped


def test_help_and_stdin_are_the_terminal_ones(hello: Path) -> None:
    out, err, status = run_in_process("cat", "--help")
    assert (err, status) == (b"", 0) and out.startswith(b"Usage: fluxout cat")
    eventlog = (hello / "output.eventlog").read_bytes()
    assert run_in_process("cat", "-", stdin=eventlog)[0] == run_in_process("cat", hello)[0]


def test_the_process_streams_are_left_alone(hello: Path, capfd: pytest.CaptureFixture[str]) -> None:
    run_in_process("cat", hello)
    run_in_process("cat", "--nope")
    run_in_process("cat", os.devnull + "/missing")
    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")
