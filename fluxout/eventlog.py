"""RFC 18 eventlog lines to events, and RFC 24 output events to typed records.

The decoder never raises on bad input: a malformed line becomes a
``Problem`` (with its line number) handed to a callback, and decoding goes on
with the next line, so everything valid around it is still shown.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from fluxout.idset import IdSet, IdsetError, parse_rank

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


def parse_entry(line: bytes | str) -> tuple[float, str, dict[str, Any]]:
    """Parse one RFC 18 line into (timestamp, name, context)."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise EventlogLineError(f"invalid JSON ({exc.args[0]})") from None
    if not isinstance(obj, dict):
        raise EventlogLineError("not a JSON object")
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


class LineSplitter:
    """Splits a byte stream, fed in chunks, into numbered lines (no newline).

    A last line without a newline is still given by ``end``: RFC 18 says
    every line ends in one, but a truncated file should lose as little as
    possible.
    """

    def __init__(self) -> None:
        self.lineno = 0
        self._pending = b""

    def feed(self, chunk: bytes) -> list[tuple[int, bytes]]:
        if self._pending:
            chunk = self._pending + chunk
        parts = chunk.split(b"\n")
        self._pending = parts.pop()
        start = self.lineno + 1
        self.lineno += len(parts)
        return list(zip(range(start, start + len(parts)), parts, strict=True))

    def end(self) -> list[tuple[int, bytes]]:
        if not self._pending:
            return []
        self.lineno += 1
        pending, self._pending = self._pending, b""
        return [(self.lineno, pending)]


def iter_lines(chunks: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """Numbered lines of a byte stream given in chunks."""
    splitter = LineSplitter()
    for chunk in chunks:
        yield from splitter.feed(chunk)
    yield from splitter.end()


def decode_events(
    lines: Iterable[tuple[int, bytes]], warn: Warn, eventlog: str = "main"
) -> Iterator[Event]:
    """RFC 18 lines to events; blank lines are skipped, bad ones reported."""
    for lineno, line in lines:
        if not line.strip():
            continue
        try:
            ts, name, context = parse_entry(line)
        except EventlogLineError as exc:
            warn(Problem(lineno, str(exc), eventlog))
            continue
        yield Event(ts, name, context, lineno)


def _ranks(value: Any) -> IdSet:
    if not isinstance(value, str):
        raise IdsetError(f"rank {value!r} is not an idset string")
    return event_ranks(value)


@lru_cache(maxsize=4096)
def event_ranks(value: str) -> IdSet:
    """The rank set of an output event, cached: a few strings repeat a lot."""
    ranks = parse_rank(value)
    if not ranks:
        raise IdsetError(f"rank {value!r} is empty")
    if len(ranks) > MAX_EVENT_RANKS:
        raise IdsetError(f"rank {value!r} names more than {MAX_EVENT_RANKS} tasks")
    return ranks


def _text(context: dict[str, Any], key: str) -> str:
    value = context.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key} missing or not a string")
    return value


class OutputDecoder:
    """Turns guest.output (RFC 24) lines into records, reporting bad lines.

    State carried across lines: whether a header was seen (data before it is
    still shown, with one warning), and which unknown event names were
    already reported (each is reported once).
    """

    def __init__(self, warn: Warn) -> None:
        self.warn = warn
        self.header: Header | None = None
        self._unknown: set[str] = set()
        self._warned_no_header = False

    def decode(self, lines: Iterable[tuple[int, bytes]]) -> Iterator[OutputRecord]:
        loads = orjson.loads
        for lineno, line in lines:
            # Fast path: a well-formed data event, the overwhelming majority.
            try:
                obj = loads(line)
                context = obj["context"]
                if obj["name"] == "data" and self.header is not None:
                    data = context["data"]
                    if context.get("encoding") is None and type(data) is str:
                        stream = context["stream"]
                        rank = context["rank"]
                        ts = obj["timestamp"]
                        if (
                            (stream == "stdout" or stream == "stderr")
                            and type(rank) is str
                            and type(ts) is float
                        ):
                            yield Data(
                                ts,
                                stream,
                                rank,
                                event_ranks(rank),
                                data.encode(),
                                context.get("eof", False) is True,
                            )
                            continue
            except Exception:
                pass
            record = self._decode_slow(lineno, line)
            if record is not None:
                yield record

    def _decode_slow(self, lineno: int, line: bytes) -> OutputRecord | None:
        if not line.strip():
            return None
        try:
            ts, name, context = parse_entry(line)
            if name == "data":
                return self._data(ts, context, lineno)
            if name == "header":
                return self._header(ts, context, lineno)
            if name == "redirect":
                return Redirect(
                    ts,
                    self._stream(context),
                    _text(context, "rank"),
                    _ranks(context.get("rank")),
                    context.get("path")
                    if isinstance(context.get("path"), str)
                    else None,
                )
            if name == "log":
                return self._log(ts, context)
        except (EventlogLineError, IdsetError, ValueError, TypeError) as exc:
            self.warn(Problem(lineno, f"{exc}"))
            return None
        if name not in self._unknown:
            self._unknown.add(name)
            self.warn(
                Problem(lineno, f"unknown event {name!r} skipped", severity="warning")
            )
        return None

    def _stream(self, context: dict[str, Any]) -> str:
        stream = context.get("stream")
        if stream not in STREAMS:
            raise ValueError(f"unknown stream {stream!r}")
        return str(stream)

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
                Problem(
                    lineno, f"unknown header version {version!r}", severity="warning"
                )
            )
        encoding = context.get("encoding")
        count = context.get("count")
        options = context.get("options")
        self.header = Header(
            ts,
            version if isinstance(version, int) else 0,
            encoding if isinstance(encoding, dict) else {},
            count if isinstance(count, dict) else {},
            options if isinstance(options, dict) else {},
        )
        return self.header

    def _data(self, ts: float, context: dict[str, Any], lineno: int) -> Data:
        stream = self._stream(context)
        rank = context.get("rank")
        ranks = _ranks(rank)
        eof = context.get("eof", False) is True
        raw = context.get("data")
        encoding = context.get("encoding")
        if raw is None:
            if not eof:
                raise ValueError("data event with neither data nor eof")
            data = b""
        elif not isinstance(raw, str):
            raise ValueError("data is not a string")
        elif encoding is None or (
            isinstance(encoding, str) and encoding.lower() in ("utf-8", "utf8")
        ):
            data = raw.encode()
        elif encoding == "base64":
            try:
                data = binascii.a2b_base64(raw, strict_mode=True)
            except (binascii.Error, ValueError) as exc:
                raise ValueError(f"bad base64 data ({exc})") from None
        else:
            raise ValueError(f"unknown data encoding {encoding!r}")
        if self.header is None and not self._warned_no_header:
            self._warned_no_header = True
            self.warn(Problem(lineno, "data before the header", severity="warning"))
        return Data(ts, stream, str(rank), ranks, data, eof)

    def _log(self, ts: float, context: dict[str, Any]) -> Log:
        level = context.get("level")
        message = context.get("message")
        if isinstance(level, bool) or not isinstance(level, int):
            raise ValueError("log event without an integer level")
        if not isinstance(message, str):
            raise ValueError("log event without a message")
        rank = context.get("rank")
        line = context.get("line")
        component = context.get("component")
        file = context.get("file")
        return Log(
            ts,
            rank if isinstance(rank, int) and not isinstance(rank, bool) else None,
            level,
            message,
            component if isinstance(component, str) else None,
            file if isinstance(file, str) else None,
            line if isinstance(line, int) and not isinstance(line, bool) else None,
        )
