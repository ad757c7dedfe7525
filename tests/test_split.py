"""--split DIR on hostile input: every path stays below DIR."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from fluxout.render.terminal import Terminal
from fluxout.watch import Request, run, split_job_name
from tests.conftest import Run
from tests.test_features import write_eventlog

HELLO = [("stdout", "0", "zero\n"), ("stdout", "1", "one\n"), ("stderr", "1", "oops\n")]
HELLO_FILES = {"0.out": b"zero\n", "1.out": b"one\n", "1.err": b"oops\n"}


def job(tmp_path: Path, name: str = "hello", data: list[tuple[str, str, str]] = HELLO) -> Path:
    """A job directory holding output.eventlog, with 2 tasks."""
    d = tmp_path / name
    d.mkdir(parents=True)
    write_eventlog(d / "output.eventlog", data, 2)
    return d


def files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in d.iterdir()}


def cat_split(jobs: list[str], directory: Path, force: bool = False) -> tuple[bytes, int]:
    """cat --split in-process: (stderr, status)."""
    out, err = io.BytesIO(), io.BytesIO()
    request = Request("cat", jobs, split=directory, force=force)
    status = run(request, Terminal(out, err, False, False, False, {}))
    assert out.getvalue() == b""
    return err.getvalue(), status


# -- the job level is one safe component ----------------------------------


def test_dotdot_job_writes_below_dir(tmp_path: Path, run: Run, monkeypatch) -> None:
    d = job(tmp_path, "job")
    (d / "sub").mkdir()
    monkeypatch.chdir(d / "sub")
    _, err, rc = run("cat", "--split", "../../out", "..")
    assert rc == 0, err
    assert files(tmp_path / "out" / "job") == HELLO_FILES
    assert os.listdir(tmp_path / "out") == ["job"]
    assert not list(tmp_path.glob("*.out"))  # the old code wrote out/../0.out


@pytest.mark.parametrize("arg", [".", "./", "../job/", "../job/."])
def test_dot_and_trailing_slash_jobs_get_the_directory_name(
    arg: str, tmp_path: Path, run: Run, monkeypatch
) -> None:
    d = job(tmp_path, "job")
    monkeypatch.chdir(d)
    _, err, rc = run("cat", "--split", tmp_path / "out", arg)
    assert rc == 0, err
    assert os.listdir(tmp_path / "out") == ["job"]
    assert files(tmp_path / "out" / "job") == HELLO_FILES


def test_stdin_job_is_named_stdin(tmp_path: Path, run: Run) -> None:
    log = write_eventlog(tmp_path / "log", HELLO, 2)
    _, err, rc = run("cat", "--split", tmp_path / "out", "-", stdin=log.read_bytes())
    assert rc == 0, err
    assert files(tmp_path / "out" / "stdin") == HELLO_FILES


@pytest.mark.parametrize(
    ("arg", "name"),
    [("-", "stdin"), ("ƒ2BC", "ƒ2BC"), ("a/b/", "b"), ("/", "job"), ("a/..", None)],
)
def test_split_job_name_is_one_component(arg: str, name: str | None) -> None:
    got = split_job_name(arg)
    assert got not in ("", ".", "..") and "/" not in got
    assert got == (name if name is not None else Path(arg).resolve().name)


def test_empty_split_dir_is_a_usage_error(tmp_path: Path, run: Run, monkeypatch) -> None:
    d = job(tmp_path)
    monkeypatch.chdir(tmp_path)
    _, err, rc = run("cat", "--split", "", d)
    assert rc == 2
    assert [line for line in err.splitlines() if line.startswith(b"Error:")] == [
        b"Error: Invalid value for '--split': the directory must not be empty"
    ]
    assert sorted(os.listdir(d)) == ["output.eventlog"]
