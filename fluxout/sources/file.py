"""Saved eventlogs: a file, a directory in the fixture layout, or stdin."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import sys
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import orjson

from fluxout.errors import FluxoutError, NotFoundError
from fluxout.jobid import jobid_of_name, jobid_of_service
from fluxout.sources.base import IDLE, RESOURCES, Notice

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


def _unreadable(path: Path) -> str | None:
    """Why a file of a job directory cannot be read as an eventlog, or None."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            return os.strerror(errno.EISDIR)
        if not stat.S_ISREG(mode):
            return "not a regular file"  # a FIFO would block the whole job
        with path.open("rb"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


class PathSource:
    """A saved eventlog file, or a directory holding a job's eventlogs.

    A file of a directory that is there but cannot be read is told of in a
    Notice, and the other files are still read.
    """

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self.files: dict[str, Path] = {}
        self.unreadable: dict[str, str] = {}  # eventlog -> "cannot read FILE: why"
        try:
            if path.is_dir():
                self._find_files()
            else:
                with path.open("rb") as f:
                    self.files[classify_known(f.read(HEAD_BYTES), name)] = path
        except FileNotFoundError:
            raise NotFoundError(name, "no such file or directory") from None
        except OSError as exc:
            raise _read_error(name, path, exc) from None
        # An unreadable eventlog is still one of the job's: its Notice says
        # it is lost, which the consumer needs to hear.
        self.eventlogs = frozenset(self.files) | frozenset(self.unreadable)
        self.jobid = self._jobid()

    def _jobid(self) -> str | None:
        """The job's id, in F58, when the saved files say it: the exec
        eventlog names the job's shell after it (shell.init), or the
        directory is named after it. Read up front, as exception lines,
        from the main eventlog, come before the exec eventlog is read."""
        exec_path = self.files.get("exec")
        if exec_path is not None:
            try:
                with exec_path.open("rb") as f:
                    head = f.read(HEAD_BYTES)
            except OSError:
                head = b""  # told when the file is read
            for line in head.split(b"\n"):
                if b'"shell.init"' not in line:
                    continue
                try:
                    event = orjson.loads(line)
                except orjson.JSONDecodeError:
                    break
                context = event.get("context") if isinstance(event, dict) else None
                service = context.get("service") if isinstance(context, dict) else None
                if isinstance(service, str) and (jobid := jobid_of_service(service)):
                    return jobid
                break
        if self.path.is_dir():
            return jobid_of_name(self.path.resolve().name)
        return None

    def _find_files(self) -> None:
        for eventlog, names in DIR_LAYOUT.items():
            found = next((self.path / n for n in names if os.path.lexists(self.path / n)), None)
            if found is None:
                continue
            why = _unreadable(found)
            if why is None:
                self.files[eventlog] = found
            else:
                self.unreadable[eventlog] = f"cannot read {found}: {why}"
        if self.unreadable and not self.files:
            raise FluxoutError(self.name, next(iter(self.unreadable.values())))
        if not self.files:
            raise FluxoutError(
                self.name, "directory holds no output.eventlog, eventlog or exec.eventlog"
            )

    def chunks(self, follow: bool, wanted: frozenset[str]) -> Iterator[tuple[str, bytes | Notice]]:
        for eventlog, why in self.unreadable.items():
            if eventlog in wanted:
                yield eventlog, Notice(f"{self.name}: {why}", error=True)
        if RESOURCES in wanted:
            yield RESOURCES, self.resource_set()
        order = [e for e in ("main", "exec", "output") if e in wanted and e in self.files]
        if not follow:
            for eventlog in order:
                yield from self._read_whole(eventlog)
            return
        yield from self._follow(order)

    def resource_set(self) -> bytes:
        """The job's R saved in its directory, as ``flux job info ID R >
        DIR/R`` writes it; empty when there is none (or this is a file)."""
        path = self.path / "R"
        if not self.path.is_dir() or not path.is_file():
            return b""
        try:
            return path.read_bytes()
        except OSError as exc:
            raise _read_error(self.name, path, exc) from None

    def _read_whole(self, eventlog: str) -> Iterator[tuple[str, bytes]]:
        path = self.files[eventlog]
        try:
            with path.open("rb", buffering=0) as f:
                while chunk := f.read(CHUNK):
                    yield eventlog, chunk
        except OSError as exc:
            raise _read_error(self.name, path, exc) from None

    def _follow(self, order: Sequence[str]) -> Iterator[tuple[str, bytes | Notice]]:
        """Read what is there, then poll for growth until the consumer stops."""
        files: dict[str, _Followed] = {}
        try:
            for eventlog in order:
                files[eventlog] = _Followed(self.files[eventlog], self.name)
            while True:
                if (yield from _each(files, _Followed.read)):
                    continue
                # Caught up: only now look for a replaced or truncated file,
                # as tail -F does.
                if (yield from _each(files, _Followed.check)):
                    continue
                # Caught up with every file: the consumer may decide the job
                # is over, or wait for more.
                yield IDLE, b""
                time.sleep(POLL_SECONDS)
        finally:
            for followed in files.values():
                followed.close()


def _each(
    files: dict[str, _Followed], step: Callable[[_Followed], Iterator[bytes | Notice]]
) -> Generator[tuple[str, bytes | Notice], None, bool]:
    """One step over every followed file; True when it yielded anything."""
    any_yielded = False
    for eventlog, followed in files.items():
        for item in step(followed):
            any_yielded = True
            yield eventlog, item
    return any_yielded


class _Followed:
    """One file followed by name, as ``tail -F`` does.

    A file replaced under its name is reopened; one truncated is read again
    from its start.  A replacement that begins with exactly the bytes passed
    on so far (a saved eventlog copied again, grown) goes on after them; any
    other is read from its start, with a Notice.  A file that disappears is
    waited for.
    """

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self.handle = self._open()
        self.offset = 0  # bytes passed on from the file now open
        self.hash = hashlib.blake2b()  # of those bytes

    def _open(self) -> BinaryIO:
        try:
            return self.path.open("rb", buffering=0)
        except OSError as exc:
            raise _read_error(self.name, self.path, exc) from None

    def close(self) -> None:
        self.handle.close()

    def read(self) -> Iterator[bytes]:
        """Everything up to the end of the file."""
        while True:
            try:
                chunk = self.handle.read(CHUNK)
            except OSError as exc:
                raise _read_error(self.name, self.path, exc) from None
            if not chunk:
                return
            self.offset += len(chunk)
            self.hash.update(chunk)
            yield chunk

    def check(self) -> Iterator[bytes | Notice]:
        """After catching up: switch to a new file under the name, if any."""
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            return  # gone: keep polling until it is back
        except OSError as exc:
            raise _read_error(self.name, self.path, exc) from None
        mine = os.fstat(self.handle.fileno())
        if (now.st_dev, now.st_ino) != (mine.st_dev, mine.st_ino):
            yield from self.read()  # the last bytes written to the old file
            if not self._reopen():
                yield self._restart("file replaced")
        elif now.st_size < self.offset:
            self.handle.seek(0)
            yield self._restart("file truncated")
        else:
            return
        yield from self.read()

    def _reopen(self) -> bool:
        """Open the new file; True when it starts with what was passed on."""
        old, self.handle = self.handle, self._open()
        old.close()
        if self._starts_with_passed():
            return True  # and the handle is just after those bytes
        self.handle.seek(0)
        return False

    def _starts_with_passed(self) -> bool:
        digest = hashlib.blake2b()
        left = self.offset
        while left:
            chunk = self.handle.read(min(CHUNK, left))
            if not chunk:
                return False
            digest.update(chunk)
            left -= len(chunk)
        return digest.digest() == self.hash.digest()

    def _restart(self, what: str) -> Notice:
        self.offset = 0
        self.hash = hashlib.blake2b()
        return Notice(f"{self.path}: {what}; reading it from the start", restart=True)


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
        self.jobid: str | None = None  # a pipe is read once: not peeked at for it
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
        if RESOURCES in wanted:
            yield RESOURCES, b""  # a pipe holds one eventlog, never R
        if self.eventlog not in wanted:
            return
        head, self._head = self._head, b""
        if head:
            yield self.eventlog, head
        while chunk := self._read():
            yield self.eventlog, chunk


def open_path(arg: str, stdin: BinaryIO | None = None) -> PathSource | StdinSource:
    """A path argument (or ``-``, which reads ``stdin``) as a source."""
    if arg == "-":
        return StdinSource(stdin)
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
