"""Saved eventlogs: a file, a directory in the fixture layout, or stdin."""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from fluxout.errors import FluxoutError
from fluxout.sources.base import IDLE

CHUNK = 1 << 20
POLL_SECONDS = 0.1
# fluxout was started with stdin closed (``<&-``): ``-`` is then an error,
# not the empty input /dev/null (which stands in for it) would give.
STDIN_CLOSED = False

# File names in a saved job directory, per eventlog (first match wins).
DIR_LAYOUT = {
    "main": ("eventlog",),
    "exec": ("exec.eventlog", "guest.exec.eventlog"),
    "output": ("output.eventlog", "guest.output"),
}

# The events that tell which eventlog a file is (RFC 21 main, the exec
# system's guest.exec.eventlog, RFC 24 guest.output).  A line with any other
# name (an unknown event, a malformed line) says nothing: the next one is
# looked at, and a file that never tells is taken as an output eventlog.
_OUTPUT_EVENTS = (b'"header"', b'"data"', b'"redirect"', b'"log"')
_EXEC_EVENTS = (
    b'"init"',
    b'"starting"',
    b'"shell.',
    b'"done"',
    b'"complete"',
    b'"reattach-',
)
_MAIN_EVENTS = (
    b'"submit"',
    b'"validate"',
    b'"invalidate"',
    b'"depend"',
    b'"dependency-',
    b'"priority"',
    b'"urgency"',
    b'"alloc"',
    b'"prolog-',
    b'"epilog-',
    b'"start"',
    b'"exception"',
    b'"finish"',
    b'"release"',
    b'"free"',
    b'"clean"',
    b'"memo"',
    b'"set-flags"',
    b'"jobspec-update"',
    b'"resource-update"',
    b'"flux-restart"',
    b'"debug.',
)
# How much of a file (or of stdin) is read to tell which eventlog it is.
HEAD_BYTES = 1 << 16


INPUT_MESSAGE = (
    "this is a job's input eventlog (guest.input), not its output: "
    "give the output eventlog or the job's directory"
)


def classify_known(head: bytes, name: str) -> str:
    """``classify``, refusing a job's input eventlog with a clear message."""
    eventlog = classify(head)
    if eventlog == "input":
        raise FluxoutError(name, INPUT_MESSAGE)
    return eventlog


def classify(head: bytes) -> str:
    """Which eventlog a saved file holds, from the first event names in it."""
    first = head.split(b"\n", 1)[0]
    if b'"header"' in first and b'"stdin"' in first:
        return "input"  # guest.input: its header counts stdin streams
    for line in head.split(b"\n"):
        start = line.find(b'"name"')
        if start < 0:
            continue
        rest = line[start + 6 :].lstrip(b" \t:")
        if rest.startswith(_OUTPUT_EVENTS):
            return "output"
        if rest.startswith(_EXEC_EVENTS):
            return "exec"
        if rest.startswith(_MAIN_EVENTS):
            return "main"
    return "output"


def _read_error(name: str, path: Path | str, exc: OSError) -> FluxoutError:
    return FluxoutError(name, f"cannot read {path}: {exc.strerror or exc}")


class PathSource:
    """A saved eventlog file, or a directory holding a job's eventlogs."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self.files: dict[str, Path] = {}
        try:
            if path.is_dir():
                for eventlog, names in DIR_LAYOUT.items():
                    for candidate in names:
                        if (path / candidate).is_file():
                            self.files[eventlog] = path / candidate
                            break
                if not self.files:
                    raise FluxoutError(
                        name,
                        "directory holds no output.eventlog, eventlog or exec.eventlog",
                    )
            else:
                with path.open("rb") as f:
                    self.files[classify_known(f.read(HEAD_BYTES), name)] = path
        except FileNotFoundError:
            raise FluxoutError(name, "no such file or directory") from None
        except OSError as exc:
            raise _read_error(name, path, exc) from None
        self.eventlogs = frozenset(self.files)

    def chunks(self, follow: bool, wanted: frozenset[str]) -> Iterator[tuple[str, bytes]]:
        order = [e for e in ("main", "exec", "output") if e in wanted and e in self.files]
        if not follow:
            for eventlog in order:
                yield from self._read_whole(eventlog)
            return
        yield from self._follow(order)

    def _read_whole(self, eventlog: str) -> Iterator[tuple[str, bytes]]:
        path = self.files[eventlog]
        try:
            with path.open("rb", buffering=0) as f:
                while chunk := f.read(CHUNK):
                    yield eventlog, chunk
        except OSError as exc:
            raise _read_error(self.name, path, exc) from None

    def _follow(self, order: Sequence[str]) -> Iterator[tuple[str, bytes]]:
        """Read what is there, then poll for growth until the consumer stops."""
        handles: dict[str, BinaryIO] = {}
        try:
            for eventlog in order:
                handles[eventlog] = self.files[eventlog].open("rb", buffering=0)
            while True:
                grew = False
                for eventlog in order:
                    while chunk := handles[eventlog].read(CHUNK):
                        grew = True
                        yield eventlog, chunk
                if not grew:
                    # Caught up with every file: the consumer may decide
                    # the job is over, or wait for more.
                    yield IDLE, b""
                    time.sleep(POLL_SECONDS)
        except OSError as exc:
            raise _read_error(self.name, self.path, exc) from None
        finally:
            for handle in handles.values():
                handle.close()


class StdinSource:
    """An eventlog read from a pipe: stdin (``-``), or a path naming a pipe,
    FIFO or device (``<(...)``, ``/dev/fd/N``).  Which eventlog it is is told
    by its content, read (up to the end of its first line) when the source
    is made, since a pipe cannot be read twice.
    """

    def __init__(self, stream: BinaryIO | None = None, name: str = "-") -> None:
        if stream is None and STDIN_CLOSED:
            raise FluxoutError(name, "cannot read stdin: it is closed")
        self.stream = stream if stream is not None else sys.stdin.buffer
        self.name = name
        self._head = b""
        self._peek()

    def _peek(self) -> None:
        # Read up to the end of the first line (or HEAD_BYTES) to learn
        # which eventlog this is.
        parts: list[bytes] = []
        size = 0
        while size < HEAD_BYTES:
            chunk = self._read()
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
            if b"\n" in chunk:
                break
        self._head = b"".join(parts)
        self.eventlog = classify_known(self._head, self.name)
        self.eventlogs = frozenset((self.eventlog,))

    def _read(self) -> bytes:
        try:
            fd = self.stream.fileno()
        except (AttributeError, OSError, ValueError):
            return self.stream.read(CHUNK)
        try:
            return os.read(fd, CHUNK)
        except OSError as exc:
            what = "stdin" if self.name == "-" else self.name
            raise FluxoutError(self.name, f"cannot read {what}: {exc.strerror}") from None

    def chunks(self, follow: bool, wanted: frozenset[str]) -> Iterator[tuple[str, bytes]]:
        if self.eventlog not in wanted:
            return
        head, self._head = self._head, b""
        if head:
            yield self.eventlog, head
        while chunk := self._read():
            yield self.eventlog, chunk


def open_path(arg: str) -> PathSource | StdinSource:
    """A path argument (or ``-``) as a source."""
    if arg == "-":
        return StdinSource()
    path = Path(arg)
    try:
        mode = path.stat().st_mode
    except OSError:
        return PathSource(path, arg)  # which says what is wrong
    if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
        return PathSource(path, arg)
    # A pipe or a device: read once, from the start, as stdin is.
    try:
        stream = path.open("rb", buffering=0)
    except OSError as exc:
        raise _read_error(arg, path, exc) from None
    return StdinSource(stream, arg)
