"""--coalesce: identical output of several tasks shown once, as dshbak -c does.

``cat --coalesce`` gathers each task's whole output per stream, then prints
each distinct block once under the rank set that wrote it::

    ----------------
    [0-3,5]
    ----------------
    the block

``follow --coalesce`` works line by line: the n-th line of every task is
held until each task has written its n-th line (or a short while has
passed), then each distinct text is printed once as ``[0-3,5]: text``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable

from fluxout.idset import IdSet
from fluxout.lines import Line
from fluxout.render.escape import own_bytes
from fluxout.render.output import FD, LineFormat, Output, TextRenderer
from fluxout.render.styles import paint, rank_style

RULE = "-" * 16
# follow: how long a line waits for the other tasks to write the same one,
# and how many lines wait at most: when one task runs far ahead of the
# others, its oldest lines go out alone rather than pile up.
HOLD_SECONDS = 0.5
MAX_HELD = 10_000


class CoalesceRenderer(TextRenderer):
    def __init__(
        self, output: Output, fmt: LineFormat, job_style: str = "", live: bool = False
    ) -> None:
        super().__init__(output, fmt, job_style)
        self.live = live
        self.ntasks = 0
        # cat: (stream, rank) -> lines
        self._blocks: dict[tuple[str, int], list[bytes]] = defaultdict(list)
        # follow: (stream, index) -> {text: ranks}, with when it was first seen
        self._pending: dict[tuple[str, int], dict[bytes, list[int]]] = {}
        self._since: dict[tuple[str, int], float] = {}
        self._count: dict[tuple[str, int], int] = defaultdict(int)
        self._ranks: set[int] = set()

    def set_tasks(self, ntasks: int) -> None:
        self.ntasks = ntasks

    def lines(self, lines: Iterable[Line], zero: float | None = None) -> None:
        if not self.live:
            for line in lines:
                self._blocks[(line.stream, line.rank)].append(line.text + b"\n")
            return
        for line in lines:
            self._ranks.add(line.rank)
            n = self._count[(line.stream, line.rank)]
            self._count[(line.stream, line.rank)] = n + 1
            key = (line.stream, n)
            self._pending.setdefault(key, {}).setdefault(line.text, []).append(line.rank)
            self._since.setdefault(key, time.monotonic())
        self._release(final=False)

    def _group_label(self, fd: int, ranks: list[int]) -> bytes:
        ids = IdSet.of(ranks)
        text = f"{self.own(fd, self.prefix)}{ids.format()}: "
        if self.color[fd]:
            text = paint(text, rank_style(ids.first, "stdout" if fd == 0 else "stderr"), True)
        return own_bytes(text)

    def _release(self, final: bool) -> None:
        now = time.monotonic()
        expected = self.ntasks or len(self._ranks)
        over = len(self._pending) - MAX_HELD  # how many must go now, waiting or not
        for key in sorted(self._pending, key=lambda k: (k[1], k[0])):
            groups = self._pending[key]
            seen = sum(len(r) for r in groups.values())
            waiting = seen < expected and now - self._since[key] < HOLD_SECONDS
            over -= 1
            if not final and waiting and over < 0:
                continue
            fd = FD[key[0]]
            for text, ranks in sorted(groups.items(), key=lambda kv: min(kv[1])):
                self.sink.write(fd, self._group_label(fd, ranks) + text + b"\n")
            del self._pending[key]
            del self._since[key]

    def batch_done(self) -> None:
        if self.live:
            self._release(final=False)
        super().batch_done()

    def _write_blocks(self) -> None:
        for stream in ("stdout", "stderr"):
            fd = FD[stream]
            by_content: dict[bytes, list[int]] = defaultdict(list)
            for (s, rank), block in sorted(self._blocks.items(), key=lambda kv: kv[0][1]):
                if s == stream:
                    by_content[b"".join(block)].append(rank)
            for content, ranks in sorted(by_content.items(), key=lambda kv: min(kv[1])):
                prefix = self.own(fd, self.prefix)
                header = f"{RULE}\n{prefix}{IdSet.of(ranks).format()}\n{RULE}\n"
                if self.color[fd]:
                    header = paint(header, "bold", True)
                self.sink.write(fd, own_bytes(header) + content)
        self._blocks.clear()

    def close(self) -> None:
        if self.live:
            self._release(final=True)
        else:
            self._write_blocks()
        super().close()
