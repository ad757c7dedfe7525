"""follow (and cat --wait) of a saved job whose files do not hold its end yet.

The files are polled as ``tail -f`` does, until the job's end is in them;
on a terminal a status line says what they lack, in a pipe nothing is said.
Each test runs the core on a copy of the hello job cut short, with an
injected Terminal, in a thread; then appends what was missing, and the
follow ends by itself.
"""

from __future__ import annotations

import io
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fluxout.render.terminal import Terminal
from fluxout.watch import Request, run
from tests.conftest import FIXTURES

HELLO = FIXTURES / "hello"
MAIN = (HELLO / "eventlog").read_bytes().splitlines(keepends=True)
OUTPUT = (HELLO / "output.eventlog").read_bytes().splitlines(keepends=True)
STDOUT = (HELLO / "attach.stdout").read_bytes()
TIMEOUT = 30.0


class _Stream(io.BytesIO):
    """A BytesIO another thread can read while the core writes to it."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def write(self, data: bytes) -> int:  # type: ignore[override]
        with self.lock:
            return super().write(data)

    def text(self) -> bytes:
        with self.lock:
            return self.getvalue()


class Following:
    """``fluxout follow DIR`` in a thread, on a terminal or into a pipe."""

    def __init__(self, req: Request, tty: bool) -> None:
        self.out, self.err = _Stream(), _Stream()
        self.term = Terminal(self.out, self.err, tty, tty, False, {})
        self.rc: int | None = None
        self.thread = threading.Thread(target=self._run, args=(req,), daemon=True)
        self.thread.start()

    def _run(self, req: Request) -> None:
        self.rc = run(req, self.term)

    def wait_until(self, seen: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not seen():
            if time.monotonic() > deadline or not self.thread.is_alive():
                pytest.fail(f"{what}: stdout {self.out.text()!r}, stderr {self.err.text()!r}")
            time.sleep(0.02)

    def end(self) -> int:
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), self.err.text()
        assert self.rc is not None
        return self.rc


def _cut_job(tmp_path: Path, main: list[bytes], output: list[bytes]) -> Path:
    d = tmp_path / "hello"
    d.mkdir()
    shutil.copyfile(HELLO / "exec.eventlog", d / "exec.eventlog")
    (d / "eventlog").write_bytes(b"".join(main))
    (d / "output.eventlog").write_bytes(b"".join(output))
    return d


def _append(path: Path, lines: list[bytes]) -> None:
    with path.open("ab") as f:
        f.write(b"".join(lines))


def _no_eof_of(ranks: tuple[str, ...]) -> tuple[list[bytes], list[bytes]]:
    """hello's output without the eof events of these ranks, and those."""

    def of_ranks(line: bytes) -> bool:
        return b'"eof":true' in line and any(b'"rank":"%s"' % r.encode() in line for r in ranks)

    return [ln for ln in OUTPUT if not of_ranks(ln)], [ln for ln in OUTPUT if of_ranks(ln)]


@pytest.mark.parametrize("command", ["follow", "cat"])
def test_a_terminal_is_told_which_tasks_have_not_ended(tmp_path: Path, command: str) -> None:
    """The job finished, but its output lacks the eof of tasks 2 and 3."""
    output, eofs = _no_eof_of(("2", "3"))
    d = _cut_job(tmp_path, MAIN[:-1], output)  # finish, but no clean
    following = Following(Request(command, [str(d)], follow=True, color="never"), tty=True)
    want = f"waiting for more of {d / 'output.eventlog'}: no eof from tasks [2-3] yet".encode()
    following.wait_until(lambda: want in following.err.text(), "no status line")
    _append(d / "output.eventlog", eofs)
    # As attach, follow waits for the clean event (-w clean), and says so.
    clean = f"waiting for more of {d / 'eventlog'}: no clean event yet".encode()
    following.wait_until(lambda: clean in following.err.text(), "no clean status line")
    _append(d / "eventlog", MAIN[-1:])
    assert following.end() == 0
    assert following.out.text() == STDOUT
    err = following.err.text()
    assert err.count(want) == 1  # written once, not at every poll
    assert err.endswith(b"\r\x1b[K")  # and erased at the end


def test_one_stream_that_has_not_ended_is_named(tmp_path: Path) -> None:
    output = [ln for ln in OUTPUT if not (b'"eof":true' in ln and b'"stderr","rank":"1"' in ln)]
    d = _cut_job(tmp_path, MAIN[:-1], output)
    following = Following(Request("follow", [str(d)], follow=True, color="never"), tty=True)
    want = b": no stderr eof from task 1 yet"
    following.wait_until(lambda: want in following.err.text(), "no status line")
    _append(d / "eventlog", MAIN[-1:])  # the clean event ends it as well
    assert following.end() == 0


@pytest.mark.parametrize(
    ("cut", "lack"),
    [
        (6, "the job has not finished (no finish event yet)"),  # up to start
        (4, "the job has not started (its last event is priority)"),
        (0, "no event yet"),
    ],
)
def test_a_terminal_is_told_what_the_main_eventlog_lacks(
    tmp_path: Path, cut: int, lack: str
) -> None:
    d = _cut_job(tmp_path, MAIN[:cut], OUTPUT if cut else [])
    following = Following(Request("follow", [str(d)], follow=True, color="never"), tty=True)
    want = f"waiting for more of {d / 'eventlog'}: {lack}".encode()
    following.wait_until(lambda: want in following.err.text(), "no status line")
    # Not the live job's "waiting for resources": nothing in a file waits for that.
    assert b"waiting for resources" not in following.err.text()
    if not cut:
        _append(d / "output.eventlog", OUTPUT)
    _append(d / "eventlog", MAIN[cut:])
    assert following.end() == 0
    assert following.out.text() == STDOUT


def test_output_after_the_status_line_starts_on_a_clean_line(tmp_path: Path) -> None:
    output = OUTPUT[:5]  # the header and the first lines
    d = _cut_job(tmp_path, MAIN[:-1], output)
    following = Following(Request("follow", [str(d)], follow=True, color="never"), tty=True)
    following.wait_until(lambda: b"waiting for more of" in following.err.text(), "no status")
    before = len(following.err.text())
    _append(d / "output.eventlog", OUTPUT[5:])
    _append(d / "eventlog", MAIN[-1:])  # as attach, follow waits for clean too
    assert following.end() == 0
    # The status line was erased before the job's stderr went on.
    after = following.err.text()[before:]
    assert after.startswith(b"\r\x1b[K")


def test_a_pipe_is_followed_as_tail_f_does_without_a_word(tmp_path: Path) -> None:
    output, eofs = _no_eof_of(("2", "3"))
    d = _cut_job(tmp_path, MAIN[:-1], output)
    following = Following(Request("follow", [str(d)], follow=True, color="never"), tty=False)
    time.sleep(0.5)  # several polls
    assert following.thread.is_alive()
    _append(d / "output.eventlog", eofs)
    time.sleep(0.3)
    assert following.thread.is_alive()  # as attach: until the clean event
    _append(d / "eventlog", MAIN[-1:])
    assert following.end() == 0
    assert following.out.text() == STDOUT
    assert b"waiting" not in following.err.text()
    assert following.err.text() == (HELLO / "attach.stderr").read_bytes()


@pytest.mark.parametrize("eventlogs", [("exec",), ("exec", "output")])
def test_events_f_without_the_main_eventlog_ends_as_follow_does(
    tmp_path: Path, eventlogs: tuple[str, ...]
) -> None:
    """events -f and follow share one job state: without the main eventlog,
    the exec eventlog's complete event ends the job for both (events -f of
    the exec eventlog alone used to wait for an output that was not read)."""
    d = tmp_path / "hello"
    d.mkdir()
    execlog = (HELLO / "exec.eventlog").read_bytes().splitlines(keepends=True)
    complete = next(i for i, line in enumerate(execlog) if b'"name":"complete"' in line)
    (d / "exec.eventlog").write_bytes(b"".join(execlog[:complete]))
    req = Request("events", [str(d)], follow=True, eventlogs=frozenset(eventlogs))
    following = Following(req, tty=False)
    time.sleep(0.5)  # several polls
    assert following.thread.is_alive()
    _append(d / "exec.eventlog", execlog[complete:])
    assert following.end() == 0
    assert following.out.text().splitlines()[-1].endswith(b"exec.done")
