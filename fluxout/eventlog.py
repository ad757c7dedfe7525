"""RFC 18 eventlog lines to events, and RFC 24 output events to typed records.

The decoder never raises on bad input: a malformed line becomes a
``Problem`` (with its line number) handed to a callback, and decoding goes on
with the next line, so everything valid around it is still shown.
"""

from __future__ import annotations

import binascii
import io
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

from fluxout.idset import IdSet, IdsetError, parse_rank
from fluxout.quoting import quote

STREAMS = ("stdout", "stderr")

# Rank sets larger than this in one event are treated as malformed: no real
# job has that many tasks, and line assembly keeps state per rank.
MAX_EVENT_RANKS = 1 << 20


@dataclass(frozen=True, slots=True)
class Problem:
    """One piece of bad input: where it is and what is wrong with it."""

    lineno: int
    message: str
    eventlog: str = "output"
    # "error": the line was lost; "warning": nothing lost (e.g. an unknown
    # event name, which a newer Flux may add).
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.eventlog} eventlog line {self.lineno}: {self.message}"


Warn = Callable[[Problem], None]


@dataclass(frozen=True, slots=True)
class Event:
    """One RFC 18 eventlog entry."""

    timestamp: float
    name: str
    context: dict[str, Any]
    lineno: int = 0


@dataclass(frozen=True, slots=True)
class Header:
    timestamp: float
    version: int
    encoding: dict[str, str]
    count: dict[str, int]
    options: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Data:
    """Bytes one or more tasks wrote to one stream (possibly empty, with eof)."""

    timestamp: float
    stream: str
    rank: str
    ranks: IdSet
    data: bytes
    eof: bool
    lineno: int = field(default=0, compare=False)  # where it is, for messages


@dataclass(frozen=True, slots=True)
class Redirect:
    timestamp: float
    stream: str
    rank: str
    ranks: IdSet
    path: str | None


@dataclass(frozen=True, slots=True)
class Log:
    """A message from the job shell (RFC 24 ``log``); level is RFC 5424."""

    timestamp: float
    rank: int | None
    level: int
    message: str
    component: str | None = None
    file: str | None = None
    line: int | None = None


OutputRecord = Header | Data | Redirect | Log


class EventlogLineError(ValueError):
    """An eventlog line that is not an RFC 18 entry."""


class NotJSONError(EventlogLineError):
    """An eventlog line that is not JSON at all (see FirstEntry)."""


_JSON_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def json_error(exc: orjson.JSONDecodeError, line: bytes | str) -> str:
    """A one-line description of why ``line`` is not JSON, with its column."""
    if isinstance(line, OverlongLine):
        limit = line.limit
        shown = f"{limit >> 20} MiB" if limit % (1 << 20) == 0 else f"{limit} bytes"
        if line.more:
            return f"line longer than {shown} skipped"
        return f"line of {line.size} bytes skipped (longer than {shown})"
    if isinstance(line, bytes) and "UTF-8" in exc.msg:
        try:
            line.decode()
        except UnicodeDecodeError as bad:
            return f"invalid JSON (not UTF-8 at byte {bad.start + 1})"
    return f"invalid JSON ({exc.msg} at column {exc.pos + 1})"


def entry_fields(obj: object) -> tuple[float, str, dict[str, Any]]:
    """Check a decoded RFC 18 entry; (timestamp, name, context).

    ``context`` is optional in RFC 18 (an entry without one has ``{}``).
    """
    if not isinstance(obj, dict):
        kind = _JSON_KINDS.get(type(obj), "another value")
        raise EventlogLineError(f"not a JSON object but {kind}")
    ts = obj.get("timestamp")
    name = obj.get("name")
    context = obj.get("context", {})
    if isinstance(ts, bool) or not isinstance(ts, (int, float)):
        raise EventlogLineError("missing or non-numeric timestamp")
    if not isinstance(name, str) or not name:
        raise EventlogLineError("missing or non-string name")
    if not isinstance(context, dict):
        raise EventlogLineError("context is not an object")
    return float(ts), name, context


def parse_entry(line: bytes | str) -> tuple[float, str, dict[str, Any]]:
    """Parse one RFC 18 line into (timestamp, name, context)."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise NotJSONError(json_error(exc, line)) from None
    return entry_fields(obj)


# The longest line read: no real event comes near it (the job shell buffers
# 4 MiB of output, at most ~24 MiB once JSON-escaped).  A longer "line" is
# not an eventlog line (a binary file, /dev/zero): it is dropped as it comes,
# which bounds memory, and reported as one bad line.
MAX_LINE = 256 << 20


class OverlongLine(bytes):
    """Stands for a line longer than ``limit``, dropped: ``size`` is its length
    (``more``: it was still going on when it passed the limit, and is
    reported then rather than at its end, which may never come).

    Its bytes are a single NUL, which no decoder takes for JSON or a blank.
    """

    size: int = 0
    limit: int = MAX_LINE
    more: bool = False


def overlong_line(size: int, limit: int, more: bool = False) -> OverlongLine:
    line = OverlongLine(b"\x00")
    line.size = size
    line.limit = limit
    line.more = more
    return line


class LineSplitter:
    """Splits a byte stream, fed in chunks, into numbered lines (no newline).

    A last line without a newline is still given by ``end``: RFC 18 says
    every line ends in one, but a truncated file should lose as little as
    possible.  A line longer than ``max_line`` is given as an OverlongLine.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.lineno = 0
        self.max_line = max_line
        # The unfinished last line, in pieces: joined only once its newline
        # comes, so a line much longer than a chunk is not copied per chunk.
        self._pending: list[bytes] = []
        self._size = 0  # bytes in _pending
        self._dropped = 0  # the length so far of an overlong unfinished line

    def feed(self, chunk: bytes) -> list[tuple[int, bytes]]:
        start, parts = self.split(chunk)
        # An OverlongLine stands for a dropped line: it has no newline to cut.
        lines = [p[:-1] if type(p) is bytes else p for p in parts]
        return list(zip(range(start, start + len(lines)), lines, strict=True))

    def split(self, chunk: bytes) -> tuple[int, list[bytes]]:
        """``feed`` for the hot path: the first line's number, and the lines,
        each still ending in its newline (an OverlongLine excepted).

        BytesIO finds the newlines with memchr: twice as fast as bytes.split,
        which compares byte by byte; JSON allows the newline left at the end.
        """
        parts = io.BytesIO(chunk).readlines()
        tail = parts.pop() if parts and parts[-1][-1:] != b"\n" else b""
        if parts and (self._pending or self._dropped):
            closed = self._close(parts[0])
            if closed is None:  # the end of a line already reported
                del parts[0]
            else:
                parts[0] = closed
        if len(chunk) > self.max_line:
            # Only a chunk longer than the limit can hold a whole long line.
            limit = self.max_line
            parts = [p if len(p) <= limit + 1 else overlong_line(len(p) - 1, limit) for p in parts]
        if tail and self._hold(tail):
            parts.append(overlong_line(self._dropped, self.max_line, more=True))
        start = self.lineno + 1
        self.lineno += len(parts)
        return start, parts

    def end(self) -> list[tuple[int, bytes]]:
        """The last line, when the stream ended without a newline."""
        if not self._pending and not self._dropped:
            return []
        line = self._close(b"")
        if line is None:
            return []
        self.lineno += 1
        return [(self.lineno, line)]

    def _hold(self, piece: bytes) -> bool:
        """Keep the start of an unfinished line, or count it once too long;
        True when the line has just passed the limit."""
        if self._dropped:
            self._dropped += len(piece)
            return False
        self._size += len(piece)
        if self._size > self.max_line:
            self._dropped = self._size
            self._pending = []
            self._size = 0
            return True
        self._pending.append(piece)
        return False

    def _close(self, last: bytes) -> bytes | None:
        """The unfinished line, completed with ``last`` (and its newline, if
        any); None when it passed the limit earlier (it was reported then)."""
        if self._dropped:
            self._dropped = 0
            return None
        size = self._size + len(last) - (last[-1:] == b"\n")
        pending = self._pending
        self._pending = []
        self._size = 0
        if size > self.max_line:
            return overlong_line(size, self.max_line)
        if last:
            pending.append(last)
        return b"".join(pending)


def iter_lines(chunks: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """Numbered lines of a byte stream given in chunks."""
    splitter = LineSplitter()
    for chunk in chunks:
        yield from splitter.feed(chunk)
    yield from splitter.end()


class FirstEntry:
    """Lines that are not JSON before an eventlog's first entry are told
    once: a file that is not an eventlog at all (``cat /etc/passwd``) gets
    one line, not one per line. Every other bad line is told, as is each
    one after a first entry (and a line over the limit, which says so)."""

    def __init__(self, eventlog: str) -> None:
        self.eventlog = eventlog
        self.seen = False  # an RFC 18 entry was read
        self._told = False

    def not_json(self, lineno: int, message: str, line: bytes) -> Problem | None:
        """The problem to tell of a line that is not JSON (``message``, from
        json_error), or None (told already)."""
        if self.seen or isinstance(line, OverlongLine):
            return Problem(lineno, message, self.eventlog)
        if self._told:
            return None
        self._told = True
        return Problem(lineno, f"not an eventlog: {message}", self.eventlog)


def decode_events(
    lines: Iterable[tuple[int, bytes]],
    warn: Warn,
    eventlog: str = "main",
    first: FirstEntry | None = None,
) -> Iterator[Event]:
    """RFC 18 lines to events; blank lines are skipped, bad ones reported.
    A caller that decodes an eventlog in pieces passes one ``first`` for
    all of them."""
    first = first if first is not None else FirstEntry(eventlog)
    for lineno, line in lines:
        if not line.strip():
            continue
        try:
            ts, name, context = parse_entry(line)
        except NotJSONError as exc:
            if problem := first.not_json(lineno, str(exc), line):
                warn(problem)
            continue
        except EventlogLineError as exc:
            warn(Problem(lineno, str(exc), eventlog))
            continue
        first.seen = True
        yield Event(ts, name, context, lineno)


def _ranks(value: Any) -> IdSet:
    """The rank idset of a data or redirect event, or ValueError saying why not."""
    if value is None:
        raise ValueError("rank missing")
    if not isinstance(value, str):
        raise ValueError(f"bad rank {quote(value)} (not an idset string)")
    try:
        return event_ranks(value)
    except IdsetError as exc:
        reason = str(exc)
        prefix = f"invalid idset {quote(value)}: "
        if reason.startswith(prefix):
            reason = reason[len(prefix) :]
        # (the reason quotes the parts of the value it names, shortened)
        raise ValueError(f"bad rank {quote(value)} ({reason})") from None


# Big enough for every rank of a large job: round-robin events of more
# ranks than this evict each entry before it is used again.
@lru_cache(maxsize=1 << 16)
def event_ranks(value: str) -> IdSet:
    """The rank set of an output event, cached: a few strings repeat a lot."""
    ranks = parse_rank(value)
    if not ranks:
        raise IdsetError(f"invalid idset {quote(value)}: empty")
    if len(ranks) > MAX_EVENT_RANKS:
        raise IdsetError(
            f"invalid idset {quote(value)}: more than {MAX_EVENT_RANKS} tasks in one event"
        )
    return ranks


def _stream(context: dict[str, Any]) -> str:
    stream = context.get("stream")
    if stream is None:
        raise ValueError("stream missing")
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {quote(stream)}")
    return str(stream)


_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


STRICT_BASE64 = sys.version_info >= (3, 11)


def decode_base64(text: str) -> bytes:
    """Strict RFC 4648 base64 (as flux writes it): no spaces, exact padding.

    binascii's strict mode (Python 3.11+) does the checking in C; it also
    takes a whole quantum followed by padding ("AAAA===="), hence the checks
    before it. Without it, the checks are made here, step by step.
    """
    if STRICT_BASE64 and len(text) % 4 == 0 and text[-3:] != "===":
        try:
            return binascii.a2b_base64(text, strict_mode=True)
        except (binascii.Error, ValueError):
            pass
    if not _BASE64.fullmatch(text):
        raise ValueError("bad base64 data (a character outside the base64 alphabet)")
    if len(text) % 4:
        raise ValueError(f"bad base64 data (length {len(text)} is not a multiple of 4)")
    return binascii.a2b_base64(text)


def _optional_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# RFC 5424 severities, the levels of the job shell's log events.
LOG_LEVELS = range(8)


class OutputDecoder:
    """Turns guest.output (RFC 24) lines into records, reporting bad lines.

    Each line is parsed once; a well-formed data event after the header (the
    overwhelming majority) takes a fast path, everything else is checked
    field by field.  State carried across lines: whether a header was seen
    (data before it is still shown, with one warning), and which unknown
    event names were already reported (each is reported once).
    """

    def __init__(self, warn: Warn) -> None:
        self.warn = warn
        self.header: Header | None = None
        # The job's task count, from the header: a rank at or past it is
        # no task of the job (None: the header gives no count).
        self.ntasks: int | None = None
        self._unknown: set[str] = set()
        self._first = FirstEntry("output")
        self._warned_no_header = False
        # Rank strings seen with ranks past ntasks -> the ranks kept.
        self._clipped: dict[str, IdSet] = {}

    def decode(self, lines: Iterable[tuple[int, bytes]]) -> Iterator[OutputRecord]:
        loads = orjson.loads
        for lineno, line in lines:
            try:
                obj = loads(line)
            except orjson.JSONDecodeError as exc:
                self._not_json(lineno, exc, line)
                continue
            record: OutputRecord | None = None
            if self.header is not None:
                record = _fast_data(obj, lineno)
                ntasks = self.ntasks
                if record is not None and ntasks is not None and record.ranks.last >= ntasks:
                    record = None  # the careful way says which ranks are kept
            if record is None:
                record = self._decode_obj(lineno, obj)
                if record is None:
                    continue
            yield record

    def _decode_slow(self, lineno: int, line: bytes) -> OutputRecord | None:
        """One line checked field by field, without the fast path."""
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            self._not_json(lineno, exc, line)
            return None
        return self._decode_obj(lineno, obj)

    def _not_json(self, lineno: int, exc: orjson.JSONDecodeError, line: bytes) -> None:
        """A line that is not JSON: blank (nothing), or told (see FirstEntry)."""
        if line.strip() and (problem := self._first.not_json(lineno, json_error(exc, line), line)):
            self.warn(problem)

    def _decode_obj(self, lineno: int, obj: object) -> OutputRecord | None:
        try:
            ts, name, context = entry_fields(obj)
        except EventlogLineError as exc:
            self.warn(Problem(lineno, str(exc)))
            return None
        self._first.seen = True
        try:
            if name == "data":
                return self._data(ts, context, lineno)
            if name == "header":
                return self._header(ts, context, lineno)
            if name == "redirect":
                return self._redirect(ts, context, lineno)
            if name == "log":
                return self._log(ts, context, lineno)
        except (ValueError, TypeError) as exc:
            self.warn(Problem(lineno, f"{name} event: {exc}"))
            return None
        if name not in self._unknown:
            self._unknown.add(name)
            self.warn(Problem(lineno, f"unknown event {quote(name)} skipped", severity="warning"))
        return None

    def _header(self, ts: float, context: dict[str, Any], lineno: int) -> Header:
        if self.header is not None:
            self.warn(
                Problem(
                    lineno,
                    "a second header (the first one is kept)",
                    severity="warning",
                )
            )
            return self.header
        version = context.get("version")
        if version != 1:
            self.warn(
                Problem(lineno, f"unknown header version {quote(version)}", severity="warning")
            )
        encoding = context.get("encoding")
        count = context.get("count")
        options = context.get("options")
        self.header = Header(
            ts,
            version if isinstance(version, int) and not isinstance(version, bool) else 0,
            encoding if isinstance(encoding, dict) else {},
            count if isinstance(count, dict) else {},
            options if isinstance(options, dict) else {},
        )
        counts = [self.header.count.get(s) for s in STREAMS]
        if all(type(n) is int and n >= 0 for n in counts):
            self.ntasks = max(n for n in counts if isinstance(n, int))
        return self.header

    def _task_ranks(self, rank: Any, lineno: int) -> IdSet:
        """The ranks of a data or redirect event that are tasks of the job.

        One event may stand for many tasks; one with ranks past the header's
        task count (a crafted "[0-1048575]" of a 4-task job) would expand
        each byte into a million: only the job's tasks are kept.
        """
        ranks = _ranks(rank)
        ntasks = self.ntasks
        if ntasks is None or ranks.last < ntasks:
            return ranks
        past = f"rank {quote(rank)} is past the job's {ntasks} tasks"
        kept = self._clipped.get(rank)
        if kept is None:
            kept = ranks.intersect(IdSet(((0, ntasks - 1),))) if ntasks else IdSet()
            if not kept:
                raise ValueError(past)
            if len(self._clipped) < 1024:  # a bounded cache
                self._clipped[rank] = kept
            self.warn(Problem(lineno, f"{past}: only {kept} kept", severity="warning"))
        return kept

    def _data(self, ts: float, context: dict[str, Any], lineno: int) -> Data:
        stream = _stream(context)
        rank = context.get("rank")
        ranks = self._task_ranks(rank, lineno)
        eof = context.get("eof", False) is True
        raw = context.get("data")
        encoding = context.get("encoding")
        if raw is None:
            if not eof:
                raise ValueError("neither data nor eof")
            data = b""
        elif not isinstance(raw, str):
            raise ValueError(f"data is {_JSON_KINDS.get(type(raw), 'not a string')}")
        elif encoding is None or (
            isinstance(encoding, str) and encoding.lower() in ("utf-8", "utf8")
        ):
            data = raw.encode()
        elif encoding == "base64":
            data = decode_base64(raw)
        else:
            raise ValueError(f"unknown data encoding {quote(encoding)}")
        if self.header is None and not self._warned_no_header:
            self._warned_no_header = True
            self.warn(Problem(lineno, "data before the header", severity="warning"))
        return Data(ts, stream, str(rank), ranks, data, eof, lineno)

    def _redirect(self, ts: float, context: dict[str, Any], lineno: int) -> Redirect:
        stream = _stream(context)
        rank = context.get("rank")
        ranks = self._task_ranks(rank, lineno)
        path = context.get("path")
        return Redirect(ts, stream, str(rank), ranks, path if isinstance(path, str) else None)

    def _log(self, ts: float, context: dict[str, Any], lineno: int) -> Log:
        level = context.get("level")
        message = context.get("message")
        if level is None:
            raise ValueError("level missing")
        if _optional_int(level) is None:
            raise ValueError(f"level {quote(level)} is not an integer")
        if not isinstance(message, str):
            raise ValueError("message missing or not a string")
        if level not in LOG_LEVELS:
            shown = min(max(level, LOG_LEVELS[0]), LOG_LEVELS[-1])
            self.warn(
                Problem(
                    lineno,
                    f"log event: level {level} is not 0-7 (shown as {shown})",
                    severity="warning",
                )
            )
            level = shown
        component = context.get("component")
        file = context.get("file")
        return Log(
            ts,
            _optional_int(context.get("rank")),
            level,
            message,
            component if isinstance(component, str) else None,
            file if isinstance(file, str) else None,
            _optional_int(context.get("line")),
        )


def _fast_data(obj: Any, lineno: int = 0) -> Data | None:
    """A well-formed UTF-8 data event as a record, or None to check it fully.

    Must give exactly the record ``OutputDecoder._data`` gives, for less work.
    """
    try:
        if obj["name"] != "data":
            return None
        context = obj["context"]
        data = context["data"]
        stream = context["stream"]
        rank = context["rank"]
        ts = obj["timestamp"]
        if (
            type(data) is str
            and context.get("encoding") is None
            and (stream == "stdout" or stream == "stderr")
            and type(rank) is str
            and type(ts) is float
        ):
            return Data(
                ts,
                stream,
                rank,
                event_ranks(rank),
                data.encode(),
                context.get("eof", False) is True,
                lineno,
            )
    except Exception:
        pass
    return None
