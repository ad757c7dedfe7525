"""Per-(stream, rank) line assembly.

A task's partial writes (stderr, or stdout with
``-o output.stdout.buffer.type=none``) arrive as several data events,
interleaved with other tasks.  The assembler keeps each task's unfinished
line apart and hands out a line only once its newline arrives, so decorated
output never splits or mixes lines of different tasks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class Line(NamedTuple):
    """One line of one task's stream; ``text`` excludes the newline."""

    timestamp: float  # when the line's first byte arrived
    stream: str
    rank: int
    text: bytes
    eol: bool  # False only for a final line that never got its newline


class LineAssembler:
    """Completes lines per (stream, rank) across data events."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, int], tuple[float, bytes]] = {}

    def feed(self, timestamp: float, stream: str, ranks: Iterable[int], data: bytes) -> list[Line]:
        """Add ``data`` written by each of ``ranks``; return the completed lines."""
        out: list[Line] = []
        if not data:
            return out
        pending = self._pending
        for rank in ranks:
            key = (stream, rank)
            held = pending.pop(key, None)
            start = timestamp
            buf = data
            if held is not None:
                start, head = held
                buf = head + data
            if buf[-1:] == b"\n" and held is None and buf.count(b"\n") == 1:
                # The common case: one event holding exactly one line.
                out.append(Line(start, stream, rank, buf[:-1], True))
                continue
            parts = buf.split(b"\n")
            tail = parts.pop()
            if parts:
                out.append(Line(start, stream, rank, parts[0], True))
                out.extend(Line(timestamp, stream, rank, p, True) for p in parts[1:])
                start = timestamp
            if tail:
                pending[key] = (start, tail)
        return out

    def hold(self, stream: str, rank: int, timestamp: float, text: bytes) -> None:
        """An unfinished line that was kept elsewhere (the fast lane) until now."""
        self._pending[(stream, rank)] = (timestamp, text)

    def end(self, stream: str, rank: int) -> Line | None:
        """End of one task's stream: its unfinished line, if any."""
        held = self._pending.pop((stream, rank), None)
        if held is None:
            return None
        return Line(held[0], stream, rank, held[1], False)

    def end_all(self) -> list[Line]:
        """End of everything: every unfinished line, oldest first."""
        keys = sorted(self._pending, key=lambda k: (self._pending[k][0], k[1], k[0]))
        ended = [self.end(stream, rank) for stream, rank in keys]
        return [line for line in ended if line is not None]

    @property
    def pending(self) -> dict[tuple[str, int], tuple[float, bytes]]:
        """The unfinished lines (empty when every line so far was whole)."""
        return self._pending

    def pending_bytes(self) -> int:
        return sum(len(text) for _, text in self._pending.values())
