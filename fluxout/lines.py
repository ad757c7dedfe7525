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
    """Completes lines per (stream, rank) across data events.

    An unfinished line is kept as its pieces, joined once its newline comes:
    a line written in many small pieces (a progress bar) costs linear time.
    """

    def __init__(self) -> None:
        # (stream, rank) -> (when its first byte came, the pieces so far)
        self._pending: dict[tuple[str, int], tuple[float, list[bytes]]] = {}

    def feed(self, timestamp: float, stream: str, ranks: Iterable[int], data: bytes) -> list[Line]:
        """Add ``data`` written by each of ``ranks``; return the completed lines."""
        out: list[Line] = []
        if not data:
            return out
        pending = self._pending
        end = data.rfind(b"\n")
        if end < 0:  # no newline: each task's line goes on
            for rank in ranks:
                held = pending.get((stream, rank))
                if held is None:
                    pending[(stream, rank)] = (timestamp, [data])
                else:
                    held[1].append(data)
            return out
        whole = data[:end].split(b"\n")  # the first may end a held line
        tail = data[end + 1 :]
        for rank in ranks:
            key = (stream, rank)
            held = pending.pop(key, None)
            if held is None:
                out.append(Line(timestamp, stream, rank, whole[0], True))
            else:
                out.append(Line(held[0], stream, rank, b"".join(held[1]) + whole[0], True))
            if len(whole) > 1:
                out.extend(Line(timestamp, stream, rank, text, True) for text in whole[1:])
            if tail:
                pending[key] = (timestamp, [tail])
        return out

    def hold(self, stream: str, rank: int, timestamp: float, text: bytes) -> None:
        """An unfinished line that was kept elsewhere (the fast lane) until now."""
        self._pending[(stream, rank)] = (timestamp, [text])

    def end(self, stream: str, rank: int) -> Line | None:
        """End of one task's stream: its unfinished line, if any."""
        held = self._pending.pop((stream, rank), None)
        if held is None:
            return None
        return Line(held[0], stream, rank, b"".join(held[1]), False)

    def end_all(self) -> list[Line]:
        """End of everything: every unfinished line, oldest first."""
        keys = sorted(self._pending, key=lambda k: (self._pending[k][0], k[1], k[0]))
        ended = [self.end(stream, rank) for stream, rank in keys]
        return [line for line in ended if line is not None]

    @property
    def pending(self) -> dict[tuple[str, int], tuple[float, list[bytes]]]:
        """The unfinished lines (empty when every line so far was whole)."""
        return self._pending

    def pending_bytes(self) -> int:
        return sum(len(piece) for _, pieces in self._pending.values() for piece in pieces)
