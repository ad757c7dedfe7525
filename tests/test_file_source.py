"""Saved eventlogs that change under fluxout: replaced, truncated, removed,
unreadable in part, and stdin named twice.

follow of a file behaves as ``tail -F``: a path whose file is replaced
(``mv new file``) or truncated is read again, and a replacement that starts
with exactly the bytes already shown (the same log, grown) goes on where the
old file ended.  Each follow test runs ``python -m fluxout follow`` on a copy
of the hello job, changes its output eventlog while it runs, and only then
lets the job end (the main eventlog's last events are appended last).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fluxout.errors import FluxoutError
from fluxout.sources.base import IDLE, Notice
from fluxout.sources.file import PathSource
from tests.conftest import FIXTURES
from tests.test_malformed import environment

HELLO = FIXTURES / "hello"
OUTPUT = (HELLO / "output.eventlog").read_bytes()
MAIN = (HELLO / "eventlog").read_bytes()
STDOUT = (HELLO / "attach.stdout").read_bytes()
STDERR = (HELLO / "attach.stderr").read_bytes()
# The main eventlog up to "start": the job runs until the rest is appended.
MAIN_RUNNING = b"".join(MAIN.splitlines(keepends=True)[:6])
# A cut in the middle of an output line (the 6th), after 3 stdout lines.
CUT = OUTPUT.index(b"\n", OUTPUT.index(b"stdout line 2")) + 40
FIRST_STDOUT = b"hello from rank 1: stdout line 1\n"
# What follow shows of the output before the cut.
SHOWN = STDOUT[: STDOUT.index(b"stdout line 2") + 14]
TIMEOUT = 30.0


class Follow:
    """``fluxout follow DIR`` running, its stdout and stderr collected."""

    def __init__(self, job: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fluxout", "follow", *args, str(job)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment(),
        )
        self.out = bytearray()
        self.err = bytearray()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.readers = [
            threading.Thread(target=self._collect, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._collect, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _collect(stream: object, into: bytearray) -> None:
        assert hasattr(stream, "read1")
        while chunk := stream.read1(65536):
            into.extend(chunk)

    def wait_for(self, what: bytes, where: str = "out") -> None:
        """Wait until fluxout has written ``what`` (on stdout or stderr)."""
        seen = self.out if where == "out" else self.err
        deadline = time.monotonic() + TIMEOUT
        while what not in seen:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.proc.kill()
                pytest.fail(
                    f"fluxout never wrote {what!r}; stdout {self.out!r}, stderr {self.err!r}"
                )
            time.sleep(0.02)

    def end(self) -> tuple[bytes, bytes, int]:
        """Wait for fluxout to end by itself (the job is over)."""
        try:
            rc = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"follow did not end; stdout {self.out!r}, stderr {self.err!r}")
        for reader in self.readers:
            reader.join(TIMEOUT)
        assert b"Traceback" not in self.err, self.err.decode(errors="replace")
        return bytes(self.out), bytes(self.err), rc


@pytest.fixture
def job(tmp_path: Path) -> Path:
    """The hello job, still running, with the first part of its output."""
    d = tmp_path / "hello"
    d.mkdir()
    shutil.copyfile(HELLO / "exec.eventlog", d / "exec.eventlog")
    (d / "eventlog").write_bytes(MAIN_RUNNING)
    (d / "output.eventlog").write_bytes(OUTPUT[:CUT])
    return d


def replace(path: Path, content: bytes) -> None:
    """``mv new path``: a new inode under the old name."""
    new = path.with_name(path.name + ".new")
    new.write_bytes(content)
    os.replace(new, path)


def end_job(d: Path) -> None:
    with (d / "eventlog").open("ab") as f:
        f.write(MAIN[len(MAIN_RUNNING) :])


def test_follow_goes_on_in_a_replaced_file_that_grew(job: Path) -> None:
    follow = Follow(job)
    follow.wait_for(FIRST_STDOUT)
    replace(job / "output.eventlog", OUTPUT)
    end_job(job)
    assert follow.end() == (STDOUT, STDERR, 0)


def test_follow_reads_a_replaced_file_with_other_content_from_the_start(job: Path) -> None:
    # The first file ends in a line cut short: it must not be glued to the
    # new file's first line.
    follow = Follow(job)
    follow.wait_for(FIRST_STDOUT)
    replace(job / "output.eventlog", OUTPUT.replace(b"hello", b"HELLO"))
    follow.wait_for(b"file replaced", "err")
    end_job(job)
    out, err, rc = follow.end()
    assert out == SHOWN + STDOUT.replace(b"hello", b"HELLO")
    path = job / "output.eventlog"
    assert f"fluxout: {path}: file replaced; reading it from the start\n".encode() in err
    assert b"line 1: " not in err  # no garbled line
    assert rc == 0


def test_follow_reads_a_truncated_file_from_the_start(job: Path) -> None:
    follow = Follow(job)
    follow.wait_for(FIRST_STDOUT)
    path = job / "output.eventlog"
    with path.open("r+b") as f:
        f.truncate(0)
    follow.wait_for(b"file truncated", "err")
    with path.open("ab") as f:
        f.write(OUTPUT)
    end_job(job)
    out, err, rc = follow.end()
    assert out == SHOWN + STDOUT
    assert f"fluxout: {path}: file truncated; reading it from the start\n".encode() in err
    assert rc == 0


def test_follow_waits_for_a_removed_file_to_come_back(job: Path) -> None:
    follow = Follow(job)
    follow.wait_for(FIRST_STDOUT)
    path = job / "output.eventlog"
    path.unlink()
    time.sleep(0.5)  # several polls with no file
    replace(path, OUTPUT)  # not write_bytes: follow could see it empty
    end_job(job)
    assert follow.end() == (STDOUT, STDERR, 0)


def test_follow_of_a_single_replaced_file(tmp_path: Path) -> None:
    # No main eventlog: the job is over once every stream has ended.
    path = tmp_path / "output.eventlog"
    path.write_bytes(OUTPUT[:CUT])
    follow = Follow(path)
    follow.wait_for(FIRST_STDOUT)
    replace(path, OUTPUT)
    # Nor can it tell the job's exit status: it says so.
    unknown = (
        b"fluxout: output.eventlog: warning: no main or exec eventlog: "
        b"the job's exit status is unknown (exiting 0)\n"
    )
    assert follow.end() == (STDOUT, STDERR + unknown, 0)


# -- a job directory with an unreadable eventlog ----------------------------


def run(*args: str | Path) -> tuple[bytes, bytes, int]:
    proc = subprocess.run(
        [sys.executable, "-m", "fluxout", *map(str, args)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=environment(),
        timeout=TIMEOUT,
    )
    assert b"Traceback" not in proc.stderr, proc.stderr.decode(errors="replace")
    return proc.stdout, proc.stderr, proc.returncode


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """The hello job with a main eventlog no one can read: a directory."""
    d = tmp_path / "hello"
    shutil.copytree(HELLO, d)
    (d / "eventlog").unlink()
    (d / "eventlog").mkdir()
    return d


@pytest.mark.parametrize("command", ["cat", "follow"])
def test_an_unreadable_eventlog_is_named_and_the_rest_shown(broken: Path, command: str) -> None:
    out, err, rc = run(command, broken)
    assert out == STDOUT
    line = f"fluxout: {broken}: cannot read {broken / 'eventlog'}: Is a directory\n"
    assert line.encode() in err
    assert err.replace(line.encode(), b"") == STDERR
    assert rc == 1


def test_events_of_a_directory_with_an_unreadable_eventlog(broken: Path) -> None:
    out, err, rc = run("events", "--json", broken)
    assert out.count(b'"eventlog":"output"') == OUTPUT.count(b"\n")
    assert err == f"fluxout: {broken}: cannot read {broken / 'eventlog'}: Is a directory\n".encode()
    assert rc == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file of mode 000")
def test_a_file_without_read_permission(tmp_path: Path) -> None:
    d = tmp_path / "hello"
    shutil.copytree(HELLO, d)
    (d / "eventlog").chmod(0)
    out, err, rc = run("cat", d)
    assert (out, rc) == (STDOUT, 1)
    assert f"fluxout: {d}: cannot read {d / 'eventlog'}: Permission denied\n".encode() in err


def test_permission_denied_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As root mode 000 denies nothing: make open() say what it would say.
    d = tmp_path / "hello"
    shutil.copytree(HELLO, d)
    denied = d / "exec.eventlog"
    real_open = Path.open

    def fake_open(self: Path, *args: object, **kw: object) -> object:
        if self == denied:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real_open(self, *args, **kw)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", fake_open)
    source = PathSource(d, str(d))
    assert source.eventlogs == frozenset(("main", "exec", "output"))
    chunks: Iterator[tuple[str, bytes | Notice]] = source.chunks(False, source.eventlogs)
    got = list(chunks)
    notices = [chunk for _, chunk in got if isinstance(chunk, Notice)]
    assert [n.message for n in notices] == [f"{d}: cannot read {denied}: Permission denied"]
    assert all(n.error and not n.restart for n in notices)
    assert b"".join(c for e, c in got if e == "output" and isinstance(c, bytes)) == OUTPUT
    assert IDLE not in (e for e, _ in got)


def test_a_directory_with_nothing_readable(tmp_path: Path) -> None:
    d = tmp_path / "job"
    (d / "output.eventlog").mkdir(parents=True)
    with pytest.raises(FluxoutError, match=r"cannot read .*output\.eventlog: Is a directory"):
        PathSource(d, str(d))


# -- stdin given twice --------------------------------------------------------


@pytest.mark.parametrize("command", ["follow", "cat", "lines"])
def test_stdin_can_be_read_only_once(command: str) -> None:
    out, err, rc = run(command, "-", "-")
    assert (out, rc) == (b"", 2)
    assert b"stdin can be read only once" in err
    assert err.count(b"stdin") == 1


def test_the_same_fifo_twice(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    out, err, rc = run("cat", fifo, fifo)
    assert (out, rc) == (b"", 2)
    assert b"can be read only once" in err
